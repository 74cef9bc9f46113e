"""TensorFlow's top-level math and utility names (tf.sigmoid, tf.equal, tf.where, tf.print, ...).

Most are tf.math's functions re-exported at the top level, as TensorFlow does; the rest are small.
"""

from __future__ import annotations

import builtins

import numpy as np

from .. import ops as _ops
from ..tensor import Tensor
from .math import (  # noqa: F401
    abs,
    add,
    cos,
    cosh,
    divide,
    equal,
    exp,
    floor,
    floordiv,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,
    round,
    sign,
    sigmoid,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    truediv,
)
from .names import convert_to_tensor as _t

newaxis = None


def where(condition, x=None, y=None, name=None):
    """Elements of x where condition, else y; with only condition, the coordinates where it holds (int64)."""
    c = _t(condition)
    if x is None and y is None:
        return _ops.argwhere(c)
    if x is None or y is None:
        raise ValueError("tf.where: give both x and y, or neither")
    return _ops.where(c, _t(x), _t(y))


def einsum(equation, *inputs, **kwargs):
    return _ops.einsum(equation, *[_t(x) for x in inputs])


def eye(num_rows, num_columns=None, batch_shape=None, dtype=None, name=None):
    from .linalg import eye as f

    return f(num_rows, num_columns, batch_shape, dtype)


def linspace(start, stop, num, name=None, axis=0):
    return _ops.linspace(float(start), float(stop), int(num))


def broadcast_to(input, shape, name=None):
    return _t(input).expand(tuple(int(s) for s in shape))


def boolean_mask(tensor, mask, axis=None, name=None):
    t, m = _t(tensor), _t(mask)
    return t[m]


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def executing_eagerly() -> bool:
    """False while a tf.function is being traced, True otherwise (as in TensorFlow)."""
    from ..trace.tracer import current_tracer

    return current_tracer() is None


def print(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None):  # noqa: A001
    """Print tensors by value (eagerly; inside a trace, the symbolic description)."""
    parts = [np.array2string(x.numpy()) if isinstance(x, Tensor) and executing_eagerly() else str(x) for x in inputs]
    builtins.print(*parts, sep=sep, end=end)



class TensorShape(tuple):
    """A tensor's shape: a tuple whose entries may be None (unknown)."""

    def __new__(cls, dims):
        return super().__new__(cls, () if dims is None else tuple(None if d is None else int(d) for d in dims))

    @property
    def rank(self):
        return len(self)

    def as_list(self):
        return list(self)

    def is_fully_defined(self):
        return all(d is not None for d in self)



class debugging:  # noqa: N801  (tf.debugging)
    @staticmethod
    def check_numerics(tensor, message, name=None):
        from .errors import InvalidArgumentError

        t = _t(tensor)
        if not bool(_ops.isfinite(t).all()):
            raise InvalidArgumentError(f"{message} : Tensor had NaN or Inf values")
        return t

    @staticmethod
    def assert_equal(x, y, message=None, summarize=None, name=None):
        from .errors import InvalidArgumentError

        if not bool((_t(x) == _t(y)).all()):
            raise InvalidArgumentError(message or f"assert_equal failed: {x} != {y}")

    @staticmethod
    def assert_rank(x, rank, message=None, name=None):
        if _t(x).ndim != rank:
            raise ValueError(message or f"assert_rank: tensor has rank {_t(x).ndim}, expected {rank}")

    @staticmethod
    def set_log_device_placement(enabled) -> None:
        """Accepted: every op runs on the CPU."""


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("annotations", "builtins", "np")]
