"""The plan executor: runs a Graph on numpy arrays with no autograd bookkeeping, reusing dead buffers.

Depends on trace/ir.py (the Graph) and on the numpy implementations installed on the primitive table.
Called by trace/function.py. Compiling a graph resolves every equation once into a step (an impl, slot
numbers, params); running the plan is one loop over the steps. Elementwise primitives write into
buffers whose values are dead (last read by an earlier step, and not aliased by a live view).
"""

from __future__ import annotations

import numpy as np

# Elementwise primitives that run as numpy ufuncs with out=: the plan hands them a recycled buffer.
UFUNCS = {
    "neg": np.negative, "exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh,
    "abs": np.abs, "sign": np.sign, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc,
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2,
}
# Primitives whose numpy implementation always returns a new array (never a view of an input).
FRESH = {"matmul", "sum", "prod", "cumsum", "cumprod", "concat", "where", "flip", "unslice", "fold", "index_put",
         "argmax", "argmin", "argsort", "cast", "sigmoid", "erf", "erfc", "round"} | set(UFUNCS)


class Plan:
    """A compiled Graph: call it with a list of input arrays, get a list of output arrays."""

    def __init__(self, graph):
        self.graph = graph
        self.stats = {"allocated": 0, "reused": 0}
        slots = {}
        self.consts = {}
        for v in graph.inputs:
            slots[v.id] = len(slots)
        self.input_slots = [slots[v.id] for v in graph.inputs]
        for v in graph.consts():
            slots[v.id] = len(slots)
            self.consts[slots[v.id]] = v.const
        for e in graph.eqns:
            for v in e.outputs:
                slots[v.id] = len(slots)
        self.n_slots = len(slots)
        self.output_slots = [slots[v.id] for v in graph.outputs]
        self.steps = self._steps(graph, slots)

    def _steps(self, graph, slots):
        last = {}
        for i, e in enumerate(graph.eqns):
            for v in e.inputs:
                last[slots[v.id]] = i
        for s in self.output_slots:
            last[s] = len(graph.eqns)  # outputs stay alive
        owned = set()  # slots whose buffer this plan may recycle once dead
        root = {}  # slot -> the slot whose buffer it may alias
        steps = []
        for i, e in enumerate(graph.eqns):
            ins = [slots[v.id] for v in e.inputs]
            outs = [slots[v.id] for v in e.outputs]
            name = e.prim.name
            uf = UFUNCS.get(name)
            out_aval = e.outputs[0].aval
            same = all(v.dtype is out_aval.dtype and v.shape == out_aval.shape for v in e.inputs)
            use_out = uf is not None and same and out_aval.dtype.np.kind in "fiu" and len(outs) == 1
            for o in outs:
                if name in FRESH and not getattr(e.prim, "multiple_results", False):
                    root[o] = o
                    owned.add(o)
                else:
                    root[o] = root.get(ins[0]) if ins and getattr(e.prim, "is_view", True) else None
            # slots whose last reader is this step: release them after it runs (and recycle their buffer)
            dying = [s for s in set(ins) if last.get(s) == i]
            dying += [o for o in outs if o not in last]  # never read: free at once
            steps.append((uf if use_out else e.prim.impl, ins, outs, e.params, use_out,
                          (tuple(out_aval.shape), out_aval.dtype.np), dying, getattr(e.prim, "multiple_results", False)))
        self.owned, self.root = owned, root
        return steps

    def __call__(self, feed: list) -> list:
        env = [None] * self.n_slots
        for s, x in zip(self.input_slots, feed):
            env[s] = x
        for s, c in self.consts.items():
            env[s] = c
        pool: dict = {}  # (shape, dtype) -> dead buffers
        held = {}  # root slot -> its buffer, while some slot aliasing it is alive
        live = {}  # root slot -> number of live slots aliasing it
        root, owned = self.root, self.owned
        allocated = reused = 0
        with np.errstate(all="ignore"):
            for fn, ins, outs, params, use_out, key, dying, multi in self.steps:
                args = [env[s] for s in ins]
                if use_out:
                    bufs = pool.get(key)
                    if bufs:
                        buf = bufs.pop()
                        reused += 1
                    else:
                        buf = np.empty(key[0], key[1])
                        allocated += 1
                    env[outs[0]] = fn(*args, out=buf)
                elif not multi:
                    env[outs[0]] = fn(*args, **params)
                else:
                    for s, r in zip(outs, fn(*args, **params)):
                        env[s] = r
                for o in outs:
                    r = root.get(o)
                    if r is not None:
                        live[r] = live.get(r, 0) + 1
                        if r == o:
                            held[r] = env[o]
                for s in dying:
                    env[s] = None
                    r = root.get(s)
                    if r is None:
                        continue
                    live[r] -= 1
                    if not live[r]:
                        buf = held.pop(r)
                        if r in owned and type(buf) is np.ndarray and buf.base is None and buf.flags.writeable:
                            pool.setdefault((buf.shape, buf.dtype), []).append(buf)
        self.stats = {"allocated": allocated, "reused": reused}
        return [env[s] for s in self.output_slots]


def compile_graph(graph) -> Plan:
    return Plan(graph)
