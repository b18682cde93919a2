"""The facts the `axes` section states, checked against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core import BatchNorm, instance_norm, reduced_axes, shared_statistics
from bn_core.norms import NORM_KINDS, values_per_statistic

SHAPES = [(4, 6, 3, 5), (1, 6, 3, 5), (4, 6), (1, 6), (1, 2, 3, 4, 5)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", NORM_KINDS)
def test_values_per_statistic_counts_the_cells_that_share_an_id(kind, shape):
    groups = 2
    ids = shared_statistics(kind, shape[0], shape[1], groups)
    spatial = int(np.prod(shape[2:]))
    counts = np.bincount(ids.ravel()) * spatial
    assert set(counts) == {values_per_statistic(kind, shape, groups)}


def torch_norm(kind, x):
    xt = torch.from_numpy(x)
    return {
        "batch": lambda: F.batch_norm(xt, None, None, training=True),
        "layer": lambda: F.layer_norm(xt, x.shape[1:]),
        "instance": lambda: F.instance_norm(xt),
        "group": lambda: F.group_norm(xt, 2),
    }[kind]()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", NORM_KINDS)
def test_one_value_per_statistic_is_exactly_when_torch_refuses_or_outputs_zero(kind, shape):
    x = np.random.default_rng(0).normal(size=shape)
    single = values_per_statistic(kind, shape, 2) == 1
    try:
        y = torch_norm(kind, x).numpy()
    except ValueError:
        assert single, "torch refused a shape with more than one value per statistic"
        return
    assert np.allclose(y, 0.0) == single


def test_batch_of_one_image_works_and_is_instance_norm_while_a_batch_of_one_vector_fails():
    x = np.random.default_rng(1).normal(size=(1, 3, 4, 4))
    np.testing.assert_allclose(BatchNorm(3)(x, training=True), instance_norm(x), atol=1e-12)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(torch.zeros(1, 3), None, None, training=True)


def test_volume_batch_of_one_normalizes_over_depth_height_width():
    x = np.random.default_rng(2).normal(size=(1, 2, 3, 4, 5))
    layer = torch.nn.BatchNorm3d(2, dtype=torch.float64)
    np.testing.assert_allclose(BatchNorm(2)(x, training=True), layer(torch.from_numpy(x)).detach().numpy(), atol=1e-10)
    assert values_per_statistic("batch", x.shape) == 3 * 4 * 5


def test_keras_axis_last_on_channels_last_equals_pytorch_dim_one_on_channels_first():
    x = np.random.default_rng(3).normal(size=(4, 3, 5, 6))  # (N, C, H, W)
    theirs = torch.nn.BatchNorm2d(3, eps=1e-3, dtype=torch.float64)(torch.from_numpy(x)).detach().numpy()
    keras = BatchNorm(3, convention="keras")(x.transpose(0, 2, 3, 1).copy(), training=True)  # (N, H, W, C)
    np.testing.assert_allclose(keras.transpose(0, 3, 1, 2), theirs, atol=1e-6)
    assert reduced_axes(4, -1) == (0, 1, 2) and reduced_axes(4, 1) == (0, 2, 3)


def test_keras_axis_last_on_channels_first_data_takes_width_for_channels():
    x = np.random.default_rng(4).normal(size=(4, 3, 5, 6))
    with pytest.raises(ValueError, match="expected 3 channels"):
        BatchNorm(3, convention="keras")(x, training=True)
    y = BatchNorm(6, convention="keras")(x, training=True)  # what a layer built on this input learns
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-6)  # one mean per column of W (Keras: float32)
    assert np.abs(y.mean(axis=(0, 2, 3))).max() > 1e-3  # not per channel
