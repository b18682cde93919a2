"""Imported once, by the runner's forkserver only (runner.PRELOAD): one short training
run per optimizer, so that every worker forked from the forkserver starts with torch's
lazy set-up already done. Without it each run's first epoch took ~12 ms longer than the
others (measured: 31 ms against 18 ms), 3 % of a default 20-epoch run.

One torch thread first: a forked child must not inherit a started OpenMP thread pool.
"""

import torch

from bn_core.data import load
from bn_core.train import OPTIMIZERS, TrainConfig, train

torch.set_num_threads(1)
_digits = load("digits")
for _optimizer in OPTIMIZERS:
    train(TrainConfig(epochs=1, optimizer=_optimizer), data=_digits)
del _digits, _optimizer
