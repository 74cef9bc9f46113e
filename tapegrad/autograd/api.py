"""The PyTorch-style entry points into the engine: backward() and grad()."""

from __future__ import annotations

from ..errors import GradError
from . import engine


def _as_tuple(x):
    if x is None:
        return ()
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _root_grads(outputs, grad_outputs, create_graph):
    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out._rg:
            raise GradError(
                f"element {i} of the outputs does not require grad and has no grad_fn: nothing it was computed "
                "from requires grad, or it was computed under no_grad / after detach(). "
                "tg.autograd.explain(output, input) says which."
            )
        if g is None:
            if out.numel() != 1:
                raise GradError(
                    f"grad can be implicitly created only for scalar outputs, but output {i} has shape "
                    f"{tuple(out.shape)}. Pass gradient= (for backward) or grad_outputs= (for autograd.grad), "
                    "e.g. tg.ones_like(output), or reduce the output with .sum() first"
                )
            g = out.ones_like()
        else:
            from ..ops.creation import as_tensor

            g = as_tensor(g, dtype=out.dtype)
            if tuple(g.shape) != tuple(out.shape):
                raise GradError(
                    f"mismatch in shape: grad_output[{i}] has shape {tuple(g.shape)} and output[{i}] has shape "
                    f"{tuple(out.shape)}; they must be equal"
                )
        grads.append(g if create_graph else g.detach())
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate gradients of `tensors` into `.grad` of the leaves (or of `inputs` only)."""
    outputs = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) or (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise ValueError(
            f"backward: got {len(outputs)} tensors and {len(grads)} gradients; give one gradient per tensor "
            "(None for a scalar)"
        )
    retain = create_graph if retain_graph is None else retain_graph
    roots = [engine.edge_of(o) if o._rg else None for o in outputs]
    root_grads = _root_grads(outputs, grads, create_graph)
    if inputs is None:
        engine.run_backward(roots, root_grads, retain, create_graph)
        return
    inputs = _as_tuple(inputs)
    captured = _captured(roots, root_grads, inputs, retain, create_graph)
    for t, g in zip(inputs, captured):
        if g is not None:
            if t.grad is not None:
                t.grad = t.grad + (g if create_graph else g.detach())
            else:  # a copy, so that .grad never shares memory with another tensor (see engine._finish_leaf)
                t.grad = g if create_graph else g.detach().clone()


def _captured(roots, root_grads, inputs, retain, create_graph):
    edges = []
    for i, t in enumerate(inputs):
        if not t._rg:
            raise GradError(
                f"input {i} (shape {tuple(t.shape)}) does not require grad, so no graph was recorded with respect to "
                "it; call .requires_grad_() on it before computing the outputs"
            )
        edges.append(engine.edge_of(t))
    got = engine.run_backward(roots, root_grads, retain, create_graph, inputs=edges, accumulate=False)
    return [got[(id(e[0]), e[1])] for e in edges]


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    allow_unused=None,
    materialize_grads=False,
    is_grads_batched=False,
):
    """Gradients of outputs with respect to inputs, returned (not accumulated into `.grad`).

    Args:
        outputs: tensor or sequence of tensors to differentiate.
        inputs: tensor or sequence of tensors to differentiate with respect to.
        grad_outputs: the vector in the vector-Jacobian product (required for non-scalar outputs).
        retain_graph: keep saved values for another backward (defaults to create_graph).
        create_graph: record the backward pass so that the result can be differentiated again.
        allow_unused: return None (or zeros with materialize_grads) for inputs that outputs do not use.
    Returns:
        a tuple with one gradient per input.

    >>> import tapegrad as tg
    >>> x = tg.tensor(3.0, requires_grad=True)
    >>> (dx,) = tg.autograd.grad(x ** 3, x, create_graph=True)
    >>> tg.autograd.grad(dx, x)[0]
    tensor(18.)
    """
    if is_grads_batched:
        raise ValueError("is_grads_batched=True needs vmap; use tg.vmap over autograd.grad once it is available")
    outs, ins = _as_tuple(outputs), _as_tuple(inputs)
    gouts = _as_tuple(grad_outputs) or (None,) * len(outs)
    if len(gouts) != len(outs):
        raise ValueError(f"grad: {len(outs)} outputs but {len(gouts)} grad_outputs; give one per output")
    if allow_unused is None:
        allow_unused = materialize_grads
    retain = create_graph if retain_graph is None else retain_graph
    roots = [engine.edge_of(o) for o in outs]
    captured = _captured(roots, _root_grads(outs, gouts, create_graph), ins, retain, create_graph)
    result = []
    for i, (t, g) in enumerate(zip(ins, captured)):
        if g is None:
            if not allow_unused and not materialize_grads:
                raise GradError(
                    f"one of the differentiated tensors (input {i}, shape {tuple(t.shape)}) appears to not have "
                    "been used in the graph. Set allow_unused=True if this is the desired behavior; "
                    "tg.autograd.explain(output, input) says why it is not connected"
                )
            g = t.zeros_like() if materialize_grads else None
        result.append(g)
    return tuple(result)
