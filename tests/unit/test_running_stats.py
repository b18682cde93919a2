"""Training with running statistics (RunningStatsBatchNorm, TrainConfig.bn_stats) against
torch.nn.BatchNorm1d, and the train/eval gap measure (train_eval_gap)."""

import numpy as np
import pytest
import torch
from torch import nn

from bn_core import train as tr
from bn_core.data import load_digits


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def batches_of(n_batches, size=16, width=5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(size, width, generator=g, dtype=dtype) * 3.0 + 2.0 for _ in range(n_batches)]


def torch_pair(width=5, dtype=torch.float64):
    ours, stock = tr.RunningStatsBatchNorm(width).to(dtype), nn.BatchNorm1d(width).to(dtype)
    with torch.no_grad():
        for bn in (ours, stock):
            bn.weight.copy_(torch.linspace(0.5, 2.0, width))
            bn.bias.copy_(torch.linspace(-1.0, 1.0, width))
    return ours, stock


def test_running_statistics_are_updated_as_torch_updates_them_in_training():
    ours, stock = torch_pair()
    ours.train(), stock.train()
    for x in batches_of(6):
        ours(x), stock(x)
        torch.testing.assert_close(ours.running_mean, stock.running_mean, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(ours.running_var, stock.running_var, rtol=1e-12, atol=1e-12)  # unbiased, stored
    assert int(ours.num_batches_tracked) == int(stock.num_batches_tracked) == 6


def test_training_forward_and_gradients_are_torch_eval_mode_with_the_updated_statistics():
    ours, stock = torch_pair()
    ours.train()
    for x in batches_of(3, seed=1):
        ours(x.detach())  # a few batches: running statistics away from (0, 1)
    x = batches_of(1, seed=2)[0].requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    stock.train()
    stock.load_state_dict(ours.state_dict())
    y = ours(x)
    with torch.no_grad():  # the same update from this batch, then eval mode: the running averages as constants
        stock(x_ref)
    stock.eval()
    y_ref = stock(x_ref)
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    dy = batches_of(1, seed=3)[0]
    y.backward(dy), y_ref.backward(dy)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.weight.grad, stock.weight.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.bias.grad, stock.bias.grad, rtol=1e-12, atol=1e-12)
    # no gradient through the statistics: dx is dy * gamma / sqrt(running_var + eps), and Σ dx ≠ 0
    scale = ours.weight.detach() / torch.sqrt(ours.running_var + ours.eps)
    torch.testing.assert_close(x.grad, dy * scale, rtol=1e-12, atol=1e-12)
    assert x.grad.sum(0).abs().min() > 1e-3  # with batch statistics this sum is 0 per channel


def test_eval_mode_is_batchnorm1d_eval_mode():
    ours, stock = torch_pair()
    ours.train(), stock.train()
    for x in batches_of(4, seed=4):
        ours(x), stock(x)
    ours.eval(), stock.eval()
    x = batches_of(1, seed=5)[0]
    torch.testing.assert_close(ours(x), stock(x), rtol=1e-12, atol=1e-12)


def test_a_batch_of_one_is_refused_with_torchs_message():
    ours, stock = torch_pair()
    x = torch.ones(1, 5, dtype=torch.float64)
    with pytest.raises(ValueError) as torch_error:
        stock.train()(x)
    with pytest.raises(ValueError) as our_error:
        ours.train()(x)
    assert str(our_error.value) == str(torch_error.value)
    assert "batch_of_one" in tr.TrainConfig(bn_stats="running", batch_size=1).problems()
    assert tr.TrainConfig(bn_stats="oops").problems() == ["bad_bn_stats"]


@pytest.mark.slow
def test_the_option_builds_the_layer_and_the_model_round_trips(digits):
    config = tr.TrainConfig(bn_stats="running", depth=2, hidden=16, epochs=1)
    model = tr.DigitNN(64, config)
    assert all(type(b.norm) is tr.RunningStatsBatchNorm for b in model.blocks)
    assert type(tr.DigitNN(64, tr.TrainConfig(hidden=16)).blocks[0].norm) is nn.BatchNorm1d
    # the same initial weights as the batch-statistics network: a pair differs only in the statistics
    batch_model = tr.DigitNN(64, tr.TrainConfig(depth=2, hidden=16))
    for (name, a), (_, b) in zip(model.state_dict().items(), batch_model.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    history = tr.train(config, data=digits)
    rebuilt = tr.model_from(config, 64, tr.weights_of(history.model))
    x = torch.from_numpy(digits.x_test[:50])
    torch.testing.assert_close(rebuilt(x), history.model(x))


@pytest.mark.slow
def test_the_probe_shows_what_training_normalizes_with(digits):
    """With running statistics, the values leaving the norm are normalized with the running averages."""
    history = tr.train(tr.TrainConfig(bn_stats="running", hidden=16, epochs=2), data=digits)
    model = history.model
    x = torch.from_numpy(digits.x_val[: tr.PROBE_SIZE])
    with torch.no_grad():
        z = model.blocks[0].linear(x)
        expected = model.blocks[0].norm.eval()(z)
    probed = tr.probe_layers(model, x)
    np.testing.assert_allclose(probed[0, 1], expected[:, : tr.PROBE_UNITS].numpy(), rtol=1e-5, atol=1e-6)


def stock_network(model, hidden):
    """The one-hidden-layer DigitNN as stock torch modules with the model's weights."""
    seq = nn.Sequential(nn.Linear(64, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, 10))
    own = model.state_dict()
    seq.load_state_dict(
        {
            "0.weight": own["blocks.0.linear.weight"],
            **{f"1.{k.removeprefix('blocks.0.norm.')}": v for k, v in own.items() if k.startswith("blocks.0.norm.")},
            "3.weight": own["out.weight"],
            "3.bias": own["out.bias"],
        }
    )
    return seq


def test_gap_in_one_batch_is_torch_training_mode_against_eval_mode(digits):
    config = tr.TrainConfig(hidden=32, epochs=2, dropout=0.5)
    model = tr.train(config, data=digits).model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    n = len(digits.y_test)
    gap = tr.train_eval_gap(model, digits.x_test, digits.y_test, batch_size=n)
    seq = stock_network(model, 32)
    x, y = torch.from_numpy(digits.x_test), torch.from_numpy(digits.y_test)
    with torch.no_grad():
        eval_logits = seq.eval()(x)
        train_logits = seq.train()(x)  # stock torch has no dropout here: it stays off
    assert gap.train_accuracy == pytest.approx((train_logits.argmax(1) == y).float().mean().item(), abs=1e-9)
    assert gap.eval_accuracy == pytest.approx((eval_logits.argmax(1) == y).float().mean().item(), abs=1e-9)
    assert gap.train_loss == pytest.approx(nn.functional.cross_entropy(train_logits, y).item(), rel=1e-5)
    assert gap.eval_loss == pytest.approx(nn.functional.cross_entropy(eval_logits, y).item(), rel=1e-5)
    assert gap.accuracy_gap == pytest.approx(gap.eval_accuracy - gap.train_accuracy)
    for name, value in model.state_dict().items():  # the model and its running statistics are untouched
        torch.testing.assert_close(value, before[name], msg=name)
    assert not model.training


def test_gap_without_normalization_is_zero_and_batches_of_one_are_refused(digits):
    model = tr.train(tr.TrainConfig(norm="none", hidden=16, epochs=1), data=digits).model
    gap = tr.train_eval_gap(model, digits.x_test, digits.y_test, batch_size=2)
    assert gap.train_accuracy == gap.eval_accuracy and gap.train_loss == pytest.approx(gap.eval_loss, rel=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        tr.train_eval_gap(model, digits.x_test, digits.y_test, batch_size=1)
