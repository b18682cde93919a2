"""bn_core.BatchNorm against torch.nn.BatchNorm1d/2d/3d and autograd."""

from contextlib import nullcontext

import numpy as np
import pytest
import torch

from bn_core import BatchNorm

TOL = {np.float64: 1e-10, np.float32: 1e-5}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
MODULES = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d, 5: torch.nn.BatchNorm3d}


def random_shape(rng, ndim):
    n = int(rng.integers(2, 7))
    c = int(rng.integers(1, 5))
    spatial = [int(rng.integers(1, 5)) for _ in range(ndim - 2)]
    return (n, c, *spatial)


def torch_module(ndim, c, dtype, **kw):
    return MODULES[ndim](c, **kw).to(TORCH_DTYPE[dtype])


def assert_same(ours, theirs):
    """The engine lets torch compute a PyTorch layer's forward pass: the same bits, not just close."""
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_array_equal(ours, theirs)


def assert_close(ours, theirs, dtype):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(ours, theirs, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ndim", [2, 3, 4, 5])
@pytest.mark.parametrize("momentum", [0.0, 0.1, 0.5, 1.0, None])
@pytest.mark.parametrize("affine", [True, False])
def test_training_steps_then_eval_match_torch(dtype, ndim, momentum, affine):
    rng = np.random.default_rng([ndim, int(affine), 7])
    shape = random_shape(rng, ndim)
    c = shape[1]
    eps = float(rng.choice([1e-5, 1e-3, 0.1]))
    ours = BatchNorm(c, eps=eps, momentum=momentum, affine=affine)
    theirs = torch_module(ndim, c, dtype, eps=eps, momentum=momentum, affine=affine)
    if affine:  # start from non-trivial parameters
        gamma, beta = rng.normal(size=c), rng.normal(size=c)
        ours.gamma, ours.beta = gamma, beta
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(gamma))
            theirs.bias.copy_(torch.from_numpy(beta))
    for step in range(4):
        x = (rng.normal(size=shape) * (step + 1) + step).astype(dtype)
        y = ours(x, training=True)
        assert y.dtype == dtype and y.shape == x.shape
        assert_same(y, theirs(torch.from_numpy(x)))
        assert_same(ours.running_mean, theirs.running_mean)
        assert_same(ours.running_var, theirs.running_var)
    theirs.eval()
    x = rng.normal(size=shape).astype(dtype)
    assert_same(ours(x, training=False), theirs(torch.from_numpy(x)))


@pytest.mark.parametrize("value", [2.1, -2.9, 0.1])
@pytest.mark.parametrize("shape", [(3, 1), (1024, 1), (8, 1, 4, 4)])
@pytest.mark.parametrize("eps", [1e-8, 1e-5])
def test_a_constant_float32_channel_comes_out_as_torchs_rounding(value, shape, eps):
    # exact arithmetic gives 0; PyTorch's float32 sums and its fold y = x·a + (β − μ·a) do not
    # (1 024 values of 2.1 at ε = 1e-8: 0.104), and the ε section shows what PyTorch gives
    x = np.full(shape, value, dtype=np.float32)
    module = torch.nn.BatchNorm1d(1, eps=eps) if len(shape) == 2 else torch.nn.BatchNorm2d(1, eps=eps)
    ours = BatchNorm(1, eps=eps)
    assert_same(ours(x, training=True), module(torch.from_numpy(x)))
    assert_same(ours.running_mean, module.running_mean)
    with torch.no_grad():  # the batch statistics the page shows are the kernel's: its mean exactly
        saved_mean = torch.native_batch_norm(torch.from_numpy(x), None, None, None, None, True, 0.1, eps)[1]
    assert_same(ours.statistics(x, training=True)[0], saved_mean)


def test_eval_after_many_constant_batches_gives_torchs_float32_answer():
    # 500 batches of a constant channel leave float32 buffers of mean ≈ 0.1 and variance ≈ 0.9^500;
    # at ε = 0 eval divides the float32 rounding of x − μ by √(1e-23): thousands, not a small number
    x = np.full((2, 1), 0.1, dtype=np.float32)
    ours, module = BatchNorm(1, eps=1e-5), torch.nn.BatchNorm1d(1, eps=1e-5)
    for _ in range(500):
        module(torch.from_numpy(x))
        ours(x, training=True)
    module.eps, ours.eps = 0.0, 0.0
    module.eval()
    theirs = module(torch.from_numpy(x)).detach()
    assert abs(float(theirs[0, 0])) > 1.0  # the rounding is the answer
    assert_same(ours(x, training=False), theirs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ndim", [2, 3, 4, 5])
@pytest.mark.parametrize("training", [True, False])
def test_backward_matches_autograd(dtype, ndim, training):
    rng = np.random.default_rng([ndim, int(training), 11])
    shape = random_shape(rng, ndim)
    c = shape[1]
    ours = BatchNorm(c)
    ours.gamma, ours.beta = rng.normal(size=c), rng.normal(size=c)
    ours.running_mean, ours.running_var = rng.normal(size=c), rng.uniform(0.5, 2.0, size=c)
    theirs = torch_module(ndim, c, dtype)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.gamma))
        theirs.bias.copy_(torch.from_numpy(ours.beta))
        theirs.running_mean.copy_(torch.from_numpy(ours.running_mean))
        theirs.running_var.copy_(torch.from_numpy(ours.running_var))
    theirs.train(training)
    x = rng.normal(size=shape).astype(dtype)
    dy = rng.normal(size=shape).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_(True)
    theirs(xt).backward(torch.from_numpy(dy))
    ours(x, training=training)
    dx, dgamma, dbeta = ours.backward(dy)
    assert_close(dx, xt.grad, dtype)
    assert_close(dgamma, theirs.weight.grad, dtype)
    assert_close(dbeta, theirs.bias.grad, dtype)


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 2, 3))
    dy = rng.normal(size=x.shape)
    gamma = rng.normal(size=2)

    def layer():
        bn = BatchNorm(2)
        bn.gamma = gamma
        return bn

    def loss(x_):
        return float((layer()(x_, training=True) * dy).sum())

    bn = layer()
    bn(x, training=True)
    dx, _, _ = bn.backward(dy)
    h = 1e-6
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        numeric[idx] = (loss(x + step) - loss(x - step)) / (2 * h)
    np.testing.assert_allclose(dx, numeric, atol=1e-6)


def test_channels_last_axis_matches_permuted_torch():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 3, 3, 2))  # (N, H, W, C)
    ours = BatchNorm(2, axis=-1)
    theirs = torch.nn.BatchNorm2d(2).double()
    expected = theirs(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    assert_close(ours(x, training=True), expected, np.float64)
    assert_close(ours.running_var, theirs.running_var, np.float64)


def test_track_running_stats_false_uses_batch_stats_in_eval():
    rng = np.random.default_rng(8)
    x = rng.normal(2.0, 3.0, size=(6, 3))
    ours = BatchNorm(3, track_running_stats=False).eval()
    theirs = torch.nn.BatchNorm1d(3, track_running_stats=False).double().eval()
    assert ours.running_mean is None and theirs.running_mean is None
    assert_close(ours(x), theirs(torch.from_numpy(x)), np.float64)
    assert abs(ours(x).mean()) < 1e-12


def test_call_without_training_follows_module_mode_like_torch():
    rng = np.random.default_rng(9)
    x = rng.normal(5.0, 2.0, size=(8, 2))
    ours, theirs = BatchNorm(2), torch.nn.BatchNorm1d(2).double()
    assert_close(ours(x), theirs(torch.from_numpy(x)), np.float64)  # fresh module: training
    ours.eval(), theirs.eval()
    assert_close(ours(x), theirs(torch.from_numpy(x)), np.float64)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 2, 1, 1), (1, 2, 1, 1, 1)])
def test_single_value_per_channel_raises_torchs_error(shape):
    x = np.ones(shape)
    with pytest.raises(ValueError) as theirs:
        MODULES[len(shape)](shape[1]).double()(torch.from_numpy(x))
    with pytest.raises(ValueError) as ours:
        BatchNorm(shape[1])(x, training=True)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("shape", [(1, 3, 4), (1, 2, 3, 3), (1, 2, 2, 3, 3)])
def test_batch_of_one_with_spatial_axes_works_like_torch(shape):
    rng = np.random.default_rng(len(shape))
    x = rng.normal(size=shape)
    theirs = MODULES[len(shape)](shape[1]).double()
    ours = BatchNorm(shape[1])
    assert_close(ours(x, training=True), theirs(torch.from_numpy(x)), np.float64)
    assert_close(ours.running_var, theirs.running_var, np.float64)


def test_eval_mode_with_batch_of_one_is_allowed():
    x = np.array([[0.3, -1.2]])
    bn = BatchNorm(2).eval()
    theirs = torch.nn.BatchNorm1d(2).double().eval()
    assert_close(bn(x), theirs(torch.from_numpy(x)), np.float64)


def test_eps_zero_in_training_raises_torchs_error():
    x = np.full((4, 1), 2.5)
    with pytest.raises(ValueError) as theirs:
        torch.nn.BatchNorm1d(1, eps=0.0).double()(torch.from_numpy(x))
    with pytest.raises(ValueError) as ours:
        BatchNorm(1, eps=0.0)(x, training=True)
    assert str(ours.value) == str(theirs.value)


def test_eps_zero_in_eval_with_zero_running_var_gives_nan_like_torch():
    x = np.full((4, 1), 2.5)
    theirs = torch.nn.BatchNorm1d(1, eps=0.0).double().eval()
    ours = BatchNorm(1, eps=0.0).eval()
    theirs.running_var.zero_()
    ours.running_var = np.zeros(1)
    assert np.isnan(ours(x)).all() and torch.isnan(theirs(torch.from_numpy(x))).all()


@pytest.mark.parametrize(
    "refused", [np.ones((1, 3)), np.ones((4, 5)), np.ones((4, 3), dtype=np.int64)], ids=["one", "channels", "dtype"]
)
@pytest.mark.parametrize("momentum", [None, 0.1])
def test_a_refused_training_batch_is_counted_as_torch_counts_it(refused, momentum):
    """torch's module counts the batch before it refuses it; with momentum None the later running means
    depend on that count."""
    rng = np.random.default_rng(4)
    ours, theirs = BatchNorm(3, momentum=momentum), torch.nn.BatchNorm1d(3, momentum=momentum).double()
    batches = [rng.normal(size=(5, 3)), refused, rng.normal(size=(6, 3))]
    for x in batches:
        refusal = (ValueError, TypeError, RuntimeError, NotImplementedError)
        with pytest.raises(refusal) if x is refused else nullcontext():
            theirs(torch.from_numpy(x))
        with pytest.raises((ValueError, TypeError)) if x is refused else nullcontext():
            ours(x, training=True)
        assert ours.num_batches_tracked == int(theirs.num_batches_tracked)
    assert ours.num_batches_tracked == 3
    assert_same(ours.running_mean, theirs.running_mean)
    assert_same(ours.running_var, theirs.running_var)


def test_a_one_axis_input_is_refused_before_it_is_counted():
    ours, theirs = BatchNorm(3), torch.nn.BatchNorm1d(3).double()
    with pytest.raises(ValueError):
        theirs(torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="2D"):
        ours(np.ones(3), training=True)
    assert ours.num_batches_tracked == int(theirs.num_batches_tracked) == 0
