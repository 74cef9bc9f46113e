"""Control flow with TensorFlow's argument orders: while_loop, cond, switch_case, scan, map_fn, foldl.

Eagerly these run as Python: each step's ops are recorded by the engine like any others, so
gradients flow through however many iterations ran. Inside tg.function they become graph ops
(the graph-mode issue). Loop variables may be nests (lists, tuples, dicts).
"""

from __future__ import annotations

import contextlib

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import nest


def _to_tensors(structure):
    cls = structure.__class__
    if (cls is tuple or cls is list) and all(isinstance(v, Tensor) for v in structure):
        return structure if cls is tuple else list(structure)  # a flat list of tensors, as map_structure makes it
    from .names import convert_to_tensor

    return nest.map_structure(lambda v: v if isinstance(v, Tensor) or v is None else convert_to_tensor(v), structure)


def _as_bool(pred, what) -> bool:
    if isinstance(pred, Tensor):
        if pred.numel() != 1:
            raise ValueError(f"{what}: the predicate must be a scalar, got a tensor of shape {tuple(pred.shape)}")
        return bool(pred)
    return bool(pred)


def _tracing() -> bool:
    """Inside tg.function / tg.jit: the functions below record graph ops (tapegrad/trace/control.py)."""
    from ..trace.tracer import current_tracer  # (a module already imported: a dictionary lookup)

    return current_tracer() is not None


def _flat_tensors(seq) -> bool:
    for v in seq:
        if not isinstance(v, Tensor):
            return False
    return True


def _spread(loop_vars) -> bool:
    """TF calls cond and body with the elements of a list or tuple of loop variables as arguments."""
    return isinstance(loop_vars, (list, tuple))


def while_loop(
    cond,
    body,
    loop_vars,
    shape_invariants=None,
    parallel_iterations=10,
    back_prop=True,
    swap_memory=False,
    maximum_iterations=None,
    name=None,
):
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`; returns the final loop_vars.

    Args:
        cond: predicate on the loop variables (a bool or a one-element tensor).
        body: returns new loop variables with the same structure.
        loop_vars: a tensor, or a (nested) list / tuple / dict of them; numbers become tensors.
        maximum_iterations: stop after this many iterations even if cond still holds.
        back_prop: False runs the loop without recording gradients.

    >>> import tapegrad as tg
    >>> tg.while_loop(lambda i, acc: i < 10, lambda i, acc: (i + 1, acc * i), [tg.constant(0), tg.constant(1)])
    [tensor(10, dtype=tg.int32), tensor(0, dtype=tg.int32)]
    """
    loop_vars = _to_tensors(loop_vars)
    spread = _spread(loop_vars)
    if maximum_iterations is not None and int(maximum_iterations) < 0:
        raise ValueError(f"while_loop: maximum_iterations must be >= 0, got {maximum_iterations}")
    if _tracing():  # one `while` graph op, trip count known at run time, differentiable (trace/control.py)
        from ..trace.control import while_loop as graph_while

        if not spread:
            return graph_while(lambda v: cond(v), lambda v: (body(v),), (loop_vars,), maximum_iterations)[0]
        out = graph_while(
            cond, lambda *v: tuple(_fix_single(loop_vars, body(*v))), tuple(loop_vars), maximum_iterations
        )
        return type(loop_vars)(out)
    with no_grad() if not back_prop else contextlib.nullcontext():
        step = 0
        while maximum_iterations is None or step < int(maximum_iterations):
            if not _as_bool(cond(*loop_vars) if spread else cond(loop_vars), "while_loop"):
                break
            new = body(*loop_vars) if spread else body(loop_vars)
            loop_vars = _same_structure("while_loop", "body", loop_vars, _fix_single(loop_vars, new))
            step += 1
    return loop_vars


def _fix_single(old, new):
    # a body of one loop variable may return the bare value, as TF allows
    if isinstance(old, (list, tuple)) and len(old) == 1 and not isinstance(new, (list, tuple)):
        return type(old)([new])
    return new


def _same_structure(fn, part, old, new):
    new = _to_tensors(new)
    ocls, ncls = old.__class__, new.__class__
    if (ocls is tuple or ocls is list) and (ncls is tuple or ncls is list) and len(old) == len(new):
        # the common case, a flat list or tuple of tensors in and out (what nest.same_structure would accept), is
        # checked here: this runs on every trip of an eager loop
        if _flat_tensors(old) and _flat_tensors(new):
            return new if ncls is ocls else ocls(new)
    if not nest.same_structure(old, new):
        raise ValueError(
            f"{fn}: {part} must return the same structure as the loop variables: they are {nest.describe(old)} "
            f"but it returned {nest.describe(new)}"
        )
    if isinstance(old, (list, tuple)) and type(new) is not type(old) and not hasattr(type(old), "_fields"):
        new = type(old)(new)
    return new


def cond(pred, true_fn=None, false_fn=None, name=None, operands=None):
    """true_fn() if pred else false_fn(); only the branch taken runs (and is recorded).

    `operands` (PyTorch's torch.cond form) passes arguments to the branch: true_fn(*operands).
    """
    if true_fn is None or false_fn is None:
        raise TypeError("cond: give both true_fn and false_fn, e.g. tg.cond(x > 0, lambda: x, lambda: -x)")
    if _tracing() and isinstance(pred, Tensor):  # a `switch` graph op over both traced branches
        from ..trace.control import cond as graph_cond

        return graph_cond(pred, true_fn, false_fn, tuple(operands) if operands is not None else ())
    branch = true_fn if _as_bool(pred, "cond") else false_fn
    return branch(*operands) if operands is not None else branch()


def switch_case(branch_index, branch_fns, default=None, name="switch_case"):
    """Run branch_fns[branch_index]() (a list, a dict {int: fn} or pairs); out of range runs default,
    or the last branch when there is no default, as in TensorFlow."""
    if isinstance(branch_fns, dict):
        table = dict(branch_fns)
    elif branch_fns and isinstance(branch_fns[0], (list, tuple)):
        table = {int(k): fn for k, fn in branch_fns}
    else:
        table = dict(enumerate(branch_fns))
    if not table:
        raise ValueError("switch_case: branch_fns is empty; give at least one branch")
    if isinstance(branch_index, Tensor) and (branch_index.is_floating_point() or branch_index.numel() != 1):
        raise TypeError(
            f"switch_case: branch_index must be a scalar integer, got a {branch_index.dtype.name} tensor of shape "
            f"{tuple(branch_index.shape)}"
        )
    if _tracing() and isinstance(branch_index, Tensor) and default is None and sorted(table) == list(range(len(table))):
        from ..trace.control import switch_case as graph_switch

        return graph_switch(branch_index, [table[k] for k in range(len(table))], ())
    fn = table.get(int(branch_index))
    if fn is None:
        fn = default if default is not None else table[max(table)]
    return fn()


def _unstack_elems(fn_name, elems, reverse):
    flat = [e if isinstance(e, Tensor) else _to_tensors(e) for e in nest.flatten(elems)]
    if not flat:
        raise ValueError(f"{fn_name}: elems is empty; give a tensor (or a nest of tensors) to iterate over")
    n = flat[0].shape[0] if flat[0].ndim else None
    for t in flat:
        if t.ndim == 0 or t.shape[0] != n:
            shapes = [tuple(x.shape) for x in flat]
            raise ValueError(
                f"{fn_name}: every tensor of elems needs the same first dimension to iterate over, got {shapes}"
            )
    order = range(n - 1, -1, -1) if reverse else range(n)
    return [nest.pack_as(elems, [t[i] for t in flat]) for i in order], n


def _stack(structures):
    from ..ops import stack

    flats = [nest.flatten(s) for s in structures]
    return nest.pack_as(structures[0], [stack(list(col)) for col in zip(*flats)])


def scan(
    fn,
    elems,
    initializer=None,
    parallel_iterations=10,
    back_prop=True,
    swap_memory=False,
    infer_shape=True,
    reverse=False,
    name=None,
):
    """Running accumulation: acc = fn(acc, elems[i]) for each i; returns every acc, stacked on axis 0.

    Without initializer the first element starts the accumulation (and is the first output).

    >>> import tapegrad as tg
    >>> tg.scan(lambda acc, x: acc + x, tg.constant([1.0, 2.0, 3.0]))
    tensor([1., 3., 6.])
    """
    items, _ = _unstack_elems("scan", elems, reverse)
    with no_grad() if not back_prop else contextlib.nullcontext():
        if initializer is None:
            acc, items, outs = items[0], items[1:], [items[0]]
        else:
            acc, outs = _to_tensors(initializer), []
        for x in items:
            acc = _same_structure("scan", "fn", acc, fn(acc, x))
            outs.append(acc)
    if not outs:
        raise ValueError("scan: elems has length 0, so there is nothing to stack")
    stacked = _stack(outs)
    if reverse:
        from ..ops import flip

        stacked = nest.map_structure(lambda t: flip(t, (0,)), stacked)
    return stacked


def map_fn(
    fn,
    elems,
    dtype=None,
    parallel_iterations=None,
    back_prop=True,
    swap_memory=False,
    infer_shape=True,
    name=None,
    fn_output_signature=None,
):
    """fn applied to each element of elems along axis 0; the results stacked."""
    items, _ = _unstack_elems("map_fn", elems, False)
    with no_grad() if not back_prop else contextlib.nullcontext():
        outs = [_to_tensors(fn(x)) for x in items]
    return _stack(outs)


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """acc = fn(acc, x) over elems from the first; returns the final acc."""
    return _fold(fn, elems, initializer, back_prop, reverse=False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """acc = fn(acc, x) over elems from the last; returns the final acc."""
    return _fold(fn, elems, initializer, back_prop, reverse=True)


def _fold(fn, elems, initializer, back_prop, reverse):
    items, _ = _unstack_elems("foldr" if reverse else "foldl", elems, reverse)
    with no_grad() if not back_prop else contextlib.nullcontext():
        acc, rest = (items[0], items[1:]) if initializer is None else (_to_tensors(initializer), items)
        for x in rest:
            acc = _to_tensors(fn(acc, x))
    return acc
