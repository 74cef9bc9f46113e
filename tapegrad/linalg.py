"""tg.linalg: PyTorch's torch.linalg namespace, real matrices.

Built on the decomposition primitives (primitives/decompositions.py: inv, slogdet, cholesky, eigh, qr, svd, lu,
solve, triangular_solve), so everything with a gradient in PyTorch has one here, of every order. As PyTorch,
cholesky and eigh read one triangle of A (UPLO / upper) and their gradients come out symmetric.

Not provided: eig and eigvals (their results are complex, and tapegrad has no complex dtypes), and the LDL
family (ldl_factor, ldl_factor_ex, ldl_solve: LAPACK's Bunch-Kaufman pivot format). lu and lu_factor take square
matrices. Some functions read values eagerly, so they run in eager mode but do not trace: the `*_ex` forms (their
`info`), matrix_exp (its scaling from the norm), lu_solve (the pivots), matrix_rank and lstsq's rank.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from . import dtype as _dt
from .ops import _signature
from .ops import accepts_values as _values
from .ops import creation as _C
from .ops import elementwise as _E
from .ops import linalg as _L
from .ops import reduce as _R
from .ops import shape as _S
from .primitives import bind
from .primitives import decompositions as D
from .tensor import Tensor

SlogdetResult = namedtuple("SlogdetResult", "sign logabsdet")
EighResult = namedtuple("EighResult", "eigenvalues eigenvectors")
QRResult = namedtuple("QRResult", "Q R")
SVDResult = namedtuple("SVDResult", "U S Vh")
LUResult = namedtuple("LUResult", "P L U")
LUFactorResult = namedtuple("LUFactorResult", "LU pivots")
LUFactorExResult = namedtuple("LUFactorExResult", "LU pivots info")
InvExResult = namedtuple("InvExResult", "inverse info")
CholeskyExResult = namedtuple("CholeskyExResult", "L info")
SolveExResult = namedtuple("SolveExResult", "result info")
LstsqResult = namedtuple("LstsqResult", "solution residuals rank singular_values")

__all__ = []


def _public(fn):
    """Export fn with PyTorch's conveniences: Python values as tensors, and out=."""
    wrapped = _signature.torch_function(_values(fn))
    __all__.append(fn.__name__)
    return wrapped


def _float(a: Tensor) -> Tensor:
    return a if a.dtype.is_floating_point else a.to(_dt.get_default_dtype())


def _square(op, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"linalg.{op}: expected square matrices (..., n, n), got shape {tuple(a.shape)}")


def _eye(n, like):
    return _C.eye(n, dtype=like.dtype)


# *** products ***

matmul = _public(_L.matmul)


@_public
def vecdot(x, y, *, dim=-1):
    """The dot product of vectors along dim, broadcasting the rest (real: no conjugation).

    >>> tg.linalg.vecdot(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0]))
    tensor([3., 7.])
    """
    return (x * y).sum(dim)


@_public
def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along dim (broadcast), as torch.linalg.cross.

    >>> tg.linalg.cross(tg.tensor([1.0, 0.0, 0.0]), tg.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise ValueError(f"linalg.cross: dimension {dim} must have size 3 in both inputs, got shapes "
                         f"{tuple(input.shape)} and {tuple(other.shape)}")
    a = [input.narrow(dim, i, 1) for i in range(3)]
    b = [other.narrow(dim, i, 1) for i in range(3)]
    return _S.cat([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]], dim)


@_public
def multi_dot(tensors):
    """A chain of matrix products in the cheapest order (dynamic programming on the sizes); the first tensor
    may be 1-D (a row), the last 1-D (a column), as torch.linalg.multi_dot.

    >>> tg.linalg.multi_dot([tg.tensor([1.0, 2.0]), tg.tensor([[1.0, 0.0], [0.0, 2.0]]), tg.tensor([1.0, 1.0])])
    tensor(5.)
    """
    ts = list(tensors)
    if len(ts) < 2:
        raise ValueError(f"linalg.multi_dot: expected at least 2 tensors, got {len(ts)}")
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    ts[0] = ts[0].unsqueeze(0) if first_vec else ts[0]
    ts[-1] = ts[-1].unsqueeze(-1) if last_vec else ts[-1]
    for i, t in enumerate(ts):
        if t.ndim != 2:
            raise ValueError(f"linalg.multi_dot: tensor {i} has {t.ndim} dimensions; the first and last may be "
                             "1-D, the others must be 2-D")
    dims = [ts[0].shape[0]] + [t.shape[1] for t in ts]
    n = len(ts)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def chain(i, j):
        return ts[i] if i == j else _L.matmul(chain(i, split[i][j]), chain(split[i][j] + 1, j))

    out = chain(0, n - 1)
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


@_public
def matrix_power(A, n):
    """A to an integer power (negative: of the inverse), by repeated squaring.

    >>> tg.linalg.matrix_power(tg.tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
    tensor([[1., 3.],
            [0., 1.]])
    """
    _square("matrix_power", A)
    if int(n) != n:
        raise TypeError(f"linalg.matrix_power: n must be an integer, got {n!r}")
    n = int(n)
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else _L.matmul(result, base)
        n >>= 1
        if n:
            base = _L.matmul(base, base)
    return _S.broadcast_to(_eye(A.shape[-1], A), A.shape) * 1 if result is None else result


@_public
def matrix_exp(A):
    """exp(A) by scaling and squaring: a degree-18 Taylor polynomial of A / 2^s with ||A / 2^s||_1 <= 1/2
    (truncation error below 1e-22), squared s times; differentiable as a composite.

    >>> tg.linalg.matrix_exp(tg.tensor([[0.0, 1.0], [0.0, 0.0]]))
    tensor([[1., 1.],
            [0., 1.]])
    """
    _square("matrix_exp", A)
    A = _float(A)
    norm1 = float(_R.amax(A.detach().abs().sum(-2)).item()) if A.numel() else 0.0
    s = max(0, math.ceil(math.log2(norm1 / 0.5))) if norm1 > 0.5 else 0
    x = A / 2.0**s if s else A
    eye = _S.broadcast_to(_eye(A.shape[-1], A), A.shape)
    out = eye + x / 18.0  # Horner: I + x (I + x/2 (I + ... (I + x/18)))
    for k in range(17, 0, -1):
        out = eye + _L.matmul(x, out) / float(k)
    for _ in range(s):
        out = _L.matmul(out, out)
    return out


@_public
def vander(x, *, N=None):
    """The Vandermonde matrix with increasing powers x^0 ... x^(N-1) along the last dimension.

    >>> tg.linalg.vander(tg.tensor([1, 2, 3]))
    tensor([[1, 1, 1],
            [1, 2, 4],
            [1, 3, 9]])
    """
    n = x.shape[-1] if N is None else int(N)
    if n < 1:
        raise ValueError(f"linalg.vander: N must be at least 1, got {n}")
    cols = [_E.mul(x, 0) + 1]
    for _ in range(1, n):
        cols.append(cols[-1] * x)
    return _S.stack(cols, -1)


@_public
def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """A view of the diagonals of A over dim1, dim2 (the last two by default).

    >>> tg.linalg.diagonal(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([1., 4.])
    """
    return _S.diagonal(A, offset, dim1, dim2)


@_public
def householder_product(A, tau):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i = (0, ..., 0, 1, A[i+1:, i]) (LAPACK's
    orgqr), as torch.linalg.householder_product; differentiable in A and tau.

    >>> tg.linalg.householder_product(tg.tensor([[1.0], [1.0]]), tg.tensor([1.0]))
    tensor([[ 0.],
            [-1.]])
    """
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if not (m >= n >= k):
        raise ValueError(f"linalg.householder_product: need A (..., m, n) with m >= n >= k = tau.shape[-1], got "
                         f"A {tuple(A.shape)} and tau {tuple(tau.shape)}")
    q = _S.broadcast_to(_eye(m, A), A.shape[:-2] + (m, m))
    for i in range(k):
        below = A.narrow(-1, i, 1).narrow(-2, i + 1, m - i - 1)
        head = _C.zeros(A.shape[:-2] + (i, 1), dtype=A.dtype)
        one = _C.ones(A.shape[:-2] + (1, 1), dtype=A.dtype)
        v = _S.cat([head, one, below], -2)  # (..., m, 1)
        t = tau.narrow(-1, i, 1).unsqueeze(-1)
        q = q - _L.matmul(_L.matmul(q, v) * t, v.mT)
    return q.narrow(-1, 0, n)


# *** norms ***

vector_norm = _public(_R.vector_norm)


@_public
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm over two dims: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf.

    >>> tg.linalg.matrix_norm(tg.tensor([[3.0, 0.0], [0.0, 4.0]]), 2)
    tensor(4.)
    """
    A = _float(A if dtype is None else A.to(dtype))
    r, c = (d % A.ndim for d in dim)
    if ord == "fro":
        return _R.norm(A, 2, (r, c), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        summed, other = (r, c) if ord in (1, -1) else (c, r)
        s = A.abs().sum(summed, keepdim=True)
        out = _R.amax(s, other, True) if ord > 0 else _R.amin(s, other, True)
        return out if keepdim else out.squeeze((r, c))
    if ord not in ("nuc", 2, -2):
        raise ValueError(f"linalg.matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}")
    sv = svdvals(_S.movedim(A, (r, c), (-2, -1)))
    out = sv.sum(-1) if ord == "nuc" else _R.amax(sv, -1) if ord == 2 else _R.amin(sv, -1)
    if keepdim:
        for d in sorted((r, c)):
            out = out.unsqueeze(d)
    return out


@_public
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm over one dim (or of the flattened input when ord and dim are None), a
    matrix norm over two.

    >>> tg.linalg.norm(tg.tensor([[1.0, 2.0], [2.0, 4.0]]))
    tensor(5.)
    """
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim, dtype=dtype)
        if A.ndim not in (1, 2):
            raise ValueError(f"linalg.norm: with ord={ord!r} and dim=None, A must be 1-D or 2-D, got {A.ndim}-D")
        dim = tuple(range(A.ndim))
    if len(dim) == 1:
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)


@_public
def cond(A, p=None):
    """The condition number in norm p: sigma_max / sigma_min for None and 2 (-2: the inverse), else
    norm(A, p) * norm(inv(A), p).

    >>> tg.linalg.cond(tg.tensor([[2.0, 0.0], [0.0, 0.5]]))
    tensor(4.)
    """
    A = _float(A)
    if p in (None, 2, -2):
        s = svdvals(A)
        hi, lo = _R.amax(s, -1), _R.amin(s, -1)
        return hi / lo if p != -2 else lo / hi
    _square("cond", A)
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


# *** decompositions ***


@_public
def inv(A):
    """The inverse of square matrices.

    >>> tg.linalg.inv(tg.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    return bind(D.Inv, _float(A))


@_public
def det(A):
    """The determinant (sign * exp(logabsdet)).

    >>> tg.linalg.det(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(-2.)
    """
    sign, logabs = slogdet(A)
    return sign * logabs.exp()


@_public
def slogdet(A):
    """(sign, log |det|); the sign has no gradient.

    >>> tg.linalg.slogdet(tg.tensor([[1.0, 2.0], [3.0, 4.0]])).sign
    tensor(-1.)
    """
    A = _float(A)
    return SlogdetResult(bind(D.DetSign, A), bind(D.Slogdet, A))


def _from_triangle(A, upper):
    """The symmetric matrix of A's lower (upper) triangle, with the gradient of (A + A^T) / 2: PyTorch reads one
    triangle and gives a symmetric gradient."""
    tri = A.triu() if upper else A.tril()
    full = tri + (tri.triu(1) if upper else tri.tril(-1)).mT
    sym = (A + A.mT) * 0.5
    return sym + (full - sym).detach()


@_public
def cholesky(A, *, upper=False):
    """The Cholesky factor of a symmetric positive-definite matrix (lower, or upper with upper=True); only the
    lower triangle of A is read.

    >>> tg.linalg.cholesky(tg.tensor([[4.0, 2.0], [2.0, 5.0]]))
    tensor([[2., 0.],
            [1., 2.]])
    """
    _square("cholesky", A)
    low = bind(D.Cholesky, _from_triangle(_float(A), False))
    return low.mT if upper else low


@_public
def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix, reading the UPLO triangle.

    >>> tg.linalg.eigh(tg.tensor([[2.0, 1.0], [1.0, 2.0]])).eigenvalues
    tensor([1., 3.])
    """
    _square("eigh", A)
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    packed = bind(D.Eigh, _from_triangle(_float(A), UPLO == "U"))
    n = A.shape[-1]
    return EighResult(packed.narrow(-2, n, 1).squeeze(-2), packed.narrow(-2, 0, n))


@_public
def eigvalsh(A, UPLO="L"):
    """The eigenvalues of a symmetric matrix, ascending.

    >>> tg.linalg.eigvalsh(tg.tensor([[2.0, 0.0], [0.0, 1.0]]))
    tensor([1., 2.])
    """
    return eigh(A, UPLO).eigenvalues


@_public
def qr(A, mode="reduced"):
    """QR: mode 'reduced' (Q (m, k), R (k, n), k = min(m, n)), 'complete' (Q square; for m <= n only, where it
    equals 'reduced') or 'r' (R alone, Q empty).

    >>> tg.linalg.qr(tg.tensor([[3.0], [4.0]])).R.abs()
    tensor([[5.]])
    """
    A = _float(A)
    m, n = A.shape[-2:]
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    if mode == "complete" and m > n:
        raise ValueError(f"linalg.qr: mode='complete' of a tall matrix ({m} x {n}) is not supported (its extra "
                         "columns have no gradient); use mode='reduced'")
    if m >= n:
        packed = bind(D.Qr, A)
        q, r = packed.narrow(-2, 0, m), packed.narrow(-2, m, n)
    else:  # wide: the QR of the first m columns, then R's remaining columns Q^T A[:, m:]
        packed = bind(D.Qr, A.narrow(-1, 0, m))
        q, r0 = packed.narrow(-2, 0, m), packed.narrow(-2, m, m)
        r = _S.cat([r0, _L.matmul(q.mT, A.narrow(-1, m, n - m))], -1)
    if mode == "r":
        return QRResult(_C.tensor([], dtype=A.dtype), r)
    return QRResult(q, r)


@_public
def svd(A, full_matrices=True, *, driver=None):
    """The SVD A = U diag(S) Vh, S descending. With full_matrices=True (PyTorch's default) U and Vh are square;
    their extra columns (an orthonormal completion, not unique) carry no gradient, as in PyTorch where the
    backward refuses them.

    >>> tg.linalg.svd(tg.tensor([[3.0, 0.0], [0.0, -4.0]])).S
    tensor([4., 3.])
    """
    A = _float(A)
    m, n = A.shape[-2:]
    wide = m < n
    t = A.mT if wide else A
    big, k = t.shape[-2], t.shape[-1]
    packed = bind(D.Svd, t)
    u, s, vh = packed.narrow(-2, 0, big), packed.narrow(-2, big, 1).squeeze(-2), packed.narrow(-2, big + 1, k)
    if full_matrices and big > k:
        u = _S.cat([u, _complement(u.detach())], -1)
    if wide:
        u, vh = vh.mT, u.mT
    return SVDResult(u, s, vh)


def _complement(u):
    """Orthonormal columns spanning the complement of u's (m x k, m > k): the eigenvectors of I - u u^T with
    eigenvalue 1."""
    m, k = u.shape[-2:]
    proj = _S.broadcast_to(_eye(m, u), u.shape[:-1] + (m,)) - _L.matmul(u, u.mT)
    vecs = eigh(proj).eigenvectors
    return vecs.narrow(-1, k, m - k)


@_public
def svdvals(A, *, driver=None):
    """The singular values, descending.

    >>> tg.linalg.svdvals(tg.tensor([[3.0, 0.0], [0.0, -4.0]]))
    tensor([4., 3.])
    """
    return svd(A, full_matrices=False).S


def _tolerance(s, atol, rtol, shape):
    """PyTorch's rank cutoff: max(atol, rtol * sigma_max), rtol defaulting to eps * max(m, n) when neither is
    given (and to 0 when only atol is)."""
    eps = float(np.finfo(s.dtype.np).eps)
    if rtol is None:
        rtol = eps * max(shape[-2:]) if atol is None else 0.0
    smax = _R.amax(s, -1, keepdim=True) if s.shape[-1] else s.sum(-1, keepdim=True)
    cut = smax * rtol
    if atol is not None:
        cut = _E.maximum(cut, _E._as_operand(atol, s.dtype) if not isinstance(atol, Tensor) else atol.unsqueeze(-1))
    return cut


@_public
def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    """The number of singular values above max(atol, rtol * sigma_max) (int64).

    >>> tg.linalg.matrix_rank(tg.tensor([[1.0, 2.0], [2.0, 4.0]]))
    tensor(1)
    """
    A = _float(A)
    if tol is not None:
        atol, rtol = tol, 0.0
    s = svdvals(A).detach()
    return (s > _tolerance(s, atol, rtol, A.shape)).sum(-1)


@_public
def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse through the SVD, singular values at or below the cutoff dropped.

    >>> tg.linalg.pinv(tg.tensor([[1.0, 0.0], [0.0, 0.0]]))
    tensor([[1., 0.],
            [0., 0.]])
    """
    A = _float(A)
    u, s, vh = svd(A, full_matrices=False)
    keep = s > _tolerance(s.detach(), atol, rtol, A.shape)
    inv_s = _E.where(keep, 1.0 / _E.where(keep, s, 1.0), 0.0)
    return _L.matmul(vh.mT * inv_s.unsqueeze(-2), u.mT)


def _as_matrix_rhs(A, B):
    """B as a stack of columns (..., n, k) broadcast against A's batch; whether B was a vector."""
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = B.unsqueeze(-1) if vector else B
    batch = _E.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2]))
    A2 = _S.broadcast_to(A, batch + tuple(A.shape[-2:]))
    B2 = _S.broadcast_to(Bm, batch + tuple(Bm.shape[-2:]))
    if A2.dtype is not B2.dtype:
        d = _dt.promote(A2.dtype, B2.dtype)
        A2, B2 = A2.to(d), B2.to(d)
    return A2, B2, vector


@_public
def solve(A, B, *, left=True):
    """X with A X = B (left) or X A = B (left=False); B a vector or a stack of columns, batches broadcast.

    >>> tg.linalg.solve(tg.tensor([[2.0, 0.0], [0.0, 4.0]]), tg.tensor([2.0, 2.0]))
    tensor([1. , 0.5])
    """
    A, B = _float(A), _float(B)
    _square("solve", A)
    if not left:
        return solve(A.mT, B.mT).mT
    A2, B2, vector = _as_matrix_rhs(A, B)
    out = bind(D.Solve, A2, B2)
    return out.squeeze(-1) if vector else out


@_public
def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with T X = B (left) or X T = B, T the upper or lower triangle of A (unit diagonal with unitriangular);
    only that triangle is read, and A's gradient is confined to it.

    >>> tg.linalg.solve_triangular(tg.tensor([[2.0, 0.0], [1.0, 1.0]]), tg.tensor([[2.0], [3.0]]), upper=False)
    tensor([[1.],
            [2.]])
    """
    A, B = _float(A), _float(B)
    _square("solve_triangular", A)
    if not left:  # X T = B  <=>  T^T X^T = B^T, T^T the other triangle
        return solve_triangular(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    if B.ndim < 2:
        raise ValueError(f"linalg.solve_triangular: B must be a matrix (..., n, k), got shape {tuple(B.shape)}")
    A2, B2, _ = _as_matrix_rhs(A, B)
    return bind(D.TriangularSolve, A2, B2, upper=bool(upper), unit=bool(unitriangular))


def _lu_parts(A, op):
    A = _float(A)
    _square(op, A)
    packed = bind(D.Lu, A)
    n = A.shape[-1]
    return packed, n


@_public
def lu_factor(A, *, pivot=True):
    """The LU factorisation with partial pivoting in LAPACK's compact form: LU (L below the diagonal, unit
    diagonal implied; U on and above) and the 1-based row swaps (int32). Square matrices.

    >>> tg.linalg.lu_factor(tg.tensor([[1.0, 2.0], [3.0, 4.0]])).pivots
    tensor([2, 2], dtype=tg.int32)
    """
    if not pivot:
        raise ValueError("linalg.lu_factor: pivot=False is not supported (PyTorch supports it on CUDA only)")
    packed, n = _lu_parts(A, "lu_factor")
    return LUFactorResult(packed.narrow(-2, 0, n), packed.narrow(-2, n, 1).squeeze(-2).detach().to(_dt.int32))


@_public
def lu(A, *, pivot=True):
    """A = P L U with P a permutation matrix, L unit lower and U upper triangular. Square matrices.

    >>> tg.linalg.lu(tg.tensor([[1.0, 2.0], [3.0, 4.0]])).P
    tensor([[0., 1.],
            [1., 0.]])
    """
    if not pivot:
        raise ValueError("linalg.lu: pivot=False is not supported (PyTorch supports it on CUDA only)")
    packed, n = _lu_parts(A, "lu")
    low, up, pt = D.Lu.unpack(packed)
    return LUResult(pt.mT.detach(), low, up)


def _permutation_from_pivots(pivots):
    """perm with (P^T B)[i] = B[perm[i]], from LAPACK's sequential 1-based row swaps (numpy, per batch)."""
    piv = np.asarray(pivots.detach().numpy(), np.int64) - 1
    n = piv.shape[-1]
    perm = np.broadcast_to(np.arange(n), piv.shape).copy()
    for k in range(n):
        p = piv[..., k : k + 1]
        a, b = perm[..., k : k + 1].copy(), np.take_along_axis(perm, p, -1)
        perm[..., k : k + 1] = b
        np.put_along_axis(perm, p, a, -1)
    return perm


@_public
def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """X with A X = B given lu_factor(A) (A^T X = B with adjoint; X A = B with left=False); differentiable in
    LU and B.

    >>> LU, piv = tg.linalg.lu_factor(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    >>> tg.linalg.lu_solve(LU, piv, tg.tensor([[5.0], [11.0]]))
    tensor([[1.],
            [2.]])
    """
    LU, B = _float(LU), _float(B)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    n = LU.shape[-1]
    perm = _permutation_from_pivots(pivots)
    onehot = (perm[..., :, None] == np.arange(n)).astype(LU.dtype.np)
    pt = Tensor._make(onehot)  # P^T (no gradient: the pivots are integers)
    LU2, B2, _ = _as_matrix_rhs(LU, B)
    if not adjoint:  # A = P L U: X = U^-1 L^-1 P^T B
        y = bind(D.TriangularSolve, LU2, _L.matmul(pt, B2), upper=False, unit=True)
        return bind(D.TriangularSolve, LU2, y, upper=True, unit=False)
    # A^T = U^T L^T P^T: X = P L^-T U^-T B
    y = bind(D.TriangularSolve, LU2.mT, B2, upper=False, unit=False)
    z = bind(D.TriangularSolve, LU2.mT, y, upper=True, unit=True)
    return _L.matmul(pt.mT, z)


# *** least squares and tensor equations ***


@_public
def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A X = B through the pseudo-inverse, with PyTorch's CPU outputs per
    driver: 'gelsy' (the default) gives the rank, 'gelsd' / 'gelss' the rank, the singular values and (m > n,
    full rank) the residuals, 'gels' the residuals (m > n).

    >>> tg.linalg.lstsq(tg.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), tg.tensor([[1.0], [2.0], [3.0]])).solution
    tensor([[1.],
            [2.]])
    """
    A, B = _float(A), _float(B)
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise ValueError(f"linalg.lstsq: driver must be 'gels', 'gelsy', 'gelsd' or 'gelss', got {driver!r}")
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:]
    eps = float(np.finfo(A.dtype.np).eps)
    rtol = eps * max(m, n) if rcond is None else rcond
    x = _L.matmul(pinv(A, rtol=rtol), Bm)
    empty = _C.zeros((0,), dtype=A.dtype)
    s = svdvals(A).detach() if driver in ("gelsd", "gelss", "gelsy") else None
    rank = (s > _tolerance(s, None, rtol, A.shape)).sum(-1) if s is not None else _C.zeros((0,), dtype=_dt.int64)
    residuals = empty
    if m > n and driver != "gelsy" and bool((rank == n).all().item() if s is not None else True):
        residuals = ((_L.matmul(A, x) - Bm) ** 2).sum(-2)
    sv = s if driver in ("gelsd", "gelss") else empty
    return LstsqResult(x.squeeze(-1) if vector else x, residuals, rank, sv)


@_public
def tensorinv(A, ind=2):
    """The inverse of A as a tensor map: A's first `ind` dims against the rest (their products must match).

    >>> tg.linalg.tensorinv(tg.tensor([[2.0, 0.0], [0.0, 4.0]]), ind=1)
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    out_shape, in_shape = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    rows, cols = math.prod(out_shape), math.prod(in_shape)
    if rows != cols:
        raise ValueError(f"linalg.tensorinv: the product of the first {ind} dims ({rows}) must equal that of the "
                         f"rest ({cols}) for shape {tuple(A.shape)}")
    return inv(A.reshape(rows, cols)).reshape(in_shape + out_shape)


@_public
def tensorsolve(A, B, dims=None):
    """X with tensordot(A, X, X.ndim) = B; dims are moved to the end of A first.

    >>> tg.linalg.tensorsolve(tg.tensor([[2.0, 0.0], [0.0, 4.0]]), tg.tensor([2.0, 4.0]))
    tensor([1., 1.])
    """
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = _S.movedim(A, dims, list(range(A.ndim - len(dims), A.ndim)))
    x_shape = tuple(A.shape[B.ndim:])
    rows, cols = math.prod(B.shape), math.prod(x_shape)
    if rows != cols:
        raise ValueError(f"linalg.tensorsolve: A {tuple(A.shape)} does not map {x_shape} onto B {tuple(B.shape)} "
                         "square")
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(x_shape)


# *** the _ex forms: info computed from the values ***


def _info_int32(values):
    return Tensor._make(np.asarray(values, np.int32))


def _lu_info(a):
    """LAPACK getrf's info: 1 + the first zero pivot's column, 0 if none (per matrix)."""
    from .backends import numpy as _npb

    packed = _npb._lu(np.asarray(a, np.float64))
    n = a.shape[-1]
    diag = np.diagonal(packed[..., :n, :], 0, -2, -1)
    zero = diag == 0
    return np.where(zero.any(-1), zero.argmax(-1) + 1, 0)


def _cholesky_info(a):
    """LAPACK potrf's info: the order of the first leading minor that is not positive definite, 0 if none."""
    a = np.array(a, np.float64)
    n = a.shape[-1]
    info = np.zeros(a.shape[:-2], np.int64)
    low = np.zeros_like(a)
    for j in range(n):
        d = a[..., j, j] - (low[..., j, :j] ** 2).sum(-1)
        bad = (d <= 0) | np.isnan(d)
        info = np.where((info == 0) & bad, j + 1, info)
        ljj = np.sqrt(np.where(bad, 1.0, d))
        low[..., j, j] = ljj
        low[..., j + 1 :, j] = (a[..., j + 1 :, j] - (low[..., j + 1 :, :j] * low[..., None, j, :j]).sum(-1)) / ljj[
            ..., None]
    return info


def _nan_where_failed(result, info):
    failed = Tensor._make(np.asarray(info) > 0)
    for _ in range(result.ndim - failed.ndim):
        failed = failed.unsqueeze(-1)
    return _E.where(failed, math.nan, result)


def _with_identity_where(A, failed):
    """A with the failed matrices replaced by the identity, so that the primitive runs on the others."""
    if not failed.any():
        return A
    mask = Tensor._make(failed[..., None, None])
    return _E.where(mask, _S.broadcast_to(_eye(A.shape[-1], A), A.shape), A)


def _check(op, info, what):
    bad = np.asarray(info)
    if bad.any():
        first = int(bad.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])
        raise ValueError(f"linalg.{op}: {what} (LAPACK info = {first}); with check_errors=False the info is "
                         "returned instead")


@_public
def inv_ex(A, *, check_errors=False):
    """(inverse, info): info > 0 marks a singular matrix (its inverse is then nan) instead of raising.

    >>> tg.linalg.inv_ex(tg.tensor([[1.0, 2.0], [2.0, 4.0]])).info
    tensor(2, dtype=tg.int32)
    """
    A = _float(A)
    _square("inv_ex", A)
    info = _lu_info(A.detach().numpy())
    if check_errors:
        _check("inv_ex", info, "the matrix is singular")
    out = inv(_with_identity_where(A, info > 0))
    return InvExResult(_nan_where_failed(out, info), _info_int32(info))


@_public
def cholesky_ex(A, *, upper=False, check_errors=False):
    """(L, info): info > 0 is the order of the first leading minor that is not positive definite (L is then
    nan) instead of raising.

    >>> tg.linalg.cholesky_ex(tg.tensor([[1.0, 0.0], [0.0, -1.0]])).info
    tensor(2, dtype=tg.int32)
    """
    A = _float(A)
    _square("cholesky_ex", A)
    sym = A.tril() + A.tril(-1).mT
    info = _cholesky_info(sym.detach().numpy())
    if check_errors:
        _check("cholesky_ex", info, "the matrix is not positive definite")
    out = cholesky(_with_identity_where(A, info > 0), upper=upper)
    return CholeskyExResult(_nan_where_failed(out, info), _info_int32(info))


@_public
def solve_ex(A, B, *, left=True, check_errors=False):
    """(result, info) of solve; info > 0 marks a singular matrix (its result is then nan).

    >>> tg.linalg.solve_ex(tg.tensor([[2.0, 0.0], [0.0, 4.0]]), tg.tensor([2.0, 2.0])).info
    tensor(0, dtype=tg.int32)
    """
    A = _float(A)
    _square("solve_ex", A)
    info = _lu_info(A.detach().numpy())
    if check_errors:
        _check("solve_ex", info, "the matrix is singular")
    out = solve(_with_identity_where(A, info > 0), B, left=left)
    failed = np.asarray(info) > 0
    if failed.any():
        mask = Tensor._make(failed.reshape(failed.shape + (1,) * (out.ndim - failed.ndim)))
        out = _E.where(mask, math.nan, out)
    return SolveExResult(out, _info_int32(info))


@_public
def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """(LU, pivots, info) of lu_factor; info > 0 names the first zero pivot instead of raising.

    >>> tg.linalg.lu_factor_ex(tg.tensor([[0.0, 0.0], [0.0, 0.0]])).info
    tensor(1, dtype=tg.int32)
    """
    A = _float(A)
    info = _lu_info(A.detach().numpy())
    if check_errors:
        _check("lu_factor_ex", info, "the matrix is singular")
    LU, piv = lu_factor(A, pivot=pivot)
    return LUFactorExResult(LU, piv, _info_int32(info))
