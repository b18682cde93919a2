import re

import numpy as np
import pytest
import torch

from bn_core import BatchNorm
from bn_core.batches import SOURCES, population_stats, sample_batch
from bn_core.running import settles_at, trace_running_stats


@pytest.mark.parametrize("source", SOURCES)
def test_samples_match_population_stats(source):
    rng = np.random.default_rng(0)
    x = sample_batch((200_000, 3), source, 1.0, 2.0, rng)
    mean, var = population_stats(3, source, 1.0, 2.0)
    np.testing.assert_allclose(x.mean(axis=0), mean, atol=5 * np.sqrt(var.max() / 200_000) + 1e-12)
    np.testing.assert_allclose(x.var(axis=0), var, rtol=0.03, atol=1e-12)


def test_sources_have_their_shapes():
    rng = np.random.default_rng(1)
    relu = sample_batch((10_000, 1), "relu", 0.0, 1.0, rng)
    assert 0.45 < np.mean(relu == 0) < 0.55
    skewed = sample_batch((100_000, 1), "lognormal", 0.0, 1.0, rng)
    assert np.mean(skewed > 0) < 0.45  # mean above the median
    assert np.all(sample_batch((5, 2, 3, 3), "constant", 2.0, 1.0, rng)[:, 1] == 3.0)


def test_trace_matches_torch_running_buffers():
    rng = np.random.default_rng(2)
    batches = [sample_batch((16, 3, 2, 2), "normal", 1.0, 2.0, rng) for _ in range(30)]
    trace = trace_running_stats(BatchNorm(3, momentum=0.2), batches)
    module = torch.nn.BatchNorm2d(3, momentum=0.2).double()
    for x in batches:
        module(torch.from_numpy(x))
    np.testing.assert_allclose(trace.running_mean[-1], module.running_mean.numpy(), atol=1e-10)
    np.testing.assert_allclose(trace.running_var[-1], module.running_var.numpy(), atol=1e-10)
    assert trace.running_mean.shape == (31, 3) and trace.gap.shape == (30,)


@pytest.mark.parametrize(
    "convention, momentum, shape",
    [("pytorch", 0.1, (16, 3)), ("pytorch", None, (4, 2, 3, 3)), ("keras", 0.9, (8, 3)), ("keras", 0.0, (2, 4))],
)
def test_the_trace_is_what_a_layer_called_in_training_then_eval_mode_gives(convention, momentum, shape):
    # the trace does the layer's bookkeeping without computing its outputs; it must agree with the calls
    rng = np.random.default_rng(7)
    batches = [sample_batch(shape, "lognormal", 1.0, 2.0, rng).astype(np.float32) for _ in range(40)]
    axis = 1 if convention == "pytorch" else -1
    layer = BatchNorm(shape[axis], convention=convention, momentum=momentum, axis=axis)
    trace = trace_running_stats(layer, batches)
    called = BatchNorm(shape[axis], convention=convention, momentum=momentum, axis=axis)
    gaps = []
    for i, x in enumerate(batches):
        y_train, y_eval = called(x, training=True), called(x, training=False)
        np.testing.assert_array_equal(trace.running_mean[i + 1], called.running_mean)  # the same arithmetic
        np.testing.assert_array_equal(trace.running_var[i + 1], called.running_var)
        gaps.append(np.mean(np.abs(y_train.astype(np.float64) - y_eval)))
    # the outputs are rounded to float32, the trace's gap is not
    np.testing.assert_allclose(trace.gap, gaps, rtol=1e-5, atol=1e-6)
    assert layer.num_batches_tracked == called.num_batches_tracked == 40


@pytest.mark.parametrize(
    "make, x",
    [
        (lambda: BatchNorm(3), np.ones((1, 3), np.float32)),  # one value per channel in training
        (lambda: BatchNorm(3, eps=0.0), np.arange(6, dtype=np.float32).reshape(2, 3)),
        (lambda: BatchNorm(3), np.arange(6).reshape(2, 3)),  # integers
        (lambda: BatchNorm(1), np.zeros((8, 3), np.float32)),  # three channels for a layer of one
    ],
)
def test_the_trace_refuses_what_the_layer_refuses(make, x):
    with pytest.raises((ValueError, TypeError)) as called:
        make()(x, training=True)
    with pytest.raises(called.type, match=re.escape(str(called.value))):
        trace_running_stats(make(), [x])


def test_running_stats_converge_and_the_gap_shrinks():
    rng = np.random.default_rng(3)
    batches = [sample_batch((64, 2), "normal", 3.0, 2.0, rng) for _ in range(200)]
    trace = trace_running_stats(BatchNorm(2, momentum=0.1), batches)
    mean, var = population_stats(2, "normal", 3.0, 2.0)
    np.testing.assert_allclose(trace.running_mean[-1], mean, rtol=0.1)
    np.testing.assert_allclose(trace.running_var[-1], var, rtol=0.25)
    assert trace.gap[-20:].mean() < 0.2 * trace.gap[0]


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 3, 8])
@pytest.mark.parametrize("convention", ["pytorch", "keras"])
def test_running_variance_settles_where_settles_at_says(convention, n):
    # Over many batches the running variance wanders around its expectation: the population's for
    # PyTorch (unbiased), (n - 1) / n of it for Keras (biased): 1.125, not 2.25, at n = 2.
    rng = np.random.default_rng(n)
    momentum = 0.05 if convention == "pytorch" else 0.95
    layer = BatchNorm(1, convention=convention, momentum=momentum, axis=1)
    trace = trace_running_stats(layer, (sample_batch((n, 1), "normal", 1.0, 1.5, rng) for _ in range(6000)))
    pop_mean, pop_var = population_stats(1, "normal", 1.0, 1.5)
    mean, var = settles_at(pop_mean, pop_var, n, convention)
    settled = trace.running_var[1000:, 0].mean()  # after the start-up from 1
    assert settled == pytest.approx(var[0], rel=0.06)
    assert trace.running_mean[1000:, 0].mean() == pytest.approx(mean[0], abs=0.08)
    if convention == "keras":
        assert abs(settled - pop_var[0]) > 0.1 * pop_var[0]  # not the population's
