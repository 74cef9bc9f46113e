"""tapegrad.numpy.linalg: numpy.linalg's names over the decomposition primitives
(primitives/decompositions.py), all differentiable; unpacks the packed factors.

solve is inv(a) @ b (fine for the well-conditioned systems of autodiff examples; no LU primitive yet).
"""

from __future__ import annotations

import math
from collections import namedtuple

from .. import ops as _ops
from ..ops.operands import accepts_values as _values
from ..primitives import bind
from ..primitives import decompositions as D

SlogdetResult = namedtuple("SlogdetResult", "sign logabsdet")
EighResult = namedtuple("EighResult", "eigenvalues eigenvectors")
QRResult = namedtuple("QRResult", "Q R")
SVDResult = namedtuple("SVDResult", "U S Vh")


def _float(a):
    return a if a.dtype.is_floating_point else a.float()


@_values
def inv(a):
    return bind(D.Inv, _float(a))


@_values
def solve(a, b):
    """x with a @ x = b; b is a vector (..., n) or a stack of columns (..., n, k)."""
    a = _float(a)
    if b.ndim == a.ndim - 1:
        return (inv(a) @ b.unsqueeze(-1)).squeeze(-1)
    return inv(a) @ b


@_values
def slogdet(a):
    a = _float(a)
    return SlogdetResult(bind(D.DetSign, a), bind(D.Slogdet, a))


@_values
def det(a):
    sign, logabs = slogdet(a)
    return sign * _ops.exp(logabs)


@_values
def cholesky(a):
    return bind(D.Cholesky, _float(a))


def _symmetrize(a):
    return (a + a.mT) / 2  # as jnp.linalg.eigh's symmetrize_input: the gradient comes out symmetric


@_values
def eigh(a, UPLO=None, symmetrize_input=True):
    a = _float(a)
    packed = bind(D.Eigh, _symmetrize(a) if symmetrize_input else a)
    n = a.shape[-1]
    return EighResult(packed.narrow(-2, n, 1).squeeze(-2), packed.narrow(-2, 0, n))


@_values
def eigvalsh(a, UPLO="L"):
    return eigh(a).eigenvalues


@_values
def qr(a, mode="reduced"):
    a = _float(a)
    m, n = a.shape[-2:]
    if mode != "reduced" or m < n:
        raise NotImplementedError(f"qr: only mode='reduced' with rows >= columns is supported, got {mode!r}, {a.shape}")
    packed = bind(D.Qr, a)
    return QRResult(packed.narrow(-2, 0, m), packed.narrow(-2, m, n))


@_values
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """The reduced SVD (full_matrices=True is answered with the reduced factors, which is all that has a
    gradient here); a wide matrix is decomposed through its transpose."""
    a = _float(a)
    m, n = a.shape[-2:]
    wide = m < n
    t = a.mT if wide else a
    packed = bind(D.Svd, t)
    k = t.shape[-1]
    u, s, vh = packed.narrow(-2, 0, t.shape[-2]), packed.narrow(-2, t.shape[-2], 1).squeeze(-2), \
        packed.narrow(-2, t.shape[-2] + 1, k)
    if wide:
        u, vh = vh.mT, u.mT
    return SVDResult(u, s, vh) if compute_uv else s


@_values
def svdvals(x):
    return svd(x, compute_uv=False)


@_values
def matrix_power(a, n):
    if n < 0:
        a, n = inv(a), -n
    out = _ops.broadcast_to(_ops.eye(a.shape[-1], dtype=a.dtype), a.shape) * 1
    for _ in range(n):
        out = out @ a
    return out


@_values
def pinv(a):
    u, s, vh = svd(a, full_matrices=False)
    return (vh.mT / s.unsqueeze(-2)) @ u.mT


@_values
def norm(x, ord=None, axis=None, keepdims=False):
    """numpy's norm: the 2-norm of a vector, Frobenius of a matrix by default; ord 1, 2, inf, -inf, 'fro',
    'nuc' and numbers for vectors; for matrices (ord with a 2-D x or two axes) 'fro', 'nuc', 1, -1, inf,
    -inf, 2, -2."""
    x = _float(x)
    if axis is None:
        axis = tuple(range(x.ndim)) if ord is None or x.ndim == 1 else (x.ndim - 2, x.ndim - 1)
        if ord is None:
            return _ops.norm(x, 2, axis, keepdims)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(axes) == 1:
        p = 2 if ord is None else ord
        return _ops.norm(x, p, axes, keepdims)
    return _matrix_norm(x, ord, axes, keepdims)


def _matrix_norm(x, ord, axes, keepdims):
    r, c = (a % x.ndim for a in axes)
    if ord in (None, "fro"):
        return _ops.norm(x, 2, (r, c), keepdims)
    if ord in (1, -1, math.inf, -math.inf):
        summed, other = (r, c) if ord in (1, -1) else (c, r)
        s = _ops.abs(x).sum(summed, keepdim=True)
        out = _ops.amax(s, other, True) if ord > 0 else _ops.amin(s, other, True)
        return out if keepdims else out.squeeze((r, c))
    moved = _ops.movedim(x, (r, c), (-2, -1))
    sv = svd(moved, compute_uv=False)
    out = sv.sum(-1) if ord == "nuc" else sv.amax(-1) if ord == 2 else sv.amin(-1) if ord == -2 else None
    if out is None:
        raise ValueError(f"norm: invalid ord {ord!r} for a matrix")
    if keepdims:
        for a in sorted((r, c)):
            out = out.unsqueeze(a)
    return out


def __getattr__(name):
    import difflib

    close = difflib.get_close_matches(name, [n for n in globals() if not n.startswith("_")], n=5)
    hint = f"; close names: {', '.join(close)}" if close else ""
    raise AttributeError(f"tapegrad.numpy.linalg has no function {name!r} (not implemented){hint}")
