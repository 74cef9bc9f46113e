"""Dtypes and PyTorch's type promotion: promote_types / result_type for all pairs, Python scalars,
0-dim tensors; conversions (.to, .float, ..., tg.cast)."""

import itertools

import numpy as np
import pytest

import tapegrad as tg

from .helpers import assert_close, check_op, dtype_name

torch = pytest.importorskip("torch")

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
PAIRS = list(itertools.product(NAMES, NAMES))


def tgd(name):
    return getattr(tg, name)


def thd(name):
    return getattr(torch, name)


def test_dtype_objects():
    for name in NAMES:
        d = tgd(name)
        assert d.name == name and repr(d) == f"tapegrad.{name}"
        assert d.is_floating_point == thd(name).is_floating_point
        assert d.itemsize == thd(name).itemsize
    assert tg.float is tg.float32 and tg.double is tg.float64 and tg.half is tg.float16
    assert tg.long is tg.int64 and tg.int is tg.int32 and tg.short is tg.int16
    assert tg.get_default_dtype() is tg.float32


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_promote_types(a, b):
    assert tg.promote_types(tgd(a), tgd(b)).name == dtype_name(torch.promote_types(thd(a), thd(b)))


def _pair_tensors(a, b, shape_a, shape_b):
    x, y = tg.ones(shape_a, dtype=tgd(a)), tg.ones(shape_b, dtype=tgd(b))
    tx, ty = torch.ones(shape_a, dtype=thd(a)), torch.ones(shape_b, dtype=thd(b))
    return x, y, tx, ty


@pytest.mark.parametrize("shapes", [((2,), (2,)), ((), (2,)), ((2,), ()), ((), ())], ids=str)
def test_result_type_tensors(shapes):
    for a, b in PAIRS:
        x, y, tx, ty = _pair_tensors(a, b, *shapes)
        expected = dtype_name(torch.result_type(tx, ty))
        assert tg.result_type(x, y).name == expected, (a, b, shapes)
        assert (x + y).dtype.name == dtype_name((tx + ty).dtype), (a, b, shapes)


SCALARS = [True, 2, -3, 2.5, np.float64(1.5), np.int64(2)]


@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
def test_result_type_with_python_scalars(scalar):
    for a in NAMES:
        for shape in ((2,), ()):
            x, tx = tg.ones(shape, dtype=tgd(a)), torch.ones(shape, dtype=thd(a))
            assert tg.result_type(x, scalar).name == dtype_name(torch.result_type(tx, scalar)), (a, shape)
            if a == "bool" and isinstance(scalar, (int, np.integer)) and not isinstance(scalar, bool):
                continue  # skip the op: torch's bool - int is refused
            assert (x * scalar).dtype.name == dtype_name((tx * scalar).dtype), (a, shape)
            assert (scalar * x).dtype.name == dtype_name((scalar * tx).dtype), (a, shape)


def test_result_type_three_operands_and_scalars_only():
    assert tg.result_type(2, 2.5) is tg.float32
    assert tg.result_type(2, True) is tg.int64
    x = tg.ones(2, dtype=tg.int8)
    z = tg.tensor(1.0, dtype=tg.float64)
    assert tg.result_type(x, z) is tg.float64  # a 0-d float beats a dimensioned int (higher category)
    assert (x + z + 1).dtype is tg.float64
    assert (tg.ones(2, dtype=tg.float16) + tg.tensor(1.0, dtype=tg.float64)).dtype is tg.float16


def test_default_dtype_change():
    tg.set_default_dtype(tg.float64)
    try:
        assert tg.tensor([1.5]).dtype is tg.float64
        assert tg.ones(2).dtype is tg.float64
        assert (tg.tensor([1, 2]) * 1.5).dtype is tg.float64
        assert tg.arange(0.0, 1.0, 0.5).dtype is tg.float64
    finally:
        tg.set_default_dtype(tg.float32)
    with pytest.raises(TypeError, match="float"):
        tg.set_default_dtype(tg.int32)


CONVERTERS = ["float", "double", "half", "int", "long", "bool", "short", "byte", "char", "bfloat16"]


@pytest.mark.parametrize("conv", CONVERTERS)
@pytest.mark.parametrize("src", ["float32", "float64", "int64", "bool", "uint8", "float16"])
def test_conversion_methods(conv, src):
    data = np.array([-2.7, -0.5, 0.0, 0.4, 1.5, 3.9]) if src != "bool" else np.array([True, False, True])
    if src in ("uint8",):
        data = np.abs(data)
    x = tg.tensor(data).to(tgd(src))
    tx = torch.tensor(data).to(thd(src))
    assert_close(getattr(x, conv)(), getattr(tx, conv)(), 1e-3, 1e-3)


@pytest.mark.parametrize("dst", NAMES)
def test_to_and_cast(dst):
    data = np.array([-1.5, 0.0, 2.25, 100.0])
    x, tx = tg.tensor(data), torch.tensor(data)
    assert_close(x.to(tgd(dst)), tx.to(thd(dst)), 1e-2, 1e-2)
    assert_close(tg.cast(x, tgd(dst)), tx.to(thd(dst)), 1e-2, 1e-2)
    assert_close(x.to(dtype=tgd(dst)), tx.to(dtype=thd(dst)), 1e-2, 1e-2)
    assert x.to(tg.ones(1, dtype=tgd(dst))).dtype is tgd(dst)
    assert x.to("cpu", tgd(dst)).dtype is tgd(dst)
    assert x.to(dst).dtype is tgd(dst)  # names work too


def test_to_same_dtype_returns_self_and_copy():
    x = tg.ones(2)
    assert x.to(tg.float32) is x and x.float() is x
    y = x.to(tg.float32, copy=True)
    assert y is not x and y.tolist() == x.tolist()


def test_cast_gradients():
    """Gradients flow through float <-> float casts, in the source dtype; not through integer casts."""
    check_op(lambda x: x.to(tg.float32) * 2, lambda x: x.to(torch.float32) * 2, [(3,)])
    check_op(lambda x: x.double() * 2, lambda x: x.double() * 2, [(3,)], dtype="float32")
    check_op(lambda x: x.half().float(), lambda x: x.half().float(), [(3,)], dtype="float32")
    x = tg.ones(3, requires_grad=True)
    assert not x.long().requires_grad
    assert not x.to(tg.bool).requires_grad


def test_dtype_of_ops_on_ints():
    a, ta = tg.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    for f in (
        lambda t: t / 2,
        lambda t: t * 2,
        lambda t: t + True,
        lambda t: t * 1.0,
        lambda t: t.sqrt(),
        lambda t: t.sum(),
        lambda t: t.prod(),
        lambda t: t.cumsum(0),
        lambda t: t // 2,
        lambda t: -t,
        lambda t: t.abs(),
        lambda t: t.max(),
        lambda t: t.exp(),
        lambda t: t > 1,
        lambda t: t.to(torch.int8 if isinstance(t, torch.Tensor) else tg.int8).sum(),
    ):
        assert f(a).dtype.name == dtype_name(f(ta).dtype)


def test_requires_grad_on_int_errors():
    with pytest.raises(TypeError) as info:
        tg.tensor([1, 2]).requires_grad_()
    assert "int64" in str(info.value) and "float" in str(info.value)
    with pytest.raises(TypeError, match="bool"):
        tg.tensor([True]).requires_grad_()
    with pytest.raises(TypeError, match="int32"):
        tg.ones(2, dtype=tg.int32, requires_grad=True)


def test_unknown_dtype_errors():
    with pytest.raises(TypeError, match="complex|unknown|supported"):
        tg.ones(2).to("complex64")
    with pytest.raises(TypeError, match="complex"):
        tg.tensor(np.array([1j]))
