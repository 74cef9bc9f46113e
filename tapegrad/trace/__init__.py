"""Graph mode: the IR (ir.py), the tracer (tracer.py) and tg.function / tg.jit (function.py)."""

from .compile import compile  # noqa: F401,A004
from .function import ConcreteFunction, Function, RetraceWarning, TensorSpec, function, jit  # noqa: F401
from .ir import Eqn, Graph, Var, format_graph, verify  # noqa: F401
from .tracer import SymData, Tracer, is_symbolic  # noqa: F401
