"""BN Lab's teaching engine: Batch Normalization and its relatives in NumPy.

No Streamlit, no Plotly: usable from a notebook.

    >>> import numpy as np
    >>> from bn_core import BatchNorm
    >>> bn = BatchNorm(3)                       # PyTorch semantics
    >>> y = bn(np.random.default_rng(0).normal(size=(8, 3)), training=True)
"""

from bn_core.batchnorm import CONVENTIONS, BatchNorm, Convention, batch_stats, reduced_axes
from bn_core.norms import group_norm, instance_norm, layer_norm, shared_statistics
from bn_core.renorm import batch_renorm

__all__ = [
    "CONVENTIONS",
    "BatchNorm",
    "Convention",
    "batch_renorm",
    "batch_stats",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "reduced_axes",
    "shared_statistics",
]
