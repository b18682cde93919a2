"""Batch statistics against running statistics in training, checked against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core import drift


def torch_step(mode, w, b, u, t, running):
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    x = wt * torch.from_numpy(u) + bt
    if mode == "batch":
        y = F.batch_norm(x, None, None, training=True, eps=drift.EPS)
    else:  # eval mode: torch uses the running statistics as constants
        mean, var = (torch.tensor([v], dtype=torch.float64) for v in running)
        y = F.batch_norm(x, mean, var, training=False, eps=drift.EPS)
    loss = ((y - torch.from_numpy(t)) ** 2).mean()
    loss.backward()
    return loss.item(), wt.grad.item(), bt.grad.item()


@pytest.mark.parametrize("mode", drift.MODES)
def test_step_gradients_match_torch_autograd(mode):
    rng = np.random.default_rng(0)
    u = rng.standard_normal((16, 1))
    t = 2 * u + 1
    ours = drift.step_gradients(mode, 0.7, 0.3, u, t, (0.2, 1.5))
    theirs = torch_step(mode, 0.7, 0.3, u, t, (0.2, 1.5))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_batch_statistics_keep_the_bias_still_and_the_weight_bounded():
    run = drift.train_unit("batch", steps=300)
    assert np.abs(run.b).max() < 1e-12  # sum dx = 0: no gradient reaches b
    assert np.abs(run.w).max() < 1.0


def test_running_statistics_let_the_parameters_drift_without_improving_the_loss():
    batch, running = drift.train_unit("batch", steps=300), drift.train_unit("running", steps=300)
    assert running.b[-1] > 5.0 and running.w[-1] > 5.0  # from 0 and 0.5
    assert running.b[-1] > running.b[150] + 2.0  # still moving at the end
    # the lag leaves the training loss a little lower, not much: the drift buys almost nothing
    assert 0.6 * batch.loss[-100:].mean() < running.loss[-100:].mean() < batch.loss[-100:].mean()


def test_running_statistics_follow_what_torch_stores():
    run = drift.train_unit("batch", steps=5, seed=3)
    rng = np.random.default_rng(3)
    layer = torch.nn.BatchNorm1d(1, dtype=torch.float64)
    for k in range(5):
        u = rng.standard_normal((32, 1))
        layer(torch.from_numpy(run.w[k] * u + run.b[k]))
        assert run.running_mean[k + 1] == pytest.approx(layer.running_mean.item(), abs=1e-12)
        assert run.running_var[k + 1] == pytest.approx(layer.running_var.item(), rel=1e-12)


def test_train_eval_gap_shrinks_with_batch_size_and_matches_torch_modes():
    gaps = drift.train_eval_gap([2, 8, 64, 512], trials=2000, seed=0)
    assert all(a > b for a, b in zip(gaps, gaps[1:], strict=False))
    assert gaps[0] > 0.5 and gaps[-1] < 0.05
    # what the gap compares, in torch: training mode, and eval mode with running mean 0 and variance 1
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((4, 1)))
    y_eval = torch.nn.BatchNorm1d(1, affine=False, dtype=torch.float64).eval()(x)
    y_train = torch.nn.BatchNorm1d(1, affine=False, dtype=torch.float64)(x)
    np.testing.assert_allclose(y_eval.numpy(), x.numpy() / np.sqrt(1 + drift.EPS), atol=1e-12)
    expected = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + drift.EPS)
    np.testing.assert_allclose(y_train.detach().numpy(), expected.numpy(), atol=1e-12)


def test_moving_average():
    np.testing.assert_allclose(drift.moving_average(np.array([1.0, 2.0, 3.0, 4.0]), 2), [1.5, 2.5, 3.5])
    np.testing.assert_allclose(drift.moving_average(np.array([1.0, 3.0]), 10), [2.0])
