"""autograd.explain: says in words why the gradient of a target with respect to a source is None."""

from __future__ import annotations

import weakref

from ..errors import user_frame
from . import engine

# arrays handed out by .numpy() of tensors that require grad: id(array) -> (weakref, where)
_NUMPY_EXPORTS: dict = {}


def note_numpy_export(t) -> None:
    arr = t._data
    key = id(arr)
    entry = _NUMPY_EXPORTS.get(key)
    # the latest export is named: it is the one most likely to have fed the tensor being explained
    ref = entry[0] if entry is not None else weakref.ref(arr, lambda _, k=key: _NUMPY_EXPORTS.pop(k, None))
    _NUMPY_EXPORTS[key] = (ref, user_frame())


def numpy_export_cut(arr):
    """The cut reason for a tensor created from an array that .numpy() exported, else None."""
    for candidate in (arr, getattr(arr, "base", None)):
        entry = _NUMPY_EXPORTS.get(id(candidate)) if candidate is not None else None
        if entry is not None and entry[0]() is candidate:
            return ("numpy", f".numpy() at {entry[1]} (a numpy array carries no graph)")
    return None


_CUT_FIXES = {
    "detach": "remove the detach(), or use it only where you mean to stop the gradient",
    "no_grad": "compute it outside `with tg.no_grad():` / inference_mode",
    "numpy": "stay in tapegrad ops instead of converting to numpy and back",
    "integer": "keep the value floating point (integer tensors carry no gradient)",
}


def describe_cut(cut):
    """(kind, sentence) for a cut recorded on a tensor; the engine stores raw tuples to stay fast."""
    kind = cut[0]
    if kind == "no_grad":
        return kind, f"an op run under no_grad / inference_mode (entered at {cut[1]})"
    if kind == "integer":
        return kind, f"{cut[1]}, whose result is {cut[2].name} (integer and bool tensors carry no gradient)"
    return kind, cut[1]


def _walk(target):
    """Edges (id(Node or leaf), output_nr) reachable backwards from target, plus the cuts recorded on
    the way (inputs that carried no gradient, and leaves that were made from a cut tensor)."""
    nodes, reached, cuts = set(), set(), []
    stack = [target.grad_fn] if target.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if id(node) in nodes:
            continue
        nodes.add(id(node))
        cuts.extend((node.cuts or {}).values())
        for e in node.edges:
            if e is None:
                continue
            reached.add((id(e[0]), e[1]))
            if isinstance(e[0], engine.Node):
                stack.append(e[0])
            elif e[0]._cut is not None:  # e.g. x.detach().requires_grad_()
                cuts.append(e[0]._cut)
    return reached, cuts


def explain(target, source) -> str:
    """A sentence saying whether d(target)/d(source) is connected and, when not, why.

    >>> import tapegrad as tg
    >>> x = tg.tensor(2.0, requires_grad=True)
    >>> y = x.detach() * 3
    >>> print(tg.autograd.explain(y, x).splitlines()[0])
    no gradient: target does not require grad because its graph was cut: detach() ...
    """
    if not source._rg:
        return (
            "no gradient: source does not require grad (requires_grad=False). Fix: call "
            "source.requires_grad_() before computing target" + _dtype_hint(source)
        )
    if target is source:
        return "connected: target is source (the gradient is ones)"
    if not target._rg:
        if target._cut is not None:
            kind, where = describe_cut(target._cut)
            first = where.split(" at ")[0]
            return (
                f"no gradient: target does not require grad because its graph was cut: {first} ...\n"
                f"cut by {where}. Fix: {_CUT_FIXES.get(kind, 'keep the computation differentiable')}"
            )
        return (
            "no gradient: target does not depend on any tensor that requires grad (values taken out with "
            ".item(), .tolist() or float() and put back into a tensor carry no graph). Fix: compute target "
            "from source with tapegrad ops"
        )
    reached, cuts = _walk(target)
    source_edge = engine.edge_of(source)
    if (id(source_edge[0]), source_edge[1]) in reached:
        return "connected: target depends on source through recorded operations"
    if cuts:
        described = [describe_cut(c) for c in cuts]
        lines = [f"  - {where} (fix: {_CUT_FIXES.get(kind, 'keep it differentiable')})" for kind, where in described]
        return "no gradient: target's graph does not reach source; it was cut at:\n" + "\n".join(lines)
    return "no gradient: target is not computed from source (source is not used in target's graph)"


def _dtype_hint(t):
    if not t.dtype.is_floating_point:
        return f"; it is {t.dtype.name}, and integer tensors cannot require grad: cast it with .float() first"
    return ""
