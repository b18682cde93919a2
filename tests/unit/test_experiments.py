"""The experiments engine: Weight Normalization against torch, the training loop against
train(), each experiment on a small configuration, its claims, JSON, and runs in the runner."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

from bn_core import experiments as ex
from bn_core import smoothness as sm
from bn_core.data import load
from bn_core.renorm import batch_renorm
from bn_core.train import BatchRenorm, DigitNN, TrainConfig, train
from bn_core.weightnorm import WeightNormLinear
from serve import jobs

DATA = load("digits")
TINY_SWEEP = ex.SweepConfig(sizes=(2, 32), norms=("batch", "group"), epochs=3, seeds=(0,))


# --- Weight Normalization -------------------------------------------------------------------
def test_weight_norm_linear_matches_torch_parametrization_forward_and_gradients():
    gen = torch.Generator().manual_seed(3)
    ours = WeightNormLinear(5, 4).double()
    with torch.no_grad():
        ours.weight.copy_(torch.randn(4, 5, generator=gen, dtype=torch.float64))
        ours.bias.copy_(torch.randn(4, generator=gen, dtype=torch.float64))
        ours.g.copy_(torch.rand(4, generator=gen, dtype=torch.float64) + 0.5)
    ref = nn.Linear(5, 4).double()
    with torch.no_grad():
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)
    ref = weight_norm(ref, dim=0)  # original0 = g (out, 1), original1 = v
    with torch.no_grad():
        ref.parametrizations.weight.original0.copy_(ours.g[:, None])
    x = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    dy = torch.randn(7, 4, generator=gen, dtype=torch.float64)
    y_ours, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y_ours, y_ref, rtol=1e-12, atol=1e-12)
    (y_ours * dy).sum().backward()
    (y_ref * dy).sum().backward()
    torch.testing.assert_close(ours.g.grad, ref.parametrizations.weight.original0.grad[:, 0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ours.weight.grad, ref.parametrizations.weight.original1.grad, rtol=1e-10, atol=1e-12)


def test_weight_norm_rows_have_length_g_and_start_as_the_twin():
    config = TrainConfig(norm="weight", depth=2, hidden=32)
    model, twin = DigitNN(64, config), DigitNN(64, config.twin())
    layer = model.blocks[0].linear
    assert isinstance(layer, WeightNormLinear) and layer.bias is not None
    torch.testing.assert_close(layer.effective_weight().norm(dim=1), layer.g.detach())
    x = torch.from_numpy(DATA.x_val[:20])
    torch.testing.assert_close(model(x), twin(x), rtol=1e-5, atol=1e-6)  # the same function at the start


@pytest.mark.slow
def test_weight_norm_trains_and_does_not_depend_on_the_batch():
    history = train(TrainConfig(norm="weight", epochs=4), data=DATA)
    assert history.test_accuracy > 0.9
    model, x = history.model.train(), torch.from_numpy(DATA.x_val[:8])
    torch.testing.assert_close(model(x)[:2], model(x[:2]))  # a sample's output ignores its batch


# --- the loop and the measures ----------------------------------------------------------------
@pytest.mark.slow
def test_fit_trains_exactly_as_train_does():
    config = TrainConfig(norm="batch", epochs=2, batch_size=16, depth=2)
    fitted = ex.fit(config, DATA).model.eval()
    history = train(config, data=DATA)
    for (name, a), b in zip(fitted.state_dict().items(), history.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_train_mode_error_equals_eval_error_without_batch_statistics():
    model = ex.fit(TrainConfig(norm="layer", epochs=2), DATA).model
    assert ex.train_mode_error(model, DATA, 4, seed=0) == pytest.approx(ex.val_error(model, DATA))


def test_train_mode_error_normalizes_each_batch_with_its_own_statistics():
    model = ex.fit(TrainConfig(norm="batch", epochs=1), DATA).model
    x, y = torch.from_numpy(DATA.x_val), torch.from_numpy(DATA.y_val)
    with torch.no_grad():  # one batch of everything, by hand: F.batch_norm with the batch's statistics
        block = model.blocks[0]
        z = block.linear(x)
        h = F.relu(F.batch_norm(z, None, None, block.norm.weight, block.norm.bias, training=True))
        wrong = (model.out(h).argmax(1) != y).float().mean().item()
    assert ex.train_mode_error(model, DATA, len(y), seed=0) == pytest.approx(wrong)


def test_an_experiment_stops_when_asked():
    with pytest.raises(ex.Stopped):
        ex.batch_size_sweep(TINY_SWEEP, DATA, should_stop=lambda: True)


def test_progress_counts_every_training_step():
    seen = []
    config = ex.LrConfig(lrs=(0.1,), epochs=1, seeds=(0,))
    ex.lr_robustness(config, DATA, on_progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] == ex.total_steps(config, len(DATA.y_train))


# --- the sweep ----------------------------------------------------------------------------------
def test_sweep_scales_the_learning_rate_with_the_batch():
    assert TINY_SWEEP.run("batch", 2, 0).lr == pytest.approx(0.1 * 2 / 32)
    assert TINY_SWEEP.run("batch", 64, 0).lr == pytest.approx(0.2)


@pytest.mark.slow
def test_sweep_batchnorm_fails_at_batch_size_2_where_groupnorm_does_not():
    """The lesson's claim, on a small sweep: BN at batch size 2 is far worse than at 32 and
    than GroupNorm at 2, and normalizing with batches of 2 is worse still (the train/eval gap).
    Margins from seeds 0-4 under the native (AVX2) and the default kernels: BN at 2 39-49 %, at 32
    3.6-5.0 %; GN at 2 3.6-18 % (an absolute bound of 15 % failed on an AVX-512 machine: 15.3 %);
    BN at 2 minus GN at 2, per seed, at least 21 points; train mode at 2 65-73 %."""
    result = ex.batch_size_sweep(TINY_SWEEP, DATA)
    bn, gn = result.mean_error("batch"), result.mean_error("group")
    assert bn[0] > bn[1] + 0.25 and bn[0] > gn[0] + 0.12
    assert gn[0] < bn[0] / 2
    assert result.mean_train_mode_error()[0] > bn[1] + 0.45


@pytest.mark.slow
def test_sweep_is_reproducible_and_its_json_round_trips():
    config = ex.SweepConfig(sizes=(4,), norms=("batch",), epochs=1, seeds=(0,))
    first, second = jobs.to_json(ex.batch_size_sweep(config, DATA)), jobs.to_json(ex.batch_size_sweep(config, DATA))
    assert first == second
    back = jobs.from_json("sweep", first)
    assert back.config == config and jobs.to_json(back) == first


def test_the_config_hash_changes_with_the_configuration():
    assert ex.config_hash(ex.SweepConfig()) == ex.config_hash(ex.SweepConfig())
    assert ex.config_hash(ex.SweepConfig()) != ex.config_hash(ex.SweepConfig(epochs=9))


def test_bad_configurations_are_refused_with_their_reasons():
    assert "bad_batch_size" in ex.SweepConfig(sizes=(1, 8)).problems()
    assert "bad_norm" in ex.SweepConfig(norms=("batch", "magic")).problems()
    assert "bad_lr" in ex.LrConfig(lrs=(math.nan,)).problems()
    assert "bad_renorm" in ex.RenormConfig(settings=((0.5, 1.0),)).problems()
    assert jobs.Job("nope", ex.SweepConfig()).problems() == ["bad_experiment"]
    with pytest.raises(ValueError):
        jobs.run_job(jobs.Job("sweep", ex.SweepConfig(epochs=0)))


# --- Batch Renorm -------------------------------------------------------------------------------
def test_batch_renorm_records_the_papers_r_and_d_before_clipping():
    layer = BatchRenorm(3, r_max=1.0, d_max=0.0)
    with torch.no_grad():
        layer.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
        layer.running_std.copy_(torch.tensor([2.0, 0.5, 1.0]))
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    ref = batch_renorm(
        x.numpy(), layer.running_mean.numpy().copy(), layer.running_std.numpy().copy(), training=True,
        r_max=100.0, d_max=100.0,
    )  # fmt: skip
    layer(x)
    np.testing.assert_allclose(layer.last_r.numpy(), ref.r, rtol=1e-5)
    np.testing.assert_allclose(layer.last_d.numpy(), ref.d, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_renorm_trace_counts_clipping_and_bins_every_value():
    config = ex.RenormConfig(settings=((1.0, 0.0), (100.0, 100.0)), epochs=1, seeds=(0,))
    result = ex.renorm_trace(config, DATA)
    assert result.clipped_total[0] > 0.99  # r_max 1, d_max 0: the clip acts on every unit
    assert result.clipped_total[1] < 1e-3  # the clip almost never reaches (a unit whose batch is constant can)
    for hist in (*result.r_hist, *result.d_hist):
        assert all(sum(phase) == pytest.approx(1.0) for phase in hist)
    assert 0 < result.bn_error[0] < 0.5 and all(0 < e[0] < 0.5 for e in result.errors)


# --- learning rates ---------------------------------------------------------------------------
def test_largest_learning_rate_that_trains_reads_the_accuracies():
    config = ex.LrConfig(lrs=(0.01, 0.1, 1.0), norms=("none",), trains_at=0.9)
    accuracy = {"none": [[0.95, 0.95], [0.91, 0.5], [0.2, 0.2]]}  # [lr][seed]
    losses, diverged = {"none": [[1.0]] * 3}, {"none": [[False] * 2] * 3}
    result = ex.LrResult(replace(config, seeds=(0, 1)), losses, [0], accuracy, diverged)
    assert result.largest_lr("none") == 0.1 and result.largest_lrs("none") == [0.1, 0.01]
    low, high = ex.LrResult(config, {"none": [[1.0], [math.nan], [0.5]]}, [0], {}, {}).band("none")
    assert low[0] == 0.5 and high[0] == 100.0  # a diverged run counts at the divergence threshold


@pytest.mark.slow
def test_default_lr_robustness_batchnorm_trains_at_a_ten_times_larger_rate():
    """The lesson's claim for the default settings, first seed (tests/claims checks every seed of the shipped file)."""
    result = ex.lr_robustness(ex.LrConfig(seeds=(0,)), DATA)
    none, bn = result.largest_lr("none"), result.largest_lr("batch")
    assert bn >= 10 * none
    low, high = result.band("none")
    bn_low, bn_high = result.band("batch")
    assert np.median(high - low) > np.median(bn_high - bn_low)  # the band across rates is wider without BN


# --- Santurkar et al. ---------------------------------------------------------------------------
def test_landscape_measures_match_a_hand_computation():
    model = ex.fit(TrainConfig(norm="none", epochs=1, hidden=16), DATA).model
    xb, yb = torch.from_numpy(DATA.x_train[:32]), torch.from_numpy(DATA.y_train[:32])
    eta = 0.3

    def loss_grad(params):
        w1, b1, w2, b2 = params
        logits = F.relu(xb @ w1.T + b1) @ w2.T + b2
        loss = F.cross_entropy(logits, yb)
        return loss.item(), torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])

    start = [p.detach().clone().requires_grad_() for p in model.parameters()]
    l0, g0 = loss_grad(start)
    moved, offset = [], 0
    for p in start:
        moved.append((p - eta * g0[offset : offset + p.numel()].view_as(p)).detach().requires_grad_())
        offset += p.numel()
    l1, g1 = loss_grad(moved)
    low, high, change, beta = sm.landscape(model, xb, yb, (eta,))
    assert (low, high) == pytest.approx((min(l0, l1), max(l0, l1)), rel=1e-5)
    assert change == pytest.approx(float((g0 - g1).norm()), rel=1e-4)
    assert beta == pytest.approx(float((g0 - g1).norm()) / (eta * float(g0.norm())), rel=1e-4)
    torch.testing.assert_close(next(model.parameters()), start[0].detach())  # the model did not move


def test_noisy_batchnorm_adds_its_drawn_noise_in_training_only():
    layer = sm.NoisyBatchNorm(3)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    layer.draw(5, 1.0, 1.0, torch.Generator().manual_seed(1))
    plain = F.batch_norm(x, None, None, training=True)
    torch.testing.assert_close(layer(x) - plain, layer.noise)
    assert layer.noise.mean(0).abs().max() > 0.1  # a non-zero mean
    layer.eval()
    torch.testing.assert_close(layer(x), (x - layer.running_mean) / torch.sqrt(layer.running_var + layer.eps))


# --- in the runner ------------------------------------------------------------------------------
def test_a_run_one_step_shorter_is_not_counted_as_diverged():
    # 1 078 training images in batches of 3: BatchNorm's last batch of one joins the one before it
    config = ex.LrConfig(lrs=(0.01,), batch_size=3, epochs=1, depth=1, hidden=16, seeds=(0,))
    assert len(DATA.y_train) % 3 == 1
    result = ex.lr_robustness(config, DATA)
    assert not any(result.diverged["batch"][0]) and not any(result.diverged["none"][0])
    for norm in config.norms:
        assert result.band(norm)[1].max() < 10  # no step counted at the divergence threshold
