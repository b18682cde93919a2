import numpy as np
import pytest

from bn_core import BatchNorm, batch_renorm


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(8, 3, 4))
    return x, rng.normal(size=3), rng.uniform(0.5, 4.0, size=3)


def test_r_max_one_d_max_zero_is_plain_batchnorm(setup):
    x, mu, var = setup
    out = batch_renorm(x, mu, var, training=True, r_max=1.0, d_max=0.0)
    np.testing.assert_allclose(out.y, BatchNorm(3, momentum=0.1)(x, training=True), atol=1e-12)
    np.testing.assert_array_equal(out.r, 1.0)
    np.testing.assert_array_equal(out.d, 0.0)


def test_unclipped_equals_the_inference_formula(setup):
    x, mu, var = setup
    out = batch_renorm(x, mu, var, training=True, r_max=1e9, d_max=1e9)
    bn = BatchNorm(3).eval()
    bn.running_mean, bn.running_var = mu, var
    np.testing.assert_allclose(out.y, bn(x), atol=1e-10)


def test_clipping_bounds_r_and_d(setup):
    x, mu, var = setup
    out = batch_renorm(x, mu * 0 + 100.0, var * 0 + 1e-4, training=True, r_max=2.0, d_max=1.5)
    assert np.all(out.r == 2.0) and np.all(out.d == -1.5)


def test_running_statistics_follow_pytorch_momentum(setup):
    x, mu, var = setup
    out = batch_renorm(x, mu, var, training=True, momentum=0.25)
    np.testing.assert_allclose(out.running_mean, 0.75 * mu + 0.25 * x.mean(axis=(0, 2)))
    np.testing.assert_allclose(out.running_var, 0.75 * var + 0.25 * x.var(axis=(0, 2)))


def test_inference_leaves_running_statistics(setup):
    x, mu, var = setup
    out = batch_renorm(x, mu, var, training=False)
    np.testing.assert_array_equal(out.running_mean, mu)
    np.testing.assert_allclose(out.y, (x - mu[:, None]) / np.sqrt(var[:, None] + 1e-5))
