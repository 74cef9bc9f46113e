"""The graph IR: Var, Eqn and Graph dataclasses, the printer (a jaxpr-like listing) and verify().

A leaf of trace/: depends only on primitives/base.py (AVal, shape rules). The tracer builds Graphs,
passes/ rewrite them, backends/plan.py runs them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TraceError
from ..primitives.base import AVal

_ids = itertools.count()


class TapeData:
    """The run-time value of a `while` loop's tape (trace/control.py): the carries before each trip, in a list. A
    plan passes it from the loop to its reverse like an array; behind a Tensor, shape () lets shape rules read it."""

    shape, ndim, size = (), 0, 1

    def __init__(self, items):
        self.items = items


class Var:
    """One value of a graph (SSA: defined once). `const` holds the array of a literal constant."""

    __slots__ = ("aval", "const", "id", "hint")

    def __init__(self, aval: AVal, const: np.ndarray | None = None, hint: str = ""):
        self.aval, self.const, self.id, self.hint = aval, const, next(_ids), hint

    @property
    def shape(self) -> tuple:
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    def __repr__(self) -> str:
        return f"Var({self.id}:{type_str(self.aval)})"


@dataclass
class Eqn:
    """outputs = prim(*inputs, **params). Structured control flow keeps its sub-graphs in params."""

    prim: Any
    inputs: list
    outputs: list
    params: dict = field(default_factory=dict)
    where: str = ""  # the user's line that bound it ("file.py:12 in f"), for errors and pictures
    scope: str = ""  # the module path (e.g. "fc1", "encoder.layers.0.linear1") it was traced in, for pictures
    phase: str = "forward"  # "backward" when bound by a backward sweep (its scope is then the forward op's)


@dataclass
class Graph:
    """Typed inputs, a list of equations in execution order, and outputs (Vars, some may be inputs or consts)."""

    inputs: list
    eqns: list
    outputs: list
    name: str = "f"

    def consts(self) -> list:
        """Constant Vars used by the equations or outputs, in first-use order."""
        seen, out = set(), []
        for v in itertools.chain((x for e in self.eqns for x in e.inputs), self.outputs):
            if v.const is not None and v.id not in seen:
                seen.add(v.id)
                out.append(v)
        return out

    def __str__(self) -> str:
        return format_graph(self)

    def __repr__(self) -> str:
        return f"<Graph {self.name}: {len(self.inputs)} inputs, {len(self.eqns)} eqns, {len(self.outputs)} outputs>"


def type_str(aval: AVal) -> str:
    return f"{_SHORT.get(aval.dtype.name, aval.dtype.name)}[{','.join(map(str, aval.shape))}]"


_SHORT = {
    "float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64", "int8": "i8", "int16": "i16",
    "int32": "i32", "int64": "i64", "uint8": "u8", "bool": "bool",
}


# *** the printer ***


class _Names:
    """Short names a, b, ..., z, ba, ... in order of definition (as jaxprs do)."""

    def __init__(self):
        self.names: dict = {}

    def __call__(self, v: Var) -> str:
        c = v.const
        if c is not None and c.size >= 1 and (c.ndim == 0 or not any(c.strides)):  # a scalar, maybe broadcast
            return _literal(c.reshape(-1)[:1].reshape(()))
        if v.id not in self.names:
            n, s = len(self.names), ""
            while True:
                s = chr(ord("a") + n % 26) + s
                n = n // 26 - 1
                if n < 0:
                    break
            self.names[v.id] = s
        return self.names[v.id]


def _literal(a: np.ndarray) -> str:
    x = a.item()
    if isinstance(x, float):
        return repr(x) if x == x and abs(x) != float("inf") else str(x)
    return str(x)


def _param_str(k, v, indent, names) -> str:
    if isinstance(v, Graph):
        inner = format_graph(v, indent + 4, names)
        return f"{k}=\n{inner}"
    if hasattr(v, "name") and not isinstance(v, (str, tuple)):
        return f"{k}={v.name}"
    return f"{k}={v!r}"


def _has_graph(v) -> bool:
    return isinstance(v, Graph) or (isinstance(v, (list, tuple)) and any(isinstance(x, Graph) for x in v))


def format_graph(g: Graph, indent: int = 0, names: _Names | None = None) -> str:
    """The listing: `{ lambda consts ; inputs. let  out:type = prim in params  in (outputs) }`."""
    names = names or _Names()
    pad = " " * indent
    consts = [v for v in g.consts() if v.const.ndim and any(v.const.strides)]
    head = " ".join(f"{names(v)}:{type_str(v.aval)}" for v in consts)
    ins = " ".join(f"{names(v)}:{type_str(v.aval)}" for v in g.inputs)
    lines = [f"{pad}{{ lambda {head + ' ' if head else ''}; {ins}. let"]
    for e in g.eqns:
        outs = " ".join(f"{names(v)}:{type_str(v.aval)}" for v in e.outputs)
        args = " ".join(names(v) for v in e.inputs)
        simple = {k: v for k, v in e.params.items() if not _has_graph(v)}
        ps = "".join(" " + _param_str(k, v, indent, names) for k, v in simple.items())
        line = f"{pad}    {outs} = {e.prim.name}{ps} {args}".rstrip()
        lines.append(f"{line}  # {e.scope}" if e.scope else line)
        for k, v in e.params.items():
            for j, sub in enumerate([v] if isinstance(v, Graph) else v if _has_graph(v) else []):
                lines.append(f"{pad}      {k}={'' if isinstance(v, Graph) else f'[{j}]'}")
                lines.append(format_graph(sub, indent + 8, names))
    lines.append(f"{pad}  in ({', '.join(names(v) for v in g.outputs)}) }}")
    return "\n".join(lines)


# *** verification ***


def verify(g: Graph, *, defined: set | None = None) -> Graph:
    """Check that g is well formed: every Var defined once before use, and every equation's output types
    equal what its primitive's shape rule gives. Raises TraceError naming the equation; returns g."""
    defined = set(defined or ())
    for v in g.inputs:
        _define(v, defined, "an input")
    for i, e in enumerate(g.eqns):
        for v in e.inputs:
            if v.const is None and v.id not in defined:
                raise TraceError(f"verify: equation {i} ({e.prim.name}) reads {v!r}, which is not defined before it")
        got = _expected(e)
        if len(got) != len(e.outputs):
            raise TraceError(f"verify: equation {i} ({e.prim.name}) has {len(e.outputs)} outputs, its rule gives {len(got)}")
        for v, a in zip(e.outputs, got):
            if tuple(v.shape) != tuple(a.shape) or v.dtype is not a.dtype:
                raise TraceError(
                    f"verify: equation {i} ({e.prim.name}) declares {type_str(v.aval)} but its shape rule gives "
                    f"{type_str(a)}"
                )
            _define(v, defined, f"equation {i} ({e.prim.name})")
    for v in g.outputs:
        if v.const is None and v.id not in defined:
            raise TraceError(f"verify: output {v!r} is not defined by an input or an equation")
    return g


def _define(v, defined, what):
    if v.id in defined:
        raise TraceError(f"verify: {v!r} is defined twice (again by {what}); a graph is in SSA form")
    defined.add(v.id)


def _expected(e: Eqn) -> list:
    avals = [v.aval for v in e.inputs]
    if getattr(e.prim, "multiple_results", False):
        return list(e.prim.shape(*avals, **e.params))
    return [e.prim.shape(*avals, **e.params)]
