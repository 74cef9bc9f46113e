"""The rest of PyTorch's top-level names that apply here: nn.functional's functions under torch.* (with
torch.batch_norm / instance_norm's own argument order), window functions, tensordot, finfo / iinfo, the *_copy
forms of the view ops, and the process-wide settings PyTorch exposes as functions (thread counts, determinism,
matmul precision, warn-always), which tapegrad keeps and reports but which change nothing here: its CPU kernels
are deterministic and compute float32 matmuls in float32.
"""

from __future__ import annotations

import builtins
import math
import os
from collections import namedtuple

import numpy as np

from . import dtype as _dt
from . import ops as _ops
from .nn import functional as _F
from .tensor import Tensor

# nn.functional's functions that PyTorch also has at the top level with the same positional arguments
from .nn.functional import (bilinear, celu, celu_, channel_shuffle, cosine_similarity, hardshrink,  # noqa: F401
                            pairwise_distance, pdist, pixel_shuffle, pixel_unshuffle, prelu, rms_norm, rrelu,
                            rrelu_, selu, selu_, threshold, threshold_)


def embedding(weight, input, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """torch.embedding(weight, input): nn.functional.embedding with its arguments swapped.

    >>> tg.embedding(tg.tensor([[0.0], [5.0]]), tg.tensor([1, 1]))
    tensor([[5.],
            [5.]])
    """
    return _F.embedding(input, weight, None if padding_idx < 0 else padding_idx)


def alpha_dropout(input, p, train):
    """torch.alpha_dropout(input, p, train): nn.functional.alpha_dropout."""
    return _F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input, p, train):
    """torch.feature_alpha_dropout(input, p, train): nn.functional.feature_alpha_dropout."""
    return _F.feature_alpha_dropout(input, p, train)


def alpha_dropout_(input, p, train):
    """alpha_dropout in place."""
    return _F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout_(input, p, train):
    """feature_alpha_dropout in place."""
    return _F.feature_alpha_dropout(input, p, train, inplace=True)


def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """(hist, bin_edges) of input's values, as numpy.histogram (bins: a count or the edges); not differentiable.

    >>> tg.histogram(tg.tensor([1.0, 2.0, 1.0]), bins=2).hist
    tensor([2., 1.])
    """
    edges = bins.detach()._data if isinstance(bins, Tensor) else bins
    w = None if weight is None else weight.detach()._data
    hist, out_edges = np.histogram(input.detach()._data, edges, range=range, weights=w, density=density)
    d = input.dtype
    return _HistogramResult(Tensor._make(hist.astype(d.np)), Tensor._make(out_edges.astype(d.np)))


_HistogramResult = namedtuple("histogram", "hist bin_edges")


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The numerical gradient along each dim (central differences inside, one-sided at the edges), with
    uniform spacing (a number, or one per dim); a tuple with one tensor per dim, as torch.gradient.

    >>> tg.gradient(tg.tensor([1.0, 4.0, 9.0, 16.0]))
    (tensor([3., 4., 6., 7.]),)
    """
    dims = list(builtins.range(input.ndim)) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    steps = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    out = []
    for d, h in zip(dims, steps):
        d = d % input.ndim
        n = input.shape[d]
        if n < edge_order + 1:
            raise ValueError(f"gradient: dimension {d} needs at least {edge_order + 1} points, has {n}")
        f = lambda i, k: input.narrow(d, i, k)  # noqa: E731
        inner = (f(2, n - 2) - f(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first, last = (f(1, 1) - f(0, 1)) / h, (f(n - 1, 1) - f(n - 2, 1)) / h
        else:
            first = (-1.5 * f(0, 1) + 2 * f(1, 1) - 0.5 * f(2, 1)) / h
            last = (0.5 * f(n - 3, 1) - 2 * f(n - 2, 1) + 1.5 * f(n - 1, 1)) / h
        out.append(_ops.cat([first, inner, last], d))
    return tuple(out)


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):  # noqa: A001
    """The deprecated torch.range: start to end inclusive (float32 by default).

    >>> tg.range(1, 3)
    tensor([1., 2., 3.])
    """
    if end is None:
        start, end = 0, start
    count = int(math.floor((end - start) / step)) + 1
    d = dtype or _dt.get_default_dtype()
    out = Tensor._make((start + step * np.arange(count)).astype(d.np))
    return out.requires_grad_() if requires_grad else out


def dropout(input, p, train):
    """torch.dropout(input, p, train): nn.functional.dropout.

    >>> tg.dropout(tg.ones(3), 0.5, False)
    tensor([1., 1., 1.])
    """
    return _F.dropout(input, p, train)


def dropout_(input, p, train):
    """torch.dropout_: dropout in place."""
    return _F.dropout(input, p, train, inplace=True)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    """torch.layer_norm: nn.functional.layer_norm (cudnn_enable is ignored).

    >>> tg.layer_norm(tg.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.,  1.]])
    """
    return _F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    """torch.group_norm: nn.functional.group_norm.

    >>> tg.group_norm(tg.tensor([[[1.0], [3.0]]]), 1)
    tensor([[[-1.],
             [ 1.]]])
    """
    return _F.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled=True):
    """torch.batch_norm, whose argument order differs from nn.functional.batch_norm's.

    >>> tg.batch_norm(tg.tensor([[1.0], [3.0]]), None, None, None, None, True, 0.1, 1e-5)
    tensor([[-1.],
            [ 1.]])
    """
    return _F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                  cudnn_enabled=True):
    """torch.instance_norm, whose argument order differs from nn.functional.instance_norm's.

    >>> tg.instance_norm(tg.tensor([[[1.0, 3.0]]]), None, None, None, None, True, 0.1, 1e-5)
    tensor([[[-1.,  1.]]])
    """
    return _F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


# *** window functions ***


def _window(name, window_length, periodic, dtype, fn):
    d = dtype or _dt.get_default_dtype()
    if window_length < 0:
        raise ValueError(f"{name}: window_length must be non-negative, got {window_length}")
    if window_length == 0:
        return Tensor._make(np.zeros(0, d.np))
    if window_length == 1:
        return Tensor._make(np.ones(1, d.np))
    n = window_length + 1 if periodic else window_length
    return Tensor._make(fn(n)[:window_length].astype(d.np))


def hann_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False):
    """The Hann window (periodic by default, as PyTorch).

    >>> tg.hann_window(4)
    tensor([0. , 0.5, 1. , 0.5])
    """
    return _window("hann_window", window_length, periodic, dtype, np.hanning)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, device=None,
                   requires_grad=False):
    """The generalised Hamming window alpha - beta cos(2 pi k / (N - 1)).

    >>> tg.hamming_window(3, periodic=False)
    tensor([0.08, 1.  , 0.08])
    """
    return _window("hamming_window", window_length, periodic, dtype,
                   lambda n: alpha - beta * np.cos(2 * np.pi * np.arange(n) / (n - 1)))


def blackman_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False):
    """The Blackman window.

    >>> tg.blackman_window(3, periodic=False)
    tensor([-0.,  1., -0.])
    """
    return _window("blackman_window", window_length, periodic, dtype, np.blackman)


def bartlett_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False):
    """The Bartlett (triangular) window.

    >>> tg.bartlett_window(5, periodic=False)
    tensor([0. , 0.5, 1. , 0.5, 0. ])
    """
    return _window("bartlett_window", window_length, periodic, dtype, np.bartlett)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, device=None, requires_grad=False):
    """The Kaiser window with shape parameter beta.

    >>> tg.kaiser_window(3, periodic=False, beta=0.0)
    tensor([1., 1., 1.])
    """
    return _window("kaiser_window", window_length, periodic, dtype, lambda n: np.kaiser(n, beta))


# *** products and numbers ***


def tensordot(a, b, dims=2):
    """Contracts the last `dims` dims of a with the first of b (or the dims listed in a pair of lists).

    >>> tg.tensordot(tg.ones(2, 3), tg.ones(3, 4), 1).shape
    (2, 4)
    """
    if isinstance(dims, int):
        da, db = list(builtins.range(a.ndim - dims, a.ndim)), list(builtins.range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da, db = [d % a.ndim for d in da], [d % b.ndim for d in db]
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = list(letters[: a.ndim])
    sb = list(letters[a.ndim: a.ndim + b.ndim])
    for i, j in zip(da, db):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in da] + [c for j, c in enumerate(sb) if j not in db]
    return _ops.einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def vander(x, N=None, increasing=False):
    """torch.vander: powers of x in columns, decreasing unless increasing=True.

    >>> tg.vander(tg.tensor([1, 2, 3]))
    tensor([[1, 1, 1],
            [4, 2, 1],
            [9, 3, 1]])
    """
    from . import linalg

    out = linalg.vander(x, N=N)
    return out if increasing else out.flip(-1)


def unravel_index(indices, shape):
    """The coordinates of flat indices in a tensor of `shape` (a tuple of int64 tensors).

    >>> tg.unravel_index(tg.tensor([5, 7]), (2, 4))
    (tensor([1, 1]), tensor([1, 3]))
    """
    idx = indices if isinstance(indices, Tensor) else _ops.tensor(indices)
    out = []
    for size in reversed(tuple(shape)):
        out.append(_ops.remainder(idx, size))
        idx = _ops.floor_divide(idx, size)
    return tuple(reversed(out))


def combinations(input, r=2, with_replacement=False):
    """The r-length combinations of a 1-D tensor's elements, one per row (itertools order).

    >>> tg.combinations(tg.tensor([1, 2, 3]))
    tensor([[1, 2],
            [1, 3],
            [2, 3]])
    """
    import itertools

    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(builtins.range(input.shape[0]), r))
    if not rows:
        return _ops.zeros(0, r, dtype=input.dtype) if r else _ops.zeros(0, dtype=input.dtype)
    return input[_ops.tensor(np.array(rows, np.int64))]


def isreal(input):
    """True everywhere: tapegrad's tensors are real.

    >>> tg.isreal(tg.tensor([1.0, 2.0]))
    tensor([ True,  True])
    """
    return _ops.ones_like(input, dtype=_dt.bool_)


def fill(input, value):
    """A tensor of input's shape and dtype filled with value (torch.fill, out of place).

    >>> tg.fill(tg.zeros(2), 3.0)
    tensor([3., 3.])
    """
    return _ops.full_like(input, value)


def detach(input):
    """torch.detach: input.detach()."""
    return input.detach()


def detach_(input):
    """torch.detach_: input.detach_()."""
    return input.detach_()


def constant_pad_nd(input, pad, value=0):
    """torch.constant_pad_nd: nn.functional.pad in constant mode.

    >>> tg.constant_pad_nd(tg.tensor([1, 2]), (1, 0), 9)
    tensor([9, 1, 2])
    """
    return _F.pad(input, pad, "constant", value)


def frexp(input):
    """(mantissa, exponent) with input = mantissa * 2 ** exponent and |mantissa| in [0.5, 1).

    >>> tg.frexp(tg.tensor([8.0, 0.75]))
    torch.return_types.frexp(mantissa=tensor([0.5 , 0.75]), exponent=tensor([4, 0], dtype=tg.int32))
    """
    m, e = np.frexp(input.detach()._data)
    return _FrexpResult(Tensor._make(m.astype(input.dtype.np)), Tensor._make(e.astype(np.int32)))


class _FrexpResult(namedtuple("frexp", "mantissa exponent")):
    def __repr__(self):
        return f"torch.return_types.frexp(mantissa={self.mantissa!r}, exponent={self.exponent!r})"


def nextafter(input, other):
    """The next floating-point value after input towards other (not differentiable).

    >>> (tg.nextafter(tg.tensor([1.0], dtype=tg.float64), tg.tensor([2.0], dtype=tg.float64)) - 1).item()
    2.220446049250313e-16
    """
    a, b = _ops.broadcast_tensors(input, other)
    return Tensor._make(np.nextafter(a.detach()._data, b.detach()._data.astype(a.dtype.np)))


# *** dtype information ***


class finfo:
    """Machine limits of a floating dtype: bits, eps, max, min, tiny (smallest_normal), resolution, dtype."""

    def __init__(self, type=None):
        d = type or _dt.get_default_dtype()
        if not d.is_floating_point:
            raise TypeError(f"finfo: {d.name} is not a floating dtype; use iinfo")
        import ml_dtypes  # (a dependency; its finfo also knows bfloat16)

        info = ml_dtypes.finfo(d.np)
        self.bits, self.eps, self.max, self.min = int(info.bits), float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = d.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.tiny:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype: bits, max, min, dtype."""

    def __init__(self, type):
        if type.is_floating_point:
            raise TypeError(f"iinfo: {type.name} is not an integer dtype; use finfo")
        info = np.iinfo(np.uint8 if type is _dt.bool_ else type.np)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), type.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def can_cast(from_, to):
    """Whether PyTorch's casting rules allow from_ -> to in an in-place op: not float to integer, not to bool
    from a number.

    >>> tg.can_cast(tg.float32, tg.int32), tg.can_cast(tg.int32, tg.float32)
    (False, True)
    """
    if from_.is_floating_point and not to.is_floating_point:
        return False
    return not (to is _dt.bool_ and from_ is not _dt.bool_)


# *** process-wide settings (kept and reported; see the module docstring) ***

_SETTINGS = {"threads": os.cpu_count() or 1, "interop_threads": 1, "deterministic": False, "warn_only": False,
             "debug_mode": 0, "matmul_precision": "highest", "warn_always": False}


def get_num_threads():
    return _SETTINGS["threads"]


def set_num_threads(n):
    _SETTINGS["threads"] = int(n)


def get_num_interop_threads():
    return _SETTINGS["interop_threads"]


def set_num_interop_threads(n):
    _SETTINGS["interop_threads"] = int(n)


def use_deterministic_algorithms(mode, *, warn_only=False):
    _SETTINGS["deterministic"], _SETTINGS["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled():
    return _SETTINGS["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _SETTINGS["warn_only"]


def set_deterministic_debug_mode(mode):
    _SETTINGS["debug_mode"] = {"default": 0, "warn": 1, "error": 2}.get(mode, mode)


def get_deterministic_debug_mode():
    return _SETTINGS["debug_mode"]


def set_float32_matmul_precision(precision):
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"set_float32_matmul_precision: expected 'highest', 'high' or 'medium', got {precision!r}")
    _SETTINGS["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _SETTINGS["matmul_precision"]


def set_warn_always(b):
    _SETTINGS["warn_always"] = bool(b)


def is_warn_always_enabled():
    return _SETTINGS["warn_always"]


def is_anomaly_enabled():
    from .autograd import is_anomaly_enabled as enabled

    return enabled()


def is_anomaly_check_nan_enabled():
    from .autograd import is_anomaly_check_nan_enabled as enabled

    return enabled()


def set_anomaly_enabled(enabled, check_nan=True):
    from .autograd import set_detect_anomaly

    set_detect_anomaly(enabled, check_nan)


def is_inference_mode_enabled():
    from .autograd.grad_mode import STATE

    return bool(getattr(STATE, "inference", False))


# *** the *_copy forms of the view ops: the same result in storage of its own ***


def _copy_of(op):
    def function(input, *args, **kwargs):
        result = op(input, *args, **kwargs)
        return tuple(r.clone() for r in result) if isinstance(result, tuple) else result.clone()

    return function


for _name, _op in {"alias": lambda x: x, "diagonal": _ops.diagonal, "expand": lambda x, *s, **k: x.expand(*s),
                   "permute": _ops.permute, "select": _ops.select, "squeeze": _ops.squeeze, "t": _ops.t,
                   "transpose": _ops.transpose, "unbind": _ops.unbind, "unsqueeze": _ops.unsqueeze,
                   "view": lambda x, *s: x.view(*s), "narrow": _ops.narrow, "detach": lambda x: x.detach(),
                   "split": _ops.split, "split_with_sizes": _ops.split,
                   "unfold": lambda x, d, size, step: x.unfold(d, size, step),
                   "slice": lambda x, dim=0, start=None, end=None, step=1:
                   x[(slice(None),) * (dim % x.ndim) + (slice(start, end, step),)]}.items():
    globals()[f"{_name}_copy"] = _copy_of(_op)
    globals()[f"{_name}_copy"].__name__ = f"{_name}_copy"
    globals()[f"{_name}_copy"].__doc__ = f"torch.{_name}_copy: {_name}, as a copy."

split_with_sizes = _ops.split
unsafe_split, unsafe_chunk, unsafe_split_with_sizes = _ops.split, _ops.chunk, _ops.split

__all__ = [n for n in list(globals()) if not n.startswith("_") and n not in (
    "annotations", "builtins", "math", "os", "namedtuple", "np", "Tensor")]
