"""TensorFlow's names and signatures over tapegrad's composites (axis=, keepdims=, TF dtype inference).

Depends on ops/ and nn/functional.py only: every function here is a thin adapter, so it is
differentiable and traceable like the PyTorch-named op it calls. Functions whose TF meaning
differs from PyTorch's (transpose, gather, sort, norm, pad, softmax, argmax, split, ...) are
exported under `tg.tf` only; the rest also at the top level (see docs/three-idioms.md).
"""

from __future__ import annotations

import builtins  # this module defines TF's range()

import numpy as np

from .. import ops
from ..dtype import DType, as_dtype, bool_, from_numpy_dtype, get_default_dtype, int32, int64
from ..tensor import Tensor
from ..trace.dims import as_size, has_dims, known_value
from .nest import map_structure

# *** creation and conversion ***


def _tf_infer_dtype(value) -> DType:
    """TensorFlow's inference for Python data: float -> float32, int -> int32, bool -> bool; numpy keeps its dtype."""
    if value.__class__ is np.ndarray:  # tf.constant(array): its own dtype, at once
        return from_numpy_dtype(value.dtype)
    arr = np.asarray(value)
    python = not isinstance(value, (np.ndarray, np.generic))
    if arr.dtype == np.float64 and python:
        return get_default_dtype()
    if arr.dtype == np.int64 and python:
        fits = arr.size == 0 or (arr.min() >= -(2**31) and arr.max() < 2**31)
        return int32 if fits else int64
    return from_numpy_dtype(arr.dtype)


def constant(value, dtype=None, shape=None, name=None) -> Tensor:
    """A tensor holding a copy of value; Python floats become float32 and ints int32, as in TensorFlow.

    With shape=, a scalar value fills the shape and a value with as many elements is reshaped.

    >>> import tapegrad as tg
    >>> tg.constant([[1.0, 2.0], [3.0, 4.0]]) + 1
    tensor([[2., 3.],
            [4., 5.]])
    """
    if isinstance(value, Tensor):
        out = value.detach().clone() if dtype is None else value.detach().to(dtype).clone()
    else:
        if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
            value = np.stack([np.asarray(v) for v in value])
        out = ops.tensor(value, dtype=as_dtype(dtype) if dtype is not None else _tf_infer_dtype(value))
    if shape is None:
        return out
    shape = tuple(int(s) for s in shape)
    if out.numel() == 1:
        return out.reshape(()).expand(shape).clone()
    if out.numel() == int(np.prod(shape)):
        return out.reshape(shape)
    raise ValueError(
        f"constant: a value with {out.numel()} elements (shape {tuple(out.shape)}) cannot fill shape {shape}; "
        "give a scalar to fill it or a value with as many elements"
    )


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> Tensor:
    """value as a tensor: a Tensor is returned as is (its dtype must match dtype=), anything else is a constant."""
    if isinstance(value, Tensor):
        if dtype is not None and as_dtype(dtype) is not value.dtype:
            raise TypeError(
                f"convert_to_tensor: the tensor has dtype {value.dtype.name} but dtype={as_dtype(dtype).name} was "
                "requested; convert it explicitly with tg.cast(value, dtype)"
            )
        return value
    if dtype is None and dtype_hint is not None:
        try:
            return constant(value, dtype=dtype_hint)
        except (TypeError, ValueError):
            pass
    return constant(value, dtype=dtype)


def zeros(shape, dtype=None, name=None) -> Tensor:
    return ops.zeros(*_shape(shape), dtype=dtype)


def ones(shape, dtype=None, name=None) -> Tensor:
    return ops.ones(*_shape(shape), dtype=dtype)


def fill(dims, value, name=None) -> Tensor:
    return constant(value, shape=_shape(dims))


def zeros_like(input, dtype=None, name=None) -> Tensor:
    return ops.zeros_like(input, dtype=dtype)


def ones_like(input, dtype=None, name=None) -> Tensor:
    return ops.ones_like(input, dtype=dtype)


def range(start, limit=None, delta=1, dtype=None, name="range") -> Tensor:
    """Numbers from start up to (not including) limit: tf.range, whose end is exclusive (torch.range's is not)."""
    if limit is None:
        start, limit = 0, start
    out = ops.arange(start, limit, delta)
    if dtype is not None:
        return out.to(dtype)
    floats = any(
        isinstance(v, float) or (isinstance(v, Tensor) and v.is_floating_point()) for v in (start, limit, delta)
    )
    return out.to(get_default_dtype() if floats else int32)


def _shape(shape) -> tuple:
    known = known_value(shape)  # tf.shape(x) of a traced x with None dimensions: sizes that are symbols
    if known is not None:
        shape = list(known.reshape(-1))
    elif isinstance(shape, Tensor):
        shape = shape.tolist()
    if isinstance(shape, int):
        shape = (shape,)
    return tuple(as_size(s) for s in shape)


def identity(input, name=None) -> Tensor:
    return input.clone()


def cast(x, dtype, name=None) -> Tensor:
    return convert_to_tensor(x).to(dtype)


def shape(input, out_type=None, name=None) -> Tensor:
    """The shape as a 1-D tensor; while tracing with None dimensions its entries are computed sizes."""
    if has_dims(input.shape):
        return ops.stack([ops.as_tensor(n, dtype=int64) if type(n) is int else n for n in input.shape]).to(
            out_type or int32)
    return ops.tensor(list(input.shape), dtype=out_type or int32)


def rank(input, name=None) -> Tensor:
    return ops.tensor(input.ndim, dtype=int32)


def size(input, out_type=None, name=None) -> Tensor:
    return ops.tensor(input.numel(), dtype=out_type or int32)


# *** shape ***


def reshape(tensor, shape, name=None) -> Tensor:
    return ops.reshape(tensor, _shape(shape))


def expand_dims(input, axis, name=None) -> Tensor:
    """input with a new axis of size 1 at position axis (negative counts from the end of the result)."""
    return ops.unsqueeze(input, int(axis))


def concat(values, axis=0, name=None, *, dim=None) -> Tensor:
    """Join tensors along an existing axis: tg.concat(values, axis) and PyTorch's tg.concat(tensors, dim)."""
    return ops.cat(list(values), axis if dim is None else dim)


def stack(values, axis=0, name=None) -> Tensor:
    return ops.stack(list(values), axis)


def unstack(value, num=None, axis=0, name=None) -> list:
    return list(ops.unbind(value, axis))


def squeeze(input, axis=None, name=None) -> Tensor:
    if axis is None:
        return ops.squeeze(input)
    out = input
    for a in sorted((_axes_list(axis, input.ndim)), reverse=True):
        if input.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has size {input.shape[a]}, not 1 (input shape {tuple(input.shape)})")
        out = ops.squeeze(out, a)
    return out


def transpose(a, perm=None, conjugate=False, name="transpose") -> Tensor:
    """TF transpose: a permutation of all axes (reversed by default), not PyTorch's swap of two dims."""
    if perm is None:
        perm = tuple(reversed(builtins.range(a.ndim)))
    return ops.permute(a, *[int(p) for p in perm])


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None) -> Tensor:
    """TF gather: slices of params at indices along axis (indices of any shape replace that axis)."""
    if batch_dims:
        raise ValueError("gather: batch_dims other than 0 is not supported; loop over the batch or use tg.gather")
    axis = 0 if axis is None else int(axis) % params.ndim
    idx = convert_to_tensor(indices)
    flat = ops.index_select(params, axis, idx.reshape(-1).long())
    return flat.reshape(tuple(params.shape[:axis]) + tuple(idx.shape) + tuple(params.shape[axis + 1 :]))


def split(value, num_or_size_splits, axis=0, num=None, name="split") -> list:
    """TF split: an int means that many equal pieces (PyTorch's int means the size of each piece)."""
    if isinstance(num_or_size_splits, int):
        n = value.shape[axis]
        if n % num_or_size_splits:
            raise ValueError(f"split: axis {axis} of size {n} cannot be split into {num_or_size_splits} equal pieces")
        return list(ops.split(value, n // num_or_size_splits, axis))
    return list(ops.split(value, [int(s) for s in num_or_size_splits], axis))


def repeat(input, repeats, axis=None, name=None) -> Tensor:
    return ops.repeat_interleave(input, int(repeats), axis)


def tile(input, multiples, name=None) -> Tensor:
    return ops.tile(input, tuple(int(m) for m in multiples))


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None) -> Tensor:
    """TF pad: paddings is [[before, after], ...] per axis, first axis first (PyTorch's pad lists the last axis first)."""
    from ..nn.functional import pad as torch_pad

    pairs = np.asarray(paddings.tolist() if isinstance(paddings, Tensor) else paddings, dtype=np.int64)
    if pairs.shape != (tensor.ndim, 2):
        raise ValueError(
            f"pad: paddings must have shape ({tensor.ndim}, 2), one [before, after] per axis; got {pairs.shape}"
        )
    flat = [int(v) for pair in pairs[::-1] for v in pair]
    mode = mode.lower()
    return torch_pad(tensor, flat, mode=mode, value=constant_values if mode == "constant" else None)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None) -> Tensor:
    from ..nn.functional import one_hot as torch_one_hot

    d = as_dtype(dtype) if dtype is not None else get_default_dtype()
    hot = torch_one_hot(convert_to_tensor(indices).long(), int(depth)).to(d)
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    out = hot * (on - off) + off if (on, off) != (1, 0) else hot
    return out if axis in (None, -1) else ops.movedim(out, -1, axis)


# *** reductions ***


def _axes_list(axis, ndim):
    if isinstance(axis, Tensor):
        axis = axis.tolist()
    axes = [axis] if isinstance(axis, int) else list(axis)
    return [int(a) % ndim if ndim else 0 for a in axes]


def _reduce_dims(axis, x):
    if axis is None:
        return None
    return tuple(_axes_list(axis, x.ndim))


def _keep_int(x, out):
    """TF reductions keep an integer input's dtype (PyTorch's sum widens to int64)."""
    return out.to(x.dtype) if out.dtype is not x.dtype and not x.is_floating_point() and x.dtype is not bool_ else out


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Sum over axis (an int, a list, or None for all axes).

    >>> import tapegrad as tg
    >>> x = tg.constant([[1.0, 2.0], [3.0, 4.0]])
    >>> tg.reduce_sum(tg.matmul(x, x)).numpy()
    array(54., dtype=float32)
    """
    x = convert_to_tensor(input_tensor)
    return _keep_int(x, ops.sum(x, _reduce_dims(axis, x), keepdims))


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Mean over axis; an integer input gives an integer mean (truncated), as in TensorFlow."""
    x = convert_to_tensor(input_tensor)
    if x.is_floating_point():
        return ops.mean(x, _reduce_dims(axis, x), keepdims)
    return ops.mean(x.double(), _reduce_dims(axis, x), keepdims).to(x.dtype)


def reduce_max(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Maximum over axis; ties share the gradient evenly, as in TensorFlow."""
    x = convert_to_tensor(input_tensor)
    return ops.amax(x, _reduce_dims(axis, x) or (), keepdims)


def reduce_min(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    return ops.amin(x, _reduce_dims(axis, x) or (), keepdims)


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    dims = _reduce_dims(axis, x)
    if dims is None:
        return _keep_int(x, ops.prod(x.reshape(-1), 0, False).reshape((1,) * x.ndim if keepdims else ()))
    out = x
    for d in sorted(dims, reverse=True):
        out = ops.prod(out, d, keepdims)
    return _keep_int(x, out)


def reduce_all(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    return ops.all(x, _reduce_dims(axis, x), keepdims)


def reduce_any(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    return ops.any(x, _reduce_dims(axis, x), keepdims)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    return ops.logsumexp(x, _reduce_dims(axis, x) or tuple(builtins.range(x.ndim)), keepdims)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    return ops.var(x, _reduce_dims(axis, x), correction=0, keepdim=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    return ops.std(x, _reduce_dims(axis, x), correction=0, keepdim=keepdims)


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    x = convert_to_tensor(input_tensor)
    return ops.sqrt(ops.sum(x * x, _reduce_dims(axis, x), keepdims))


def argmax(input, axis=None, output_type=None, name=None) -> Tensor:
    """TF argmax: along axis 0 by default (PyTorch's default flattens)."""
    return ops.argmax(input, 0 if axis is None else int(axis)).to(output_type or int64)


def argmin(input, axis=None, output_type=None, name=None) -> Tensor:
    return ops.argmin(input, 0 if axis is None else int(axis)).to(output_type or int64)


def sort(values, axis=-1, direction="ASCENDING", name=None) -> Tensor:
    """TF sort: the sorted values only (PyTorch's sort returns values and indices)."""
    return ops.sort(values, int(axis), descending=_descending(direction)).values


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None) -> Tensor:
    return ops.argsort(values, int(axis), descending=_descending(direction), stable=stable).to(int32)


def _descending(direction) -> bool:
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"direction must be 'ASCENDING' or 'DESCENDING', got {direction!r}")
    return direction == "DESCENDING"


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None) -> Tensor:
    """TF norm: the vector norm over all elements (or over axis); ord 'euclidean', 1, 2, np.inf or a p >= 1."""
    x = convert_to_tensor(tensor)
    dims = _reduce_dims(axis, x)
    p = 2 if ord in ("euclidean", "fro") else ord
    a = ops.abs(x)
    if p in (np.inf, float("inf")):
        return ops.amax(a, dims or (), bool(keepdims))
    if p == 2:
        return ops.sqrt(ops.sum(x * x, dims, bool(keepdims)))
    return ops.sum(a**p, dims, bool(keepdims)) ** (1.0 / p)


def softmax(logits, axis=None, name=None) -> Tensor:
    """TF softmax: over the last axis by default (PyTorch's softmax needs dim=)."""
    from ..nn.functional import softmax as torch_softmax

    return torch_softmax(logits, dim=-1 if axis is None else int(axis))


def log_softmax(logits, axis=None, name=None) -> Tensor:
    from ..nn.functional import log_softmax as torch_log_softmax

    return torch_log_softmax(logits, dim=-1 if axis is None else int(axis))


def matmul(
    a,
    b,
    transpose_a=False,
    transpose_b=False,
    adjoint_a=False,
    adjoint_b=False,
    a_is_sparse=False,
    b_is_sparse=False,
    output_type=None,
    name=None,
) -> Tensor:
    """TF matmul: with transpose_a / transpose_b (adjoint_* is the same for real tensors)."""
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    if transpose_a or adjoint_a:
        a = a.mT
    if transpose_b or adjoint_b:
        b = b.mT
    return ops.matmul(a, b)


def stop_gradient(input, name=None):
    """input (a tensor or a nest of them) cut from the graph: no gradient flows through it."""
    return map_structure(lambda t: t.detach() if isinstance(t, Tensor) else t, input)


def add_n(inputs, name=None) -> Tensor:
    inputs = list(inputs)
    out = inputs[0]
    for t in inputs[1:]:
        out = out + t
    return out


# the functions above (not the modules and dtypes this file imports)
__all__ = [
    n
    for n, v in list(globals().items())
    if callable(v) and getattr(v, "__module__", None) == __name__ and not n.startswith("_")
]
