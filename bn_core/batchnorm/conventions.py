"""What PyTorch and Keras 3 each mean by the same words around Batch Normalization: what "momentum"
weighs, which variance is stored, the defaults, what a call without ``training`` means, and PyTorch's refusal of
a channel with one value (``CONVENTIONS``; ``bn_core.pytorch`` and ``bn_core.keras`` hold each framework's
arithmetic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ConventionName = Literal["pytorch", "keras"]


@dataclass(frozen=True)
class Convention:
    """What one framework means by the same words.

    Attributes:
        eps: default epsilon.
        momentum: default momentum.
        momentum_weighs: ``"new"`` if momentum is the weight of the new batch
            statistic (PyTorch), ``"old"`` if it is the weight of the old
            running value (Keras).
        axis: default channel axis.
        unbiased_running_var: store the unbiased (n - 1) batch variance in the
            running estimate (PyTorch) or the biased one (Keras).
        training_by_default: mode of a call without ``training``: a fresh
            PyTorch module is in training mode; a Keras layer called directly
            runs in inference mode.
        single_value_error: raise, as PyTorch does, when a channel has one value
            or eps <= 0 while normalizing with batch statistics.
    """

    eps: float
    momentum: float
    momentum_weighs: Literal["new", "old"]
    axis: int
    unbiased_running_var: bool
    training_by_default: bool
    single_value_error: bool


CONVENTIONS: dict[str, Convention] = {
    "pytorch": Convention(
        eps=1e-5,
        momentum=0.1,
        momentum_weighs="new",
        axis=1,
        unbiased_running_var=True,
        training_by_default=True,
        single_value_error=True,
    ),
    "keras": Convention(
        eps=1e-3,
        momentum=0.99,
        momentum_weighs="old",
        axis=-1,
        unbiased_running_var=False,
        training_by_default=False,
        single_value_error=False,
    ),
}


def pytorch_to_keras_momentum(momentum: float) -> float:
    """The Keras momentum that gives the same running average as a PyTorch one."""
    return 1.0 - momentum


def single_value_message(shape: tuple[int, ...]) -> str:
    """PyTorch's own ValueError text for a channel with one value in training."""
    return f"Expected more than 1 value per channel when training, got input size torch.Size({list(shape)})"
