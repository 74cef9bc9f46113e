"""checkpoint / remat: trade compute for memory; the backward pass recomputes f instead of keeping what
its vjp rules saved. Built on the engine's Node interface (autograd/engine.py); called by users.
"""

from __future__ import annotations

import functools

from ..autograd import engine
from ..autograd.grad_mode import STATE, enable_grad
from ..primitives.base import INTERPRETERS
from ..tensor import Tensor
from . import tree_util as tu
from ._levels import _alias


class CheckpointNode(engine.Node):
    """Stands for a whole call of f: holds f's inputs only, and reruns f when the gradient arrives.

    edges: one per input leaf, then one per output that also depends on tensors f closes over (their
    gradient goes through the graph recorded, with the inputs held constant, during the forward pass).
    """

    check_shapes = True

    def __init__(self, f, treedef, leaves, n_outs, closure_edges, rng_state):
        self.f, self.treedef, self.leaves, self.rng_state = f, treedef, leaves, rng_state
        self.num_outputs = n_outs
        self.n_in = len(leaves)
        in_edges = [engine.edge_of(x) if isinstance(x, Tensor) and x._rg else None for x in leaves]
        self.closure_outputs = [i for i, e in closure_edges]
        self.edges = in_edges + [e for _, e in closure_edges]

    def name(self) -> str:
        return "CheckpointBackward"

    def apply(self, grads, create_graph):
        from ..ops.creation import get_rng_state, set_rng_state

        leaves = [self._recompute_leaf(x, e, create_graph) for x, e in zip(self.leaves, self.edges)]
        now = get_rng_state()
        set_rng_state(self.rng_state)  # the same random draws (dropout) as the forward pass
        try:
            with enable_grad():
                outs = tu.tree_leaves(self.f(*tu.tree_unflatten(self.treedef, leaves)))
        finally:
            set_rng_state(now)
        roots, gs = [], []
        for o, g in zip(outs, grads):
            if g is not None and isinstance(o, Tensor) and o._rg:
                roots.append(engine.edge_of(o))
                gs.append(g)
        wanted = [engine.edge_of(t) for t, e in zip(leaves, self.edges) if e is not None]
        got = (
            engine.run_backward(roots, gs, create_graph, create_graph, inputs=wanted, accumulate=False) if roots else {}
        )
        in_grads = []
        for t, e in zip(leaves, self.edges):
            k = engine.edge_of(t) if e is not None else None
            in_grads.append(None if k is None else got.get((id(k[0]), k[1])))
        return in_grads + [grads[i] for i in self.closure_outputs]

    @staticmethod
    def _recompute_leaf(x, edge, create_graph):
        if edge is None:
            return x
        if create_graph:  # an alias recorded on x's graph: the gradient is differentiable with respect to x
            return _alias(x)
        return Tensor._make(x._data).requires_grad_()

    def release(self):
        self.leaves, self.f = (), None


def checkpoint(f, *, prevent_cse=True, policy=None):
    """f, but its backward pass recomputes f's forward instead of keeping the values f's ops saved.

    Memory for a gradient through f drops to f's inputs (plus the outputs), at the cost of running f twice.
    Random draws inside f are replayed exactly. prevent_cse and policy are accepted for JAX compatibility
    (there is no compiler to fight yet, and nothing is saved selectively).

    NOTE: inside vmap or jvp, f runs as it is (the values are saved): rematerialisation applies to the eager tape.

    >>> import tapegrad as tg
    >>> deep = tg.func.checkpoint(lambda x: x.sin().sin().sin())
    >>> tg.grad(lambda x: deep(x).sum())(tg.tensor([0.0, 1.0]))
    tensor([1.    , 0.2645])
    """

    @functools.wraps(f)
    def checkpointed(*args):
        if INTERPRETERS or not STATE.enabled:
            return f(*args)
        leaves, treedef = tu.tree_flatten(args)
        if not any(isinstance(x, Tensor) and x._rg for x in leaves):
            return f(*args)
        from ..ops.creation import get_rng_state

        rng = get_rng_state()
        consts = [Tensor._make(x._data) if isinstance(x, Tensor) else x for x in leaves]
        out = f(*tu.tree_unflatten(treedef, consts))  # records only what depends on closed-over tensors
        o_leaves, o_def = tu.tree_flatten(out)
        closure = [(i, engine.edge_of(o)) for i, o in enumerate(o_leaves) if isinstance(o, Tensor) and o._rg]
        node = CheckpointNode(f, treedef, leaves, len(o_leaves), closure, rng)
        results = []
        for i, o in enumerate(o_leaves):
            if isinstance(o, Tensor) and o.dtype.is_floating_point:
                y = Tensor._make(o._data)
                y._rg, y.grad_fn, y._output_nr = True, node, i
                o = y
            results.append(o)
        return tu.tree_unflatten(o_def, results)

    return checkpointed


remat = checkpoint
