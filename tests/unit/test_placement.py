"""Placement of BN against torch modules, and the numbers the `place` section states."""

import math

import numpy as np
import pytest
import torch

from bn_core import placement as pl


def torch_order(order, act, z):
    bn = torch.nn.BatchNorm1d(z.shape[1], affine=False, dtype=torch.float64)
    f = {"relu": torch.nn.ReLU(), "sigmoid": torch.nn.Sigmoid(), "tanh": torch.nn.Tanh()}[act]
    layers = {"plain": [f], "bn_act": [bn, f], "act_bn": [f, bn]}[order]
    return torch.nn.Sequential(*layers)(torch.from_numpy(z)).detach().numpy()


@pytest.mark.parametrize("act", pl.ACTIVATIONS)
@pytest.mark.parametrize("order", pl.ORDERS)
def test_orders_match_torch_sequential(order, act):
    z = pl.pre_activations(64, 3, 1.5, 2.0, seed=0)
    np.testing.assert_allclose(pl.place(order, z, act), torch_order(order, act, z), atol=1e-10)


@pytest.mark.parametrize("act", pl.ACTIVATIONS)
def test_slopes_match_autograd(act):
    z = torch.linspace(-6, 6, 101, dtype=torch.float64, requires_grad=True)
    getattr(torch, act)(z).sum().backward()
    np.testing.assert_allclose(pl.slope(act, z.detach().numpy()), z.grad.numpy(), atol=1e-12)


def test_bn_then_relu_passes_half_zeros_whatever_the_drift():
    for mean in (-3.0, 0.0, 3.0):
        seen = pl.summarize(pl.place("bn_act", pl.pre_activations(4096, 4, mean, 0.5, seed=1)))
        assert seen.zero_share == pytest.approx(0.5, abs=0.02)
        assert seen.mean == pytest.approx(1 / math.sqrt(2 * math.pi), abs=0.02)  # E[max(0, N(0, 1))]


def test_relu_then_bn_is_centred_but_one_sided():
    seen = pl.summarize(pl.place("act_bn", pl.pre_activations(4096, 4, 0.0, 1.0, seed=2)))
    assert abs(seen.mean) < 1e-12 and seen.std == pytest.approx(1.0, abs=1e-4)
    assert seen.zero_share == 0.0
    assert seen.skewness > 0.5  # far from symmetric


def test_drifted_layer_without_bn_passes_mostly_zeros():
    seen = pl.summarize(pl.place("plain", pl.pre_activations(4096, 4, -2.0, 1.0, seed=3)))
    assert seen.zero_share > 0.95


def test_saturation_thresholds_and_shares_after_bn():
    assert pl.saturated_share("sigmoid", np.array([3.6, 3.7])) == 0.5  # slope 0.025 at |z| = 3.64
    assert pl.saturated_share("tanh", np.array([1.8, 1.85])) == 0.5  # slope 0.1 at |z| = 1.82
    z = pl.pre_activations(20000, 2, 4.0, 3.0, seed=4)
    assert pl.saturated_share("sigmoid", z) > 0.5
    normal_tail = math.erfc(3.6369 / math.sqrt(2))  # P(|N(0,1)| > 3.64)
    assert pl.saturated_share("sigmoid", pl.batch_normalize(z)) == pytest.approx(normal_tail, abs=0.001)
    tanh_tail = math.erfc(1.8184 / math.sqrt(2))
    assert pl.saturated_share("tanh", pl.batch_normalize(z)) == pytest.approx(tanh_tail, abs=0.01)


def test_a_bias_before_bn_changes_nothing_in_torch_either():
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.normal(size=(32, 5)))
    with_bias = torch.nn.Linear(5, 3, dtype=torch.float64)
    without = torch.nn.Linear(5, 3, bias=False, dtype=torch.float64)
    with torch.no_grad():
        without.weight.copy_(with_bias.weight)
    bn = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    np.testing.assert_allclose(bn(with_bias(x)).detach().numpy(), bn(without(x)).detach().numpy(), atol=1e-12)
    z = without(x).detach().numpy()
    assert pl.bias_change(z, rng.normal(0, 5, size=3)) < 1e-12


@pytest.mark.parametrize("act,top,edge", [("sigmoid", 0.25, 3.6369), ("tanh", 1.0, 1.8184)])
def test_saturation_edge_is_where_the_slope_falls_to_a_tenth(act, top, edge):
    at = pl.saturation_edge(act)
    assert at == pytest.approx(edge, abs=1e-4)
    assert pl.slope(act, np.array([at]))[0] == pytest.approx(pl.SATURATION * top, rel=1e-9)
