import numpy as np
import pytest

from bn_core import BatchNorm
from bn_core.histogram import histogram, mapped_histogram


@pytest.mark.parametrize("gamma", [1.5, -0.7])
@pytest.mark.parametrize("convention", ["pytorch", "keras"])
def test_output_binned_through_the_layers_map_has_the_inputs_shape(convention, gamma):
    rng = np.random.default_rng(0)
    x = rng.lognormal(0.0, 0.8, size=(500, 2)).astype(np.float32)
    layer = BatchNorm(2, convention=convention, axis=1)
    layer.gamma, layer.beta = np.array([gamma, 1.0]), np.array([0.3, 0.0])
    y = layer(x, training=True)
    before = histogram(x[:, 0], bins=40)
    scale, shift = layer.affine_map(x, training=True)
    after = mapped_histogram(y[:, 0], before, scale[0], shift[0])
    expected = before.counts if gamma > 0 else before.counts[::-1]
    np.testing.assert_array_equal(after.counts, expected)  # same shape, bin for bin
    assert after.edges[0] <= y[:, 0].min() and y[:, 0].max() <= after.edges[-1]  # the axis covers the data
    assert after.counts.sum() == pytest.approx(1.0)


def test_separate_binning_would_draw_a_different_shape():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 1.5, size=(32, 1))
    y = BatchNorm(1)(x, training=True)
    before = histogram(x[:, 0], bins=12, value_range=(-4.0, 8.0))
    own = histogram(y[:, 0], bins=12, value_range=(-4.0, 8.0))
    assert not np.array_equal(own.counts, before.counts)


def test_no_mapped_bins_without_a_finite_scale():
    before = histogram(np.zeros(4), bins=4)
    assert mapped_histogram(np.zeros(4), before, float("inf"), 0.0) is None
    assert mapped_histogram(np.zeros(4), before, 0.0, 1.0) is None


@pytest.mark.parametrize("value, bins", [(0.0, 8), (0.0, 9), (-2.5, 12), (3.0, 1)])
def test_a_constant_sample_is_one_narrow_bar_centred_on_its_value(value, bins):
    # Keras at batch size 1 returns beta = 0 for every example: a bar from 0 to 1 would say "between 0 and 1"
    hist = histogram(np.full(5, value), bins=bins)
    full = np.flatnonzero(hist.counts)
    assert hist.counts[full].tolist() == [1.0]
    lo, hi = hist.edges[full[0]], hist.edges[full[0] + 1]
    assert (lo + hi) / 2 == pytest.approx(value) and hi - lo <= 1.0
