"""Batch Renorm against Ioffe (2017), "Batch Renormalization", Algorithm 1, written out here step by step."""

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
    sigma = np.sqrt(var + 1e-5)
    out = batch_renorm(x, mu, sigma, training=True, r_max=1e9, d_max=1e9)
    bn = BatchNorm(3).eval()
    bn.running_mean, bn.running_var = mu, var  # sqrt(var + eps) = sigma
    np.testing.assert_allclose(out.y, bn(x), atol=1e-10)


def test_clipping_bounds_r_and_d(setup):
    x, mu, var = setup
    out = batch_renorm(x, mu * 0 + 100.0, var * 0 + 1e-2, training=True, r_max=2.0, d_max=1.5)
    assert np.all(out.r == 2.0) and np.all(out.d == -1.5)


def paper_step(x, mu, sigma, gamma, beta, alpha, eps, r_max, d_max):
    """Algorithm 1 of the paper for x (N, C, L), channels on axis 1."""
    mu_b = x.mean(axis=(0, 2))
    sigma_b = np.sqrt(((x - mu_b[:, None]) ** 2).mean(axis=(0, 2)) + eps)
    r = np.clip(sigma_b / sigma, 1 / r_max, r_max)
    d = np.clip((mu_b - mu) / sigma, -d_max, d_max)
    x_hat = (x - mu_b[:, None]) / sigma_b[:, None] * r[:, None] + d[:, None]
    y = gamma[:, None] * x_hat + beta[:, None]
    return y, mu + alpha * (mu_b - mu), sigma + alpha * (sigma_b - sigma)


def test_many_steps_follow_algorithm_1_moving_mean_and_moving_sigma():
    rng = np.random.default_rng(5)
    gamma, beta = rng.uniform(0.5, 2.0, 3), rng.normal(size=3)
    mu, sigma = np.zeros(3), np.ones(3)
    ours_mu, ours_sigma = mu, sigma
    for step in range(300):  # the population drifts, so r and d are clipped at times
        x = rng.normal(2.0 + np.sin(step / 20), 1.0 + 3.0 * (step % 7 == 0), size=(4, 3, 5))
        want, mu, sigma = paper_step(x, mu, sigma, gamma, beta, 0.05, 1e-3, 1.5, 0.5)
        out = batch_renorm(
            x, ours_mu, ours_sigma, gamma, beta, training=True, momentum=0.05, eps=1e-3, r_max=1.5, d_max=0.5
        )
        np.testing.assert_allclose(out.y, want, rtol=1e-12, atol=1e-12)
        ours_mu, ours_sigma = out.running_mean, out.running_std
    np.testing.assert_allclose(ours_mu, mu, rtol=1e-12)
    np.testing.assert_allclose(ours_sigma, sigma, rtol=1e-12)
    # a moving average of the variance would have settled elsewhere: sqrt of a mean is not a mean of sqrts
    x = rng.normal(size=(6, 3, 5))
    np.testing.assert_allclose(
        batch_renorm(x, mu, sigma, gamma, beta, training=False).y,
        gamma[:, None] * (x - mu[:, None]) / sigma[:, None] + beta[:, None],
        rtol=1e-12,
    )


def test_inference_leaves_running_statistics(setup):
    x, mu, var = setup
    sigma = np.sqrt(var)
    out = batch_renorm(x, mu, sigma, training=False)
    np.testing.assert_array_equal(out.running_mean, mu)
    np.testing.assert_array_equal(out.running_std, sigma)
    np.testing.assert_allclose(out.y, (x - mu[:, None]) / sigma[:, None])
