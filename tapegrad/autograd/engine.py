"""The reverse-mode engine: eager application of primitives, graph Nodes, and the backward sweep.

Depends on primitives/base.py and tensor.py; backward(), autograd.grad() and every tape or
functional transform call `run_backward` here, the one entry point for reverse mode.
"""

from __future__ import annotations


import operator
import sys
import threading

import numpy as np

from ..dtype import _BY_NP, FLOAT, from_numpy_dtype
from ..errors import GradError
from ..backends.buffers import sole_view
from ..primitives import base
from ..tensor import CREATION_HOOKS, Tensor, _Version
from .grad_mode import ANOMALY, STATE, enable_grad, no_grad
from .graph import AccumulateGrad, Node, edge_of  # noqa: F401  (re-exported: engine.Node is the usual spelling)
from . import graph

_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # gradients that backward kernels take

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to read saved values after they were "
    "freed): {node} saved values for backward and they were freed by the first backward() or "
    "autograd.grad(). Pass retain_graph=True to the first call if you need to differentiate twice, "
    "or recompute the forward pass."
)


# Per thread, one list per backward pass in progress (innermost last) of the callbacks queued during it
CALLBACKS = base.ThreadStack()
# Per thread, what the backward sweeps in progress are doing, innermost last: None when a sweep starts, then the
# Node whose vjp (or output hooks) runs now. The tracer reads it to tag the equations a backward pass records
# (trace/tracer.py _scope_phase): phase "backward", and the scope of the forward op being differentiated.
APPLYING = base.ThreadStack()


def _version_error(node, tensor_desc, saved_version, counter):
    changed_by = f" by {counter.op}" if counter.op else ""
    return GradError(
        f"one of the values needed for gradient computation has been modified by an in-place "
        f"operation: {tensor_desc} was saved by {node.name()} at version {saved_version} and is now at "
        f"version {counter.value} (changed in place{changed_by}). Fix: use the out-of-place op "
        f"(e.g. x = x + y instead of x += y), or .clone() the tensor before changing it."
    )


class PrimNode(Node):
    """The Node of one primitive application."""

    check_shapes = False  # primitive rules are verified by tests/primitives
    versions = ()  # (input index, its version counter's value when recorded) for the inputs the vjp reads
    out_version = None  # (counter, value) of the output when the vjp rule reads it

    def __init__(self, prim, params, edges, args, out):
        # Node.__init__ inlined: this runs once per recorded op (eager_apply calls it on an object.__new__ node,
        # a plain method call, where PrimNode(...) would go through type.__call__)
        self.edges, self.prim, self.params, self.args = edges, prim, params, args
        self.seq = next(graph.CLOCK) if graph.TAPES_OPEN else -1
        # NOTE: args are held until backward, but vjp rules only see the inputs in prim.saves;
        # the others arrive as AVals (shape and dtype), so rules stay traceable.
        saves = prim.saves
        if not saves:
            pass  # the class default, ()
        elif saves == (0, 1):  # mul, matmul, ...: spelled out, this runs once per recorded op
            v0, v1 = args[0]._version.value, args[1]._version.value
            # unchanged inputs (the common case) share one constant: no tuples to build, free and collect
            self.versions = _UNCHANGED_01 if not (v0 or v1) else ((0, v0), (1, v1))
        elif saves == (0,):
            v0 = args[0]._version.value
            self.versions = _UNCHANGED_0 if not v0 else ((0, v0),)
        else:
            idx = saves if type(saves) is tuple else range(saves.start, len(args))
            self.versions = _versions_of(args, idx)
        keeps = prim.saves_out
        # NOTE: a tuple names the inputs whose cotangent reads `out` (Div's divisor): with none of them needing
        # a gradient the output is not kept, so `y = a / 2; y += b` may change y in place, as in PyTorch.
        if keeps and (keeps is True or _any_edge(edges, keeps)):
            self.out_data, self.out_version = out._data, (out._version, out._version.value)

    def name(self) -> str:
        return _backward_name(self.prim.name)

    def apply(self, grads, create_graph):
        if self.freed:
            raise GradError(_FREED_MESSAGE.format(node=self.name()))
        g = grads[0]
        if not create_graph and g is not None and not (base._ANYWHERE[0] and base.INTERPRETERS):
            res = self._swept(g, True)  # the backend's kernel, where there is one for g's dtype
            if res is not None:
                return res
        prim, args = self.prim, self.args
        for i, version in self.versions:
            t = args[i]
            if t._version.value != version:
                raise _version_error(self, f"input {i} ({_describe(t)})", version, t._version)
        if g.__class__ is np.ndarray:
            g = Tensor._make(g)
        saves = prim.saves
        if not prim.vjp_reads_inputs or (type(saves) is tuple and len(saves) == len(args)):
            xs = args  # the rule reads every input, or none
        elif saves:
            xs = _seen_by_rule(args, saves)
        else:
            xs = [base.AVal(a._data.shape, a.dtype) for a in args]
        out = self._saved_out()
        if out is not None:
            out = Tensor._make(out)
            if create_graph:  # the output depends on the inputs through this very node
                out._rg, out.grad_fn = True, self
        if prim.vjp_needs:  # the rule skips cotangents no input edge will receive
            # needs[i] is truthy iff input i receives a gradient (edges are tuples or None)
            return prim.vjp(g, *xs, out=out, needs=self.edges, **self.params)
        return prim.vjp(g, *xs, out=out, **self.params)

    def _swept(self, g, retain_graph):
        """The vjp by the backend's kernel on arrays (Primitive.vjp_impl): no op dispatch, no graph; saved values
        released after unless retain_graph. None, having done nothing, where a rule must run (no kernel, or none for
        g's dtype) or apply() must say why not (a freed node). The cotangents stay arrays in the sweep's buffers until
        something needs a Tensor (a rule, a hook, a leaf: _as_tensor)."""
        # NOTE: once per node of most backward sweeps (run_backward calls it directly): the common argument layouts
        # are spelled out, apply()'s tests come in their cheapest order, and release() is inline
        prim = self.prim
        vjp = prim.vjp_impl
        if vjp is None or self.freed:
            return None
        if g.__class__ is not np.ndarray:
            g = g._data
        if g.dtype not in _KERNEL_DTYPES:
            return None
        args, versions = self.args, self.versions
        for i, version in versions:
            t = args[i]
            if t._version.value != version:
                raise _version_error(self, f"input {i} ({_describe(t)})", version, t._version)
        out = None if self.out_version is None else self._saved_out()
        saves = prim.saves
        if not prim.vjp_reads_inputs:  # add, sub, neg: a released node keeps only the arity
            xs = args
        elif type(saves) is tuple and len(saves) == len(args):
            xs = (args[0]._data, args[1]._data) if len(args) == 2 else _arrays_of(args)
        elif not saves and len(args) == 1:  # tanh, exp, sigmoid: the output is saved, the input's AVal suffices
            a = args[0]
            xs = (_aval(a._data.shape, a.dtype),)
        else:
            xs = _seen_by_kernel(args, saves)
        params, edges = self.params, self.edges
        if params:
            res = vjp(g, *xs, out, edges, **params)
        elif len(xs) == 2:
            res = vjp(g, xs[0], xs[1], out, edges)
        elif len(xs) == 1:
            res = vjp(g, xs[0], out, edges)
        else:
            res = vjp(g, *xs, out, edges)
        if not g.ndim:  # numpy gives scalars for 0-d results (with g of more dims, every cotangent is an array)
            res = _as_arrays(res)
        if not retain_graph:
            if versions or self.out_version is not None:
                self.args, self.out_data, self.freed = (), None, True
            else:
                self.release()
        return res

    def _saved_out(self):
        """The output's array when the vjp reads it (checked unchanged since the forward), else None."""
        if self.out_version is None:
            return None
        counter, v = self.out_version
        if counter.value != v:
            raise _version_error(self, f"the output of {self.prim.name}", v, counter)
        return self.out_data

    def release(self):
        if self.versions or self.out_version is not None:
            self.args, self.out_data, self.freed = (), None, True
        elif self.prim.vjp_reads_inputs:  # nothing saved: keep shapes and dtypes for a second backward
            self.args = tuple(map(_Released, self.args))
        else:
            self.args = _NONES[len(self.args)] if len(self.args) < 4 else (None,) * len(self.args)


# NOTE: the comprehensions of the functions that run once per op or node live in these helpers: one in the function
# itself makes the outer names it reads closure cells, allocated on every call even when it does not run.


def _versions_of(args, idx):
    return [(i, args[i]._version.value) for i in idx]


def _any_edge(edges, idx) -> bool:
    return any(edges[i] for i in idx)


def _seen_by_rule(args, saves):
    """What a vjp rule receives for args: the saved inputs, AVals (shape and dtype) for the others."""
    return [a if i in saves else base.AVal(a._data.shape, a.dtype) for i, a in enumerate(args)]


def _seen_by_kernel(args, saves):
    """What a vjp kernel receives for args: the saved inputs' arrays, AVals for the others."""
    return [a._data if i in saves else _aval(a._data.shape, a.dtype) for i, a in enumerate(args)]


def _arrays_of(args):
    return [a._data for a in args]


def _as_arrays(res):
    return [x if x is None or x.__class__ is np.ndarray else np.asarray(x) for x in res]


def _captures_any(node, capture) -> bool:
    return any((id(node), nr) in capture for nr in range(node.num_outputs))


_UNCHANGED_01, _UNCHANGED_0 = ((0, 0), (1, 0)), ((0, 0),)  # PrimNode.versions of inputs saved at version 0
_NONES = [(None,) * n for n in range(4)]  # what released add/sub/neg nodes keep (only the arity matters)


def _aval(shape, dtype):
    """base.AVal(shape, dtype) for a shape that is a tuple already (an array's), without AVal.__init__'s copy."""
    a = _new_aval(base.AVal)
    a.shape, a.dtype = shape, dtype
    return a


_new_aval = object.__new__


class BroadcastNode(PrimNode):
    """The Node of an eager elementwise primitive whose operands had different shapes (ops/elementwise.py
    _eager_broadcast): each cotangent, computed at the output's shape, is summed back to its operand's shape."""

    in_shapes = ()

    def apply(self, grads, create_graph):
        return [None if g is None else _reduce_to(g, shape) for g, shape in zip(super().apply(grads, create_graph),
                                                                                  self.in_shapes)]


def broadcast_node(node, in_shapes) -> None:
    if type(node) is PrimNode:
        node.__class__ = BroadcastNode
        node.in_shapes = in_shapes


def _reduce_to(g, shape):
    """g (an array or a Tensor of the broadcast shape) summed over the axes that broadcasting added or stretched."""
    gshape = tuple(g.shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    if g.__class__ is np.ndarray:
        return np.asarray(g.sum(axis=axes)).reshape(shape)
    return g.sum(axes).reshape(shape)


class FusedNode(Node):
    """The Node of an eager composite computed in one pass on arrays (nn.functional.cross_entropy's common case, and
    conv), as PyTorch has log_softmax, nll_loss and convolution kernels where tapegrad would record many primitives.

    Its backward calls `vjp(g, needs)` on arrays (one array or None per input). With create_graph, or under a
    transform, it replays the composite's own ops on aliases of the inputs and differentiates them, so higher orders
    see exactly the graph that the op-by-op path records."""

    check_shapes = False  # vjp is checked against the composite by the op's tests

    def __init__(self, name, edges, inputs, vjp, replay, checked=None):
        Node.__init__(self, edges)
        self._name, self.inputs, self.vjp, self.replay = name, inputs, vjp, replay
        self.versions = tuple(t._version.value for t in inputs)
        self.checked = range(len(inputs)) if checked is None else checked

    def name(self) -> str:
        return self._name

    def apply(self, grads, create_graph):
        if self.freed:
            raise GradError(_FREED_MESSAGE.format(node=self.name()))
        g = grads[0]
        if not create_graph and not (base._ANYWHERE[0] and base.INTERPRETERS):
            # only the inputs the vjp reads must be unchanged (`checked`): cross_entropy's reads the softmax it
            # computed and the target, not the logits, which PyTorch also lets change after log_softmax
            self._check_versions(self.checked)
            return self.vjp(g if g.__class__ is np.ndarray else g._data, self.edges)
        self._check_versions(range(len(self.inputs)))  # the replay reads every input
        return self._replayed(_as_tensor(g))

    def _check_versions(self, which):
        for i in which:
            t, v = self.inputs[i], self.versions[i]
            if t._version.value != v:
                raise _version_error(self, f"input {i} ({_describe(t)})", v, t._version)

    def _replayed(self, g):
        # The replay runs on aliases of the inputs, one _Alias node each, and its gradients are captured there:
        # asked for at the inputs' own edges, an input that another input depends on (or that appears twice) would
        # get the other's gradient too, and the inputs' hooks would run here and again in the outer pass.
        aliases = [t if e is None else _alias(t, e) for t, e in zip(self.inputs, self.edges)]
        with enable_grad():
            out = self.replay(*aliases)
        wanted = [(a.grad_fn, 0) for a, e in zip(aliases, self.edges) if e is not None]
        got = run_backward([(out.grad_fn, 0)], [g], retain_graph=True, create_graph=True, inputs=wanted,
                           accumulate=False)
        return [None if e is None else got[(id(a.grad_fn), 0)] for a, e in zip(aliases, self.edges)]

    def release(self):
        self.inputs, self.vjp, self.replay, self.freed = (), None, None, True


class _Alias(Node):
    """Identity: the node of an alias of a FusedNode's input during its replay (FusedNode._replayed)."""

    check_shapes = False

    def apply(self, grads, create_graph):
        return grads


def _alias(t, edge):
    """A tensor of t's data and version counter whose gradient goes to t's edge through an _Alias node."""
    a = Tensor._make(t._data)
    a._version, a._rg, a.grad_fn = t._version, True, _Alias([edge])
    return a


def fused(name, inputs, out_data, vjp, replay, checked=None):
    """The Tensor of out_data, recorded as one FusedNode when grad is on and an input requires it. `checked`: the
    indices of the inputs whose values vjp reads (default: all), which must not change in place before backward.
    Callers skip this path in anomaly mode, whose checks run per primitive (the composite runs there)."""
    out = Tensor._make(out_data)
    if STATE.enabled and any(t._rg for t in inputs):
        out._rg = True
        out.grad_fn = FusedNode(name, [edge_of(t) for t in inputs], inputs, vjp, replay, checked)
    return out


class _Released:
    """What is left of an input after backward released it: the shape and dtype an AVal needs."""

    __slots__ = ("_data", "dtype")

    def __init__(self, t):
        self._data, self.dtype = base.AVal(t._data.shape, t.dtype), t.dtype


def _backward_name(op: str) -> str:
    return "".join(p.capitalize() for p in op.split("_")) + "Backward"


def _describe(t) -> str:
    return f"a tensor of shape {tuple(t.shape)} and dtype {t.dtype.name}"


_new_tensor = object.__new__


def eager_apply(prim, args, params):
    """Run prim on concrete data with the installed eager backend, recording a Node when grad is needed."""
    n = len(args)
    if not params:  # the elementwise ops: spelled out below, past the argument list
        if n == 2:
            return eager_binary(prim, args[0], args[1], args)
        if n == 1:
            return eager_unary(prim, args[0], args)
    data = prim.impl(*[a._data for a in args], **params)
    out = Tensor._make(data)
    if prim.is_view:
        _link_view(out, args[0], prim, params)
    if STATE.enabled and prim.differentiable and out.dtype.category == FLOAT:
        # one pass: bring views up to date, collect the edges, and note whether any input needs grad
        edges, needed, cuts = [], False, False
        for x in args:
            if x._base is not None:  # a view whose base may have changed in place (and gained history)
                x._sync_view()
            if x._rg:
                fn = x.grad_fn
                edges.append((fn, x._output_nr) if fn is not None else (x, 0))
                needed = True
            else:
                edges.append(None)
                cuts = cuts or x._cut is not None
        if needed:
            out._rg = True
            out.grad_fn = node = _new_node(PrimNode)
            node.__init__(prim, params, edges, args, out)  # a method call: PrimNode(...) costs more
            if cuts:
                _note_cuts(node, args)
            return out
    _note_no_grad(out, prim, args)
    return out


# NOTE: eager_binary and eager_unary run once per eager op (the operators and the float methods call them directly,
# ops/__init__.py): the common case is spelled out, and tested in its cheapest order.


def eager_binary(prim, x, y, args=None):
    """eager_apply(prim, (x, y), {}): a primitive of two operands and no params (arithmetic, comparisons, matmul).
    `args`: the caller's tuple (x, y), if it has one."""
    data = prim.impl(x._data, y._data)
    if data.__class__ is np.ndarray and not CREATION_HOOKS:  # Tensor._make inlined, for an array
        out = _new_tensor(Tensor)
        out._data, out._version = data, _Version()
        d = data.dtype
        # x's dtype when the array's is the same object (hashing a numpy dtype costs more than the rest of this
        # block): a tensor's dtype always corresponds to its array's
        out.dtype = x.dtype if d is x._data.dtype else _BY_NP.get(d) or from_numpy_dtype(d)
    else:
        out = Tensor._make(data)
    if prim.is_view:
        _link_view(out, x, prim, _NO_PARAMS)
    if STATE.enabled and prim.differentiable and out.dtype.category == FLOAT:
        if x._base is not None:  # a view whose base may have changed in place (and gained history)
            x._sync_view()
        if y._base is not None:
            y._sync_view()
        if x._rg:
            fn = x.grad_fn
            e0 = (fn, x._output_nr) if fn is not None else (x, 0)
        else:
            e0 = None
        if y._rg:
            fn = y.grad_fn
            e1 = (fn, y._output_nr) if fn is not None else (y, 0)
        else:
            e1 = None
        if e0 is not None or e1 is not None:
            out._rg = True
            out.grad_fn = node = _new_node(PrimNode)
            node.__init__(prim, _NO_PARAMS, (e0, e1), args or (x, y), out)  # PrimNode(...) costs more
            if e0 is None and x._cut is not None or e1 is None and y._cut is not None:
                _note_cuts(node, (x, y))
            return out
    if x._rg or y._rg or x._cut is not None or y._cut is not None:
        _note_no_grad(out, prim, (x, y))
    return out


def eager_unary(prim, x, args=None):
    """eager_apply(prim, (x,), {}): a primitive of one operand and no params (exp, tanh, neg, ...)."""
    data = prim.impl(x._data)
    if data.__class__ is np.ndarray and not CREATION_HOOKS:
        out = _new_tensor(Tensor)
        out._data, out._version = data, _Version()
        d = data.dtype
        out.dtype = x.dtype if d is x._data.dtype else _BY_NP.get(d) or from_numpy_dtype(d)
    else:
        out = Tensor._make(data)
    if prim.is_view:
        _link_view(out, x, prim, _NO_PARAMS)
    if STATE.enabled and prim.differentiable and out.dtype.category == FLOAT:
        if x._base is not None:
            x._sync_view()
        if x._rg:
            fn = x.grad_fn
            out._rg = True
            out.grad_fn = node = _new_node(PrimNode)
            node.__init__(prim, _NO_PARAMS, ((fn, x._output_nr) if fn is not None else (x, 0),), args or (x,), out)
            return out
    if x._rg or x._cut is not None:
        _note_no_grad(out, prim, (x,))
    return out


_NO_PARAMS: dict = {}  # the params of eager_binary's and eager_unary's nodes: read only, as every node's
_new_node = object.__new__


def _note_no_grad(out, prim, args):
    """No grad recorded for out: remember why, for autograd.explain."""
    for a in args:
        if a._rg:
            out._cut = _cut_reason(prim, out)
            break
        if a._cut is not None:
            out._cut = a._cut


def record(prim, params, args, out):
    """Attach a PrimNode to `out` when an input requires grad (what eager_apply does inline, for its speed).

    Used by interpreters that compute `out` themselves, e.g. the tracer (trace/tracer.py): symbolic tensors
    then carry grad_fn Nodes and a backward() at trace time records the backward equations."""
    if any(a._rg for a in args):
        edges = [edge_of(x) for x in args]
        out._rg = True
        out.grad_fn = node = PrimNode(prim, params, edges, args, out)
        if any(x._cut is not None and not x._rg for x in args):
            _note_cuts(node, args)
        return
    for a in args:
        if a._cut is not None:
            out._cut = a._cut
            break


def _cut_reason(prim, out):
    # NOTE: no string formatting here: this runs for every op of a backward pass (under no_grad).
    if not STATE.enabled:
        return STATE.cut
    return ("integer", prim.name, out.dtype)


def _link_view(out, x, prim, params):
    """Make out a view of x's base when the backend returned a view: shared version counter and a
    recipe (the chain of view primitives) to rebuild it from the base after an in-place change."""
    if out._data.base is None or not np.may_share_memory(out._data, x._data):
        return
    base_t = x._base if x._base is not None else x
    out._base, out._version, out._view_version = base_t, x._version, x._version.value
    out._view_ops = (x._view_ops or ()) + ((prim, params),)


def _note_cuts(node, args):
    for i, a in enumerate(args):
        if a._cut is not None:
            if node.cuts is None:
                node.cuts = {}
            node.cuts[i] = a._cut


base._eager_apply, base._eager_binary, base._eager_unary = eager_apply, eager_binary, eager_unary


# *** the backward sweep ***


def _graph_dependencies(roots):
    """Count, for every Node and leaf reachable from roots, the edges that point at it.

    Nodes and tensors are dict keys by identity (both hash by id)."""
    deps = {}
    # roots once each: two outputs of one node given as roots must not count that node's edges twice, or its
    # inputs would never become ready and their gradients would be lost
    stack = list(dict.fromkeys(r for r in roots if isinstance(r, Node)))
    first = set(stack)  # roots are walked from here, not again when an edge reaches one
    while stack:
        for e in stack.pop().edges:
            if e is not None:
                target = e[0]
                if target in deps:
                    deps[target] += 1
                else:  # reached for the first time: walk it (a leaf has no edges)
                    deps[target] = 1
                    if (target.__class__ is PrimNode or isinstance(target, Node)) and target not in first:
                        stack.append(target)
    return deps


def _check_grad_shape(node, i, g, edge):
    target, nr = edge
    shape = target.shape if not isinstance(target, Node) else None
    if shape is not None and tuple(g.shape) != tuple(shape):
        raise GradError(
            f"{node.name()} returned a gradient of shape {tuple(g.shape)} for input {i}, which has shape "
            f"{tuple(shape)}; a backward rule must return one gradient per input with that input's shape"
        )


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None, accumulate=True,
                 keep=None):
    """Propagate root_grads from roots to leaves in reverse topological order.

    roots are (Node or leaf Tensor, output_nr) edges. With accumulate=True leaves (or only `inputs`,
    when given) get their `.grad` summed in; with accumulate=False the gradients of `inputs` (edges)
    are captured and returned in a dict keyed by (id(target), output_nr). keep (with inputs only): a
    predicate on Nodes; gradients flow only through nodes it accepts (a GradientTape's own record).
    """
    deps = _graph_dependencies([r[0] for r in roots])
    buffers = {}  # target -> [summed gradient per output]
    for (target, nr), g in zip(roots, root_grads):
        _add_to_buffer(buffers, target, nr, g)
    capture = None if inputs is None else {(id(t), nr): None for t, nr in inputs}
    # With inputs given, only nodes on a path to one of them run (and release their saved values).
    useful = None if inputs is None else _on_path_to([r[0] for r in roots], {t for t, _ in inputs}, keep)
    ready = list({id(r[0]): r[0] for r in roots if r[0] not in deps}.values())
    # NOTE: APPLYING (the node being applied) is read by a tracer recording this sweep and by anomaly mode; with
    # neither active, nodes run without pushing it (two thread-local list operations per node).
    run_node = _run_node if base._ANYWHERE[0] and base.INTERPRETERS else _apply_node
    if ANOMALY.watch is not None:  # read once per sweep: with anomaly mode off the loop below is unchanged
        from .anomaly import checked_run_node as run_node
    # NOTE: the common case of a node, a primitive's whose output nobody watches (no hook, retain_grad or capture),
    # runs inline below: its vjp by the backend's kernel on arrays (PrimNode._swept), the cotangents handed on as
    # arrays. Not with create_graph (the rules record), a transform (it must see the rules) or anomaly mode (its checks).
    lean = run_node is _apply_node and not create_graph
    queued = []
    CALLBACKS.append(queued)
    APPLYING.append(None)
    try:
        with enable_grad() if create_graph else no_grad():
            while ready:
                target = ready.pop()
                grads = buffers.pop(target, None)
                if (lean and target.__class__ is PrimNode and grads is not None and target.hooks is None
                        and target.retained is None and (useful is None or target in useful)
                        and (capture is None or (id(target), 0) not in capture)):
                    g = grads[0]
                    in_grads = None if g is None else target._swept(g, retain_graph)
                    if in_grads is not None:
                        for e, g in zip(target.edges, in_grads):
                            if e is not None:
                                t = e[0]
                                if g is not None:
                                    if t.__class__ is PrimNode and t not in buffers:  # one output, no gradient yet
                                        buffers[t] = [g]
                                    else:
                                        _add_to_buffer(buffers, t, e[1], g, _sum)
                                left = deps[t] - 1
                                deps[t] = left
                                if not left:
                                    ready.append(t)
                        # NOTE: no reference left here: a gradient that only the buffer holds is added to in place
                        # (_sum) or becomes a leaf's .grad without a copy (_accumulate), which count references
                        in_grads = g = None
                        continue
                if isinstance(target, Node):
                    run = useful is None or target in useful  # else: only capture, release its dependents
                    run_node(target, grads, buffers, deps, ready, capture, retain_graph, create_graph, run)
                else:  # a leaf tensor (Tensor or a subclass such as Parameter)
                    _finish_leaf(target, grads, capture, accumulate, create_graph)
    finally:
        APPLYING.pop()
        CALLBACKS.pop()
    for fn in queued:  # after the sweep, outside its grad mode
        fn()
    return capture


def queue_callback(fn) -> None:
    """fn() runs once the backward pass in progress on this thread has finished (PyTorch's
    `Variable._execution_engine.queue_callback`): DistributedDataParallel waits for its all-reduces there."""
    if not CALLBACKS:
        raise RuntimeError("queue_callback can only be called during a backward pass (e.g. from a gradient hook)")
    CALLBACKS[-1].append(fn)


def _on_path_to(roots, targets, keep=None):
    """The nodes whose vjp must run for gradients to reach one of targets (nodes or leaves).

    An iterative post-order walk: a node is useful when an edge leads to a target or a useful node.
    Nodes that keep rejects are never useful, so no gradient passes through them."""
    useful, done = set(), set()
    stack = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if any(e is not None and (e[0] in useful or e[0] in targets) for e in node.edges):
                useful.add(node)
            continue
        if node in done or not isinstance(node, Node) or (keep is not None and not keep(node)):
            continue
        done.add(node)
        stack.append((node, True))
        stack.extend((e[0], False) for e in node.edges if e is not None and e[0] not in done)
    return useful


def _sum(a, b):
    """The sum of two cotangents of one value (fan-in), a + b; `a` is the one the sweep's buffer holds."""
    if a.__class__ is np.ndarray and b.__class__ is np.ndarray:
        # NOTE: an array that nothing but the buffer holds is added to in place (PyTorch's InputBuffer does the same):
        # no new array, which costs more than the add on large ones. Held by the buffer's slot, the caller's `old`,
        # this parameter and getrefcount's argument; a view, another slot, a Tensor or a user's name holds more.
        if (_COUNTS_EXACT and a.flags.writeable and sole_view(a) and a.dtype == b.dtype and a.shape == b.shape
                and sys.getrefcount(a) <= 4):
            return np.add(a, b, out=a)
        return np.asarray(np.add(a, b))  # asarray: a 0-d sum is a numpy scalar
    return _as_tensor(a) + _as_tensor(b)


def _add_to_buffer(buffers, target, nr, g, add=operator.add):
    """Sum g into the sweep's buffer of target's output nr (the roots' gradients: Tensors, added as Tensors; the
    sweep's cotangents: arrays or Tensors, added by _sum)."""
    slots = buffers.get(target)
    if slots is None:
        slots = buffers[target] = [None] * (target.num_outputs if isinstance(target, Node) else 1)
    old = slots[nr]
    slots[nr] = g if old is None else add(old, g)


def _run_node(node, grads, buffers, deps, ready, capture, retain_graph, create_graph, run=True):
    """Apply one node's vjp and hand its input cotangents on; the innermost loop of backward.

    Returns the input cotangents (None when the vjp did not run), for anomaly mode to check."""
    APPLYING.append(node)
    try:
        return _apply_node(node, grads, buffers, deps, ready, capture, retain_graph, create_graph, run)
    finally:
        APPLYING.pop()


# the Node classes that take array cotangents (from backward kernels)
_ARRAY_NODES = (PrimNode, BroadcastNode, FusedNode)


def _as_tensor(g):
    """A cotangent as a Tensor: backward kernels leave arrays in the sweep's buffers (PrimNode._swept)."""
    return Tensor._make(g) if g.__class__ is np.ndarray else g


def _apply_node(node, grads, buffers, deps, ready, capture, retain_graph, create_graph, run):
    if grads is None:
        grads = [None] * node.num_outputs
    else:
        # NOTE: autograd.grad and tapes capture the outputs of a few nodes only: the others keep array cotangents
        hooked = node.hooks is not None or node.retained is not None or capture is not None and (
            (id(node), 0) in capture if node.num_outputs == 1 else
            _captures_any(node, capture))
        if hooked or node.__class__ not in _ARRAY_NODES:
            grads = [None if g is None else _as_tensor(g) for g in grads]
            if hooked:
                grads = _output_hooks(node, grads, capture, create_graph)
    if run and (grads[0] is not None or any(g is not None for g in grads)):
        in_grads = node.apply(grads, create_graph)
        if not retain_graph:
            node.release()
    else:
        in_grads = None
    check = node.check_shapes
    for i, e in enumerate(node.edges):
        if e is None:
            continue
        target = e[0]
        if in_grads is not None:
            g = in_grads[i]
            if g is not None:
                if check:
                    _check_grad_shape(node, i, g, e)
                slots = buffers.get(target)
                if slots is None:
                    slots = buffers[target] = [None] * (target.num_outputs if isinstance(target, Node) else 1)
                old = slots[e[1]]
                slots[e[1]] = g if old is None else _sum(old, g)
        left = deps[target] - 1
        deps[target] = left
        if not left:
            ready.append(target)
    return in_grads


def _output_hooks(node, grads, capture, create_graph):
    """Tensor hooks, retain_grad and autograd.grad capture on this node's outputs."""
    for nr, g in enumerate(grads):
        if g is not None:
            grads[nr] = g = _call_hooks(node.hooks.get(nr) if node.hooks else None, g)
            if node.retained and nr in node.retained:
                _retain(node.retained[nr](), g, create_graph)
            if capture is not None and (id(node), nr) in capture:
                capture[(id(node), nr)] = g
    return grads


def _call_hooks(hooks, g):
    for hook in hooks or ():
        new = hook(g)
        if new is not None:
            if not hasattr(new, "_data") or new.shape != g.shape:
                what = f"shape {tuple(new.shape)}" if hasattr(new, "_data") else f"a {type(new).__name__}"
                raise GradError(
                    f"hook {getattr(hook, '__name__', hook)!r} returned {what} for a gradient of shape "
                    f"{tuple(g.shape)}; a hook may change a gradient's values but must return a Tensor of the "
                    "same shape (or None to keep it)"
                )
            g = new
    return g


def _retain(tensor, g, create_graph):
    if tensor is not None:
        if tensor.grad is not None:
            tensor.grad = tensor.grad + (g if create_graph else g.detach())
        else:  # a copy: the same gradient flows on to the inputs (see _finish_leaf)
            tensor.grad = g.clone() if create_graph else Tensor._make(g._data.copy())


def _finish_leaf(leaf, grads, capture, accumulate, create_graph):
    g = grads[0] if grads else None
    if g is None:
        return
    if g.__class__ is np.ndarray:
        g = grads[0] = Tensor._make(g)  # in the list too: _accumulate counts the references to g
    if capture is not None:
        key = (id(leaf), 0)
        if key in capture:
            capture[key] = _call_hooks(leaf._hooks, g)
        return
    # NOTE: in the list too, so that a tensor a hook returned (which its caller may hold) is counted as held
    g = grads[0] = _call_hooks(leaf._hooks, g)
    if accumulate:
        if create_graph:
            leaf.grad = g.clone() if leaf.grad is None else leaf.grad + g
        else:
            with _ACCUMULATING:  # two threads' backward passes into one leaf must not interleave (PyTorch locks too)
                _accumulate(leaf, g)
        for hook in leaf._post_accumulate_hooks or ():
            hook(leaf)


def _accumulate(leaf, g):
    """leaf.grad += g without a graph, as PyTorch's AccumulateGrad does: the gradient's own array becomes .grad
    when nothing else can see it, and an existing .grad is added to in place when nothing else holds it.

    NOTE: otherwise a copy / a new tensor: one gradient can reach several leaves (add passes it through) or be the
    caller's `gradient=`, a user may hold .grad (or a view of it), and .grad is later changed in place (optimizers,
    clipping), which must not change another tensor. CPython reference counts say who else holds an object: a
    gradient here is held by the sweep's list and the local name (getrefcount adds its own argument)."""
    old = leaf.grad
    if old is None:
        data = g._data
        if _COUNTS_EXACT and sys.getrefcount(g) <= 4 and _sole_owner(data) and type(g) is Tensor and g._rg is False:
            leaf.grad = g
        else:
            leaf.grad = Tensor._make(data.copy())
        return
    data = old._data
    if (_COUNTS_EXACT and sys.getrefcount(old) <= 3 and _sole_owner(data) and data.dtype == g._data.dtype
            and data.shape == g._data.shape and type(old) is Tensor):
        np.add(data, g._data, out=data)
    else:
        leaf.grad = old + g.detach()


_ACCUMULATING = threading.Lock()
# The reference counts above are those of CPython 3.10-3.13 with the GIL. Later versions borrow references for local
# loads and free-threaded builds count differently; there .grad is always a copy and accumulates out of place.
_COUNTS_EXACT = sys.version_info < (3, 14) and getattr(sys, "_is_gil_enabled", lambda: True)()


def _sole_owner(data) -> bool:
    """Only data's tensor refers to data and its memory (no other view, no other tensor), and data is a writable
    contiguous array: held by the tensor, the caller's local name, this parameter and getrefcount's argument. A
    contiguous view of an array that nothing else holds counts (a weight's gradient is transposed back by its
    Permute kernel, backends/numpy.py _matmul_like)."""
    if type(data) is not np.ndarray or not data.flags.writeable or sys.getrefcount(data) > 4:
        return False
    if sole_view(data):  # owns its memory, or the one view of a pooled block (backends/buffers.py)
        return True
    base = data.base
    return (data.flags.c_contiguous and type(base) is np.ndarray and base.flags.owndata and base.nbytes == data.nbytes
            and sys.getrefcount(base) <= 3)  # held by data, the local name and the argument


