"""Full backward hooks of a Module: identity Functions around the module's tensor inputs and outputs.

The output identity sees grad_output (and runs the backward pre-hooks); the input identity sees
grad_input and then runs the backward hooks with both. Used by Module._call_with_hooks.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..tensor import Tensor


class BackwardHookState:
    """The gradients of one call of a module, shared by the two identity Functions."""

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.n_inputs = 0
        self.input_positions = []  # positions in args of the tensors that were wrapped

    def wrap_inputs(self, args):
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not positions or not STATE.enabled:
            return args
        self.n_inputs, self.input_positions = len(args), positions
        wrapped = _Identity.apply(self._on_grad_input, *(args[i] for i in positions))
        wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
        args = list(args)
        for i, w in zip(positions, wrapped):
            args[i] = w
        return tuple(args)

    def wrap_outputs(self, out):
        tensors = [o for o in (out if isinstance(out, tuple) else (out,)) if isinstance(o, Tensor) and o.requires_grad]
        if not tensors:
            return out
        wrapped = _Identity.apply(self._on_grad_output, *tensors)
        wrapped = list(wrapped) if isinstance(wrapped, tuple) else [wrapped]
        if not isinstance(out, tuple):
            return wrapped[0]
        return tuple(wrapped.pop(0) if isinstance(o, Tensor) and o.requires_grad else o for o in out)

    def _on_grad_output(self, grads):
        for hook in list(self.module._backward_pre_hooks.values()):
            new = hook(self.module, grads)
            if new is not None:
                grads = tuple(new) if isinstance(new, (tuple, list)) else (new,)
        self.grad_output = grads
        if not self.input_positions:  # no input needs a gradient: the hooks run now, with grad_input all None
            self._run_hooks((None,) * max(self.n_inputs, 1))
        return grads

    def _on_grad_input(self, grads):
        full = [None] * self.n_inputs
        for i, g in zip(self.input_positions, grads):
            full[i] = g
        new = self._run_hooks(tuple(full))
        return tuple(new[i] for i in self.input_positions) if new is not None else grads

    def _run_hooks(self, grad_input):
        result = None
        for hook in list(self.module._backward_hooks.values()):
            new = hook(self.module, grad_input, self.grad_output)
            if new is not None:
                new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
                if len(new) != len(grad_input):
                    raise ValueError(
                        f"backward hook of {type(self.module).__name__} returned {len(new)} gradients, but the "
                        f"module has {len(grad_input)} inputs; return one per input (None to leave it)"
                    )
                grad_input = result = new
        return result


class _Identity(Function):
    """Passes tensors through unchanged; its backward hands the gradients to a callback and returns what
    that gives back."""

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        out = tuple(t.detach() for t in tensors)
        return out if len(out) > 1 else out[0]

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.callback(grads))
