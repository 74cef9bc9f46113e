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

from ..errors import GradError
from . import engine
from .grad_mode import STATE, no_grad


class FunctionCtx:
    """What forward() leaves for backward(): saved tensors, flags and any attributes the user sets."""

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
        if self._freed:
            node = getattr(self, "_node", None)
            raise GradError(engine._FREED_MESSAGE.format(node=node.name() if node else "a custom Function"))
        for i, (t, v) in enumerate(zip(self._saved, self._saved_versions)):
            if t is not None and t._version.value != v:
                raise engine._version_error(self._node, f"saved tensor {i}", v, t._version)
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class FunctionNode(engine.Node):
    def __init__(self, cls, ctx, edges, outputs):
        super().__init__(edges)
        self.cls, self.ctx = cls, ctx
        self.num_outputs = len(outputs)
        self.out_meta = [(o.shape, o.dtype) for o in outputs]

    def name(self) -> str:
        return f"{self.cls.__name__}Backward"

    def apply(self, grads, create_graph):
        ctx = self.ctx
        if ctx.materialize_grads:
            from ..ops.creation import zeros

            grads = [g if g is not None else zeros(*shape, dtype=d) for g, (shape, d) in zip(grads, self.out_meta)]
        result = self.cls.backward(ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        n = len(self.edges)
        if len(result) < n or any(r is not None for r in result[n:]):
            raise GradError(
                f"{self.cls.__name__}.backward returned {len(result)} gradients, but forward took {n} inputs; "
                "return one gradient (or None) per forward argument"
            )
        return result[:n]

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
        node = FunctionNode(cls, ctx, edges, [o for o in outs if isinstance(o, Tensor)])
        ctx._node = node
        wrapped = []
        nr = 0
        for o in outs:
            if isinstance(o, Tensor):
                o = _own(o, args)
                if id(o) not in ctx._non_differentiable and o.dtype.is_floating_point:
                    o._rg, o.grad_fn, o._output_nr = True, node, nr
                nr += 1
            wrapped.append(o)
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]


def _own(o, args):
    """An output that is one of the inputs is returned as a new tensor object (a view), so that
    attaching the history does not change the caller's input."""
    if any(o is a for a in args):
        return o.detach()
    return o


def once_differentiable(fn):
    """Decorator for backward(): marks that it is not itself differentiable (kept for API parity)."""
    return fn
