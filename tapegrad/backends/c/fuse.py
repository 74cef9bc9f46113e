"""Fusion, the C backend's lowering of a Graph: group its equations into kernels.

A kernel is one loop nest over one loop shape. Its members are elementwise equations, reductions (`sum`,
`amax`) and the `reshape` / `expand` equations between them; broadcast inputs are read through their
`expand` and scalar constants are inlined. Every value a member defines has a class:

- full: one value per element of the loop shape;
- row: one value per row, made by a reduction over a trailing run of axes (suffix mode: the loop shape
  is rows of length r). Full members read a row value through its keepdims `expand`, so a kernel can
  reduce a row, use the result along the same row and reduce again: softmax, log_softmax, layer norm,
  cross-entropy and their gradients are one kernel, whose row intermediates stay in cache;
- col: one value per column, made by a reduction over the leading run of axes (prefix mode: bias and
  layer-norm weight gradients);
- scalar: made by a reduction over every axis, and the elementwise work on it (an epilogue).

A row value is ready once the loop over its row has ended, so later loops over the same row may read it;
col and scalar values are ready only when every row is done, so inside the kernel only scalar work and
reshapes read them. Only values read outside the kernel (or returned) are written to memory. Everything
else stays an ordinary equation (a library or numpy call). What may join a kernel is read from the primitives'
declared properties (family, fusable, float_only: primitives/base.py), never from lists of names, and
scalar.py must have a C template for every fusable elementwise primitive (tests/backends/test_registry.py).
Depends on trace/ir.py and the primitive table; render.py renders and plan.py runs the result.

Ordering: a kernel runs where its last member equation was. A kernel closes (takes no more members)
as soon as an equation outside it reads one of its values, so that reader always runs after it. Two open
kernels never read each other's values, so merging them (an equation reads both, or both read one large
input) keeps a valid order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...primitives.base import ELEMENTWISE, MOVEMENT, REDUCTION
from ..executor import reads_of as reads  # noqa: F401  (lower.py and plan.py read it here)
from .scalar import CTYPES

FLOATS = ("float32", "float64")

# value classes (see the module docstring) and member roles
FULL, ROW, COL, SCALAR = "full", "row", "col", "scalar"
MAP, ALIAS, SUFFIX, PREFIX, ALL = "map", "alias", "suffix", "prefix", "all"
REDUCE_ROLES = (SUFFIX, PREFIX, ALL)

# a row kernel that also reduces columns keeps one partial column per chunk of rows: bounded row length
COL_IN_ROWS_MAX = 1 << 14


@dataclass
class Kernel:
    """One fused loop nest. `loads` maps an external Var id to (Var, shape it is read with); `members` are its
    equations in order; `kind` and `role` map the id of each Var a member defines to its class (full, row,
    col, scalar) and to the member's role (map, alias, suffix, prefix, all); `split` is the number of leading
    (row) axes once a suffix or prefix reduction joined; `outputs` are the Vars written to memory (filled in
    by `fuse`)."""

    shape: tuple
    members: list = field(default_factory=list)
    loads: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)
    kind: dict = field(default_factory=dict)
    role: dict = field(default_factory=dict)
    split: int | None = None
    open: bool = True
    merged_into: object = None  # set when another kernel absorbed this one

    @property
    def prims(self) -> list:
        return [e.prim.name for e in self.members]

    @property
    def reductions(self) -> list:
        return [e for e in self.members if self.role[e.outputs[0].id] in REDUCE_ROLES]

    @property
    def reduce(self):
        """The last reduction member, or None (a pure elementwise kernel)."""
        red = self.reductions
        return red[-1] if red else None

    def rows(self) -> tuple:
        """(number of rows, row length) of a kernel with a split."""
        return _prod(self.shape[:self.split]), _prod(self.shape[self.split:])


def _prod(shape) -> int:
    return math.prod(int(n) for n in shape)


def _ctype_ok(v) -> bool:
    return v.dtype.name in CTYPES


def _eligible(e) -> bool:
    prim = e.prim
    if not (prim.fusable and prim.family in ELEMENTWISE) or len(e.outputs) != 1 or not _ctype_ok(e.outputs[0]):
        return False
    if not all(_ctype_ok(v) for v in e.inputs):
        return False
    if prim.float_only and not all(v.dtype.name in FLOATS for v in e.inputs):
        return False
    shape = tuple(e.outputs[0].shape)
    return all(tuple(v.shape) == shape for v in e.inputs)


def _reduction(e) -> bool:
    """A fusable reduction (sum, amax; amin is -amax(-x) in the front end) of floats."""
    return (e.prim.fusable and e.prim.family == REDUCTION and len(e.inputs) == 1 and len(e.outputs) == 1
            and e.outputs[0].dtype.name in FLOATS and e.inputs[0].dtype is e.outputs[0].dtype)


def _alias(e) -> bool:
    """A fusable movement (reshape, expand): inside a kernel, a view of a value it defines."""
    return e.prim.fusable and e.prim.family == MOVEMENT and len(e.inputs) == 1 and len(e.outputs) == 1 and _ctype_ok(e.outputs[0])


def reduce_mode(shape, axes) -> str | None:
    """'all', 'prefix' (a leading run of axes) or 'suffix' (a trailing run), or None when not fusable."""
    n, axes = len(shape), tuple(axes)
    if not axes:  # no axes: the identity (a copy), except on a 0-d value
        return "all" if n == 0 else None
    if len(axes) == n:
        return "all"
    if axes == tuple(range(len(axes))):
        return "prefix"
    if axes == tuple(range(n - len(axes), n)):
        return "suffix"
    return None


def row_shape(shape, split) -> tuple:
    """The keepdims shape of a row value: the leading axes, then 1 for each row axis."""
    return tuple(shape[:split]) + (1,) * (len(shape) - split)


# *** what an equation becomes inside a kernel ***


def _classify(e, shape, split, kind_of):
    """(role, class, split) of e as a member of a kernel with this loop shape and split, or None when it cannot
    join. kind_of(v) is the class of an input the kernel defines, None for one read from memory."""
    if _alias(e):
        return _classify_alias(e, shape, split, kind_of(e.inputs[0]))
    if _reduction(e):
        return _classify_reduction(e, shape, split, kind_of(e.inputs[0]))
    if not _eligible(e):
        return None
    out = tuple(e.outputs[0].shape)
    classes = {kind_of(v) for v in e.inputs} - {None}
    if not classes:  # every input from memory: a member of the kernel's own loop shape
        return (MAP, FULL, split) if out == tuple(shape) else None
    if FULL in classes:  # a row value read directly (not through an expand) only when rows have length 1
        return (MAP, FULL, split) if out == tuple(shape) and classes <= {FULL, ROW} else None
    if classes in ({ROW}, {SCALAR}):  # per-row work between the loops, or the epilogue after the last one
        return MAP, classes.pop(), split
    return None  # col values and scalar results exist only once every row is done


def _classify_reduction(e, shape, split, src_kind):
    axes, src = tuple(e.params["axes"]), e.inputs[0]
    if src_kind in (None, FULL):
        if tuple(src.shape) != tuple(shape):
            return None
        mode = reduce_mode(shape, axes)
        if mode == "all":
            return ALL, SCALAR, split
        if mode is None:
            return None
        cut = len(shape) - len(axes) if mode == "suffix" else len(axes)
        if split not in (None, cut):
            return None
        return (SUFFIX, ROW, cut) if mode == "suffix" else (PREFIX, COL, cut)
    if src_kind == ROW and len(axes) == len(src.shape):  # e.g. a loss summed over its per-row values
        return ALL, SCALAR, split
    return None


def _classify_alias(e, shape, split, src_kind):
    out, src = tuple(e.outputs[0].shape), e.inputs[0]
    if src_kind is None or e.outputs[0].dtype is not src.dtype:
        return None
    if src_kind == FULL:  # a no-op view of a full value
        return (ALIAS, FULL, split) if out == tuple(shape) else None
    if e.prim.name == "expand":
        # a row value broadcast along its row: its keepdims shape, right-aligned against the loop shape
        padded = (1,) * (len(shape) - len(src.shape)) + tuple(src.shape)
        if src_kind == ROW and out == tuple(shape) and padded == row_shape(shape, split):
            return ALIAS, FULL, split
        return None
    return ALIAS, src_kind, split  # a reshape keeps the order of a row, col or scalar value


# *** the greedy pass ***


class _Fuser:
    """The greedy pass: one walk over the equations in graph order, placing each in a kernel or leaving it."""

    def __init__(self):
        self.expands = {}  # Var id -> (source Var, its shape) for expand equations (broadcast reads)
        self.producer = {}  # Var id -> the Kernel that defines it
        self.loaders = {}  # Var id -> kernels that read it from memory over their whole loop shape
        self.order = []  # Eqn, Kernel (at its first member) or ("mark", kernel) after each member
        self.last_pos = {}  # id(kernel) -> index in `order` of its last mark

    def run(self, graph) -> list:
        for e in graph.eqns:
            if e.prim.name == "expand" and len(e.inputs) == 1:
                self.expands[e.outputs[0].id] = (e.inputs[0], tuple(e.inputs[0].shape))
            k = self.place(e)
            self.close_readers(e, k)
            if k is None:
                self.order.append(e)
        # place each kernel at its last member; drop the marks
        items = []
        for i, x in enumerate(self.order):
            if isinstance(x, tuple):
                k = x[1]
                if self.last_pos[id(k)] == i and k.merged_into is None:
                    items.append(k)
            elif not isinstance(x, Kernel):
                items.append(x)
        return items

    def owners(self, e) -> list:
        found = []
        for v in e.inputs:
            k = self.producer.get(v.id)
            if k is not None and k.open and k not in found:
                found.append(k)
        return found

    def place(self, e):
        """The kernel e joins (an open kernel it reads from, merged with the others it reads from, or a new one),
        or None when e stays an ordinary equation."""
        if not (_alias(e) or _reduction(e) or _eligible(e)):
            return None
        owners = self.owners(e)
        for group in _groups(owners):
            got = _join(e, group)
            if got is not None:
                for other in owners:
                    if other not in group:
                        other.open = False  # e reads it from memory: it runs first
                k = self.merge(group, got[2])
                self.add(k, e, got)
                return k
        if _alias(e):
            return None  # a view of memory: numpy makes it for free
        shape = tuple(e.inputs[0].shape) if _reduction(e) else tuple(e.outputs[0].shape)
        got = _classify(e, shape, None, lambda v: None)
        if got is None:
            return None
        k = Kernel(shape)
        self.order.append(k)
        self.add(k, e, got)
        return k

    def merge(self, kernels, split):
        k = kernels[0]
        for other in kernels[1:]:
            k.members.extend(other.members)
            for vid, load in other.loads.items():
                k.loads.setdefault(vid, load)
            k.kind.update(other.kind)
            k.role.update(other.role)
            for vid in other.kind:
                self.producer[vid] = k
            for src, _ in other.loads.values():
                self.loaders[src.id] = [x for x in self.loaders.get(src.id, []) if x is not other and x is not k] + [k]
            other.open = False
            other.merged_into = k
        for vid in [vid for vid in k.loads if vid in k.kind]:
            del k.loads[vid]
        k.split = split
        return k

    def add(self, k, e, got):
        role, cls, k.split = got
        out = e.outputs[0]
        k.members.append(e)
        k.kind[out.id], k.role[out.id] = cls, role
        self.producer[out.id] = k
        new_loads = [v for v in e.inputs if v.id not in k.kind and v.id not in k.loads]
        for v in new_loads:
            _add_load(k, v, self.expands, tuple(out.shape))
        self.last_pos[id(k)] = len(self.order)
        self.order.append(("mark", k))
        for v in new_loads:
            self.share_load(k, v)

    def share_load(self, k, v):
        """Merge the open kernels that read the same large input over the same loop shape: one pass over it."""
        if v.id not in k.loads:  # an earlier merge in this walk made v a value the kernel defines
            return
        src, shape = k.loads[v.id]
        if src.const is not None or shape != k.shape:
            return
        roles = set(k.role.values())
        for other in list(self.loaders.get(src.id, [])):
            if other is k or not other.open or other.shape != k.shape:
                continue
            if _reads_from(k, other) or _reads_from(other, k):
                continue  # one reads the other's values from memory: it must run after it, not beside it
            if None not in (k.split, other.split) and k.split != other.split:
                continue
            split = k.split if k.split is not None else other.split
            if _fits(k.shape, split, roles | set(other.role.values())):
                self.merge([k, other], split)
                roles |= set(other.role.values())
        self.loaders[src.id] = [x for x in self.loaders.get(src.id, []) if x.merged_into is None and x is not k] + [k]

    def close_readers(self, e, joined):
        """An equation outside a kernel read one of its values: that kernel takes no more members."""
        for v in e.inputs:
            k = self.producer.get(v.id)
            if k is not None and k is not joined:
                k.open = False


def _reads_from(k, other) -> bool:
    """Whether kernel k loads a value that kernel other defines."""
    return any(vid in other.kind for vid in k.loads)


def _groups(owners) -> list:
    """The sets of open kernels e may join: all it reads from, else each alone, the largest first (e reads the
    values of the others from memory)."""
    if len(owners) <= 1:
        return [owners] if owners else []
    alone = sorted(owners, key=lambda k: (-_prod(k.shape), -len(k.members)))
    return [owners] + [[k] for k in alone]


def _join(e, group):
    """(role, class, split) of e as a member of the merged kernels of group, or None."""
    shape, splits = group[0].shape, {k.split for k in group} - {None}
    if any(k.shape != shape for k in group) or len(splits) > 1:
        return None
    split = splits.pop() if splits else None
    got = _classify(e, shape, split, lambda v: next((k.kind[v.id] for k in group if v.id in k.kind), None))
    if got is None or not _fits(shape, got[2], {r for k in group for r in k.role.values()} | {got[0]}):
        return None
    return got


def _fits(shape, split, roles) -> bool:
    """A kernel that reduces columns and also rows (or everything) runs row by row, keeping a partial column per
    chunk of rows: its rows must be short. (Column reductions alone can always be looped column-block-wise.)"""
    if PREFIX in roles and (SUFFIX in roles or ALL in roles):
        return _prod(shape[split:]) <= COL_IN_ROWS_MAX
    return True


def _add_load(k, v, expands, use_shape):
    if v.const is not None:
        k.loads[v.id] = (v, tuple(v.shape))
        return
    src = expands.get(v.id)
    if src is not None and _ctype_ok(src[0]) and src[0].dtype is v.dtype and len(src[1]) <= len(use_shape):
        k.loads[v.id] = (src[0], src[1])  # read the expand's source with broadcast strides
    else:
        k.loads[v.id] = (v, tuple(v.shape))


def fuse(graph) -> list:
    """The graph's equations as a list of items in a valid execution order: an Eqn (run as it is) or a Kernel."""
    items = _Fuser().run(graph)
    _outputs(graph, items)
    return items


def _outputs(graph, items):
    """Fill each kernel's outputs: the values it defines that something outside it reads (or the graph returns)."""
    readers = {v.id: [None] for v in graph.outputs}  # Var id -> the items (None: the caller) that read it
    for x in items:
        for v in reads(x):
            readers.setdefault(v.id, []).append(x)
    for x in items:
        if isinstance(x, Kernel):
            x.outputs = [e.outputs[0] for e in x.members if any(r is not x for r in readers.get(e.outputs[0].id, ()))]
