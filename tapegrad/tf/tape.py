"""tg.GradientTape: TensorFlow's tape as a recording scope over the one engine (autograd/engine.py).

Variables (trainable) require grad, so the engine records ops on them anyway; a tensor given to
`watch` has its requires-grad flag raised while the tape is open (and lowered again when the last
tape watching it closes), so the engine records ops on it too. While any tape is open the engine
numbers the Nodes it makes (graph.CLOCK); a tape keeps the intervals it was open, and `gradient`
is one `run_backward(..., accumulate=False, keep=...)` that passes only through the Nodes made in
those intervals. So a tape answers with what it recorded, as TensorFlow's does: a value computed
before the tape opened (or before `reset()`) is not connected to it, whatever PyTorch's graph says.
A tape never writes `.grad`.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..autograd import engine, graph
from ..autograd.grad_mode import STATE, no_grad
from ..errors import GradError
from ..tensor import Tensor
from . import nest
from . import variable as _var

ACTIVE: list = []  # open tapes, outermost first
_RAISED: dict = {}  # id(tensor) -> [tensor, number of open tapes watching it] for flags a tape raised


class UnconnectedGradients:
    """What `gradient` returns for a source the target does not depend on (TF's enum, as strings)."""

    NONE = "none"
    ZERO = "zero"


def _raise_flag(t) -> bool:
    """Make the engine record ops on t; True when this call raised its flag (it did not require grad)."""
    entry = _RAISED.get(id(t))
    if entry is not None:
        entry[1] += 1
        return True
    if t._rg:  # requires grad by itself (a trainable Variable, a Parameter, ...): nothing to do
        return False
    t._rg = True
    _RAISED[id(t)] = [t, 1]
    return True


def _lower_flag(t) -> None:
    entry = _RAISED.get(id(t))
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0:
        del _RAISED[id(t)]
        if t.grad_fn is None:  # still a leaf: back to not requiring grad
            t._rg = False


def _check_watchable(t, what: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(
            f"{what}: expected a tapegrad Tensor (or a list / tuple / dict of them), got {type(t).__name__}; "
            "convert it first with tg.constant(value)"
        )
    if not t.dtype.is_floating_point:
        raise TypeError(
            f"{what}: cannot watch a tensor of dtype {t.dtype.name} (shape {tuple(t.shape)}): integer and bool "
            "tensors have no gradient (TensorFlow would silently return None for it). Cast it to a float dtype "
            f"first, e.g. x = tg.cast(x, tg.float32), and compute from the float tensor inside the tape"
        )


class GradientTape:
    """Records operations for automatic differentiation, with TensorFlow's API.

    Args:
        persistent: allow more than one gradient / jacobian call on this tape.
        watch_accessed_variables: watch every trainable Variable read while the tape is open.

    >>> import tapegrad as tg
    >>> x = tg.constant(3.0)
    >>> with tg.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = x * x
    >>> tape.gradient(y, x)
    tensor(6.)
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        self._watched = {}  # id -> tensor, explicitly watched
        self._raised = {}  # id -> tensor whose flag this tape raised (lowered on exit)
        self._accessed = {}  # id -> trainable Variable read while open (variable.py fills it)
        self._recording = False
        self._used = False
        self._spans = []  # [start, end) of graph.CLOCK while open; end is None while recording

    # *** the recording scope ***

    def __enter__(self):
        if self._recording:
            raise GradError("this GradientTape is already recording; a tape cannot be entered twice at once")
        self._recording = True
        ACTIVE.append(self)
        graph.TAPES_OPEN += 1
        self._spans.append([next(graph.CLOCK), None])
        for t in self._watched.values():
            self._watch_one(t)
        if self._watch_accessed:
            _var.listen(self._accessed)
        return self

    def __exit__(self, *exc):
        self._close()
        return False

    def _close(self):
        if not self._recording:
            return
        self._recording = False
        ACTIVE.remove(self)
        graph.TAPES_OPEN -= 1
        self._spans[-1][1] = next(graph.CLOCK)
        _var.unlisten(self._accessed)
        for t in self._raised.values():
            _lower_flag(t)
        self._raised = {}

    def _watch_one(self, t):
        if self._recording and id(t) not in self._raised and _raise_flag(t):
            self._raised[id(t)] = t

    def watch(self, tensor) -> None:
        """Record ops on tensor (or on every tensor of a list / tuple / dict) from now on."""
        for t in nest.flatten(tensor):
            _check_watchable(t, "GradientTape.watch")
            self._watched[id(t)] = t
            self._watch_one(t)

    @contextlib.contextmanager
    def stop_recording(self):
        """Ops inside are not recorded (by this or any tape): `with tape.stop_recording(): ...`."""
        if not self._recording:
            raise GradError("stop_recording: this tape is not recording; use it inside `with tape:`")
        with no_grad():
            yield

    def reset(self) -> None:
        """Forget what was watched and whether gradient was called, as if the tape were opened anew."""
        recording = self._recording
        self._close()
        self._watched, self._accessed, self._used, self._spans = {}, {}, False, []
        if recording:
            self.__enter__()

    def watched_variables(self) -> tuple:
        """The Variables watched (explicitly, or by being read), in the order they were created."""
        found = {id(v): v for v in self._watched.values() if isinstance(v, _var.Variable)}
        if self._watch_accessed:
            found.update(self._accessed)
        return tuple(sorted(found.values(), key=lambda v: v._uid))

    # *** gradients ***

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients=UnconnectedGradients.NONE):
        """d(sum of target)/d(source) for each source, in a structure mirroring `sources`.

        Args:
            target: a tensor or a nest of tensors; a non-scalar target is summed (its gradient is
                the vector-Jacobian product with ones), several targets are added.
            sources: a tensor or a nest (list, tuple, dict) of tensors and Variables.
            output_gradients: the vector(s) of the vector-Jacobian product, one per target.
            unconnected_gradients: "none" (None for a source target does not depend on) or "zero".
        """
        self._check_usable("gradient")
        zero = _unconnected_mode(unconnected_gradients)
        targets = nest.flatten(target)
        flat_sources = nest.flatten(sources)
        outs = [None] * len(targets) if output_gradients is None else nest.flatten(output_gradients)
        if len(outs) != len(targets):
            raise ValueError(f"gradient: {len(targets)} targets but {len(outs)} output_gradients; give one per target")
        grads = self._vjp(targets, flat_sources, outs, retain=self._persistent)
        grads = [_zero_if(zero, g, s) for g, s in zip(grads, flat_sources)]
        return nest.pack_as(sources, grads)

    def _check_usable(self, what):
        if self._used and not self._persistent:
            raise GradError(
                f"GradientTape.{what} can only be called once on a non-persistent tape: its record was used up by "
                "the first call. Create it with tg.GradientTape(persistent=True) to compute several gradients, "
                "or open a new tape for each"
            )
        self._used = True

    def _recorded(self, node) -> bool:
        """Whether this tape recorded node (made while it was open); engine.run_backward's keep."""
        seq = node.seq
        if seq is None:  # a Node kind that is not numbered: keep it rather than cut a gradient silently
            return True
        spans = self._spans
        if len(spans) == 1:  # (a tape opened once: this runs for every node a gradient call visits)
            start, end = spans[0]
            return start <= seq and (end is None or seq < end)
        return any(start <= seq and (end is None or seq < end) for start, end in spans)

    def _recording_now(self) -> bool:
        """Whether a gradient computed now is itself recorded (inside an open tape: higher order)."""
        return STATE.enabled and bool(ACTIVE)

    def _vjp(self, targets, sources, out_grads, retain):
        """One reverse sweep: the gradients of sources (None where unconnected), never into .grad."""
        roots, root_grads = [], []
        for i, (t, g) in enumerate(zip(targets, out_grads)):
            if not isinstance(t, Tensor):
                raise TypeError(f"gradient: target {i} is a {type(t).__name__}, expected a tapegrad Tensor")
            if self._connected(t):
                roots.append(self._edge_of(t))
                root_grads.append(_root_grad(i, t, g))
        edges = [self._edge(i, s) for i, s in enumerate(sources)]
        wanted = [e for e in edges if e is not None]
        if not roots or not wanted:
            return [None] * len(sources)
        create = self._recording_now()
        got = engine.run_backward(
            roots, root_grads, retain or create, create, inputs=wanted, accumulate=False, keep=self._recorded
        )
        return [None if e is None else got[(id(e[0]), e[1])] for e in edges]

    def _edge(self, i, s):
        if not isinstance(s, Tensor):
            raise TypeError(
                f"gradient: source {i} is a {type(s).__name__}; sources must be tapegrad Tensors or Variables "
                "(or a list / tuple / dict of them)"
            )
        if not self._watch_accessed and isinstance(s, _var.Variable) and id(s) not in self._watched:
            return None  # watch_accessed_variables=False: only explicitly watched variables get gradients
        return self._edge_of(s) if self._connected(s) else None

    def _connected(self, t) -> bool:
        """Whether the tape knows t: watched, a leaf that requires grad (a Variable), or made by a recorded op.

        A tensor made before the tape opened (or before reset) is a constant to it, as in TensorFlow."""
        if id(t) in self._watched:
            return True
        if not t._rg:
            return False
        return t.grad_fn is None or self._recorded(t.grad_fn)

    def _edge_of(self, t):
        # NOTE: a watched tensor's flag is lowered when the tape closes, but the ops recorded while it was up
        # still point at it, so a gradient asked for after the `with` block must still reach it
        if t._rg:
            return engine.edge_of(t)
        return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t, 0)

    def jacobian(
        self,
        target,
        sources,
        unconnected_gradients=UnconnectedGradients.NONE,
        parallel_iterations=None,
        experimental_use_pfor=True,
    ):
        """d target[i...] / d source[j...] for each source: shape target.shape + source.shape.

        Computed with one reverse sweep per element of target.
        """
        self._check_usable("jacobian")
        zero = _unconnected_mode(unconnected_gradients)
        flat_sources = nest.flatten(sources)
        rows = [self._vjp([target], flat_sources, [_one_hot(target, k)], retain=True) for k in range(target.numel())]
        out = []
        for j, s in enumerate(flat_sources):
            col = [r[j] for r in rows]
            if not col or all(g is None for g in col):
                jac = None
            else:
                from ..ops import stack

                jac = stack([g if g is not None else s.zeros_like() for g in col]).reshape(
                    tuple(target.shape) + tuple(s.shape)
                )
            out.append(jac if jac is not None or not zero else _zeros(tuple(target.shape) + tuple(s.shape), s))
        return nest.pack_as(sources, out)

    def batch_jacobian(
        self,
        target,
        source,
        unconnected_gradients=UnconnectedGradients.NONE,
        parallel_iterations=None,
        experimental_use_pfor=True,
    ):
        """Per-example Jacobians: target (B, ...) and source (B, ...) give (B, *target[1:], *source[1:]).

        Assumes, as TensorFlow does, that example b of target depends only on example b of source.
        """
        self._check_usable("batch_jacobian")
        zero = _unconnected_mode(unconnected_gradients)
        if target.ndim < 1 or source.ndim < 1 or target.shape[0] != source.shape[0]:
            raise ValueError(
                f"batch_jacobian: target {tuple(target.shape)} and source {tuple(source.shape)} must both have the "
                "batch dimension first, of the same size"
            )
        batch, inner = target.shape[0], int(np.prod(target.shape[1:], dtype=np.int64))
        rows = []
        for k in range(inner):  # one sweep per output position, all examples at once
            g = np.zeros((batch, inner), target.dtype.np)
            g[:, k] = 1
            rows.append(self._vjp([target], [source], [Tensor._make(g.reshape(target.shape))], retain=True)[0])
        shape = (batch,) + tuple(target.shape[1:]) + tuple(source.shape[1:])
        if all(r is None for r in rows):
            return _zeros(shape, source) if zero else None
        from ..ops import stack

        return stack([r if r is not None else source.zeros_like() for r in rows], 1).reshape(shape)

    def __del__(self):
        # a tape dropped without __exit__ (an exception between enter and exit) must not leave flags raised
        with contextlib.suppress(Exception):  # at interpreter shutdown, modules may already be gone
            self._close()


def _unconnected_mode(mode) -> bool:
    value = getattr(mode, "value", mode)
    if value not in (UnconnectedGradients.NONE, UnconnectedGradients.ZERO):
        raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {mode!r}")
    return value == UnconnectedGradients.ZERO


def _root_grad(i, target, g):
    if g is None:
        return target.ones_like()
    from .names import convert_to_tensor

    g = convert_to_tensor(g, dtype=None if isinstance(g, Tensor) else target.dtype)
    if tuple(g.shape) != tuple(target.shape):
        raise ValueError(
            f"gradient: output_gradients[{i}] has shape {tuple(g.shape)} but target {i} has shape "
            f"{tuple(target.shape)}; they must be equal"
        )
    return g if g.dtype is target.dtype else g.to(target.dtype)


def _one_hot(target, k):
    g = np.zeros(target.numel(), target.dtype.np)
    g[k] = 1
    return Tensor._make(g.reshape(target.shape))


def _zeros(shape, like):
    return Tensor._make(np.zeros(shape, like.dtype.np))


def _zero_if(zero, g, source):
    return source.zeros_like() if g is None and zero and isinstance(source, Tensor) else g
