"""Property tests (hypothesis): random broadcastable shapes for binary ops vs numpy and PyTorch,
gradient shapes equal to input shapes, random reduction dims, reshape / permute round trips."""

import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg

FAST = settings(deadline=None, max_examples=30)

dims = st.integers(0, 3)


@st.composite
def broadcast_pair(draw, max_ndim=4):
    """Two shapes that broadcast together: each dim of the shorter one is the other's size, 1 or absent."""
    out = draw(st.lists(dims, min_size=0, max_size=max_ndim))
    a, b = [], []
    for n in out:
        a.append(draw(st.sampled_from([n, 1])))
        b.append(draw(st.sampled_from([n, 1])))
    a = a[draw(st.integers(0, len(a))) :]
    b = b[draw(st.integers(0, len(b))) :]
    return tuple(a), tuple(b)


BINARY = {
    "add": (np.add, lambda a, b: a + b),
    "sub": (np.subtract, lambda a, b: a - b),
    "mul": (np.multiply, lambda a, b: a * b),
    "div": (np.divide, lambda a, b: a / b),
    "maximum": (np.maximum, tg.maximum),
    "minimum": (np.minimum, tg.minimum),
    "pow": (np.power, lambda a, b: a**b),
    "atan2": (np.arctan2, tg.atan2),
    "where": (lambda a, b: np.where(a > b, a, b), lambda a, b: tg.where(a > b, a, b)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@FAST
@given(shapes=broadcast_pair(), seed=st.integers(0, 2**16))
def test_binary_broadcast_vs_numpy(name, shapes, seed):
    np_fn, tg_fn = BINARY[name]
    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(0.5, 2.0, s) for s in shapes)
    x, y = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    out = tg_fn(x, y)
    ref = np_fn(a, b)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    out.sum().backward() if out.numel() else (out * 0).sum().backward()
    for t in (x, y):  # a gradient has the shape of its input, also when that input was broadcast
        assert t.grad is None or t.grad.shape == t.shape


@FAST
@given(
    shapes=broadcast_pair(max_ndim=3),
    seed=st.integers(0, 2**16),
    op=st.sampled_from(["add", "mul", "div", "maximum", "pow"]),
)
def test_binary_broadcast_grads_vs_torch(shapes, seed, op):
    torch = pytest.importorskip("torch")
    from .helpers import check_op

    f = {
        "add": lambda a, b: a + b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "maximum": lambda a, b: a.maximum(b),
        "pow": lambda a, b: a**b,
    }[op]
    check_op(f, f, list(shapes), low=0.5, high=2.0, seed=seed)
    assert torch is not None


@st.composite
def shape_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=4)))
    n = len(shape)
    picked = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n, unique_by=lambda d: d % n))
    return shape, tuple(picked)


REDUCTIONS = {
    "sum": (np.sum, lambda x, d, k: x.sum(d, keepdim=k)),
    "mean": (np.mean, lambda x, d, k: x.mean(d, keepdim=k)),
    "amax": (np.amax, lambda x, d, k: x.amax(d, keepdim=k)),
    "amin": (np.amin, lambda x, d, k: x.amin(d, keepdim=k)),
    "var": (
        lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=0),
        lambda x, d, k: x.var(d, keepdim=k, correction=0),
    ),
    "logsumexp": (
        lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims)),
        lambda x, d, k: x.logsumexp(d, keepdim=k),
    ),
    "norm": (
        lambda a, axis, keepdims: np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims)),
        lambda x, d, k: x.norm(dim=d, keepdim=k),
    ),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@FAST
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_reductions_vs_numpy(name, sd, keepdim, seed):
    shape, d = sd
    np_fn, tg_fn = REDUCTIONS[name]
    a = np.random.default_rng(seed).uniform(-2, 2, shape)
    x = tg.tensor(a, requires_grad=True)
    out = tg_fn(x, d, keepdim)
    axes = tuple(i % len(shape) for i in d)
    ref = np_fn(a, axis=axes, keepdims=keepdim)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)
    out.sum().backward()
    assert x.grad.shape == x.shape


@FAST
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=4), seed=st.integers(0, 2**16), data=st.data())
def test_reshape_permute_round_trip(shape, seed, data):
    shape = tuple(shape)
    a = np.random.default_rng(seed).standard_normal(shape)
    x = tg.tensor(a, requires_grad=True)
    perm = data.draw(st.permutations(range(len(shape))))
    y = x.permute(perm) if shape else x
    np.testing.assert_array_equal(y.numpy(), np.transpose(a, perm))
    inverse = tuple(int(i) for i in np.argsort(perm))
    back = y.permute(inverse) if shape else y
    np.testing.assert_array_equal(back.numpy(), a)
    flat = back.reshape(-1) if math.prod(shape) else back.reshape(0)
    assert flat.shape == (math.prod(shape),)
    again = flat.reshape(shape)
    np.testing.assert_array_equal(again.numpy(), a)
    again.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(shape))


@FAST
@given(shapes=broadcast_pair(), seed=st.integers(0, 2**16))
def test_broadcast_shapes_and_expand(shapes, seed):
    a, b = shapes
    expected = np.broadcast_shapes(a, b)
    assert tg.broadcast_shapes(a, b) == expected
    x = tg.tensor(np.random.default_rng(seed).standard_normal(a), requires_grad=True)
    e = x.expand(expected)
    assert e.shape == expected
    (e * 1).sum().backward()
    # the gradient of expand sums over broadcast dims: each element counts how often it was repeated
    np.testing.assert_allclose(
        x.grad.numpy(), np.full(a, math.prod(expected) / max(math.prod(a), 1)) if math.prod(a) else np.zeros(a)
    )


@FAST
@given(shapes=broadcast_pair(), seed=st.integers(0, 2**16))
def test_binary_dtype_promotion_vs_torch(shapes, seed):
    torch = pytest.importorskip("torch")
    names = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
    rng = np.random.default_rng(seed)
    da, db = rng.choice(names, 2)
    x, y = tg.zeros(shapes[0], dtype=getattr(tg, da)), tg.zeros(shapes[1], dtype=getattr(tg, db))
    tx, ty = torch.zeros(shapes[0], dtype=getattr(torch, da)), torch.zeros(shapes[1], dtype=getattr(torch, db))
    out, ref = x * y, tx * ty
    assert out.shape == tuple(ref.shape) and out.dtype.name == str(ref.dtype).replace("torch.", "")
