"""The primitive table: Primitive base class, the PRIMITIVES registry and bind().

Every operation of tapegrad reaches a backend through `bind(prim, *inputs, **params)`. Eager
mode (autograd/engine.py) and, later, tracers install themselves as the interpreter bind calls.
"""

from __future__ import annotations

from typing import Any

from ..dtype import DType


class AVal:
    """An abstract value: what a shape rule sees, and what a vjp rule gets for an input it did not save."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype: DType):
        self.shape, self.dtype = tuple(shape), dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"AVal({self.shape}, {self.dtype.name})"


class Primitive:
    """One operation with all its rules side by side.

    Subclasses define:
      shape(*avals, **params) -> AVal        abstract evaluation (tracing, tests, error messages)
      vjp(g, *xs, out, **params) -> tuple     one cotangent per input (None = zero), tapegrad ops only
      jvp(dxs, xs, out, **params) -> tangent  forward mode; dxs[i] is None for a zero tangent
    and the numpy backend supplies `impl`. Inputs that are not in `saves` reach vjp as AVals.
    """

    name: str = ""
    saves: tuple = ()  # indices of inputs the vjp rule reads
    saves_out: bool = False  # whether the vjp rule reads `out`
    differentiable: bool = True  # False: outputs never require grad (comparisons, argmax, ...)
    is_view: bool = False  # the numpy backend returns a view of input 0 (shares storage)
    vjp_needs: bool = False  # vjp takes needs=[bool per input] and may return None where False
    vjp_reads_inputs: bool = True  # False: vjp gets None for every input (add, sub, neg use only g)
    impl: Any = None  # the numpy implementation, installed by backends/numpy.py

    def shape(self, *avals, **params) -> AVal:
        raise NotImplementedError(f"primitive {self.name} has no shape rule")

    def vjp(self, g, *xs, out, **params):
        raise NotImplementedError(f"primitive {self.name} has no vjp rule")

    def jvp(self, dxs, xs, out, **params):
        raise NotImplementedError(f"primitive {self.name} has no jvp rule")

    def __repr__(self) -> str:
        return self.name


class SavesFrom:
    """`saves` for variadic primitives: every input from index `start` on (e.g. index tensors)."""

    def __init__(self, start: int):
        self.start = start

    def __contains__(self, i: int) -> bool:
        return i >= self.start

    def __iter__(self):
        raise TypeError("SavesFrom is only tested with `in`")


PRIMITIVES: dict[str, Primitive] = {}


def register(cls):
    """Class decorator: instantiate the primitive and add it to the table under cls.name."""
    if not cls.name:
        cls.name = cls.__name__.lower()
    if cls.name in PRIMITIVES:
        raise ValueError(f"primitive {cls.name} registered twice")
    prim = cls()
    PRIMITIVES[cls.name] = prim
    return prim


# The interpreter stack. Empty: eager evaluation by autograd/engine.py. A tracer or a forward-mode
# transform pushes an object with `process(prim, args, params)` and pops it when done.
INTERPRETERS: list = []
_eager_apply = None  # set by autograd/engine.py at import


def bind(prim: Primitive, *args, **params):
    """Apply a primitive to Tensors: the single entry point from the front end to the backends."""
    if INTERPRETERS:
        return INTERPRETERS[-1].process(prim, args, params)
    return _eager_apply(prim, args, params)


def same_shape(op: str, *avals: AVal) -> AVal:
    first = avals[0]
    for a in avals[1:]:
        if a.shape != first.shape:
            shapes = ", ".join(str(x.shape) for x in avals)
            raise ValueError(f"{op}: operands must have one shape after broadcasting, got {shapes}")
    return first
