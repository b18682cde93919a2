"""The `train` lesson's engine: DigitNN against plain PyTorch layers, Batch Renorm
against the NumPy engine, reproducibility, faults (batch of one, divergence, stop)."""

import csv
import io
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from bn_core import train as tr
from bn_core.data import Dataset, load_digits
from bn_core.renorm import batch_renorm


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def small(digits, n_train=100):
    return Dataset(
        "digits",
        (8, 8),
        digits.x_train[:n_train],
        digits.y_train[:n_train],
        *[getattr(digits, a) for a in ("x_val", "y_val", "x_test", "y_test")],
    )


def reference(config, model):
    """The same network from stock PyTorch modules, with the model's weights."""
    norm = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm, "none": lambda w: nn.Identity()}[config.norm](config.hidden)
    linear = nn.Linear(64, config.hidden, bias=config.norm == "none" or config.placement == "after")
    layers = [linear, norm, nn.ReLU()] if config.placement == "before" else [linear, nn.ReLU(), norm]
    seq = nn.Sequential(*layers, nn.Linear(config.hidden, 10))
    own = model.state_dict()
    mapped = {"0.weight": own["blocks.0.linear.weight"], "3.weight": own["out.weight"], "3.bias": own["out.bias"]}
    if "blocks.0.linear.bias" in own:
        mapped["0.bias"] = own["blocks.0.linear.bias"]
    norm_index = 1 if config.placement == "before" else 2
    for name, value in own.items():
        if name.startswith("blocks.0.norm."):
            mapped[f"{norm_index}.{name.removeprefix('blocks.0.norm.')}"] = value
    seq.load_state_dict(mapped)
    return seq


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
@pytest.mark.parametrize("placement", ["before", "after"])
def test_digitnn_is_linear_norm_relu_linear(norm, placement):
    config = tr.TrainConfig(norm=norm, placement=placement, hidden=32)
    model = tr.DigitNN(64, config)
    # issue 9: a Linear keeps its bias unless a normalization follows it directly (its β does that job)
    assert (model.blocks[0].linear.bias is None) == (norm != "none" and placement == "before")
    seq = reference(config, model)
    x = torch.rand(16, 64, generator=torch.Generator().manual_seed(1))
    for mode in (True, False):
        model.train(mode)
        seq.train(mode)
        torch.testing.assert_close(model(x), seq(x))
    if norm == "batch":  # both updated their running statistics the same way
        torch.testing.assert_close(
            model.blocks[0].norm.running_mean, seq[1 if placement == "before" else 2].running_mean
        )


def test_group_norm_and_second_layer():
    model = tr.DigitNN(64, tr.TrainConfig(norm="group", hidden=48, hidden2=16))
    assert [b.norm.num_groups for b in model.blocks] == [8, 8]
    assert model(torch.rand(3, 64)).shape == (3, 10)
    assert tr.group_count(20) == 4 and tr.group_count(18) == 2


def test_batch_renorm_module_matches_the_numpy_engine():
    gen = torch.Generator().manual_seed(0)
    module = tr.BatchRenorm(3).double()
    with torch.no_grad():
        module.weight.copy_(torch.tensor([1.5, 0.5, 1.0]))
        module.bias.copy_(torch.tensor([0.1, -0.2, 0.0]))
    mean, std = np.zeros(3), np.ones(3)
    for step in range(60):  # the running statistics drift away from the batches: r and d are clipped
        x = torch.randn(8, 3, generator=gen, dtype=torch.float64) * (1 + step % 4) + 3 * (step % 5)
        want = batch_renorm(
            x.numpy(), mean, std, module.weight.detach().numpy(), module.bias.detach().numpy(), training=True
        )
        got = module(x)
        np.testing.assert_allclose(got.detach().numpy(), want.y, rtol=1e-12, atol=1e-12)
        mean, std = want.running_mean, want.running_std
        np.testing.assert_allclose(module.running_mean.numpy(), mean, rtol=1e-12)
        np.testing.assert_allclose(module.running_std.numpy(), std, rtol=1e-12)
    np.testing.assert_allclose(module.running_var.numpy(), std**2 - 1e-5, rtol=1e-12)  # what the probe reads
    module.eval()
    x = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    want = batch_renorm(
        x.numpy(), mean, std, module.weight.detach().numpy(), module.bias.detach().numpy(), training=False
    )
    np.testing.assert_allclose(module(x).detach().numpy(), want.y, rtol=1e-12)


def test_batch_renorm_unclipped_is_batchnorm():
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(2))
    renorm, bn = tr.BatchRenorm(4, r_max=1.0, d_max=0.0), nn.BatchNorm1d(4)
    torch.testing.assert_close(renorm(x), bn(x))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        renorm(x[:1])


def test_seeded_dropout():
    x = torch.ones(1000, 50)
    one = tr.SeededDropout(0.3, torch.Generator().manual_seed(5))
    two = tr.SeededDropout(0.3, torch.Generator().manual_seed(5))
    a, b = one(x), two(x)
    assert torch.equal(a, b)
    assert abs((a == 0).float().mean().item() - 0.3) < 0.01
    assert abs(a.mean().item() - 1.0) < 0.02  # inverted dropout keeps the expected value
    one.eval()
    assert torch.equal(one(x), x)


def test_training_learns_and_records_each_epoch(digits):
    seen = []
    history = tr.train(tr.TrainConfig(epochs=4), on_epoch=seen.append, data=digits)
    assert [e.epoch for e in history.epochs] == [1, 2, 3, 4] and seen == history.epochs
    assert history.stopped is None and history.test_accuracy > 0.9
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss
    assert history.epochs[0].running_mean.shape == (tr.PROBE_UNITS,)
    assert len(history.test_predictions) == len(digits.y_test)
    assert history.test_accuracy == pytest.approx(np.mean(history.test_predictions == digits.y_test))
    assert not history.model.training
    assert tr.train(tr.TrainConfig(norm="layer", epochs=1), data=digits).epochs[0].running_mean is None


@pytest.mark.slow
def test_a_run_is_reproducible_from_its_configuration(digits):
    state = torch.random.get_rng_state()
    config = tr.TrainConfig(epochs=2, dropout=0.2)
    a, b = tr.train(config, data=digits), tr.train(config, data=digits)
    assert a.column("train_loss").tolist() == b.column("train_loss").tolist()
    assert np.array_equal(a.test_predictions, b.test_predictions)
    c = tr.train(replace(config, seed=1), data=digits)
    assert c.column("train_loss").tolist() != a.column("train_loss").tolist()
    assert torch.equal(torch.random.get_rng_state(), state)  # torch's global generator untouched


def test_batch_of_one_with_batchnorm_is_refused_before_training(digits):
    for norm in tr.BATCH_STAT_NORMS:
        config = tr.TrainConfig(norm=norm, batch_size=1)
        assert config.problems() == ["batch_of_one"]
        with pytest.raises(ValueError, match="batch_of_one"):
            tr.train(config, data=digits)
    assert tr.TrainConfig(norm="layer", batch_size=1).problems() == []
    history = tr.train(tr.TrainConfig(norm="layer", batch_size=1, epochs=1), data=small(digits, 20))
    assert history.stopped is None


def test_a_last_batch_of_one_joins_the_batch_before(digits):
    chunks = tr.batches(33, 32, torch.Generator().manual_seed(0), merge_single=True)
    assert [len(c) for c in chunks] == [33]
    assert [len(c) for c in tr.batches(33, 32, torch.Generator(), merge_single=False)] == [32, 1]
    history = tr.train(tr.TrainConfig(epochs=2, batch_size=32), data=small(digits, 97))  # 97 = 3·32 + 1
    assert history.stopped is None and len(history.epochs) == 2


def test_out_of_range_settings_are_named():
    bad = tr.TrainConfig(hidden=8, lr=float("nan"), epochs=0, dropout=1.0, norm="magic", batch_size=1000)
    assert set(bad.problems()) >= {"bad_hidden", "bad_lr", "bad_epochs", "bad_dropout", "bad_norm", "bad_batch_size"}


@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 10.0), ("adam", 1.0)])
def test_divergence_stops_the_run(digits, optimizer, lr):
    history = tr.train(tr.TrainConfig(optimizer=optimizer, lr=lr, norm="none", epochs=5), data=digits)
    assert history.stopped == "diverged" and history.diverged_at == 1
    assert history.diverged_loss > tr.DIVERGED_LOSS and history.test_accuracy is None


def test_nan_inputs_stop_the_run(digits):
    poisoned = replace(small(digits), x_train=digits.x_train[:100].copy())
    poisoned.x_train[0, 0] = np.nan
    history = tr.train(tr.TrainConfig(epochs=2, norm="none"), data=poisoned)
    assert history.stopped == "diverged" and np.isnan(history.diverged_loss)


def test_should_stop_ends_the_run_between_batches(digits):
    calls = []

    def stop_after_40():
        calls.append(1)
        return len(calls) > 40

    history = tr.train(tr.TrainConfig(epochs=10), should_stop=stop_after_40, data=digits)
    assert history.stopped == "user" and len(history.epochs) == 1  # 34 batches an epoch
    assert history.test_accuracy is not None  # the model as it stands is still evaluated


@pytest.mark.slow
def test_weights_round_trip_and_probabilities(digits):
    history = tr.train(tr.TrainConfig(epochs=2), data=digits)
    again = tr.model_from(history.config, 64, tr.weights_of(history.model))
    p = tr.probabilities(again, digits.x_test[:5])
    np.testing.assert_allclose(p, tr.probabilities(history.model, digits.x_test[:5]))
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)


@pytest.mark.slow
def test_confusion_matrix_and_csv(digits):
    truth, predicted = np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2])
    counts = tr.confusion_matrix(truth, predicted, classes=3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    history = tr.train(tr.TrainConfig(epochs=3), data=digits)
    rows = list(csv.DictReader(io.StringIO(tr.history_csv(history))))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["val_accuracy"]) for r in rows] == history.column("val_accuracy").tolist()


def test_the_classic_preset_is_the_classic_model_without_biases():
    model = tr.DigitNN(64, tr.PRESETS["classic"])
    block = model.blocks[0]
    assert block.linear.bias is None and not block.before and isinstance(block.norm, nn.BatchNorm1d)
    assert block.linear.weight.shape == (128, 64) and model.out.weight.shape == (10, 128)
    twin = tr.DigitNN(64, tr.PRESETS["classic"].twin())  # the same model minus BN, as its source wrote it
    assert twin.blocks[0].linear.bias is None and isinstance(twin.blocks[0].norm, nn.Identity)


@pytest.mark.parametrize("name", list(tr.PRESETS))
def test_a_preset_and_its_twin_start_from_the_same_weights(name):
    config = tr.PRESETS[name]
    one, two = tr.DigitNN(64, config), tr.DigitNN(64, config.twin())
    assert config.twin().norm == "none" and config.problems() == []
    for a, b in zip(one.blocks, two.blocks, strict=True):
        assert torch.equal(a.linear.weight, b.linear.weight)
    assert torch.equal(one.out.weight, two.out.weight)


def test_figure1_network_has_three_sigmoid_layers_with_small_gaussian_weights():
    config = tr.PRESETS["figure1"]
    model = tr.DigitNN(64, config)
    assert [b.linear.out_features for b in model.blocks] == [100, 100, 100]
    weights = torch.cat([b.linear.weight.flatten() for b in model.blocks])
    assert abs(weights.std().item() - 0.1) < 0.005 and abs(weights.mean().item()) < 0.005
    assert all(isinstance(b.norm, nn.BatchNorm1d) and b.linear.bias is None for b in model.blocks)
    twin = tr.DigitNN(64, config.twin())
    assert all(torch.equal(b.linear.bias, torch.zeros(100)) for b in twin.blocks)  # Gaussian init: zero biases
    x = torch.rand(8, 64, generator=torch.Generator().manual_seed(0))
    model.eval()
    z = model.blocks[0].linear(x)
    torch.testing.assert_close(model.blocks[0](x), torch.sigmoid(model.blocks[0].norm(z)))


def test_measures_follow_the_run_and_probe_what_training_computes(digits):
    config = tr.TrainConfig(depth=2, hidden=32, epochs=3)
    history = tr.train(config, data=digits)
    steps = [m.step for m in history.measures]
    total = tr.steps_per_epoch(len(digits.y_train), config) * 3
    assert steps[0] == 0 and steps[-1] == total and steps == sorted(set(steps))
    assert max(np.diff(steps)) <= tr.measure_interval(total)  # every few steps, not per epoch
    assert np.isnan(history.measures[0].train_loss) and np.isfinite(history.measures[-1].train_loss)
    last = history.measures[-1]
    assert last.quantiles.shape == (2, 2, tr.PROBE_UNITS, 3) and last.samples.shape == (2, 2, tr.PROBE_SIZE, 4)
    assert last.val_accuracy == pytest.approx(history.epochs[-1].val_accuracy)
    # recompute the first layer by hand from the trained weights: z = Wx, then BN with the probe's own statistics
    x = torch.from_numpy(digits.x_val[: tr.PROBE_SIZE]).double()
    block = history.model.blocks[0]
    z = x @ block.linear.weight.detach().double().T
    mean, var = z.mean(0), z.var(0, unbiased=False)
    y = (z - mean) / torch.sqrt(var + 1e-5) * block.norm.weight.detach().double() + block.norm.bias.detach().double()
    np.testing.assert_allclose(last.samples[0, 0], z[:, :4].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(last.samples[0, 1], y[:, :4].numpy(), rtol=1e-4, atol=1e-4)
    want = np.quantile(y[:, :4].numpy(), [0.15, 0.5, 0.85], axis=0).T  # (units, 3)
    np.testing.assert_allclose(last.quantiles[0, 1], want, atol=1e-4)
    # the probe updated no running statistics: eval mode still gives the epoch's validation accuracy
    assert tr.evaluate(history.model, torch.from_numpy(digits.x_val), torch.from_numpy(digits.y_val))[1] == (
        pytest.approx(history.epochs[-1].val_accuracy)
    )
    kept = [m.step for m in history.measures if m.samples is not None]
    assert 0 in kept and total in kept and len(kept) <= tr.SNAPSHOTS


def test_measure_at_sets_the_measuring_pace(digits):
    history = tr.train(tr.TrainConfig(epochs=1), data=small(digits, 100), measure_at=lambda step: True)
    assert [m.step for m in history.measures] == list(range(5))  # 100 images in batches of 32 (+ a merged 4)


def test_a_run_measured_every_step_keeps_a_bounded_thinned_record(digits, monkeypatch):
    monkeypatch.setattr(tr.loop, "MEASURES_KEPT", 100)  # the loop reads it where it keeps its measures
    config = tr.TrainConfig(epochs=2, batch_size=8)
    total = tr.steps_per_epoch(len(digits.y_train), config) * 2  # 270 steps, each measured
    history = tr.train(config, data=digits, measure_at=lambda step: True)
    steps = [m.step for m in history.measures]
    assert len(steps) <= 100 and steps[0] == 0 and steps[-1] == total and steps == sorted(set(steps))
    assert steps[-25:] == list(range(total - 24, total + 1))  # the newest quarter stays one step apart
    assert max(np.diff(steps)) > 1  # the older ones were thinned
    snapshots = {m.step for m in history.measures if m.samples is not None}
    assert snapshots == tr.snapshot_steps(total)  # no measure with probed values is dropped


@pytest.mark.slow
@pytest.mark.parametrize("placement", ["before", "after"])
def test_claim_leaving_bn_each_unit_has_mean_beta_and_std_gamma(digits, placement):
    # inside_intro: "leaving it, each unit's mean is its β and its standard deviation its γ [...]";
    # "Without normalization both charts show the same values."
    config = tr.TrainConfig(placement=placement, epochs=3, lr=0.3)
    history = tr.train(config, data=digits)
    norm = history.model.blocks[0].norm
    gamma, beta = norm.weight.detach().numpy()[:4], norm.bias.detach().numpy()[:4]
    assert np.abs(gamma - 1).max() > 0.01 and np.abs(beta).max() > 0.01  # they have been learned
    entering, leaving = history.measures[-1].samples[0]  # (PROBE_SIZE, units) each
    np.testing.assert_allclose(leaving.mean(0), beta, atol=1e-5)
    # "... or 0 where a ReLU before it outputs 0 for every image" (BN after ReLU: dead units are constant)
    constant = entering.std(0) == 0
    assert placement == "before" or constant.any()  # the case the text names does happen here
    np.testing.assert_allclose(leaving.std(0), np.where(constant, 0.0, np.abs(gamma)), rtol=1e-3, atol=1e-6)
    none = tr.train(config.twin(), data=digits)
    for m in none.measures:
        np.testing.assert_array_equal(m.quantiles[:, 0], m.quantiles[:, 1])
