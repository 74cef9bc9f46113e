"""The eager shortcuts of the arithmetic operators and float unary methods (ops/__init__.py _operator,
_unary_method): same values, dtypes and gradients as PyTorch, and the general path wherever promotion differs."""

import numpy as np
import pytest
import torch

import tapegrad as tg

OPS = {
    "add": lambda a, b: a + b, "radd": lambda a, b: b + a, "sub": lambda a, b: a - b, "rsub": lambda a, b: b - a,
    "mul": lambda a, b: a * b, "rmul": lambda a, b: b * a, "div": lambda a, b: a / b, "rdiv": lambda a, b: b / a,
}
DTYPES = ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"]
NUMBERS = [2, -3, 0.5, 1e10, 300]


def _pair(dtype, shape):
    data = (np.arange(1, 1 + int(np.prod(shape))).reshape(shape) % 5 + 1).astype(dtype)
    return tg.tensor(data), torch.tensor(data)


@pytest.mark.parametrize("shape", [(2, 3), ()])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(OPS))
def test_tensor_with_number_matches_torch(op, dtype, shape):
    f = OPS[op]
    t, p = _pair(dtype, shape)
    for number in NUMBERS:
        try:
            want = f(p, number)
        except RuntimeError:  # e.g. uint8 - 300 overflows in PyTorch: the general path decides, not checked here
            continue
        with np.errstate(all="ignore"):
            got = f(t, number)
        assert got.dtype.name == str(want.dtype).replace("torch.", ""), (op, dtype, number)
        np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64), rtol=1e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("op", sorted(OPS))
def test_tensor_with_tensor_of_one_dtype_and_shape_matches_torch(op, dtype):
    f = OPS[op]
    (t, p), (u, q) = _pair(dtype, (2, 3)), _pair(dtype, (2, 3))
    if dtype == "bool" and op in ("sub", "rsub"):
        with pytest.raises(Exception):
            f(t, u)
        return
    got, want = f(t, u), f(p, q)
    assert got.dtype.name == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("op", sorted(OPS))
def test_gradients_first_and_second_order_match_torch(op):
    f = OPS[op]
    data = np.array([[0.5, 1.5, -2.0], [1.0, 3.0, 0.25]], np.float32)
    x, xt = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    other = np.array([[2.0, -1.0, 0.5], [1.5, 1.0, -0.75]], np.float32)
    y, yt = tg.tensor(other, requires_grad=True), torch.tensor(other, requires_grad=True)
    for a, b, at, bt in ((x, 1.01, xt, 1.01), (x, y, xt, yt)):
        out, outt = f(a, b).tanh(), f(at, bt).tanh()
        (g,) = tg.autograd.grad(out.sum(), [x], create_graph=True)
        (gt,) = torch.autograd.grad(outt.sum(), [xt], create_graph=True)
        np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-4, atol=1e-5)  # float32 rounding of 1 - tanh^2
        (h,) = tg.autograd.grad((g * g).sum(), [x])
        (ht,) = torch.autograd.grad((gt * gt).sum(), [xt])
        np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", ["tanh", "exp", "sigmoid", "sqrt", "log", "sin"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_float_unary_methods_match_torch(method, dtype):
    t, p = _pair(dtype, (2, 3))
    got, want = getattr(t, method)(), getattr(p, method)()
    assert got.dtype.name == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_shortcuts_keep_anomaly_mode_and_in_place_checks():
    x = tg.tensor([-1.0, 0.0], requires_grad=True)
    with tg.autograd.detect_anomaly(), pytest.raises(tg.errors.AnomalyError):
        x.log()
    y = tg.tensor([1.0, 2.0], requires_grad=True).tanh()
    z = y * 2.0
    y.mul_(3.0)  # tanh saved its output, which the in-place write changes
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


def test_shortcuts_under_transforms_take_the_general_path():
    def f(x):
        return (x * 1.5 + 1).tanh().sum()

    x = tg.tensor([0.1, 0.2, 0.3])
    want = (1 - np.tanh(x.numpy() * 1.5 + 1) ** 2) * 1.5
    np.testing.assert_allclose(tg.func.grad(f)(x).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(tg.function(tg.func.grad(f))(x).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(tg.vmap(tg.func.grad(f))(x.reshape(3, 1)).numpy().ravel(), want, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_with_numbers_and_tensors_match_torch(op, dtype):
    import operator

    f = getattr(operator, op)
    (t, p), (u, q) = _pair(dtype, (2, 3)), _pair(dtype, (2, 3))
    for number in [2, -3, 2.5, 300]:
        for got, want in ((f(t, number), f(p, number)), (f(number, t), f(number, p))):
            assert got.dtype.name == "bool"
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(f(t, u).numpy(), f(p, q).numpy())
    assert (t == None) is False and (t != "a") is True  # noqa: E711  (not tensors: Python's answer, as in PyTorch)


def test_cached_number_operands_keep_each_value_apart():
    """The 0-d operands of Python numbers are shared between ops (elementwise.number_operand): -0.0 and 0.0, 1 and
    1.0, a NaN and a value out of the dtype's range must each still give PyTorch's answer, whatever ran before."""
    data = np.array([1.5, -2.0, 0.0], np.float32)
    t, p = tg.tensor(data), torch.tensor(data)
    with np.errstate(all="ignore"):
        for number in [0.0, -0.0, 0.0, 1, 1.0, 2.5, float("nan"), float("nan"), 1e39, 1e39, -0.0, 2.5]:
            for name in ("mul", "rdiv", "sub"):
                got, want = OPS[name](t, number), OPS[name](p, number)
                np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, err_msg=f"{name} {number}")
                assert np.array_equal(np.signbit(got.numpy()), np.signbit(want.numpy())), (name, number)


def test_cached_number_operand_is_safe_from_in_place_changes():
    """The shared operand is read-only and never an op's output: changing results in place (or the tensor itself)
    leaves the next `x * 2.0` right, and gradients through many ops sharing one operand are PyTorch's."""
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    y = t * 2.0
    with tg.no_grad():
        y += 5.0
        y.mul_(3.0)
    np.testing.assert_array_equal((t * 2.0).detach().numpy(), [2.0, 4.0])
    z = t
    for _ in range(5):
        z = (z * 0.5).tanh() * 2.0
    z.sum().backward()
    p = torch.tensor([1.0, 2.0], requires_grad=True)
    w = p
    for _ in range(5):
        w = (w * 0.5).tanh() * 2.0
    w.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), p.grad.numpy(), rtol=1e-5)
    from tapegrad.ops.elementwise import _OPERANDS

    shared = _OPERANDS[tg.float32][2.0]
    assert not shared._data.flags.writeable and shared.numpy().item() == 2.0 and shared._version.value == 0
