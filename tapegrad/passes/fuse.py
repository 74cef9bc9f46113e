"""Fusion: group a Graph's equations into kernels for the C backend.

A kernel is a chain of elementwise equations over one loop shape (broadcast inputs read through their
`expand`, scalar constants inlined), optionally ending in one `sum` over all axes, a leading run of
axes or a trailing run of axes. Its intermediates live in registers; only values read outside the
kernel (or returned) are written to memory. Everything else stays an ordinary equation (a library or
numpy call). Depends on trace/ir.py only; backends/c/ renders and runs the result.

Ordering: a kernel runs where its last member equation was. A kernel closes (takes no more members)
as soon as an equation outside it reads one of its values, so that reader always runs after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# dtypes a kernel computes in (float16/bfloat16 and complex stay on numpy)
CTYPES = {"float32": "float", "float64": "double", "bool": "unsigned char", "int32": "int32_t", "int64": "int64_t"}
UNARY = {"neg", "exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
         "tanh", "asinh", "acosh", "atanh", "sigmoid", "erf", "erfc", "abs", "sign", "floor", "ceil", "round", "trunc",
         "isnan", "isinf", "bitwise_not", "cast"}
BINARY = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "fmod", "remainder", "eq", "ne", "lt",
          "le", "gt", "ge", "bitwise_and", "bitwise_or", "bitwise_xor"}
ELEMENTWISE = UNARY | BINARY | {"where"}
FLOAT_ONLY = {"exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
              "tanh", "asinh", "acosh", "atanh", "sigmoid", "erf", "erfc", "pow", "atan2", "fmod", "remainder",
              "floor", "ceil", "round", "trunc", "isnan", "isinf"}


@dataclass
class Kernel:
    """One fused loop nest. `loads` maps an external Var id to (Var, shape it is read with); `members` are the
    elementwise equations in order; `reduce` is the closing sum equation or None; `outputs` are the Vars
    written to memory (filled in by `fuse`)."""

    shape: tuple
    members: list = field(default_factory=list)
    loads: dict = field(default_factory=dict)
    reduce: object = None
    outputs: list = field(default_factory=list)
    defined: set = field(default_factory=set)  # ids of the Vars its members define
    open: bool = True
    merged_into: object = None  # set when another kernel absorbed this one

    @property
    def prims(self) -> list:
        return [e.prim.name for e in self.members] + (["sum"] if self.reduce is not None else [])


def _ctype_ok(v) -> bool:
    return v.dtype.name in CTYPES


def _eligible(e) -> bool:
    name = e.prim.name
    if name not in ELEMENTWISE or len(e.outputs) != 1 or not _ctype_ok(e.outputs[0]):
        return False
    if not all(_ctype_ok(v) for v in e.inputs):
        return False
    if name in FLOAT_ONLY and e.outputs[0].dtype.name not in ("float32", "float64") and name not in ("isnan", "isinf"):
        return False
    if name in ("isnan", "isinf") and e.inputs[0].dtype.name not in ("float32", "float64"):
        return False
    shape = tuple(e.outputs[0].shape)
    return all(tuple(v.shape) == shape for v in e.inputs)


def reduce_mode(shape, axes) -> str | None:
    """'all', 'prefix' (a leading run of axes) or 'suffix' (a trailing run), or None when not fusable."""
    n, axes = len(shape), tuple(axes)
    if not axes or len(axes) == n:
        return "all"
    if axes == tuple(range(len(axes))):
        return "prefix"
    if axes == tuple(range(n - len(axes), n)):
        return "suffix"
    return None


def fuse(graph) -> list:
    """The graph's equations as a list of items in a valid execution order: an Eqn (run as it is) or a Kernel."""
    expands = {}  # Var id -> (source Var, its shape) for expand equations (broadcast reads)
    producer = {}  # Var id -> the open-or-closed Kernel that defines it
    items: list = []  # Eqn or Kernel, a kernel placed at its first member (moved to its last below)
    last_pos = {}  # id(kernel) -> index in `order` of its last member
    order = []
    for e in graph.eqns:
        name = e.prim.name
        if name == "expand" and len(e.inputs) == 1:
            expands[e.outputs[0].id] = (e.inputs[0], tuple(e.inputs[0].shape))
        if _eligible(e):
            k = _join(e, producer, expands)
            if k is not None:
                k.members.append(e)
                for v in e.inputs:
                    if v.id not in k.defined:
                        _add_load(k, v, expands)
                k.defined.add(e.outputs[0].id)
                producer[e.outputs[0].id] = k
                if id(k) not in last_pos:
                    order.append(k)
                last_pos[id(k)] = len(order)
                order.append(("mark", k))
                _close_readers(e, producer, k)
                continue
        if name == "sum" and len(e.inputs) == 1 and _ctype_ok(e.outputs[0]):
            src = e.inputs[0]
            k = producer.get(src.id)
            if (k is not None and k.open and k.reduce is None and tuple(src.shape) == k.shape
                    and e.outputs[0].dtype.name in ("float32", "float64")
                    and reduce_mode(k.shape, e.params["axes"]) is not None):
                k.reduce = e
                k.defined.add(e.outputs[0].id)
                producer[e.outputs[0].id] = k
                last_pos[id(k)] = len(order)
                order.append(("mark", k))
                _close_readers(e, producer, k)
                k.open = False
                continue
        _close_readers(e, producer, None)
        order.append(e)
    # place each kernel at its last member; drop the marks
    for i, x in enumerate(order):
        if isinstance(x, Kernel):
            order[i] = None
    for i, x in enumerate(order):
        if isinstance(x, tuple):
            k = x[1]
            order[i] = k if last_pos[id(k)] == i and k.merged_into is None else None
    items = [x for x in order if x is not None]
    _outputs(graph, items)
    return items


def _join(e, producer, expands):
    """The open kernel e can join (those that define its inputs, with e's loop shape, merged), or a new one."""
    shape = tuple(e.outputs[0].shape)
    found = []
    for v in e.inputs:
        k = producer.get(v.id)
        if k is not None and k.open and k.shape == shape and k.reduce is None and k not in found:
            found.append(k)
    if not found:
        return Kernel(shape)
    k = found[0]
    for other in found[1:]:  # open kernels read nothing of each other, so their members can be concatenated
        k.members.extend(other.members)
        for vid, load in other.loads.items():
            if vid not in k.defined:
                k.loads.setdefault(vid, load)
        k.defined |= other.defined
        for vid in other.defined:
            producer[vid] = k
        other.open = False
        other.merged_into = k
    for vid in list(k.loads):
        if vid in k.defined:
            del k.loads[vid]
    return k


def _add_load(k, v, expands):
    if v.const is not None:
        k.loads[v.id] = (v, tuple(v.shape))
        return
    src = expands.get(v.id)
    if src is not None and _ctype_ok(src[0]) and src[0].dtype is v.dtype and len(src[1]) <= len(k.shape):
        k.loads[v.id] = (src[0], src[1])  # read the expand's source with broadcast strides
    else:
        k.loads[v.id] = (v, tuple(v.shape))


def _close_readers(e, producer, joined):
    """An equation outside a kernel read one of its values: that kernel takes no more members."""
    for v in e.inputs:
        k = producer.get(v.id)
        if k is not None and k is not joined:
            k.open = False


def _outputs(graph, items):
    """Fill each kernel's outputs: the values it defines that something outside it reads (or the graph returns)."""
    readers = {v.id: [None] for v in graph.outputs}  # Var id -> the items (None: the caller) that read it
    for x in items:
        reads = [v for v, _ in x.loads.values()] if isinstance(x, Kernel) else x.inputs
        for v in reads:
            readers.setdefault(v.id, []).append(x)
    for x in items:
        if isinstance(x, Kernel):
            x.outputs = [e.outputs[0] for e in x.members + ([x.reduce] if x.reduce is not None else [])
                         if any(r is not x for r in readers.get(e.outputs[0].id, ()))]
