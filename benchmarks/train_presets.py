"""The `train` lesson's targets (issue 11), on the offline digits over 5 seeds, numbers printed:

- Figure 1 (Ioffe & Szegedy 2015): median steps to 90 % validation accuracy with BN at most 1/5 of
  without; the probed unit's drift (range of its median input / its initial 15-85 spread) at least
  3 times smaller with BN.
- "A learning rate only BN survives": without BN final test accuracy <= 30 %, with BN >= 95 %.
- The classic model and the default settings: >= 97 % with BN.
- A paced run uses no more CPU than its steps need; a paused run below 1 % of a core.

    .venv/bin/python benchmarks/train_presets.py [--seeds 5] [--skip-cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bn_core import train as tr  # noqa: E402
from bn_core.data import load  # noqa: E402

torch.set_num_threads(1)


def pairs(name: str, config: tr.TrainConfig, seeds: int, data) -> list[tuple[tr.History, tr.History]]:
    out = []
    for seed in range(seeds):
        c = replace(config, seed=seed)
        out.append((tr.train(c, data=data), tr.train(c.twin(), data=data)))
        bn, none = out[-1]
        print(f"  {name} seed {seed}: test BN {acc(bn)}, none {acc(none)}", flush=True)
    return out


def acc(h: tr.History) -> str:
    return "diverged" if h.test_accuracy is None else f"{h.test_accuracy:.1%}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def figure1(seeds: int, data) -> bool:
    print("Preset 1, Ioffe & Szegedy Figure 1")
    runs = pairs("figure1", tr.PRESETS["figure1"], seeds, data)
    total = runs[0][0].measures[-1].step
    steps = {
        "bn": [tr.steps_to(bn, 0.9) or total + 1 for bn, _ in runs],
        "none": [tr.steps_to(none, 0.9) or total + 1 for _, none in runs],
    }  # never reached: counted as one step past the run
    drift = {"bn": [tr.drift(bn) for bn, _ in runs], "none": [tr.drift(none) for _, none in runs]}
    for key in ("bn", "none"):
        print(f"  steps to 90 % val, {key}: {steps[key]} (median {statistics.median(steps[key])})")
        print(f"  drift of the probed unit's median, {key}: {[round(d, 3) for d in drift[key]]}")
    step_ratio = statistics.median(steps["bn"]) / statistics.median(steps["none"])
    drift_ratio = statistics.median(drift["none"]) / statistics.median(drift["bn"])
    print(f"  steps ratio BN / none = {step_ratio:.3f} (target <= 0.2): {verdict(step_ratio <= 0.2)}")
    print(f"  drift ratio none / BN = {drift_ratio:.1f} (target >= 3): {verdict(drift_ratio >= 3)}")
    test_steps = [(tr.steps_to(bn, 0.9, "test_accuracy"), tr.steps_to(n, 0.9, "test_accuracy")) for bn, n in runs]
    print(f"  steps to 90 % test (BN, none): {test_steps}")
    return step_ratio <= 0.2 and drift_ratio >= 3


def high_lr(seeds: int, data) -> bool:
    print("Preset 3, a learning rate only BN survives")
    runs = pairs("high_lr", tr.PRESETS["high_lr"], seeds, data)
    bn = [h.test_accuracy for h, _ in runs]
    none = [h.test_accuracy or 0.0 for _, h in runs]  # diverged counts as 0
    print(f"  BN {min(bn):.1%}-{max(bn):.1%} (target >= 95 %), none {min(none):.1%}-{max(none):.1%} (target <= 30 %)")
    ok = min(bn) >= 0.95 and max(none) <= 0.30
    print(f"  {verdict(ok)}")
    return ok


def at_least_97(seeds: int, data) -> bool:
    ok = True
    for name, config in (("classic", tr.PRESETS["classic"]), ("default", tr.TrainConfig())):
        print(f"{name}: BN test accuracy (target >= 97 %)")
        runs = pairs(name, config, seeds, data)
        bn = [h.test_accuracy for h, _ in runs]
        none = [h.test_accuracy or 0.0 for _, h in runs]
        print(f"  BN {min(bn):.1%}-{max(bn):.1%}, none {min(none):.1%}-{max(none):.1%}: {verdict(min(bn) >= 0.97)}")
        ok &= min(bn) >= 0.97
    return ok


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    data = load("digits")
    results = [figure1(args.seeds, data), high_lr(args.seeds, data), at_least_97(args.seeds, data)]
    print("ALL TARGETS MET" if all(results) else "SOME TARGETS MISSED")


if __name__ == "__main__":
    main()
