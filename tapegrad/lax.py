"""tg.lax: structured control flow with JAX's argument orders, on the graph ops of trace/control.py.

Every function works eagerly (Python loops) and inside tg.jit / tg.function (one graph op each), and is
reverse-differentiable, while_loop included (its trip count is known only at run time).
"""

from __future__ import annotations

import importlib

from .trace import control as _C


def while_loop(cond_fun, body_fun, init_val):
    """val = init_val; while cond_fun(val): val = body_fun(val); return val (val: a tensor or a pytree).

    >>> import tapegrad as tg
    >>> tg.lax.while_loop(lambda v: v < 10, lambda v: v * 2, tg.tensor(1.0))
    tensor(16.)
    """
    out = _C.while_loop(lambda v: cond_fun(v), lambda v: (body_fun(v),), (init_val,), name="while_loop")
    return out[0]


def fori_loop(lower, upper, body_fun, init_val):
    """val = body_fun(i, val) for i in range(lower, upper); the bounds may be Python ints or int tensors.

    >>> import tapegrad as tg
    >>> tg.lax.fori_loop(0, 3, lambda i, v: v + i, tg.tensor(0.0))
    tensor(3.)
    """
    from .ops.creation import as_tensor
    dt = importlib.import_module(".dtype", __package__)

    i0 = as_tensor(lower, dtype=dt.int64)
    hi = as_tensor(upper, dtype=dt.int64)

    def body(i, v):
        return i + 1, body_fun(i, v)

    return _C.while_loop(lambda i, v: i < hi, body, (i0, init_val), name="fori_loop")[1]


def cond(pred, true_fun, false_fun, *operands):
    """true_fun(*operands) if pred else false_fun(*operands).

    >>> import tapegrad as tg
    >>> tg.lax.cond(tg.tensor(True), lambda x: x + 1, lambda x: x - 1, tg.tensor(1.0))
    tensor(2.)
    """
    return _C.cond(pred, true_fun, false_fun, operands)


def switch(index, branches, *operands):
    """branches[clamp(index)](*operands)."""
    return _C.switch_case(index, branches, operands, name="switch")


def scan(f, init, xs=None, length=None, reverse=False):
    """carry, y = f(carry, x) over the leading axis of xs; returns (carry, ys stacked).

    >>> import tapegrad as tg
    >>> tg.lax.scan(lambda c, x: (c + x, c * x), tg.tensor(0.0), tg.tensor([1.0, 2.0, 3.0]))
    (tensor(6.), tensor([0., 2., 9.]))
    """
    dt = importlib.import_module(".dtype", __package__)
    from .ops.creation import as_tensor, zeros

    if xs is None and length is None:
        raise ValueError("scan: give xs or length (the number of steps)")
    n = int(length) if xs is None else int(xs.shape[0])
    if xs is not None and length is not None and int(length) != n:
        raise ValueError(f"scan: length={length} but xs has {n} rows along axis 0")
    x0 = xs[0] if xs is not None else None
    _, y0 = _probe(f, init, x0)
    ys0 = zeros(n, *y0.shape, dtype=y0.dtype)

    def body(i, carry, ys):
        k = (n - 1 - i) if reverse else i
        x = xs[k] if xs is not None else None
        carry, y = f(carry, x)
        ys = ys.index_put((k.reshape(1),), y.reshape((1,) + tuple(y.shape)))
        return i + 1, carry, ys

    i0 = as_tensor(0, dtype=dt.int64)
    _, carry, ys = _C.while_loop(lambda i, c, ys: i < n, body, (i0, init, ys0), name="scan")
    return carry, ys


def _probe(f, init, x0):
    """The shapes of f's outputs, from tracing it once abstractly."""
    from .trace.control import trace_subgraph
    from .trace.function import flatten, unflatten
    from .primitives.base import AVal
    from .tensor import Tensor

    args = (init, x0)
    leaves, struct, _ = flatten(args)
    g, _, out_struct = trace_subgraph(lambda *a: f(*a), [AVal(x.shape, x.dtype) for x in leaves], struct, "scan body")
    outs = unflatten(out_struct, [_Shape(v) for v in g.outputs])
    return outs


class _Shape:
    def __init__(self, v):
        self.shape, self.dtype = tuple(v.shape), v.dtype
