"""The digit classifier and its layers: the normalizations it can use (BatchNorm, Batch Renorm, LayerNorm,
GroupNorm, Weight Normalization), seeded dropout, and the seeded initialization."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from bn_core.batchnorm import single_value_message
from bn_core.train.config import CLASSES, TrainConfig
from bn_core.weightnorm import WeightNormLinear


def group_count(width: int) -> int:
    """GroupNorm's number of groups: 8 where the width allows, else the largest of 4, 2, 1 that divides it."""
    return next(g for g in (8, 4, 2, 1) if width % g == 0)


class BatchRenorm(nn.Module):
    """Batch Renormalization (Ioffe 2017) for (N, C) inputs, with fixed r_max and d_max.

    Same formulas as ``bn_core.renorm.batch_renorm``: Algorithm 1 keeps moving averages of
    the mean and of the standard deviation, mu += momentum * (mu_B - mu) and
    sigma += momentum * (sigma_B - sigma) with sigma_B = sqrt(var_B + eps) (momentum is the
    weight of the new batch, as in PyTorch), and infers with y = gamma * (x - mu) / sigma + beta.
    The buffers are ``running_mean`` and ``running_std``; ``running_var`` is the variance
    that sigma stands for (sigma² − eps), for code that reads BatchNorm's buffers."""

    def __init__(self, width: int, r_max: float = 3.0, d_max: float = 5.0, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.r_max, self.d_max, self.momentum, self.eps = r_max, d_max, momentum, eps
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))
        self.register_buffer("running_mean", torch.zeros(width))
        self.register_buffer("running_std", torch.ones(width))
        self.last_r: torch.Tensor | None = None  # (C,) the last training batch's r and d, unclipped
        self.last_d: torch.Tensor | None = None

    @property
    def running_var(self) -> torch.Tensor:
        return self.running_std.square() - self.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return (x - self.running_mean) / self.running_std * self.weight + self.bias
        if x.shape[0] < 2:
            raise ValueError(single_value_message(tuple(x.shape)))
        mean = x.mean(0)
        sigma_b = torch.sqrt(x.var(0, unbiased=False) + self.eps)
        sigma = self.running_std
        # r and d before clipping, kept for experiments that count how often the clip acts
        self.last_r, self.last_d = sigma_b.detach() / sigma, (mean.detach() - self.running_mean) / sigma
        r = self.last_r.clamp(1.0 / self.r_max, self.r_max)
        d = self.last_d.clamp(-self.d_max, self.d_max)
        x_hat = (x - mean) / sigma_b * r + d
        with torch.no_grad():
            self.running_mean.lerp_(mean, self.momentum)
            self.running_std.lerp_(sigma_b, self.momentum)
        return x_hat * self.weight + self.bias


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from a given generator (``nn.Dropout`` uses torch's global one)."""

    def __init__(self, rate: float, generator: torch.Generator):
        super().__init__()
        self.rate = rate
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator) >= self.rate
        return x * keep / (1.0 - self.rate)


class RunningStatsBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d that normalizes with its running statistics while training, too: close to the
    mistake of a model left in eval mode, or with frozen statistics, while it trains (there the
    averages do not even move; Ioffe and Szegedy, 2015, section 2, explain why it fails). Each
    training batch first updates the running averages as ``nn.BatchNorm1d`` does in training
    (momentum weighs the new batch, the unbiased variance is stored), then x is normalized with
    them as constants: the forward is ``nn.BatchNorm1d``'s in eval mode with the updated buffers,
    and no gradient flows through the statistics. In eval mode it is ``nn.BatchNorm1d``.

    Shape: (N, C) -> (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            if x.shape[0] < 2:  # the unbiased variance of one value is undefined, as in nn.BatchNorm1d
                raise ValueError(single_value_message(tuple(x.shape)))
            with torch.no_grad():  # the update of nn.BatchNorm1d's training mode, output discarded
                F.batch_norm(x, self.running_mean, self.running_var, None, None, True, self.momentum, self.eps)
                self.num_batches_tracked.add_(1)
        return frozen_batch_norm(self, x)


def frozen_batch_norm(norm: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:  # (N, C) -> (N, C)
    """``norm`` normalizing ``x`` with its running statistics, held constant (eval mode's forward)."""
    return F.batch_norm(x, norm.running_mean, norm.running_var, norm.weight, norm.bias, training=False, eps=norm.eps)


def norm_layer(norm: str, width: int, bn_stats: str = "batch") -> nn.Module:
    return {
        "none": nn.Identity,
        "batch": lambda: RunningStatsBatchNorm(width) if bn_stats == "running" else nn.BatchNorm1d(width),
        "layer": lambda: nn.LayerNorm(width),
        "group": lambda: nn.GroupNorm(group_count(width), width),
        "renorm": lambda: BatchRenorm(width),
        "weight": nn.Identity,  # the Linear before it is a WeightNormLinear (see HiddenBlock)
    }[norm]()


ACTIVATION_FUNCTIONS = {"relu": F.relu, "sigmoid": torch.sigmoid}


class HiddenBlock(nn.Module):
    """Linear → [norm] → activation → [norm] → dropout; the norm sits on one side of the activation."""

    def __init__(self, n_in: int, width: int, config: TrainConfig, generator: torch.Generator):
        super().__init__()
        linear = WeightNormLinear if config.norm == "weight" else nn.Linear
        self.linear = nn.utils.skip_init(linear, n_in, width, bias=config.linear_bias)  # initialized by DigitNN
        self.norm = norm_layer(config.norm, width, config.bn_stats)
        self.act = ACTIVATION_FUNCTIONS[config.activation]
        self.before = config.placement == "before"
        self.dropout = SeededDropout(config.dropout, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        h = self.act(self.norm(z)) if self.before else self.norm(self.act(z))
        return self.dropout(h)

    def stages(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(entering the norm, leaving it, the block's output without dropout) for a probe batch,
        with the normalization as it works while training (batch statistics), but without
        updating any running statistics."""
        z = self.linear(x)
        pre = z if self.before else self.act(z)
        post = normalize_as_training(self.norm, pre)
        return pre, post, self.act(post) if self.before else post


def normalize_as_training(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:  # (N, C) -> (N, C)
    """What ``norm`` does to ``x`` in training mode, its running statistics untouched. Batch Renorm
    is shown as BatchNorm (r = 1, d = 0): its correction depends on the running statistics."""
    if isinstance(norm, RunningStatsBatchNorm):
        return frozen_batch_norm(norm, x)
    if isinstance(norm, nn.BatchNorm1d | BatchRenorm):
        return F.batch_norm(x, None, None, norm.weight, norm.bias, training=True, eps=norm.eps)
    return norm(x)


class DigitNN(nn.Module):
    """The lesson's model: ``config.widths`` hidden blocks, then Linear(last width → 10)."""

    def __init__(self, n_inputs: int, config: TrainConfig, generator: torch.Generator | None = None):
        super().__init__()
        generator = generator if generator is not None else torch.Generator().manual_seed(config.seed)
        blocks, n_in = [], n_inputs
        for width in config.widths:
            blocks.append(HiddenBlock(n_in, width, config, generator))
            n_in = width
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.utils.skip_init(nn.Linear, n_in, CLASSES)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                init_linear(module, generator, config.init_std)
            if isinstance(module, WeightNormLinear):
                module.reset_g()  # w = v at the start: the same function as the twin without normalization

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.out(x)


def init_linear(layer: nn.Linear, generator: torch.Generator, std: float = 0.0) -> None:
    """PyTorch's default initialization of a Linear layer (``std`` = 0), or Gaussian weights
    N(0, std²) with zero biases, drawn from ``generator``. A bias is drawn even where the
    layer has none, so that a network and its twin without normalization (which keeps its
    biases) draw the same weights."""
    bound = 1.0 / math.sqrt(layer.in_features)
    if std > 0:
        nn.init.normal_(layer.weight, 0.0, std, generator=generator)
    else:
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    bias = torch.empty(layer.out_features).uniform_(-bound, bound, generator=generator)
    if layer.bias is not None:
        with torch.no_grad():
            layer.bias.copy_(torch.zeros_like(bias) if std > 0 else bias)
