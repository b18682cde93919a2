"""What the lessons' sentences about training rest on, measured seed by seed.

Each measurement trains the configuration a sentence names, once per seed (a run's seed draws its
initial weights and shuffles its batches), and returns plain numbers. ``tests/claims`` runs them in
a subprocess per CPU kernel path and thread count, because torch picks other kernels on other
processors and sums in another order with another thread count:

    ATEN_CPU_CAPABILITY=default python -m tests.claims.measure high_lr --seeds 0-4 --threads 1

prints one JSON object: {"seeds": [...], "values": {name: [one number per seed]}, "machine": {...}}.
``benchmarks/claims_spread.py`` prints the same over more seeds, as a table.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace

import numpy as np
import torch

from bn_core import drift
from bn_core import train as tr
from bn_core.data import load_digits
from serve import jobs

SHUFFLES = range(5)  # the train/eval gap: orders of the test images per trained model


def figure1(seed, data):
    config = replace(tr.PRESETS["figure1"], seed=seed)
    bn, none = tr.train(config, data=data), tr.train(config.twin(), data=data)
    return {
        "bn_steps_to_90": tr.steps_to(bn, 0.9, "test_accuracy"),
        "none_steps_to_90": tr.steps_to(none, 0.9, "test_accuracy"),
        "bn_drift": tr.drift(bn),
        "none_drift": tr.drift(none),
    }


def never(step):
    return False


def pair_accuracy(name, seed, data):
    config = replace(tr.PRESETS[name], seed=seed)
    bn, none = (tr.train(c, data=data, measure_at=never) for c in (config, config.twin()))
    return {
        "bn_test": bn.test_accuracy,
        "none_test": none.test_accuracy,  # None: diverged
        "none_diverged_epoch": none.diverged_at,
    }


def classic(seed, data):
    return pair_accuracy("classic", seed, data)


def high_lr(seed, data):
    return pair_accuracy("high_lr", seed, data)


def stats_default(seed, data):
    """inside, section stats: the pair with batch and with running statistics at the page's defaults."""
    configs = {m: replace(tr.STATS_PAIR, bn_stats=m, seed=seed) for m in tr.BN_STATS}
    runs = {m: tr.train(config, data=data, measure_at=never) for m, config in configs.items()}
    return {"batch_test": runs["batch"].test_accuracy, "running_test": runs["running"].test_accuracy}


def stats_lr03(seed, data):
    """The same pair at learning rate 0.3, measured at every step: the step at which running statistics stop."""
    runs = {
        m: tr.train(replace(tr.STATS_PAIR, bn_stats=m, seed=seed, lr=0.3), data=data, measure_at=lambda s: True)
        for m in tr.BN_STATS
    }
    running = runs["running"]
    return {
        "batch_test": runs["batch"].test_accuracy,
        "running_diverged": running.stopped == "diverged",
        "running_last_step": running.measures[-1].step,  # the last step trained before the diverging batch
    }


def gap(seed, data):
    """The batch-statistics model of the stats pair, on the test images in training mode in shuffled batches of
    2 and of 64 (SHUFFLES orders each) against eval mode."""
    model = tr.train(replace(tr.STATS_PAIR, seed=seed), data=data, measure_at=never).model
    out = {"eval": None, "train_at_2": [], "gap_at_64": []}
    for shuffle in SHUFFLES:
        at_2, at_64 = (tr.train_eval_gap(model, data.x_test, data.y_test, b, seed=shuffle) for b in (2, 64))
        out["eval"] = at_2.eval_accuracy
        out["train_at_2"].append(at_2.train_accuracy)
        out["gap_at_64"].append(at_64.accuracy_gap)
    return out


def unit(seed, data=None):
    """inside, "one unit, by hand" (NumPy, no torch kernels): its default settings and the page's smallest batch."""
    tail = lambda run: float(run.loss[-100:].mean())  # noqa: E731  the last third of the 300 default steps
    default = {m: drift.train_unit(m, seed=seed) for m in drift.MODES}
    small = drift.train_unit("batch", steps=300, lr=0.3, batch_size=2, seed=seed)
    large = drift.train_unit("batch", steps=300, lr=0.3, batch_size=128, seed=seed)
    return {
        "loss_batch": tail(default["batch"]),
        "loss_running": tail(default["running"]),
        "running_w_end": float(default["running"].w[-1]),
        "running_b_end": float(default["running"].b[-1]),
        "running_b_mid": float(default["running"].b[150]),
        "batch_b_moved": float(np.abs(default["batch"].b).max()),
        "batch_w_moved": float(np.abs(default["batch"].w - 0.5).max()),
        "w_end_batch_of_2": float(small.w[-1]),
        "w_end_batch_of_128": float(large.w[-1]),
    }


def smoothness(seed, data):
    """experiments, "Why BN helps": Santurkar et al.'s measures at the default settings."""
    from bn_core import smoothness as sm

    result = sm.smoothness(sm.SmoothnessConfig(seeds=(seed,)), data)
    out = {
        f"{name}_{v}": result.median(name, v)
        for name in ("loss_range", "grad_change", "beta")
        for v in ("none", "batch")
    }
    out |= {f"accuracy_{v}": result.accuracy[v][0] for v in ("batch", "noisy")}
    out |= {f"unit_mean_std_{v}": float(np.std(result.unit_mean[v])) for v in ("batch", "noisy")}
    return out


def noise(seed, data=None):
    """inside, "the same sample in different batches" (NumPy): x0's output spread over the page's batch sizes and
    trials, against √((1 + x0²/2) / B), and how close to ±1 its outputs are in batches of two."""
    from bn_core import noise as bn_noise
    from lessons.inside.noise import SIZES, TRIALS

    out = {"sizes": list(SIZES)}
    for x0 in (0.0, 0.5, 1.0, 2.0, 3.0):
        spread = bn_noise.noise_by_batch_size(x0, SIZES, TRIALS, seed)
        out[f"ratio_{x0}"] = (spread / np.sqrt((1 + x0**2 / 2) / np.array(SIZES))).tolist()
        out[f"spread_{x0}"] = spread.tolist()
        pairs = bn_noise.same_sample_outputs(x0, 2, TRIALS, seed)
        out[f"near_one_at_2_{x0}"] = float(np.mean(np.abs(np.abs(pairs) - 1) < 0.05))
    return out


MEASURES = {f.__name__: f for f in (figure1, classic, high_lr, stats_default, stats_lr03, gap, unit, noise, smoothness)}


def measure(name: str, seeds, threads: int) -> dict:
    torch.set_num_threads(threads)
    data = load_digits()
    per_seed = [MEASURES[name](seed, data) for seed in seeds]
    values = {key: [run[key] for run in per_seed] for key in per_seed[0]}
    return {"seeds": list(seeds), "values": values, "machine": jobs.machine()}


def seed_range(text: str) -> range:
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=tuple(MEASURES))
    parser.add_argument("--seeds", type=seed_range, default=range(5))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    result = measure(args.name, args.seeds, args.threads)
    print(json.dumps(result, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v))


if __name__ == "__main__":
    main()
