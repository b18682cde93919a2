"""BN as noise and the dropout variance shift, against torch."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core import noise


def test_same_sample_outputs_match_torch_batch_norm_batch_by_batch():
    x0, b = 1.5, 6
    outs = noise.same_sample_outputs(x0, b, trials=5, seed=0)
    others = np.random.default_rng(0).standard_normal((5, b - 1))
    for t in range(5):
        batch = torch.tensor([x0, *others[t]], dtype=torch.float64)[:, None]
        y = F.batch_norm(batch, None, None, training=True, eps=1e-5)
        assert outs[t] == pytest.approx(y[0, 0].item(), abs=1e-12)


def test_noise_shrinks_with_batch_size_about_as_one_over_root_b():
    x0 = 1.0
    sizes = [4, 16, 64, 256]
    sd = noise.noise_by_batch_size(x0, sizes, trials=4000, seed=1)
    assert all(a > b for a, b in zip(sd, sd[1:], strict=False))
    # for large B, x0's output varies as sqrt((1 + x0^2 / 2) / B) (delta method on mean and variance)
    np.testing.assert_allclose(sd[2:], np.sqrt((1 + x0**2 / 2) / np.array(sizes[2:])), rtol=0.08)


def test_batch_of_one_is_refused():
    with pytest.raises(ValueError):
        noise.same_sample_outputs(0.0, 1, 10, 0)


def test_dropout_follows_torchs_inverted_scaling():
    x = np.random.default_rng(2).normal(size=(2000, 3))
    ours = noise.dropout(x, 0.3, np.random.default_rng(3))
    kept = ours != 0
    np.testing.assert_allclose(ours[kept], x[kept] / 0.7)
    assert kept.mean() == pytest.approx(0.7, abs=0.02)
    torch.manual_seed(0)
    theirs = F.dropout(torch.from_numpy(x), 0.3, training=True).numpy()
    np.testing.assert_allclose(theirs[theirs != 0], x[theirs != 0] / 0.7)


def test_running_variance_is_what_torch_stores_for_the_same_batches():
    rng = np.random.default_rng(4)
    batches = [noise.dropout(rng.normal(1.0, 1.0, size=(32, 1)), 0.5, rng) for _ in range(20)]
    layer = torch.nn.BatchNorm1d(1, momentum=None, dtype=torch.float64)
    from bn_core import BatchNorm

    ours = BatchNorm(1, momentum=None)
    for x in batches:
        layer(torch.from_numpy(x))
        ours(x, training=True)
    np.testing.assert_allclose(ours.running_var, layer.running_var.numpy(), rtol=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.3])
def test_variance_shift_stores_what_torch_stores_after_the_same_batches(p):
    # variance_shift hands the layer each batch's statistics rather than the batch: torch, given the
    # batches themselves, must end with the same running statistics, and the same eval-mode output.
    seen = noise.dropped_batches(p, 1.0, 1.0, 50, 16, np.random.default_rng(7))
    layer = torch.nn.BatchNorm1d(1, momentum=None, dtype=torch.float64)
    for x in seen:
        layer(torch.from_numpy(x))
    rng = np.random.default_rng(7)
    noise.dropped_batches(p, 1.0, 1.0, 50, 16, rng)  # the same draws as variance_shift, then its fresh sample
    fresh = rng.normal(1.0, 1.0, size=(50 * 16, 1))
    shift = noise.variance_shift(p, 1.0, 1.0, batches=50, batch_size=16, seed=7)
    assert shift.running_var == pytest.approx(float(layer.running_var[0]), rel=1e-12)
    expected_std = float(layer.eval()(torch.from_numpy(fresh)).detach().std(unbiased=False))
    assert shift.eval_output_std == pytest.approx(expected_std, rel=1e-9)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5])
def test_variance_shift_shrinks_eval_outputs_as_theory_says(p):
    mu, sigma = 1.0, 1.0
    shift = noise.variance_shift(p, mu, sigma, batches=300, batch_size=64, seed=5)
    assert shift.train_var == pytest.approx(shift.train_var_theory, rel=0.05)
    assert shift.running_var == pytest.approx(shift.train_var_theory, rel=0.05)
    assert shift.eval_var == pytest.approx(sigma**2, rel=0.05)
    expected = math.sqrt(sigma**2 / shift.train_var_theory)
    assert shift.eval_output_std == pytest.approx(expected, rel=0.05)
    if p == 0.5:
        assert shift.eval_output_std < 0.6  # a large, visible shift
