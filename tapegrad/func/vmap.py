"""vmap: the batching interpreter, which maps a function over an axis through per-primitive batching rules.

A value of this transform is a BatchTensor: a lower-level tensor `val` holding every example, and `bdim`,
the axis of val that is mapped over (None: the same value for every example). To the function it looks
like one example (its shape leaves bdim out). Each primitive applied to one runs the primitive's
`batch` rule (primitives/*.py), so there is no Python loop over the batch. Nests with itself, jvp and grad.
"""

from __future__ import annotations

import functools

import numpy as np

from ..ops.operands import as_leaf
from ..primitives.base import Interpreter, bind
from ..primitives.movement import Expand, Permute, Reshape
from ..tensor import Tensor, _Version
from . import tree_util as tu
from ._levels import InterpTensor, record, wants_record


class BatchTensor(InterpTensor):
    """One example's view of a batched value (val, with the examples along axis bdim)."""

    _payload = ("val", "bdim")

    def __repr__(self) -> str:
        return f"BatchTensor(val={self.val!r}, bdim={self.bdim})"

    __str__ = __repr__

    def item(self):
        self._refuse_value("item()")

    def tolist(self):
        self._refuse_value("tolist()")

    def numpy(self, *, force=False):
        self._refuse_value("numpy()")

    def __array__(self, dtype=None, copy=None):
        self._refuse_value("conversion to a numpy array")

    def __bool__(self):
        self._refuse_value("the truth value")


class _StandIn(np.ndarray):
    """What a BatchTensor's `_data` is: a read-only, zero-strided array of one example's shape, for front-end
    code that reads shape, size or ndim. It holds no data; code that wants values gets concrete_error."""

    def concrete_error(self, what):
        return TypeError(
            f"{what} of a value inside vmap is not available: vmap computes every example at once, so there is no "
            "single concrete value. Fix: keep Python control flow on tensor values out of the mapped function (use "
            "tg.where), or pass the value with in_axes=None"
        )


def _standin(shape, dtype):
    # NOTE: made once per (shape, dtype) and shared: read-only and holding no data, a stand-in cannot be told apart
    # from a fresh one, and np.broadcast_to costs several microseconds on each of the many values a vmap makes
    key = (shape, dtype)
    try:
        s = _STANDINS.get(key)
    except TypeError:  # a symbolic size that does not hash (trace/dims.py): made afresh
        return np.broadcast_to(np.zeros((), dtype.np), shape).view(_StandIn)
    if s is None:
        s = np.broadcast_to(np.zeros((), dtype.np), shape).view(_StandIn)
        if len(_STANDINS) >= 1024:  # a bound for programs that vmap over ever new shapes
            _STANDINS.clear()
        _STANDINS[key] = s
    return s


_STANDINS: dict = {}


def _make_batched(interp, val, bdim) -> BatchTensor:
    t = object.__new__(BatchTensor)
    t._interp, t.val, t.bdim, t.dtype, t._version = interp, val, bdim, val.dtype, _Version()
    shape = tuple(val.shape)
    t._data = _standin(shape if bdim is None else shape[:bdim] + shape[bdim + 1 :], val.dtype)
    return t


class BatchInterpreter(Interpreter):
    """One level of vmap over `axis_size` examples."""

    def __init__(self, axis_size: int):
        self.axis_size = axis_size

    def describe(self) -> str:
        return f"vmap (over {self.axis_size} examples)"

    def lift(self, x: Tensor) -> BatchTensor:
        """x as a value of this level, the same for every example."""
        return _make_batched(self, x, None)

    def wrap(self, x: Tensor, axis) -> Tensor:
        return x if axis is None else _make_batched(self, x, axis)

    def unwrap(self, x, out_axis):
        """The lower-level value of output x with the examples along out_axis (None: x must be unbatched)."""
        val, bdim = (x.val, x.bdim) if isinstance(x, BatchTensor) and x._interp is self else (x, None)
        if out_axis is None:
            if bdim is not None:
                raise ValueError(
                    f"vmap: out_axes=None for an output that differs between examples (shape {tuple(x.shape)}); "
                    "give it an out_axes entry (e.g. 0), or return a value that does not depend on the mapped inputs"
                )
            return val
        if not isinstance(val, Tensor):
            raise TypeError(
                f"vmap: the function returned a {type(val).__name__}; outputs must be tensors (or use out_axes=None)"
            )
        if bdim is None:
            shape = tuple(val.shape)
            val = bind(Expand, bind(Reshape, val, shape=(1,) + shape), shape=(self.axis_size,) + shape)
            bdim = 0
        out_axis = _normalise_axis(out_axis, val.ndim, "out_axes")
        if out_axis != bdim:
            order = [i for i in range(val.ndim) if i != bdim]
            order.insert(out_axis, bdim)
            val = bind(Permute, val, perm=tuple(order))
        return val

    def process(self, prim, args, params):
        vals, bdims, batched = [], [], False
        for a in args:
            if a._interp is self:
                vals.append(a.val)
                bdims.append(a.bdim)
                batched = batched or a.bdim is not None
            else:
                vals.append(a)
                bdims.append(None)
        if not batched:
            out, out_bdim = bind(prim, *vals, **params), None
        else:
            out, out_bdim = prim.batch(vals, bdims, **params)
        if out_bdim is None and not wants_record(self, prim, args):
            return out
        result = _make_batched(self, out, out_bdim)
        record(self, prim, params, args, result)
        return result


def _normalise_axis(axis, ndim, what):
    if not isinstance(axis, int) or not -ndim <= axis < ndim:
        raise ValueError(
            f"vmap: {what} entry {axis!r} is out of range for a value with {ndim} dimensions (batch included)"
        )
    return axis % ndim


def _prefix_leaves(axes, tree, what):
    """One axis per leaf of tree, from `axes`: an int or None for a whole subtree, else a tree prefix of tree."""
    if axes is None or isinstance(axes, int):
        return [axes] * len(tu.tree_leaves(tree))
    fns_a, fns_t = tu._node_functions(axes), tu._node_functions(tree)
    if (
        fns_a is None
        or fns_t is None
        or type(axes) is not type(tree)
        and not (isinstance(axes, (list, tuple)) and isinstance(tree, (list, tuple)))
    ):
        raise ValueError(
            f"vmap: {what} {axes!r} does not match the structure of the value it describes "
            f"({tu.tree_structure(tree)}); give an int or None, or a tree prefix of it"
        )
    a_children, a_aux = fns_a[0](axes)
    t_children, t_aux = fns_t[0](tree)
    a_children, t_children = list(a_children), list(t_children)
    if len(a_children) != len(t_children) or (isinstance(tree, dict) and a_aux != t_aux):
        raise ValueError(
            f"vmap: {what} has {len(a_children)} entries for a value with {len(t_children)} "
            f"({tu.tree_structure(tree)}); give one entry per element"
        )
    out = []
    for a, t in zip(a_children, t_children):
        out.extend(_prefix_leaves(a, t, what))
    return out


def _axis_size(leaves, axes):
    sizes = {}
    for i, (x, ax) in enumerate(zip(leaves, axes)):
        if ax is None:
            continue
        if not isinstance(x, Tensor):
            raise TypeError(
                f"vmap: in_axes maps over argument leaf {i}, a {type(x).__name__}; only tensors can be mapped over. "
                "Give it in_axes None"
            )
        ax = _normalise_axis(ax, x.ndim, "in_axes")
        sizes.setdefault(x.shape[ax], []).append(i)
    if not sizes:
        raise ValueError("vmap: no argument is mapped over (every in_axes entry is None); map at least one tensor")
    if len(sizes) > 1:
        listed = ", ".join(f"size {n} (leaves {v})" for n, v in sizes.items())
        raise ValueError(f"vmap: the mapped axes have different sizes: {listed}; they must all be equal")
    return next(iter(sizes))


def _one_spelling(kind, axes, dims):
    if dims is None:
        return axes
    if axes != 0:
        raise TypeError(f"vmap: give {kind}_axes (JAX) or {kind}_dims (PyTorch), not both")
    return dims


def vmap(f, in_axes=0, out_axes=0, *, in_dims=None, out_dims=None, randomness="error", chunk_size=None):
    """Map f over an axis of its arguments, computing all examples at once (no Python loop).

    Args:
        f: a function of pytrees of tensors.
        in_axes: the axis to map over for each argument: an int for all, None for an argument shared by every
            example, or a tuple with one entry (int, None or a tree prefix) per positional argument.
        out_axes: where the mapped axis goes in each output (same forms; None for an output that does not
            depend on the mapped inputs).
        in_dims, out_dims: torch.func.vmap's names for in_axes and out_axes (give one spelling of each).
        randomness, chunk_size: accepted for torch.func.vmap's signature; examples are always computed at once.
    Returns:
        the mapped function.

    >>> import tapegrad as tg
    >>> x, w = tg.ones(3, 2), tg.tensor([1.0, 2.0])
    >>> tg.vmap(lambda xi, w: (xi * w).sum(), in_axes=(0, None))(x, w)
    tensor([3., 3., 3.])
    """
    in_axes = _one_spelling("in", in_axes, in_dims)
    out_axes = _one_spelling("out", out_axes, out_dims)

    @functools.wraps(f)
    def mapped(*args):
        axes_tree = in_axes if not isinstance(in_axes, list) else tuple(in_axes)
        if isinstance(axes_tree, tuple) and len(axes_tree) != len(args):
            raise ValueError(
                f"vmap: in_axes has {len(axes_tree)} entries but the function was called with {len(args)} positional "
                "arguments; give one entry per argument (or a single int / None)"
            )
        leaves, treedef = tu.tree_flatten(args)
        axes = _prefix_leaves(axes_tree, args, "in_axes")
        leaves = [x if a is None else as_leaf(x) for x, a in zip(leaves, axes)]
        size = _axis_size(leaves, axes)
        with BatchInterpreter(size) as bi:
            wrapped = [
                bi.wrap(x, None if a is None else _normalise_axis(a, x.ndim, "in_axes")) for x, a in zip(leaves, axes)
            ]
            out = f(*tu.tree_unflatten(treedef, wrapped))
            o_leaves, o_def = tu.tree_flatten(out)
            o_axes = _prefix_leaves(
                tuple(out_axes) if isinstance(out_axes, list) and isinstance(out, tuple) else out_axes, out, "out_axes"
            )
            results = [bi.unwrap(o, a) for o, a in zip(o_leaves, o_axes)]
        return tu.tree_unflatten(o_def, results)

    return mapped
