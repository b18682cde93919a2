"""The keras convention against Keras 3's documented BatchNormalization formulas.

Keras is not installed here; its documented behaviour (keras.io, BatchNormalization):
- training: normalize with the batch mean and biased variance, then
  moving_mean = moving_mean * momentum + mean * (1 - momentum), same for the variance;
- inference (a direct call without training=True): (x - moving_mean) / sqrt(moving_var + epsilon) * gamma + beta;
- defaults momentum 0.99, epsilon 1e-3, axis -1, moving statistics start at 0 and 1.
"""

import numpy as np
import pytest

from bn_core import BatchNorm


def test_keras_puzzle_direct_call_is_inference_with_fresh_statistics():
    # A user's report: tf.keras.layers.BatchNormalization()(x) turned -0.22630838 into -0.22619529.
    x = np.array([-0.22630838], dtype=np.float32)
    y = BatchNorm(1, convention="keras")(x)
    assert y.dtype == np.float32
    assert y[0] == np.float32(-0.22619529)
    # the exact quotient is one float32 ulp away: the digits come from TF's float32 arithmetic
    assert abs(float(y[0]) - float(x[0]) / np.sqrt(1.001)) < 1e-7


def test_training_uses_batch_stats_and_updates_moving_stats_with_old_weight():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(16, 4))
    bn = BatchNorm(4, convention="keras")
    y = bn(x, training=True)
    mean, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), atol=1e-12)
    np.testing.assert_allclose(bn.running_mean, 0.99 * 0.0 + 0.01 * mean, atol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.99 * 1.0 + 0.01 * var, atol=1e-12)  # biased


def test_keras_momentum_m_equals_pytorch_momentum_one_minus_m():
    rng = np.random.default_rng(2)
    keras = BatchNorm(3, convention="keras", momentum=0.8, axis=1, eps=1e-5)
    torch_like = BatchNorm(3, convention="pytorch", momentum=0.2)
    for _ in range(5):
        x = rng.normal(1.0, 2.0, size=(10, 3))
        keras(x, training=True), torch_like(x, training=True)
    np.testing.assert_allclose(keras.running_mean, torch_like.running_mean, atol=1e-12)
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
    y = BatchNorm(5, convention="keras")(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), x.var(axis=(0, 1, 2)) / (x.var(axis=(0, 1, 2)) + 1e-3))


def test_keras_rejects_cumulative_momentum():
    with pytest.raises(ValueError):
        BatchNorm(2, convention="keras", momentum=None)
