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


# *** more of PyTorch's reductions and statistics, composed of the ops above ***


def msort(x):
    """x sorted along dim 0.

    >>> tg.msort(tg.tensor([[3, 1], [2, 4]]))
    tensor([[2, 1],
            [3, 4]])
    """
    return sort(x, 0).values


def cov(x, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in x's rows (observations in columns), with frequency and
    analytic weights, as torch.cov.

    >>> tg.cov(tg.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    tensor([[ 1., -1.],
            [-1.,  1.]])
    """
    if x.ndim > 2:
        raise ValueError(f"cov: expects a 1-D or 2-D tensor, got shape {tuple(x.shape)}")
    x = x.reshape(1, -1) if x.ndim < 2 else x
    x = x if x.dtype.category == dt.FLOAT else x.to(dt.get_default_dtype())
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        avg = mean(x, 1, keepdim=True)
        fact = x.shape[1] - correction
    else:
        w_sum = sum(w)
        avg = sum(x * w, 1, keepdim=True) / w_sum
        fact = w_sum - correction if aweights is None else w_sum - correction * sum(w * aweights.to(x.dtype)) / w_sum
    from .elementwise import clamp_min
    from .linalg import matmul

    xm = x - avg
    fact = clamp_min(fact, 0) if isinstance(fact, Tensor) else builtins.max(fact, 0)
    c = matmul(xm if w is None else xm * w, xm.mT) / fact
    return c.squeeze() if c.shape == (1, 1) else c


def corrcoef(x):
    """The Pearson correlation coefficients of the variables in x's rows, clipped to [-1, 1].

    >>> tg.corrcoef(tg.tensor([[0.0, 1.0, 2.0], [0.0, 2.0, 4.0]]))
    tensor([[1., 1.],
            [1., 1.]])
    """
    from .elementwise import clamp

    c = cov(x)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    return clamp(c / sqrt(d.unsqueeze(1) * d.unsqueeze(0)), -1, 1)


def _trapezoid_steps(y, x, dx, d):
    from .shape import narrow

    n = y.shape[d]
    mids = (narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)) * 0.5 if n else y
    if x is None:
        return mids * (1.0 if dx is None else dx)
    if x.ndim == 1:
        steps = x[1:] - x[:-1]
        shape = [1] * y.ndim
        shape[d] = n - 1
        return mids * steps.reshape(tuple(shape))
    return mids * (narrow(x, d, 1, n - 1) - narrow(x, d, 0, n - 1))


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along dim, with sample points x (or a spacing dx, default 1).

    >>> tg.trapezoid(tg.tensor([1.0, 2.0, 3.0]))
    tensor(4.)
    """
    d = norm_dim("trapezoid", dim, y.ndim)
    if y.shape[d] == 0:
        return sum(y, d)
    return sum(_trapezoid_steps(y, x, dx, d), d)


def trapz(y, x=None, *, dx=None, dim=-1):
    """torch.trapz: trapezoid.

    >>> tg.trapz(tg.tensor([0.0, 1.0]), tg.tensor([0.0, 2.0]))
    tensor(1.)
    """
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal integral along dim (one element shorter than y).

    >>> tg.cumulative_trapezoid(tg.tensor([1.0, 2.0, 3.0]))
    tensor([1.5, 4. ])
    """
    d = norm_dim("cumulative_trapezoid", dim, y.ndim)
    return cumsum(_trapezoid_steps(y, x, dx, d), d)


def frobenius_norm(x, dim=(-2, -1), keepdim=False):
    """The Frobenius norm over dim (the last two by default).

    >>> tg.frobenius_norm(tg.tensor([[3.0, 4.0]]))
    tensor(5.)
    """
    return norm(x, "fro", dim, keepdim)


def nuclear_norm(x, dim=None, keepdim=False):
    """The sum of the singular values (over the last two dims, or over dim).

    >>> tg.nuclear_norm(tg.tensor([[3.0, 0.0], [0.0, -4.0]]))
    tensor(7.)
    """
    from ..linalg import matrix_norm

    if isinstance(dim, bool):  # nuclear_norm(x, keepdim) positionally
        dim, keepdim = None, dim
    return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)


def renorm(x, p, dim, maxnorm):
    """x with each slice along dim whose p-norm exceeds maxnorm scaled down to that norm.

    >>> tg.renorm(tg.tensor([[3.0, 4.0], [0.3, 0.4]]), 2, 0, 1.0)
    tensor([[0.6, 0.8],
            [0.3, 0.4]])
    """
    d = norm_dim("renorm", dim, x.ndim)
    others = tuple(i for i in range(x.ndim) if i != d)
    n = norm(x, p, others, keepdim=True)
    return x * where(n > maxnorm, maxnorm / (n + 1e-7), 1.0)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element occurs in test_elements (bool, elements' shape).

    >>> tg.isin(tg.tensor([1, 2, 3]), tg.tensor([2, 5]))
    tensor([False,  True, False])
    """
    from .elementwise import _as_operand, logical_not

    if not isinstance(elements, Tensor):
        elements = _as_operand(elements, dt.result_type(elements))
    if not isinstance(test_elements, Tensor):
        test_elements = _as_operand(test_elements, dt.result_type(test_elements))
    found = any(eq(elements.unsqueeze(-1), test_elements.reshape(-1)), -1)
    return logical_not(found) if invert else found


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None, sorter=None):
    """Where values would be inserted into the sorted last dimension of sorted_sequence to keep it sorted
    (leftmost place; rightmost with right=True or side='right').

    >>> tg.searchsorted(tg.tensor([1, 3, 5, 7]), tg.tensor([3, 6, 9]))
    tensor([1, 3, 4])
    """
    from .elementwise import _as_operand, le, lt

    if sorter is not None:
        sorted_sequence = sorted_sequence.gather(-1, sorter)
    right = right or side == "right"
    if not isinstance(values, Tensor):
        values = _as_operand(values, sorted_sequence.dtype)
    seq = sorted_sequence
    if seq.ndim == 1:
        below = (le if right else lt)(seq, values.unsqueeze(-1))
    else:
        below = (le if right else lt)(seq.unsqueeze(-2), values.unsqueeze(-1))
    return sum(below, -1).to(dt.int32 if out_int32 else dt.int64)


def bucketize(x, boundaries, *, out_int32=False, right=False):
    """The index of the bucket of each element: boundaries[i-1] < x <= boundaries[i] (with right=True:
    boundaries[i-1] <= x < boundaries[i]).

    >>> tg.bucketize(tg.tensor([1, 5, 9]), tg.tensor([1, 3, 5, 7]))
    tensor([0, 2, 4])
    """
    from .elementwise import le, lt

    below = (le if right else lt)(boundaries, x.unsqueeze(-1))
    return sum(below, -1).to(dt.int32 if out_int32 else dt.int64)


def histc(x, bins=100, min=0, max=0):
    """The histogram of x's values in `bins` equal bins over [min, max] (the data's range when min == max);
    values outside are ignored. Not differentiable.

    >>> tg.histc(tg.tensor([1.0, 2.0, 1.0, 4.0]), bins=4, min=0, max=4)
    tensor([0., 2., 1., 1.])
    """
    from ..autograd.grad_mode import no_grad
    from .creation import arange
    from .elementwise import clamp_max, floor, ge, logical_and

    with no_grad():
        v = x.reshape(-1)
        v = v if v.dtype.category == dt.FLOAT else v.to(dt.get_default_dtype())
        lo, hi = float(min), float(max)
        if lo == hi and v.numel():
            lo, hi = float(amin(v).item()), float(amax(v).item())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        inside = logical_and(ge(v, lo), v <= hi)
        idx = clamp_max(floor((v - lo) * (bins / (hi - lo))), bins - 1)
        hits = eq(idx.unsqueeze(-1), arange(bins, dtype=v.dtype)) & inside.unsqueeze(-1)
        return sum(hits, 0, dtype=v.dtype)


def bincount(x, weights=None, minlength=0):
    """The count of each value 0..max(x) in a 1-D non-negative integer tensor (summed weights, if given).

    >>> tg.bincount(tg.tensor([0, 1, 1, 3]))
    tensor([1, 2, 0, 1])
    """
    data = np.asarray(x._data)
    if x.ndim != 1 or data.dtype.kind not in "iu" or (data.size and data.min() < 0):
        raise ValueError(f"bincount: expects a 1-D tensor of non-negative integers, got {x.dtype.name} "
                         f"shape {tuple(x.shape)}")
    n = int(builtins.max(int(data.max()) + 1 if data.size else 0, minlength))
    if weights is None:
        return Tensor._make(np.bincount(data, minlength=n).astype(np.int64))
    from .index import index_add
    from .creation import zeros

    w = weights if weights.dtype.category == dt.FLOAT else weights.to(dt.float64)
    return index_add(zeros(n, dtype=w.dtype), 0, x, w)


def unique(x, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of x (sorted), with the inverse indices and counts when asked. Not differentiable.

    >>> tg.unique(tg.tensor([3, 1, 3, 2]), return_counts=True)
    (tensor([1, 2, 3]), tensor([1, 1, 2]))
    """
    data = x.detach()._data
    if dim is None:
        vals, inv, counts = np.unique(data, return_inverse=True, return_counts=True)
        inv = inv.reshape(data.shape)
    else:
        d = norm_dim("unique", dim, x.ndim)
        vals, inv, counts = np.unique(data, return_inverse=True, return_counts=True, axis=d)
    out = [Tensor._make(vals)]
    if return_inverse:
        out.append(Tensor._make(inv.astype(np.int64)))
    if return_counts:
        out.append(Tensor._make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(x, return_inverse=False, return_counts=False, dim=None):
    """x with runs of equal consecutive values collapsed to one (flattened unless dim is given).

    >>> tg.unique_consecutive(tg.tensor([1, 1, 2, 2, 3, 1, 1]))
    tensor([1, 2, 3, 1])
    """
    data = x.detach()._data
    d = 0 if dim is None else norm_dim("unique_consecutive", dim, x.ndim)
    arr = data.reshape(-1) if dim is None else data
    n = arr.shape[d]
    if n == 0:
        starts = np.zeros(0, np.int64)
    else:
        moved = np.moveaxis(arr, d, 0).reshape(n, -1)
        change = np.any(moved[1:] != moved[:-1], axis=1)
        starts = np.concatenate([[0], np.flatnonzero(change) + 1]).astype(np.int64)
    out = [Tensor._make(np.take(arr, starts, axis=d))]
    if return_inverse:
        inv = np.cumsum(np.isin(np.arange(n), starts)) - 1
        out.append(Tensor._make(inv.reshape(data.shape if dim is None else (n,)).astype(np.int64)))
    if return_counts:
        out.append(Tensor._make(np.diff(np.append(starts, n)).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


_METHODS += """ msort cov corrcoef renorm histc bincount unique unique_consecutive"""


def nanmedian(x, dim=None, keepdim=False):
    """The lower median ignoring nan (nan only where every value is nan); with dim, (values, indices).

    >>> tg.nanmedian(tg.tensor([1.0, float("nan"), 3.0, 2.0]))
    tensor(2.)
    """
    from .elementwise import clamp_min, floor_divide, isnan, logical_not

    if dim is None:
        flat = x.reshape(-1)
        vals = sort(flat.detach(), 0).values
        k = clamp_min(floor_divide(sum(logical_not(isnan(flat))) - 1, 2), 0)
        value = vals.gather(0, k.reshape(1)).reshape(())
        # NOTE: as PyTorch, the gradient is shared evenly by every element equal to the median (the mean of
        # those elements is the median itself; all nan gives 0 / 0 = nan)
        hit = eq(flat, value)
        return sum(where(hit, flat, 0.0)) / sum(hit)
    d = norm_dim("nanmedian", dim, x.ndim)
    vals, idx = sort(x, d)
    k = clamp_min(floor_divide(sum(logical_not(isnan(x)), d, keepdim=True) - 1, 2), 0)
    values, indices = vals.gather(d, k), idx.gather(d, k)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return ValuesIndices(values, indices)


_METHODS += """ nanmedian"""


def mode(x, dim=-1, keepdim=False):
    """(values, indices) of the most frequent value along dim: the smallest one among equally frequent values,
    at its last position (PyTorch's choices). The index is found on the values (eagerly); the gradient flows to
    that element.

    >>> tg.mode(tg.tensor([[3, 1, 3, 1, 2], [5, 5, 4, 4, 4]]))
    torch.return_types.mode(values=tensor([1, 4]), indices=tensor([3, 4]))
    """
    d = norm_dim("mode", dim, x.ndim) if x.ndim else 0
    data = np.moveaxis(np.asarray(x.detach()._data).reshape(x.shape if x.ndim else (1,)), d, -1)
    rows = data.reshape(-1, data.shape[-1])
    picked = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        counts = (row[:, None] == row[None, :]).sum(1)
        best = counts == counts.max()
        value = row[best].min()
        picked[r] = np.flatnonzero(row == value)[-1]
    index = Tensor._make(np.expand_dims(picked.reshape(data.shape[:-1]), d if x.ndim else 0))
    source = x if x.ndim else x.reshape(1)
    values = source.gather(d, index)
    if not keepdim or not x.ndim:
        values, index = values.squeeze(d), index.squeeze(d)
    return _ModeResult(values, index)


class _ModeResult(namedtuple("mode", "values indices")):
    def __repr__(self):
        return f"torch.return_types.mode(values={self.values!r}, indices={self.indices!r})"


_METHODS += """ mode"""
