"""The numpy backend: the reference implementation of every primitive (the executable spec).

One entry per primitive in IMPLS; backends/base.py `install_eager()` attaches them to the primitive table. Inputs arrive
with equal shapes and dtypes where the primitive requires it (the front end broadcasts and promotes).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import comm
from . import special_math
from .base import Backend
from ..primitives.elementwise import GELU_A, GELU_C
from ..primitives.indexing import decode_key
from ..primitives.linalg import window_out_size

def _error_function(name):
    """erf/erfc: scipy's ufunc when scipy is present, the exact scalar math function otherwise.

    Looked up on first use: importing scipy.special costs about 0.4 s, which `import tapegrad` should not pay."""
    found = []

    def run(x):
        if not found:
            try:
                import scipy.special

                found.append(getattr(scipy.special, name))
            except ImportError:  # pragma: no cover - depends on the environment
                found.append(np.frompyfunc(getattr(math, name), 1, 1))
        return found[0](x)

    return run


_erf, _erfc = _error_function("erf"), _error_function("erfc")


def _special(fn):
    """A special function of backends/special_math.py: computed in float64, returned in x's dtype."""

    def run(*xs, **params):
        return np.asarray(fn(*(x.astype(np.float64) for x in xs), **params)).astype(xs[0].dtype, copy=False)

    return run


def _shift(x, s, op):
    """x << s or x >> s with PyTorch's results where C leaves them undefined: a shift by a negative count or by
    at least the bit width gives 0 (left) or the sign fill (right)."""
    wide = (s < 0) | (s >= x.dtype.itemsize * 8)
    out = op(x, np.where(wide, 0, s).astype(x.dtype))
    if not wide.any():
        return out
    fill = 0 if op is np.left_shift or x.dtype.kind == "u" else np.where(x < 0, -1, 0)
    return np.where(wide, fill, out).astype(x.dtype)


def _quiet(fn):
    """numpy warns on log(0), 0/0, ...; PyTorch returns inf/nan silently, and so do we."""

    def run(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    run.__name__ = getattr(fn, "__name__", "op")
    return run


def _typed(fn):
    """For ufuncs computed in another precision (scipy on float16/bfloat16): cast back to x's dtype."""

    def run(x):
        return np.asarray(fn(x.astype(np.float32) if x.dtype.itemsize < 4 else x)).astype(x.dtype, copy=False)

    return run


def _sigmoid(x):
    # NOTE: split by sign so that exp never overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) otherwise.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _in_float32(fn):
    """fn computed in float32 for float16 / bfloat16 inputs (as PyTorch's CPU kernels do), cast back."""

    def run(*xs, **params):
        if xs[-1].dtype.itemsize >= 4:
            return fn(*xs, **params)
        return np.asarray(fn(*(x.astype(np.float32) for x in xs), **params)).astype(xs[-1].dtype)

    return run


_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu_tanh_parts(x):
    """The tanh form as x s: s = sigmoid(w) = 0.5 (1 + tanh(w / 2)), w = x (C + C A x^2), and w'."""
    x2 = x * x
    return _sigmoid(x * (x2 * (GELU_C * GELU_A) + GELU_C)), x2 * (3.0 * GELU_C * GELU_A) + GELU_C


@_quiet
@_in_float32
def _gelu(x, *, approximate):
    if approximate == "none":
        return x * 0.5 * (1.0 + _erf(x * _SQRT1_2))
    return x * _gelu_tanh_parts(x)[0]


@_quiet
@_in_float32
def _gelu_backward(g, x, *, approximate):
    """g gelu'(x): Phi(x) + x phi(x), or s + x s (1 - s) w' for the tanh form (primitives/elementwise.py)."""
    if approximate == "none":
        return g * (0.5 * (1.0 + _erf(x * _SQRT1_2)) + x * (np.exp(x * x * -0.5) * _INV_SQRT_2PI))
    s, w1 = _gelu_tanh_parts(x)
    return g * (s + x * (s * (1.0 - s)) * w1)


def _np_slice(start, stop, step):
    # NOTE: index entries follow range() semantics (from slice.indices): a reverse slice down to
    # element 0 has stop == -1, which numpy would read as "the last element"; None means "past 0".
    return slice(start, None if stop < 0 else stop, step)


def _slice(x, *, index):
    return x[tuple(_np_slice(*s) for s in index)]


def _unslice(x, *, shape, index):
    out = np.zeros(shape, x.dtype)
    out[tuple(_np_slice(*s) for s in index)] = x
    return out


def _pad(x, *, widths, value):
    # NOTE: the constant fill and one copy of x into it; np.pad does the same work through a general, slower path
    # (it pads one axis at a time), and rejects the empty widths of a 0-d array
    out = np.full(tuple(n + a + b for n, (a, b) in zip(x.shape, widths)), value, x.dtype)
    out[tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, widths))] = x
    return out


def _index(x, *idx, key):
    return x[decode_key(key, idx)]


def _index_put(x, v, *idx, key, accumulate):
    out = x.copy()
    k = decode_key(key, idx)
    if accumulate:
        np.add.at(out, k, v)
    else:
        out[k] = v
    return out


def _reduce(fn):
    def run(x, *, axes, keepdim):
        return fn(x, axis=axes, keepdims=keepdim)

    return run


def _accumulated(x):
    """Sums and products keep a floating dtype (kind "V": bfloat16) and accumulate ints and bools in int64."""
    return x.dtype if x.dtype.kind in "fV" else np.int64


def _accumulating(fn):
    """fn(x, dtype=...) accumulated in the right dtype: int64 for ints and bools, float32 for float16 and
    bfloat16 (as PyTorch: 16-bit accumulators lose everything past 2048), cast back to x's float dtype."""

    def run(x, **params):
        if x.dtype.kind in "fV" and x.dtype.itemsize < 4:
            return np.asarray(fn(x, dtype=np.float32, **params)).astype(x.dtype)
        return fn(x, dtype=_accumulated(x), **params)

    return run


# np.add.reduce rather than np.sum: the same result without np.sum's Python wrapper (a few µs on a small tensor)
_sum = _accumulating(lambda x, *, axes, keepdim, dtype: np.add.reduce(x, axis=axes, keepdims=keepdim, dtype=dtype))


def _amax(x, *, axes, keepdim):
    if x.size == 0 and any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"amax: cannot reduce over an empty dimension of a tensor of shape {x.shape}")
    return np.amax(x, axis=axes, keepdims=keepdim)


def _arg(fn):
    def run(x, *, axis, keepdim):
        return fn(x, axis=axis, keepdims=keepdim).astype(np.int64, copy=False)

    return run


def _argsort(x, *, axis, descending):
    if descending:  # stable and descending: sort the reversed array, then map indices back
        n = x.shape[axis]
        rev = np.flip(x, axis)
        return (n - 1 - np.flip(np.argsort(rev, axis=axis, kind="stable"), axis)).astype(np.int64)
    return np.argsort(x, axis=axis, kind="stable").astype(np.int64, copy=False)


def _unfold(x, *, kernel, stride, dilation):
    nd = len(kernel)
    span = [dilation[i] * (kernel[i] - 1) + 1 for i in range(nd)]
    axes = tuple(range(2, 2 + nd))
    win = np.lib.stride_tricks.sliding_window_view(x, span, axis=axes)
    index = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
    index += tuple(slice(None, None, d) for d in dilation)
    return win[index]


def _fold(cols, *, size, kernel, stride, dilation):
    nd = len(kernel)
    out = np.zeros(cols.shape[:2] + tuple(size), cols.dtype)
    outs = cols.shape[2 : 2 + nd]
    for offs in itertools.product(*(range(k) for k in kernel)):
        target = tuple(
            slice(o * d, o * d + s * (n - 1) + 1, s) for o, d, s, n in zip(offs, dilation, stride, outs)
        )
        out[(slice(None), slice(None)) + target] += cols[(Ellipsis,) + offs]
    return out


def _tile_argmax(x, *, kernel):
    """Flat index into x of each tile's first maximum (primitives/reduce.py TileArgmax).

    A knockout between the K kernel-offset slices of x seen as (N, C, O1, K1, O2, K2, ...), a view: each match keeps
    the larger value and its flat offset, the earlier one on a tie (strictly greater wins), so the survivor is the
    first maximum; where a tile holds a NaN, numpy's argmax over that tile's copied elements decides instead."""
    n, c = x.shape[:2]
    outs = tuple(s // k for s, k in zip(x.shape[2:], kernel))
    tiles = x[(slice(None), slice(None)) + tuple(slice(0, o * k) for o, k in zip(outs, kernel))]
    tiles = tiles.reshape((n, c) + tuple(d for ok in zip(outs, kernel) for d in ok))
    spatial = x.shape[2:]
    step = tuple(math.prod(spatial[i + 1 :]) for i in range(len(spatial)))
    small = np.int32 if math.prod(spatial) < 2**31 else np.int64  # offsets lie within one plane; int32 is faster
    entrants = [
        (tiles[(slice(None), slice(None)) + tuple(q for i in off for q in (slice(None), i))],
         small(sum(i * s for i, s in zip(off, step))))
        for off in itertools.product(*(range(k) for k in kernel))
    ]  # fmt: skip
    while len(entrants) > 1:
        pairs = zip(entrants[0::2], entrants[1::2])
        # the offset as oa + (vb > va) * (ob - oa), not np.where: numpy's where branches on each element, and on
        # no-pattern data (ReLU outputs) it took 3.0 ms a match on W2's (64, 64, 12, 12) against 1.6 ms
        winners = [(np.maximum(va, vb), oa + (vb > va) * (ob - oa)) for (va, oa), (vb, ob) in pairs]
        entrants = winners + entrants[len(winners) * 2 :]  # an odd one out plays the next round
    top, offset = entrants[0]
    offset = np.broadcast_to(offset, top.shape)
    if top.dtype.kind in "fc" and np.isnan(top).any():  # a NaN loses every comparison: numpy's argmax decides
        nd = len(kernel)
        perm = (0, 1) + tuple(range(2, 2 + 2 * nd, 2)) + tuple(range(3, 3 + 2 * nd, 2))  # (N, C, *O, *K)
        arg = np.argmax(tiles.transpose(perm).reshape((n, c) + outs + (-1,)), axis=-1)
        offset = sum(((arg // math.prod(kernel[i + 1 :])) % kernel[i]) * step[i] for i in range(nd))
    origin = np.arange(n * c, dtype=np.int64).reshape((n, c) + (1,) * len(outs)) * math.prod(spatial)
    for i, (o, k) in enumerate(zip(outs, kernel)):
        along = [1] * (2 + len(outs))
        along[2 + i] = o
        origin = origin + (np.arange(o, dtype=np.int64) * (k * step[i])).reshape(along)
    return origin + offset


def _random_bits(key, *, shape, dtype, distribution):
    """Counter-based draws: numpy's generator seeded with the key (as 64 unsigned bits), so equal keys
    give equal numbers and consecutive keys independent streams."""
    seed = int(key) & 0xFFFFFFFFFFFFFFFF
    if distribution == "bits":  # new keys: a salted stream, so they are not the key's own uniform draws
        return np.random.default_rng([seed, 0x5EED]).integers(0, 2**62, tuple(shape)).astype(dtype.np)
    rng = np.random.default_rng(seed)
    draw = rng.random(tuple(shape)) if distribution == "uniform" else rng.standard_normal(tuple(shape))
    return draw.astype(dtype.np)


def _symmetric(a):
    return (a + np.swapaxes(a, -1, -2)) / 2  # cholesky and eigh read the symmetric part (primitives/decompositions.py)


def _eigh(a):
    w, v = np.linalg.eigh(_symmetric(a))
    return np.concatenate([v, w[..., None, :]], -2)


def _qr(a):
    return np.concatenate(np.linalg.qr(a, mode="reduced"), -2)


def _svd(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([u, s[..., None, :], vh], -2)


def _lu(a):
    """Partial-pivoting LU (LAPACK getrf's choices: the first largest |entry| of each column), packed as
    primitives/decompositions.Lu describes: LU, the 1-based pivots, the permutation."""
    a = np.array(a, dtype=a.dtype)
    n = a.shape[-1]
    batch = a.shape[:-2]
    pivots = np.zeros(batch + (n,), a.dtype)
    perm = np.broadcast_to(np.arange(n, dtype=np.int64), batch + (n,)).copy()
    with np.errstate(all="ignore"):
        for k in range(n):
            p = np.argmax(np.abs(a[..., k:, k]), axis=-1) + k
            pivots[..., k] = p + 1
            at_p = p[..., None, None]
            row_k = a[..., k : k + 1, :].copy()
            a[..., k : k + 1, :] = np.take_along_axis(a, np.broadcast_to(at_p, batch + (1, n)), -2)
            np.put_along_axis(a, np.broadcast_to(at_p, batch + (1, n)), row_k, -2)
            perm_k = perm[..., k : k + 1].copy()
            perm[..., k : k + 1] = np.take_along_axis(perm, p[..., None], -1)
            np.put_along_axis(perm, p[..., None], perm_k, -1)
            pivot = a[..., k, k]
            # a zero pivot leaves its column unscaled, as getrf does (info then names that column)
            scale = np.where(pivot == 0, 1.0, pivot)[..., None]
            a[..., k + 1 :, k] = a[..., k + 1 :, k] / scale
            a[..., k + 1 :, k + 1 :] -= a[..., k + 1 :, k : k + 1] * a[..., k : k + 1, k + 1 :]
    return np.concatenate([a, pivots[..., None, :], perm[..., None, :].astype(a.dtype)], -2)


def _triangular_solve(a, b, *, upper, unit):
    t = np.triu(a) if upper else np.tril(a)
    if unit:
        n = a.shape[-1]
        t = t.copy()
        t[..., np.arange(n), np.arange(n)] = 1
    return np.linalg.solve(t, b)



def _matrix(fn):
    """numpy.linalg keeps the dtype for float32/float64; float16 and bfloat16 compute in float32."""
    def impl(a):
        work = a if a.dtype in (np.float32, np.float64) else a.astype(np.float32)
        return np.asarray(fn(work)).astype(a.dtype, copy=False)

    return impl


IMPLS = {
    # decompositions (primitives/decompositions.py)
    "inv": _matrix(np.linalg.inv),
    "slogdet": _matrix(lambda a: np.linalg.slogdet(a)[1]),
    "detsign": _matrix(lambda a: np.linalg.slogdet(a)[0]),
    "cholesky": _matrix(lambda a: np.linalg.cholesky(_symmetric(a))),
    "eigh": _matrix(_eigh),
    "qr": _matrix(_qr),
    "svd": _matrix(_svd),
    "lu": _matrix(_lu),
    "solve": lambda a, b: np.linalg.solve(a, b),
    "triangular_solve": _triangular_solve,
    # random
    "random_bits": _random_bits,
    # collectives across processes (primitives/collective.py, over tapegrad/comm.py)
    "all_reduce": lambda x, *, op: comm.all_reduce(x, op),
    "all_gather": lambda x, *, axis: comm.all_gather(x, axis),
    "reduce_scatter": lambda x, *, op, axis: comm.reduce_scatter(x, op, axis),
    "broadcast_from": lambda x, *, src: comm.broadcast(x, src),
    # unary
    "neg": np.negative,
    "exp": _quiet(np.exp),
    "expm1": _quiet(np.expm1),
    "log": _quiet(np.log),
    "log1p": _quiet(np.log1p),
    "sqrt": _quiet(np.sqrt),
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": _quiet(np.arcsin),
    "acos": _quiet(np.arccos),
    "atan": np.arctan,
    "sinh": _quiet(np.sinh),
    "cosh": _quiet(np.cosh),
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": _quiet(np.arccosh),
    "atanh": _quiet(np.arctanh),
    "sigmoid": _quiet(_sigmoid),
    "erf": _typed(_erf),
    "erfc": _typed(_erfc),
    "gelu": _gelu,
    "gelu_backward": _gelu_backward,
    # special functions (primitives/special.py)
    "lgamma": _special(special_math.lgamma),
    "polygamma": _special(lambda x, *, n: special_math.polygamma(n, x)),
    "erfinv": _special(lambda x: special_math.erfinv(x, _erf, _erfc)),
    "erfcx": _special(lambda x: special_math.erfcx(x, _erfc)),
    "ndtri": _special(lambda x: special_math.ndtri(x, _erf, _erfc)),
    "i0": _special(lambda x: special_math.bessel_i(x, 0, False)),
    "i0e": _special(lambda x: special_math.bessel_i(x, 0, True)),
    "i1": _special(lambda x: special_math.bessel_i(x, 1, False)),
    "i1e": _special(lambda x: special_math.bessel_i(x, 1, True)),
    "zeta": _special(special_math.zeta),
    "gammainc": _special(special_math.gammainc),
    "gammaincc": _special(lambda a, x: special_math.gammainc(a, x, upper=True)),
    "abs": np.abs,
    "sign": np.sign,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
    "trunc": np.trunc,
    # binary
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": _quiet(np.divide),
    "pow": _quiet(np.power),
    "maximum": np.maximum,
    "minimum": np.minimum,
    "copysign": np.copysign,
    "logaddexp": _quiet(np.logaddexp),
    "atan2": np.arctan2,
    "fmod": _quiet(np.fmod),
    "remainder": _quiet(np.remainder),
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or,
    "bitwise_xor": np.bitwise_xor,
    "bitwise_not": np.invert,
    "bitwise_left_shift": lambda x, s: _shift(x, s, np.left_shift),
    "bitwise_right_shift": lambda x, s: _shift(x, s, np.right_shift),
    "isnan": np.isnan,
    "isinf": np.isinf,
    "where": np.where,
    "cast": lambda x, *, dtype: x.astype(dtype.np),
    # reductions and scans
    "sum": _sum,
    "amax": _amax,
    "argmax": _arg(np.argmax),
    "argmin": _arg(np.argmin),
    "argsort": _argsort,
    "tile_argmax": _tile_argmax,
    "prod": _accumulating(lambda x, *, axis, keepdim, dtype: np.prod(x, axis=axis, keepdims=keepdim, dtype=dtype)),
    "cumsum": _accumulating(lambda x, *, axis, dtype: np.cumsum(x, axis=axis, dtype=dtype)),
    "cumprod": _accumulating(lambda x, *, axis, dtype: np.cumprod(x, axis=axis, dtype=dtype)),
    # movement
    "reshape": lambda x, *, shape: np.reshape(x, shape),
    "permute": lambda x, *, perm: np.transpose(x, perm),
    "expand": lambda x, *, shape: np.broadcast_to(x, shape),
    "slice": _slice,
    "unslice": _unslice,
    "pad": _pad,
    "flip": lambda x, *, axes: np.flip(x, axes).copy(),  # a copy, as torch.flip (np.flip is an unlinked view)
    "concat": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "index": _index,
    "index_put": _index_put,
    # linear algebra and windows
    "matmul": lambda x, y: np.matmul(x, y).astype(x.dtype, copy=False),  # bfloat16 @ bfloat16 gives float32 in numpy
    "unfold": _unfold,
    "fold": _fold,
}


# *** backward kernels: the vjp of the hottest primitives on arrays ***
#
# An eager backward pass that builds no graph of its own (create_graph=False) calls these instead of the primitive's
# vjp rule, which is written with tapegrad ops and costs a dispatch (wrappers, promotion, a Tensor, a Node check) per
# op it uses: tanh's rule is three ops, its kernel one line of numpy. The rules stay the specification:
# tests/primitives/test_vjp_kernels.py checks every kernel against its rule. A kernel gets g, then one entry per
# input (the array when the primitive saves that input, else an AVal: shape and dtype only), then out (the array when
# the primitive keeps it, else None), needs (truthy for each input that receives a gradient) and the params; it
# returns one array or None per input. Only float32 / float64 gradients take this path (engine.PrimNode.apply).


def _sum_to(g, shape):
    """g summed over the axes where `shape` (of equal rank) has size 1 and g has not: Expand's vjp."""
    axes = tuple(i for i, (a, b) in enumerate(zip(shape, g.shape)) if a != b)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _inverse(perm):
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return inverse


def _unreduce(g, x, axes, keepdim):
    """Sum's vjp: g with the reduced axes back (size 1), broadcast to x's shape (a read-only view, as Expand gives)."""
    if not keepdim:
        g = g.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])
    return np.broadcast_to(g, x.shape)


def _matmul_like(ref, a, b):
    """a @ b laid out in memory as ref is: the gradient of a transposed matrix (the weight of x @ w.T) is computed
    transposed, as (b.T @ a.T).T, so that the Permute kernel turns it back into a contiguous array that becomes .grad
    without a copy (PyTorch's gradients follow their input's strides too)."""
    if ref.ndim == 2 and ref.flags.f_contiguous and not ref.flags.c_contiguous:
        return np.matmul(b.T, a.T).T
    return np.matmul(a, b)


def _installed(name, with_params=False):
    """The eager implementation of a primitive as installed now (the C backend's kernel above its size threshold,
    numpy's below), so the arithmetic of backward kernels runs where the forward ops run."""
    from ..primitives import PRIMITIVES

    prim = PRIMITIVES[name]
    # NOTE: one lambda per arity rather than `*arrays`: these run a few times per node of every backward sweep
    if prim.family == "unary" and not with_params:
        return lambda a: prim.impl(a)
    if prim.family == "binary" and not with_params:
        return lambda a, b: prim.impl(a, b)
    return lambda *arrays, **params: prim.impl(*arrays, **params)


_ARITHMETIC = ("mul", "div", "sub", "neg", "where")
_mul, _div, _sub, _neg, _select = (_installed(n) for n in _ARITHMETIC)


def bind_installed() -> None:
    """Point the arithmetic of the backward kernels (_mul, _div, ...) straight at the eager implementations installed
    now: backends/base.py install_eager calls this after each switch. A small op's vjp then makes one Python call
    per operation, not two (the lambdas of _installed read prim.impl on every call)."""
    from ..primitives import PRIMITIVES

    global _mul, _div, _sub, _neg, _select
    _mul, _div, _sub, _neg, _select = (PRIMITIVES[n].impl for n in _ARITHMETIC)


_gelu_bwd = _installed("gelu_backward", with_params=True)


_fold_installed = _installed("fold", with_params=True)  # the C move kernel for large windows


class _Constant(dict):
    """dtype -> a read-only 0-d array of one value in that dtype, made on first use: np.ones((), dtype) costs more than
    the 16x16 multiply it feeds in a small op's vjp. Read-only, so that no kernel can write into the shared one."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def __missing__(self, dtype):
        c = self[dtype] = np.full((), self.value, dtype)
        c.flags.writeable = False
        return c


_ONES, _ZEROS, _HALVES = _Constant(1), _Constant(0), _Constant(0.5)


def _where_vjp(g, cond, x, y, out, needs):
    zero = _ZEROS[g.dtype]
    return None, _select(cond, g, zero) if needs[1] else None, _select(cond, zero, g) if needs[2] else None


def _div_vjp(g, x, y, out, needs):
    gx = _div(g, y)
    return gx if needs[0] else None, _neg(_mul(gx, out)) if needs[1] else None


def _index_vjp(g, x, *rest, key):
    """Index's vjp: g added into zeros of x's shape at the indexed places (np.add.at: repeated indices add up),
    one array op where the rule binds a zeros tensor and an accumulating IndexPut."""
    idx, needs = rest[:-2], rest[-1]
    out = np.zeros(x.shape, g.dtype)
    if tuple(key) == ("idx",) and idx[0].ndim > 1 and idx[0].dtype.kind in "iu":
        # one integer index array on the first axis: np.add.at with a flat index takes numpy's fast path, with an
        # n-d one its generic loop (W2's max pooling backward, a (64, 64, 12, 12) index: 9.7 ms flat 1.4 ms)
        flat = idx[0].reshape(-1)
        np.add.at(out, flat, g.reshape((flat.size,) + tuple(x.shape[1:])))
    else:
        np.add.at(out, decode_key(key, idx), g)
    return (out,) + (None,) * len(idx)


def _pad_vjp(g, x, out, needs, *, widths, value):
    """Pad's vjp: the interior of g (a view, as Slice gives)."""
    return (g[tuple(slice(a, a + n) for (a, _), n in zip(widths, x.shape))],)


VJPS = {
    "add": lambda g, x, y, out, needs: (g if needs[0] else None, g if needs[1] else None),
    "sub": lambda g, x, y, out, needs: (g if needs[0] else None, _neg(g) if needs[1] else None),
    "neg": lambda g, x, out, needs: (_neg(g),),
    "mul": lambda g, x, y, out, needs: (_mul(g, y) if needs[0] else None, _mul(g, x) if needs[1] else None),
    "div": _quiet(_div_vjp),
    "exp": lambda g, x, out, needs: (_mul(g, out),),
    "log": _quiet(lambda g, x, out, needs: (_div(g, x),)),
    "sqrt": _quiet(lambda g, x, out, needs: (_div(_mul(g, _HALVES[g.dtype]), out),)),
    "tanh": lambda g, x, out, needs: (_mul(g, _sub(_ONES[g.dtype], _mul(out, out))),),
    "sigmoid": lambda g, x, out, needs: (_mul(g, _mul(out, _sub(_ONES[g.dtype], out))),),
    "gelu": lambda g, x, out, needs, *, approximate: (_gelu_bwd(g, x, approximate=approximate),),
    "where": _where_vjp,
    "sum": lambda g, x, out, needs, *, axes, keepdim: (_unreduce(g, x, axes, keepdim),),
    "expand": lambda g, x, out, needs, *, shape: (_sum_to(g, x.shape),),
    "reshape": lambda g, x, out, needs, *, shape: (np.reshape(g, x.shape),),
    "permute": lambda g, x, out, needs, *, perm: (np.transpose(g, _inverse(perm)),),
    "index": _index_vjp,
    "pad": _pad_vjp,
    "unfold": lambda g, x, out, needs, *, kernel, stride, dilation: (
        _fold_installed(g, size=x.shape[2:], kernel=kernel, stride=stride, dilation=dilation),
    ),
    "matmul": lambda g, x, y, out, needs: (
        _matmul_like(x, g, np.swapaxes(y, -1, -2)) if needs[0] else None,
        _matmul_like(y, np.swapaxes(x, -1, -2), g) if needs[1] else None,
    ),
}


class NumpyBackend(Backend):
    """The reference: always available, an eager implementation of every primitive, graphs run by plan.py."""

    name = "numpy"

    def eager_impls(self) -> dict:
        return IMPLS

    def eager_vjps(self) -> dict:
        return VJPS

    def compile(self, graph):
        from .plan import Plan

        return Plan(graph)


BACKEND = NumpyBackend()

