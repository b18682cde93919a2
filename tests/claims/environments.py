"""The CPU settings a claim must hold under: the kernel path torch picks on this processor and the
one every x86 processor has (``ATEN_CPU_CAPABILITY=default``), each with one and with two threads.
The app's workers train on one thread; a notebook uses every core."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Environment:
    kernels: str  # "native" or "default"
    threads: int
    seeds: str = "0-4"  # the seeds tests/claims checks under this setting (benchmarks/claims_spread.py: any)

    @property
    def label(self) -> str:
        return f"{self.kernels}/{self.threads}t"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS")}
        if self.kernels == "default":
            env["ATEN_CPU_CAPABILITY"] = "default"
        # OpenMP's threads wait for each other by spinning: with other processes on the same cores (the rest of the
        # suite, the other measurement) a two-thread run took minutes instead of seconds. Sleeping instead of
        # spinning changes the waiting, not the arithmetic.
        env["OMP_WAIT_POLICY"] = "PASSIVE"
        return env


# With two threads these small networks train 2-3.5 times slower than with one (Figure 1's pair over five seeds:
# 29 s on one thread, 101 s on two with the default kernels), and the whole suite must stay under 30 minutes on two
# cores: the suite checks every claim with seed 0 in the server's setting (native kernels, one thread) and in the
# opposite one (default kernels, two threads), so both kernel paths and both thread counts;
# benchmarks/claims_spread.py measures seeds 0-9 under all four settings, and the margins come from it.
ALL_SETTINGS = tuple(Environment(k, n) for k in ("native", "default") for n in (1, 2))
ENVIRONMENTS = (Environment("native", 1, "0-0"), Environment("default", 2, "0-0"))


def run_measure(name: str, environment: Environment, seeds: str | None = None) -> dict:
    """One measurement (tests/claims/measure.py) in a fresh interpreter under ``environment``, for ``seeds``
    (default: the environment's)."""
    command = [sys.executable, "-m", "tests.claims.measure", name, "--seeds", seeds or environment.seeds]
    command += ["--threads", str(environment.threads)]
    done = subprocess.run(command, cwd=ROOT, env=environment.env(), capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{name} under {environment.label} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)
