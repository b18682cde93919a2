"""The results files the `experiments` lesson ships: written for today's default configurations,
reproducible byte for byte by the script, and saying what the lesson's sentences say of them."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from bn_core import experiments as ex
from bn_core.train import BatchRenorm, DigitNN, TrainConfig
from serve import jobs
from tests.app.helpers import ROOT

SCRIPT = ROOT / "scripts" / "precompute_experiments.py"


def shipped(name):
    return jobs.from_json(name, (jobs.SHIPPED / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", list(jobs.EXPERIMENTS))
def test_each_shipped_file_was_computed_for_the_current_default_configuration(name):
    text = (jobs.SHIPPED / f"{name}.json").read_text(encoding="utf-8")
    default = jobs.EXPERIMENTS[name][0]()
    assert jobs.stored_hash(text) == ex.config_hash(default), f"rerun scripts/precompute_experiments.py --only {name}"
    assert shipped(name).config == default


@pytest.mark.slow
def test_the_script_reproduces_its_files_byte_for_byte(tmp_path):
    outputs = []
    for attempt in ("a", "b"):
        out = tmp_path / attempt
        subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--out", str(out)], check=True, capture_output=True)
        outputs.append({p.name: p.read_bytes() for p in sorted(out.glob("*.json"))})
    assert sorted(outputs[0]) == sorted(f"{n}.json" for n in jobs.EXPERIMENTS)
    assert outputs[0] == outputs[1]
    sweep = json.loads(outputs[0]["sweep.json"])
    assert sweep["config"]["sizes"] == [4, 32]  # the tiny configuration, not the default


# --- the lesson's sentences, against the shipped numbers --------------------------------------
def test_rule_text_bn_hardly_moves_from_128_to_8_and_breaks_only_at_the_smallest_batches():
    result = shipped("sweep")
    sizes, bn = list(result.config.sizes), result.mean_error("batch")
    large = bn[sizes.index(8) :]
    assert np.ptp(large) < 0.025  # 8 .. 128: within 2.5 points of each other
    assert bn[sizes.index(2)] > 0.3 and bn[sizes.index(2)] > 5 * bn[sizes.index(32)]


def test_sweep_text_the_dotted_line_differs_from_the_solid_one_at_small_batches():
    result = shipped("sweep")
    gap = result.mean_train_mode_error() - result.mean_error("batch")
    assert abs(gap[0]) > 0.1 and abs(gap[1]) > 0.05


def test_renorm_text_r_and_d_stay_spread_in_the_last_quarter_too():
    result = shipped("renorm")
    for index in range(len(result.config.settings)):
        early, late = result.clipped_in(index, 0), result.clipped_in(index, 3)
        assert late > 0.4 * early > 0


def test_renorm_with_r_max_1_and_d_max_0_trains_exactly_as_batchnorm():
    """d_max's help: with r_max = 1 and d_max = 0 Batch Renorm trains exactly as BatchNorm."""
    layer = BatchRenorm(4, r_max=1.0, d_max=0.0)
    with torch.no_grad():
        layer.running_mean.fill_(3.0)
        layer.running_std.fill_(0.1)
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64).float()
    torch.testing.assert_close(layer(x), F.batch_norm(x, None, None, training=True, eps=layer.eps))


def test_lr_text_growing_weights_do_not_grow_what_the_next_layer_sees_with_batchnorm():
    config = TrainConfig(norm="batch", depth=2, hidden=32)
    model = DigitNN(64, config).train()
    x = torch.rand(16, 64, generator=torch.Generator().manual_seed(0))
    before = model.blocks[0](x)
    with torch.no_grad():
        model.blocks[0].linear.weight.mul_(10.0)
    torch.testing.assert_close(model.blocks[0](x), before, rtol=1e-2, atol=5e-3)  # up to eps's share
    plain = DigitNN(64, config.twin()).train()
    grown = plain.blocks[0].linear(x).abs().mean()
    with torch.no_grad():
        plain.blocks[0].linear.weight.mul_(10.0)
    assert plain.blocks[0].linear(x).abs().mean() > 5 * grown  # without BN they grow with the weights


def test_lr_text_the_shipped_numbers_show_batchnorm_training_at_larger_rates_in_every_seed():
    result = shipped("lr")
    for with_bn, without in zip(result.largest_lrs("batch"), result.largest_lrs("none"), strict=True):
        assert with_bn > 2.5 * without  # 0.3 or 1.0 against 0.1
    assert sum(result.diverged["none"][-1]) >= 3 and not any(result.diverged["batch"][-1])  # at rate 2.0


def test_smooth_texts_hold_for_the_shipped_numbers():
    result = shipped("smoothness")
    n = len(result.config.seeds)
    for name in ("grad_change", "beta"):
        assert result.lower_in(name, "batch", "none") == n
    assert result.lower_in("loss_range", "batch", "none") >= n - 1
    assert sum(result.trains_like("noisy", "batch")) >= n - 1  # "in {k} of {n} seeds"
    assert np.std(result.unit_mean["noisy"]) > 5 * np.std(result.unit_mean["batch"])
