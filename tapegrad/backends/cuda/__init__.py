"""The CUDA backend: the C backend's fused kernels rendered as CUDA C, compiled by NVRTC, run through CuPy.

Registered in backends/base.py as "cuda" (`tg.jit(f, backend="cuda")`). It runs only where an NVIDIA driver
finds a GPU and CuPy and NVRTC are installed (`pip install "tapegrad[cuda]"`); elsewhere it is refused with what
is missing. The renderer (render.py, source.py) and the NVRTC compile (nvrtc.py) are tested on every machine;
the plan (plan.py) has not yet run on a GPU. See docs/cuda.md for exactly what is verified.
"""

from __future__ import annotations

from ..base import Backend


class CudaBackend(Backend):
    name = "cuda"

    def unavailable(self) -> str | None:
        from ... import cuda

        return cuda.backend_problem()

    def compile(self, graph):
        from .plan import CudaPlan

        return CudaPlan(graph)


BACKEND = CudaBackend()
