"""Weight Normalization (Salimans and Kingma, 2016) for a Linear layer.

Each output unit's weight vector is written as a length times a direction,

    w_j = g_j * v_j / ||v_j||

and gradient descent learns ``g`` (out,) and ``v`` (out, in) instead of ``w``. Unlike
BatchNorm it looks at no batch: a sample's output does not depend on the rest of its
batch, and training and inference compute the same function, at any batch size.

This is the reparametrization ``torch.nn.utils.parametrizations.weight_norm(layer, dim=0)``
applies (its ``original0`` is g, ``original1`` is v); it is written out here so the formula
is on the page. The layer starts with g = ||v||, so that w equals the initial weight drawn
for v (torch's wrapper does the same).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class WeightNormLinear(nn.Linear):
    """A Linear layer whose ``weight`` parameter is the direction v; ``g`` holds each row's length."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.g = nn.Parameter(torch.ones(out_features, device=device, dtype=dtype))

    def reset_g(self) -> None:
        """g = ||v|| row by row: the effective weight becomes v itself (call after drawing v)."""
        with torch.no_grad():
            self.g.copy_(self.weight.norm(dim=1))

    def effective_weight(self) -> torch.Tensor:  # (out, in)
        return self.g[:, None] * self.weight / self.weight.norm(dim=1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, in) -> (N, out)
        return F.linear(x, self.effective_weight(), self.bias)
