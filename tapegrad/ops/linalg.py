"""Linear-algebra composites: matmul with batch broadcasting and 1-D rules, mm, bmm, dot, outer, einsum."""

from __future__ import annotations

import math

from .. import dtype as dt
from ..errors import user_frame
from ..primitives import bind
from ..primitives.linalg import Matmul
from ..tensor import Tensor
from .elementwise import _as_operand, broadcast_shapes, expand_to, _PLAIN
from .reduce import vector_norm  # noqa: F401  (tg.linalg.vector_norm, as torch.linalg.vector_norm)


def matmul(x: Tensor, y: Tensor) -> Tensor:
    """Matrix product with numpy/PyTorch rules: 1-D operands are promoted and squeezed, batch dims broadcast.

    >>> tg.matmul(tg.tensor([[1.0, 2.0]]), tg.tensor([[3.0], [4.0]]))
    tensor([[11.]])
    """
    if (x.__class__ in _PLAIN and y.__class__ in _PLAIN and x.dtype is y.dtype and x._data.ndim == 2
            and y._data.ndim == 2 and x._data.shape[1] == y._data.shape[0] and x.dtype is not dt.bool_):
        return bind(Matmul, x, y)  # two matrices of one dtype: nothing to check further, promote or broadcast
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"matmul: both operands must be Tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {tuple(x.shape)} and {tuple(y.shape)}; use * for scalars")
    if x.dtype is not y.dtype:
        d = dt.promote(x.dtype, y.dtype)
        x, y = _as_operand(x, d), _as_operand(y, d)
    if x.dtype is dt.bool_:
        raise TypeError("matmul: not defined for bool tensors; convert with .float() or .int()")
    if x.ndim == 1 and y.ndim == 1:  # a dot product: (1, k) @ (k, 1), then one reshape to () (not two squeezes)
        if x.shape[0] != y.shape[0]:
            raise ValueError(
                f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied: a dot product needs "
                f"vectors of one length (at {user_frame()})"
            )
        return bind(Matmul, x.reshape(1, x.shape[0]), y.reshape(y.shape[0], 1)).reshape(())
    xs = x.unsqueeze(0) if x.ndim == 1 else x
    ys = y.unsqueeze(-1) if y.ndim == 1 else y
    if xs.shape[-1] != ys.shape[-2]:
        raise ValueError(
            f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied "
            f"({xs.shape[-2]}x{xs.shape[-1]} and {ys.shape[-2]}x{ys.shape[-1]}): the inner sizes "
            f"{xs.shape[-1]} and {ys.shape[-2]} differ (at {user_frame()})"
        )
    try:
        batch = broadcast_shapes(xs.shape[:-2], ys.shape[:-2])
    except ValueError as e:
        raise ValueError(
            f"matmul: the batch dimensions of {tuple(x.shape)} and {tuple(y.shape)} do not broadcast: {e}"
        ) from None
    xs = expand_to(xs, batch + xs.shape[-2:])
    ys = expand_to(ys, batch + ys.shape[-2:])
    out = bind(Matmul, xs, ys)
    if x.ndim == 1:
        out = out.squeeze(-2)
    if y.ndim == 1:
        out = out.squeeze(-1)
    return out


def mm(x, y):
    """The product of two matrices.

    >>> tg.mm(tg.tensor([[1, 2], [3, 4]]), tg.tensor([[1, 0], [0, 1]]))
    tensor([[1, 2],
            [3, 4]])
    """
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"mm: expects two 2-D tensors, got shapes {tuple(x.shape)} and {tuple(y.shape)}; use matmul")
    return matmul(x, y)


def bmm(x, y):
    """Batched matrix products of (b, n, m) and (b, m, p).

    >>> tg.bmm(tg.ones(2, 1, 3), tg.ones(2, 3, 1))
    tensor([[[3.]],
    <BLANKLINE>
            [[3.]]])
    
            [[3.]]])
    """
    if x.ndim != 3 or y.ndim != 3 or x.shape[0] != y.shape[0]:
        raise ValueError(f"bmm: expects two 3-D tensors with equal batch sizes, got {tuple(x.shape)} and {tuple(y.shape)}")
    return matmul(x, y)


def mv(x, v):
    """A matrix times a vector.

    >>> tg.mv(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0]))
    tensor([3., 7.])
    """
    return matmul(x, v)


def dot(x, y):
    """The dot product of two vectors.

    >>> tg.dot(tg.tensor([1, 2]), tg.tensor([3, 4]))
    tensor(11)
    """
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"dot: expects two 1-D tensors of equal size, got {tuple(x.shape)} and {tuple(y.shape)}")
    return matmul(x, y)


inner = vdot = dot


def outer(x, y):
    """The outer product of two vectors.

    >>> tg.outer(tg.tensor([1, 2]), tg.tensor([1, 10]))
    tensor([[ 1, 10],
            [ 2, 20]])
    """
    return x.reshape(-1, 1) * y.reshape(1, -1)


ger = outer


def _parse_einsum(equation, operands):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs = eq
        letters = lhs.replace(",", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c != "."))
        if "..." in lhs:
            out = "..." + out
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: the equation has {len(terms)} operands but {len(operands)} tensors were given")
    # replace '...' by fresh uppercase letters, right-aligned across operands
    ell = max((t.ndim - (len(s) - 3) for s, t in zip(terms, operands) if "..." in s), default=0)
    fresh = "".join(chr(ord("A") + i) for i in range(ell))
    fixed = []
    for s, t in zip(terms, operands):
        if "..." in s:
            k = t.ndim - (len(s) - 3)
            s = s.replace("...", fresh[ell - k :])
        if len(s) != t.ndim:
            raise ValueError(f"einsum: subscripts '{s}' do not match an operand with {t.ndim} dimensions")
        fixed.append(s)
    return fixed, out.replace("...", fresh)


def _broadcast_letters(equation, items):
    """Check that each subscript letter has one size across operands (size 1 broadcasts, as in PyTorch)."""
    size = {}
    for k, (s, t) in enumerate(items):
        for c, n in zip(s, t.shape):
            if size.get(c, 1) != 1 and n != 1 and size[c] != n:
                raise ValueError(
                    f"einsum('{equation}'): subscript {c} has size {n} in operand {k} but size {size[c]} in an "
                    "earlier operand; sizes must match (or be 1)"
                )
            size[c] = n if size.get(c, 1) == 1 else size[c]
    return [(s, t.expand(tuple(size[c] for c in s))) if t.shape != tuple(size[c] for c in s) else (s, t)
            for s, t in items]


def _take_diagonals(s, t):
    """Repeated letters in one operand (e.g. 'ii') select a diagonal."""
    for c in set(s):
        sizes = {n for x, n in zip(s, t.shape) if x == c}
        if len(sizes) > 1:
            raise ValueError(f"einsum: subscript {c} repeats in '{s}' over dimensions of different sizes {sorted(sizes)}")
    while len(set(s)) < len(s):
        for c in s:
            if s.count(c) > 1:
                i = s.index(c)
                j = s.index(c, i + 1)
                t = t.diagonal(0, i, j)
                s = s[:i] + s[i + 1 : j] + s[j + 1 :] + c
                break
    return s, t


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, contracted pairwise with matmul: einsum('bij,bjk->bik', a, b).

    >>> tg.einsum('ij,j->i', tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0]))
    tensor([3., 7.])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, out = _parse_einsum(equation, operands)
    items = _broadcast_letters(equation, [_take_diagonals(s, t) for s, t in zip(terms, operands)])
    while len(items) > 1:
        (sa, a), (sb, b) = items[0], items[1]
        later = out + "".join(s for s, _ in items[2:])
        items = [_contract(sa, a, sb, b, later)] + items[2:]
    s, t = items[0]
    gone = tuple(i for i, c in enumerate(s) if c not in out)
    if gone:
        t = t.sum(gone)
        s = "".join(c for c in s if c in out)
    return t.permute([s.index(c) for c in out]) if s != out else t


def _contract(sa, a, sb, b, keep):
    """Contract two operands over letters they share and no later term needs."""
    a, sa = _sum_unique(sa, a, sb + keep)
    b, sb = _sum_unique(sb, b, sa + keep)
    batch = [c for c in sa if c in sb and c in keep]
    summed = [c for c in sa if c in sb and c not in keep]
    only_a = [c for c in sa if c not in sb]
    only_b = [c for c in sb if c not in sa]
    a2 = a.permute([sa.index(c) for c in batch + only_a + summed])
    b2 = b.permute([sb.index(c) for c in batch + summed + only_b])
    size = dict(zip(sa, a.shape))
    size.update(dict(zip(sb, b.shape)))
    na = math.prod(size[c] for c in only_a)
    nb = math.prod(size[c] for c in only_b)
    ns = math.prod(size[c] for c in summed)
    a3 = a2.reshape(tuple(a2.shape[: len(batch)]) + (na, ns))
    b3 = b2.reshape(tuple(b2.shape[: len(batch)]) + (ns, nb))
    r = matmul(a3, b3)
    shape = tuple(r.shape[: len(batch)]) + tuple(size[c] for c in only_a) + tuple(size[c] for c in only_b)
    return "".join(batch + only_a + only_b), r.reshape(shape)


def _sum_unique(s, t, others):
    gone = tuple(i for i, c in enumerate(s) if c not in others)
    if not gone:
        return t, s
    return t.sum(gone), "".join(c for c in s if c in others)


# Tensor methods: tensor.name(...) == name(tensor, ...) (attached by ops/__init__.py)
_METHODS = """matmul mm bmm mv dot inner outer"""


# *** PyTorch's top-level linear-algebra names (most over tapegrad/linalg.py, imported when called: it is built
# on this module) ***


def _la():
    from .. import linalg

    return linalg


def det(x):
    """torch.det: linalg.det.

    >>> tg.det(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(-2.)
    """
    return _la().det(x)


def logdet(x):
    """log(det(x)): nan where the determinant is negative, -inf where it is 0, as torch.logdet.

    >>> tg.logdet(tg.tensor([[2.0, 0.0], [0.0, 3.0]]))
    tensor(1.7918)
    """
    sign, logabs = _la().slogdet(x)
    from .elementwise import log

    return logabs + log(sign)  # log(1) = 0, log(0) = -inf, log(-1) = nan


def slogdet(x):
    """torch.slogdet: linalg.slogdet, (sign, logabsdet).

    >>> tg.slogdet(tg.tensor([[2.0, 0.0], [0.0, -3.0]])).logabsdet
    tensor(1.7918)
    """
    return _la().slogdet(x)


def inverse(x):
    """torch.inverse: linalg.inv.

    >>> tg.inverse(tg.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    return _la().inv(x)


def pinverse(x, rcond=1e-15):
    """torch.pinverse: linalg.pinv with singular values below rcond * sigma_max dropped.

    >>> tg.pinverse(tg.tensor([[2.0, 0.0], [0.0, 0.0]]))
    tensor([[0.5, 0. ],
            [0. , 0. ]])
    """
    return _la().pinv(x, rtol=rcond)


def matrix_exp(x):
    """torch.matrix_exp: linalg.matrix_exp.

    >>> tg.matrix_exp(tg.tensor([[0.0, 0.0], [0.0, 0.0]]))
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _la().matrix_exp(x)


def matrix_power(x, n):
    """torch.matrix_power: linalg.matrix_power.

    >>> tg.matrix_power(tg.tensor([[2.0, 0.0], [0.0, 3.0]]), 2)
    tensor([[4., 0.],
            [0., 9.]])
    """
    return _la().matrix_power(x, n)


def cholesky(x, upper=False):
    """torch.cholesky: linalg.cholesky.

    >>> tg.cholesky(tg.tensor([[4.0, 2.0], [2.0, 5.0]]))
    tensor([[2., 0.],
            [1., 2.]])
    """
    return _la().cholesky(x, upper=upper)


def cholesky_solve(b, u, upper=False):
    """A^-1 b for A = u u^T (u lower) or u^T u (upper), given the Cholesky factor u, as torch.cholesky_solve.

    >>> tg.cholesky_solve(tg.tensor([[4.0], [5.0]]), tg.tensor([[2.0, 0.0], [1.0, 2.0]]))
    tensor([[0.625],
            [0.75 ]])
    """
    la = _la()
    low = u.mT if upper else u
    y = la.solve_triangular(low, b, upper=False)
    return la.solve_triangular(low.mT, y, upper=True)


def cholesky_inverse(u, upper=False):
    """A^-1 for A = u u^T (u lower) or u^T u (upper), as torch.cholesky_inverse.

    >>> tg.cholesky_inverse(tg.tensor([[2.0, 0.0], [0.0, 1.0]]))
    tensor([[0.25, 0.  ],
            [0.  , 1.  ]])
    """
    from .creation import eye
    from .shape import broadcast_to

    return cholesky_solve(broadcast_to(eye(u.shape[-1], dtype=u.dtype), u.shape), u, upper)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """(x, A) with tri(A) x = b (tri(A)^T x = b with transpose), as the legacy torch.triangular_solve.

    >>> tg.triangular_solve(tg.tensor([[2.0], [2.0]]), tg.tensor([[1.0, 1.0], [0.0, 2.0]])).solution
    tensor([[1.],
            [1.]])
    """
    from collections import namedtuple

    la = _la()
    a = A.mT if transpose else A
    x = la.solve_triangular(a, b, upper=upper != transpose, unitriangular=unitriangular)
    return namedtuple("TriangularSolveResult", "solution cloned_coefficient")(x, A.clone())


def qr(x, some=True):
    """The legacy torch.qr: linalg.qr with mode 'reduced' (some=True) or 'complete'.

    >>> tg.qr(tg.tensor([[3.0], [4.0]])).R.abs()
    tensor([[5.]])
    """
    return _la().qr(x, "reduced" if some else "complete")


def svd(x, some=True, compute_uv=True):
    """The legacy torch.svd: (U, S, V) with V (not V^T); some=False gives square U and V.

    >>> tg.svd(tg.tensor([[3.0, 0.0], [0.0, 4.0]])).S
    tensor([4., 3.])
    """
    from collections import namedtuple

    u, s, vh = _la().svd(x, full_matrices=not some)
    result = namedtuple("SVDResult", "U S V")
    if not compute_uv:
        from .creation import zeros_like

        return result(zeros_like(u), s, zeros_like(vh))
    return result(u, s, vh.mT)


def lu(A, pivot=True, get_infos=False):
    """The legacy torch.lu: (LU, pivots) of linalg.lu_factor (and infos with get_infos).

    >>> tg.lu(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))[1]
    tensor([2, 2], dtype=tg.int32)
    """
    la = _la()
    if get_infos:
        return tuple(la.lu_factor_ex(A, pivot=pivot))
    return tuple(la.lu_factor(A, pivot=pivot))


def lu_solve(b, LU_data, LU_pivots):
    """The legacy torch.lu_solve(b, LU, pivots): linalg.lu_solve(LU, pivots, b).

    >>> LU, piv = tg.lu(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    >>> tg.lu_solve(tg.tensor([[5.0], [11.0]]), LU, piv)
    tensor([[1.],
            [2.]])
    """
    return _la().lu_solve(LU_data, LU_pivots, b)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """(P, L, U) from a compact LU and its pivots, as torch.lu_unpack (A = P L U).

    >>> tg.lu_unpack(*tg.linalg.lu_factor(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))).L
    tensor([[1.    , 0.    ],
            [0.3333, 1.    ]])
    """
    from collections import namedtuple

    import numpy as np

    from .creation import eye

    la = _la()
    n = LU_data.shape[-1]
    perm = la._permutation_from_pivots(LU_pivots)
    pt = Tensor._make((perm[..., :, None] == np.arange(n)).astype(LU_data.dtype.np))
    low = LU_data.tril(-1) + eye(n, dtype=LU_data.dtype)
    return namedtuple("LUUnpackResult", "P L U")(pt.mT, low, LU_data.triu())


def kron(x, y):
    """The Kronecker product, as torch.kron.

    >>> tg.kron(tg.tensor([[1, 2]]), tg.tensor([[1], [10]]))
    tensor([[ 1,  2],
            [10, 20]])
    """
    nd = max(x.ndim, y.ndim)
    xs = x.reshape((1,) * (nd - x.ndim) + tuple(x.shape))
    ys = y.reshape((1,) * (nd - y.ndim) + tuple(y.shape))
    a = xs.reshape(sum(((n, 1) for n in xs.shape), ()))
    b = ys.reshape(sum(((1, n) for n in ys.shape), ()))
    return (a * b).reshape(tuple(p * q for p, q in zip(xs.shape, ys.shape)))


def trace(x):
    """The sum of the main diagonal of a matrix.

    >>> tg.trace(tg.tensor([[1, 2], [3, 4]]))
    tensor(5)
    """
    if x.ndim != 2:
        raise ValueError(f"trace: expects a 2-D tensor, got shape {tuple(x.shape)}")
    return x.diagonal().sum()


def _scaled_sum(x, product, beta, alpha):
    out = product if alpha == 1 else product * alpha
    return out if beta == 0 else out + (x if beta == 1 else x * beta)  # beta == 0: x is ignored (nan too)


def addmm(x, mat1, mat2, *, beta=1, alpha=1):
    """beta * x + alpha * (mat1 @ mat2).

    >>> tg.addmm(tg.tensor([1.0]), tg.tensor([[1.0, 2.0]]), tg.tensor([[3.0], [4.0]]), alpha=2)
    tensor([[23.]])
    """
    return _scaled_sum(x, mm(mat1, mat2), beta, alpha)


def addmv(x, mat, vec, *, beta=1, alpha=1):
    """beta * x + alpha * (mat @ vec).

    >>> tg.addmv(tg.tensor([1.0, 1.0]), tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0]))
    tensor([4., 8.])
    """
    return _scaled_sum(x, mv(mat, vec), beta, alpha)


def addr(x, vec1, vec2, *, beta=1, alpha=1):
    """beta * x + alpha * outer(vec1, vec2).

    >>> tg.addr(tg.zeros(2, 2), tg.tensor([1.0, 2.0]), tg.tensor([1.0, 3.0]))
    tensor([[1., 3.],
            [2., 6.]])
    """
    return _scaled_sum(x, outer(vec1, vec2), beta, alpha)


def baddbmm(x, batch1, batch2, *, beta=1, alpha=1):
    """beta * x + alpha * bmm(batch1, batch2).

    >>> tg.baddbmm(tg.zeros(1, 1, 1), tg.ones(1, 1, 2), tg.ones(1, 2, 1), alpha=0.5)
    tensor([[[1.]]])
    """
    return _scaled_sum(x, bmm(batch1, batch2), beta, alpha)


def addbmm(x, batch1, batch2, *, beta=1, alpha=1):
    """beta * x + alpha * the sum over the batch of batch1[i] @ batch2[i].

    >>> tg.addbmm(tg.zeros(1, 1), tg.ones(3, 1, 2), tg.ones(3, 2, 1))
    tensor([[6.]])
    """
    return _scaled_sum(x, bmm(batch1, batch2).sum(0), beta, alpha)


def chain_matmul(*matrices):
    """The product of the matrices in order (linalg.multi_dot).

    >>> tg.chain_matmul(tg.eye(2), tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.eye(2))
    tensor([[1., 2.],
            [3., 4.]])
    """
    if len(matrices) == 1:
        return matrices[0]
    return _la().multi_dot(list(matrices))


def cross(x, y, dim=None):
    """The cross product along dim; with dim=None, PyTorch's legacy default: the first dim of size 3.

    >>> tg.cross(tg.tensor([[1.0, 0.0, 0.0]]), tg.tensor([[0.0, 1.0, 0.0]]), dim=1)
    tensor([[0., 0., 1.]])
    """
    if dim is None:
        dims = [i for i, (a, b) in enumerate(zip(x.shape, y.shape)) if a == 3 and b == 3]
        if not dims:
            raise ValueError(f"cross: no dimension of size 3 in shapes {tuple(x.shape)} and {tuple(y.shape)}")
        dim = dims[0]
    return _la().cross(x, y, dim=dim)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """The p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M): (..., P, R).

    >>> tg.cdist(tg.tensor([[0.0, 0.0]]), tg.tensor([[3.0, 4.0], [1.0, 0.0]]))
    tensor([[5., 1.]])
    """
    from .reduce import norm

    return norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


def dist(x, y, p=2):
    """The p-norm of x - y (broadcast).

    >>> tg.dist(tg.tensor([0.0, 0.0]), tg.tensor([3.0, 4.0]))
    tensor(5.)
    """
    from .reduce import norm

    return norm(x - y, p)


_METHODS += """ det logdet slogdet inverse pinverse matrix_exp matrix_power cholesky cholesky_solve cholesky_inverse
    triangular_solve qr svd lu lu_solve kron trace addmm addmv addr baddbmm addbmm cross dist vdot ger"""
_INPLACE = """addmm addmv addr baddbmm addbmm"""
