"""The experiments by name: a ``Job`` a worker process can run (``serve.runner``), and their
results as compact, reproducible JSON (the files the `experiments` lesson ships).

    job = Job("lr", LrConfig(lrs=(0.1, 1.0)))
    result = run_job(job)                 # an LrResult
    text = to_json(result)                # the same text for the same configuration, byte for byte
    again = from_json("lr", text)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from bn_core.data import Dataset
from bn_core.experiments import (
    LrConfig,
    LrResult,
    RenormConfig,
    RenormResult,
    SweepConfig,
    SweepResult,
    batch_size_sweep,
    config_from,
    config_hash,
    lr_robustness,
    renorm_trace,
    total_steps,
)
from bn_core.smoothness import SmoothnessConfig, SmoothnessResult, smoothness

# name -> (configuration class, experiment function, result class)
EXPERIMENTS = {
    "sweep": (SweepConfig, batch_size_sweep, SweepResult),
    "renorm": (RenormConfig, renorm_trace, RenormResult),
    "lr": (LrConfig, lr_robustness, LrResult),
    "smoothness": (SmoothnessConfig, smoothness, SmoothnessResult),
}
DIGITS = 6  # significant digits kept in the JSON files
# Where the `experiments` lesson's precomputed results ship, one <name>.json per experiment
# (written by scripts/precompute_experiments.py from each experiment's default configuration).
SHIPPED = Path(__file__).resolve().parent.parent / "lessons" / "experiments" / "results"


@dataclass(frozen=True)
class Job:
    """An experiment to run in a worker: its name and configuration."""

    name: str
    config: object

    @property
    def dataset(self) -> str:
        return getattr(self.config, "dataset", "digits")

    def problems(self) -> list[str]:
        if self.name not in EXPERIMENTS or not isinstance(self.config, EXPERIMENTS[self.name][0]):
            return ["bad_experiment"]
        return self.config.problems()

    def steps(self, n_train: int) -> int:
        return total_steps(self.config, n_train)


def run_job(
    job: Job,
    data: Dataset | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
):
    """The job's result; raises ``bn_core.experiments.Stopped`` if ``should_stop`` said so."""
    problems = job.problems()
    if problems:
        raise ValueError(f"cannot run this experiment: {', '.join(problems)}")
    function = EXPERIMENTS[job.name][1]
    return function(job.config, data, should_stop=should_stop, on_progress=on_progress)


def _rounded(value):
    if isinstance(value, float):
        return None if not math.isfinite(value) else float(f"{value:.{DIGITS}g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def machine() -> dict:
    """What the numbers of a run depend on besides its configuration: torch's version, the CPU kernels
    torch picked on this processor, its thread count and the processor (the same on the same kind of
    machine with the same torch; another processor may pick other kernels, which round differently)."""
    import platform

    import torch

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    return {
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "cpu": model,
    }


def to_json(result, computed_on: dict | None = None) -> str:
    """A result as compact JSON: its configuration, that configuration's hash, its numbers
    (``DIGITS`` significant digits; nan and inf as null) and, if given, the machine (``machine()``)."""
    body = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "config"}
    document = {
        "config_hash": config_hash(result.config),
        "config": asdict(result.config),
        "result": _rounded(body),
    }
    if computed_on is not None:
        document["machine"] = computed_on
    return json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"


def _nan(value):
    if value is None:
        return math.nan
    if isinstance(value, dict):
        return {k: _nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan(v) for v in value]
    return value


def from_json(name: str, text: str):
    """A result from ``to_json``'s text (null back to nan)."""
    config_cls, _, result_cls = EXPERIMENTS[name]
    document = json.loads(text)
    config = config_from(config_cls, document["config"])
    return result_cls(config=config, **_nan(document["result"]))


def stored_hash(text: str) -> str:
    return json.loads(text)["config_hash"]


def stored_machine(text: str) -> dict | None:
    """The machine a results file was computed on (``machine()``), if it says."""
    return json.loads(text).get("machine")
