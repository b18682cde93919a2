"""One batch step by step: forward and closed-form backward against torch and autograd."""

import numpy as np
import pytest
import torch

from bn_core import steps


def batch(n=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 1.5, size=(n, c))
    return x, rng.normal(1.0, 0.5, size=c), rng.normal(0.0, 0.5, size=c)


@pytest.mark.parametrize("n,c", [(2, 1), (5, 3), (8, 4)])
def test_forward_steps_match_torch_batchnorm1d(n, c):
    x, gamma, beta = batch(n, c)
    fwd = steps.forward(x, gamma, beta, 1e-5)
    layer = torch.nn.BatchNorm1d(c, eps=1e-5, momentum=1.0, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(gamma))
        layer.bias.copy_(torch.from_numpy(beta))
        y = layer(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(fwd.y, y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fwd.mean, layer.running_mean.numpy(), rtol=1e-12)  # momentum 1: the batch mean
    np.testing.assert_allclose(fwd.var * n / (n - 1), layer.running_var.numpy(), rtol=1e-12)
    np.testing.assert_allclose(fwd.x_hat, (y - beta) / gamma, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", steps.UPSTREAM)
def test_backward_matches_autograd_for_every_upstream_gradient(kind):
    x, gamma, beta = batch()
    fwd = steps.forward(x, gamma, beta, 1e-5)
    dy = steps.upstream(kind, fwd, seed=3, cell=(2, 1))
    back = steps.backward(fwd, dy)
    xt = torch.tensor(x, requires_grad=True)
    g = torch.tensor(gamma, requires_grad=True)
    b = torch.tensor(beta, requires_grad=True)
    torch.nn.functional.batch_norm(xt, None, None, g, b, training=True, eps=1e-5).backward(torch.from_numpy(dy))
    np.testing.assert_allclose(back.dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(back.dgamma, g.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(back.dbeta, b.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_torch_reference_agrees_with_plain_autograd_at_eps_zero():
    x, gamma, beta = batch()
    dy = np.random.default_rng(1).standard_normal(x.shape)
    back = steps.backward(steps.forward(x, gamma, beta, 0.0), dy)
    _, dx, dgamma, dbeta = steps.torch_reference(x, dy, gamma, beta, 0.0)
    np.testing.assert_allclose(back.dx, dx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(back.dgamma, dgamma, rtol=1e-12)


def test_backward_matches_finite_differences():
    x, gamma, beta = batch(4, 2)
    dy = np.random.default_rng(2).standard_normal(x.shape)
    back = steps.backward(steps.forward(x, gamma, beta, 1e-3), dy)
    h = 1e-6
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        loss_up = (steps.forward(up, gamma, beta, 1e-3).y * dy).sum()
        loss_down = (steps.forward(down, gamma, beta, 1e-3).y * dy).sum()
        numeric[idx] = (loss_up - loss_down) / (2 * h)
    np.testing.assert_allclose(back.dx, numeric, rtol=1e-6, atol=1e-8)


def test_gradient_sums_to_zero_per_channel():
    x, gamma, beta = batch(7, 4)
    fwd = steps.forward(x, gamma, beta, 1e-2)
    back = steps.backward(fwd, steps.upstream("random", fwd, seed=5))
    assert np.abs(back.sum_dx).max() < 1e-12
    assert np.abs(back.dx).max() > 0.01  # and is not zero itself


def test_dx_is_orthogonal_to_x_hat_only_at_eps_zero_and_the_residual_is_exact():
    x, gamma, beta = batch(5, 3)
    dy = np.random.default_rng(4).standard_normal(x.shape)
    at_zero = steps.backward(steps.forward(x, gamma, beta, 0.0), dy)
    assert np.abs(at_zero.dot_dx_x_hat).max() < 1e-12
    big = steps.backward(steps.forward(x, gamma, beta, 0.5), dy)
    assert np.abs(big.dot_dx_x_hat).min() > 1e-3  # clearly not zero with a large eps
    # the closed form against torch: <dx, x_hat> from autograd's dx
    _, dx, _, _ = steps.torch_reference(x, dy, gamma, beta, 0.5)
    fwd = steps.forward(x, gamma, beta, 0.5)
    np.testing.assert_allclose(big.dot_predicted, (dx * fwd.x_hat).sum(axis=0), rtol=1e-9)


def test_stretching_the_feature_gives_no_gradient_at_eps_zero_but_frozen_statistics_would():
    x, gamma, beta = batch(6, 2)
    fwd = steps.forward(x, gamma, beta, 0.0)
    back = steps.backward(fwd, steps.upstream("x_hat", fwd))
    assert np.abs(back.dx).max() < 1e-12
    assert np.abs(back.dx_frozen).max() > 0.1
    shift, scale = steps.frozen_gradient_parts(fwd, back)
    np.testing.assert_allclose(scale, 1.0)  # the frozen gradient would only rescale x
    np.testing.assert_allclose(shift, 0.0, atol=1e-12)


def test_ones_upstream_frozen_gradient_is_a_pure_shift():
    x, gamma, beta = batch(6, 2)
    fwd = steps.forward(x, gamma, beta, 1e-5)
    back = steps.backward(fwd, steps.upstream("ones", fwd))
    shift, _ = steps.frozen_gradient_parts(fwd, back)
    np.testing.assert_allclose(shift, 1.0)
    assert np.abs(back.dx).max() < 1e-9


def test_bad_batches_are_refused():
    with pytest.raises(ValueError):
        steps.forward(np.zeros((0, 2)), np.ones(2), np.zeros(2), 1e-5)
    with pytest.raises(ValueError):
        steps.upstream("sideways", steps.forward(np.ones((2, 1)), np.ones(1), np.zeros(1), 1e-5))
