"""The CUDA kernels run as C++ on the CPU, with the GPU's grid and block sizes, to check the renderer without a GPU.

The kernel text and the prelude are the GPU's, unchanged (block reductions included); a shim supplies what
the hardware would: each block's threads are OS threads (`threadIdx` is thread-local, `blockIdx` / `blockDim` /
`gridDim` are set by the driver), `__syncthreads()` is a barrier over the block, `__shfl_down_sync` an exchange
through memory between two barriers of the warp, and `__shared__` variables are static (blocks run one after
another). What this checks: the index arithmetic of every load and store, the grid-, row- and thread-stride
loops, the phases of row kernels, the warp-shuffle and shared-memory reductions and their synchronisation, the
workspace layout of partial results and their combination, the element expressions. What it cannot check: the
GPU's memory model beyond barriers, NVRTC's code generation, speed.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import tempfile

import numpy as np

from .source import BLOCK, COMBINE, ELEMENT

SHIM = r"""#include <math.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
struct tg_dim3 { unsigned x, y, z; };
static thread_local tg_dim3 threadIdx;
static tg_dim3 blockIdx, blockDim, gridDim;
static pthread_barrier_t tg_block_barrier, tg_warp_barrier[32];
#define __global__
#define __restrict__ __restrict
#define __shared__ static
#define TG_INLINE static inline
static inline void __syncthreads() { pthread_barrier_wait(&tg_block_barrier); }
template <typename T> static T __shfl_down_sync(unsigned mask, T v, int d) {
    static T slot[1024];
    unsigned t = threadIdx.x, lane = t & 31;
    (void)mask;
    slot[t] = v;
    pthread_barrier_wait(&tg_warp_barrier[t >> 5]);
    T r = lane + d < 32 ? slot[t + d] : v;
    pthread_barrier_wait(&tg_warp_barrier[t >> 5]);
    return r;
}
typedef void (*tg_kernel)(void **);
struct tg_thread { tg_kernel fn; void **a; unsigned t; };
static void *tg_thread_main(void *p) {
    tg_thread *th = (tg_thread *)p;
    threadIdx.x = th->t; threadIdx.y = threadIdx.z = 0;
    th->fn(th->a);
    return 0;
}
/* one launch: blocks in order, each as `block` threads (a multiple of 32, at most 1024) */
static void tg_launch(tg_kernel fn, void **a, unsigned grid, unsigned block) {
    pthread_t ids[1024];
    tg_thread ths[1024];
    gridDim.x = grid; blockDim.x = block; gridDim.y = gridDim.z = blockDim.y = blockDim.z = 1;
    pthread_barrier_init(&tg_block_barrier, 0, block);
    for (unsigned w = 0; w < block / 32; w++) pthread_barrier_init(&tg_warp_barrier[w], 0, 32);
    for (unsigned b = 0; b < grid; b++) {
        blockIdx.x = b; blockIdx.y = blockIdx.z = 0;
        for (unsigned t = 0; t < block; t++) {
            ths[t].fn = fn; ths[t].a = a; ths[t].t = t;
            pthread_create(&ids[t], 0, tg_thread_main, &ths[t]);
        }
        for (unsigned t = 0; t < block; t++) pthread_join(ids[t], 0);
    }
    pthread_barrier_destroy(&tg_block_barrier);
    for (unsigned w = 0; w < block / 32; w++) pthread_barrier_destroy(&tg_warp_barrier[w]);
}
""" + ELEMENT + COMBINE + BLOCK


def _driver(ck) -> str:
    """`launch_NAME(void **a)` per launch (its grid and block), and `run_kN(void **a)`: every launch in order."""
    args = ", ".join(f"({t})a[{j}]" for j, t in enumerate(ck.types))
    lines = []
    for launch in ck.launches:
        lines += [f"static void body_{launch.name}(void **a) {{ {launch.name}({args}); }}",
                  f'extern "C" void launch_{launch.name}(void **a) '
                  f"{{ tg_launch(body_{launch.name}, a, {launch.grid}, {launch.block}); }}"]
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
        done = subprocess.run([cxx, "-O1", "-std=gnu++17", "-pthread", "-shared", "-fPIC", "-fwrapv", src, "-o", lib],
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
    """A stand-in for a CuPy RawKernel: f(grid, block, args) runs launch `name` on numpy arrays (with the grid and
    block of the kernel's own launch, which are what a plan passes)."""
    fn = getattr(lib, f"launch_{name}")

    def launch(grid, block, args):
        fn((ctypes.c_void_p * len(args))(*[a.ctypes.data for a in args]))

    return launch
