"""Reduction composites: sum, mean, prod, max/min, var/std, norm, logsumexp, all/any, sort, topk, ..."""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from .. import dtype as dt
from ..primitives import bind
from ..primitives import reduce as R
from ..tensor import Tensor
from .elementwise import abs, eq, isinf, log, ne, sqrt, where
from .shape import norm_dim, norm_dims, reshape

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _axes(op, x, dim):
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None  # as in PyTorch, an empty dim list reduces over every dimension
    return norm_dims(op, dim, x.ndim) if x.ndim else ()


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over dim (an int, a tuple, or None for all); bool and int tensors sum to int64.

    >>> tg.sum(tg.tensor([[1, 2], [3, 4]]), 0)
    tensor([4, 6])
    """
    if dtype is not None:
        x = x.to(dtype)
    axes = _axes("sum", x, dim)
    if x.dtype.category != dt.FLOAT and x.dtype is not dt.int64:
        x = x.to(dt.int64)
    return bind(R.Sum, x, axes=axes, keepdim=keepdim)


def _require_float(op, x, dtype=None):
    if dtype is not None:
        return x.to(dtype)
    if x.dtype.category != dt.FLOAT:
        raise TypeError(
            f"{op}: could not infer the output dtype; the input is {x.dtype.name}, but {op} needs a floating "
            f"dtype. Fix: x.float().{op}(...) or pass dtype=tg.float32"
        )
    return x


def _count(x, axes):
    return math.prod(x.shape[a] for a in axes) if axes else 1


def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean over dim (all elements by default).

    >>> tg.mean(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), 1)
    tensor([1.5, 3.5])
    """
    x = _require_float("mean", x, dtype)
    axes = _axes("mean", x, dim)
    total, n = bind(R.Sum, x, axes=axes, keepdim=keepdim), _count(x, axes)
    # NOTE: the mean of nothing is nan, as in PyTorch, but not as 0 / 0: a division by a zero count would put
    # 1/0 into the derivative rules, and the second-order gradient through the (empty) first-order one would be
    # nan where PyTorch's is 0. nan + total keeps the value and a harmless derivative.
    return total / n if n else total + math.nan


builtins_max = max


def nansum(x, dim=None, keepdim=False):
    """The sum ignoring nan.

    >>> tg.nansum(tg.tensor([1.0, float('nan'), 2.0]))
    tensor(3.)
    """
    return sum(where(x.isnan(), 0, x), dim, keepdim)


def nanmean(x, dim=None, keepdim=False):
    """The mean ignoring nan.

    >>> tg.nanmean(tg.tensor([1.0, float('nan'), 3.0]))
    tensor(2.)
    """
    keep = x.isnan().logical_not()
    return nansum(x, dim, keepdim) / sum(keep, dim, keepdim)


def prod(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The product over dim (all elements by default).

    >>> tg.prod(tg.tensor([[1, 2], [3, 4]]), 1)
    tensor([ 2, 12])
    """
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.category != dt.FLOAT and x.dtype is not dt.int64:
        x = x.to(dt.int64)
    if dim is None:
        out = bind(R.Prod, reshape(x, -1), axis=0, keepdim=False)
        return reshape(out, (1,) * x.ndim) if keepdim else out
    axis = norm_dim("prod", dim, x.ndim)
    if x.ndim == 0:
        return x.clone()
    return bind(R.Prod, x, axis=axis, keepdim=keepdim)


def amax(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over dims (all when dim is () or None); ties share the gradient evenly.

    >>> tg.amax(tg.tensor([[1, 5], [3, 2]]), 1)
    tensor([5, 3])
    """
    axes = _axes("amax", x, None if dim == () else dim)
    _check_nonempty("amax", x, axes)
    return bind(R.Amax, x, axes=axes, keepdim=keepdim)


def amin(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The minimum over dims (the gradient is shared at ties).

    >>> tg.amin(tg.tensor([[1, 5], [3, 2]]), 1)
    tensor([1, 2])
    """
    if x.dtype.category == dt.FLOAT:
        return -amax(-x, dim, keepdim)
    axes = _axes("amin", x, None if dim == () else dim)
    _check_nonempty("amin", x, axes)
    return Tensor._make(np.amin(x._data, axis=axes, keepdims=keepdim))


def _check_nonempty(op, x, axes):
    if builtins.any(x.shape[a] == 0 for a in axes) or (x.ndim == 0 and x.numel() == 0):
        raise ValueError(f"{op}: cannot reduce over an empty dimension (shape {tuple(x.shape)}); there is no identity")


def _arg(prim, op, x, dim, keepdim):
    if dim is None:
        _check_nonempty(op, x, tuple(range(x.ndim)))
        out = bind(prim, reshape(x, -1), axis=0, keepdim=False)
        return reshape(out, (1,) * x.ndim) if keepdim else out
    d = norm_dim(op, dim, x.ndim)
    _check_nonempty(op, x, (d,) if x.ndim else ())
    if x.ndim == 0:
        return Tensor._make(np.array(0, np.int64))
    return bind(prim, x, axis=d, keepdim=keepdim)


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the (first) maximum, over dim or the flattened input.

    >>> tg.argmax(tg.tensor([[1, 5], [3, 2]]), 1)
    tensor([1, 0])
    """
    return _arg(R.Argmax, "argmax", x, dim, keepdim)


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the (first) minimum, over dim or the flattened input.

    >>> tg.argmin(tg.tensor([3, 1, 2]))
    tensor(1)
    """
    return _arg(R.Argmin, "argmin", x, dim, keepdim)


def _extreme(which, x, dim, keepdim, other):
    from .elementwise import maximum, minimum

    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return (maximum if which == "max" else minimum)(x, other)
    if dim is None:
        return amax(x) if which == "max" else amin(x)
    d = norm_dim(which, dim, x.ndim)
    idx = (argmax if which == "max" else argmin)(x, d, keepdim=True)
    values = x.gather(d, idx) if x.ndim else x
    if not keepdim and x.ndim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return ValuesIndices(values, idx)


def max(x: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """max() of all elements; max(dim) -> (values, indices); max(other) elementwise.

    >>> tg.max(tg.tensor([[1, 5], [3, 2]]), 1)
    ValuesIndices(values=tensor([5, 3]), indices=tensor([1, 0]))
    >>> tg.max(tg.tensor([1, 5]))
    tensor(5)
    """
    return _extreme("max", x, dim, keepdim, other)


def min(x: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """The minimum: of all elements, (values, indices) over dim, or elementwise of two tensors.

    >>> tg.min(tg.tensor([[1, 5], [3, 2]]), 1)
    ValuesIndices(values=tensor([1, 2]), indices=tensor([0, 1]))
    """
    return _extreme("min", x, dim, keepdim, other)


def aminmax(x, *, dim=None, keepdim=False):
    """(min, max) over dim or all elements.

    >>> tg.aminmax(tg.tensor([3, 1, 2]))
    aminmax(min=tensor(1), max=tensor(3))
    """
    return namedtuple("aminmax", ["min", "max"])(amin(x, dim if dim is not None else (), keepdim), amax(x, dim if dim is not None else (), keepdim))


def var(x: Tensor, dim=None, *, correction=1, keepdim: bool = False, unbiased=None) -> Tensor:
    """Variance with Bessel's correction by default (correction=1; 0 gives the population variance).

    >>> tg.var(tg.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.6667)
    """
    if unbiased is not None:
        correction = 1 if unbiased else 0
    x = _require_float("var", x)
    axes = _axes("var", x, dim)
    n = _count(x, axes)
    centered = x - mean(x, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / builtins_max(n - correction, 0)


def std(x: Tensor, dim=None, *, correction=1, keepdim: bool = False, unbiased=None) -> Tensor:
    """sqrt(var); where the variance is 0 the gradient is 0 (not inf * 0 = nan), as in PyTorch.

    >>> tg.std(tg.tensor([1.0, 2.0, 3.0, 4.0]), correction=0)
    tensor(1.118)
    """
    v = var(x, dim, correction=correction, keepdim=keepdim, unbiased=unbiased)
    zero = eq(v, 0)
    return where(zero, 0.0, sqrt(where(zero, 1.0, v)))


def var_mean(x, dim=None, *, correction=1, keepdim=False):
    """(var, mean) over dim.

    >>> tg.var_mean(tg.tensor([1.0, 2.0, 3.0]))
    (tensor(1.), tensor(2.))
    """
    return var(x, dim, correction=correction, keepdim=keepdim), mean(x, dim, keepdim)


def std_mean(x, dim=None, *, correction=1, keepdim=False):
    """(std, mean) over dim.

    >>> tg.std_mean(tg.tensor([1.0, 2.0, 3.0]))
    (tensor(1.), tensor(2.))
    """
    return std(x, dim, correction=correction, keepdim=keepdim), mean(x, dim, keepdim)


def _safe_sqrt_of_sum_squares(x, axes, keepdim):
    """sqrt(sum(x^2)) with gradient 0 (not nan) where the sum is 0, as torch.norm gives."""
    s = sum(x * x, axes, keepdim)
    zero = eq(s, 0)
    return where(zero, 0.0, sqrt(where(zero, 1.0, s)))


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over dim (all elements by default); p in {'fro', 2, 1, inf, -inf, 0, other numbers}.

    >>> tg.norm(tg.tensor([3.0, 4.0]))
    tensor(5.)
    """
    x = _require_float("norm", x, dtype)
    axes = _axes("norm", x, dim)
    if p in ("fro", 2, 2.0):
        return _safe_sqrt_of_sum_squares(x, axes, keepdim)
    if p == "nuc":
        raise ValueError("norm: p='nuc' (the nuclear norm) needs an SVD, which tapegrad does not provide yet")
    if p == math.inf:
        return amax(abs(x), axes, keepdim)
    if p == -math.inf:
        return amin(abs(x), axes, keepdim)
    if p == 0:  # the count of nonzeros; x * 0 keeps the result in the graph with a zero gradient, as in PyTorch
        return sum(where(ne(x, 0), 1.0, x * 0), axes, keepdim)
    if p == 1:
        return sum(abs(x), axes, keepdim)
    return sum(abs(x) ** p, axes, keepdim) ** (1.0 / p)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ord-norm over dim (all elements by default), as torch.linalg.vector_norm.

    >>> tg.vector_norm(tg.tensor([3.0, -4.0]), 1)
    tensor(7.)
    """
    return norm(x, ord, dim, keepdim, dtype)


def logsumexp(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed stably by shifting by the (detached) maximum.

    >>> tg.logsumexp(tg.tensor([0.0, 0.0]), 0)
    tensor(0.6931)
    """
    x = x if x.dtype.category == dt.FLOAT else x.float()
    axes = _axes("logsumexp", x, dim)
    if x.numel() == 0:
        return log(sum(x.exp(), axes, keepdim))
    m = amax(x.detach(), axes, keepdim=True)
    m = where(isinf(m), 0.0, m)
    out = log(sum((x - m).exp(), axes, keepdim=True)) + m
    return out if keepdim else out.squeeze(axes) if axes else out


def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element is nonzero (over dim, or all elements).

    >>> tg.all(tg.tensor([[1, 0], [1, 1]]), 1)
    tensor([False,  True])
    """
    return eq(sum(eq(x, 0), dim, keepdim), 0)


def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether some element is nonzero (over dim, or all elements).

    >>> tg.any(tg.tensor([[0, 0], [0, 1]]), 1)
    tensor([False,  True])
    """
    return ne(sum(ne(x, 0), dim, keepdim), 0)


def count_nonzero(x, dim=None):
    """The number of nonzero elements over dim.

    >>> tg.count_nonzero(tg.tensor([0, 1, 2, 0]))
    tensor(2)
    """
    return sum(ne(x, 0), dim)


def cumsum(x: Tensor, dim: int, *, dtype=None) -> Tensor:
    """The running sum along dim.

    >>> tg.cumsum(tg.tensor([1, 2, 3]), 0)
    tensor([1, 3, 6])
    """
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return x.clone()
    return bind(R.Cumsum, x, axis=norm_dim("cumsum", dim, x.ndim))


def cumprod(x: Tensor, dim: int, *, dtype=None) -> Tensor:
    """The running product along dim.

    >>> tg.cumprod(tg.tensor([1.0, 2.0, 3.0]), 0)
    tensor([1., 2., 6.])
    """
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return x.clone()
    return bind(R.Cumprod, x, axis=norm_dim("cumprod", dim, x.ndim))


def logcumsumexp(x, dim):
    """log(cumsum(exp(x))) along dim, computed stably.

    >>> tg.logcumsumexp(tg.tensor([0.0, 0.0, 0.0]), 0)
    tensor([0.    , 0.6931, 1.0986])
    """
    d = norm_dim("logcumsumexp", dim, x.ndim)
    m = amax(x.detach(), d, keepdim=True)
    m = where(isinf(m), 0.0, m)
    return log(cumsum((x - m).exp(), d)) + m


def _extreme_value(dtype, largest):
    """The value every other value of dtype beats (largest) or undercuts: the identity of max / min."""
    if dtype.category == dt.FLOAT:
        return -math.inf if largest else math.inf
    if dtype is dt.bool_:
        return not largest
    info = np.iinfo(dtype.np)
    return int(info.min if largest else info.max)


def _cumulative_extreme(op, x, dim, largest):
    """(values, indices) of the running max / min along dim, as PyTorch gives them: a tie picks the later index,
    and from the first nan on the result is that nan. Values are gathered at the indices, so gradients go to
    the chosen element only.

    NOTE: the indices come from an (n, n) comparison of every prefix (O(n^2) per row) instead of a scan
    primitive: a composite of existing ops, so it traces and batches like any other op.
    """
    from .creation import arange
    from .elementwise import isnan, logical_and
    from ..autograd.grad_mode import no_grad

    if x.ndim == 0:
        return ValuesIndices(x.clone(), Tensor._make(np.array(0, np.int64)))
    d = norm_dim(op, dim, x.ndim)
    n = x.shape[d]
    with no_grad():
        row = x.detach().movedim(d, -1).unsqueeze(-2)  # row[..., i, j] = x[..., j]
        j = arange(n)
        prefix = Tensor._make(np.tril(np.ones((n, n), bool)))  # j <= i
        key = where(prefix, row, _extreme_value(x.dtype, largest))
        best = (amax if largest else amin)(key, -1, keepdim=True)
        last_best = where(logical_and(prefix, eq(row, best)), j, -1).amax(-1)
        # a nan wins from where it first appears: score n - j is largest for the first nan of the prefix
        first_nan = where(logical_and(prefix, isnan(row)), n - j, 0).amax(-1)
        idx = where(first_nan > 0, n - first_nan, last_best).movedim(-1, d)
    return ValuesIndices(x.gather(d, idx), idx)


def cummax(x: Tensor, dim: int):
    """(values, indices) of the running maximum along dim.

    >>> tg.cummax(tg.tensor([1.0, 3.0, 2.0, 3.0]), 0)
    ValuesIndices(values=tensor([1., 3., 3., 3.]), indices=tensor([0, 1, 1, 3]))
    """
    return _cumulative_extreme("cummax", x, dim, True)


def cummin(x: Tensor, dim: int):
    """(values, indices) of the running minimum along dim (a tie picks the later index).

    >>> tg.cummin(tg.tensor([3, 1, 2]), 0)
    ValuesIndices(values=tensor([3, 1, 1]), indices=tensor([0, 1, 1]))
    """
    return _cumulative_extreme("cummin", x, dim, False)


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort x along dim.

    >>> tg.argsort(tg.tensor([3, 1, 2]))
    tensor([1, 2, 0])
    """
    if x.ndim == 0:
        return Tensor._make(np.array(0, np.int64))
    return bind(R.Argsort, x, axis=norm_dim("argsort", dim, x.ndim), descending=descending)


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along dim; values are differentiable (gradients go back by index).

    >>> tg.sort(tg.tensor([3, 1, 2]), descending=True)
    ValuesIndices(values=tensor([3, 2, 1]), indices=tensor([0, 2, 1]))
    """
    idx = argsort(x, dim, descending)
    if x.ndim == 0:
        return ValuesIndices(x.clone(), idx)
    return ValuesIndices(x.gather(norm_dim("sort", dim, x.ndim), idx), idx)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """(values, indices) of the k largest (or smallest) along dim.

    >>> tg.topk(tg.tensor([1, 5, 3, 4]), 2)
    ValuesIndices(values=tensor([5, 4]), indices=tensor([1, 3]))
    """
    d = norm_dim("topk", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k ({k}) must be between 0 and the size of dimension {dim} ({n})")
    idx = argsort(x, d, descending=largest).narrow(d, 0, k)
    return ValuesIndices(x.gather(d, idx), idx)


def kthvalue(x, k, dim=-1, keepdim=False):
    """(value, index) of the k-th smallest along dim.

    >>> tg.kthvalue(tg.tensor([5.0, 1.0, 3.0]), 2)
    ValuesIndices(values=tensor(3.), indices=tensor(2))
    """
    d = norm_dim("kthvalue", dim, x.ndim)
    idx = argsort(x, d).narrow(d, k - 1, 1)
    values = x.gather(d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return ValuesIndices(values, idx)


def median(x, dim=None, keepdim=False):
    """The lower median (like PyTorch); with dim, (values, indices).

    >>> tg.median(tg.tensor([5.0, 1.0, 3.0, 4.0]))
    tensor(3.)
    """
    if dim is None:
        flat = x.reshape(-1)
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    d = norm_dim("median", dim, x.ndim)
    return kthvalue(x, (x.shape[d] + 1) // 2, d, keepdim)


# Tensor methods: tensor.name(...) == name(tensor, ...) (attached by ops/__init__.py)
_METHODS = """sum mean nansum nanmean prod amax amin argmax argmin max min aminmax var std norm logsumexp all any
    count_nonzero cumsum cumprod logcumsumexp cummax cummin argsort sort topk kthvalue median"""
