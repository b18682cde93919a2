"""The keras convention against Keras 3's documented BatchNormalization formulas.

Keras is not installed here; its documented behaviour (keras.io, BatchNormalization) and
its torch backend (keras/src/backend/torch/nn.py: moments, batch_normalization):
- training: normalize with the batch mean and the biased variance, computed as
  mean(x²) − mean(x)², then moving_mean = moving_mean * momentum + mean * (1 - momentum),
  same for the variance;
- inference (a direct call without training=True): (x - moving_mean) * rsqrt(moving_var + epsilon) * gamma + beta;
- defaults momentum 0.99, epsilon 1e-3, axis -1, moving statistics start at 0 and 1;
- the layer computes in float32 whatever its dtype policy (a float64 layer casts its output back).
The reference below writes those formulas with torch ops, in float32 as Keras runs them;
tests/unit/test_keras_real.py checks the engine against Keras itself.
"""

import numpy as np
import pytest
import torch

from bn_core import BatchNorm
from bn_core.keras import tf_batch_normalization


def keras_reference(x, gamma, beta, eps, training, moving=(0.0, 1.0), dtype=torch.float32):
    """Keras 3's documented BatchNormalization output for channels-last x (N, C), written with torch ops."""
    t = torch.as_tensor(np.asarray(x)).to(dtype)
    if training:
        mean = t.mean(0)
        var = (t * t).mean(0) - mean * mean
    else:
        mean = torch.full(t.shape[1:], moving[0], dtype=dtype)
        var = torch.full(t.shape[1:], moving[1], dtype=dtype)
    gamma_t, beta_t = torch.as_tensor(gamma).to(dtype), torch.as_tensor(beta).to(dtype)
    return ((t - mean) * (torch.rsqrt(var + eps) * gamma_t) + beta_t).numpy()


def test_keras_puzzle_direct_call_is_inference_with_fresh_statistics():
    # A user's report: tf.keras.layers.BatchNormalization()(x) turned -0.22630838 into -0.22619529
    # (TensorFlow). Keras 3 on the torch backend prints -0.2261953: one float32 ulp apart.
    x = np.array([-0.22630838], dtype=np.float32)
    y = BatchNorm(1, convention="keras")(x)
    assert y.dtype == np.float32
    assert y[0] == keras_reference(x[None], [1.0], [0.0], 1e-3, training=False)[0, 0]
    assert str(y[0]) == "-0.2261953"
    tf = tf_batch_normalization(x, np.zeros(1), np.ones(1), np.ones(1), np.zeros(1), 1e-3)
    assert str(tf[0]) == "-0.22619529"
    assert abs(float(y[0]) - float(tf[0])) == np.spacing(np.float32(0.22619529))
    # both are within an ulp of the exact quotient: the digits come from float32 arithmetic
    assert abs(float(y[0]) - float(x[0]) / np.sqrt(1.001)) < 1e-7


def test_a_float64_input_is_computed_in_float32_and_a_float64_layer_only_casts_the_output():
    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 2.0, size=(16, 4))  # float64
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    for training in (True, False):
        bn = BatchNorm(4, convention="keras")
        bn.gamma, bn.beta = gamma, beta
        y = bn(x, training=training)
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y, keras_reference(x, gamma, beta, 1e-3, training))
        wide = BatchNorm(4, convention="keras", dtype="float64")
        wide.gamma, wide.beta = gamma, beta
        y64 = wide(x, training=training)
        assert y64.dtype == np.float64
        np.testing.assert_array_equal(y64, y.astype(np.float64))  # Keras 3.15: computed in float32, then cast


def test_moving_statistics_are_updated_in_float32():
    rng = np.random.default_rng(8)
    bn = BatchNorm(3, convention="keras", momentum=0.9)
    mean, var = torch.zeros(3), torch.ones(3)
    for _ in range(20):
        x = rng.normal(1.0, 3.0, size=(5, 3))
        bn(x, training=True)
        t = torch.as_tensor(x).float()
        batch_mean = t.mean(0)
        mean = mean * 0.9 + batch_mean * (1 - 0.9)
        var = var * 0.9 + ((t * t).mean(0) - batch_mean * batch_mean) * (1 - 0.9)
    np.testing.assert_array_equal(bn.running_mean, mean.numpy())
    np.testing.assert_array_equal(bn.running_var, var.numpy())


def test_training_uses_batch_stats_and_updates_moving_stats_with_old_weight():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(16, 4))
    bn = BatchNorm(4, convention="keras", dtype="float64")
    y = bn(x, training=True)
    mean, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), atol=1e-5)  # float32 arithmetic
    np.testing.assert_allclose(bn.running_mean, 0.99 * 0.0 + 0.01 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, 0.99 * 1.0 + 0.01 * var, rtol=1e-5)  # biased


def test_keras_momentum_m_equals_pytorch_momentum_one_minus_m():
    rng = np.random.default_rng(2)
    keras = BatchNorm(3, convention="keras", momentum=0.8, axis=1, eps=1e-5, dtype="float64")
    torch_like = BatchNorm(3, convention="pytorch", momentum=0.2)
    for _ in range(5):
        x = rng.normal(1.0, 2.0, size=(10, 3))
        keras(x, training=True), torch_like(x, training=True)
    np.testing.assert_allclose(keras.running_mean, torch_like.running_mean, rtol=1e-5)  # Keras in float32
    # the variances differ only by PyTorch's n / (n - 1) correction, so not equal
    assert not np.allclose(keras.running_var, torch_like.running_var)


@pytest.mark.parametrize("shape", [(1, 3), (1,)])
def test_batch_of_one_in_training_returns_beta_without_error(shape):
    bn = BatchNorm(shape[-1], convention="keras")
    bn.beta = np.linspace(-1.0, 1.0, shape[-1])
    y = bn(np.full(shape, 7.0), training=True)
    np.testing.assert_array_equal(y, np.broadcast_to(bn.beta, shape))


def test_channels_last_image_batch():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 3, 5))  # (N, H, W, C)
    y = BatchNorm(5, convention="keras", dtype="float64")(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), x.var(axis=(0, 1, 2)) / (x.var(axis=(0, 1, 2)) + 1e-3), rtol=1e-5)


def test_keras_rejects_cumulative_momentum():
    with pytest.raises(ValueError):
        BatchNorm(2, convention="keras", momentum=None)


def constant_grid():
    """Every constant channel value the bn-lab sliders reach: channel c holds mean + c, mean in -5..5 by 0.1."""
    means = np.round(np.arange(-50, 51) / 10, 1)
    return np.unique(np.float32(means[:, None] + np.arange(8)[None, :]))


@pytest.mark.slow
def test_eps_zero_on_every_constant_channel_matches_kerass_float32_arithmetic():
    from bn_core.batches import BATCH_SIZES, sample_batch

    seen = set()
    for n in BATCH_SIZES:
        for mean in np.round(np.arange(-50, 51) / 10, 1):
            x = sample_batch((n, 8), "constant", float(mean), 1.5, None).astype(np.float32)  # as the page draws it
            y = BatchNorm(8, convention="keras", eps=0.0, axis=1)(x, training=True)
            t = torch.from_numpy(x)
            mu = t.mean(0)
            var = (t * t).mean(0) - mu * mu
            want = ((t - mu) * torch.rsqrt(var)).numpy()
            np.testing.assert_array_equal(y, want)  # NaN where Keras gives NaN, the same value elsewhere
            for v, out in zip(var.numpy(), want[0], strict=True):
                seen.add(outcome(v, out))
    # the lesson's sentence: "NaN, ±∞, 0 or a tiny number made of rounding errors", and each of them happens
    assert seen == {"negative variance", "0/0", "inf", "zero", "tiny"}


def outcome(var: float, y: float) -> str:
    if var < 0:
        assert np.isnan(y)
        return "negative variance"
    if np.isnan(y):
        return "0/0"
    if np.isinf(y):
        return "inf"
    assert abs(y) < 1e-2, y
    return "zero" if y == 0 else "tiny"


def test_eps_zero_on_every_constant_channel_is_refused_by_pytorch_in_training_and_finite_in_eval():
    from bn_core.batches import BATCH_SIZES

    values = constant_grid()
    for n in BATCH_SIZES[1:]:
        x = np.repeat(values[None, :], n, axis=0)
        module = torch.nn.BatchNorm1d(len(values), eps=0.0)
        with pytest.raises(ValueError) as theirs:
            module(torch.from_numpy(x))
        with pytest.raises(ValueError) as ours:
            BatchNorm(len(values), eps=0.0)(x, training=True)
        assert str(ours.value) == str(theirs.value)
        module.eval()
        ours_eval = BatchNorm(len(values), eps=0.0)(x, training=False)
        np.testing.assert_allclose(ours_eval, module(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)


def test_backward_of_a_float64_keras_layer_matches_autograd():
    rng = np.random.default_rng(9)
    x = rng.normal(1.0, 2.0, size=(6, 3))
    dy = rng.normal(size=(6, 3))
    bn = BatchNorm(3, convention="keras", dtype="float64")
    bn.gamma = np.array([0.5, 1.5, -1.0])
    bn(x, training=True)
    dx, dgamma, dbeta = bn.backward(dy)
    t = torch.tensor(x, requires_grad=True)
    g = torch.tensor(bn.gamma, requires_grad=True)
    b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    mean = t.mean(0)
    var = (t * t).mean(0) - mean * mean
    ((t - mean) * torch.rsqrt(var + 1e-3) * g + b).backward(torch.tensor(dy))
    # the statistics are Keras's float32 ones; the backward pass is float64 arithmetic on them
    np.testing.assert_allclose(dx, t.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(dgamma, g.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(dbeta, b.grad.numpy(), atol=1e-10)
