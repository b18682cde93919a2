import math

import numpy as np
import pytest

from bn_core import neuron
from bn_core.histogram import histogram

CASES = [
    (0.5, 0.5, 1.0, 0.0, 1.0),
    (-0.5, 0.25, 1.0, 0.0, 1.0),
    (1.3, -0.7, -0.4, 0.5, 2.0),
    (0.0, 0.0, -1.0, 0.0, 1.0),
]


@pytest.mark.parametrize("w1, w2, w0, mu, sigma", CASES)
def test_relu_zero_share_and_moments_match_analytic_values(w1, w2, w0, mu, sigma):
    n = 200_000
    x = neuron.sample_inputs(n, mu, sigma, seed=1)
    y = neuron.activate(neuron.pre_activation(x, w1, w2, w0), "relu")
    s = neuron.summarize(y, "relu")
    zero, mean, std = neuron.relu_moments(*neuron.pre_activation_params(w1, w2, w0, mu, sigma))
    # five standard errors of a proportion and of a mean
    assert abs(s.zero_share - zero) <= 5 * math.sqrt(max(zero * (1 - zero), 1e-12) / n) + 1e-12
    assert abs(s.mean - mean) <= 5 * std / math.sqrt(n) + 1e-12
    assert abs(s.std - std) <= 0.01 * std + 1e-12


def test_relu_moments_known_point():
    # ReLU of a standard normal: E[y] = phi(0) = 1/sqrt(2 pi), E[y^2] = 1/2
    zero, mean, std = neuron.relu_moments(0.0, 1.0)
    assert zero == pytest.approx(0.5)
    assert mean == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert std == pytest.approx(math.sqrt(0.5 - 1 / (2 * math.pi)))


def test_sampling_is_reproducible_and_seeded():
    a = neuron.sample_inputs(10, 0.0, 1.0, seed=3)
    np.testing.assert_array_equal(a, neuron.sample_inputs(10, 0.0, 1.0, seed=3))
    assert not np.array_equal(a, neuron.sample_inputs(10, 0.0, 1.0, seed=4))


def test_activations_match_torch():
    import torch

    z = np.linspace(-30, 30, 601)
    t = torch.from_numpy(z)
    np.testing.assert_allclose(neuron.activate(z, "relu"), torch.relu(t).numpy())
    np.testing.assert_allclose(neuron.activate(z, "leaky_relu"), torch.nn.functional.leaky_relu(t).numpy())
    np.testing.assert_allclose(neuron.activate(z, "sigmoid"), torch.sigmoid(t).numpy(), atol=1e-15)
    np.testing.assert_allclose(neuron.activate(z, "tanh"), torch.tanh(t).numpy())


def test_saturated_share_for_sigmoid_matches_normal_tail():
    x = neuron.sample_inputs(200_000, 0.0, 1.0, seed=2)
    z = neuron.pre_activation(x, 3.0, 0.0, 0.0)  # z ~ N(0, 9)
    s = neuron.summarize(neuron.activate(z, "sigmoid"), "sigmoid")
    cut = math.log(0.95 / 0.05)  # sigmoid(z) > 0.95 beyond this
    expected = 2 * 0.5 * math.erfc(cut / 3.0 / math.sqrt(2))
    assert abs(s.saturated_share - expected) < 0.005
    assert neuron.summarize(np.zeros(3), "relu").saturated_share is None


def test_histogram_shares_and_degenerate_input():
    h = histogram(np.array([0.0, 0.0, 1.0, np.nan, np.inf]), bins=2, value_range=(0.0, 1.0))
    np.testing.assert_allclose(h.counts, [2 / 3, 1 / 3])
    constant = histogram(np.full(5, 2.0), bins=4)
    assert constant.counts.sum() == pytest.approx(1.0) and constant.edges[0] < 2.0 < constant.edges[-1]
    assert histogram(np.array([]), bins=3).counts.sum() == 0


@pytest.mark.parametrize("act", neuron.ACTIVATIONS)
@pytest.mark.parametrize("bn", ["before", "after"])
def test_forward_normalizes_exactly_as_the_engines_batchnorm_and_as_torch(act, bn):
    import torch

    from bn_core import BatchNorm

    x = neuron.sample_inputs(1_000, 5.0, 1.0, seed=2)
    result = neuron.forward(x, -0.7, 0.4, 1.2, act, bn)
    z = neuron.pre_activation(x, -0.7, 0.4, 1.2)
    v = z if bn == "before" else neuron.activate(z, act)
    engine = BatchNorm(1)(v[:, None], training=True)[:, 0]
    layer = torch.nn.BatchNorm1d(1, dtype=torch.float64).train()
    reference = layer(torch.from_numpy(v[:, None])).detach().numpy()[:, 0]
    normalized = result.mid if bn == "before" else result.out
    np.testing.assert_allclose(normalized, engine, rtol=1e-12, atol=1e-12)  # the engine runs torch: its order of sums
    np.testing.assert_allclose(normalized, reference, rtol=1e-9, atol=1e-12)
    expected_out = neuron.activate(normalized, act) if bn == "before" else normalized
    assert (result.out == expected_out).all()
    assert result.bn_mean == pytest.approx(float(v.mean()), rel=1e-12)


def test_forward_without_batchnorm_is_the_activation_of_z():
    x = neuron.sample_inputs(100, 5.0, 1.0, seed=0)
    result = neuron.forward(x, 0.5, 0.5, 1.0, "relu")
    assert result.mid is None and result.bn_mean is None
    assert (
        result.out == np.maximum(x[:, 0].astype(np.float64) * 0.5 + x[:, 1].astype(np.float64) * 0.5 + 1.0, 0)
    ).all()


def test_after_relu_batchnorm_moves_every_zero_to_one_value():
    x = neuron.sample_inputs(10_000, 5.0, 1.0, seed=0)
    result = neuron.forward(x, -0.5, 0.25, 1.0, "relu", "after")
    zeros = result.activated == 0.0
    assert zeros.mean() > 0.6
    assert np.unique(result.out[zeros]).tolist() == [result.bn_shift]  # 0 * scale + shift


def test_axis_range_widens_in_whole_steps_and_ignores_non_finite_values():
    from bn_core.histogram import axis_range

    assert axis_range(np.array([0.2, 7.3, np.nan, np.inf]), base=(-5.0, 5.0), step=1.0) == (-5.0, 8.0)
    assert axis_range(np.array([-6.01]), base=(-5.0, 5.0), step=1.0) == (-7.0, 5.0)
    assert axis_range(np.array([np.nan]), base=(-1.0, 1.0), step=1.0) == (-1.0, 1.0)
