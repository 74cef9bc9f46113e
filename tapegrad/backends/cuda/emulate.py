"""The CUDA kernels run as C++ on the CPU, one thread per block, to check the renderer without a GPU.

The kernel text is the GPU's, unchanged; a shim turns `__global__` functions into plain C++ ones, `blockIdx` /
`blockDim` / `gridDim` / `threadIdx` into globals that a driver sets, and the block reduction into the identity
(a block of one thread). Each launch runs its grid's blocks one after another. What this checks: the index
arithmetic of every load and store, the grid-stride and row-stride loops, the phases of row kernels, the
workspace layout of partial results and their combination, the element expressions. What it cannot check:
warp shuffles, shared memory and `__syncthreads` (blocks of more than one thread), which only a GPU runs.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import tempfile

import numpy as np

from .source import COMBINE, ELEMENT

SHIM = r"""#include <math.h>
#include <stdint.h>
#include <string.h>
struct tg_dim3 { unsigned x, y, z; };
static tg_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __restrict__ __restrict
#define TG_INLINE static inline
""" + ELEMENT + COMBINE + r"""
template <int OP, typename T> TG_INLINE T tg_block_reduce(T v, T identity) { (void)identity; return v; }
"""


def _driver(ck) -> str:
    """`launch_NAME(void **a)` per launch: its grid's blocks in order, with blockDim 1; `run_kN(void **a)`: every
    launch of the kernel in order."""
    args = ", ".join(f"({t})a[{j}]" for j, t in enumerate(ck.types))
    lines = []
    for launch in ck.launches:
        lines += [f'extern "C" void launch_{launch.name}(void **a) {{',
                  f"    blockDim.x = 1; threadIdx.x = 0; gridDim.x = {launch.grid};",
                  f"    for (unsigned b = 0; b < {launch.grid}; b++) {{ blockIdx.x = b; {launch.name}({args}); }}", "}"]
    calls = " ".join(f"launch_{launch.name}(a);" for launch in ck.launches)
    return "\n".join(lines + [f'extern "C" void run_{ck.name}(void **a) {{ {calls} }}'])


def build(kernels, folder: str | None = None) -> ctypes.CDLL:
    """A shared library of the kernels and their drivers, compiled with the system C++ compiler."""
    source = SHIM + "\n".join(ck.source + _driver(ck) for ck in kernels) + "\n"
    folder = folder or tempfile.mkdtemp(prefix="tapegrad-cuda-emulate-")
    key = hashlib.sha256(source.encode()).hexdigest()[:24]
    src, lib = os.path.join(folder, f"{key}.cpp"), os.path.join(folder, f"{key}.so")
    if not os.path.exists(lib):
        with open(src, "w") as f:
            f.write(source)
        cxx = os.environ.get("CXX") or "c++"
        done = subprocess.run([cxx, "-O1", "-std=gnu++17", "-shared", "-fPIC", "-fwrapv", src, "-o", lib],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{cxx} could not build the emulated CUDA kernels:\n{done.stderr[-4000:]}")
    return ctypes.CDLL(lib)


def run(lib, ck, inputs: list) -> list:
    """Run kernel `ck` (render.CudaKernel) on numpy arrays (one per loaded Var, in `ck.args` order); returns its
    outputs."""
    arrays = [np.ascontiguousarray(a, dtype=v.dtype.np) for a, v in zip(inputs, ck.args)]
    outs = [np.empty(tuple(v.shape), v.dtype.np) for v in ck.kernel.outputs]
    ws = [np.full(ck.workspace, np.nan)] if ck.workspace else []
    ptrs = (ctypes.c_void_p * (len(arrays) + len(outs) + len(ws)))(*[a.ctypes.data for a in arrays + outs + ws])
    getattr(lib, f"run_{ck.name}")(ptrs)
    return outs


def launcher(lib, name: str):
    """A stand-in for a CuPy RawKernel: f(grid, block, args) runs launch `name` on numpy arrays (grid and block
    come from the kernel's own launch; the emulation always uses its grid and one thread per block)."""
    fn = getattr(lib, f"launch_{name}")

    def launch(grid, block, args):
        fn((ctypes.c_void_p * len(args))(*[a.ctypes.data for a in args]))

    return launch
