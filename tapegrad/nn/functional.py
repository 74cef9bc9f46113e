"""tg.nn.functional (users write `import tapegrad.nn.functional as F`): activations, normalisation, dropout,
embedding, padding, losses and attention with PyTorch's signatures, all composites of tapegrad ops (so they
differentiate and trace) except gelu, which binds its primitive (one pass over memory each way in eager mode); conv
and pooling are re-exported from ops/conv.py.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings

import numpy as np

from .. import dtype as dt
from ..autograd import engine as _engine
from ..autograd.grad_mode import ANOMALY, no_grad
from ..ops import activation as _act
from ..ops.conv import *
from .. import ops as _ops  # noqa: E402
from ..ops import conv as _conv  # noqa: E402

# the re-exports are the ops as tg.* has them, accepting Python values (ops/operands.py)
globals().update({_n: getattr(_ops, _n) for _n in dir(_conv) if not _n.startswith("_") and hasattr(_ops, _n)
                  and callable(getattr(_conv, _n))})
from ..ops.creation import arange, ones, rand, zeros
from ..ops.elementwise import erf, exp, expm1, log, log1p, sigmoid, tanh, where
from ..ops.elementwise import unary_float as _unary_float
from ..primitives import elementwise as _P
from ..ops.linalg import matmul
from ..ops.shape import pad_constant
from ..primitives.base import INTERPRETERS
from ..tensor import Tensor


def _tensor_input(fn):
    """Decorator: the first argument must be a Tensor (a TypeError that says so, not an AttributeError)."""

    name = next(iter(inspect.signature(fn).parameters))

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        first = args[0] if args else kwargs.get(name)
        if not isinstance(first, Tensor):
            raise TypeError(
                f"{fn.__name__}: {name} must be a Tensor, got {type(first).__name__}; wrap it with tg.tensor(...)"
            )
        return fn(*args, **kwargs)

    return checked


def _concrete() -> bool:
    """True in eager mode, where checks may read values (a bad class index, a probability > 1).

    While a tracer is active the values are symbolic, so such checks are skipped (shape checks still run).
    """
    return not INTERPRETERS


def _maybe_inplace(input, out, inplace, name):
    return input._inplace(out, name) if inplace else out


# *** activations ***


@_tensor_input
def relu(input, inplace=False):
    """max(x, 0); the gradient at 0 is 0 and nan propagates, as in PyTorch.

    >>> F.relu(tg.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return _maybe_inplace(input, _act.relu(input), inplace, "relu_")


@_tensor_input
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]; the gradient is 1 strictly inside and 0 elsewhere (PyTorch's rule).

    >>> F.hardtanh(tg.tensor([-2.0, 0.5, 2.0]))
    tensor([-1. ,  0.5,  1. ])
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    out = where(input <= min_val, min_val, where(input >= max_val, max_val, input))
    return _maybe_inplace(input, out, inplace, "hardtanh_")


@_tensor_input
def relu6(input, inplace=False):
    """min(max(x, 0), 6).

    >>> F.relu6(tg.tensor([-1.0, 3.0, 8.0]))
    tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


@_tensor_input
def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x >= 0, negative_slope * x below.

    >>> F.leaky_relu(tg.tensor([-10.0, 2.0]), 0.1)
    tensor([-1.,  2.])
    """
    return _maybe_inplace(input, where(input > 0, input, input * negative_slope), inplace, "leaky_relu_")


def _expm1_negative(x):
    # NOTE: clamp first so the branch where() discards cannot overflow (an inf there would give nan gradients)
    return expm1(where(x > 0, 0, x))


@_tensor_input
def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha * (exp(x) - 1) below.

    >>> F.elu(tg.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.    ])
    """
    return _maybe_inplace(input, where(input > 0, input, alpha * _expm1_negative(input)), inplace, "elu_")


@_tensor_input
def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).

    >>> F.celu(tg.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.    ])
    """
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides the input)")
    return _maybe_inplace(input, where(input > 0, input, alpha * _expm1_negative(input / alpha)), inplace, "celu_")


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@_tensor_input
def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants.

    >>> F.selu(tg.tensor([-1.0, 2.0]))
    tensor([-1.1113,  2.1014])
    """
    return _maybe_inplace(input, _SELU_SCALE * elu(input, _SELU_ALPHA), inplace, "selu_")


@_tensor_input
def gelu(input, approximate="none"):
    """x * Phi(x) (approximate='none') or its tanh approximation (approximate='tanh').

    >>> F.gelu(tg.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.    ,  0.8413])
    >>> F.gelu(tg.tensor([1.0]), approximate='tanh')
    tensor([0.8412])
    """
    if approximate not in _P.GELU_APPROXIMATIONS:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _unary_float(_P.Gelu, input, approximate=approximate)


@_tensor_input
def silu(input, inplace=False):
    """x * sigmoid(x).

    >>> F.silu(tg.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.2689,  0.    ,  0.7311])
    """
    return _maybe_inplace(input, input * sigmoid(input), inplace, "silu_")


def _softplus(z):
    """log(1 + exp(z)) without overflow: z + log1p(exp(-z)) for z > 0, log1p(exp(z)) otherwise.

    Both branches see clamped inputs, so neither overflows and the gradient is sigmoid(z) everywhere.
    """
    positive = z > 0
    zp, zn = where(positive, z, 0), where(positive, 0, z)
    return where(positive, zp + log1p(exp(-zp)), log1p(exp(zn)))


@_tensor_input
def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (PyTorch's linear tail).

    >>> F.softplus(tg.tensor([-1.0, 0.0, 30.0]))
    tensor([ 0.3133,  0.6931, 30.    ])
    """
    scaled = input * beta
    return where(scaled > threshold, input, _softplus(scaled) / beta)


@_tensor_input
def mish(input, inplace=False):
    """x * tanh(softplus(x)).

    >>> F.mish(tg.tensor([-1.0, 1.0]))
    tensor([-0.3034,  0.8651])
    """
    return _maybe_inplace(input, input * tanh(_softplus(input)), inplace, "mish_")


@_tensor_input
def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6.

    >>> F.hardsigmoid(tg.tensor([-4.0, 0.0, 1.0]))
    tensor([0.    , 0.5   , 0.6667])
    """
    return _maybe_inplace(input, hardtanh(input + 3.0, 0.0, 6.0) / 6.0, inplace, "hardsigmoid_")


@_tensor_input
def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6.

    >>> F.hardswish(tg.tensor([-4.0, 0.0, 1.0]))
    tensor([-0.    ,  0.    ,  0.6667])
    """
    return _maybe_inplace(input, input * hardtanh(input + 3.0, 0.0, 6.0) / 6.0, inplace, "hardswish_")


@_tensor_input
def logsigmoid(input):
    """log(sigmoid(x)), computed stably.

    >>> F.logsigmoid(tg.tensor([-100.0, 0.0]))
    tensor([-100.    ,   -0.6931])
    """
    return -_softplus(-input)


@_tensor_input
def softsign(input):
    """x / (1 + |x|).

    >>> F.softsign(tg.tensor([-1.0, 3.0]))
    tensor([-0.5 ,  0.75])
    """
    return input / (1.0 + input.abs())


@_tensor_input
def tanhshrink(input):
    """x - tanh(x).

    >>> F.tanhshrink(tg.tensor([0.0, 1.0]))
    tensor([0.    , 0.2384])
    """
    return input - tanh(input)


@_tensor_input
def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value.

    >>> F.threshold(tg.tensor([0.5, 2.0]), 1.0, -1.0)
    tensor([-1.,  2.])
    """
    return _maybe_inplace(input, where(input > threshold, input, value), inplace, "threshold_")


@_tensor_input
def glu(input, dim=-1):
    """a * sigmoid(b) where a, b are the two halves of input along dim.

    >>> F.glu(tg.tensor([1.0, 2.0, 0.0, 0.0]))
    tensor([0.5, 1. ])
    """
    if input.ndim == 0 or input.shape[dim] % 2:
        raise ValueError(f"glu: dimension {dim} of input {tuple(input.shape)} must have an even size (it is halved)")
    a, b = input.chunk(2, dim)
    return a * sigmoid(b)


@_tensor_input
def prelu(input, weight):
    """leaky_relu with a learned slope: one per channel (dim 1), or a single one.

    >>> F.prelu(tg.tensor([-2.0, 3.0]), tg.tensor([0.25]))
    tensor([-0.5,  3. ])
    """
    if weight.numel() != 1 and (input.ndim < 2 or weight.numel() != input.shape[1]):
        raise ValueError(
            f"prelu: weight has {weight.numel()} slopes but input {tuple(input.shape)} has "
            f"{input.shape[1] if input.ndim > 1 else 1} channels (dim 1); give 1 slope or one per channel"
        )
    slope = weight.reshape((-1,) + (1,) * (input.ndim - 2)) if weight.numel() != 1 else weight.reshape(())
    return where(input > 0, input, slope * input)


relu_ = functools.partial(relu, inplace=True)
elu_ = functools.partial(elu, inplace=True)
leaky_relu_ = functools.partial(leaky_relu, inplace=True)
hardtanh_ = functools.partial(hardtanh, inplace=True)


# *** softmax family ***


@_tensor_input
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along dim, shifted by the (detached) maximum for stability.

    >>> F.softmax(tg.tensor([1.0, 1.0, 2.0]), dim=0)
    tensor([0.2119, 0.2119, 0.5761])
    """
    return _act.softmax(input, dim, dtype)


@_tensor_input
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along dim.

    >>> F.softmin(tg.tensor([1.0, 1.0, 2.0]), dim=0)
    tensor([0.4223, 0.4223, 0.1554])
    """
    return _act.softmax(-(input if dtype is None else input.to(dtype)), dim)


@_tensor_input
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """(x - max) - log(sum(exp(x - max))) along dim (stable, and precise for large float32 logits).

    >>> F.log_softmax(tg.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    return _act.log_softmax(input, dim, dtype)


def _row_max(x, dim):
    """The (detached) maximum along dim that softmax shifts by. Over an empty dim there is no maximum, and
    nothing to shift: the result is empty, as in PyTorch, so the shift is 0 (amax would raise)."""
    if x.shape[dim] == 0:
        return 0.0
    return x.detach().amax(dim, keepdim=True)


def _safe_softmax(x, dim):
    """softmax that gives 0 (not nan) for a row that is entirely -inf, as PyTorch's attention does."""
    m = _row_max(x, dim)
    e = exp(x - where(m == -math.inf, 0, m))
    s = e.sum(dim, keepdim=True)
    return e / where(s == 0, 1, s)


# *** normalisation ***


def _normalized_axes(op, input, normalized_shape):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(shape) == 0 or len(shape) > input.ndim or tuple(input.shape[input.ndim - len(shape) :]) != shape:
        raise ValueError(
            f"{op}: normalized_shape {shape} must equal the last dimensions of the input, got input shape "
            f"{tuple(input.shape)}"
        )
    return shape, tuple(range(input.ndim - len(shape), input.ndim))


def _check_param(op, name, t, shape):
    if t is not None and tuple(t.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} must have shape {tuple(shape)}, got {tuple(t.shape)}")


def _affine(out, weight, bias, shape):
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _standardize(x, axes, eps):
    """(x - mean) / sqrt(biased var + eps) over axes."""
    centered = x - x.mean(axes, keepdim=True)
    var = (centered * centered).mean(axes, keepdim=True)
    return centered * (var + eps).rsqrt()


@_tensor_input
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dims, then scale by weight and shift by bias.

    >>> F.layer_norm(tg.tensor([[1.0, 2.0, 3.0]]), (3,))
    tensor([[-1.2247,  0.    ,  1.2247]])
    """
    shape, axes = _normalized_axes("layer_norm", input, normalized_shape)
    _check_param("layer_norm", "weight", weight, shape)
    _check_param("layer_norm", "bias", bias, shape)
    return _affine(_standardize(input, axes, eps), weight, bias, shape)


@_tensor_input
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) over the last dims; eps defaults to the dtype's machine epsilon.

    >>> F.rms_norm(tg.tensor([[3.0, 4.0]]), (2,))
    tensor([[0.8485, 1.1314]])
    """
    shape, axes = _normalized_axes("rms_norm", input, normalized_shape)
    _check_param("rms_norm", "weight", weight, shape)
    eps = float(np.finfo(input.dtype.np).eps) if eps is None else eps
    out = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    return _affine(out, weight, None, shape)


def _channel_shape(input):
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


@_tensor_input
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) with batch statistics (training) or the running ones (eval).

    In training, running_mean / running_var (when given) are updated in place, outside autograd:
    running = (1 - momentum) * running + momentum * batch statistic (the variance unbiased).

    >>> F.batch_norm(tg.tensor([[1.0], [3.0]]), None, None, training=True)
    tensor([[-1.],
            [ 1.]])
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got {tuple(input.shape)}")
    c, shape = input.shape[1], _channel_shape(input)
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_param("batch_norm", name, t, (c,))
    axes = (0,) + tuple(range(2, input.ndim))
    if training:
        count = input.numel() // c
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input {tuple(input.shape)}"
            )
        out = _standardize(input, axes, eps)
        _update_running(input, axes, count, running_mean, running_var, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
        out = (input - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    return _affine(out, weight, bias, shape)


def _update_running(input, axes, count, running_mean, running_var, momentum):
    if momentum is None:
        raise ValueError("batch_norm: momentum=None (a cumulative average) needs a batch counter; use nn.BatchNorm")
    with no_grad():
        x = input.detach()
        mean = x.mean(axes)
        if running_mean is not None:
            running_mean.copy_(running_mean * (1 - momentum) + mean * momentum)
        if running_var is not None:
            var = x.var(axes, correction=1)
            running_var.copy_(running_var * (1 - momentum) + var * momentum)


@_tensor_input
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise over each group of num_groups channel groups (and all spatial positions), per sample.

    >>> F.group_norm(tg.tensor([[[1.0], [3.0]]]), 1)
    tensor([[[-1.],
             [ 1.]]])
    """
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: the {input.shape[1] if input.ndim > 1 else '?'} channels of input {tuple(input.shape)} "
            f"must be divisible by num_groups={num_groups}"
        )
    _check_param("group_norm", "weight", weight, (input.shape[1],))
    _check_param("group_norm", "bias", bias, (input.shape[1],))
    grouped = input.reshape(input.shape[0], num_groups, -1)
    out = _standardize(grouped, (2,), eps).reshape(input.shape)
    return _affine(out, weight, bias, _channel_shape(input))


@_tensor_input
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along dim.

    >>> F.normalize(tg.tensor([[3.0, 4.0]]))
    tensor([[0.6, 0.8]])
    """
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps)


# *** dropout, embedding, one_hot, linear ***


@_tensor_input
def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p); the identity when not training.

    Uses tapegrad's generator, so tg.manual_seed makes it reproducible.

    >>> F.dropout(tg.tensor([1.0, 2.0]), 0.5, training=False)
    tensor([1., 2.])
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        keep = rand(*input.shape, dtype=input.dtype if input.dtype.category == dt.FLOAT else None) >= p
        out = input * keep.to(input.dtype) * (1.0 / (1.0 - p))
    return _maybe_inplace(input, out, inplace, "dropout_")


def _check_indices(op, t):
    if not isinstance(t, Tensor) or t.dtype.category != dt.INT:
        got = t.dtype.name if isinstance(t, Tensor) else type(t).__name__
        raise TypeError(f"{op}: indices must be an integer tensor (int32 or int64), got {got}; convert with .long()")


@_tensor_input
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of weight (num_embeddings, dim) picked by the integer tensor input: shape input.shape + (dim,).

    The row at padding_idx receives no gradient. With max_norm, the rows used are first renormalised in place.

    >>> F.embedding(tg.tensor([1, 0]), tg.tensor([[0.0, 0.0], [1.0, 2.0]]))
    tensor([[1., 2.],
            [0., 0.]])
    """
    _check_indices("embedding", input)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {tuple(weight.shape)}")
    if sparse:
        raise ValueError("embedding: sparse gradients are not supported; use sparse=False")
    n = weight.shape[0]
    flat = input.reshape(-1)
    if max_norm is not None:
        _renorm_rows(weight, flat, max_norm, norm_type)
    out = weight.index_select(0, flat)
    if scale_grad_by_freq:  # the value stays, the gradient of each row is divided by its count in the batch
        counts = zeros(n, dtype=weight.dtype).index_add(0, flat, ones(flat.shape[0], dtype=weight.dtype))
        c = counts.index_select(0, flat).unsqueeze(1)
        out = out.detach() + (out - out.detach()) / c
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within the {n} embeddings")
        pad = (flat == padding_idx % n).unsqueeze(1)
        out = where(pad, out.detach(), out)
    return out.reshape(tuple(input.shape) + (weight.shape[1],))


def _renorm_rows(weight, flat, max_norm, norm_type):
    with no_grad():
        used = (
            zeros(weight.shape[0], dtype=weight.dtype).index_add(0, flat, ones(flat.shape[0], dtype=weight.dtype)) > 0
        )
        norms = weight.norm(norm_type, 1)
        scale = where(used & (norms > max_norm), max_norm / (norms + 1e-7), 1.0)
        weight.copy_(weight * scale.unsqueeze(1))


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each index; num_classes=-1 infers max + 1.

    >>> F.one_hot(tg.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    _check_indices("one_hot", tensor)
    if num_classes == -1:
        if tensor.numel() == 0 or not _concrete():
            raise ValueError("one_hot: cannot infer num_classes from an empty or traced tensor; pass num_classes")
        num_classes = int(tensor.max().item()) + 1
    if _concrete() and tensor.numel() and bool((tensor < 0).any()):
        raise ValueError(f"one_hot: class values must be non-negative, got {int(tensor.min().item())}")
    if _concrete() and tensor.numel() and bool((tensor >= num_classes).any()):
        raise ValueError(
            f"one_hot: class values must be smaller than num_classes ({num_classes}), got {int(tensor.max().item())}"
        )
    return (tensor.unsqueeze(-1) == arange(num_classes)).long()


@_tensor_input
def linear(input, weight, bias=None):
    """input @ weight.T + bias, weight (out_features, in_features).

    >>> F.linear(tg.tensor([[1.0, 2.0]]), tg.tensor([[1.0, 1.0]]), tg.tensor([0.5]))
    tensor([[3.5]])
    """
    if input.ndim == 0 or weight.ndim not in (1, 2) or input.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {tuple(input.shape)} has {input.shape[-1] if input.ndim else 0} features (last "
            f"dim) but weight {tuple(weight.shape)} (out_features, in_features) expects "
            f"{weight.shape[-1] if weight.ndim else '?'}"
        )
    out = matmul(input, weight.mT if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


# *** padding ***

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_source_index(n, before, after, mode):
    """For each output position along one dim, the input position it copies (reflect/replicate/circular).

    A negative width crops. As in PyTorch, reflect and replicate then still mirror about the original edges,
    while circular wraps around what is left: circular padding (2, -1) of [0..5] starts 3, 4, not 4, 5."""
    if mode == "circular":
        lo, hi = max(-before, 0), n - max(-after, 0)
        return lo + np.arange(-max(before, 0), hi - lo + max(after, 0)) % (hi - lo)
    pos = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    return np.where(pos < 0, -pos, np.where(pos >= n, 2 * (n - 1) - pos, pos))  # reflect, edge not repeated


def _check_pad_sizes(mode, shape, widths):
    for d, (n, (a, b)) in enumerate(zip(shape, widths)):
        if (a, b) == (0, 0):
            continue
        kept = n - max(-a, 0) - max(-b, 0)  # what is left after cropping by the negative widths
        limit = n - 1 if mode == "reflect" else kept if mode == "circular" else math.inf
        if max(a, b) > limit or kept <= 0:
            raise ValueError(
                f"pad: {mode} padding {(a, b)} of dim {d} is too large for its size {n} (input {tuple(shape)}); "
                f"it must be at most {limit} and leave at least one element"
            )


@_tensor_input
def pad(input, pad, mode="constant", value=None):
    """Pad with PyTorch's tuple order: (left, right) of the last dim first, then the dim before it, ...

    Modes: 'constant' (value, default 0), 'reflect', 'replicate', 'circular'; in every mode a negative width crops.

    >>> F.pad(tg.tensor([[1.0, 2.0, 3.0]]), (2, -1), mode="reflect")
    tensor([[3., 2., 1., 2.]])
    >>> F.pad(tg.tensor([[1.0, 2.0, 3.0]]), (1, -1), mode="circular")
    tensor([[2., 1., 2.]])
    """
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) > 2 * input.ndim:
        raise ValueError(
            f"pad: the padding {pad} must have an even length of at most 2 * ndim = {2 * input.ndim} "
            f"(pairs (before, after), last dim first)"
        )
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "constant":
        return pad_constant(input, tuple(widths), 0.0 if value is None else value)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    if value is not None and value != 0:
        raise ValueError(f"pad: value is only used by mode='constant', got value={value} with mode={mode!r}")
    _check_pad_sizes(mode, input.shape, widths)
    out = input
    for d, (a, b) in enumerate(widths):
        if (a, b) != (0, 0):
            out = out.index_select(d, Tensor._make(_pad_source_index(input.shape[d], a, b, mode).astype(np.int64)))
    return out


# *** resampling ***

_INTERP_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}  # modes tied to one spatial rank
_CUBIC_A = -0.75  # the cubic convolution coefficient PyTorch uses (Keys' kernel)


def _interp_sizes(input, size, scale_factor, nd, recompute_scale_factor):
    """(output sizes, per-dim scale factors or None) from exactly one of size and scale_factor."""
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    spatial = input.shape[2:]
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * nd
        if len(sizes) != nd:
            raise ValueError(f"interpolate: size {size} must have {nd} entries for a {input.ndim}-d input")
        return tuple(int(n) for n in sizes), (None,) * nd
    scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nd
    if len(scales) != nd:
        raise ValueError(f"interpolate: scale_factor {scale_factor} must have {nd} entries for a {input.ndim}-d input")
    sizes = tuple(int(math.floor(n * float(f))) for n, f in zip(spatial, scales))
    # recompute_scale_factor=True: the scale only chose the size; coordinates then map by in / out
    return sizes, (None,) * nd if recompute_scale_factor else tuple(float(f) for f in scales)


def _source_coords(n_in, n_out, scale, align_corners, offset):
    """The input coordinate each output position samples (PyTorch's area_pixel_compute_source_index)."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        return dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    step = 1.0 / scale if scale else n_in / n_out
    return (dst + offset) * step - offset


def _nearest_index(mode, n_in, n_out, scale):
    step = 1.0 / scale if scale else n_in / n_out
    half = 0.5 if mode == "nearest-exact" else 0.0
    # NOTE: float32 arithmetic, as PyTorch computes nearest indices, so a coordinate just below an integer
    # rounds the same way
    src = np.floor((np.arange(n_out, dtype=np.float32) + np.float32(half)) * np.float32(step))
    return np.minimum(src.astype(np.int64), n_in - 1)


def _cubic_weights(t):
    """Keys' cubic convolution weights of the 4 taps at offsets -1, 0, 1, 2 for fractional positions t."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _linear_matrix(mode, n_in, n_out, scale, align_corners):
    """The (n_out, n_in) matrix that resamples one dim by linear or cubic interpolation."""
    src = _source_coords(n_in, n_out, scale, align_corners, 0.5)
    w = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    if mode == "bicubic":  # taps beyond the border repeat the edge value
        i = np.floor(src)
        for k, wk in enumerate(_cubic_weights(src - i)):
            np.add.at(w, (rows, np.clip(i.astype(np.int64) - 1 + k, 0, n_in - 1)), wk)
        return w
    src = np.maximum(src, 0.0)  # linear modes clamp coordinates before the left edge
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = src - i0
    np.add.at(w, (rows, i0), 1.0 - frac)
    np.add.at(w, (rows, i1), frac)
    return w


def _resample_dim(x, d, mode, n_out, scale, align_corners):
    n_in = x.shape[d]
    if mode in ("nearest", "nearest-exact"):
        return x.index_select(d, Tensor._make(_nearest_index(mode, n_in, n_out, scale)))
    w = Tensor._make(_linear_matrix(mode, n_in, n_out, scale, align_corners).T.astype(x.dtype.np))
    return matmul(x.movedim(d, -1), w).movedim(-1, d)


@_tensor_input
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of a (N, C, ...) tensor: modes 'nearest', 'nearest-exact', 'linear' (3-d input),
    'bilinear', 'bicubic' (4-d), 'trilinear' (5-d) and 'area' (adaptive average pooling).

    Separable: each spatial dim is resampled in turn, by an index (nearest) or a matrix of interpolation
    weights (linear, cubic), so gradients of any order follow from index_select and matmul.

    >>> F.interpolate(tg.tensor([[[1.0, 2.0]]]), scale_factor=2, mode="linear")
    tensor([[[1.  , 1.25, 1.75, 2.  ]]])
    """
    nd = input.ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"interpolate: expects a 3-, 4- or 5-d input (N, C, spatial...), got shape {tuple(input.shape)}")
    if mode not in ("nearest", "nearest-exact", "area", *_INTERP_DIMS):
        raise ValueError(f"interpolate: unknown mode {mode!r}")
    if mode in _INTERP_DIMS and _INTERP_DIMS[mode] != nd:
        raise ValueError(f"interpolate: mode {mode!r} needs a {_INTERP_DIMS[mode] + 2}-d input, got {input.ndim}-d")
    if align_corners is not None and mode not in _INTERP_DIMS:
        raise ValueError(f"interpolate: align_corners only applies to linear and cubic modes, not {mode!r}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported; tapegrad resamples without it")
    sizes, scales = _interp_sizes(input, size, scale_factor, nd, recompute_scale_factor)
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](input, sizes)
    if mode in _INTERP_DIMS and input.dtype.category != dt.FLOAT:
        raise TypeError(f"interpolate: mode {mode!r} needs a floating input, got {input.dtype.name}")
    out = input
    for k, (n_out, scale) in enumerate(zip(sizes, scales)):
        out = _resample_dim(out, 2 + k, mode, n_out, scale, bool(align_corners))
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The deprecated name of interpolate.

    >>> F.upsample(tg.tensor([[[1.0, 2.0]]]), scale_factor=2)
    tensor([[[1., 1., 2., 2.]]])
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


# *** losses ***

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(op, size_average, reduce, reduction, allowed=_REDUCTIONS):
    """The reduction, with PyTorch's legacy size_average / reduce flags mapped onto it."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if reduce and size_average else "sum" if reduce else "none"
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def _reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _check_target(op, input, target, strict=False):
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: target must be a Tensor, got {type(target).__name__}")
    if tuple(target.shape) == tuple(input.shape):
        return
    message = (
        f"{op}: target shape {tuple(target.shape)} differs from input shape {tuple(input.shape)}; "
        "they will be broadcast, which is likely wrong. Make them the same shape"
    )
    if strict:
        raise ValueError(message)
    warnings.warn(message, stacklevel=3)


def _weighted_pointwise(op, loss, weight, reduction, input, mean_by_weight=True):
    """Apply an elementwise weight (same shape as input); mean divides by the weight sum (mse/l1) or the count."""
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: weight shape {tuple(weight.shape)} must equal the input shape {tuple(input.shape)}")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


@_tensor_input
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """The mean (or sum, or none) of squared differences.

    >>> F.mse_loss(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]))
    tensor(2.)
    """
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    _check_target("mse_loss", input, target)
    d = input - target
    return _weighted_pointwise("mse_loss", d * d, weight, reduction, input)


@_tensor_input
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """The mean (or sum, or none) of absolute differences.

    >>> F.l1_loss(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]))
    tensor(1.)
    """
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    _check_target("l1_loss", input, target)
    return _weighted_pointwise("l1_loss", (input - target).abs(), weight, reduction, input)


@_tensor_input
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta=0 is the l1 loss).

    >>> F.smooth_l1_loss(tg.tensor([0.0, 0.0]), tg.tensor([0.5, 3.0]))
    tensor(1.3125)
    """
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    _check_target("smooth_l1_loss", input, target)
    d = input - target
    ad = d.abs()
    if beta == 0:
        return _reduce(ad, reduction)
    return _reduce(where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta), reduction)


@_tensor_input
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta).

    >>> F.huber_loss(tg.tensor([0.0, 0.0]), tg.tensor([0.5, 3.0]))
    tensor(1.3125)
    """
    reduction = _reduction("huber_loss", None, None, reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    _check_target("huber_loss", input, target)
    d = input - target
    ad = d.abs()
    loss = where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
    return _weighted_pointwise("huber_loss", loss, weight, reduction, input, mean_by_weight=False)


@_tensor_input
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-(t log x + (1 - t) log(1 - x)) with each log clamped at -100, as PyTorch does; x must be in [0, 1].

    >>> F.binary_cross_entropy(tg.tensor([0.5, 0.9]), tg.tensor([1.0, 1.0]))
    tensor(0.3993)
    """
    reduction = _reduction("binary_cross_entropy", size_average, reduce, reduction)
    _check_target("binary_cross_entropy", input, target, strict=True)
    if _concrete() and input.numel() and bool(((input < 0) | (input > 1)).any()):
        raise ValueError(
            "binary_cross_entropy: all elements of input must be between 0 and 1 (probabilities); apply sigmoid "
            "first, or use binary_cross_entropy_with_logits on the raw scores"
        )
    loss = -(target * log(input).clamp_min(-100.0) + (1 - target) * log(1 - input).clamp_min(-100.0))
    return _reduce(loss if weight is None else loss * weight, reduction)


@_tensor_input
def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
):
    """Sigmoid + binary cross-entropy in one stable expression: (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x).

    >>> F.binary_cross_entropy_with_logits(tg.tensor([0.0, 2.0]), tg.tensor([1.0, 0.0]))
    tensor(1.41)
    """
    reduction = _reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    _check_target("binary_cross_entropy_with_logits", input, target, strict=True)
    log_weight = 1.0 if pos_weight is None else (pos_weight - 1) * target + 1
    loss = (1 - target) * input + log_weight * _softplus(-input)
    return _reduce(loss if weight is None else loss * weight, reduction)


@_tensor_input
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence t (log t - x) with input x given as log-probabilities (target too if log_target).

    reduction='batchmean' divides the sum by the batch size (the mathematical KL); 'mean' by every element.

    >>> F.kl_div(tg.tensor([-1.0, -1.0]), tg.tensor([0.5, 0.5]), reduction='sum')
    tensor(0.3069)
    """
    reduction = _reduction("kl_div", size_average, reduce, reduction, _REDUCTIONS + ("batchmean",))
    if log_target:
        loss = exp(target) * (target - input)
    else:  # xlogy(t, t): 0 where t == 0
        zero = target == 0
        loss = where(zero, 0.0, target * log(where(zero, 1.0, target))) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


def _batched_classes(op, input, target):
    """Make an unbatched (C,) input with a 0-d target into a batch of one, and check the target's shape."""
    unbatched = input.ndim == 1
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension (C,) or (N, C, ...), got a 0-d tensor")
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    return input, target, unbatched


def _check_class_target(op, input, target):
    _check_indices(op, target)
    want = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != want:
        raise ValueError(
            f"{op}: expected target of shape {want} (the input {tuple(input.shape)} without its class dim 1), "
            f"got {tuple(target.shape)}"
        )


def _picked(op, logp, target, weight, ignore_index):
    """Per-sample -w[t] * logp[t] and w[t] (both 0 where target == ignore_index)."""
    c = logp.shape[1]
    _check_class_target(op, logp, target)
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f"{op}: weight must have shape ({c},) (one value per class), got {tuple(weight.shape)}")
    if _concrete():
        # NOTE: eager: the target is data, not a graph input, so the mask and the safe indices are computed on its
        # array directly (seven tensor ops fewer per loss; traced, they stay ops of the graph)
        t = target._data
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= c))
        if bad.any():
            raise ValueError(
                f"{op}: target {int(t[bad][0])} is out of bounds for {c} classes (valid: 0 to {c - 1}, or ignore_index)"
            )
        safe = Tensor._make(np.where(valid, t, 0))
        w = Tensor._make(valid.astype(logp.dtype.np))
    else:
        valid = target != ignore_index
        safe = where(valid, target, 0)
        w = valid.to(logp.dtype)
    if weight is not None:
        w = w * weight.index_select(0, safe.reshape(-1)).reshape(safe.shape)
    logp_t = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    return -logp_t * w, w


@_tensor_input
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class indices target (N, d1, ...) under log-probabilities input (N, C, d1, ...).

    'mean' divides by the summed weights of the targets that are not ignore_index, as PyTorch does.

    >>> F.nll_loss(tg.tensor([[-1.0, -2.0], [-0.5, -3.0]]), tg.tensor([0, 1]))
    tensor(2.)
    """
    reduction = _reduction("nll_loss", size_average, reduce, reduction)
    input, target, unbatched = _batched_classes("nll_loss", input, target)
    losses, w = _picked("nll_loss", input, target, weight, ignore_index)
    if reduction == "mean":
        return losses.sum() / w.sum()
    if reduction == "sum":
        return losses.sum()
    return losses.squeeze(0) if unbatched else losses


@_tensor_input
def cross_entropy(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
    label_smoothing=0.0,
):  # fmt: skip
    """log_softmax over the class dim (1, or 0 for an unbatched (C,) input) followed by the negative log-likelihood.

    target holds class indices (N, d1, ...) or class probabilities (same shape as input). label_smoothing mixes
    the target with the uniform distribution; weight rescales each class; ignore_index skips targets.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> round(F.cross_entropy(tg.zeros(2, 4), tg.tensor([1, 3])).item(), 4)
    1.3863
    """
    reduction = _reduction("cross_entropy", size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0 and 1, got {label_smoothing}")
    if not isinstance(target, Tensor):
        raise TypeError(f"cross_entropy: target must be a Tensor, got {type(target).__name__}")
    input, target, unbatched = _batched_classes("cross_entropy", input, target)
    if (_concrete() and weight is None and label_smoothing == 0 and ANOMALY.watch is None
            and _fusable_classes(input, target)):
        out = _fused_cross_entropy(input, target, ignore_index, reduction)
    else:
        out = _composite_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)
    return out.squeeze(0) if unbatched and reduction == "none" else out


def _composite_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing):
    logp = log_softmax(input, 1)
    if target.dtype.category == dt.FLOAT:
        return _cross_entropy_probs(logp, target, weight, reduction, label_smoothing)
    return _cross_entropy_indices(logp, target, weight, ignore_index, reduction, label_smoothing)


_FUSED_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _fusable_classes(input, target) -> bool:
    """(N, C) float32/float64 logits and (N,) class indices: the case _fused_cross_entropy computes."""
    x, t = input._data, target._data
    return x.ndim == 2 and x.dtype in _FUSED_FLOATS and t.ndim == 1 and t.dtype.kind in "iu"


def _fused_cross_entropy(input, target, ignore_index, reduction):
    """Eager cross-entropy of (N, C) logits and class indices in one pass of numpy, recorded as one Node whose
    backward is softmax - one_hot on arrays (PyTorch's log_softmax + nll_loss kernels): 13 recorded ops and
    about as many in backward fewer per loss. The values are the composite's (same shift by the row max, same
    sums); create_graph replays the composite (engine.FusedNode)."""
    _check_class_target("cross_entropy", input, target)
    x, t = input._data, target._data
    n, c = x.shape
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        raise ValueError(
            f"cross_entropy: target {int(t[bad][0])} is out of bounds for {c} classes (valid: 0 to {c - 1}, or "
            "ignore_index)"
        )
    rows, safe = np.arange(n), np.where(valid, t, 0)
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    keep = valid.astype(x.dtype)
    losses = (np.log(s)[:, 0] - z[rows, safe]) * keep  # -log_softmax at the target, 0 where ignored
    count = keep.sum()
    with np.errstate(divide="ignore", invalid="ignore"):  # every target ignored: 0 / 0 = nan, as in PyTorch
        out = losses.sum() / count if reduction == "mean" else losses.sum() if reduction == "sum" else losses

    def vjp(g, needs):
        p = e / s
        p[rows, safe] -= keep
        with np.errstate(divide="ignore", invalid="ignore"):
            coef = g[:, None] if reduction == "none" else g / count if reduction == "mean" else g
            grad = p * coef
        # ignored rows get 0, also when every target is ignored and the mean's 1 / count is inf (PyTorch's zeros)
        return [grad if valid.all() else np.where(valid[:, None], grad, grad.dtype.type(0))]

    def replay(logits, target):
        return _composite_cross_entropy(logits, target, None, ignore_index, reduction, 0.0)

    # the vjp reads the target (its class indices, kept from the forward) but not the logits: as in PyTorch, changing
    # the target in place before backward is an error, changing the logits is not
    return _engine.fused("NllLossBackward", [input, target], np.asarray(out, x.dtype), vjp, replay, checked=(1,))


def _cross_entropy_indices(logp, target, weight, ignore_index, reduction, smoothing):
    losses, w = _picked("cross_entropy", logp, target, weight, ignore_index)
    nll = losses.sum() / w.sum() if reduction == "mean" else losses.sum() if reduction == "sum" else losses
    if smoothing == 0:
        return nll
    # the uniform part: -sum_c weight[c] * logp[c], zero for ignored targets (PyTorch's formula)
    c = logp.shape[1]
    per_class = logp if weight is None else logp * weight.reshape(_channel_shape(logp))
    smooth = where(target == ignore_index, 0.0, -per_class.sum(1))
    if reduction == "mean":
        smooth = smooth.sum() / w.sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - smoothing) * nll + smooth * (smoothing / c)


def _cross_entropy_probs(logp, target, weight, reduction, smoothing):
    if tuple(target.shape) != tuple(logp.shape):
        raise ValueError(
            f"cross_entropy: class-probability target must have the input's shape {tuple(logp.shape)}, got "
            f"{tuple(target.shape)}; for class indices use an integer target"
        )
    c = logp.shape[1]
    if smoothing > 0:
        target = target * (1 - smoothing) + smoothing / c
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape(_channel_shape(logp))
    losses = -prod.sum(1)
    return losses.sum() / losses.numel() if reduction == "mean" else _reduce(losses, reduction)


@_tensor_input
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along dim (broadcast).

    >>> F.cosine_similarity(tg.tensor([[1.0, 0.0]]), tg.tensor([[1.0, 1.0]]))
    tensor([0.7071])
    """
    n1, n2 = _clamped_norm(x1, dim, eps), _clamped_norm(x2, dim, eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def _clamped_norm(x, dim, eps):
    # NOTE: PyTorch clamps the norm in place under no_grad: the value is clamped, the gradient is the norm's
    n = x.norm(2, dim, keepdim=True)
    return n + (n.clamp_min(eps) - n).detach()


# *** attention ***


@_tensor_input
def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
):
    """softmax(q k^T * scale + mask) v for q (..., L, E), k (..., S, E), v (..., S, Ev).

    attn_mask: bool (True = may attend) or float (added to the scores). is_causal masks the upper triangle.
    A row with nothing to attend to gives zeros (not nan). dropout_p always applies, as in PyTorch.

    >>> q = k = v = tg.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> F.scaled_dot_product_attention(q, k, v).shape
    (1, 2, 2)
    """
    _check_attention(query, key, value, attn_mask, is_causal, enable_gqa)
    if enable_gqa and key.shape[-3] != query.shape[-3]:
        repeats = query.shape[-3] // key.shape[-3]
        key, value = key.repeat_interleave(repeats, -3), value.repeat_interleave(repeats, -3)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.mT) * scale
    length, source = query.shape[-2], key.shape[-2]
    if is_causal:
        scores = where(Tensor._make(np.tri(length, source, dtype=bool)), scores, -math.inf)
    if attn_mask is not None:
        scores = where(attn_mask, scores, -math.inf) if attn_mask.dtype is dt.bool_ else scores + attn_mask
    weights = _safe_softmax(scores, -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)


def _check_attention(query, key, value, attn_mask, is_causal, enable_gqa):
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give either attn_mask or is_causal=True, not both")
    shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ValueError(f"scaled_dot_product_attention: expected (..., L, E) operands, got {shapes}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: query and key need the same embedding size (last dim) and key and value "
            f"the same length (dim -2); got {shapes}"
        )
    if enable_gqa and (key.ndim < 3 or query.shape[-3] % key.shape[-3]):
        raise ValueError(
            f"scaled_dot_product_attention: with enable_gqa, query heads must be a multiple of key heads; got {shapes}"
        )


# *** more of torch.nn.functional, composed of the functions above ***


@_tensor_input
def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0.

    >>> F.hardshrink(tg.tensor([-1.0, 0.2, 0.7]))
    tensor([-1. ,  0. ,  0.7])
    """
    return where(_ops.abs(input) > lambd, input, 0.0)


@_tensor_input
def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between.

    >>> F.softshrink(tg.tensor([-1.0, 0.2, 0.75]))
    tensor([-0.5 ,  0.  ,  0.25])
    """
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


@_tensor_input
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU with a random negative slope drawn from U(lower, upper) per element in training, and their mean
    (lower + upper) / 2 otherwise.

    >>> F.rrelu(tg.tensor([-3.0, 2.0]), 0.25, 0.75)
    tensor([-1.5,  2. ])
    """
    if training:
        slope = rand(*input.shape, dtype=input.dtype) * (upper - lower) + lower
    else:
        slope = (lower + upper) / 2
    return _maybe_inplace(input, where(input >= 0, input, input * slope), inplace, "rrelu_")


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """rrelu in place."""
    return rrelu(input, lower, upper, training, inplace=True)


def celu_(input, alpha=1.0):
    """celu in place."""
    return celu(input, alpha, inplace=True)


def selu_(input):
    """selu in place."""
    return selu(input, inplace=True)


def threshold_(input, threshold_value, value):
    """threshold in place."""
    return threshold(input, threshold_value, value, inplace=True)


@_tensor_input
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of x1 - x2 + eps along the last dim.

    >>> F.pairwise_distance(tg.tensor([[0.0, 0.0]]), tg.tensor([[3.0, 4.0]]))
    tensor([5.])
    """
    return _ops.norm(x1 - x2 + eps, p, -1, keepdim)


@_tensor_input
def pdist(input, p=2):
    """The p-norm distances between all pairs of rows i < j of an (N, M) input, in row-major order.

    >>> F.pdist(tg.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]))
    tensor([ 5., 10.,  5.])
    """
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    rows = Tensor._make(i.astype(np.int64)), Tensor._make(j.astype(np.int64))
    return _ops.norm(input[rows[0]] - input[rows[1]], p, -1)


def _margin_reduce(op, loss, size_average, reduce, reduction):
    return _reduce(loss, _reduction(op, size_average, reduce, reduction))


@_tensor_input
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1.

    >>> F.cosine_embedding_loss(tg.tensor([[1.0, 0.0]]), tg.tensor([[1.0, 1.0]]), tg.tensor([1]))
    tensor(0.2929)
    """
    eps = 1e-12
    dot = (input1 * input2).sum(-1)
    cos = dot / _ops.sqrt(((input1 * input1).sum(-1) + eps) * ((input2 * input2).sum(-1) + eps))
    loss = where(target == 1, 1 - cos, where(target == -1, _ops.clamp_min(cos - margin, 0), 0.0))
    return _margin_reduce("cosine_embedding_loss", loss, size_average, reduce, reduction)


@_tensor_input
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """x where target is 1, max(0, margin - x) where it is -1.

    >>> F.hinge_embedding_loss(tg.tensor([0.3, 0.3]), tg.tensor([1, -1]), reduction="none")
    tensor([0.3, 0.7])
    """
    loss = where(target != 1, _ops.clamp_min(margin - input, 0), 0.0) + where(target != -1, input, 0.0)
    return _margin_reduce("hinge_embedding_loss", loss, size_average, reduce, reduction)


@_tensor_input
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target * (x1 - x2) + margin).

    >>> F.margin_ranking_loss(tg.tensor([1.0, 2.0]), tg.tensor([2.0, 1.0]), tg.tensor([1.0, 1.0]))
    tensor(0.5)
    """
    loss = _ops.clamp_min(-target * (input1 - input2) + margin, 0)
    return _margin_reduce("margin_ranking_loss", loss, size_average, reduce, reduction)


@_tensor_input
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * x)), the two-class logistic loss with targets +-1.

    >>> F.soft_margin_loss(tg.tensor([0.0, 2.0]), tg.tensor([1.0, -1.0]), reduction="none")
    tensor([0.6931, 2.1269])
    """
    loss = _softplus(-target * input)
    return _margin_reduce("soft_margin_loss", loss, size_average, reduce, reduction)


@_tensor_input
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """The mean over classes of the binary logistic losses (targets 0 / 1), per sample.

    >>> F.multilabel_soft_margin_loss(tg.tensor([[0.0, 2.0]]), tg.tensor([[1.0, 0.0]]))
    tensor(1.41)
    """
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.mean(-1)
    return _margin_reduce("multilabel_soft_margin_loss", loss, size_average, reduce, reduction)


@_tensor_input
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, d(a, p) - d(a, n) + margin) with pairwise_distance d (swap: the closer of d(a, n), d(p, n)).

    >>> F.triplet_margin_loss(tg.tensor([[0.0, 0.0]]), tg.tensor([[0.0, 1.0]]), tg.tensor([[0.0, 1.5]]))
    tensor(0.5)
    """
    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_an = _ops.minimum(d_an, pairwise_distance(positive, negative, p, eps))
    loss = _ops.clamp_min(margin + d_ap - d_an, 0)
    return _margin_reduce("triplet_margin_loss", loss, size_average, reduce, reduction)


@_tensor_input
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """The Poisson negative log likelihood: exp(x) - target * x (log_input), else x - target * log(x + eps);
    full adds Stirling's approximation of log(target!) where target > 1.

    >>> F.poisson_nll_loss(tg.tensor([0.0, 1.0]), tg.tensor([1.0, 2.0]))
    tensor(0.8591)
    """
    loss = exp(input) - target * input if log_input else input - target * log(input + eps)
    if full:
        safe = where(target > 1, target, 1.0)
        stirling = safe * log(safe) - safe + 0.5 * log(2 * math.pi * safe)
        loss = loss + where(target > 1, stirling, 0.0)
    return _margin_reduce("poisson_nll_loss", loss, size_average, reduce, reduction)


@_tensor_input
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 * (log(var) + (input - target)^2 / var) (+ 0.5 log(2 pi) with full), var clamped to eps (the clamp
    passes no gradient, as in PyTorch); var may lack input's last dim.

    >>> F.gaussian_nll_loss(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 4.0]), tg.tensor([1.0, 2.0]))
    tensor(0.6733)
    """
    if var.ndim == input.ndim - 1 or (var.ndim == input.ndim and var.shape[-1] == 1 and input.shape[-1] != 1):
        var = var.unsqueeze(-1) if var.ndim == input.ndim - 1 else var
    if bool((var < 0).any()):
        raise ValueError("gaussian_nll_loss: var has negative entries; variances must be non-negative")
    var = var + (_ops.clamp_min(var, eps) - var).detach()
    loss = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, _reduction("gaussian_nll_loss", None, None, reduction))


@_tensor_input
def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): channels moved into space.

    >>> F.pixel_shuffle(tg.arange(4.0).reshape(1, 4, 1, 1), 2)
    tensor([[[[0., 1.],
              [2., 3.]]]])
    """
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: channels {c} are not divisible by upscale_factor^2 = {r * r}")
    x = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    n = len(lead)
    x = x.permute(tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    return x.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


@_tensor_input
def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of pixel_shuffle.

    >>> F.pixel_unshuffle(tg.arange(4.0).reshape(1, 1, 2, 2), 2).reshape(-1)
    tensor([0., 1., 2., 3.])
    """
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle: height {h} and width {w} must be divisible by {r}")
    x = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    n = len(lead)
    x = x.permute(tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return x.reshape(tuple(lead) + (c * r * r, h // r, w // r))


@_tensor_input
def channel_shuffle(input, groups):
    """(N, g k, ...) with the channels regrouped: channel i of group j goes to position i g + j.

    >>> F.channel_shuffle(tg.arange(4.0).reshape(1, 4, 1), 2).reshape(-1)
    tensor([0., 2., 1., 3.])
    """
    n, c = input.shape[:2]
    if c % groups:
        raise ValueError(f"channel_shuffle: channels {c} are not divisible by groups {groups}")
    rest = tuple(input.shape[2:])
    return input.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape((n, c) + rest)


@_tensor_input
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta (zero padded), as PyTorch.

    >>> F.local_response_norm(tg.ones(1, 2, 1), 2, alpha=1.0)
    tensor([[[0.7378],
             [0.5946]]])
    """
    sq = (input * input).unsqueeze(1)  # (N, 1, C, ...)
    c = input.shape[1]
    padded = pad(sq, (0, 0) * (input.ndim - 2) + (size // 2, (size - 1) // 2))
    windows = _ops.stack([padded.narrow(2, i, c) for i in range(size)], 0).sum(0) / size
    return input / (windows.squeeze(1) * alpha + k) ** beta


@_tensor_input
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalises each channel of each sample over its spatial dims (the running statistics, when given, are
    updated with the batch mean of the per-instance ones, or used instead when use_input_stats is False).

    >>> F.instance_norm(tg.tensor([[[1.0, 3.0], [0.0, 4.0]]]))
    tensor([[[-1., 1.],
             [-1., 1.]]])
    """
    axes = tuple(range(2, input.ndim))
    shape = (1, input.shape[1]) + (1,) * len(axes)
    if use_input_stats:
        out = _standardize(input, axes, eps)
        if running_mean is not None or running_var is not None:
            with no_grad():
                count = math.prod(input.shape[i] for i in axes)
                mean = input.mean(axes).mean(0)
                var = input.var(axes, correction=1 if count > 1 else 0).mean(0)
                if running_mean is not None:
                    running_mean.copy_(running_mean * (1 - momentum) + mean * momentum)
                if running_var is not None:
                    running_var.copy_(running_var * (1 - momentum) + var * momentum)
    else:
        out = (input - running_mean.reshape(shape)) / _ops.sqrt(running_var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _lp_pool(pool, input, norm_type, kernel_size, stride, ceil_mode, nd):
    k = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
    out = pool(input ** norm_type, k, stride, 0, ceil_mode)
    return (_ops.sign(out) * relu(_ops.abs(out)) * math.prod(k)) ** (1.0 / norm_type)


@_tensor_input
def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The p-norm over sliding windows: (sum of x^p)^(1/p).

    >>> F.lp_pool1d(tg.tensor([[[3.0, 4.0]]]), 2, 2)
    tensor([[[5.]]])
    """
    return _lp_pool(avg_pool1d, input, norm_type, kernel_size, stride, ceil_mode, 1)


@_tensor_input
def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The p-norm over sliding 2-D windows: (sum of x^p)^(1/p).

    >>> F.lp_pool2d(tg.ones(1, 1, 2, 2), 1, 2)
    tensor([[[[4.]]]])
    """
    return _lp_pool(avg_pool2d, input, norm_type, kernel_size, stride, ceil_mode, 2)


def _feature_dropout(op, input, p, training, inplace, nd):
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    batched = input.ndim == nd + 2
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expects a {nd + 1}-D or {nd + 2}-D input, got shape {tuple(input.shape)}")
    keep_shape = tuple(input.shape[: 2 if batched else 1]) + (1,) * nd
    keep = (rand(*keep_shape, dtype=input.dtype) >= p).to(input.dtype)
    out = input * keep / (1 - p) if p < 1 else input * 0
    return _maybe_inplace(input, out, inplace, op + "_")


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of (N, C, L) (or (C, L)) with probability p in training, scaling the rest by
    1 / (1 - p).

    >>> F.dropout1d(tg.ones(1, 2, 3), 0.5, training=False).sum()
    tensor(6.)
    """
    return _feature_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of (N, C, H, W) (or (C, H, W)) with probability p in training.

    >>> F.dropout2d(tg.ones(1, 2, 2, 2), 0.0).sum()
    tensor(8.)
    """
    return _feature_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of (N, C, D, H, W) (or (C, D, H, W)) with probability p in training.

    >>> F.dropout3d(tg.ones(1, 1, 1, 1, 2), 1.0).sum()
    tensor(0.)
    """
    return _feature_dropout("dropout3d", input, p, training, inplace, 3)


@_tensor_input
def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A sample of the Gumbel-softmax (concrete) distribution over dim; with hard, one-hot in the forward pass
    with the soft sample's gradient (straight-through).

    >>> F.gumbel_softmax(tg.zeros(2, 3), hard=True).sum(-1)
    tensor([1., 1.])
    """
    u = rand(*logits.shape, dtype=logits.dtype)
    gumbels = -log(-log(u + eps) + eps)
    soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    index = soft.argmax(dim, keepdim=True)
    hard_sample = zeros(*logits.shape, dtype=logits.dtype).scatter(dim, index, 1.0)
    return hard_sample - soft.detach() + soft


def upsample_nearest(input, size=None, scale_factor=None):
    """interpolate(mode='nearest') (deprecated in PyTorch).

    >>> F.upsample_nearest(tg.tensor([[[1.0, 2.0]]]), scale_factor=2)
    tensor([[[1., 1., 2., 2.]]])
    """
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """interpolate(mode='bilinear', align_corners=True) (deprecated in PyTorch).

    >>> F.upsample_bilinear(tg.tensor([[[[0.0, 1.0]]]]), size=(1, 3))
    tensor([[[[0. , 0.5, 1. ]]]])
    """
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


@_tensor_input
def bilinear(input1, input2, weight, bias=None):
    """x1^T W_o x2 (+ b_o) for each output o: weight (out, in1, in2).

    >>> F.bilinear(tg.tensor([[1.0, 2.0]]), tg.tensor([[3.0]]), tg.ones(1, 2, 1))
    tensor([[9.]])
    """
    out = _ops.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


@_tensor_input
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: the sliding 2-D blocks of (N, C, H, W) as columns (N, C k_h k_w, L).

    >>> F.unfold(tg.arange(4.0).reshape(1, 1, 2, 2), 1).shape
    (1, 1, 4)
    """
    from ..primitives import bind as _bind
    from ..primitives.linalg import Unfold as _Unfold

    k, d, p, s = (_pair(v) for v in (kernel_size, dilation, padding, stride))
    if input.ndim != 4:
        raise ValueError(f"unfold: expects a 4-D (N, C, H, W) input, got shape {tuple(input.shape)}")
    x = pad(input, (p[1], p[1], p[0], p[0])) if any(p) else input
    cols = _bind(_Unfold, x, kernel=k, stride=s, dilation=d)  # (N, C, oh, ow, kh, kw)
    n, c, oh, ow = cols.shape[:4]
    return cols.permute(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], oh * ow)


@_tensor_input
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: the transpose of unfold, summing overlapping blocks into (N, C, H, W).

    >>> F.fold(tg.ones(1, 4, 1), (2, 2), 2)
    tensor([[[[1., 1.],
              [1., 1.]]]])
    """
    from ..primitives import bind as _bind
    from ..primitives.linalg import Fold as _Fold, window_out_size

    k, d, p, s = (_pair(v) for v in (kernel_size, dilation, padding, stride))
    size = _pair(output_size)
    padded = (size[0] + 2 * p[0], size[1] + 2 * p[1])
    oh, ow = (window_out_size(padded[i], k[i], s[i], d[i]) for i in range(2))
    batched = input.ndim == 3
    x = input if batched else input.unsqueeze(0)
    n, ckk, length = x.shape
    if ckk % (k[0] * k[1]) or length != oh * ow:
        raise ValueError(f"fold: input {tuple(input.shape)} does not hold ({k[0]}x{k[1]}) blocks at {oh}x{ow} "
                         "positions")
    c = ckk // (k[0] * k[1])
    cols = x.reshape(n, c, k[0], k[1], oh, ow).permute(0, 1, 4, 5, 2, 3)
    out = _bind(_Fold, cols, size=padded, kernel=k, stride=s, dilation=d)
    out = out[:, :, p[0]: p[0] + size[0], p[1]: p[1] + size[1]]
    return out if batched else out.squeeze(0)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@_tensor_input
def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The p-norm over sliding 3-D windows: (sum of x^p)^(1/p).

    >>> F.lp_pool3d(tg.ones(1, 1, 2, 2, 2), 1, 2)
    tensor([[[[[8.]]]]])
    """
    return _lp_pool(avg_pool3d, input, norm_type, kernel_size, stride, ceil_mode, 3)


@_tensor_input
def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """max(0, d(a, p) - d(a, n) + margin) for any distance function d (pairwise_distance by default).

    >>> F.triplet_margin_with_distance_loss(tg.tensor([[0.0]]), tg.tensor([[1.0]]), tg.tensor([[3.0]]),
    ...                                     distance_function=lambda a, b: (a - b).abs().sum(-1))
    tensor(0.)
    """
    d = distance_function or pairwise_distance
    d_ap, d_an = d(anchor, positive), d(anchor, negative)
    if swap:
        d_an = _ops.minimum(d_an, d(positive, negative))
    loss = _ops.clamp_min(margin + d_ap - d_an, 0)
    return _reduce(loss, _reduction("triplet_margin_with_distance_loss", None, None, reduction))


@_tensor_input
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """The multi-class hinge loss: sum over j != y of max(0, margin - x[y] + x[j])^p / C (times weight[y]).

    >>> F.multi_margin_loss(tg.tensor([[0.1, 0.2, 0.4, 0.8]]), tg.tensor([3]))
    tensor(0.325)
    """
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p}")
    x = input if input.ndim == 2 else input.unsqueeze(0)
    t = target.reshape(-1, 1)
    picked = x.gather(1, t)
    hinge = _ops.clamp_min(margin - picked + x, 0) ** p
    if weight is not None:
        hinge = hinge * weight[t.reshape(-1)].unsqueeze(1)
    others = one_hot(t.reshape(-1), x.shape[1]) == 0
    loss = where(others, hinge, 0.0).sum(1) / x.shape[1]
    loss = loss if input.ndim == 2 else loss.squeeze(0)
    return _reduce(loss, _reduction("multi_margin_loss", size_average, reduce, reduction))


_DROPPED_VALUE = -1.7580993408473766  # -scale * alpha of selu: the value alpha dropout gives dropped units


def _alpha_dropout(op, input, p, training, feature):
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    keep_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if feature else tuple(input.shape)
    keep = (rand(*keep_shape, dtype=input.dtype) >= p).to(input.dtype)
    a = ((1 - p) * (1 + p * _DROPPED_VALUE**2)) ** -0.5
    b = -a * _DROPPED_VALUE * p
    return (input * keep + _DROPPED_VALUE * (1 - keep)) * a + b


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's self-normalising mean and variance: dropped units take selu's negative
    saturation value, then an affine map restores mean 0 and variance 1.

    >>> F.alpha_dropout(tg.ones(2), 0.5)
    tensor([1., 1.])
    """
    return _maybe_inplace(input, _alpha_dropout("alpha_dropout", input, p, training, False), inplace,
                          "alpha_dropout_")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout over whole channels of (N, C, ...).

    >>> F.feature_alpha_dropout(tg.ones(1, 2, 2), 0.5).shape
    (1, 2, 2)
    """
    return _maybe_inplace(input, _alpha_dropout("feature_alpha_dropout", input, p, training, True), inplace,
                          "feature_alpha_dropout_")


def _max_unpool(op, input, indices, kernel_size, stride, padding, output_size, nd):
    k = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
    s = k if stride is None else (stride,) * nd if isinstance(stride, int) else tuple(stride)
    p = (padding,) * nd if isinstance(padding, int) else tuple(padding)
    spatial = tuple(input.shape[-nd:])
    if output_size is None:
        out = tuple((spatial[i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nd))
    else:
        out = tuple(output_size)[-nd:]
    lead = tuple(input.shape[:-nd])
    flat_in = input.reshape(lead + (-1,))
    target = zeros(*(lead + (math.prod(out),)), dtype=input.dtype)
    return target.scatter(-1, indices.reshape(lead + (-1,)), flat_in).reshape(lead + out)


@_tensor_input
def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool1d: each value put back at its index (from return_indices=True), zeros elsewhere.

    >>> y, i = F.max_pool1d(tg.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, return_indices=True)
    >>> F.max_unpool1d(y, i, 2)
    tensor([[[0., 3., 2., 0.]]])
    """
    return _max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding, output_size, 1)


@_tensor_input
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool2d (values back at their indices, zeros elsewhere).

    >>> y, i = F.max_pool2d(tg.tensor([[[[1.0, 2.0], [4.0, 3.0]]]]), 2, return_indices=True)
    >>> F.max_unpool2d(y, i, 2)
    tensor([[[[0., 0.],
              [4., 0.]]]])
    """
    return _max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding, output_size, 2)


@_tensor_input
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool3d (values back at their indices, zeros elsewhere).

    >>> y, i = F.max_pool3d(tg.arange(8.0).reshape(1, 1, 2, 2, 2), 2, return_indices=True)
    >>> F.max_unpool3d(y, i, 2).sum()
    tensor(7.)
    """
    return _max_unpool("max_unpool3d", input, indices, kernel_size, stride, padding, output_size, 3)
