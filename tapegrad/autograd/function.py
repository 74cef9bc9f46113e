"""tg.autograd.Function: user-defined ops with a hand-written backward (PyTorch's API).

class Exp(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out
"""

from __future__ import annotations

import inspect
import weakref

from ..errors import GradError, user_frame
from . import engine
from .grad_mode import ANOMALY, STATE, no_grad


class FunctionCtx:
    """What forward() leaves for backward(): saved tensors, flags and any attributes the user sets."""

    _node = None  # weakref to the FunctionNode: a strong one would make a cycle (node.ctx is this ctx)

    def __init__(self):
        self._saved = ()
        self._saved_versions = ()
        self._freed = False
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._non_differentiable = set()
        self._dirty = set()

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors
        self._saved_versions = tuple(t._version.value if t is not None else None for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        node = (self._node and self._node()) or _Unrecorded
        if self._freed:
            raise GradError(engine._FREED_MESSAGE.format(node=node.name()))
        saved = tuple(t.unpack(node) if type(t) is _SavedOutput else t for t in self._saved)
        for i, (t, v) in enumerate(zip(saved, self._saved_versions)):
            if t is not None and t._version.value != v:
                raise engine._version_error(node, f"saved tensor {i}", v, t._version)
        return saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class FunctionNode(engine.Node):
    def __init__(self, cls, ctx, edges, outputs, in_dtypes, in_shapes):
        super().__init__(edges)
        self.cls, self.ctx, self.in_dtypes, self.in_shapes = cls, ctx, in_dtypes, in_shapes
        # one slot per forward output, tensor or not: backward gets a gradient (or None) for each
        self.num_outputs = len(outputs)
        self.out_meta = [(o.shape, o.dtype) if hasattr(o, "_data") else None for o in outputs]

    def name(self) -> str:
        return f"{self.cls.__name__}Backward"

    def apply(self, grads, create_graph):
        ctx = self.ctx
        if ctx.materialize_grads:
            from ..ops.creation import zeros

            grads = [
                g if g is not None or m is None else zeros(*m[0], dtype=m[1]) for g, m in zip(grads, self.out_meta)
            ]
        result = self.cls.backward(ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        n = len(self.edges)
        if len(result) < n or any(r is not None for r in result[n:]):
            raise GradError(
                f"{self.cls.__name__}.backward returned {len(result)} gradients, but forward took {n} inputs; "
                "return one gradient (or None) per forward argument"
            )
        return [self._check(i, r) for i, r in enumerate(result[:n])]

    def _check(self, i, g):
        if g is None or self.edges[i] is None:
            return None
        if not hasattr(g, "_data"):
            raise TypeError(
                f"{self.cls.__name__}.backward returned a {type(g).__name__} as the gradient of input {i}; a "
                "gradient must be a tapegrad Tensor (or None for no gradient): wrap it with tg.tensor(...)"
            )
        if tuple(g.shape) != tuple(self.in_shapes[i]):
            raise GradError(
                f"{self.name()} returned a gradient of shape {tuple(g.shape)} for input {i}, which "
                f"has shape {tuple(self.in_shapes[i])}; return one gradient per input with that input's shape"
            )
        dtype = self.in_dtypes[i]
        return g if g.dtype is dtype else g.to(dtype)  # as PyTorch, the gradient takes its input's dtype

    def release(self):
        self.ctx._freed = bool(self.ctx._saved)
        self.ctx._saved = ()


class Function:
    """Subclass with static forward(ctx, *args, **kwargs) and backward(ctx, *grads); call .apply(...)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise GradError("a Function subclass must define a static forward(ctx, *args) method")

    @staticmethod
    def backward(ctx, *grads):
        raise GradError("this Function has no backward(ctx, *grads) method, so it cannot be differentiated")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor

        if kwargs:  # bind keyword arguments to their positions so that each gets its gradient
            args = tuple(inspect.signature(cls.forward).bind(None, *args, **kwargs).arguments.values())[1:]
            kwargs = {}
        ctx = FunctionCtx()
        tensor_args = [a if isinstance(a, Tensor) else None for a in args]
        ctx.needs_input_grad = tuple(a is not None and a._rg for a in tensor_args)
        with no_grad():
            out = cls.forward(ctx, *args)
        outs = out if isinstance(out, tuple) else (out,)
        record = STATE.enabled and any(ctx.needs_input_grad)
        if not record:
            return out
        edges = [engine.edge_of(a) if a is not None else None for a in tensor_args]
        node = FunctionNode(
            cls, ctx, edges, outs, [a.dtype if a is not None else None for a in tensor_args],
            [a.shape if a is not None else None for a in tensor_args],
        )
        ctx._node = weakref.ref(node)
        if ANOMALY.watch is not None:  # anomaly mode: an error from backward() names this line
            node.site = user_frame()
        wrapped, attached = [], {}
        for nr, o in enumerate(outs):
            if isinstance(o, Tensor):
                differentiable = id(o) not in ctx._non_differentiable and o.dtype.is_floating_point
                o = _own(o, args, ctx)
                if differentiable:
                    o._rg, o.grad_fn, o._output_nr = True, node, nr
                    attached[id(o)] = nr
            wrapped.append(o)
        if attached and ctx._saved:
            ctx._saved = tuple(_SavedOutput(t, attached[id(t)]) if id(t) in attached else t for t in ctx._saved)
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]


class _Unrecorded:
    """Stands in for the node in messages when none was recorded."""

    @staticmethod
    def name():
        return "a custom Function"


class _SavedOutput:
    """An output of the Function saved for backward. It is held without its grad_fn, which is the node
    that holds this ctx (a reference cycle, freed only by the garbage collector, otherwise); unpacking
    rebuilds the tensor with that node as grad_fn, so that create_graph differentiates through it."""

    __slots__ = ("_data", "_version", "nr")

    def __init__(self, t, nr):
        self._data, self._version, self.nr = t._data, t._version, nr

    def unpack(self, node):
        from ..tensor import Tensor

        t = Tensor._make(self._data)
        t._version = self._version
        if node is not _Unrecorded:
            t._rg, t.grad_fn, t._output_nr = True, node, self.nr
        return t


def _own(o, args, ctx):
    """An output that is one of the inputs: marked dirty (changed in place by forward), it keeps its
    identity and its history is rebased onto this Function, as in PyTorch; otherwise it is returned as
    a new tensor object sharing storage, so that attaching history does not change the caller's input."""
    if not any(o is a for a in args):
        return o
    if id(o) in ctx._dirty:
        if o.is_leaf and o._rg:
            raise GradError(
                "a leaf tensor that requires grad was changed in place by a Function (mark_dirty); autograd "
                "differentiates with respect to its old value. Pass a clone, or modify it under tg.no_grad()"
            )
        return o
    return o.detach()


def once_differentiable(fn):
    """Decorator for backward(): marks that it is not itself differentiable (kept for API parity)."""
    return fn
