"""The C backend: fused elementwise and reduction kernels compiled by the system C compiler, run by a plan.

Registered in backends/base.py as "c", the default backend of tg.function / tg.jit and of eager ops (eager.py:
elementwise primitives and sum / amax on large tensors run compiled kernels, the rest numpy). Without a working
compiler it falls back, with one warning, to the numpy plan and numpy eager ops. See docs/compiler.md.
"""

from __future__ import annotations

from ..base import Backend
from . import compiler


class CBackend(Backend):
    name = "c"
    falls_back_to = "numpy"

    def unavailable(self) -> str | None:
        why = compiler.problem()
        return None if why is None else f"{why}; install gcc or clang, or point TAPEGRAD_CC at one"

    def eager_impls(self) -> dict:
        from ..base import REFERENCE, get
        from . import eager

        return eager.impls(get(REFERENCE).eager_impls())

    def eager_vjps(self) -> dict:
        from ..base import REFERENCE, get
        from . import eager

        return eager.vjps(get(REFERENCE).eager_vjps())

    def compile(self, graph):
        cc = compiler.compiler()  # None after one warning when there is no working compiler
        if cc is None:
            from ..base import get

            return get(self.falls_back_to).compile(graph)
        from .plan import CPlan

        return CPlan(graph, cc)


BACKEND = CBackend()
