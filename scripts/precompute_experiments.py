"""Compute every experiment of the `experiments` lesson at its default configuration and write
the results the app ships (lessons/experiments/results/<name>.json), on one torch thread.

Seeded: rerunning it writes the same files byte for byte (tests/unit/test_experiments_files.py
checks this on a tiny configuration, and that the shipped files describe today's defaults).

    python scripts/precompute_experiments.py            # the shipped files (about six minutes of one core)
    python scripts/precompute_experiments.py --tiny --out /tmp/x   # small configurations, for tests
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from bn_core import experiments as ex  # noqa: E402
from bn_core.data import load  # noqa: E402
from bn_core.smoothness import SmoothnessConfig  # noqa: E402
from serve.jobs import EXPERIMENTS, SHIPPED, Job, machine, run_job, to_json  # noqa: E402

TINY = {
    "sweep": ex.SweepConfig(sizes=(4, 32), norms=("batch", "weight"), epochs=1, seeds=(0,)),
    "renorm": ex.RenormConfig(settings=((2.0, 1.0),), epochs=1, seeds=(0,)),
    "lr": ex.LrConfig(lrs=(0.1, 3.0), epochs=1, seeds=(0,)),
    "smoothness": SmoothnessConfig(epochs=1, every=10, seeds=(0,)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED, help="the folder to write into")
    parser.add_argument("--tiny", action="store_true", help="small configurations (a test of the script)")
    parser.add_argument("--only", choices=tuple(EXPERIMENTS), help="one experiment")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the same arithmetic (and the same bytes) on every machine's thread count
    data = load("digits")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (config_cls, _, _) in EXPERIMENTS.items():
        if args.only and name != args.only:
            continue
        config = TINY[name] if args.tiny else config_cls()
        start = time.perf_counter()
        text = to_json(run_job(Job(name, config), data), machine())
        (args.out / f"{name}.json").write_text(text, encoding="utf-8")
        print(f"{name}: {time.perf_counter() - start:.1f} s, {len(text):,} bytes")


if __name__ == "__main__":
    main()
