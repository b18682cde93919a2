"""Server-side time of one `bn-lab` rerun per section, under AppTest (frame + page), after a
change of a control that section shows. Only the chosen section computes, so the
batch-statistics section should cost about as little as the puzzle; the running-statistics
section pays for its (cached) history on a new setting.

    python benchmarks/bn_lab_sections.py
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = 15
# case -> (URL settings, widget key moved, its value at the i-th rerun)
CASES = {
    "stats": ({}, "bnlab.gamma", lambda i: (0.5, 1.5)[i % 2]),
    "running": ({"section": "running"}, "bnlab.k", lambda i: 40 + i),  # a new k each time: the history is fed again
    "running-keras": ({"section": "running", "conv": "keras", "momentum": "0.9"}, "bnlab.k", lambda i: 40 + i),
    "one": ({"section": "one", "n": "1"}, "bnlab.c", lambda i: (2, 3)[i % 2]),
    "eps": ({"section": "eps", "dist": "constant", "conv": "keras"}, "bnlab.eps", lambda i: (0.0, 0.001)[i % 2]),
}


def main() -> None:
    from tests.app.helpers import open_page

    for name, (params, key, value) in CASES.items():
        at = open_page("lessons/bn_lab/bn-lab.py", "en", **params)
        times = []
        for i in range(RUNS):
            widget = next(w for kind in ("slider", "select_slider") for w in at.get(kind) if w.key == key)
            widget.set_value(value(i))
            start = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - start) * 1000)
            assert not at.exception, at.exception
        print(f"{name:14s} p50 {statistics.median(times):7.1f} ms   max {max(times):7.1f} ms   ({RUNS} reruns)")


if __name__ == "__main__":
    main()
