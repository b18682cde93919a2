import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core import BatchNorm, group_norm, instance_norm, layer_norm, shared_statistics
from bn_core.norms import norm_reduced_axes


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(1.0, 2.0, size=(4, 6, 3, 5))


def test_layer_norm(x):
    rng = np.random.default_rng(1)
    gamma, beta = rng.normal(size=x.shape[1:]), rng.normal(size=x.shape[1:])
    expected = F.layer_norm(torch.from_numpy(x), x.shape[1:], torch.from_numpy(gamma), torch.from_numpy(beta))
    np.testing.assert_allclose(layer_norm(x, 3, gamma, beta), expected.numpy(), atol=1e-10)


def test_instance_norm(x):
    gamma = np.random.default_rng(2).normal(size=6)
    expected = F.instance_norm(torch.from_numpy(x), weight=torch.from_numpy(gamma))
    np.testing.assert_allclose(instance_norm(x, gamma), expected.numpy(), atol=1e-10)


@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_group_norm(x, groups):
    rng = np.random.default_rng(groups)
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    expected = F.group_norm(torch.from_numpy(x), groups, torch.from_numpy(gamma), torch.from_numpy(beta))
    np.testing.assert_allclose(group_norm(x, groups, gamma, beta), expected.numpy(), atol=1e-10)


def test_float32_within_tolerance(x):
    x32 = x.astype(np.float32)
    expected = F.group_norm(torch.from_numpy(x32), 2)
    out = group_norm(x32, 2)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected.numpy(), atol=1e-5)


def test_group_norm_extremes_are_layer_and_instance_norm(x):
    np.testing.assert_allclose(group_norm(x, 1), layer_norm(x, 3), atol=1e-12)
    np.testing.assert_allclose(group_norm(x, 6), instance_norm(x), atol=1e-12)


@pytest.mark.parametrize("kind", ["batch", "layer", "instance", "group"])
def test_shared_statistics_describe_what_each_forward_pass_does(kind, x):
    """Normalizing each id's cells together reproduces the forward pass."""
    groups = 3
    n, c = x.shape[:2]
    ids = shared_statistics(kind, n, c, groups)
    manual = np.empty_like(x)
    for i in np.unique(ids):
        cells = x[ids == i]  # (cells, H, W)
        manual[ids == i] = (cells - cells.mean()) / np.sqrt(cells.var() + 1e-5)
    reference = {
        "batch": lambda: BatchNorm(c)(x, training=True),
        "layer": lambda: layer_norm(x, 3),
        "instance": lambda: instance_norm(x),
        "group": lambda: group_norm(x, groups),
    }[kind]()
    np.testing.assert_allclose(manual, reference, atol=1e-10)


def test_reduced_axes_tables():
    assert norm_reduced_axes("batch", 4) == (0, 2, 3)
    assert norm_reduced_axes("layer", 4) == (1, 2, 3)
    assert norm_reduced_axes("instance", 5) == (2, 3, 4)
    with pytest.raises(ValueError):
        shared_statistics("group", 2, 6, 4)
