"""The CUDA plan: a traced Graph run on a GPU through CuPy. NOT YET RUN ON A GPU (docs/cuda.md).

What is verified without a GPU (tests/backends/test_cuda.py): the kernel source compiles with NVRTC, and this
plan's orchestration (which values reach which kernel argument, the workspace, the launch order, the equations
between kernels) runs correctly with numpy standing in for CuPy and the kernels run by the CPU emulation
(emulate.py). What is not: any launch on a GPU, CuPy itself, the speed.

How it runs: tensors live in host memory in this build, so a call copies its inputs to the GPU (`cupy.asarray`)
and its results back (`.get()`). The fused kernels (render.py) are compiled by NVRTC for the GPU's architecture,
cached on disk (nvrtc.py), loaded as one `cupy.RawModule` and launched in order on the current stream, with no
host synchronisation between them. Every other equation runs its numpy reference implementation on CuPy arrays:
NumPy dispatches ufuncs (matmul included: cuBLAS) and most functions to CuPy (NEP 13 / NEP 18), and CuPy refuses
any implicit conversion to a numpy array, so an equation CuPy cannot run is an error, never a silent copy.
"""

from __future__ import annotations

import threading

from ..c.fuse import Kernel, fuse, reads
from ..c.plan import _needed, _uniform_consts
from . import nvrtc, render


def _cupy():
    import cupy

    return cupy


def _arch(cp) -> str:
    """'sm_90' for the current device."""
    return f"sm_{cp.cuda.Device().compute_capability}"


def _module(cp, source: str, kernels):
    """The kernels' functions by launch name, from one cubin compiled for the current device."""
    module = cp.RawModule(path=nvrtc.build(source, _arch(cp)))
    return {launch.name: module.get_function(launch.name) for ck in kernels for launch in ck.launches}


class CudaPlan:
    """A compiled Graph on the CUDA backend: call it with a list of host (numpy) arrays, get host arrays back."""

    def __init__(self, graph):
        self.graph = graph
        graph = _uniform_consts(graph)
        # no c/lower.py: its library kernels are C; gathers, folds and indexing run as equations on CuPy
        self.items = _needed(graph, fuse(graph))
        self.kernels = {}
        for x in self.items:
            if isinstance(x, Kernel):
                self.kernels[id(x)] = render.render(x, f"k{len(self.kernels)}")
        self.source = render.module_source(list(self.kernels.values()))
        self.consts = {v.id: v.const for x in self.items for v in reads(x) if v.const is not None}
        self.consts.update({v.id: v.const for v in graph.outputs if v.const is not None})
        self._ready, self._lock = None, threading.Lock()

    def _prepare(self, cp):
        """Compile and load the module and copy the constants to the GPU, once."""
        with self._lock:
            if self._ready is None:
                fns = _module(cp, self.source, list(self.kernels.values())) if self.kernels else {}
                self._ready = fns, {vid: cp.asarray(c) for vid, c in self.consts.items()}
        return self._ready

    def __call__(self, feed: list) -> list:
        """Host arrays in, host arrays out (copied to the GPU and back)."""
        cp = _cupy()
        return [_host(cp, a) for a in self.run_device(feed)]

    def run_device(self, feed: list) -> list:
        """GPU (or host) arrays in, GPU arrays out, with no copy back and no synchronisation: what
        benchmarks/gpu_bench.py times."""
        cp = _cupy()
        fns, consts = self._prepare(cp)
        env = dict(consts)
        for v, a in zip(self.graph.inputs, feed):
            env[v.id] = cp.asarray(a)
        for x in self.items:
            if isinstance(x, Kernel):
                self._launch(cp, fns, self.kernels[id(x)], env)
            else:
                result = x.prim.impl(*[env[u.id] for u in x.inputs], **x.params)
                for v, r in zip(x.outputs, result if x.prim.multiple_results else [result]):
                    env[v.id] = r
        return [env[v.id] for v in self.graph.outputs]

    @staticmethod
    def _launch(cp, fns, ck, env):
        args = [cp.ascontiguousarray(env[v.id], dtype=v.dtype.np) for v in ck.args]
        outs = [cp.empty(tuple(v.shape), v.dtype.np) for v in ck.kernel.outputs]
        ws = [cp.empty(ck.workspace, "float64")] if ck.workspace else []
        for launch in ck.launches:
            fns[launch.name]((launch.grid,), (launch.block,), tuple(args + outs + ws))
        for v, o in zip(ck.kernel.outputs, outs):
            env[v.id] = o


def _host(cp, a):
    return cp.asnumpy(a)
