"""The spread behind the lessons' sentences about training: every measurement of tests/claims/measure.py
over many seeds, under both CPU kernel paths every x86 machine has (its native one and
ATEN_CPU_CAPABILITY=default) and with one and two threads. Prints, per measured value, its range in
each setting and over all of them; the lessons state these ranges and tests/claims checks them.

    python benchmarks/claims_spread.py                 # every measurement, seeds 0-9 (about 30 min here)
    python benchmarks/claims_spread.py high_lr --seeds 0-4 --json /tmp/high_lr.json
"""

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.claims.environments import ALL_SETTINGS, run_measure  # noqa: E402
from tests.claims.measure import MEASURES, seed_range  # noqa: E402


def flat(values):
    for v in values:
        if isinstance(v, list):
            yield from flat(v)
        else:
            yield v


def span(values) -> str:
    numbers = [v for v in flat(values) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    others = sorted({str(v) for v in flat(values) if v is None or isinstance(v, bool)})
    text = f"{min(numbers):.4g} .. {max(numbers):.4g}" if numbers else ""
    return ", ".join([text] * bool(text) + others)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"some of {', '.join(MEASURES)} (default: all)")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args()
    seed_range(args.seeds)  # refuses a bad range before anything trains
    unknown = set(args.names) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    args.names = args.names or list(MEASURES)
    jobs = [(name, env) for name in args.names for env in ALL_SETTINGS]
    with ThreadPoolExecutor(max_workers=2) as pool:  # one per core; the two-thread runs share them
        results = list(pool.map(lambda job: run_measure(job[0], job[1], args.seeds), jobs))
    table = {}
    for (name, env), result in zip(jobs, results, strict=True):
        table.setdefault(name, {})[env.label] = result
    for name, by_env in table.items():
        print(f"\n## {name} (seeds {args.seeds})")
        keys = next(iter(by_env.values()))["values"]
        for key in keys:
            every = [r["values"][key] for r in by_env.values()]
            cells = "  ".join(f"{label}: {span(r['values'][key])}" for label, r in by_env.items())
            print(f"{key:22s} all: {span(every):24s} {cells}")
        print("machines:", {label: r["machine"]["cpu_capability"] for label, r in by_env.items()})
    if args.json:
        args.json.write_text(json.dumps(table, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
