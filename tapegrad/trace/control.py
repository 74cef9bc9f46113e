"""Structured control flow as graph ops holding sub-graphs: `while` (with its reverse `while_grad`) and
`switch` (cond and switch_case are switches). scan and fori_loop are built on while_loop (tapegrad/lax.py).

Eagerly (no tracer active) the public functions run as Python loops and branches, differentiable through
the recorded steps. Under a tracer they trace their bodies into sub-graphs and record one equation. When
an input requires grad, the forward `while` also outputs a tape (the carries before each iteration), and
its Node's backward records `while_grad`, which runs the body's vjp in reverse over that tape: the trip
count is known only at run time. Depends on trace/tracer.py, trace/differentiate.py, autograd/.
"""

from __future__ import annotations

import importlib

import numpy as np

dt = importlib.import_module("..dtype", __package__)  # (tapegrad.dtype is shadowed by tg.dtype, the class)
from ..autograd import engine
from ..autograd.grad_mode import STATE, enable_grad, no_grad
from ..errors import GradError, TraceError
from ..primitives.base import CHEAP_COST, CONTROL, AVal
from ..tensor import Tensor
from .ir import Graph, TapeData, Var, type_str
from .tracer import SymData, Tracer, current_tracer

# The runtime value of a tape is a Python list of per-iteration carries; in the graph it is one Var of this type.
TAPE = dt.DType("tape", None, -1, -1)


class _Op:
    """A structured control-flow op: an equation holding sub-graphs, with the properties backends read from
    primitives (primitives/base.py)."""

    multiple_results = True
    differentiable = True
    is_view = False
    fresh_outputs = True  # every output is a new array (or tape) of the op's own, which no input shares: see impl
    name = ""
    family, fusable, float_only, cost = CONTROL, False, False, CHEAP_COST

    def __repr__(self):
        return self.name

    def bind_tensors(self, ins, params):  # no gradient of its own (while_grad)
        return apply_op(self, ins, params)


# *** sub-graphs ***


def trace_subgraph(fn, avals, args_struct, what: str):
    """Trace fn on symbolic inputs of `avals` (arranged by args_struct) into (graph, captured tensors, out_struct)."""
    from .function import flatten, unflatten

    tr = Tracer(what)
    with no_grad(), tr:
        sym = [tr.new_input(a, hint=f"{what} input {i}") for i, a in enumerate(avals)]
        out = fn(*unflatten(args_struct, sym))
        leaves, struct, _ = flatten(out)
        outs = [x if isinstance(x, Tensor) else _const(x) for x in leaves]
        if tr.writebacks():
            from ..ops.creation import RNG

            if any(t is RNG.key for t, _ in tr.writebacks()):
                raise TraceError(
                    f"{what} draws random numbers (tg.rand / tg.randn / dropout); random draws inside a loop body "
                    "or a branch are not supported yet: draw the noise outside and pass it in (as an operand or "
                    "a loop carry)"
                )
            raise TraceError(
                f"{what} changes a tensor from outside it in place; inside a loop body or a branch, return the new "
                "value (as a loop carry or a branch output) instead"
            )
        graph = tr.finish(outs)
    caps = [t for t, _ in tr.captures]
    graph.inputs = graph.inputs + [v for _, v in tr.captures]
    from ..passes import optimize

    return optimize(graph), caps, struct


def _const(x):
    from ..ops.creation import as_tensor

    return as_tensor(x)


def unify_captures(graphs_caps):
    """Give each (graph, caps) the same trailing inputs: the union of all captures, in first-seen order."""
    union, index = [], {}
    for _, caps in graphs_caps:
        for t in caps:
            if id(t) not in index:
                index[id(t)] = len(union)
                union.append(t)
    out = []
    for g, caps in graphs_caps:
        n_own = len(g.inputs) - len(caps)
        mine = {id(t): v for t, v in zip(caps, g.inputs[n_own:])}
        tail = [mine.get(id(t)) or Var(AVal(t.shape, t.dtype)) for t in union]
        out.append(Graph(g.inputs[:n_own] + tail, g.eqns, g.outputs, g.name))
    return out, union


def _plan(graph):
    """The reference backend's plan of a sub-graph, compiled on first use (a callable: input arrays -> outputs)."""
    plan = graph.__dict__.get("_plan")
    if plan is None:
        from ..backends.base import REFERENCE, get

        plan = graph.__dict__["_plan"] = get(REFERENCE).compile(graph)
    return plan


def _run(graph, arrays):
    return _plan(graph)(list(arrays))


def apply_op(prim, ins, params):
    """Record prim in the active tracer, or run it now on concrete data; returns output Tensors."""
    tr = current_tracer()
    avals = prim.shape(*[AVal(x.shape, x.dtype) for x in ins], **params)
    if tr is not None:
        return tr.add_eqn(prim, ins, params, avals)
    arrays = prim.impl(*[x._data for x in ins], **params)
    outs = []
    for a, av in zip(arrays, avals):
        outs.append(tape_tensor(a) if av.dtype is TAPE else Tensor._make(np.asarray(a)))
    return outs


def tape_tensor(data: TapeData) -> Tensor:
    """A tape behind a Tensor (its dtype TAPE), as eager ops and compiled calls hand it on."""
    t = object.__new__(Tensor)
    t._data, t.dtype = data, TAPE
    return t


def _arrays(x):
    return x.items if isinstance(x, TapeData) else x


def _grad_inputs(ins):
    return STATE.enabled and any(x._rg for x in ins)


def _float(aval) -> bool:
    return aval.dtype.category == dt.FLOAT


# *** while ***


class While(_Op):
    """carries = while cond(carries): carries = body(carries); the trailing inputs are the captured values."""

    name = "while"

    def shape(self, *avals, cond, body, n_carry, max_iter, tape):
        out = list(avals[:n_carry])
        return out + [AVal((), TAPE)] if tape else out

    def impl(self, *arrays, cond, body, n_carry, max_iter, tape):
        carry, consts = list(arrays[:n_carry]), list(arrays[n_carry:])
        run_cond, run_body = _plan(cond), _plan(body)
        i = 0
        if not tape:
            # NOTE: no copy per trip: a plan never writes into its inputs, and its outputs are new arrays or views of
            # its inputs, so the carries keep their values; the final ones are copied once (the outputs are fresh)
            while (max_iter is None or i < max_iter) and run_cond(carry + consts)[0]:
                carry = run_body(carry + consts)
                i += 1
            return [np.array(c, copy=True) for c in carry]
        # The tape may outlive the plan that runs this loop (a compiled call keeps it for its backward pass), so it
        # holds copies of its own: the first carries, and each trip's (which may view the first or a captured value)
        carry = [np.array(c, copy=True) for c in carry]
        history = []
        while (max_iter is None or i < max_iter) and run_cond(carry + consts)[0]:
            history.append(carry)
            carry = [np.array(c, copy=True) for c in run_body(carry + consts)]
            i += 1
        return carry + [TapeData(history)]  # (the final carries are copies already, and not on the tape)

    def bind_tensors(self, ins, params):
        """The final carries, and the tape when one is kept: when an input requires grad, or when the equation
        being replayed (trace/differentiate.py eval_graph) kept one, which a later while_grad of its graph reads."""
        need = _grad_inputs(ins)
        params = {**params, "tape": need or params.get("tape", False)}
        outs = apply_op(self, ins, params)
        if not need:
            return outs
        n = params["n_carry"]
        carries, tape = outs[:n], outs[n]
        node = WhileNode(ins, tape, params)
        for k, o in enumerate(carries):
            if _float(o):
                o._rg, o.grad_fn, o._output_nr = True, node, k
        return outs

    def bind_saved(self, ins, params, saved):
        """What bind_tensors returns, from the outputs (final carries and tape) of a run of this loop that a
        compiled call kept (trace/differentiate.py): the loop is not run again to differentiate it."""
        n = params["n_carry"]
        # (new tensors of the same values: the Node must not hang on the caller's own, which may outlive it)
        carries, tape = [c.detach() for c in saved[:n]], saved[n]
        if _grad_inputs(ins):
            node = WhileNode(ins, tape, params)
            for k, o in enumerate(carries):
                if _float(o):
                    o._rg, o.grad_fn, o._output_nr = True, node, k
        return carries + [tape]


class WhileGrad(_Op):
    """The reverse of a while: from the cotangents of the final carries, run the body's vjp over the tape."""

    name = "while_grad"

    def bind_tensors(self, ins, params):
        outs = apply_op(self, ins, params)
        if _grad_inputs(ins):  # a backward pass being recorded (create_graph, or under a tracer)
            node = _NoSecondOrder(ins, len(outs))
            for k, o in enumerate(outs):
                if _float(o):
                    o._rg, o.grad_fn, o._output_nr = True, node, k
        return outs

    def shape(self, *avals, vjp, n_carry):
        tape_at = len(avals) - n_carry - 1
        consts = avals[:tape_at]
        return list(avals[tape_at + 1 :]) + list(consts)

    def impl(self, *arrays, vjp, n_carry):
        tape_at = len(arrays) - n_carry - 1
        consts, tape, ct = list(arrays[:tape_at]), _arrays(arrays[tape_at]), list(arrays[tape_at + 1 :])
        acc = [np.zeros_like(c) for c in consts]
        run_vjp = _plan(vjp)
        for carry in reversed(tape):
            outs = run_vjp(carry + consts + ct)
            ct = outs[:n_carry]  # (as in While.impl: the plan's outputs keep their values)
            for a, g in zip(acc, outs[n_carry:]):
                a += g
        return [np.array(c, copy=True) for c in ct] + acc


WHILE, WHILE_GRAD = While(), WhileGrad()


class _NoSecondOrder(engine.Node):
    """The Node of a recorded while_grad: it has no gradient rule yet, so differentiating through it raises (without
    this Node the second derivative would silently miss what flows through the loop). A recorded backward pass that
    is never differentiated (grad under tg.jit records one) is unaffected."""

    def __init__(self, ins, n_out):
        super().__init__([engine.edge_of(x) if x._rg else None for x in ins])
        self.num_outputs = n_out

    def name(self) -> str:
        return "WhileGradBackward"

    def apply(self, grads, create_graph):
        raise GradError(
            "a second derivative through tg.while_loop inside tg.function / tg.jit is not supported: the loop's "
            "reverse (while_grad) has no gradient rule of its own yet. Fix: take that derivative eagerly (outside "
            "tg.function the loop runs as Python, and every order works), or loop in Python over a trip count "
            "known when tracing (the loop is then unrolled)"
        )


class WhileNode(engine.Node):
    """The Node of a while: its backward records (or runs) while_grad with the body's vjp graph."""

    def __init__(self, ins, tape, params):
        n = params["n_carry"]
        super().__init__([engine.edge_of(x) if x._rg else None for x in ins])
        self.num_outputs = n
        self.ins, self.tape, self.params = ins, tape, params

    def name(self) -> str:
        return "WhileBackward"

    def apply(self, grads, create_graph):
        n = self.params["n_carry"]
        carries, consts = self.ins[:n], self.ins[n:]
        cts = [g if g is not None else _zeros_like(c) for g, c in zip(grads, carries)]
        vjp = vjp_graph(self.params["body"], n, "while body")
        outs = WHILE_GRAD.bind_tensors(list(consts) + [self.tape] + cts, {"vjp": vjp, "n_carry": n})
        return [g if _float(x) else None for g, x in zip(outs, self.ins)]


def _zeros_like(t):
    from ..ops.creation import zeros

    return zeros(*t.shape, dtype=t.dtype)


def vjp_graph(graph: Graph, n_out_ct: int, what: str) -> Graph:
    """A graph (inputs..., cotangents of the first n_out_ct outputs) -> cotangents of every input (zeros for ints)."""
    cache = graph.__dict__.setdefault("_vjp", {})
    if n_out_ct in cache:
        return cache[n_out_ct]
    from ..autograd.api import grad
    from .differentiate import eval_graph

    in_avals = [v.aval for v in graph.inputs]
    out_avals = [v.aval for v in graph.outputs[:n_out_ct]]
    tr = Tracer(f"{what} vjp")
    with enable_grad(), tr:
        xs = [tr.new_input(a) for a in in_avals]
        cts = [tr.new_input(a) for a in out_avals]
        for x in xs:
            if _float(x):
                x._rg = True
        outs = eval_graph(graph, xs)[:n_out_ct]
        pairs = [(o, c) for o, c in zip(outs, cts) if o._rg]
        wrt = [x for x in xs if x._rg]
        got = grad([o for o, _ in pairs], wrt, [c for _, c in pairs], allow_unused=True) if pairs and wrt else []
        got = iter(got)
        res = []
        for x in xs:
            g = next(got) if x._rg else None
            res.append(g if g is not None else _zeros_like(x))
        vg = tr.finish(res)
    from ..passes import optimize

    vg = optimize(vg)
    cache[n_out_ct] = vg
    return vg


def while_loop(cond, body, loop_vars, maximum_iterations=None, name="while"):
    """Repeat loop_vars = body(*loop_vars) while cond(*loop_vars) (TensorFlow's argument order).

    Eagerly a Python loop; inside tg.function / tg.jit one graph op whose trip count is known only at run
    time, reverse-differentiable. loop_vars is a tuple or list of tensors (or a pytree of them).

    >>> import tapegrad as tg
    >>> tg.lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] * 2,), (tg.tensor(1.0),))
    (tensor(16.),)
    """
    from .function import flatten, unflatten

    leaves, struct, _ = flatten(tuple(loop_vars))
    leaves = [_const(x) if not isinstance(x, Tensor) else x for x in leaves]
    if current_tracer() is None:
        carry = unflatten(struct, leaves)
        i = 0
        while (maximum_iterations is None or i < maximum_iterations) and bool(cond(*carry)):
            carry = tuple(body(*carry))
            i += 1
        return carry
    avals = [AVal(x.shape, x.dtype) for x in leaves]
    cg, ccaps, cstruct = trace_subgraph(lambda *c: cond(*c), avals, struct, f"{name} condition")
    if len(cg.outputs) != 1 or cg.outputs[0].shape != () or cg.outputs[0].dtype is not dt.bool_:
        got = ", ".join(type_str(v.aval) for v in cg.outputs)
        raise TraceError(f"{name}: the condition must return one scalar bool tensor, got {got}")
    bg, bcaps, bstruct = trace_subgraph(lambda *c: tuple(body(*c)), avals, struct, f"{name} body")
    _check_carries(name, bg, avals)
    (cg, bg), caps = unify_captures([(cg, ccaps), (bg, bcaps)])
    params = {"cond": cg, "body": bg, "n_carry": len(leaves), "max_iter": maximum_iterations}
    outs = WHILE.bind_tensors(leaves + caps, params)
    return unflatten(struct, outs[: len(leaves)])


def _check_carries(name, bg, avals):
    got = [v.aval for v in bg.outputs]
    if len(got) != len(avals) or any(a.shape != b.shape or a.dtype is not b.dtype for a, b in zip(got, avals)):
        raise TraceError(
            f"{name}: the body must return the loop variables with unchanged shapes and dtypes; they enter as "
            f"({', '.join(type_str(a) for a in avals)}) and come back as ({', '.join(type_str(a) for a in got)}). "
            "Fix: cast or reshape inside the body so each carry keeps its type"
        )


# *** switch (cond, switch_case) ***


class Switch(_Op):
    """outs = branches[clip(index)](*operands, *captured); every branch has the same inputs and output types."""

    name = "switch"

    def shape(self, *avals, branches):
        return [v.aval for v in branches[0].outputs]

    def impl(self, index, *arrays, branches):
        k = min(max(int(index), 0), len(branches) - 1)
        return [np.array(o, copy=True) for o in _run(branches[k], arrays)]

    def bind_tensors(self, ins, params):
        outs = apply_op(self, ins, params)
        if not _grad_inputs(ins[1:]):
            return outs
        node = SwitchNode(ins, params)
        for k, o in enumerate(outs):
            if _float(o):
                o._rg, o.grad_fn, o._output_nr = True, node, k
        return outs


SWITCH = Switch()


class SwitchNode(engine.Node):
    def __init__(self, ins, params):
        super().__init__([None] + [engine.edge_of(x) if x._rg else None for x in ins[1:]])
        self.ins, self.params = ins, params
        self.num_outputs = len(params["branches"][0].outputs)

    def name(self) -> str:
        return "SwitchBackward"

    def apply(self, grads, create_graph):
        branches = self.params["branches"]
        outs_avals = [v.aval for v in branches[0].outputs]
        cts = [g if g is not None else _zeros_like_aval(a) for g, a in zip(grads, outs_avals)]
        vjps = [vjp_graph(b, len(outs_avals), "branch") for b in branches]
        got = apply_op(SWITCH, [self.ins[0]] + list(self.ins[1:]) + cts, {"branches": vjps})
        return [None] + [g if _float(x) else None for g, x in zip(got, self.ins[1:])]


def _zeros_like_aval(a):
    from ..ops.creation import zeros

    return zeros(*a.shape, dtype=a.dtype)


def switch_case(branch_index, branch_fns, operands=(), name="switch_case"):
    """Call branch_fns[branch_index](*operands) (an index out of range picks the last branch, as TensorFlow does).

    >>> import tapegrad as tg
    >>> tg.lax.switch(tg.tensor(1), [lambda x: x + 1, lambda x: x * 10], tg.tensor(2.0))
    tensor(20.)
    """
    from .function import flatten, unflatten

    fns = list(branch_fns.values()) if isinstance(branch_fns, dict) else list(branch_fns)
    if isinstance(branch_fns, dict):
        keys = list(branch_fns)
        if keys != list(range(len(keys))):
            raise ValueError(f"{name}: branch_fns dict keys must be 0..n-1, got {keys}")
    leaves, struct, _ = flatten(tuple(operands))
    leaves = [_const(x) if not isinstance(x, Tensor) else x for x in leaves]
    index = branch_index if isinstance(branch_index, Tensor) else _const(int(branch_index))
    if current_tracer() is None:
        k = int(index)
        k = min(max(k, 0), len(fns) - 1)
        return fns[k](*unflatten(struct, leaves))
    avals = [AVal(x.shape, x.dtype) for x in leaves]
    traced = [trace_subgraph(lambda *a, f=f: f(*a), avals, struct, f"{name} branch {i}") for i, f in enumerate(fns)]
    first = traced[0]
    for i, (g, _, s) in enumerate(traced[1:], 1):
        a0 = [type_str(v.aval) for v in first[0].outputs]
        ai = [type_str(v.aval) for v in g.outputs]
        if a0 != ai or s != first[2]:
            raise TraceError(
                f"{name}: every branch must return the same structure, shapes and dtypes; branch 0 returns "
                f"({', '.join(a0)}) and branch {i} returns ({', '.join(ai)})"
            )
    graphs, caps = unify_captures([(g, c) for g, c, _ in traced])
    if index.dtype.category == dt.FLOAT:
        raise TypeError(f"{name}: the branch index must be an integer or bool tensor, got {index.dtype.name}")
    outs = SWITCH.bind_tensors([index.to(dt.int64)] + leaves + caps, {"branches": graphs})
    return unflatten(first[2], outs)


def cond(pred, true_fn, false_fn, operands=(), name="cond"):
    """true_fn(*operands) if pred else false_fn(*operands); one graph op under tracing, both branches traced."""
    if not isinstance(pred, Tensor):
        return true_fn(*operands) if pred else false_fn(*operands)
    if pred.numel() != 1:
        raise ValueError(f"{name}: the predicate must be a scalar (one element), got shape {tuple(pred.shape)}")
    return switch_case(pred.reshape(()).to(dt.int64), [false_fn, true_fn], operands, name=name)
