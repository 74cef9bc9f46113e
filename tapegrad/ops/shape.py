"""Movement composites: reshape and views, transposes, expand/repeat, slicing helpers, cat/stack.

Reshape, permute, expand, narrow and basic slicing are views (they share storage with their input).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtype as dt
from ..errors import user_frame
from ..primitives import bind
from ..primitives import movement as M
from ..tensor import Tensor
from ..trace.dims import as_size, known_value
from .elementwise import _as_operand, expand_to


def norm_dim(op: str, dim: int, ndim: int) -> int:
    """dim as a non-negative axis, or an IndexError naming the op and the valid range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: dimension {dim} is out of range for a tensor with {ndim} dimensions "
            f"(expected a value in [{-n}, {n - 1}])"
        )
    return dim % n


def norm_dims(op: str, dims, ndim: int) -> tuple:
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    axes = tuple(sorted({norm_dim(op, d, ndim) for d in dims}))
    if len(axes) != len(tuple(dims)):
        raise ValueError(f"{op}: dimension list {tuple(dims)} repeats a dimension")
    return axes


_SEQUENCES = (list, tuple)


def _sizes(args) -> tuple:
    if len(args) == 1 and args[0].__class__ in _SEQUENCES:  # reshape(x, [2, 3]): the common case, all ints
        if all(a.__class__ is int for a in args[0]):
            return tuple(args[0])
    elif all(a.__class__ is int for a in args):  # reshape(x, 2, 3)
        return args if args.__class__ is tuple else tuple(args)
    if len(args) == 1:
        k = known_value(args[0])  # a shape tensor built from symbolic sizes while tracing: tf.shape(x)
        if k is not None and k.ndim == 1:
            args = list(k)
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = args[0]
    return tuple(as_size(a) for a in args)  # ints, or symbolic sizes (trace/dims.py) while tracing


# *** reshape and views ***


def _infer_shape(op, x, shape):
    numel = x.numel()
    if shape.count(-1) > 1:
        raise ValueError(f"{op}: only one dimension can be inferred (-1), got {shape}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or numel % known:
            raise ValueError(f"{op}: shape {shape} is invalid for input of size {numel} (shape {tuple(x.shape)})")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    if math.prod(shape) != numel:
        raise ValueError(
            f"{op}: cannot reshape {tuple(x.shape)} ({numel} elements) to {shape} ({math.prod(shape)} elements); "
            "sizes must match, use -1 to infer one dimension"
        )
    return shape


def reshape(x: Tensor, *shape) -> Tensor:
    """x with a new shape (one -1 is inferred); a view when the data layout allows, else a copy.

    >>> tg.reshape(tg.arange(6), (2, 3))
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    shape = _infer_shape("reshape", x, _sizes(shape))
    if shape == x.shape:
        return x
    return bind(M.Reshape, x, shape=shape)


def view(x: Tensor, *shape) -> Tensor:
    """Like reshape, but only as a view: an error when the layout needs a copy (use reshape then).

    >>> tg.arange(6).view(3, -1)
    tensor([[0, 1],
            [2, 3],
            [4, 5]])
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, list, tuple)):
        return _view_bits(x, dt.as_dtype(shape[0]))
    out = reshape(x, *shape)
    if out is not x and out._base is None and x._data.size > 1:
        raise RuntimeError(
            f"view: size {tuple(out.shape)} is not compatible with the input's layout (shape {tuple(x.shape)}, "
            "not contiguous after a transpose or slice); use .reshape(...) instead, or .contiguous() first"
        )
    return out


def _view_bits(x, d):
    """view(dtype): the same bytes read as another dtype of the same size (no gradient, shared storage)."""
    if d.itemsize != x.dtype.itemsize:
        raise ValueError(
            f"view(dtype): {x.dtype.name} -> {d.name} changes the element size ({x.dtype.itemsize} -> {d.itemsize} "
            "bytes), which tapegrad does not support; use .to(dtype) to convert the values instead"
        )
    if d is x.dtype:
        return x.detach()
    out = Tensor._make(x._data.view(d.np))
    out._version = x._version
    return out


def view_as(x, other):
    """x reshaped to other's shape.

    >>> tg.arange(4).view_as(tg.zeros(2, 2))
    tensor([[0, 1],
            [2, 3]])
    """
    return view(x, other.shape)


def reshape_as(x, other):
    """x reshaped to other's shape.

    >>> tg.arange(4).reshape_as(tg.zeros(4, 1))
    tensor([[0],
            [1],
            [2],
            [3]])
    """
    return reshape(x, other.shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """x with dims start_dim..end_dim merged into one.

    >>> tg.flatten(tg.zeros(2, 3, 4), 1).shape
    (2, 12)
    """
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = norm_dim("flatten", start_dim, x.ndim), norm_dim("flatten", end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) must not come after end_dim ({end_dim})")
    shape = x.shape[:s] + (math.prod(x.shape[s : e + 1]),) + x.shape[e + 1 :]
    return reshape(x, shape)


def ravel(x):
    """x as one dimension.

    >>> tg.ravel(tg.tensor([[1, 2], [3, 4]]))
    tensor([1, 2, 3, 4])
    """
    return flatten(x)


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    """dim split into the given sizes.

    >>> tg.unflatten(tg.arange(6), 0, (2, 3))
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    d = norm_dim("unflatten", dim, x.ndim)
    sizes = tuple(sizes)
    if -1 in sizes:
        known = math.prod(s for s in sizes if s != -1)
        sizes = tuple(x.shape[d] // known if s == -1 else s for s in sizes)
    if math.prod(sizes) != x.shape[d]:
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to dimension {dim} of size {x.shape[d]}")
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1 :])


def squeeze(x: Tensor, dim=None) -> Tensor:
    """x without its size-1 dims (or only those in dim).

    >>> tg.squeeze(tg.zeros(1, 3, 1)).shape
    (3,)
    >>> tg.zeros(1, 3, 1).squeeze(0).shape
    (3, 1)
    """
    if dim is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    else:
        axes = [a for a in norm_dims("squeeze", dim, x.ndim) if x.shape[a] == 1]
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """x with a size-1 dim inserted at dim.

    >>> tg.unsqueeze(tg.tensor([1, 2]), 1)
    tensor([[1],
            [2]])
    """
    d = norm_dim("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def permute(x: Tensor, *dims) -> Tensor:
    """x with its dims reordered.

    >>> tg.permute(tg.zeros(2, 3, 4), (2, 0, 1)).shape
    (4, 2, 3)
    """
    dims = _sizes(dims)
    perm = tuple(norm_dim("permute", d, x.ndim) for d in dims)
    if sorted(perm) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} must be a permutation of the {x.ndim} dimensions of {tuple(x.shape)}")
    if perm == tuple(range(x.ndim)):
        return x
    return bind(M.Permute, x, perm=perm)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """x with dims dim0 and dim1 swapped.

    >>> tg.transpose(tg.tensor([[1, 2, 3]]), 0, 1)
    tensor([[1],
            [2],
            [3]])
    """
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    a, b = norm_dim("transpose", dim0, x.ndim), norm_dim("transpose", dim1, x.ndim)
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return permute(x, perm)


swapaxes = swapdims = transpose


def t(x: Tensor) -> Tensor:
    """The transpose of a matrix (a vector is returned as is).

    >>> tg.t(tg.tensor([[1, 2], [3, 4]]))
    tensor([[1, 3],
            [2, 4]])
    """
    if x.ndim > 2:
        raise ValueError(f"t() expects a tensor with <= 2 dimensions, got {x.ndim}; use transpose(dim0, dim1) or .mT")
    return transpose(x, 0, -1) if x.ndim == 2 else x


def T(x: Tensor) -> Tensor:
    return permute(x, tuple(range(x.ndim - 1, -1, -1)))


def mT(x: Tensor) -> Tensor:
    if x.ndim < 2:
        raise ValueError(f"mT: needs at least 2 dimensions, got shape {tuple(x.shape)}")
    return transpose(x, -2, -1)


def movedim(x: Tensor, source, destination) -> Tensor:
    """x with the source dims moved to the destination positions.

    >>> tg.movedim(tg.zeros(2, 3, 4), 0, -1).shape
    (3, 4, 2)
    """
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    src = [norm_dim("movedim", s, x.ndim) for s in src]
    dst = [norm_dim("movedim", d, x.ndim) for d in dst]
    rest = [i for i in range(x.ndim) if i not in src]
    perm = [None] * x.ndim
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(rest)
    return permute(x, [p if p is not None else next(it) for p in perm])


moveaxis = movedim


def expand(x: Tensor, *sizes) -> Tensor:
    """Broadcast x to sizes without copying; -1 keeps a dimension's size.

    >>> tg.tensor([[1], [2]]).expand(2, 3)
    tensor([[1, 1, 1],
            [2, 2, 2]])
    """
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be >= the tensor's dimensions ({x.ndim})")
    lead = len(sizes) - x.ndim
    if any(s < 0 for s in sizes[:lead]) or any(s < -1 for s in sizes):
        raise ValueError(
            f"expand: sizes {sizes} are invalid for a tensor of shape {tuple(x.shape)}: -1 (keep the size) is only "
            "allowed for existing dimensions, and sizes cannot be negative"
        )
    shape = tuple(x.shape[i - lead] if (s == -1 and i >= lead) else s for i, s in enumerate(sizes))
    for i in range(x.ndim):
        if x.shape[i] != 1 and x.shape[i] != shape[lead + i]:
            raise ValueError(
                f"expand: the size of dimension {i} ({x.shape[i]}) must match the target {shape[lead + i]} "
                f"(or be 1); cannot expand {tuple(x.shape)} to {shape}"
            )
    return expand_to(x, shape)


def expand_as(x, other):
    """x broadcast to other's shape (a view).

    >>> tg.tensor([1, 2]).expand_as(tg.zeros(2, 2))
    tensor([[1, 2],
            [1, 2]])
    """
    return expand(x, other.shape)


def broadcast_to(x, shape):
    """x broadcast to shape (a view).

    >>> tg.broadcast_to(tg.tensor([1, 2]), (2, 2))
    tensor([[1, 2],
            [1, 2]])
    """
    return expand(x, shape)


def broadcast_tensors(*tensors):
    """The tensors broadcast to their common shape.

    >>> [t.shape for t in tg.broadcast_tensors(tg.zeros(2, 1), tg.zeros(3))]
    [(2, 3), (2, 3)]
    """
    from .elementwise import broadcast_shapes

    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand_to(t, shape) for t in tensors)


def repeat(x: Tensor, *sizes) -> Tensor:
    """Tile x: repeat(2, 3) on a (a, b) tensor gives (2a, 3b) (PyTorch's repeat, numpy's tile).

    >>> tg.tensor([1, 2]).repeat(2)
    tensor([1, 2, 1, 2])
    """
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: give at least {x.ndim} repeat counts (one per dimension), got {sizes}")
    x = reshape(x, (1,) * (len(sizes) - x.ndim) + x.shape)
    inter = tuple(v for n in x.shape for v in (1, n))
    big = tuple(v for r, n in zip(sizes, x.shape) for v in (r, n))
    out = expand_to(reshape(x, inter), big)
    return _fresh(reshape(out, tuple(r * n for r, n in zip(sizes, x.shape))))


def _fresh(out: Tensor) -> Tensor:
    """out as a tensor with its own storage: ops that copy in PyTorch (repeat, roll, cat, ...) must not
    hand back a view of their input when there happened to be nothing to move."""
    from .elementwise import clone

    return clone(out) if out._base is not None else out


def tile(x: Tensor, dims) -> Tensor:
    """x repeated along each dim (numpy's tile).

    >>> tg.tile(tg.tensor([1, 2]), (2,))
    tensor([1, 2, 1, 2])
    """
    dims = tuple(dims)
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


def repeat_interleave(x: Tensor, repeats: int, dim=None) -> Tensor:
    """Each element repeated `repeats` times along dim.

    >>> tg.repeat_interleave(tg.tensor([1, 2]), 2)
    tensor([1, 1, 2, 2])
    """
    if not isinstance(repeats, int):
        raise TypeError("repeat_interleave: only an integer number of repeats is supported")
    if dim is None:
        x, dim = flatten(x), 0
    d = norm_dim("repeat_interleave", dim, x.ndim)
    y = unsqueeze(x, d + 1)
    y = expand_to(y, y.shape[: d + 1] + (repeats,) + y.shape[d + 2 :])
    return _fresh(reshape(y, x.shape[:d] + (x.shape[d] * repeats,) + x.shape[d + 1 :]))


def flip(x: Tensor, dims) -> Tensor:
    """x reversed along the given dims.

    >>> tg.flip(tg.tensor([[1, 2], [3, 4]]), (0,))
    tensor([[3, 4],
            [1, 2]])
    """
    axes = norm_dims("flip", dims, x.ndim)
    return bind(M.Flip, x, axes=axes) if axes else x


def fliplr(x):
    """x reversed along dim 1.

    >>> tg.fliplr(tg.tensor([[1, 2], [3, 4]]))
    tensor([[2, 1],
            [4, 3]])
    """
    return flip(x, 1)


def flipud(x):
    """x reversed along dim 0.

    >>> tg.flipud(tg.tensor([[1, 2], [3, 4]]))
    tensor([[3, 4],
            [1, 2]])
    """
    return flip(x, 0)


def slice_along(x: Tensor, dim: int, start: int, stop: int, step: int = 1) -> Tensor:
    """x[..., start:stop:step, ...] on one dimension, as a view."""
    index = tuple((0, n, 1) if i != dim else slice(start, stop, step).indices(n) for i, n in enumerate(x.shape))
    return bind(M.Slice, x, index=index)


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The slice [start, start + length) of dim (a view).

    >>> tg.narrow(tg.arange(5), 0, 1, 3)
    tensor([1, 2, 3])
    """
    d = norm_dim("narrow", dim, x.ndim)
    n = x.shape[d]
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise IndexError(f"narrow: start {start} + length {length} exceeds dimension {dim} of size {n}")
    return slice_along(x, d, start, start + length)


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """x shifted circularly by shifts along dims (flattened when dims is None).

    >>> tg.roll(tg.tensor([1, 2, 3]), 1)
    tensor([3, 1, 2])
    """
    if dims is None:
        return reshape(roll(flatten(x), shifts, 0), x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    original = x
    for s, d in zip(shifts, dims):
        d = norm_dim("roll", d, x.ndim)
        n = x.shape[d]
        if n == 0:
            continue
        s %= n
        if s:
            x = cat([slice_along(x, d, n - s, n), slice_along(x, d, 0, n - s)], d)
    return x if x is not original else _fresh_copy(x)  # roll always copies, also by 0


def _fresh_copy(x):
    from .elementwise import clone

    return clone(x)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """x split into `chunks` pieces along dim (the last may be smaller).

    >>> tg.chunk(tg.arange(5), 2)
    (tensor([0, 1, 2]), tensor([3, 4]))
    """
    d = norm_dim("chunk", dim, x.ndim)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    if x.shape[d] == 0:  # as in PyTorch: `chunks` empty pieces
        return tuple(slice_along(x, d, 0, 0) for _ in range(chunks))
    return split(x, -(-x.shape[d] // chunks), d)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """x split into pieces of a size (or a list of sizes) along dim.

    >>> tg.split(tg.arange(5), [2, 3])
    (tensor([0, 1]), tensor([2, 3, 4]))
    """
    d = norm_dim("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} sum to {sum(sizes)}, but dimension {dim} has size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(slice_along(x, d, start, start + s))
        start += s
    return tuple(out)


def tensor_split(x, indices_or_sections, dim=0):
    """x split into n nearly equal pieces, or at the given indices, along dim.

    >>> tg.tensor_split(tg.arange(5), 3)
    (tensor([0, 1]), tensor([2, 3]), tensor([4]))
    """
    d = norm_dim("tensor_split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        bounds = [0] + [min(max(i, 0), n) for i in indices_or_sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(bounds, bounds[1:])]
    return split(x, sizes, d)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices of x along dim, as a tuple.

    >>> tg.unbind(tg.tensor([[1, 2], [3, 4]]))
    (tensor([1, 2]), tensor([3, 4]))
    """
    d = norm_dim("unbind", dim, x.ndim)
    return tuple(squeeze(slice_along(x, d, i, i + 1), d) for i in range(x.shape[d]))


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension (dtypes promoted; 1-D empty tensors fit any shape).

    >>> tg.cat([tg.tensor([1, 2]), tg.tensor([3])])
    tensor([1, 2, 3])
    """
    tensors = [t for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cat: element {i} is a {type(t).__name__}, expected a Tensor")
    keep = [not _legacy_empty(t) for t in tensors]
    keep = keep if any(keep) else [True] * len(tensors)  # all 1-D and empty: an ordinary cat
    nonempty = [t for t, k in zip(tensors, keep) if k]
    ndim = nonempty[0].ndim
    if ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    d = norm_dim("cat", dim, ndim)
    dtype = nonempty[0].dtype
    for t in nonempty[1:]:
        dtype = dt.promote(dtype, t.dtype)
    parts = [_as_operand(t, dtype) for t in nonempty]
    for t in parts:
        if t.ndim != ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, parts[0].shape)) if i != d):
            shapes = ", ".join(str(tuple(p.shape)) for p in parts)
            raise ValueError(
                f"cat: tensors must have the same shape except in dimension {dim}, got {shapes} (at {user_frame()})"
            )
    # PyTorch's legacy rule lets a 1-D empty tensor join tensors of any rank. Reshaped to an empty slab of the
    # result's shape it stays an operand, so it gets its (empty, zero) gradient as every other input does.
    slab = tuple(0 if i == d else n for i, n in enumerate(parts[0].shape))
    checked = iter(parts)
    parts = [next(checked) if k else _as_operand(t, dtype).reshape(slab) for t, k in zip(tensors, keep)]
    if len(parts) == 1:
        return _fresh_copy(parts[0]) if parts[0] is nonempty[0] else parts[0]  # cat always copies
    return bind(M.Concat, *parts, axis=d)


def _legacy_empty(t) -> bool:
    return t.ndim == 1 and t.shape[0] == 0


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """The tensors stacked along a new dim.

    >>> tg.stack([tg.tensor([1, 2]), tg.tensor([3, 4])], 1)
    tensor([[1, 3],
            [2, 4]])
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    d = norm_dim("stack", dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def hstack(tensors):
    """Concatenation along dim 1 (dim 0 for vectors).

    >>> tg.hstack([tg.tensor([1, 2]), tg.tensor([3])])
    tensor([1, 2, 3])
    """
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenation along dim 0, vectors as rows.

    >>> tg.vstack([tg.tensor([1, 2]), tg.tensor([3, 4])])
    tensor([[1, 2],
            [3, 4]])
    """
    return cat([t if t.ndim > 1 else unsqueeze(t, 0) for t in tensors], 0)


def pad_constant(x: Tensor, widths, value=0.0) -> Tensor:
    """Pad with a constant; widths ((before, after), ...) per dim; negative widths crop."""
    crop = tuple((max(-a, 0), n - max(-b, 0), 1) for n, (a, b) in zip(x.shape, widths))
    if any(c != (0, n, 1) for c, n in zip(crop, x.shape)):
        x = bind(M.Slice, x, index=crop)
    pos = tuple((max(a, 0), max(b, 0)) for a, b in widths)
    if all(p == (0, 0) for p in pos):
        return x
    return bind(M.Pad, x, widths=pos, value=value)


def _tri_mask(x, diagonal, upper):
    n, m = x.shape[-2], x.shape[-1]
    rows = np.arange(n)[:, None]
    cols = np.arange(m)[None, :]
    keep = (cols - rows >= diagonal) if upper else (cols - rows <= diagonal)
    return Tensor._make(keep)


def _unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Tensor.unfold (a method only: torch.nn.functional.unfold is the image one): every window of `size` elements along `dimension`, `step` apart, as a new last dimension
    (a copy, where PyTorch returns a view).

    >>> tg.arange(5).unfold(0, 2, 2)
    tensor([[0, 1],
            [2, 3]])
    """
    if x.ndim == 0:  # PyTorch: a 0-d tensor has one window of size 1
        return _unfold(x.reshape(1), dimension, size, step).reshape(1)
    d = norm_dim("unfold", dimension, x.ndim)
    n = x.shape[d]
    if size > n or size < 0 or step <= 0:
        raise ValueError(
            f"unfold: size {size} must be at most the size {n} of dimension {dimension}, and step {step} positive"
        )
    count = (n - size) // step + 1
    starts = np.arange(count)[:, None] * step + np.arange(size)[None, :]
    y = x.index_select(d, Tensor._make(starts.reshape(-1)))
    return y.unflatten(d, (count, size)).movedim(d + 1, -1)


def _zero(x):
    """A 0-d zero of x's dtype: a Python 0 would promote a bool tensor to int64."""
    return Tensor._make(np.zeros((), x.dtype.np))


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """x with the elements below the diagonal-th diagonal zeroed; the dtype is kept (bool stays bool).

    >>> tg.triu(tg.ones(2, 2, dtype=tg.bool))
    tensor([[ True,  True],
            [False,  True]])
    """
    from .elementwise import where

    return where(_tri_mask(x, diagonal, True), x, _zero(x))


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (below the diagonal-th diagonal zeroed above).

    >>> tg.tril(tg.ones(3, 3, dtype=tg.int64))
    tensor([[1, 0, 0],
            [1, 1, 0],
            [1, 1, 1]])
    """
    from .elementwise import where

    return where(_tri_mask(x, diagonal, False), x, _zero(x))


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, as a new last dimension (a copy, not a view).

    >>> tg.diagonal(tg.tensor([[1, 2], [3, 4]]))
    tensor([1, 4])
    """
    a, b = norm_dim("diagonal", dim1, x.ndim), norm_dim("diagonal", dim2, x.ndim)
    if a == b:
        raise ValueError("diagonal: dim1 and dim2 must differ")
    rest = [i for i in range(x.ndim) if i not in (a, b)]
    y = permute(x, rest + [a, b])
    n, m = y.shape[-2], y.shape[-1]
    rows = np.arange(max(0, -offset), min(n, m - offset)) if m - offset > 0 else np.arange(0)
    from .index import index_with_key

    i = Tensor._make(rows.astype(np.int64))
    j = Tensor._make((rows + offset).astype(np.int64))
    return index_with_key(y, ("ellipsis", "idx", "idx"), (i, j))


def diag(x: Tensor, diagonal_: int = 0) -> Tensor:
    """A vector's diagonal matrix, or a matrix's diagonal.

    >>> tg.diag(tg.tensor([1, 2]))
    tensor([[1, 0],
            [0, 2]])
    """
    if x.ndim == 2:
        return diagonal(x, diagonal_)
    if x.ndim != 1:
        raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {tuple(x.shape)}")
    n = x.shape[0] + abs(diagonal_)
    from .creation import zeros
    from .index import index_put_key

    rows = np.arange(x.shape[0]) + max(-diagonal_, 0)
    i, j = Tensor._make(rows.astype(np.int64)), Tensor._make((rows + diagonal_).astype(np.int64))
    return index_put_key(zeros(n, n, dtype=x.dtype), ("idx", "idx"), (i, j), x)


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """x itself (tapegrad tensors are always usable as contiguous).

    >>> tg.tensor([1, 2]).contiguous()
    tensor([1, 2])
    """
    from .elementwise import clone

    return x if x._data.flags.c_contiguous else clone(x)


def is_contiguous(x: Tensor, memory_format=None) -> bool:
    """Whether x is laid out contiguously.

    >>> tg.zeros(2, 3).is_contiguous()
    True
    """
    return bool(x._data.flags.c_contiguous)


# Tensor methods: tensor.name(...) == name(tensor, ...) (attached by ops/__init__.py)
_METHODS = """reshape view view_as reshape_as flatten ravel unflatten squeeze unsqueeze permute transpose swapaxes
    swapdims t movedim moveaxis expand expand_as broadcast_to repeat tile repeat_interleave flip fliplr
    flipud narrow roll chunk split tensor_split unbind triu tril diagonal diag contiguous is_contiguous"""


# *** more of PyTorch's shape functions, composed of the ones above ***


def _tensors_arg(tensors):
    """f(t), f(t1, t2) and f([t1, t2]): (the tensors, whether one tensor alone was given)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0]), False
    return list(tensors), len(tensors) == 1


def _at_least(shape_of, tensors):
    ts, single = _tensors_arg(tensors)
    out = [t if t.ndim >= len(shape_of(t)) else t.reshape(shape_of(t)) for t in ts]
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (a 0-d tensor becomes (1,)).

    >>> tg.atleast_1d(tg.tensor(3))
    tensor([3])
    """
    return _at_least(lambda t: (1,) if t.ndim == 0 else tuple(t.shape), tensors)


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions: (n,) becomes (1, n).

    >>> tg.atleast_2d(tg.tensor([1, 2]))
    tensor([[1, 2]])
    """
    return _at_least(lambda t: {0: (1, 1), 1: (1,) + tuple(t.shape)}.get(t.ndim, tuple(t.shape)), tensors)


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1).

    >>> tg.atleast_3d(tg.tensor([1, 2])).shape
    (1, 2, 1)
    """
    shapes = {0: lambda t: (1, 1, 1), 1: lambda t: (1, t.shape[0], 1), 2: lambda t: tuple(t.shape) + (1,)}
    return _at_least(lambda t: shapes[t.ndim](t) if t.ndim < 3 else tuple(t.shape), tensors)


def column_stack(tensors):
    """The tensors side by side as columns (vectors become (n, 1) first).

    >>> tg.column_stack([tg.tensor([1, 2]), tg.tensor([3, 4])])
    tensor([[1, 3],
            [2, 4]])
    """
    return cat([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors], 1)


def row_stack(tensors):
    """torch.row_stack: vstack.

    >>> tg.row_stack([tg.tensor([1, 2]), tg.tensor([3, 4])])
    tensor([[1, 2],
            [3, 4]])
    """
    return vstack(tensors)


def dstack(tensors):
    """The tensors stacked depthwise (along dim 2, after atleast_3d).

    >>> tg.dstack([tg.tensor([1, 2]), tg.tensor([3, 4])])
    tensor([[[1, 3],
             [2, 4]]])
    """
    return cat(list(atleast_3d(list(tensors))), 2)


def _split_along(op, x, sections, dim, need):
    if x.ndim < need:
        raise ValueError(f"{op}: needs a tensor of at least {need} dimensions, got shape {tuple(x.shape)}")
    if isinstance(sections, int) and x.shape[dim] % sections:
        raise ValueError(f"{op}: dimension {dim} of size {x.shape[dim]} does not split into {sections} equal parts")
    return tensor_split(x, sections, dim)


def hsplit(x, sections):
    """x split horizontally (dim 1; dim 0 for a vector) into equal parts or at indices.

    >>> tg.hsplit(tg.arange(4), 2)
    (tensor([0, 1]), tensor([2, 3]))
    """
    return _split_along("hsplit", x, sections, 0 if x.ndim == 1 else 1, 1)


def vsplit(x, sections):
    """x split vertically (dim 0) into equal parts or at indices.

    >>> tg.vsplit(tg.arange(4).reshape(2, 2), 2)
    (tensor([[0, 1]]), tensor([[2, 3]]))
    """
    return _split_along("vsplit", x, sections, 0, 2)


def dsplit(x, sections):
    """x split depthwise (dim 2) into equal parts or at indices.

    >>> [t.shape for t in tg.dsplit(tg.zeros(1, 1, 4), 2)]
    [(1, 1, 2), (1, 1, 2)]
    """
    return _split_along("dsplit", x, sections, 2, 3)


def rot90(x, k=1, dims=(0, 1)):
    """x rotated by k quarter turns in the plane of dims (from the first towards the second).

    >>> tg.rot90(tg.tensor([[1, 2], [3, 4]]))
    tensor([[2, 4],
            [1, 3]])
    """
    d0, d1 = (norm_dim("rot90", d, x.ndim) for d in dims)
    if d0 == d1:
        raise ValueError(f"rot90: the two dims must differ, got {tuple(dims)}")
    k %= 4
    if k == 1:
        return transpose(flip(x, (d1,)), d0, d1)
    if k == 2:
        return flip(x, (d0, d1))
    if k == 3:
        return transpose(flip(x, (d0,)), d0, d1)
    return x.clone()


def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    """Matrices with x's last dimension on their offset-th diagonal, in the planes (dim1, dim2) of the result.

    >>> tg.diag_embed(tg.tensor([[1, 2]]))
    tensor([[[1, 0],
             [0, 2]]])
    """
    from .creation import zeros
    from .index import index_put_key

    n = x.shape[-1] + abs(offset)
    rows = np.arange(x.shape[-1]) + max(-offset, 0)
    i, j = Tensor._make(rows.astype(np.int64)), Tensor._make((rows + offset).astype(np.int64))
    out = index_put_key(zeros(tuple(x.shape[:-1]) + (n, n), dtype=x.dtype), ("ellipsis", "idx", "idx"), (i, j), x)
    nd = x.ndim + 1
    a, b = norm_dim("diag_embed", dim1, nd), norm_dim("diag_embed", dim2, nd)
    return movedim(out, (nd - 2, nd - 1), (a, b))


def diagflat(x, offset=0):
    """The flattened x on the offset-th diagonal of a square matrix.

    >>> tg.diagflat(tg.tensor([[1, 2]]))
    tensor([[1, 0],
            [0, 2]])
    """
    return diag(x.reshape(-1), offset)


def block_diag(*tensors):
    """The tensors (0-d, 1-d as one row, or 2-d) as blocks along the diagonal of one matrix.

    >>> tg.block_diag(tg.tensor([[1, 2]]), tg.tensor([[3], [4]]))
    tensor([[1, 2, 0],
            [0, 0, 3],
            [0, 0, 4]])
    """
    from .creation import zeros

    blocks = [t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1 else t for t in tensors]
    if any(b.ndim != 2 for b in blocks):
        raise ValueError("block_diag: expects tensors of at most 2 dimensions")
    d = dt.result_type(*blocks) if blocks else dt.get_default_dtype()
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        rows.append(cat([zeros(r, left, dtype=d), b.to(d), zeros(r, width - left - c, dtype=d)], 1))
        left += c
    return cat(rows, 0) if rows else zeros(0, 0, dtype=d)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: indexing 'ij' (matrix, PyTorch's default) or 'xy' (Cartesian).

    >>> tg.meshgrid(tg.tensor([1, 2]), tg.tensor([3, 4, 5]))[1]
    tensor([[3, 4, 5],
            [3, 4, 5]])
    """
    ts, _ = _tensors_arg(tensors)
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    order = [1, 0] + list(range(2, len(ts))) if swap else list(range(len(ts)))
    shape = tuple(ts[i].shape[0] for i in order)
    out = []
    for k, t in enumerate(ts):
        pos = order.index(k)
        view = [1] * len(ts)
        view[pos] = t.shape[0]
        out.append(t.reshape(tuple(view)).expand(shape))
    return tuple(out)


def cartesian_prod(*tensors):
    """All combinations of the elements of the 1-D tensors, one per row.

    >>> tg.cartesian_prod(tg.tensor([1, 2]), tg.tensor([3, 4]))
    tensor([[1, 3],
            [1, 4],
            [2, 3],
            [2, 4]])
    """
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


def select(x, dim, index):
    """The slice of x at index along dim, without that dim (x.select(0, i) is x[i]).

    >>> tg.select(tg.tensor([[1, 2], [3, 4]]), 1, -1)
    tensor([2, 4])
    """
    d = norm_dim("select", dim, x.ndim)
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} is out of range for dimension {dim} of size {n}")
    return squeeze(narrow(x, d, index % n, 1), d)


def diff(x, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along dim (bool: logical xor), with optional prepended / appended values.

    >>> tg.diff(tg.tensor([1, 4, 9, 16]))
    tensor([3, 5, 7])
    """
    d = norm_dim("diff", dim, x.ndim)
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        parts = [p if isinstance(p, Tensor) else _as_operand(p, x.dtype) for p in parts]
        parts = [p.expand(tuple(x.shape[:d]) + (1,) + tuple(x.shape[d + 1 :])) if p.ndim == 0 else p for p in parts]
        x = cat(parts, d)
    for _ in range(n):
        m = x.shape[d]
        a, b = narrow(x, d, 1, max(m - 1, 0)), narrow(x, d, 0, max(m - 1, 0))
        x = (a != b) if x.dtype is dt.bool_ else a - b
    return x


def take(x, index):
    """x's elements at the positions of index in the flattened x (the result has index's shape).

    >>> tg.take(tg.tensor([[1, 2], [3, 4]]), tg.tensor([0, 3]))
    tensor([1, 4])
    """
    return x.reshape(-1)[index]


_METHODS += """ rot90 diag_embed diagflat select diff take hsplit vsplit dsplit"""
