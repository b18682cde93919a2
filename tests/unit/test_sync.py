"""Synchronized statistics against torch on the whole batch."""

import numpy as np
import pytest
import torch

from bn_core import sync
from bn_core.batchnorm import normalize


@pytest.mark.parametrize("k,b,shift", [(1, 5, 0.0), (2, 1, 0.0), (4, 3, 2.0), (8, 64, 1.0)])
def test_merged_statistics_equal_torch_on_the_whole_batch(k, b, shift):
    parts = sync.device_batches(k, b, 3, shift, seed=k)
    whole = np.concatenate(parts)
    merged = sync.merge([sync.moments(p) for p in parts])
    layer = torch.nn.BatchNorm1d(3, momentum=1.0, dtype=torch.float64)  # momentum 1: running = this batch
    y = layer(torch.from_numpy(whole)).detach().numpy()
    n = whole.shape[0]
    np.testing.assert_allclose(merged.mean, layer.running_mean.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(merged.var * n / (n - 1), layer.running_var.numpy(), rtol=1e-12)  # torch stores n-1
    assert merged.count == n
    ours = normalize(whole, merged.mean, merged.var, None, None, 1e-5, axis=1)[0]
    np.testing.assert_allclose(ours, y, atol=1e-12)


def test_merge_handles_unequal_counts_and_images():
    rng = np.random.default_rng(0)
    parts = [rng.normal(i, 1 + i, size=(n, 2, 3, 3)) for i, n in enumerate((1, 4, 7))]
    merged = sync.merge([sync.moments(p) for p in parts])
    whole = torch.from_numpy(np.concatenate(parts))
    var, mean = torch.var_mean(whole, dim=(0, 2, 3), correction=0)
    np.testing.assert_allclose(merged.mean, mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(merged.var, var.numpy(), rtol=1e-12)


def test_naive_average_of_variances_misses_the_spread_between_devices():
    parts = [sync.moments(p) for p in sync.device_batches(4, 32, 1, 2.0, seed=3)]
    merged, naive = sync.merge(parts), sync.naive_merge(parts)
    np.testing.assert_allclose(naive.mean, merged.mean)  # equal counts: the means agree
    between = np.var([p.mean for p in parts], axis=0)
    np.testing.assert_allclose(merged.var - naive.var, between, rtol=1e-12)
    assert (merged.var - naive.var)[0] > 3.0  # shards 2 apart: a large miss


def test_the_error_of_per_device_estimates_follows_theory():
    spread = sync.estimate_spread([1, 2, 4, 16, 64], trials=20000, seed=0)
    b = spread.sizes
    np.testing.assert_allclose(spread.mean_error, 1 / np.sqrt(b), rtol=0.03)
    # the biased variance: spread sqrt(2(b - 1))/b and bias -1/b, together sqrt(2b - 1)/b
    np.testing.assert_allclose(spread.var_error, np.sqrt(2 * b - 1) / b, rtol=0.05)
    assert spread.var_error[0] == 1.0  # one value: the variance is 0, off by the whole 1, every time
