"""The C plan: a flat list of kernel calls (ctypes) and library calls over buffers allocated once.

Depends on fuse.py (grouping), render.py (C source of the fused kernels), lower.py (C kernels for
the gathers, folds and indexing around convolution and pooling), compiler.py (build and cache) and the numpy
implementations on the primitive table (for everything else). Kernels and BLAS matmuls write into buffers
the plan owns (OWNED storage); slots, liveness, buffer sharing and the run loop are executor.py's.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ...trace.ir import Graph, Var
from ..executor import FRESH, OWNED, VIEW, CallStep, IntoStep, PlanCore, Step, blas_matmul, data_pointer
from ..plan import FRESH_RESULTS
from .fuse import Kernel, fuse, reads
from . import compiler, lower, matvec, render
from .lower import LibraryKernel

DEBUG = os.environ.get("TAPEGRAD_DEBUG", "") not in ("", "0")


def _all_equal_bits(c: np.ndarray) -> bool:
    """Every element of c is the same value, bit for bit (0.0 and -0.0 differ: 1/c tells them apart)."""
    bits = np.ascontiguousarray(c).view(f"u{c.dtype.itemsize}") if c.dtype.itemsize in (1, 2, 4, 8) else c
    return bool((bits == bits.reshape(-1)[0]).all())


def _uniform_consts(graph):
    """The graph with each constant array whose elements are all equal replaced by a broadcast scalar, which
    the kernels inline as a literal instead of reading it from memory (relu's backward binds a full zeros
    array: streaming it cost a third of that kernel's time)."""
    swap = {}
    for v in graph.consts():
        c = v.const
        if c.size > 1 and any(c.strides) and c.dtype.kind in "biuf" and _all_equal_bits(c):
            swap[v.id] = Var(v.aval, np.broadcast_to(c.reshape(-1)[:1].reshape(()), c.shape), v.hint)
    if not swap:
        return graph
    eqns = [dataclasses.replace(e, inputs=[swap.get(u.id, u) for u in e.inputs]) for e in graph.eqns]
    return Graph(graph.inputs, eqns, [swap.get(u.id, u) for u in graph.outputs], graph.name)


def _needed(graph, items) -> list:
    """Drop items whose values nobody reads (e.g. an expand that every reader fused away, or a view chain that
    library kernels read through)."""
    need = {v.id for v in graph.outputs}
    keep = []
    for x in reversed(items):
        outs = x.outputs
        if not any(v.id in need for v in outs):
            continue
        keep.append(x)
        need.update(v.id for v in reads(x))
    return keep[::-1]


def _failure(kernel, slots, name):
    """(env, status) -> the exception for a kernel that returned nonzero: MemoryError for render.NOMEM, else (a
    library kernel indexing with run-time data) the IndexError numpy would have raised."""

    def fail(env, status):
        if status == render.NOMEM and isinstance(kernel, Kernel):
            return MemoryError(f"out of memory in the C kernel {name} ({' '.join(kernel.prims)}, over "
                               f"{list(kernel.shape)}): its partial-result buffer could not be allocated")
        return kernel.index_error(lambda var: env[slots[var.id]])

    return fail


def _in_place(graph, core) -> dict:
    """Var id of a write-back output -> the input slot whose array the kernel producing it may write into.

    `graph.in_place` ({output index: input index}, set by trace/function.py) names the outputs whose value is
    copied into an input's tensor after the call (an optimizer's update of a captured parameter). Writing the
    kernel's result into that tensor's array directly saves the copy (2.9 MB per W1 step) when nothing can tell
    the difference: the producing kernel is an elementwise map that reads the input, if at all, at the element it
    writes; no later item reads the input or a view of it; and no later item can fail (only elementwise kernels
    follow), so a failed call still leaves the parameter as it was."""
    wanted = getattr(graph, "in_place", None)
    if not wanted:
        return {}
    items = core.items
    made_by = {v.id: k for k, x in enumerate(items) for v in x.outputs}
    out_ids = [v.id for v in graph.outputs]
    targets = list(wanted.values())
    result = {}
    for j, i in wanted.items():
        v, g = graph.outputs[j], graph.inputs[i]
        k = made_by.get(v.id)
        if (k is None or out_ids.count(v.id) != 1 or g.id in out_ids or targets.count(i) != 1
                or graph.inputs.count(g) != 1):
            continue
        x = items[k]
        if (not isinstance(x, Kernel) or x.reductions or tuple(v.shape) != tuple(x.shape)
                or tuple(g.shape) != tuple(v.shape) or v.dtype is not g.dtype):
            continue
        shared = {g.id}  # the input and the views of it
        for y in items:
            if (not isinstance(y, (Kernel, LibraryKernel)) and storage(y, y.outputs[0]) == VIEW
                    and any(u.id in shared for u in reads(y))):
                shared.update(o.id for o in y.outputs)
        if any(u.id in shared and (u.id != g.id or tuple(lshape) != tuple(x.shape)) for u, lshape in x.loads.values()):
            continue
        later = items[k + 1:]
        if any(u.id in shared for y in later for u in reads(y)):
            continue
        if not all(isinstance(y, Kernel) and not y.reductions for y in later):
            continue
        result[v.id] = core.slots[g.id]
    return result


def _is_view(items):
    """var -> whether the plan stores var as a view of another value (see `storage`)."""
    made = {v.id: x for x in items for v in x.outputs}
    return lambda v: v.id in made and storage(made[v.id], v) == VIEW


def storage(x, v) -> str:
    """How the C plan stores value v of item x (executor.py): kernels and BLAS matmuls write plan buffers."""
    if isinstance(x, (Kernel, LibraryKernel)) or blas_matmul(x):
        return OWNED
    if x.prim.name in FRESH_RESULTS and not x.prim.multiple_results:
        return FRESH
    return VIEW


@dataclass
class KernelStep(Step):
    """One call of a compiled C function `name(void **a)` (a fused or a library kernel).

    `symbol` is (function name, whether it returns a status); `fn` is that function once the plan's library is
    loaded (CPlan._load binds it; None while unloaded). `ptrs` holds its argument pointers: plan buffers and
    constants are filled in once; `dyn` are the inputs read from env on each call (made contiguous when they are
    not), `fresh` the outputs that get a new array on each call (graph outputs); `static` the outputs written
    into plan buffers."""

    symbol: tuple = ()
    fn: object = None
    ptrs: object = None
    dyn: list = field(default_factory=list)  # (argument index, slot, dtype)
    fresh: list = field(default_factory=list)  # (argument index, slot, shape, dtype)
    into: list = field(default_factory=list)  # (argument index, slot, input slot, shape, dtype): see _in_place
    static: list = field(default_factory=list)  # (slot, buffer)
    fail: object = None  # (env, status) -> the exception to raise when the kernel returns nonzero

    quiet = True

    def run(self, env):
        ptrs, keep = self.ptrs, []  # keep: contiguous copies alive until the kernel has read them
        for j, s, want in self.dyn:
            a = env[s]
            if type(a) is not np.ndarray or a.dtype != want or not a.flags.c_contiguous:
                a = np.ascontiguousarray(a, dtype=want)
                keep.append(a)
            ptrs[j] = data_pointer(a)
        for j, s, shape, dtype in self.fresh:
            b = env[s] = np.empty(shape, dtype)
            ptrs[j] = data_pointer(b)
        for j, s, src, shape, dtype in self.into:  # the input's own array (CPlan checked no other input shares it)
            b = env[src]
            if (type(b) is not np.ndarray or b.dtype != dtype or b.shape != shape or not b.flags.c_contiguous
                    or not b.flags.writeable):
                b = np.empty(shape, dtype)
            env[s] = b
            ptrs[j] = data_pointer(b)
        if DEBUG:
            t = time.perf_counter()
            bad = self.fn(ptrs)
            print(f"[tapegrad] kernel ({self.name}): {(time.perf_counter() - t) * 1e6:.1f} µs", file=sys.stderr)
        else:
            bad = self.fn(ptrs)
        if bad:
            raise self.fail(env, bad)
        for s, b in self.static:
            env[s] = b


class CPlan:
    """A compiled Graph on the C backend: call it with a list of input arrays, get a list of output arrays."""

    def __init__(self, graph, cc: str):
        self.graph = graph
        graph = _uniform_consts(graph)
        items = _needed(graph, lower.lower(fuse(graph), graph.outputs))
        items = _needed(graph, matvec.share_matrix(items, _is_view(items)))
        self.kernels = [x for x in items if isinstance(x, (Kernel, LibraryKernel))]
        sources, loads, self.names = [], {}, {}
        for j, k in enumerate(self.kernels):
            name = f"l{j}" if isinstance(k, LibraryKernel) else f"k{j}"
            src, args = k.render(name) if isinstance(k, LibraryKernel) else render.render(k, name)
            sources.append(src)
            loads[id(k)] = args
            self.names[id(k)] = name
        self.source = render.PRELUDE + lower.PRELUDE + "\n" + "\n".join(sources)
        self.cc, self.lib = cc, None
        self._running = threading.Lock()  # held while called: the library of a running plan is never unloaded
        self._path = compiler.build(self.source, cc) if self.kernels else None
        if DEBUG and self.kernels:
            print(f"[tapegrad] C kernels of {graph.name}:\n{self.source}", file=sys.stderr)
        self.core = PlanCore(graph, items, storage)
        self.allocated = self.core.stats["allocated"]
        self._into = _in_place(self.graph, self.core)
        self.steps = [self._step(x, loads) for x in items]
        self._kernel_steps = [s for s in self.steps if isinstance(s, KernelStep)]
        self._pairs = self.core.pairs(self.steps)
        # the same steps writing new arrays instead, for a call where another input shares a target's memory
        self._fresh_pairs = [(dataclasses.replace(s, fresh=s.fresh + [(j, o, shape, dt) for j, o, _, shape, dt in s.into],
                                                  into=[]) if getattr(s, "into", None) else s, dead)
                             for s, dead in self._pairs]
        self._kernel_steps += [s for (s, _), (t, _) in zip(self._fresh_pairs, self._pairs) if s is not t]
        self._sources = sorted({self.core.input_slots.index(src) for src in self._into.values()})
        self._checked = [None] * len(self.core.input_slots)  # per input: the array last found apart from them
        self._quiet = all(s.quiet for s, _ in self._pairs)

    def _step(self, x, loads):
        slots, buffers = self.core.slots, self.core.buffers
        if isinstance(x, (Kernel, LibraryKernel)):
            return self._kernel_step(x, self.names[id(x)], loads[id(x)])
        ins, outs = [slots[v.id] for v in x.inputs], [slots[v.id] for v in x.outputs]
        if outs[0] in buffers:  # a BLAS matmul into a plan buffer
            return IntoStep(ins, outs, "matmul", fn=np.matmul, buffer=buffers[outs[0]])
        return CallStep(ins, outs, x.prim.name, impl=x.prim.impl, params=x.params, multi=x.prim.multiple_results)

    def _kernel_step(self, x, name, args):
        slots, buffers = self.core.slots, self.core.buffers
        fixed = {**self.core.consts, **self.core.static}  # arrays whose memory is the same on every call
        ptrs = (ctypes.c_void_p * (len(args) + len(x.outputs)))()
        dyn, fresh = [], []
        for j, v in enumerate(args):
            s = slots[v.id]
            a = fixed.get(s, buffers.get(s))
            if a is not None and a.dtype == v.dtype.np and a.flags.c_contiguous:
                ptrs[j] = a.ctypes.data
            else:
                dyn.append((j, s, v.dtype.np))
        into = []
        for j, v in enumerate(x.outputs, start=len(args)):
            s = slots[v.id]
            if s in buffers:
                ptrs[j] = buffers[s].ctypes.data
            elif v.id in self._into:
                into.append((j, s, self._into[v.id], tuple(v.shape), v.dtype.np))
            else:
                fresh.append((j, s, tuple(v.shape), v.dtype.np))
        # fused kernels return a status (out of memory), and so do library kernels that index with run-time data
        # (a bad index): the plan raises the matching Python error
        status = isinstance(x, Kernel) or getattr(x, "checks", False)
        static = [(slots[v.id], buffers[slots[v.id]]) for v in x.outputs if slots[v.id] in buffers]
        fail = _failure(x, slots, name) if status else None
        return KernelStep([slots[v.id] for v in args], [slots[v.id] for v in x.outputs], " ".join(x.prims),
                          symbol=(name, status), ptrs=ptrs, dyn=dyn, fresh=fresh, into=into, static=static, fail=fail)

    def _load(self) -> None:
        """Load the library (again, after `unload`: from the disk cache, or compiled if it was evicted there) and
        bind the kernel steps to its functions."""
        if self.lib is None:
            if not os.path.exists(self._path):
                self._path = compiler.build(self.source, self.cc)
            self.lib = compiler.Library(self._path)
            for step in self._kernel_steps:
                step.fn = self.lib.fn(*step.symbol)
        compiler.LOADED.use(self)

    def unload(self) -> bool:
        """Unload the library unless the plan is running (then False): `compiler.Loaded` bounds how many stay."""
        if not self._running.acquire(blocking=False):
            return False
        try:
            if self.lib is not None:
                for step in self._kernel_steps:
                    step.fn = None
                self.lib.close()
                self.lib = None
        finally:
            self._running.release()
        return True

    def __del__(self):
        if getattr(self, "lib", None) is not None:
            compiler.LOADED.forget(self)
            self.lib.close()

    def __call__(self, feed: list) -> list:
        with self._running:
            if self.kernels:
                self._load()
            pairs = self._pairs if not self._sources or self._apart(feed) else self._fresh_pairs
            return self.core.run(pairs, feed, self._quiet)

    def _apart(self, feed) -> bool:
        """No input shares memory with an input that a kernel writes in place (see _in_place): then the writes
        change nothing another input shows. An input is checked again only when its array is not the one last
        checked (a training loop passes the same parameter arrays every step)."""
        checked, sources = self._checked, self._sources
        if any(checked[i] is not feed[i] for i in sources):  # a parameter's array changed: check everything
            checked[:] = [None] * len(checked)
        for i, a in enumerate(feed):
            if checked[i] is a:
                continue
            if any(k != i and np.may_share_memory(a, feed[k]) for k in sources):
                return False
            checked[i] = a
        return True
