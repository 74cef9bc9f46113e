"""tf.nn: TensorFlow's neural-network functions with TF's names, signatures and layouts (NHWC by default).

Built on tapegrad.nn.functional and ops/: channels-last inputs are permuted to the channels-first
layout the core kernels use, and TF's "SAME" padding (which can be uneven: the extra row goes after)
is applied as an explicit pad before a VALID core call.
"""

from __future__ import annotations

import math as _pymath

from .. import ops as _ops
from ..nn import functional as _F
from . import random as _random
from .math import (  # noqa: F401  (the same functions under tf.nn)
    l2_normalize,
    log_softmax,
    sigmoid,
    softmax,
    softplus,
    tanh,
    top_k,
)
from .names import convert_to_tensor as _tensor


def relu(features, name=None):
    return _F.relu(_tensor(features))


def relu6(features, name=None):
    return _F.relu6(_tensor(features))


def leaky_relu(features, alpha=0.2, name=None):
    return _F.leaky_relu(_tensor(features), alpha)


def elu(features, name=None):
    return _F.elu(_tensor(features))


def selu(features, name=None):
    return _F.selu(_tensor(features))


def gelu(features, approximate=False, name=None):
    return _F.gelu(_tensor(features), approximate="tanh" if approximate else "none")


def silu(features, beta=1.0, name=None):
    x = _tensor(features)
    return x * _ops.sigmoid(beta * x)


swish = silu


def softsign(features, name=None):
    return _F.softsign(_tensor(features))


def log_sigmoid(x, name=None):
    return _F.logsigmoid(_tensor(x))


def bias_add(value, bias, data_format=None, name=None):
    """value + bias along the channel axis: the last one (NHWC), or axis 1 for data_format 'NC...'."""
    value, bias = _tensor(value), _tensor(bias)
    if data_format is not None and data_format.startswith("NC"):
        return value + bias.reshape((-1,) + (1,) * (value.ndim - 2))
    return value + bias


# *** losses ***


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Elementwise max(x, 0) - x * z + log(1 + exp(-|x|)): stable for any logit x and label z."""
    if labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits: pass both labels= and logits= by keyword, as in TF")
    z, x = _tensor(labels), _tensor(logits)
    _same_shape("sigmoid_cross_entropy_with_logits", z, x)
    return _F.relu(x) - x * z + _ops.log1p(_ops.exp(-_ops.abs(x)))


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None):
    z, x = _tensor(labels), _tensor(logits)
    log_weight = 1 + (pos_weight - 1) * z
    return (1 - z) * x + log_weight * (_ops.log1p(_ops.exp(-_ops.abs(x))) + _F.relu(-x))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """-sum(labels * log_softmax(logits)) over axis: one loss per example (labels are probabilities)."""
    labels, logits = _tensor(labels), _tensor(logits)
    _same_shape("softmax_cross_entropy_with_logits", labels, logits)
    return -_ops.sum(labels * _F.log_softmax(logits, dim=axis), dim=axis)


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """Per-example loss for integer class labels of shape logits.shape[:-1]."""
    labels, logits = _tensor(labels), _tensor(logits)
    if tuple(labels.shape) != tuple(logits.shape[:-1]):
        raise ValueError(
            f"sparse_softmax_cross_entropy_with_logits: labels have shape {tuple(labels.shape)} but logits "
            f"{tuple(logits.shape)}; labels must have the shape of logits without its last (class) axis"
        )
    logp = _F.log_softmax(logits, dim=-1)
    return -_ops.take_along_dim(logp, labels.long().unsqueeze(-1), dim=-1).squeeze(-1)


def l2_loss(t, name=None):
    """sum(t ** 2) / 2."""
    t = _tensor(t)
    return _ops.sum(t * t) / 2


def _same_shape(op, a, b):
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{op}: labels have shape {tuple(a.shape)} but logits {tuple(b.shape)}; they must be equal")


# *** statistics and normalisation ***


def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) over axes; the variance is the biased one (divided by N), as in TF."""
    x = _tensor(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    mean = _ops.mean(x, dim=axes, keepdim=True)
    variance = _ops.mean(_ops.square(x - mean), dim=axes, keepdim=True)
    if not keepdims:
        mean, variance = mean.squeeze(axes), variance.squeeze(axes)
    return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    x = _tensor(x)
    inv = _ops.rsqrt(_tensor(variance) + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    out = (x - mean) * inv
    return out + offset if offset is not None else out


def embedding_lookup(params, ids, max_norm=None, name=None):
    return _ops.index_select(_tensor(params), 0, _tensor(ids).long().reshape(-1)).reshape(
        tuple(_tensor(ids).shape) + tuple(_tensor(params).shape[1:])
    )


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zero each element with probability rate and scale the rest by 1 / (1 - rate) (always: TF's nn.dropout
    has no training flag; Keras' Dropout layer decides when to call it)."""
    x = _tensor(x)
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if rate == 0:
        return x
    shape = tuple(x.shape) if noise_shape is None else tuple(noise_shape)
    keep = _random.uniform(shape, dtype=x.dtype, seed=seed) >= rate
    return x * keep.to(x.dtype) / (1 - rate)


# *** convolution and pooling (NHWC default) ***


def _spatial(op, value, n, name, default=None):
    """TF's strides / ksize / dilations: an int, n ints, or n + 2 ints with 1 at batch and channel."""
    if value is None:
        return (default,) * n
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) == n:
        return value
    if len(value) == n + 2:
        return value[1:-1]
    raise ValueError(f"{op}: {name} must be an int or a list of 1, {n} or {n + 2} ints, got {value}")


def _channels_last(op, data_format, nd):
    if data_format is None:
        return True
    if data_format in ("NHWC", "NWC", "NDHWC"):
        return True
    if data_format in ("NCHW", "NCW", "NCDHW"):
        return False
    raise ValueError(f"{op}: data_format must be 'NHWC' or 'NCHW' (or the 1-d / 3-d forms), got {data_format!r}")


def _to_nchw(x, last):
    return _ops.movedim(x, -1, 1) if last else x


def _from_nchw(x, last):
    return _ops.movedim(x, 1, -1) if last else x


def _same_pads(sizes, kernel, strides, dilations):
    """TF's SAME: output ceil(n / s); total padding split with the extra element after."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilations):
        eff = (k - 1) * d + 1
        total = max((_pymath.ceil(n / s) - 1) * s + eff - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _pad_spatial(op, x, padding, kernel, strides, dilations, value=0.0):
    """x in channels-first layout, padded for TF's padding ('SAME', 'VALID' or explicit pairs)."""
    nd = len(kernel)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return x
        if mode != "SAME":
            raise ValueError(f"{op}: padding must be 'SAME', 'VALID' or a list of pairs, got {padding!r}")
        pads = _same_pads(tuple(x.shape[2:]), kernel, strides, dilations)
    else:
        pairs = [tuple(p) for p in padding]
        pads = pairs[1:-1] if len(pairs) == nd + 2 else pairs  # explicit NHWC pairs: drop batch and channel
    flat = []
    for before, after in reversed(pads):  # functional.pad lists the last axis first
        flat += [before, after]
    if not any(flat):
        return x
    return _F.pad(x, flat, value=value)


def convolution(input, filters, strides=None, padding="VALID", data_format=None, dilations=None, name=None):
    """N-d convolution with TF's filter layout [*spatial, in_channels, out_channels]."""
    x, w = _tensor(input), _tensor(filters)
    nd = w.ndim - 2
    op = f"conv{nd}d"
    last = _channels_last(op, data_format, nd)
    strides, dilations = _spatial(op, strides, nd, "strides", 1), _spatial(op, dilations, nd, "dilations", 1)
    x = _to_nchw(x, last)
    if x.shape[1] % w.shape[-2]:
        raise ValueError(
            f"{op}: input has {x.shape[1]} channels but filters {tuple(w.shape)} expect a multiple of {w.shape[-2]} "
            "(filters are [height, width, in_channels, out_channels] in TensorFlow)"
        )
    groups = x.shape[1] // w.shape[-2]
    kernel = tuple(w.shape[:nd])
    x = _pad_spatial(op, x, padding, kernel, strides, dilations)
    weight = w.permute((nd + 1, nd) + tuple(range(nd)))  # [out, in, *spatial]
    conv = {1: _ops.conv1d, 2: _ops.conv2d, 3: _ops.conv3d}[nd]
    return _from_nchw(conv(x, weight, None, strides, 0, dilations, groups), last)


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):
    return convolution(input, filters, strides, padding, data_format, dilations)


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None, name=None):
    return convolution(input, filters, stride, padding, data_format, dilations)


def depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None, name=None):
    """filter [h, w, in, multiplier]: each input channel convolved with its own `multiplier` filters."""
    w = _tensor(filter)
    h, k, cin, mult = w.shape
    grouped = w.reshape((h, k, 1, cin * mult))  # one input channel per group
    return convolution(input, grouped, strides, padding, data_format, dilations)


def _pool(op, x, ksize, strides, padding, data_format, kind):
    x = _tensor(x)
    nd = x.ndim - 2
    last = _channels_last(op, data_format, nd)
    kernel, strides = _spatial(op, ksize, nd, "ksize"), _spatial(op, strides, nd, "strides")
    xc = _to_nchw(x, last)
    if kind == "max":
        padded = _pad_spatial(op, xc, padding, kernel, strides, (1,) * nd, value=float("-inf"))
        pool = {1: _ops.max_pool1d, 2: _ops.max_pool2d, 3: _ops.max_pool3d}[nd]
        return _from_nchw(pool(padded, kernel, strides), last)
    # TF's average ignores padded positions: sum over the window / number of real elements in it
    pool = {1: _ops.avg_pool1d, 2: _ops.avg_pool2d, 3: _ops.avg_pool3d}[nd]
    total = pool(_pad_spatial(op, xc, padding, kernel, strides, (1,) * nd), kernel, strides)
    ones = _ops.ones((1, 1) + tuple(xc.shape[2:]), dtype=xc.dtype)
    count = pool(_pad_spatial(op, ones, padding, kernel, strides, (1,) * nd), kernel, strides)
    return _from_nchw(total / count, last)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    return _pool("max_pool2d", input, ksize, strides, padding, data_format, "max")


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    return _pool("avg_pool2d", input, ksize, strides, padding, data_format, "avg")


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    return _pool("max_pool1d", input, ksize, strides, padding, data_format, "max")


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    return _pool("avg_pool1d", input, ksize, strides, padding, data_format, "avg")


def max_pool(input, ksize, strides, padding, data_format=None, name=None):
    return _pool("max_pool", input, ksize, strides, padding, data_format, "max")


def avg_pool(input, ksize, strides, padding, data_format=None, name=None):
    return _pool("avg_pool", input, ksize, strides, padding, data_format, "avg")


max_pool2d.__doc__ = "Max over ksize windows of an NHWC tensor; 'SAME' pads with -inf (never chosen)."
avg_pool2d.__doc__ = "Mean over ksize windows of an NHWC tensor; 'SAME' averages only the real elements."
