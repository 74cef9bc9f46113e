"""The numpy plan: a traced Graph run on numpy arrays with no autograd bookkeeping.

Depends on trace/ir.py (the Graph), executor.py (slots, liveness, buffers, the run loop) and the numpy
implementations installed on the primitive table. Each equation becomes one step: an elementwise primitive
that numpy computes as a ufunc, and a BLAS matmul, write into a buffer the plan owns (allocated once, shared
by values whose lifetimes do not overlap); every other primitive calls its numpy implementation.
"""

from __future__ import annotations

import threading

import numpy as np

from . import executor
from .executor import FRESH, OWNED, VIEW, CallStep, IntoStep, PlanCore, blas_matmul

# Elementwise primitives that run as numpy ufuncs with out=: the plan hands them a buffer of its own.
UFUNCS = {
    "neg": np.negative, "exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh,
    "abs": np.abs, "sign": np.sign, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc,
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2,
}
# Primitives whose numpy implementation always returns a new array (never a view of an input).
FRESH_RESULTS = {"matmul", "sum", "prod", "cumsum", "cumprod", "concat", "where", "flip", "unslice", "fold",
                 "index_put", "argmax", "argmin", "argsort", "cast", "sigmoid", "erf", "erfc", "round"} | set(UFUNCS)


def _ufunc(e):
    """The ufunc that computes e into a buffer, or None (inputs of another shape or dtype, several outputs)."""
    uf = UFUNCS.get(e.prim.name)
    out = e.outputs[0].aval
    if uf is None or len(e.outputs) != 1 or out.dtype.np.kind not in "fiu":
        return None
    return uf if all(v.dtype is out.dtype and v.shape == out.shape for v in e.inputs) else None


def storage(e, v) -> str:
    """How the numpy plan stores value v of equation e (executor.py)."""
    if _ufunc(e) is not None or blas_matmul(e):
        return OWNED
    if e.prim.name in FRESH_RESULTS and not e.prim.multiple_results:
        return FRESH
    return VIEW


class Plan:
    """A compiled Graph on numpy: call it with a list of input arrays, get a list of output arrays."""

    def __init__(self, graph):
        self.graph = graph
        self.core = PlanCore(graph, graph.eqns, storage)
        self.steps = [self._step(e) for e in graph.eqns]
        self._pairs = self.core.pairs(self.steps)
        # the plan's buffers are shared by every call: one call at a time (control-flow sub-graphs are run by
        # several threads' backward passes without a lock of their own)
        self._running = threading.Lock()
        self._straight = _straight_line(self.core, self._pairs)

    @property
    def stats(self) -> dict:
        return self.core.stats

    def _step(self, e):
        slots, core = self.core.slots, self.core
        ins, outs = [slots[v.id] for v in e.inputs], [slots[v.id] for v in e.outputs]
        buffer = core.buffers.get(outs[0])
        if buffer is not None:
            fn = np.matmul if blas_matmul(e) else _ufunc(e)
            return IntoStep(ins, outs, e.prim.name, fn=fn, buffer=buffer)
        return CallStep(ins, outs, e.prim.name, impl=e.prim.impl, params=e.params, multi=e.prim.multiple_results)

    def __call__(self, feed: list) -> list:
        straight = self._straight
        if straight is not None and executor._ERRORS is not None and executor._ERRORS.get() is executor._IGNORE_ALL:
            return straight(feed)  # (a loop body's plan, run by a step of a plan that set the error state)
        with self._running:
            return self.core.run(self._pairs, feed)


def _straight_line(core, pairs):
    """For a plan whose steps all return new values (no plan buffers, nothing copied out, no lock needed): a Python
    function running them as straight-line code on local variables, or None.

    A loop body's or a branch's plan (trace/control.py) is called once per trip, and is mostly one to three such
    steps: the general run loop (the slot list, its copy, the step objects, the released slots) cost twice the
    steps themselves. The function is generated from the plan, so it does exactly what core.run does; it runs only
    where numpy's error state already ignores errors (the caller checks), as core.run would set it."""
    if core.buffers or core.copy_out or not all(type(step) is CallStep for step, _ in pairs):
        return None
    names = {**{f"v{s}": c for s, c in core.consts.items()}, **{f"v{s}": c for s, c in core.static.items()}}
    lines = ["def run(feed):"]
    lines += [f"    v{s} = feed[{k}]" for k, s in enumerate(core.input_slots)]
    for j, (step, _) in enumerate(pairs):
        names[f"f{j}"] = step.impl
        args = ", ".join(f"v{i}" for i in step.ins)
        if step.params:
            names[f"p{j}"] = step.params
            args += f", **p{j}"
        if step.multi:
            lines.append(f"    r = f{j}({args})")
            lines += [f"    v{s} = r[{k}]" for k, s in enumerate(step.outs)]
        else:
            lines.append(f"    v{step.outs[0]} = f{j}({args})")
    lines.append("    return [" + ", ".join(f"v{s}" for s in core.output_slots) + "]")
    exec(compile("\n".join(lines), "<tapegrad straight-line plan>", "exec"), names)  # noqa: S102 (our own source)
    return names["run"]


def compile_graph(graph) -> Plan:
    return Plan(graph)
