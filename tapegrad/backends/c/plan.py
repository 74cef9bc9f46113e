"""The C plan: a flat list of kernel calls (ctypes) and library calls over buffers allocated once.

Depends on passes/fuse.py (grouping), render.py (C source of the fused kernels), library.py (C kernels for
the gathers, folds and indexing around convolution and pooling), compiler.py (build and cache) and the numpy
implementations on the primitive table (for everything else). Buffers that kernels and matmuls write are
allocated when the plan is built and shared by values whose lifetimes do not overlap (a value stays alive
while any view of it is); the graph's outputs get fresh arrays on every call.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import sys
import threading
import time

import numpy as np

from ...passes.fuse import Kernel, fuse, reads
from ...trace.ir import Graph, Var
from ..plan import FRESH
from . import compiler, library, render
from .library import LibraryKernel

DEBUG = os.environ.get("TAPEGRAD_DEBUG", "") not in ("", "0")
_KERNEL, _CALL, _MATMUL = 0, 1, 2


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


class CPlan:
    """A compiled Graph on the C backend: call it with a list of input arrays, get a list of output arrays."""

    def __init__(self, graph, cc: str):
        self.graph = graph
        graph = _uniform_consts(graph)
        items = _needed(graph, library.lower(fuse(graph), graph.outputs))
        self.kernels = [x for x in items if isinstance(x, (Kernel, LibraryKernel))]
        sources, loads, self.names = [], {}, {}
        for j, k in enumerate(self.kernels):
            name = f"l{j}" if isinstance(k, LibraryKernel) else f"k{j}"
            src, args = k.render(name) if isinstance(k, LibraryKernel) else render.render(k, name)
            sources.append(src)
            loads[id(k)] = args
            self.names[id(k)] = name
        self.source = render.PRELUDE + library.PRELUDE + "\n" + "\n".join(sources)
        self.cc, self.lib = cc, None
        self._running = threading.Lock()  # held while called: the library of a running plan is never unloaded
        self._path = compiler.build(self.source, cc) if self.kernels else None
        if DEBUG and self.kernels:
            print(f"[tapegrad] C kernels of {graph.name}:\n{self.source}", file=sys.stderr)
        slots: dict = {}
        for v in graph.inputs:
            slots.setdefault(v.id, len(slots))
        self.input_slots = [slots[v.id] for v in graph.inputs]
        consts = {}
        for x in items:
            for v in reads(x):
                if v.const is not None and v.id not in slots:
                    slots[v.id] = len(slots)
                    consts[slots[v.id]] = np.array(v.const, order="C")  # (ascontiguousarray makes 0-d 1-d)
            for v in x.outputs:
                slots.setdefault(v.id, len(slots))
        for v in graph.outputs:  # outputs that are constants
            if v.const is not None and v.id not in slots:
                slots[v.id] = len(slots)
                consts[slots[v.id]] = v.const
        self.n_slots, self.consts = len(slots), consts
        self.output_slots = [slots[v.id] for v in graph.outputs]
        self._build_steps(graph, items, slots, loads)

    def _build_steps(self, graph, items, slots, loads):
        out_ids = {v.id for v in graph.outputs}
        # which owned buffers each value may alias (itself when owned; its inputs' for view-like library calls)
        owned = {}  # slot -> True when this plan allocates its buffer once
        alias: dict = {}
        for x in items:
            if isinstance(x, (Kernel, LibraryKernel)):
                for v in x.outputs:
                    s = slots[v.id]
                    if v.id not in out_ids:
                        owned[s] = True
                        alias[s] = {s}
            else:
                is_mm = (x.prim.name == "matmul" and x.outputs[0].dtype.name in ("float32", "float64")
                         and all(len(u.shape) >= 2 and u.dtype is x.outputs[0].dtype for u in x.inputs))
                for v in x.outputs:
                    s = slots[v.id]
                    if is_mm and v.id not in out_ids:
                        owned[s] = True
                        alias[s] = {s}
                    elif x.prim.name in FRESH and not getattr(x.prim, "multiple_results", False):
                        alias[s] = set()
                    else:
                        alias[s] = set().union(*(alias.get(slots[u.id], set()) for u in x.inputs if u.id in slots))
        last = {}
        for i, x in enumerate(items):
            for v in reads(x):
                for r in alias.get(slots[v.id], ()):
                    last[r] = i
        self.copy_out = []
        for j, v in enumerate(graph.outputs):
            roots = alias.get(slots[v.id], set())
            for r in roots:
                last[r] = len(items)
            if roots:
                self.copy_out.append(j)  # a view of a plan buffer: copied before it is returned
        # allocate each owned buffer once, sharing a dead one of the same shape and dtype
        pool: dict = {}
        self.buffers = {}
        self.allocated = 0
        for i, x in enumerate(items):
            for v in x.outputs:
                s = slots[v.id]
                if owned.get(s):
                    key = (tuple(v.shape), v.dtype.np)
                    free = pool.get(key)
                    if free:
                        self.buffers[s] = free.pop()
                    else:
                        self.buffers[s] = np.empty(key[0], key[1])
                        self.allocated += 1
                    last.setdefault(s, i)  # never read: free after this step
            for s, b in list(self.buffers.items()):
                if last.get(s) == i and b is not None:
                    pool.setdefault((b.shape, b.dtype), []).append(b)
                    last[s] = -1
        steps = []
        for x in items:
            if isinstance(x, (Kernel, LibraryKernel)):
                args = loads[id(x)]
                n = len(args) + len(x.outputs)
                ptrs = (ctypes.c_void_p * n)()
                dyn, fresh = [], []
                for j, v in enumerate(args):
                    s = slots[v.id]
                    if s in self.consts:
                        ptrs[j] = self.consts[s].ctypes.data
                    elif s in self.buffers:
                        ptrs[j] = self.buffers[s].ctypes.data
                    else:
                        dyn.append((j, s, v.dtype.np))
                for j, v in enumerate(x.outputs):
                    s = slots[v.id]
                    if s in self.buffers:
                        ptrs[len(args) + j] = self.buffers[s].ctypes.data
                    else:
                        fresh.append((len(args) + j, s, tuple(v.shape), v.dtype.np))
                # fused kernels return a status (out of memory), and so do library kernels that index with
                # run-time data (a bad index): the plan raises the matching Python error
                status = isinstance(x, Kernel) or getattr(x, "checks", False)
                static = [(slots[v.id], self.buffers[slots[v.id]]) for v in x.outputs if slots[v.id] in self.buffers]
                fail = _failure(x, slots, self.names[id(x)]) if status else None
                fn = (self.names[id(x)], status)  # bound to the library's function by _load
                steps.append((_KERNEL, fn, ptrs, dyn, fresh, static, " ".join(x.prims), fail))
            elif x.prim.name == "matmul" and slots[x.outputs[0].id] in self.buffers:
                s = slots[x.outputs[0].id]
                steps.append((_MATMUL, np.matmul, [slots[v.id] for v in x.inputs], s, self.buffers[s], None, "matmul"))
            else:
                multi = getattr(x.prim, "multiple_results", False)
                steps.append((_CALL, x.prim.impl, [slots[v.id] for v in x.inputs], [slots[v.id] for v in x.outputs],
                              x.params, multi, x.prim.name))
        self.steps = steps
        self._kernel_names = {i: s[1] for i, s in enumerate(steps) if s[0] == _KERNEL}  # (name, returns status)

    def _load(self) -> None:
        """Load the library (again, after `unload`: from the disk cache, or compiled if it was evicted there) and
        bind the kernel steps to its functions."""
        if self.lib is None:
            if not os.path.exists(self._path):
                self._path = compiler.build(self.source, self.cc)
            self.lib = compiler.Library(self._path)
            self.steps = [s[:1] + (self.lib.fn(*self._kernel_names[i]),) + s[2:] if s[0] == _KERNEL else s
                          for i, s in enumerate(self.steps)]
        compiler.LOADED.use(self)

    def unload(self) -> bool:
        """Unload the library unless the plan is running (then False): `compiler.Loaded` bounds how many stay."""
        if not self._running.acquire(blocking=False):
            return False
        try:
            if self.lib is not None:
                self.steps = [s[:1] + (self._kernel_names[i],) + s[2:] if s[0] == _KERNEL else s
                              for i, s in enumerate(self.steps)]
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
            return self._run(feed)

    def _run(self, feed: list) -> list:
        env = [None] * self.n_slots
        for s, x in zip(self.input_slots, feed):
            env[s] = x
        for s, c in self.consts.items():
            env[s] = c
        keep = []  # contiguous copies made for this call (alive until the kernels that read them ran)
        with np.errstate(all="ignore"):
            for step in self.steps:
                kind = step[0]
                if kind == _KERNEL:
                    _, fn, ptrs, dyn, fresh, static, what, fail = step
                    for j, s, want in dyn:
                        a = env[s]
                        if type(a) is not np.ndarray or a.dtype != want or not a.flags.c_contiguous:
                            a = np.ascontiguousarray(a, dtype=want)
                            keep.append(a)
                        ptrs[j] = a.ctypes.data
                    for j, s, shape, dtype in fresh:
                        b = env[s] = np.empty(shape, dtype)
                        ptrs[j] = b.ctypes.data
                    if DEBUG:
                        t = time.perf_counter()
                        bad = fn(ptrs)
                        print(f"[tapegrad] kernel ({what}): {(time.perf_counter() - t) * 1e6:.1f} µs", file=sys.stderr)
                    else:
                        bad = fn(ptrs)
                    if bad:
                        raise fail(env, bad)
                    for s, b in static:
                        env[s] = b
                elif kind == _MATMUL:
                    _, mm, ins, s, buf, _, _ = step
                    env[s] = mm(env[ins[0]], env[ins[1]], out=buf)
                else:
                    _, impl, ins, outs, params, multi, _ = step
                    if multi:
                        for s, r in zip(outs, impl(*[env[i] for i in ins], **params)):
                            env[s] = r
                    else:
                        env[outs[0]] = impl(*[env[i] for i in ins], **params)
        out = [env[s] for s in self.output_slots]
        for j in self.copy_out:
            out[j] = np.array(out[j], copy=True)
        return out
