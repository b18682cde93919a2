"""A trained model, looked at: its gap between train and eval mode, its weights, its predictions and their
confusion matrix."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bn_core.batchnorm import single_value_message
from bn_core.train.config import CLASSES, TrainConfig
from bn_core.train.layers import DigitNN, SeededDropout
from bn_core.train.loop import as_tensor, batches, evaluate


@dataclass(frozen=True)
class Gap:
    """The same weights on the same images in training mode and in eval mode."""

    batch_size: int
    train_accuracy: float  # training mode: each batch of ``batch_size`` normalized with its own statistics
    eval_accuracy: float  # eval mode: normalized with the running statistics
    train_loss: float
    eval_loss: float

    @property
    def accuracy_gap(self) -> float:
        return self.eval_accuracy - self.train_accuracy


def train_eval_gap(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0) -> Gap:
    """``model`` on images ``x`` (N, features) with labels ``y`` (N,), in training mode on shuffled
    batches of ``batch_size`` (a last batch of one joins the one before, as in training) against eval
    mode on all of them. Training mode is the normalization's only: dropout stays off. A copy runs,
    so the model and its running statistics are left as they were."""
    if batch_size < 2:
        raise ValueError("training mode needs batches of at least 2: " + single_value_message((1, 1)))
    x_t, y_t = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.int64))
    twin = copy.deepcopy(model).train()
    for module in twin.modules():
        if isinstance(module, SeededDropout):
            module.eval()
    order = batches(len(y_t), batch_size, torch.Generator().manual_seed(seed), merge_single=True)
    with torch.no_grad():
        logits = torch.cat([twin(x_t[idx]) for idx in order])
        targets = torch.cat([y_t[idx] for idx in order])
        train_loss = F.cross_entropy(logits, targets).item()
        train_accuracy = (logits.argmax(1) == targets).float().mean().item()
    eval_loss, eval_accuracy, _ = evaluate(copy.deepcopy(model), x_t, y_t)
    return Gap(batch_size, train_accuracy, eval_accuracy, train_loss, eval_loss)


def weights_of(model: nn.Module) -> dict[str, np.ndarray]:
    """A model's state as NumPy arrays (cheap to send between processes)."""
    return {name: value.detach().numpy().copy() for name, value in model.state_dict().items()}


def model_from(config: TrainConfig, n_inputs: int, weights: dict[str, np.ndarray]) -> DigitNN:
    model = DigitNN(n_inputs, config)
    model.load_state_dict({name: torch.from_numpy(np.asarray(value)) for name, value in weights.items()})
    return model.eval()


def probabilities(model: nn.Module, images: np.ndarray) -> np.ndarray:
    """Class probabilities for flat images (n, h*w), in eval mode."""
    model.eval()
    with torch.no_grad():
        return F.softmax(model(as_tensor(images)), dim=1).numpy()


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    """counts[i, j]: images of class i predicted as j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(truth), np.asarray(predicted)), 1)
    return counts
