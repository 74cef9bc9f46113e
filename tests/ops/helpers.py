"""check_op: one helper that runs an op in tapegrad and in PyTorch on identical inputs and compares
forward values, dtypes and shapes, then gradients of sum(out * cotangent) w.r.t. every float input.

Skips (pytest.importorskip) where torch is missing; CI installs torch==2.13.0.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

try:
    import ml_dtypes

    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    _BF16 = None

# (rtol, atol) per dtype name: float64 tight, float32 looser, half types loose.
TOL = {
    "float64": (1e-7, 1e-9),
    "float32": (1e-4, 1e-5),
    "float16": (1e-2, 1e-2),
    "bfloat16": (2e-2, 2e-2),
}


def _np_dtype(name: str) -> np.dtype:
    return _BF16 if name == "bfloat16" else np.dtype(name)


def make_array(shape, dtype="float64", low=-2.0, high=2.0, rng=None) -> np.ndarray:
    """Random data of a shape and dtype name: uniform floats in [low, high), ints in [low, high], bools."""
    rng = rng if rng is not None else np.random.default_rng(0)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in ("uint8", "int8", "int16", "int32", "int64"):
        lo = max(int(np.floor(low)), 0) if dtype == "uint8" else int(np.floor(low))
        return rng.integers(lo, int(np.ceil(high)) + 1, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(np.float64).astype(_np_dtype(dtype))


def to_torch(x, requires_grad=False):
    import torch

    if not isinstance(x, np.ndarray):
        return x
    if _BF16 is not None and x.dtype == _BF16:
        t = torch.tensor(x.astype(np.float32)).to(torch.bfloat16)
    else:
        t = torch.tensor(x)
    return t.requires_grad_() if requires_grad else t


def to_tg(x, requires_grad=False):
    if not isinstance(x, np.ndarray):
        return x
    return tg.tensor(x, requires_grad=requires_grad)


def tg_np(t) -> np.ndarray:
    """A tapegrad tensor's values as float64/int/bool numpy (bfloat16 widened)."""
    a = np.asarray(t.detach().numpy())
    return a.astype(np.float64) if a.dtype == _BF16 or a.dtype.kind == "f" else a


def torch_np(t) -> np.ndarray:
    import torch

    t = t.detach()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()
    a = t.numpy(force=True)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def dtype_name(d) -> str:
    return str(d).replace("torch.", "").replace("tapegrad.", "")


def _flatten(out):
    """Outputs as a flat list: a tensor, numbers, or (named) tuples/lists of them."""
    if isinstance(out, (list, tuple)):
        return [y for x in out for y in _flatten(x)]
    return [out]


def assert_close(tg_val, torch_val, rtol, atol, what="output", check_dtype=True):
    import torch

    if isinstance(torch_val, torch.Tensor):
        assert isinstance(tg_val, tg.Tensor), f"{what}: torch gives a tensor, tapegrad gives {type(tg_val).__name__}"
        assert tuple(tg_val.shape) == tuple(torch_val.shape), (
            f"{what}: shape {tuple(tg_val.shape)} != torch {tuple(torch_val.shape)}"
        )
        if check_dtype:
            assert dtype_name(tg_val.dtype) == dtype_name(torch_val.dtype), (
                f"{what}: dtype {dtype_name(tg_val.dtype)} != torch {dtype_name(torch_val.dtype)}"
            )
        a, b = tg_np(tg_val), torch_np(torch_val)
    else:
        a, b = np.asarray(tg_val), np.asarray(torch_val)
        if isinstance(tg_val, tg.Tensor):
            a = tg_np(tg_val)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        np.testing.assert_allclose(
            a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True, err_msg=what
        )
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


def check_op(
    tg_fn,
    torch_fn=None,
    inputs=(),
    *,
    dtype="float64",
    grad=True,
    low=-2.0,
    high=2.0,
    rtol=None,
    atol=None,
    grad_rtol=None,
    grad_atol=None,
    check_dtype=True,
    seed=0,
    grad2=False,
):
    """Compare tg_fn(*tg_inputs) with torch_fn(*torch_inputs), forward and backward.

    Args:
        tg_fn, torch_fn: callables taking the inputs positionally (torch_fn defaults to tg_fn, which
            then must work on both frameworks' tensors through methods and operators).
        inputs: per input a shape tuple (random data of `dtype`), a numpy array (used as is, in
            its own dtype) or a Python number (passed unchanged to both).
        grad: also compare the gradients of sum(out * random cotangent) w.r.t. every float input.
        grad2: also compare second order: the gradients of sum(grads * random) w.r.t. the inputs.
    Returns: (tapegrad outputs, torch outputs).
    """
    torch = pytest.importorskip("torch")
    torch_fn = torch_fn or tg_fn
    rng = np.random.default_rng(seed)
    arrays = [make_array(x, dtype, low, high, rng) if isinstance(x, tuple) else x for x in inputs]
    diff = [grad and isinstance(a, np.ndarray) and (a.dtype.kind == "f" or a.dtype == _BF16) for a in arrays]
    tg_in = [to_tg(a, d) for a, d in zip(arrays, diff)]
    th_in = [to_torch(a, d) for a, d in zip(arrays, diff)]
    tg_out, th_out = tg_fn(*tg_in), torch_fn(*th_in)
    tg_flat, th_flat = _flatten(tg_out), _flatten(th_out)
    assert len(tg_flat) == len(th_flat), f"{len(tg_flat)} outputs != torch's {len(th_flat)}"
    for i, (a, b) in enumerate(zip(tg_flat, th_flat)):
        name = dtype_name(b.dtype) if isinstance(b, torch.Tensor) else dtype
        r, t = TOL.get(name, (0, 0))
        assert_close(a, b, rtol if rtol is not None else r, atol if atol is not None else t, f"output {i}", check_dtype)
    if any(diff):
        _check_grads(tg_in, th_in, diff, tg_flat, th_flat, rng, dtype, grad_rtol, grad_atol, grad2)
    return tg_out, th_out


def _check_grads(tg_in, th_in, diff, tg_flat, th_flat, rng, dtype, rtol, atol, grad2=False):
    import torch

    tg_loss, th_loss = None, None
    for i, (a, b) in enumerate(zip(tg_flat, th_flat)):
        if not isinstance(b, torch.Tensor) or not b.is_floating_point():
            continue
        assert bool(a.requires_grad) == bool(b.requires_grad), (
            f"output {i}: requires_grad {a.requires_grad} != torch {b.requires_grad}"
        )
        if not b.requires_grad:
            continue
        cot = make_array(tuple(b.shape), dtype_name(b.dtype), -1.0, 1.0, rng)
        ta, tb = (a * to_tg(cot)).sum(), (b * to_torch(cot)).sum()
        tg_loss = ta if tg_loss is None else tg_loss + ta
        th_loss = tb if th_loss is None else th_loss + tb
    if th_loss is None:
        return
    if grad2:
        _check_second_order(tg_loss, th_loss, tg_in, th_in, diff, rng, rtol, atol)
        return
    tg_loss.backward()
    th_loss.backward()
    for j, (x, y, d) in enumerate(zip(tg_in, th_in, diff)):
        if not d:
            continue
        gx, gy = x.grad, y.grad
        if gy is None or gx is None:
            other = gx if gy is None else gy
            assert other is None or not np.any(tg_np(other) if gy is None else torch_np(other)), (
                f"grad of input {j}: {'torch' if gy is None else 'tapegrad'} gives None, the other nonzero"
            )
            continue
        r, t = TOL[dtype_name(y.dtype)]
        assert_close(
            gx, gy, rtol if rtol is not None else r * 10, atol if atol is not None else t * 10, f"grad of input {j}"
        )


def _check_second_order(tg_loss, th_loss, tg_in, th_in, diff, rng, rtol, atol):
    """Differentiate the first-order gradients again (create_graph=True) and compare with PyTorch."""
    import torch

    xs = [x for x, d in zip(tg_in, diff) if d]
    ys = [y for y, d in zip(th_in, diff) if d]
    gx = tg.autograd.grad(tg_loss, xs, create_graph=True, allow_unused=True)
    gy = torch.autograd.grad(th_loss, ys, create_graph=True, allow_unused=True)
    tg_l2, th_l2 = None, None
    for a, b in zip(gx, gy):
        if a is None or b is None or not b.requires_grad:
            continue
        w = make_array(tuple(b.shape), dtype_name(b.dtype), -1.0, 1.0, rng)
        ta, tb = (a * to_tg(w)).sum(), (b * to_torch(w)).sum()
        tg_l2 = ta if tg_l2 is None else tg_l2 + ta
        th_l2 = tb if th_l2 is None else th_l2 + tb
    if th_l2 is None:
        return
    assert tg_l2 is not None and tg_l2.requires_grad, "second order: tapegrad's gradients are not differentiable"
    hx = tg.autograd.grad(tg_l2, xs, allow_unused=True)
    hy = torch.autograd.grad(th_l2, ys, allow_unused=True)
    for j, (a, b) in enumerate(zip(hx, hy)):
        if a is None or b is None:
            other = a if b is None else b
            assert other is None or not np.any(tg_np(other) if b is None else torch_np(other)), (
                f"second-order grad of input {j}: one side None, the other nonzero"
            )
            continue
        r, t = TOL[dtype_name(b.dtype)]
        assert_close(
            a,
            b,
            rtol if rtol is not None else r * 100,
            atol if atol is not None else t * 100,
            f"second-order grad of input {j}",
        )


def check_error(exc, fn, *must_name):
    """fn() raises exc, and the message names every string in must_name (case-insensitive)."""
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value).lower()
    for s in must_name:
        assert str(s).lower() in msg, f"message {str(info.value)!r} does not name {s!r}"
    return info.value
