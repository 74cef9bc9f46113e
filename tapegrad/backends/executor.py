"""The plan executor core that every backend's plan shares: slot numbering, liveness, buffers and the run loop.

A plan is a flat list of typed steps over numbered slots (graph inputs, the constants its items read, then each
item's outputs). A backend decides, for each value an item writes, its storage:

- OWNED: the step writes into a buffer the plan allocates once, when it is built. Values whose lifetimes do not
  overlap share a buffer of the same shape and dtype; a value stays alive while any view of it is.
- FRESH: the step returns a new array on every call (a numpy function that never returns a view).
- VIEW: the value may share memory with any of the step's inputs (a reshape, a slice, ...).

Graph outputs are never OWNED, and an output that views a plan buffer is copied before it is returned, so a
caller never holds memory that the next call overwrites. Slots whose last reader has run are released, so large
intermediate arrays do not outlive their use. The backends (plan.py for numpy, c/plan.py for C) only choose
storage and build their steps; everything else is here.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field

import numpy as np

OWNED, FRESH, VIEW = "owned", "fresh", "view"


# *** the address of an array's data, cheaply ***


def _data_offset():
    """The offset of the data pointer inside a numpy array object (`PyArrayObject_fields.data`, right after the
    object header), checked on arrays of several kinds; None when it cannot be confirmed (another layout)."""
    probes = [np.empty(n, dt) for n, dt in ((3, np.float32), (17, np.float64), (1, np.int64))]
    probes.append(np.empty((4, 4), np.float32)[1:, ::2])
    for off in (16, 24, 32):
        try:
            if all(ctypes.c_void_p.from_address(id(a) + off).value == a.ctypes.data for a in probes):
                return off
        except (ValueError, OSError):
            return None
    return None


_OFFSET = _data_offset()
_from_address = ctypes.c_void_p.from_address


def data_pointer(a: np.ndarray) -> int:
    """a.ctypes.data in about a seventh of its time: `ndarray.ctypes` builds a helper object on every access
    (1.4 us here), which was the largest cost of calling a small compiled function. Reads the data pointer out
    of the array object, at the offset confirmed when this module was imported; `a.ctypes.data` where no offset
    was confirmed."""
    if _OFFSET is None:
        return a.ctypes.data
    return _from_address(id(a) + _OFFSET).value


# *** steps ***


class _Ignoring(threading.local):
    """on: this thread runs a plan's steps inside its np.errstate(all="ignore") already, so that the plans of a loop's
    body or a branch (trace/control.py), run by a step, need not enter it again on every iteration. (Used only where
    numpy's error state is not a context variable: see _ignore_errors.)"""

    on = False


_IGNORING = _Ignoring()


def _error_state_var():
    """(numpy's context variable holding the floating-point error state, its value inside
    np.errstate(all="ignore")), or (None, None) where numpy keeps that state otherwise.

    np.errstate costs 1.5 to 2.5 us to enter and leave (it builds a new state object each time): a tenth of calling a
    small compiled function, and most of running a loop body's one-equation plan. Setting the variable to a value made
    once costs a fifth of that. The value keeps numpy's default buffer size; an error callback does not matter when
    every error is ignored."""
    try:
        from numpy._core import _ufunc_config as config

        var = config._extobj_contextvar
        with np.errstate(all="ignore"):
            ignore = var.get()
        return var, ignore
    except (ImportError, AttributeError, LookupError):
        return None, None


_ERRORS, _IGNORE_ALL = _error_state_var()


@dataclass
class Step:
    """One call of a plan: reads env[ins], writes env[outs]. `name` says what it runs (for tests and debugging)."""

    ins: list
    outs: list
    name: str
    quiet = False  # never makes numpy warn (a C kernel): the plan skips np.errstate when every step is quiet

    def run(self, env: list) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define run()")


@dataclass
class CallStep(Step):
    """A function on arrays that returns its result(s): the eager implementation of a primitive."""

    impl: object = None
    params: dict = field(default_factory=dict)
    multi: bool = False  # the function returns one array per output

    def run(self, env):
        ins = self.ins
        if self.params:
            result = self.impl(*[env[i] for i in ins], **self.params)
        elif len(ins) == 2:  # the binary primitives: no argument list to build (a loop body's steps are mostly these)
            result = self.impl(env[ins[0]], env[ins[1]])
        elif len(ins) == 1:
            result = self.impl(env[ins[0]])
        else:
            result = self.impl(*[env[i] for i in ins])
        if self.multi:
            for s, r in zip(self.outs, result):
                env[s] = r
        else:
            env[self.outs[0]] = result


@dataclass
class IntoStep(Step):
    """A function that writes into a plan buffer through `out=` (a numpy ufunc, matmul)."""

    fn: object = None
    buffer: np.ndarray = None

    def run(self, env):
        ins = self.ins
        if len(ins) == 2:  # matmul and binary ufuncs: no argument list to build
            env[self.outs[0]] = self.fn(env[ins[0]], env[ins[1]], out=self.buffer)
        else:
            env[self.outs[0]] = self.fn(*[env[i] for i in ins], out=self.buffer)


def blas_matmul(eqn) -> bool:
    """A matmul that BLAS computes into a preallocated buffer: float32/float64 operands of at least 2 dims."""
    out = eqn.outputs[0]
    return (eqn.prim.name == "matmul" and out.dtype.name in ("float32", "float64")
            and all(len(u.shape) >= 2 and u.dtype is out.dtype for u in eqn.inputs))


# *** the core ***


def reads_of(item) -> list:
    """The Vars an item reads: a fused or library kernel's loads, an equation's inputs."""
    return [v for v, _ in item.loads.values()] if hasattr(item, "loads") else item.inputs


class PlanCore:
    """Slots, storage, liveness and buffers of one plan over `items` (equations, or a backend's kernels).

    storage(item, var) -> OWNED | FRESH | VIEW for each value an item writes (graph outputs are never OWNED).
    After construction: slots (Var id -> slot), input_slots, output_slots, consts (slot -> array), buffers
    (slot -> the array an OWNED value is written to), copy_out (indices of outputs to copy), release (per item,
    the slots it is the last reader of), stats (buffers allocated, values that reuse one)."""

    def __init__(self, graph, items, storage):
        self.graph, self.items = graph, items
        self._env = None
        self._number_slots(graph, items)
        out_ids = {v.id for v in graph.outputs}
        kinds = {}  # slot -> storage
        for x in items:
            # a primitive may declare that its outputs are always new values of its own (structured control flow,
            # trace/control.py): FRESH whatever the backend would guess, so that none is copied on its way out
            fresh = getattr(getattr(x, "prim", None), "fresh_outputs", False)
            for v in x.outputs:
                kind = FRESH if fresh else storage(x, v)
                kinds[self.slots[v.id]] = FRESH if kind == OWNED and v.id in out_ids else kind
        self.kinds = kinds
        self._alias_roots(items, kinds)
        self._liveness(graph, items)
        self._allocate(items, kinds)
        self._static_views(items, kinds)

    def _number_slots(self, graph, items):
        slots: dict = {}
        for v in graph.inputs:
            slots.setdefault(v.id, len(slots))
        consts = {}
        for x in items:
            for v in reads_of(x):
                if v.const is not None and v.id not in slots:
                    slots[v.id] = len(slots)
                    consts[slots[v.id]] = np.array(v.const, order="C")  # (ascontiguousarray makes 0-d 1-d)
            for v in x.outputs:
                slots.setdefault(v.id, len(slots))
        for v in graph.outputs:  # outputs that are constants
            if v.const is not None and v.id not in slots:
                slots[v.id] = len(slots)
                consts[slots[v.id]] = v.const
        self.slots, self.consts, self.n_slots = slots, consts, len(slots)
        self.input_slots = [slots[v.id] for v in graph.inputs]
        self.output_slots = [slots[v.id] for v in graph.outputs]

    def _alias_roots(self, items, kinds):
        """alias[slot]: the OWNED slots whose buffer the value may share memory with."""
        alias: dict = {}
        for x in items:
            ins = set().union(*(alias.get(self.slots[u.id], set()) for u in reads_of(x) if u.id in self.slots))
            for v in x.outputs:
                s = self.slots[v.id]
                alias[s] = {s} if kinds[s] == OWNED else set() if kinds[s] == FRESH else ins
        self.alias = alias

    def _liveness(self, graph, items):
        """last[root]: the index of the last item that reads a value sharing the root's buffer (len(items) for the
        roots of outputs); release[i]: the slots item i reads or writes for the last time."""
        last, last_read = {}, {}
        for i, x in enumerate(items):
            for v in reads_of(x):
                s = self.slots[v.id]
                last_read[s] = i
                for r in self.alias.get(s, ()):
                    last[r] = i
        self.copy_out = []
        for j, s in enumerate(self.output_slots):
            roots = self.alias.get(s, set())
            for r in roots:
                last[r] = len(items)
            if roots:
                self.copy_out.append(j)  # a view of a plan buffer: copied before it is returned
        # outputs that are new arrays of this call's own, which no other output or input shares: a caller may keep
        # them without a copy (tg.function's .grad write-backs)
        inputs = set(self.input_slots)
        self.unique_outputs = {j for j, s in enumerate(self.output_slots)
                               if j in self.copy_out or (self.kinds.get(s) == FRESH and s not in inputs
                                                         and self.output_slots.count(s) == 1)}
        keep = set(self.output_slots)
        release = [[] for _ in items]
        for i, x in enumerate(items):
            for v in x.outputs:
                s = self.slots[v.id]
                if s not in keep and s not in last_read:
                    release[i].append(s)  # never read: dropped at once
        owned = {s for s, kind in self.kinds.items() if kind == OWNED}
        for s, i in last_read.items():
            if s not in keep and s not in self.consts and s not in owned:  # (a plan buffer is not freed anyway)
                release[i].append(s)
        self.last, self.release = last, release

    def _allocate(self, items, kinds):
        """One buffer per OWNED value, shared with an earlier value of the same shape and dtype that is dead."""
        pool: dict = {}
        self.buffers = {}
        allocated = reused = 0
        last = self.last
        for i, x in enumerate(items):
            for v in x.outputs:
                s = self.slots[v.id]
                if kinds[s] != OWNED:
                    continue
                key = (tuple(v.shape), v.dtype.np)
                free = pool.get(key)
                if free:
                    self.buffers[s] = free.pop()
                    reused += 1
                else:
                    self.buffers[s] = np.empty(key[0], key[1])
                    allocated += 1
                last.setdefault(s, i)  # never read: free after this step
            for s, b in self.buffers.items():
                if last.get(s) == i:
                    pool.setdefault((b.shape, b.dtype), []).append(b)
                    last[s] = -1
        self.stats = {"allocated": allocated, "reused": reused}

    def _static_views(self, items, kinds):
        """static[slot]: views of plan buffers (and of constants) computed once, when the plan is built. A reshape,
        permute or slice of a buffer is the same view on every call, so it needs no step at run time: the plans
        drop its step (`pairs`), and a kernel reading it gets its pointer once. A view whose numpy implementation
        copies (a reshape of a strided value) stays a step."""
        fixed = {**self.consts, **self.buffers}
        self.static = {}
        for x in items:
            prim = getattr(x, "prim", None)
            if prim is None or prim.multiple_results or len(x.outputs) != 1:
                continue
            s = self.slots[x.outputs[0].id]
            ins = [self.slots[u.id] for u in x.inputs]
            if kinds.get(s) != VIEW or s in self.output_slots or not ins or not all(i in fixed for i in ins):
                continue
            with np.errstate(all="ignore"):
                value = prim.impl(*[fixed[i] for i in ins], **x.params)
            if type(value) is np.ndarray and any(np.may_share_memory(value, fixed[i]) for i in ins):
                self.static[s] = fixed[s] = value

    def pairs(self, steps: list) -> list:
        """(step, slots released after it) for the steps that run on each call: all but the static views'."""
        return [(step, dead) for step, x, dead in zip(steps, self.items, self.release)
                if not (len(x.outputs) == 1 and self.slots[x.outputs[0].id] in self.static)]

    def run(self, steps: list, feed: list, quiet: bool = False) -> list:
        """Run `steps` ((step, released slots) pairs: `pairs`) on the input arrays `feed`; the graph's output
        arrays. `quiet`: every step is (Step.quiet), so numpy's error state need not be set (np.errstate costs about
        2 us)."""
        env = self._env
        if env is None:  # the slots with the constants and static views filled in, copied on each call
            env = self._env = [None] * self.n_slots
            for s, c in self.consts.items():
                env[s] = c
            for s, c in self.static.items():
                env[s] = c
        env = env.copy()
        for s, x in zip(self.input_slots, feed):
            env[s] = x
        if quiet:
            self._run_steps(steps, env)
        elif _ERRORS is not None:
            if _ERRORS.get() is _IGNORE_ALL:  # a loop body's plan, run by a step of a plan ignoring errors already
                self._run_steps(steps, env)
            else:
                token = _ERRORS.set(_IGNORE_ALL)
                try:
                    self._run_steps(steps, env)
                finally:
                    _ERRORS.reset(token)
        elif _IGNORING.on:
            self._run_steps(steps, env)
        else:
            with np.errstate(all="ignore"):
                _IGNORING.on = True
                try:
                    self._run_steps(steps, env)
                finally:
                    _IGNORING.on = False
        out = [env[s] for s in self.output_slots]
        for j in self.copy_out:
            out[j] = np.array(out[j], copy=True)
        return out

    @staticmethod
    def _run_steps(pairs, env):
        for step, dead in pairs:
            step.run(env)
            if dead:
                for s in dead:
                    env[s] = None
