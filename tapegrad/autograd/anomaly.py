"""Anomaly mode: name the primitive whose forward or backward first made a NaN (or an Inf), and the user's line.

PyTorch's spelling (set_detect_anomaly, detect_anomaly, is_anomaly_enabled) and JAX's (func/flags.py:
jax_debug_nans, jax_debug_infs, debug_nans, debug_infs) set one per-thread state, grad_mode.ANOMALY.

Off, it costs nothing per op: bind() calls engine.eager_apply directly. While some thread has it on, bind()
calls checked_eager_apply, which checks for the threads that asked only, and a backward sweep that starts in
anomaly mode runs each node through checked_run_node (run_backward reads the state once per sweep).
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from ..dtype import FLOAT
from ..errors import AnomalyError, user_frame
from ..tensor import Tensor
from ..primitives import base
from . import engine
from .grad_mode import ANOMALY

_LOCK = threading.Lock()
_threads_on = 0  # threads whose state watches something; bind() goes through checked_eager_apply while > 0

_CAUSES = {
    "NaN": "log or sqrt of a negative number, 0/0, inf - inf or 0 * inf. Fix: keep the input inside the op's "
           "domain (clamp it, add an epsilon) or mask it before the op, not after",
    "Inf": "a division by zero, log(0), or exp of a large number. Fix: add an epsilon to the divisor or to log's "
           "input, or use a stable form (logsumexp, log_softmax, binary_cross_entropy_with_logits)",
}


def set_anomaly_fields(**fields) -> dict:
    """Set some of this thread's switches (the fields of grad_mode._AnomalyState); returns their old values."""
    global _threads_on
    prev = {k: getattr(ANOMALY, k) for k in fields}
    was_on = ANOMALY.watch is not None
    for k, v in fields.items():
        setattr(ANOMALY, k, v)
    a = ANOMALY
    on = a.detect or a.debug_nans or a.debug_infs
    a.watch = ((a.detect and a.check_nan) or a.debug_nans, a.debug_infs) if on else None
    if on != was_on:
        with _LOCK:
            _threads_on += 1 if on else -1
            # NOTE: a thread that ends with anomaly mode on leaves the checked path installed; it still checks
            # only for the threads whose own state asks, so this costs time, never correctness.
            if _threads_on:
                base._eager_apply, base._eager_binary, base._eager_unary = checked_eager_apply, _binary, _unary
            else:
                base._eager_apply, base._eager_binary, base._eager_unary = (
                    engine.eager_apply, engine.eager_binary, engine.eager_unary)
    return prev


class AnomalySetting:
    """Sets some anomaly switches of this thread inside a `with` block (or a decorated function), then restores them."""

    def __init__(self, **fields):
        self._fields = fields

    def __enter__(self):
        self._prev = set_anomaly_fields(**self._fields)
        return self

    def __exit__(self, *exc):
        set_anomaly_fields(**self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with AnomalySetting(**self._fields):  # a fresh one per call, so that recursion and threads nest
                return fn(*args, **kwargs)

        return wrapper


class detect_anomaly(AnomalySetting):
    """Anomaly mode inside a `with` block or a decorated function (PyTorch's `torch.autograd.detect_anomaly`).

    Each Node records the user's line that made its forward op; with check_nan (the default) a forward op or a
    backward rule whose output holds NaN raises AnomalyError naming the primitive and that line, and any error
    raised by a backward rule gets a note naming the line. It slows every op: use it to debug only.

    >>> import tapegrad as tg
    >>> x = tg.tensor([0.0], requires_grad=True)
    >>> with tg.autograd.detect_anomaly():
    ...     y = (x.sqrt() * 0).sum()
    ...     y.backward()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tapegrad.errors.AnomalyError: anomaly mode: the backward of primitive 'sqrt' (SqrtBackward) returned NaN ...
    """

    def __init__(self, check_nan: bool = True):
        super().__init__(detect=True, check_nan=bool(check_nan))


class set_detect_anomaly(AnomalySetting):
    """Turns anomaly mode on or off for this thread at once (PyTorch's `torch.autograd.set_detect_anomaly`); as a
    context manager it restores the previous state on exit."""

    def __init__(self, mode: bool, check_nan: bool = True):
        super().__init__(detect=bool(mode), check_nan=bool(check_nan))
        self._prev = set_anomaly_fields(**self._fields)

    def __enter__(self):
        return self

    def __call__(self, fn):
        set_anomaly_fields(**self._prev)  # used as a decorator: the mode applies only inside fn
        return super().__call__(fn)


def is_anomaly_enabled() -> bool:
    """Whether PyTorch's anomaly mode is on in this thread."""
    return ANOMALY.detect


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks for NaN (its check_nan argument)."""
    return ANOMALY.check_nan


# *** the checks ***


def _has(data, what: str) -> bool:
    return bool(np.isnan(data).any() if what == "NaN" else np.isinf(data).any())


def _found(t, watch):
    """'NaN' or 'Inf' when tensor t holds one that watch (check NaN, check Inf) looks for, else None."""
    if t is None:
        return None
    if isinstance(t, np.ndarray):  # a cotangent from a backward kernel (engine.PrimNode._swept)
        t = Tensor._make(t)
    if t.dtype.category != FLOAT:
        return None
    for what, on in zip(("NaN", "Inf"), watch):
        if on and _has(t._data, what):
            return what
    return None


def checked_eager_apply(prim, args, params):
    """eager_apply, then, for a thread in anomaly mode, note the user's line on the new Node and check the output."""
    out = engine.eager_apply(prim, args, params)
    watch = ANOMALY.watch
    if watch is None or (engine.APPLYING and engine.APPLYING[-1] is not None):
        return out  # off in this thread; or inside a vjp rule, where checked_run_node names the rule instead
    site = user_frame()
    if out.grad_fn is not None:
        out.grad_fn.site = site
    what = _found(out, watch)
    if what:
        raise _forward_error(prim, args, what, site)
    return out


def _binary(prim, x, y):  # what the operators call (base._eager_binary) in anomaly mode
    return checked_eager_apply(prim, (x, y), engine._NO_PARAMS)


def _unary(prim, x):  # what the float methods call (base._eager_unary) in anomaly mode
    return checked_eager_apply(prim, (x,), engine._NO_PARAMS)


def _forward_error(prim, args, what, site):
    came_in = [i for i, a in enumerate(args) if a.dtype.category == FLOAT and _has(a._data, what)]
    if came_in:
        cause = (f"Its input {came_in[0]} already held {what}, made where anomaly mode does not look: in your data, "
                 "before anomaly mode was turned on, in another thread, or inside a tg.jit function")
    else:
        cause = f"Its inputs held no {what}, so this op made it: {_CAUSES[what]}"
    return AnomalyError(f"anomaly mode: the forward of primitive {prim.name!r} produced {what} at {site}. {cause}.")


def checked_run_node(node, grads, *rest):
    """engine._run_node in anomaly mode: check the input cotangents the rule returned, and add the forward op's
    line to any error the rule raises."""
    try:
        in_grads = engine._run_node(node, grads, *rest)
    except Exception as e:
        if node.site is not None and not isinstance(e, AnomalyError):
            e.add_note(f"anomaly mode: the forward op of {node.name()} was made at {node.site}")
        raise
    watch = ANOMALY.watch
    if in_grads is None or watch is None:
        return
    for i, g in enumerate(in_grads):
        what = _found(g, watch)
        if what:
            raise _backward_error(node, i, what, grads)


def _backward_error(node, i, what, grads):
    prim = getattr(node, "prim", None)
    op = f"primitive {prim.name!r} ({node.name()})" if prim is not None else node.name()
    made = f"its forward op was made at {node.site}" if node.site else "its forward op was made outside anomaly mode"
    if any(_found(g, (what == "NaN", what == "Inf")) for g in grads or ()):
        cause = (f"The gradient flowing into it already held {what}: it came from the gradient passed to backward() "
                 "or from a hook")
    else:
        cause = ("Typically a derivative that is infinite at the input (sqrt or log at 0, x ** 0.5 at 0) times a zero "
                 "gradient, e.g. the side tg.where did not select. Fix: keep the input away from that point "
                 "(sqrt(x + eps)), or apply tg.where to the op's input as well as to its output")
    return AnomalyError(
        f"anomaly mode: the backward of {op} returned {what} in the gradient of its input {i}; {made}. {cause}."
    )


def check_compiled(name: str, outputs) -> None:
    """Check the outputs of a tg.jit function, whose ops run compiled, out of sight of the per-op checks."""
    from ..func.tree_util import tree_leaves

    watch = ANOMALY.watch
    for t in tree_leaves(outputs):
        what = _found(t, watch) if hasattr(t, "_data") else None
        if what:
            raise AnomalyError(
                f"anomaly mode: an output of the tg.jit function {name!r} holds {what}, called at {user_frame()}. "
                "Compiled code is checked at its outputs only; call the Python function itself (without tg.jit) "
                "in anomaly mode to have the primitive that made it named, with its line."
            )
