"""Indexing composites: x[key], x[key] = v, gather/scatter, index_select, masked_fill, ...

Basic keys (ints, slices with steps, None, Ellipsis) become one Slice and one Reshape: a view.
Keys with integer or boolean tensors (or lists) use the Index / IndexPut primitives: a copy.
"""

from __future__ import annotations

import numpy as np

from .. import dtype as dt
from ..errors import user_frame
from ..primitives import bind
from ..primitives import indexing as I
from ..primitives import movement as M
from ..tensor import Tensor
from .elementwise import _as_operand, broadcast_shapes, eq, expand_to, where
from .shape import norm_dim


def _is_basic(k) -> bool:
    return k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) and not isinstance(k, bool)


def _normalize_key(key):
    return key if isinstance(key, tuple) else (key,)


def _expand_ellipsis(key, ndim):
    consumed = sum(_dims_consumed(k) for k in key)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > ndim:
        raise IndexError(f"too many indices for a tensor of dimension {ndim} (the index uses {consumed})")
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (ndim - consumed))
        else:
            out.append(k)
    if not any(k is Ellipsis for k in key):
        out.extend([slice(None)] * (ndim - consumed))
    return out


def _dims_consumed(k):
    if k is None or k is Ellipsis:
        return 0
    if isinstance(k, Tensor) and k.dtype is dt.bool_:
        return max(k.ndim, 1)
    if isinstance(k, np.ndarray) and k.dtype == bool:
        return max(k.ndim, 1)
    return 1


def _basic_index(x: Tensor, key) -> Tensor:
    """Ints, slices and None: one Slice (a view) and one Reshape (dropping ints, adding Nones)."""
    index, shape, dim = [], [], 0
    for k in key:
        if k is None:
            shape.append(1)
            continue
        n = x.shape[dim]
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            index.append((start, stop, step))
            shape.append(len(range(start, stop, step)))
        else:
            i = int(k)
            if not -n <= i < n:
                raise IndexError(
                    f"index {i} is out of bounds for dimension {dim} with size {n} (tensor of shape {tuple(x.shape)})"
                )
            i %= n
            index.append((i, i + 1, 1))
        dim += 1
    out = x
    if any(s != (0, n, 1) for s, n in zip(index, x.shape)):
        out = bind(M.Slice, x, index=tuple(index))
    shape = tuple(shape)
    return out if out.shape == shape else bind(M.Reshape, out, shape=shape)


def _encode_advanced(x: Tensor, key):
    """(key encoding, index tensors) for the Index / IndexPut primitives."""
    enc, idx = [], []
    dim = 0
    for k in key:
        if k is None:
            enc.append("newaxis")
            continue
        if isinstance(k, slice):
            enc.append(("slice", k.start, k.stop, k.step))
            dim += 1
            continue
        t = _index_tensor(k)
        if t.dtype is dt.bool_:
            expected = x.shape[dim : dim + max(t.ndim, 1)]
            if t.ndim and tuple(t.shape) != tuple(expected):
                raise IndexError(
                    f"the shape of the mask {tuple(t.shape)} does not match the shape {tuple(expected)} of the "
                    f"indexed tensor at dimension {dim}"
                )
            for nz in np.nonzero(t._data if t.ndim else t._data.reshape(1)):
                enc.append("idx")
                idx.append(Tensor._make(nz.astype(np.int64)))
            dim += max(t.ndim, 1)
            continue
        if t.dtype.category != dt.INT:
            raise IndexError(
                f"tensors used as indices must be integer or bool, got {t.dtype.name}; cast with .long()"
            )
        _check_bounds(t, x.shape[dim], dim)
        enc.append("idx")
        idx.append(t)
        dim += 1
    return tuple(enc), tuple(idx)


def _index_tensor(k) -> Tensor:
    if isinstance(k, Tensor):
        return k
    arr = np.asarray(k)
    if arr.dtype == object:
        raise IndexError(f"unsupported index element {k!r}")
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    return Tensor._make(arr)


def _check_bounds(t, n, dim):
    if t._data.__class__ is not np.ndarray:  # a traced index (tg.jit): its value is known only at run time
        return
    if t.numel() and (int(t._data.max()) >= n or int(t._data.min()) < -n):
        bad = int(t._data.max()) if int(t._data.max()) >= n else int(t._data.min())
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {n} (at {user_frame()})")


def getitem(x: Tensor, key) -> Tensor:
    key = _normalize_key(key)
    if all(_is_basic(k) for k in key):
        return _basic_index(x, _expand_ellipsis(key, x.ndim))
    key = _expand_ellipsis(key, x.ndim)
    enc, idx = _encode_advanced(x, key)
    return bind(I.Index, x, *idx, key=enc)


def index_with_key(x: Tensor, enc, idx) -> Tensor:
    return bind(I.Index, x, *idx, key=tuple(enc))


def index_put_key(x: Tensor, enc, idx, values, accumulate=False) -> Tensor:
    """Out-of-place: x with values written (or added) at the encoded advanced index."""
    shape = I.indexed_shape(x.shape, enc, [i.shape for i in idx])
    v = expand_to(_as_operand(values, x.dtype), shape)
    return bind(I.IndexPut, x, v, *idx, key=tuple(enc), accumulate=accumulate)


def setitem(x: Tensor, key, value) -> None:
    """x[key] = value, in place and differentiable (gradients flow to value and to x elsewhere)."""
    key = _normalize_key(key)
    if all(_is_basic(k) for k in key):
        target = _basic_index(x, _expand_ellipsis(key, x.ndim))
        if target is x:
            x.copy_(value)
            return
        target.copy_(value)
        return
    enc, idx = _encode_advanced(x, _expand_ellipsis(key, x.ndim))
    x._inplace(index_put_key(x, enc, idx, value), "__setitem__")


def index_put(x, indices, values, accumulate=False):
    """x with values at the positions of the index tensors (accumulated with accumulate=True).

    >>> tg.index_put(tg.zeros(3), (tg.tensor([0, 2]),), tg.tensor([1.0, 2.0]))
    tensor([1., 0., 2.])
    """
    enc, idx = _encode_advanced(x, list(indices) + [slice(None)] * (x.ndim - len(indices)))
    return index_put_key(x, enc, idx, values, accumulate)


def index_put_(x, indices, values, accumulate=False):
    return x._inplace(index_put(x, indices, values, accumulate), "index_put_")


def _grid(index: Tensor, dim: int):
    """Index tensors addressing, for every position of `index`, itself along dim and its own
    coordinate along every other dim (the gather/scatter addressing)."""
    idx = []
    for a in range(index.ndim):
        if a == dim:
            idx.append(index)
        else:
            shape = [1] * index.ndim
            shape[a] = index.shape[a]
            idx.append(Tensor._make(np.arange(index.shape[a], dtype=np.int64).reshape(shape)))
    return ("idx",) * index.ndim, tuple(idx)


def _check_index(op, x, index, dim, src=None):
    if index.dtype is not dt.int64 and index.dtype.category != dt.INT:
        raise TypeError(f"{op}: index must be an integer tensor, got {index.dtype.name}")
    if index.ndim != x.ndim:
        raise ValueError(
            f"{op}: index {tuple(index.shape)} and input {tuple(x.shape)} must have the same number of dimensions"
        )
    for a in range(x.ndim):
        if a != dim and index.shape[a] > x.shape[a]:
            raise ValueError(f"{op}: index {tuple(index.shape)} is larger than input {tuple(x.shape)} in dimension {a}")
    _check_bounds(index, x.shape[dim], dim)


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j] = x[index[i][j]][j] for dim=0 (and likewise for other dims).

    >>> tg.gather(tg.tensor([[1, 2], [3, 4]]), 1, tg.tensor([[1], [0]]))
    tensor([[2],
            [3]])
    """
    d = norm_dim("gather", dim, x.ndim)
    _check_index("gather", x, index, d)
    enc, idx = _grid(index, d)
    return bind(I.Index, x, *idx, key=enc)


def take_along_dim(x: Tensor, indices: Tensor, dim=None) -> Tensor:
    """x's values at indices along dim (numpy's take_along_axis).

    >>> tg.take_along_dim(tg.tensor([[10, 30, 20]]), tg.tensor([[0, 2]]), 1)
    tensor([[10, 20]])
    """
    if dim is None:
        return gather(x.flatten(), 0, indices.flatten())
    d = norm_dim("take_along_dim", dim, x.ndim)
    shape_x = list(x.shape)
    shape_i = list(indices.shape)
    shape_x[d] = shape_i[d] = 1
    from .elementwise import broadcast_shapes

    common = broadcast_shapes(tuple(shape_x), tuple(shape_i))
    xs = expand_to(x, common[:d] + (x.shape[d],) + common[d + 1 :])
    ids = expand_to(indices, common[:d] + (indices.shape[d],) + common[d + 1 :])
    return gather(xs, d, ids)


def _scatter(op, x, dim, index, src, accumulate):
    d = norm_dim(op, dim, x.ndim)
    _check_index(op, x, index, d)
    if isinstance(src, Tensor):
        src = src[tuple(slice(0, n) for n in index.shape)]
    enc, idx = _grid(index, d)
    return index_put_key(x, enc, idx, src, accumulate)


def scatter(x: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """out = x with out[index[i][j]][j] = src[i][j] (dim=0); reduce='add' accumulates.

    >>> tg.scatter(tg.zeros(3), 0, tg.tensor([2, 0]), tg.tensor([5.0, 7.0]))
    tensor([7., 0., 5.])
    """
    if src is None:
        src = value
    if reduce not in (None, "add", "sum"):
        raise ValueError(f"scatter: reduce must be None or 'add', got {reduce!r}; use scatter_reduce for others")
    return _scatter("scatter", x, dim, index, src, reduce is not None)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """x with src added at index along dim (repeated indices accumulate).

    >>> tg.scatter_add(tg.zeros(3), 0, tg.tensor([0, 0, 2]), tg.tensor([1.0, 2.0, 3.0]))
    tensor([3., 0., 3.])
    """
    return _scatter("scatter_add", x, dim, index, src, True)


_SCATTER_REDUCE = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True):
    """input with the elements of src reduced into it at index along dim: out[index[i][j]][j] op= src[i][j] (dim 0).

    reduce is 'sum', 'prod', 'mean', 'amax' or 'amin'; include_self=False leaves input's own value out of a
    position that receives any element (a position receiving none keeps it). Gradients follow PyTorch: amax and
    amin share the gradient evenly among the elements equal to the result, self included.

    NOTE: computed densely, as a (size along dim) x (index size along dim) membership mask per position: a
    composite of existing ops (traceable, twice differentiable) at the cost of memory.

    >>> tg.zeros(3).scatter_reduce(0, tg.tensor([0, 1, 0]), tg.tensor([1.0, 2.0, 3.0]), "amax", include_self=False)
    tensor([3., 2., 0.])
    """
    from .reduce import amax, amin, prod, sum

    if reduce not in _SCATTER_REDUCE:
        raise ValueError(f"scatter_reduce: reduce must be one of {_SCATTER_REDUCE}, got {reduce!r}")
    d = norm_dim("scatter_reduce", dim, input.ndim)
    _check_index("scatter_reduce", input, index, d)
    if input.ndim == 0:
        input, index, src, d = input.reshape(1), index.reshape(1), src.reshape(1), 0
    src = src[tuple(slice(0, n) for n in index.shape)].to(input.dtype)
    # positions of input beyond index's shape (in the other dims) receive nothing: pad index there with -1
    grow = tuple((0, 0 if a == d else input.shape[a] - index.shape[a]) for a in range(input.ndim))
    idx = index.long().movedim(d, -1)
    idx = Tensor._make(np.pad(idx._data, grow[:d] + grow[d + 1 :] + ((0, 0),), constant_values=-1))
    src = _pad_zeros(src, grow).movedim(d, -1)
    own = input.movedim(d, -1)
    n = input.shape[d]
    member = eq(idx.unsqueeze(-2), Tensor._make(np.arange(n).reshape(n, 1)))  # [..., position, element]
    count = sum(member, -1)
    fold = {"sum": sum, "mean": sum, "prod": prod, "amax": amax, "amin": amin}[reduce]
    values = where(member, src.unsqueeze(-2), _reduce_identity(reduce, input.dtype))
    if include_self:
        values = _cat_last(own.unsqueeze(-1), values)
    out = fold(values, -1)
    if reduce == "mean":
        total = count + 1 if include_self else count
        safe = where(total == 0, 1, total)
        out = out / safe if input.dtype.category == dt.FLOAT else out.div(safe, rounding_mode="floor")
    if not include_self:
        out = where(count > 0, out, own)
    return out.to(input.dtype).movedim(-1, d).reshape(input.shape)


def _reduce_identity(reduce, dtype):
    from .reduce import _extreme_value

    if reduce in ("amax", "amin"):
        return _extreme_value(dtype, reduce == "amax")
    return 1 if reduce == "prod" else 0


def _pad_zeros(x, widths):
    from .shape import pad_constant

    return pad_constant(x, widths, 0) if any(w != (0, 0) for w in widths) else x


def _cat_last(a, b):
    from .shape import cat

    return cat([a.expand(tuple(b.shape[:-1]) + (1,)), b], -1)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of x at index along dim.

    >>> tg.index_select(tg.tensor([[1, 2], [3, 4]]), 0, tg.tensor([1, 1]))
    tensor([[3, 4],
            [3, 4]])
    """
    d = norm_dim("index_select", dim, x.ndim)
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 0-D or 1-D, got shape {tuple(index.shape)}")
    return getitem(x, (slice(None),) * d + (index.reshape(-1),))


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """x with alpha * source added at index along dim.

    >>> tg.index_add(tg.zeros(3), 0, tg.tensor([0, 2]), tg.tensor([1.0, 2.0]))
    tensor([1., 0., 2.])
    """
    d = norm_dim("index_add", dim, x.ndim)
    enc, idx = _encode_advanced(x, [slice(None)] * d + [index] + [slice(None)] * (x.ndim - d - 1))
    return index_put_key(x, enc, idx, source * alpha if alpha != 1 else source, accumulate=True)


def masked_fill(x: Tensor, mask: Tensor, value) -> Tensor:
    """x with value where mask is True.

    >>> tg.masked_fill(tg.tensor([1.0, 2.0]), tg.tensor([True, False]), 0.0)
    tensor([0., 2.])
    """
    if mask.dtype is not dt.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype.name}")
    v = value if isinstance(value, Tensor) else _as_operand(value, x.dtype)
    return where(mask, v.to(x.dtype), x)


def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The elements of x where mask is True, as a vector.

    >>> tg.masked_select(tg.tensor([1, 2, 3]), tg.tensor([True, False, True]))
    tensor([1, 3])
    """
    shape = broadcast_shapes(x.shape, mask.shape)  # the project's helper: its error names both shapes
    return getitem(x.broadcast_to(shape), mask.broadcast_to(shape))


def nonzero(x: Tensor, *, as_tuple=False):
    """The indices of the nonzero elements, (n, ndim) (or a tuple of vectors with as_tuple).

    >>> tg.nonzero(tg.tensor([0, 3, 0, 4]))
    tensor([[1],
            [3]])
    """
    nz = np.nonzero(x._data if x.ndim else x._data.reshape(1))
    if as_tuple:
        return tuple(Tensor._make(a.astype(np.int64)) for a in nz)
    return Tensor._make(np.stack(nz, axis=1).astype(np.int64) if nz else np.zeros((0, 0), np.int64))


def argwhere(x: Tensor) -> Tensor:
    """torch.argwhere: nonzero.

    >>> tg.argwhere(tg.tensor([[0, 1], [1, 0]]))
    tensor([[0, 1],
            [1, 0]])
    """
    return nonzero(x)


# Tensor methods: tensor.name(...) == name(tensor, ...) (attached by ops/__init__.py)
_METHODS = """gather take_along_dim scatter scatter_add scatter_reduce index_select index_add masked_fill masked_select
    nonzero argwhere index_put index_put_"""
# of those, the ones that also get an in-place form tensor.name_(...)
_INPLACE = """masked_fill scatter scatter_add scatter_reduce index_add"""


# *** PyTorch's out-of-place copy / fill / scatter of slices (a clone written in place: differentiable) ***


def _written(x, key, value):
    out = x.clone()
    setitem(out, key, value)
    return out


def _dim_key(x, dim, index, op):
    from .shape import norm_dim

    d = norm_dim(op, dim, x.ndim)
    return (slice(None),) * d + (index,)


def index_copy(x, dim, index, source):
    """x with source's slices copied to the positions index along dim.

    >>> tg.index_copy(tg.zeros(3), 0, tg.tensor([2, 0]), tg.tensor([5.0, 7.0]))
    tensor([7., 0., 5.])
    """
    return _written(x, _dim_key(x, dim, index, "index_copy"), source)


def index_fill(x, dim, index, value):
    """x with value at the positions index along dim.

    >>> tg.index_fill(tg.tensor([[1, 2], [3, 4]]), 1, tg.tensor([0]), -1)
    tensor([[-1,  2],
            [-1,  4]])
    """
    return _written(x, _dim_key(x, dim, index, "index_fill"), value)


def select_scatter(x, src, dim, index):
    """x with src written into the slice at index along dim.

    >>> tg.select_scatter(tg.zeros(2, 2), tg.tensor([1.0, 2.0]), 0, 1)
    tensor([[0., 0.],
            [1., 2.]])
    """
    return _written(x, _dim_key(x, dim, index, "select_scatter"), src)


def slice_scatter(x, src, dim=0, start=None, end=None, step=1):
    """x with src written into the slice start:end:step along dim.

    >>> tg.slice_scatter(tg.zeros(4), tg.tensor([1.0, 2.0]), start=0, step=2)
    tensor([1., 0., 2., 0.])
    """
    return _written(x, _dim_key(x, dim, slice(start, end, step), "slice_scatter"), src)


def diagonal_scatter(x, src, offset=0, dim1=0, dim2=1):
    """x with src written onto its offset-th diagonal in the (dim1, dim2) planes.

    >>> tg.diagonal_scatter(tg.zeros(2, 2), tg.tensor([1.0, 2.0]))
    tensor([[1., 0.],
            [0., 2.]])
    """
    from .shape import norm_dim, permute

    a, b = norm_dim("diagonal_scatter", dim1, x.ndim), norm_dim("diagonal_scatter", dim2, x.ndim)
    rest = [i for i in range(x.ndim) if i not in (a, b)]
    order = rest + [a, b]
    y = permute(x, order).clone()
    n, m = y.shape[-2], y.shape[-1]
    rows = np.arange(max(0, -offset), min(n, m - offset)) if m - offset > 0 else np.arange(0)
    i, j = Tensor._make(rows.astype(np.int64)), Tensor._make((rows + offset).astype(np.int64))
    setitem(y, (Ellipsis, i, j), src)
    return permute(y, [order.index(k) for k in range(x.ndim)])


_METHODS += """ index_copy index_fill select_scatter slice_scatter diagonal_scatter"""
_INPLACE += """ index_copy index_fill"""
