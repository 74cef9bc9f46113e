"""The CUDA C prelude: the C backend's scalar templates and vectorised math, as device functions.

One renderer family: the element-level code of a CUDA kernel is the C backend's (backends/c/scalar.py `expr`,
the `tg_*` functions of backends/c/vmath.py and the libm fallbacks of scalar.PRELUDE), so the CPU and the GPU
compute each element with the same formulas. What differs is only the frame around them:

- NVRTC compiles without the C standard headers, so the integer types and INFINITY / NAN are defined here and
  the C text's `#include` lines and its `TG_INLINE` definition are dropped (TG_INLINE becomes
  `__device__ __forceinline__`; not `static`, which makes NVRTC warn about every helper a kernel leaves unused).
- The block reductions (warp shuffles, then one shared-memory step across warps) are BLOCK; emulate.py runs
  all of this text as C++ on the CPU, one OS thread per CUDA thread (tests/backends/test_cuda.py).
"""

from __future__ import annotations

from ..c.scalar import PRELUDE as C_PRELUDE
from ..c.vmath import VMATH

_DROP = ("#include", "#define TG_INLINE")


def _without_headers(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(_DROP))


# VMATH, then the libm fallbacks (tg_erf, tg_rem, ...) that scalar.PRELUDE appends to it
ELEMENT = _without_headers(VMATH + C_PRELUDE.split(VMATH, 1)[1])

HEAD = r"""/* tapegrad CUDA kernels (NVRTC: no standard headers) */
typedef int int32_t;
typedef long long int64_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
#define INFINITY __int_as_float(0x7f800000)
#define NAN __int_as_float(0x7fffffff)
#define TG_INLINE __device__ __forceinline__
"""

# Block-wide reductions, called by every thread of a block (all threads get the result). OP 0 is a sum, 1 a
# NaN-propagating max. The order of the additions is fixed by the block size alone, so results do not change
# from run to run.
COMBINE = r"""
template <int OP, typename T> TG_INLINE T tg_combine(T a, T b) {
    return OP == 0 ? a + b : ((b > a || b != b) ? b : a);
}
"""
BLOCK = r"""
template <int OP, typename T> TG_INLINE T tg_warp_reduce(T v) {
    for (int d = 16; d > 0; d >>= 1) v = tg_combine<OP>(v, __shfl_down_sync(0xffffffffu, v, d));
    return v;
}
template <int OP, typename T> TG_INLINE T tg_block_reduce(T v, T identity) {
    __shared__ T part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = tg_warp_reduce<OP>(v);
    __syncthreads(); /* part[] may still be read by the previous call */
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = tg_warp_reduce<OP>(lane < warps ? part[lane] : identity);
        if (lane == 0) part[0] = v;
    }
    __syncthreads();
    return part[0];
}
"""

PRELUDE = HEAD + ELEMENT + COMBINE + BLOCK
