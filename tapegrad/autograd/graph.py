"""The recorded graph: Node (one recorded operation and where its inputs' gradients go) and edge_of.

Kept apart from engine.py so that tensor.py can build Nodes (CopySlices, for in-place writes) without importing
the engine, and the engine can import Tensor: no import cycle, no placeholder.
"""

from __future__ import annotations

import itertools

# GradientTape (tf/tape.py) returns only what it recorded while open. Nodes made while a tape is open get
# a sequence number from CLOCK; a tape keeps the [start, end) intervals it was open, so "recorded by this
# tape" is one comparison. With no tape open (PyTorch code) a node pays one global test and keeps seq -1.
TAPES_OPEN = 0  # how many tapes are recording now (tf/tape.py keeps it)
CLOCK = itertools.count()

class Node:
    """A recorded operation: edges to where its inputs' gradients go, and what its vjp needs.

    edges[i] is (Node, output_nr) for an input made by an op, (Tensor, 0) for a leaf that requires
    grad, or None for an input that needs no gradient.
    """

    num_outputs = 1
    check_shapes = True  # verify the shapes of the gradients apply() returns (off for trusted primitive rules)
    # Class-level defaults: a node stores these only when they are set (most never are).
    hooks = None  # {output_nr: [hook]} from Tensor.register_hook on this node's outputs
    retained = None  # {output_nr: weakref to Tensor} from Tensor.retain_grad
    cuts = None  # why some inputs carry no gradient (for autograd.explain)
    freed = False  # saved values were released by a backward without retain_graph
    # None: made by a Node subclass that does not call Node.__init__; a tape keeps such nodes (it cannot
    # tell when they were made). -1: made while no tape was open.
    seq = None
    site = None  # the user's line that made this node's forward op; recorded only in anomaly mode (autograd/anomaly.py)

    def __init__(self, edges):
        self.edges = edges
        self.seq = next(CLOCK) if TAPES_OPEN else -1

    def name(self) -> str:
        return type(self).__name__

    def apply(self, grads: list, create_graph: bool):
        """Cotangents of the inputs (aligned with edges) from the cotangents of the outputs."""
        raise NotImplementedError

    def release(self) -> None:
        """Free saved values after a backward without retain_graph."""

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of the edges: (Node, output_nr) per input, (AccumulateGrad, 0) for a leaf that
        requires grad, (None, 0) for an input that needs no gradient."""
        return tuple(
            (None, 0) if e is None else (e[0], e[1]) if isinstance(e[0], Node) else (AccumulateGrad(e[0]), 0)
            for e in self.edges
        )

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class AccumulateGrad:
    """What next_functions shows for a leaf: the node that would sum a gradient into `variable.grad`."""

    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def edge_of(t):
    """Where the gradient of tensor t goes: its grad_fn, itself when a leaf, None when not needed."""
    if t._base is not None:
        t._sync_view()
    if not t._rg:
        return None
    fn = t.grad_fn
    return (fn, t._output_nr) if fn is not None else (t, 0)
