"""Convolution and pooling composites (PyTorch signatures): pad + Unfold + matmul for conv, matmul + Fold for
conv_transpose, Unfold + argmax/gather for max pooling, Unfold + sum for average pooling. Built on ops/ and
primitives/linalg.py; exported as tg.conv2d, ... and re-exported by tg.nn.functional.

The conv composite lays the window matrix out as its GEMM and Fold want (_gemm_conv). Eager calls (no transform
active) take faster paths: conv (groups 1, float32 / float64) computed on arrays in blocks of images and recorded as
one Node (_fused_conv), and max pooling over windows that tile the input as one index by each window's first maximum
(_tiled_max_pool). Traced graphs keep the composites (the values are equal up to summation order).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtype as dt
from ..primitives import base as _base
from ..primitives import bind
from ..primitives.indexing import Index
from ..primitives.reduce import TileArgmax
from ..autograd import engine as _engine
from ..autograd.grad_mode import ANOMALY
from ..backends import buffers
from ..primitives.linalg import Fold, Unfold
from ..primitives.movement import Reshape
from ..tensor import Tensor
from .creation import arange, ones
from .linalg import matmul
from .shape import pad_constant

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
]  # fmt: skip

_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


# *** argument checking ***


def _ntuple(op, name, value, n) -> tuple:
    """An int or a sequence of n ints, as a tuple of n ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == 1 and n > 1:
        value = tuple(value) * n  # PyTorch accepts (k,) for a k x k kernel
    if isinstance(value, (tuple, list)) and len(value) == n and all(isinstance(v, (int, np.integer)) for v in value):
        return tuple(int(v) for v in value)
    raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")


def _at_least(op, name, values, low) -> tuple:
    if any(v < low for v in values):
        raise ValueError(f"{op}: {name} must be >= {low} in every dimension, got {values}")
    return values


def _batched(op, x, nd):
    """x as (N, C, *S), and whether it came unbatched as (C, *S) (then the result drops N again)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim == nd + 2:
        return x, False
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    raise ValueError(
        f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input of shape (N, C, {_SPATIAL[nd]}), "
        f"got shape {tuple(x.shape)}"
    )


def _unbatch(out, unbatched):
    return out.squeeze(0) if unbatched else out


def _check_fits(op, spatial, padded, kernel, dilation, shape):
    """The dilated kernel must fit in the padded input, else there is no window position at all."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(s > p for s, p in zip(span, padded)):
        raise ValueError(
            f"{op}: the kernel {kernel} (dilation {dilation}, so it spans {span}) is larger than the padded input "
            f"{padded} (input shape {tuple(shape)}); use a smaller kernel or more padding"
        )


def _eager(x) -> bool:
    """True for an eager op on a numpy array with no transform active: the fast paths below may then pick a
    layout or compute a constant (a pooling mask) on the array. Traced graphs keep the composites."""
    return not (_base._ANYWHERE[0] and _base.INTERPRETERS) and type(x._data) is np.ndarray


def _windows(x, kernel, stride, dilation):
    """All windows of x (N, C, *S): (N, C, *O, *K)."""
    return bind(Unfold, x, kernel=tuple(kernel), stride=tuple(stride), dilation=tuple(dilation))


# *** convolution ***


def _check_conv_operands(op, nd, x, weight, bias, groups, transposed):
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim != nd + 2:
        layout = "(C_in, C_out / groups, " if transposed else "(C_out, C_in / groups, "
        raise ValueError(f"{op}: weight must be {nd + 2}-D {layout}{_SPATIAL[nd]}), got shape {tuple(weight.shape)}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and t.dtype is not x.dtype:
            raise TypeError(
                f"{op}: input ({x.dtype.name}) and {name} ({t.dtype.name}) must have the same dtype; "
                f"convert one of them, e.g. {name}.to(input.dtype)"
            )
    c_in = x.shape[1]
    if transposed:
        _check_transposed_channels(op, x, weight, groups)
    else:
        _check_channels(op, x, weight, groups)
    c_out = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(
            f"{op}: bias must have shape ({c_out},) (one value per output channel), got {tuple(bias.shape)}"
        )
    return c_in, c_out


def _check_channels(op, x, weight, groups):
    c_out, c_in_g = weight.shape[:2]
    if c_out % groups:
        raise ValueError(
            f"{op}: the {c_out} output channels of weight {tuple(weight.shape)} are not divisible by groups={groups}"
        )
    if x.shape[1] != c_in_g * groups:
        raise ValueError(
            f"{op}: weight of shape {tuple(weight.shape)} with groups={groups} expects input with "
            f"{c_in_g * groups} channels (dim 1), but got input of shape {tuple(x.shape)} with {x.shape[1]} channels; "
            f"the weight's dim 1 must be input channels / groups"
        )


def _check_transposed_channels(op, x, weight, groups):
    if weight.shape[0] != x.shape[1]:
        raise ValueError(
            f"{op}: weight of shape {tuple(weight.shape)} expects input with {weight.shape[0]} channels (dim 1), "
            f"but got input of shape {tuple(x.shape)} with {x.shape[1]} channels; a transposed weight is "
            f"(C_in, C_out / groups, *kernel)"
        )
    if x.shape[1] % groups:
        raise ValueError(f"{op}: the {x.shape[1]} input channels are not divisible by groups={groups}")


def _conv_padding(op, padding, nd, kernel, stride, dilation) -> tuple:
    """((before, after), ...) per spatial dim; 'same' puts the odd extra element after, as PyTorch does."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    f"{op}: padding='same' is not supported with stride {stride} (the output size would not equal "
                    f"the input size); use stride=1 or give the padding as numbers"
                )
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple of {nd} ints, got {padding!r}")
    pads = _at_least(op, "padding", _ntuple(op, "padding", padding, nd), 0)
    return tuple((p, p) for p in pads)


def _add_bias(out, bias, nd):
    return out if bias is None else out + bias.reshape((1, -1) + (1,) * nd)


def _conv(op, nd, x, weight, bias, stride, padding, dilation, groups, fuse=True):
    x, unbatched = _batched(op, x, nd)
    _check_conv_operands(op, nd, x, weight, bias, groups, transposed=False)
    kernel = tuple(weight.shape[2:])
    stride = _at_least(op, "stride", _ntuple(op, "stride", stride, nd), 1)
    dilation = _at_least(op, "dilation", _ntuple(op, "dilation", dilation, nd), 1)
    widths = _conv_padding(op, padding, nd, kernel, stride, dilation)
    if fuse and groups == 1 and _eager(x) and _fusable(x, weight, bias) and ANOMALY.watch is None:
        padded = tuple(n + a + b for n, (a, b) in zip(x.shape[2:], widths))
        _check_fits(op, x.shape[2:], padded, kernel, dilation, x.shape)
        out = _fused_conv(op, nd, x, weight, bias, (padding, widths), stride, dilation)
        return _unbatch(out, unbatched)
    xp = pad_constant(x, ((0, 0), (0, 0)) + widths)
    _check_fits(op, x.shape[2:], xp.shape[2:], kernel, dilation, x.shape)
    cols = _windows(xp, kernel, stride, dilation)  # (N, C, *O, *K)
    outs = tuple(cols.shape[2 : 2 + nd])
    return _unbatch(_add_bias(_gemm_conv(cols, weight, groups, outs), bias, nd), unbatched)


_FUSED_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# Bytes of window matrix per block of images in the fused conv: W2's conv2 has 42 MB of windows for 64 images, which
# as one matrix went to memory and back three times a step (written, read by the GEMM, read again by the weight
# gradient) and was a fresh allocation (page faults) each time; blocks of this size stay in the 32 MB L3 cache.
# Measured on W2 (one process, blocks interleaved, machine busy): one thread level from 6 to 24 MB (117-122 ms of
# CPU a step; 3 MB 120-138, one 42 MB block 128-133); two BLAS threads on the busy cores 604-613 ms a step from 12
# MB up, 720 at 6 MB and 843 at 3 MB (every GEMM call is a barrier for OpenBLAS's threads, so fewer is better).
_BLOCK_BYTES = 16 << 20


def _fusable(x, weight, bias) -> bool:
    """Float32 / float64 numpy operands of one dtype: the case _fused_conv computes."""
    return (x._data.dtype in _FUSED_FLOATS and type(weight._data) is np.ndarray
            and (bias is None or type(bias._data) is np.ndarray))


def _blocks(n, per_image) -> list:
    """[(start, stop)] of about even blocks of the n images, each holding at most _BLOCK_BYTES of windows."""
    count = max(1, min(n, -(-n * per_image // _BLOCK_BYTES)))
    step = max(1, -(-n // count))  # n = 0 (an empty batch): no block
    return [(i, min(n, i + step)) for i in range(0, n, step)]


def _fused_conv(op, nd, x, weight, bias, padding, stride, dilation):
    """Eager conv (groups = 1) computed on arrays, blocks of images at a time, recorded as one Node (as PyTorch's
    convolution is one kernel and one backward): per block, the windows in GEMM layout (C*K, B*P), one GEMM with
    the weight (O, C*K), and the bias added while the (O, B, P) result is written to NCHW. The backward redoes each
    block's windows (cheaper than keeping 42 MB of them for W2) for the weight gradient (cols @ g.T, transposed); the
    input gradient (W.T @ g, folded back) is computed only for an input that needs one (W2's images do not).
    Values are the composite's up to the GEMMs' summation order; create_graph and transforms replay the composite."""
    xd, wd = x._data, weight._data
    padding, widths = padding  # as given (for the replay), and as (before, after) per spatial dim
    kernel, n, c, o = tuple(wd.shape[2:]), xd.shape[0], xd.shape[1], wd.shape[0]
    xp = np.pad(xd, ((0, 0), (0, 0)) + widths) if any(a or b for a, b in widths) else xd
    win = Unfold.impl(xp, kernel=kernel, stride=tuple(stride), dilation=tuple(dilation))  # (N, C, *O, *K), a view
    outs = tuple(win.shape[2 : 2 + nd])
    p, ck = math.prod(outs), c * math.prod(kernel)
    to_rows = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))  # (C, *K, B, *O)
    w2 = wd.reshape(o, ck)
    blocks = _blocks(n, p * ck * xd.itemsize)

    def cols_of(n0, n1):  # the block's windows as a C-contiguous (C*K, B*P) matrix (a C kernel copies large ones)
        return Reshape.impl(win[n0:n1].transpose(to_rows), shape=(ck, (n1 - n0) * p))

    out = buffers.empty((n, o) + outs, xd.dtype)  # large temporaries from the pool: no fresh pages to fault in
    for n0, n1 in blocks:
        cols = cols_of(n0, n1)
        res = np.matmul(w2, cols, out=buffers.empty((o, cols.shape[1]), xd.dtype))
        res = res.reshape(o, n1 - n0, p).transpose(1, 0, 2)
        dst = out[n0:n1].reshape(n1 - n0, o, p)
        if bias is None:
            np.copyto(dst, res)
        else:
            np.add(res, bias._data.reshape(o, 1), out=dst)
    inputs = [x, weight] if bias is None else [x, weight, bias]

    def vjp(g, needs):  # reads x and the weight: the node checks that neither changed in place since
        grads = [None] * len(inputs)
        if len(inputs) == 3 and needs[2]:
            grads[2] = g.sum(axis=(0,) + tuple(range(2, 2 + nd)))
        # the weight gradient as cols @ g.T, a (C*K, O) result: OpenBLAS with two threads took a median 45 ms (686 at
        # worst) for W2's g @ cols.T blocks, (64 x 12672) @ (12672 x 288), against 12 ms (23 at worst) this way
        dwt = np.zeros((ck, o), g.dtype) if needs[1] else None
        # every image's slice of dxp is written by its block's Fold: no zeros (a 5.5 MB memset a W2 step), and one
        # block's Fold result is dxp itself
        dxp = (buffers.empty(xp.shape, g.dtype) if len(blocks) != 1 else None) if needs[0] else None
        for n0, n1 in blocks:
            nb = n1 - n0
            gb = g[n0:n1].reshape(nb, o, p).transpose(1, 0, 2).reshape(o, nb * p)  # (O, B*P)
            if dwt is not None:
                dwt += cols_of(n0, n1) @ gb.T
            if needs[0]:
                dcols = np.matmul(w2.T, gb, out=buffers.empty((ck, nb * p), g.dtype))
                dcols = dcols.reshape((c,) + kernel + (nb,) + outs)  # (C, *K, B, *O)
                folded = Fold.impl(dcols.transpose(np.argsort(to_rows)), size=xp.shape[2:], kernel=kernel,
                                   stride=tuple(stride), dilation=tuple(dilation))
                if dxp is None:
                    dxp = folded
                else:
                    dxp[n0:n1] = folded
        if dwt is not None:
            grads[1] = np.ascontiguousarray(dwt.T).reshape(wd.shape)
        if dxp is not None:
            grads[0] = dxp[(slice(None), slice(None)) + tuple(slice(a, a + m) for (a, _), m in
                                                             zip(widths, xd.shape[2:]))] if xp is not xd else dxp
        return grads

    def replay(x, weight, bias=None):
        return _conv(op, nd, x, weight, bias, stride, padding, dilation, 1, fuse=False)

    # the vjp reads x and the weight, not the bias (only its shape): as in PyTorch, the bias may change in place
    return _engine.fused("ConvolutionBackward0", inputs, out, vjp, replay, checked=(0, 1))


def _gemm_conv(cols, weight, g, outs):
    """Conv from the windows (N, C, *O, *K) as composites (traced graphs, and eager calls that _fused_conv does not
    take): the window matrix laid out as (G, Cg*K, N*P) (channels and kernel offsets major, output positions minor),
    then one GEMM per group, (G, Og, Cg*K) @ (G, Cg*K, N*P).

    Why this layout (measured on W2): building it reads the input in runs along the last spatial dim; in the
    backward, the window gradient W.T @ g comes out in the same layout, so Fold adds each kernel offset's
    contiguous (N, C, *O) rows instead of gathering elements Cg*K apart; and every GEMM is one large call (per-sample
    GEMMs are as fast on one thread but far slower when OpenBLAS's threads share busy cores). The (G, Og, N, P)
    result is transposed to NCHW by one copy of the output, the smallest array of the three."""
    nd = len(outs)
    n, c, p = cols.shape[0], cols.shape[1], math.prod(outs)
    og, ck = weight.shape[0] // g, math.prod(weight.shape[1:])
    to_rows = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))  # (C, *K, N, *O)
    cols = cols.permute(to_rows).reshape(g, ck, n * p)
    if g == 1 and ck * og >= 4096:
        # as (N*P, C*K) @ (C*K, O), both 2-D, the weight transposed into a C-contiguous copy: then the matmul kernel
        # computes the weight gradient as cols @ g (a (C*K, O) result); the window gradient still comes out as
        # (C*K, N*P) (the kernel follows the F-ordered operand). Why: with two OpenBLAS threads on busy cores, W2's
        # conv2 weight gradient (288 x 64, K = N*P = 36864) took 3-8x longer as (O, N*P) @ (N*P, C*K) (the 3-D path
        # below) than as cols @ g, while conv1's small one (32 x 9) was 10x faster that way; one thread: all equal.
        w_t = weight.reshape(og, ck).mT.reshape(-1).reshape(ck, og)  # flattening copies (clone keeps the layout)
        out = matmul(cols[0].mT, w_t)  # (N*P, O)
        return out.reshape(n, p, og).permute(0, 2, 1).reshape(n, og * p).reshape((n, og) + outs)
    out = matmul(weight.reshape(g, og, ck), cols)  # (G, Og, N*P)
    # NOTE: (N, O*P) first: numpy would split P into *O as a view, leaving an (O, N, *O)-ordered result whose layout
    # every later op inherits; merging O with P forces the one transposing copy here
    return out.reshape(g * og, n, p).permute(1, 0, 2).reshape(n, g * og * p).reshape((n, g * og) + outs)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution (cross-correlation, as in PyTorch) of input (N, C_in, L) with weight (C_out, C_in/groups, k).

    Args: stride, padding (int, tuple, 'valid' or 'same'), dilation, groups as in torch.nn.functional.conv1d.
    Returns (N, C_out, L_out); an unbatched (C_in, L) input gives (C_out, L_out).

    >>> F.conv1d(tg.tensor([[[1.0, 2.0, 3.0]]]), tg.tensor([[[1.0, 1.0]]]))
    tensor([[[3., 5.]]])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution of input (N, C_in, H, W) with weight (C_out, C_in/groups, kH, kW).

    Args: stride, padding (int, tuple, 'valid' or 'same'), dilation, groups as in torch.nn.functional.conv2d.

    >>> import tapegrad as tg
    >>> tg.conv2d(tg.ones(1, 1, 3, 3), tg.ones(1, 1, 2, 2)).shape
    (1, 1, 2, 2)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """3-D convolution of input (N, C_in, D, H, W) with weight (C_out, C_in/groups, kD, kH, kW).

    >>> F.conv3d(tg.ones(1, 1, 2, 2, 2), tg.ones(1, 1, 2, 2, 2))
    tensor([[[[[8.]]]]])
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


# *** transposed convolution ***


def _transposed_sizes(op, spatial, kernel, stride, padding, output_padding, dilation):
    """(full, out): the size Fold writes before cropping `padding` from both ends, and the output size."""
    for o, s, d in zip(output_padding, stride, dilation):
        if o >= s and o >= d:
            raise ValueError(
                f"{op}: output_padding {output_padding} must be smaller than either stride {stride} or "
                f"dilation {dilation} in every dimension"
            )
    full = tuple(
        (n - 1) * s + d * (k - 1) + 1 + o for n, k, s, d, o in zip(spatial, kernel, stride, dilation, output_padding)
    )
    out = tuple(f - 2 * p for f, p in zip(full, padding))
    if any(o <= 0 for o in out):
        raise ValueError(
            f"{op}: padding {padding} is too large for input size {spatial} and kernel {kernel}: the output size "
            f"would be {out}; reduce the padding"
        )
    return full, out


def _conv_transpose(op, nd, x, weight, bias, stride, padding, output_padding, groups, dilation):
    x, unbatched = _batched(op, x, nd)
    _check_conv_operands(op, nd, x, weight, bias, groups, transposed=True)
    kernel, spatial = tuple(weight.shape[2:]), tuple(x.shape[2:])
    stride = _at_least(op, "stride", _ntuple(op, "stride", stride, nd), 1)
    dilation = _at_least(op, "dilation", _ntuple(op, "dilation", dilation, nd), 1)
    if isinstance(padding, str):
        raise TypeError(
            f"{op}: padding must be an int or a tuple of {nd} ints (strings are for conv only), got {padding!r}"
        )
    padding = _at_least(op, "padding", _ntuple(op, "padding", padding, nd), 0)
    output_padding = _at_least(op, "output_padding", _ntuple(op, "output_padding", output_padding, nd), 0)
    full, _ = _transposed_sizes(op, spatial, kernel, stride, padding, output_padding, dilation)
    n, g, og = x.shape[0], groups, weight.shape[1]
    cg, p, kp = x.shape[1] // g, math.prod(spatial), math.prod(kernel)
    # every input position spreads x . w over a window: (G, N*P, Cg) @ (G, Cg, Og*K), then Fold adds the windows
    xs = x.reshape(n, g, cg, p).permute(1, 0, 3, 2).reshape(g, n * p, cg)
    cols = matmul(xs, weight.reshape(g, cg, og * kp))
    cols = cols.reshape(g, n, p, og, kp).permute(1, 0, 3, 2, 4).reshape((n, g * og) + spatial + kernel)
    out = bind(Fold, cols, size=full, kernel=kernel, stride=stride, dilation=dilation)
    out = pad_constant(out, ((0, 0), (0, 0)) + tuple((-q, -q) for q in padding))  # negative widths crop
    return _unbatch(_add_bias(out, bias, nd), unbatched)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor:
    """1-D transposed convolution of input (N, C_in, L) with weight (C_in, C_out/groups, k), as in PyTorch.

    >>> F.conv_transpose1d(tg.tensor([[[1.0, 2.0]]]), tg.tensor([[[1.0, 1.0]]]))
    tensor([[[1., 3., 2.]]])
    """
    return _conv_transpose(
        "conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor:
    """2-D transposed convolution of input (N, C_in, H, W) with weight (C_in, C_out/groups, kH, kW).

    The output size per dim is (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.

    >>> F.conv_transpose2d(tg.ones(1, 1, 1, 1), tg.ones(1, 1, 2, 2))
    tensor([[[[1., 1.],
              [1., 1.]]]])
    """
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor:
    """3-D transposed convolution of input (N, C_in, D, H, W) with weight (C_in, C_out/groups, kD, kH, kW).

    >>> F.conv_transpose3d(tg.ones(1, 1, 1, 1, 1), tg.ones(1, 1, 1, 1, 2)).shape
    (1, 1, 1, 1, 2)
    """
    return _conv_transpose(
        "conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


# *** pooling ***


def _pool_args(op, nd, kernel_size, stride, padding, dilation):
    kernel = _at_least(op, "kernel_size", _ntuple(op, "kernel_size", kernel_size, nd), 1)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    stride = kernel if no_stride else _at_least(op, "stride", _ntuple(op, "stride", stride, nd), 1)
    padding = _at_least(op, "padding", _ntuple(op, "padding", padding, nd), 0)
    dilation = _at_least(op, "dilation", _ntuple(op, "dilation", dilation, nd), 1)
    return kernel, stride, padding, dilation


def _check_pool_padding(op, kernel, padding, dilation):
    # PyTorch's rule: a window may never lie wholly in the padding
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(
                f"{op}: padding {padding} must be at most half of the (dilated) kernel size {kernel}; "
                f"reduce the padding or enlarge the kernel"
            )


def _pool_geometry(op, shape, kernel, stride, padding, dilation, ceil_mode):
    """Output sizes and the extra padding after the end that ceil_mode needs, per spatial dim."""
    outs, extra = [], []
    for n, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        room = n + 2 * p - span
        if room < 0:
            raise ValueError(
                f"{op}: the kernel {kernel} (dilation {dilation}) is larger than the padded input; input shape "
                f"{tuple(shape)}, padding {padding}. Use a smaller kernel or a larger input"
            )
        o = (room + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:  # the last window must start inside the input or left padding
            o -= 1
        outs.append(o)
        extra.append(max(0, (o - 1) * s + span - (n + 2 * p)))
    return tuple(outs), tuple(extra)


def _lowest(d):
    return -math.inf if d.category == dt.FLOAT else int(np.iinfo(d.np).min)


def _tiled_max_pool(x, kernel, return_indices):
    """Eager max pooling whose windows tile the input (stride = kernel, no padding or dilation); with return_indices,
    (out, indices flat over the spatial dims).

    out = x.flatten()[flat], flat the index of each window's first maximum in scan order (the element PyTorch's
    gradient goes to; a NaN wins, as the composite's argmax picks it; of two NaNs in one window the first, where
    PyTorch's CPU kernel takes the last: the values agree, the index and the gradient's place differ), found in one
    pass over the array (TileArgmax:
    a C kernel on the C backend, a knockout between kernel offsets on numpy). Values are exact (-0.0, inf) and the
    gradient is one scatter (Index's kernel), not argmax + gather + Fold."""
    flat = TileArgmax.impl(x._data, kernel=tuple(kernel))
    out = bind(Index, x.reshape(-1), Tensor._make(flat), key=("idx",))
    return (out, Tensor._make(flat % math.prod(x.shape[2:]))) if return_indices else out


def _max_pool(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _batched(op, x, nd)
    kernel, stride, padding, dilation = _pool_args(op, nd, kernel_size, stride, padding, dilation)
    _check_pool_padding(op, kernel, padding, dilation)
    outs, extra = _pool_geometry(op, x.shape, kernel, stride, padding, dilation, ceil_mode)
    tiled = stride == kernel and not any(padding) and all(d == 1 for d in dilation) and not any(extra)
    if tiled and x.dtype.category in (dt.FLOAT, dt.INT) and x.numel() and _eager(x):
        out = _tiled_max_pool(x, kernel, return_indices)
        return tuple(_unbatch(t, unbatched) for t in out) if return_indices else _unbatch(out, unbatched)
    widths = ((0, 0), (0, 0)) + tuple((p, p + e) for p, e in zip(padding, extra))
    xp = pad_constant(x, widths, value=_lowest(x.dtype))
    win = _windows(xp, kernel, stride, dilation).reshape(tuple(x.shape[:2]) + outs + (math.prod(kernel),))
    # NOTE: argmax + gather (not amax) so the gradient goes to one element per window, as in PyTorch
    arg = win.argmax(-1, keepdim=True)
    out = win.gather(-1, arg).squeeze(-1)
    if not return_indices:
        return _unbatch(out, unbatched)
    idx = _window_flat_index(arg.squeeze(-1), x.shape[2:], kernel, stride, padding, dilation)
    return _unbatch(out, unbatched), _unbatch(idx, unbatched)


def _grid_along(i, nd, size):
    """arange(size) shaped to broadcast along spatial dim i of an (N, C, *O) tensor."""
    shape = [1] * (2 + nd)
    shape[2 + i] = size
    return arange(size).reshape(shape)


def _window_flat_index(arg, spatial, kernel, stride, padding, dilation):
    """Flat index into the unpadded input (PyTorch's return_indices) of the window element `arg` picks."""
    nd = len(kernel)
    flat = None
    for i in range(nd):
        k_i = (arg // math.prod(kernel[i + 1 :])) % kernel[i]
        pos = _grid_along(i, nd, arg.shape[2 + i]) * stride[i] - padding[i] + k_i * dilation[i]
        term = pos * math.prod(spatial[i + 1 :])
        flat = term if flat is None else flat + term
    return flat


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling over (N, C, L); stride defaults to kernel_size; with return_indices, (out, indices).

    >>> F.max_pool1d(tg.tensor([[[1.0, 3.0, 2.0, 4.0]]]), 2)
    tensor([[[3., 4.]]])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling over (N, C, H, W), as torch.nn.functional.max_pool2d.

    The gradient goes to one element per window (the first maximum). Indices are flat over H * W.

    >>> import tapegrad as tg
    >>> tg.max_pool2d(tg.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling over (N, C, D, H, W).

    >>> F.max_pool3d(tg.arange(8.0).reshape(1, 1, 2, 2, 2), 2)
    tensor([[[[[7.]]]]])
    """
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(op, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, unbatched = _batched(op, x, nd)
    if x.dtype.category != dt.FLOAT:
        raise TypeError(f"{op}: expects a floating-point input, got {x.dtype.name}; convert with .float()")
    kernel, stride, padding, dilation = _pool_args(op, nd, kernel_size, stride, padding, 1)
    _check_pool_padding(op, kernel, padding, dilation)
    _, extra = _pool_geometry(op, x.shape, kernel, stride, padding, dilation, ceil_mode)
    widths = tuple((p, p + e) for p, e in zip(padding, extra))
    k_axes = tuple(range(2 + nd, 2 + 2 * nd))
    total = _windows(pad_constant(x, ((0, 0), (0, 0)) + widths), kernel, stride, dilation).sum(k_axes)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must be non-zero")
        return _unbatch(total / divisor_override, unbatched)
    return _unbatch(total / _pool_counts(x, padding, extra, kernel, stride, count_include_pad), unbatched)


def _pool_counts(x, padding, extra, kernel, stride, count_include_pad):
    """How many elements each window averages: the explicit padding counts when count_include_pad, the
    extra padding of ceil_mode never does (PyTorch's rule)."""
    nd = len(kernel)
    mask = ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype)
    mask = pad_constant(
        mask, ((0, 0), (0, 0)) + tuple((p, p) for p in padding), value=1.0 if count_include_pad else 0.0
    )
    mask = pad_constant(mask, ((0, 0), (0, 0)) + tuple((0, e) for e in extra))
    return _windows(mask, kernel, stride, (1,) * nd).sum(tuple(range(2 + nd, 2 + 2 * nd)))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    """1-D average pooling over (N, C, L); stride defaults to kernel_size.

    >>> F.avg_pool1d(tg.tensor([[[1.0, 3.0, 2.0, 4.0]]]), 2)
    tensor([[[2., 3.]]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
) -> Tensor:
    """2-D average pooling over (N, C, H, W), as torch.nn.functional.avg_pool2d.

    >>> F.avg_pool2d(tg.arange(4.0).reshape(1, 1, 2, 2), 2)
    tensor([[[[1.5]]]])
    """
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool3d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
) -> Tensor:
    """3-D average pooling over (N, C, D, H, W).

    >>> F.avg_pool3d(tg.arange(8.0).reshape(1, 1, 2, 2, 2), 2)
    tensor([[[[[3.5]]]]])
    """
    return _avg_pool(
        "avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


# *** adaptive pooling: window i of n inputs into o outputs is [floor(i*n/o), ceil((i+1)*n/o)) ***


def _adaptive_sizes(op, nd, x, output_size) -> tuple:
    sizes = (output_size,) * nd if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(sizes) != nd:
        raise ValueError(
            f"{op}: output_size must be an int or a tuple of {nd} ints (None keeps a size), got {output_size!r}"
        )
    sizes = tuple(x.shape[2 + i] if s is None else int(s) for i, s in enumerate(sizes))
    if any(s <= 0 for s in sizes) or any(n == 0 for n in x.shape[2:]):
        raise ValueError(f"{op}: output_size {sizes} must be positive and the input {tuple(x.shape)} non-empty")
    return sizes


def _bounds(n, o):
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def _averaging_matrix(n, o, dtype) -> Tensor:
    """(o, n) matrix whose row i averages window i (a constant built from the shapes alone)."""
    a = np.zeros((o, n), dtype.np)
    for i, (lo, hi) in enumerate(_bounds(n, o)):
        a[i, lo:hi] = 1.0 / (hi - lo)
    return Tensor._make(a)


def _adaptive_avg_pool(op, nd, x, output_size):
    x, unbatched = _batched(op, x, nd)
    if x.dtype.category != dt.FLOAT:
        raise TypeError(f"{op}: expects a floating-point input, got {x.dtype.name}; convert with .float()")
    sizes = _adaptive_sizes(op, nd, x, output_size)
    out = x
    for i, o in enumerate(sizes):  # a box average is separable: average one spatial dim at a time
        a = _averaging_matrix(x.shape[2 + i], o, x.dtype)
        out = matmul(out.transpose(2 + i, -1), a.mT).transpose(2 + i, -1)
    return _unbatch(out, unbatched)


def _adaptive_window_index(spatial, sizes):
    """Flat input index of every window element, shape (*O, *L) flattened to (prod O, prod L).

    Windows of unequal length are padded by repeating their last element, which leaves the max unchanged.
    """
    nd = len(spatial)
    flat = np.zeros((1,) * (2 * nd), np.int64)
    for i, (n, o) in enumerate(zip(spatial, sizes)):
        b = _bounds(n, o)
        length = max(hi - lo for lo, hi in b)
        pos = np.array([[min(lo + j, hi - 1) for j in range(length)] for lo, hi in b], np.int64)
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = o, length
        flat = flat + pos.reshape(shape) * math.prod(spatial[i + 1 :])
    return flat.reshape(math.prod(sizes), -1)


def _adaptive_max_pool(op, nd, x, output_size, return_indices):
    x, unbatched = _batched(op, x, nd)
    sizes = _adaptive_sizes(op, nd, x, output_size)
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    where = _adaptive_window_index(spatial, sizes)  # (prod O, L)
    index = Tensor._make(np.broadcast_to(where.reshape(1, 1, -1), (n, c, where.size)))
    win = x.reshape(n, c, -1).gather(-1, index).reshape((n, c) + sizes + (where.shape[1],))
    arg = win.argmax(-1, keepdim=True)
    out = _unbatch(win.gather(-1, arg).squeeze(-1), unbatched)
    if not return_indices:
        return out
    flat = Tensor._make(np.broadcast_to(where.reshape((1, 1) + sizes + (-1,)), win.shape))
    return out, _unbatch(flat.gather(-1, arg).squeeze(-1), unbatched)


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """Average pooling of (N, C, L) to (N, C, output_size) with windows chosen to cover the input evenly.

    >>> F.adaptive_avg_pool1d(tg.tensor([[[1.0, 2.0, 3.0, 4.0]]]), 2)
    tensor([[[1.5, 3.5]]])
    """
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average pooling of (N, C, H, W) to output_size (int or (oH, oW); None keeps that size).

    >>> F.adaptive_avg_pool2d(tg.arange(16.0).reshape(1, 1, 4, 4), 1)
    tensor([[[[7.5]]]])
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input, output_size) -> Tensor:
    """Average pooling to a fixed output size over the last three dims.

    >>> F.adaptive_avg_pool3d(tg.arange(8.0).reshape(1, 1, 2, 2, 2), 1)
    tensor([[[[[3.5]]]]])
    """
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) to output_size windows; with return_indices, (out, indices).

    >>> F.adaptive_max_pool1d(tg.tensor([[[1.0, 5.0, 3.0, 4.0]]]), 2)
    tensor([[[5., 4.]]])
    """
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of (N, C, H, W) to output_size; indices are flat over H * W, as in PyTorch.

    >>> F.adaptive_max_pool2d(tg.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size over the last three dims.

    >>> F.adaptive_max_pool3d(tg.arange(8.0).reshape(1, 1, 2, 2, 2), 1)
    tensor([[[[[7.]]]]])
    """
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)
