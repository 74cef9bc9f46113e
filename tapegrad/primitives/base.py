"""The primitive table: Primitive base class, the PRIMITIVES registry and bind().

Every operation of tapegrad reaches a backend through `bind(prim, *inputs, **params)`. Eager
mode (autograd/engine.py) and, later, tracers install themselves as the interpreter bind calls.
"""

from __future__ import annotations

import threading
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


# Op families (Primitive.family): what a backend may do with a primitive without knowing its name.
UNARY = "unary"  # elementwise, one input
BINARY = "binary"  # elementwise, two inputs of one shape
SELECT = "select"  # elementwise where(cond, x, y)
REDUCTION = "reduction"  # over some axes
MOVEMENT = "movement"  # reshape, permute, expand, slice, pad, concat, ...: moves elements, computes none
INDEXING = "indexing"  # gathers and scatters with index tensors
LINALG = "linalg"  # matmul, unfold/fold, decompositions
RANDOM = "random"  # draws from a key
CONTROL = "control"  # structured control flow holding sub-graphs (while, switch)
COLLECTIVE = "collective"  # communicates with the other processes (primitives/collective.py): never folded
OTHER = "other"
FAMILIES = (UNARY, BINARY, SELECT, REDUCTION, MOVEMENT, INDEXING, LINALG, RANDOM, CONTROL, COLLECTIVE, OTHER)
ELEMENTWISE = (UNARY, BINARY, SELECT)
CHEAP_COST, COSTLY_COST = 1, 8  # Primitive.cost of an add or a load; of exp, log, div, tanh, ...


class Primitive:
    """One operation with all its rules side by side.

    Subclasses define:
      shape(*avals, **params) -> AVal        abstract evaluation (tracing, tests, error messages)
      vjp(g, *xs, out, **params) -> tuple     one cotangent per input (None = zero), tapegrad ops only
      jvp(dxs, xs, out, **params) -> tangent  forward mode; dxs[i] is None for a zero tangent
      batch(xs, bdims, **params) -> (out, out_bdim)  vmap: bdims[i] is the mapped axis of xs[i] or None
                                              (helpers in batching.py)
    and the numpy backend supplies `impl`. Inputs that are not in `saves` reach vjp as AVals.
    """

    name: str = ""
    saves: tuple = ()  # indices of inputs the vjp rule reads
    saves_out: bool | tuple = False  # whether the vjp rule reads `out`; a tuple: only for these inputs' cotangents
    differentiable: bool = True  # False: outputs never require grad (comparisons, argmax, ...)
    is_view: bool = False  # the numpy backend returns a view of input 0 (shares storage)
    multiple_results: bool = False  # the implementation returns a list of arrays, one per output
    vjp_needs: bool = False  # vjp takes needs (one truthy/falsy entry per input) and may return None where falsy
    vjp_reads_inputs: bool = True  # False: vjp gets None for every input (add, sub, neg use only g)
    impl: Any = None  # the eager implementation on numpy arrays, installed by the backends (backends/base.py)
    # A backend's kernel for vjp on arrays (backends/numpy.py VJPS), run by eager backward passes that build no
    # graph; None: the vjp rule runs. Must agree with vjp (tests/primitives/test_vjp_kernels.py).
    vjp_impl: Any = None
    # Properties that backends and passes read instead of keeping lists of names (backends/base.py):
    family: str = OTHER  # one of FAMILIES
    float_only: bool = False  # defined on floating inputs only (exp, isnan, ...); other dtypes are promoted first
    fusable: bool = False  # a fusing backend may compute it inside a kernel (it then needs a template for it)
    cost: int = CHEAP_COST  # rough work per element, in units of one load or add (CHEAP_COST / COSTLY_COST)

    def shape(self, *avals, **params) -> AVal:
        raise NotImplementedError(f"primitive {self.name} has no shape rule")

    def vjp(self, g, *xs, out, **params):
        raise NotImplementedError(f"primitive {self.name} has no vjp rule")

    def jvp(self, dxs, xs, out, **params):
        raise NotImplementedError(f"primitive {self.name} has no jvp rule")

    def batch(self, xs, bdims, **params):
        raise NotImplementedError(
            f"primitive {self.name} has no batching rule, so vmap cannot map over it; add `batch` to its class"
        )

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
    # NOTE: the engine reads these once or more per eager op (autograd/engine.py); an attribute of the instance is
    # found in a quarter of the time a class attribute takes through it (Python 3.11 specialises only the former)
    for attr in _READ_PER_OP:
        setattr(prim, attr, getattr(cls, attr))
    PRIMITIVES[cls.name] = prim
    return prim


_READ_PER_OP = ("saves", "saves_out", "differentiable", "is_view", "vjp_needs", "vjp_reads_inputs", "family",
                "multiple_results")


# *** interpreters: how transforms (forward mode, vmap, tracing) take over bind() ***
#
# Levels, as in Autodidax: every active transform is an Interpreter with a `level` (its position
# in INTERPRETERS). A value that a transform owns is a Tensor whose `_interp` is that interpreter
# (plain tensors have `_interp = None`, level 0: eager). bind() hands the primitive to the
# innermost interpreter among its inputs, which computes with the values one level down (by
# calling bind again on them) and wraps the results. A "dynamic" interpreter (a tracer building a
# Graph) also claims primitives whose inputs are all plain, so constants inside a traced function
# are recorded too. Eager evaluation (autograd/engine.py) is what remains at the bottom.



class ThreadStack(threading.local):
    """A stack with one list per thread. Transforms, scopes and grad mode belong to the thread that entered them
    (as PyTorch's grad mode and JAX's trace state do): a tracer in one thread must not claim the eager ops of
    another. Supports what the call sites use: truth, len, indexing, iteration, append, pop, remove."""

    def __init__(self):
        self.items = []

    def __bool__(self):
        return bool(self.items)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def __iter__(self):
        return iter(self.items)

    def __reversed__(self):
        return reversed(self.items)

    def __eq__(self, other):
        return self.items == (other.items if isinstance(other, ThreadStack) else other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"ThreadStack({self.items!r})"

    def append(self, x):
        self.items.append(x)

    def pop(self):
        return self.items.pop()

    def remove(self, x):
        self.items.remove(x)


INTERPRETERS = ThreadStack()  # active interpreters, outermost first; INTERPRETERS[i].level == i + 1
DYNAMIC = ThreadStack()  # the innermost dynamic interpreter is DYNAMIC[-1] (claims plain inputs too)
# Module scopes active while tracing, innermost last: (module, path). nn.Module.__call__ pushes one only when
# DYNAMIC is non-empty (nothing in eager mode); the tracer records the path on each equation (Eqn.scope).
SCOPE = ThreadStack()
_eager_apply = None  # set by autograd/engine.py at import
# eager_apply for two operands / one operand and no params, which the operators and the float methods call
# directly (ops/__init__.py); anomaly mode swaps all three (autograd/anomaly.py)
_eager_binary = _eager_unary = None
# Interpreters active in all threads together. bind() tests this plain number before INTERPRETERS, whose truth test
# reads a thread-local (about 0.1 us, on every eager op); it changes only when an interpreter enters or exits.
_ANYWHERE = [0]
_ANYWHERE_LOCK = threading.Lock()


def _count_interpreter(delta: int) -> None:
    with _ANYWHERE_LOCK:
        _ANYWHERE[0] += delta


class Interpreter:
    """Base of transforms that process primitives: subclasses define process(prim, args, params).

    `args` may mix this interpreter's tensors, lower-level tensors and plain tensors; `lift(x)`
    turns a lower-level value into one of this interpreter's (e.g. a zero tangent, an unbatched
    value). Use `with interpreter:` to push and pop it.
    """

    level = 0
    dynamic = False

    def process(self, prim, args, params):
        raise NotImplementedError(f"{type(self).__name__} must define process()")

    def __enter__(self):
        INTERPRETERS.append(self)
        _count_interpreter(+1)
        self.level = len(INTERPRETERS)
        if self.dynamic:
            DYNAMIC.append(self)
        return self

    def __exit__(self, *exc):
        INTERPRETERS.remove(self)
        _count_interpreter(-1)
        if self.dynamic:
            DYNAMIC.remove(self)
        return False


def top_interpreter(args):
    """The innermost interpreter owning one of args (or the innermost dynamic one), else None."""
    top = DYNAMIC[-1] if DYNAMIC else None
    for a in args:
        it = a._interp
        if it is not None and (top is None or it.level > top.level):
            top = it
    return top


def bind(prim: Primitive, *args, **params):
    """Apply a primitive to Tensors: the single entry point from the front end to the backends."""
    if _ANYWHERE[0] and INTERPRETERS:
        top = top_interpreter(args)
        if top is not None:
            return top.process(prim, args, params)
    return _eager_apply(prim, args, params)


def same_shape(op: str, *avals: AVal) -> AVal:
    first = avals[0]
    for a in avals[1:]:
        if a.shape != first.shape:
            shapes = ", ".join(str(x.shape) for x in avals)
            raise ValueError(f"{op}: operands must have one shape after broadcasting, got {shapes}")
    return first
