"""Matrix decompositions: inv, slogdet (and its non-differentiable sign), cholesky, eigh, qr, svd.

Each works on the last two axes, with any leading batch axes (numpy.linalg broadcasts), so batching only
moves the mapped axis to the front. A primitive has one output, so the decompositions with several factors
return them packed along axis -2 and tapegrad/numpy/linalg.py unpacks them:
  eigh: (..., n + 1, n) = vectors, then the eigenvalues as one more row
  qr:   (..., m + n, n) = Q (m x n), then R (n x n)            (reduced, m >= n)
  svd:  (..., m + 1 + n, n) = U (m x n), S (one row), Vh (n x n) (reduced, m >= n)
cholesky and eigh read (a + a^T) / 2, as JAX's symmetrize_input does, so their rules (which hold for
symmetric perturbations) are exact for the primitive as a function of every entry.
The vjp rules are the standard real-matrix ones (Giles 2008; Murray 2016 for cholesky; Townsend 2016 for
svd); eigh and svd assume distinct eigen/singular values, as JAX's rules do.
"""

from __future__ import annotations

from . import batching
from .base import LINALG, AVal, Primitive, register


def _square(op, a):
    if len(a.shape) < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op}: expected square matrices (..., n, n), got shape {a.shape}")
    if not a.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a floating dtype, got {a.dtype.name}")


def _tall(op, a):
    if len(a.shape) < 2 or a.shape[-2] < a.shape[-1]:
        raise ValueError(f"{op}: the primitive takes m >= n matrices (..., m, n), got {a.shape}")


class _Matrix(Primitive):
    family = LINALG

    def batch(self, xs, bdims, **params):
        return self.bind_front(batching.move_to_front(xs[0], bdims[0]), **params), 0

    def bind_front(self, x, **params):
        from .base import bind

        return bind(self, x, **params)


def _t(x):
    return x.mT


def _eye_like(x):
    from ..ops.creation import eye

    return eye(x.shape[-1], dtype=x.dtype)


def _off_diagonal_reciprocal(d):
    """F[..., i, j] = 1 / (d[j] - d[i]) off the diagonal, 0 on it."""
    from ..ops.elementwise import where

    diff = d.unsqueeze(-2) - d.unsqueeze(-1)
    eye = _eye_like(diff).bool()
    return where(eye, 0.0, 1.0 / where(eye, 1.0, diff))


@register
class Inv(_Matrix):
    saves_out = True
    vjp_reads_inputs = False

    def shape(self, a):
        _square("inv", a)
        return AVal(a.shape, a.dtype)

    def vjp(self, g, a, *, out):
        return (-(_t(out) @ g @ _t(out)),)

    def jvp(self, dxs, xs, out):
        return -(out @ dxs[0] @ out)


@register
class Slogdet(_Matrix):
    """log |det a|; its vjp is g * inv(a)^T."""

    saves = (0,)

    def shape(self, a):
        _square("slogdet", a)
        return AVal(a.shape[:-2], a.dtype)

    def vjp(self, g, a, *, out):
        return (g.unsqueeze(-1).unsqueeze(-1) * _t(_inv(a)),)

    def jvp(self, dxs, xs, out):
        return (_t(_inv(xs[0])) * dxs[0]).sum((-2, -1))


@register
class DetSign(_Matrix):
    differentiable = False

    def shape(self, a):
        _square("slogdet", a)
        return AVal(a.shape[:-2], a.dtype)

    def vjp(self, g, a, *, out):
        return (None,)

    def jvp(self, dxs, xs, out):
        return None


def _inv(a):
    from .base import bind

    return bind(Inv, a)


def _sym(x):
    return 0.5 * (x + _t(x))


def _phi(x):
    """The lower triangle with the diagonal halved."""
    return x.tril() - 0.5 * (x * _eye_like(x))


@register
class Cholesky(_Matrix):
    saves_out = True
    vjp_reads_inputs = False

    def shape(self, a):
        _square("cholesky", a)
        return AVal(a.shape, a.dtype)

    def vjp(self, g, a, *, out):
        li = _inv(out)
        return (_sym(_t(li) @ _phi(_t(out) @ g) @ li),)

    def jvp(self, dxs, xs, out):
        li = _inv(out)
        return out @ _phi(li @ _sym(dxs[0]) @ _t(li))


@register
class Eigh(_Matrix):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, packed (..., n + 1, n)."""

    saves_out = True
    vjp_reads_inputs = False

    def shape(self, a):
        _square("eigh", a)
        return AVal(a.shape[:-2] + (a.shape[-1] + 1, a.shape[-1]), a.dtype)

    def vjp(self, g, a, *, out):
        n = out.shape[-1]
        v, w = out.narrow(-2, 0, n), out.narrow(-2, n, 1).squeeze(-2)
        gv, gw = g.narrow(-2, 0, n), g.narrow(-2, n, 1).squeeze(-2)
        inner = _off_diagonal_reciprocal(w) * (_t(v) @ gv) + gw.unsqueeze(-1) * _eye_like(v)
        return (_sym(v @ inner @ _t(v)),)

    def jvp(self, dxs, xs, out):
        from ..ops.shape import cat

        n = out.shape[-1]
        v, w = out.narrow(-2, 0, n), out.narrow(-2, n, 1).squeeze(-2)
        m = _t(v) @ _sym(dxs[0]) @ v
        dv = v @ (_off_diagonal_reciprocal(w) * m)
        dw = m.diagonal(0, -2, -1)
        return cat([dv, dw.unsqueeze(-2)], -2)


def _copyltu(m):
    return m.tril() + m.tril(-1).mT


@register
class Qr(_Matrix):
    saves_out = True
    vjp_reads_inputs = False

    def shape(self, a):
        _tall("qr", a)
        return AVal(a.shape[:-2] + (a.shape[-2] + a.shape[-1], a.shape[-1]), a.dtype)

    def vjp(self, g, a, *, out):
        m = out.shape[-2] - out.shape[-1]
        q, r = out.narrow(-2, 0, m), out.narrow(-2, m, out.shape[-1])
        gq, gr = g.narrow(-2, 0, m), g.narrow(-2, m, out.shape[-1])
        mm = r @ _t(gr) - _t(gq) @ q
        return ((gq + q @ _copyltu(mm)) @ _t(_inv(r)),)

    def jvp(self, dxs, xs, out):
        # X = Q^T dA R^-1 = Omega + dR R^-1 with Omega skew and dR R^-1 upper: Omega is X's strict lower part
        from ..ops.shape import cat

        m = out.shape[-2] - out.shape[-1]
        q, r = out.narrow(-2, 0, m), out.narrow(-2, m, out.shape[-1])
        da_ri = dxs[0] @ _inv(r)
        x = _t(q) @ da_ri
        low = x.tril(-1)
        upper = x - (low - _t(low))
        return cat([da_ri - q @ upper, upper @ r], -2)


@register
class Svd(_Matrix):
    saves_out = True
    vjp_reads_inputs = False

    def shape(self, a):
        _tall("svd", a)
        m, n = a.shape[-2:]
        return AVal(a.shape[:-2] + (m + 1 + n, n), a.dtype)

    def vjp(self, g, a, *, out):
        n = out.shape[-1]
        m = out.shape[-2] - 1 - n
        u, s, vh = out.narrow(-2, 0, m), out.narrow(-2, m, 1).squeeze(-2), out.narrow(-2, m + 1, n)
        gu, gs, gvh = g.narrow(-2, 0, m), g.narrow(-2, m, 1).squeeze(-2), g.narrow(-2, m + 1, n)
        v, gv = _t(vh), _t(gvh)
        f = _off_diagonal_reciprocal(s * s)
        j = f * (_t(u) @ gu - _t(gu) @ u)
        k = f * (_t(v) @ gv - _t(gv) @ v)
        eye = _eye_like(v)
        core = j * s.unsqueeze(-2) + gs.unsqueeze(-1) * eye + s.unsqueeze(-1) * k
        out_a = u @ core @ vh
        if m > n:  # the part of gu outside U's column space
            proj = gu - u @ (_t(u) @ gu)
            out_a = out_a + (proj / s.unsqueeze(-2)) @ vh
        return (out_a,)

    def jvp(self, dxs, xs, out):
        from ..ops.shape import cat

        n = out.shape[-1]
        m = out.shape[-2] - 1 - n
        u, s, vh = out.narrow(-2, 0, m), out.narrow(-2, m, 1).squeeze(-2), out.narrow(-2, m + 1, n)
        v = _t(vh)
        dp = _t(u) @ dxs[0] @ v
        f = _off_diagonal_reciprocal(s * s)
        dss, sds = dp * s.unsqueeze(-2), s.unsqueeze(-1) * dp
        du = u @ (f * (dss + _t(dss)))
        if m > n:
            du = du + (dxs[0] @ v - u @ dp) / s.unsqueeze(-2)
        dv = v @ (f * (sds + _t(sds)))
        return cat([du, dp.diagonal(0, -2, -1).unsqueeze(-2), _t(dv)], -2)


# *** LU, solve and triangular solve (torch.linalg's lu_factor / lu / lu_solve, solve, solve_triangular) ***


def _two(op, a, b):
    _square(op, a)
    if len(b.shape) < 2 or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"{op}: expected a (..., n, n) and b (..., n, k) with equal batch shapes, got {a.shape} "
                         f"and {b.shape}")
    if b.dtype is not a.dtype:
        raise TypeError(f"{op}: a and b must have one dtype, got {a.dtype.name} and {b.dtype.name}")


class _MatrixPair(_Matrix):
    def batch(self, xs, bdims, **params):
        size = batching.batch_size(xs, bdims)
        a, b = (batching.at_front(x, d, size) for x, d in zip(xs, bdims))
        from .base import bind

        return bind(self, a, b, **params), 0


@register
class Lu(_Matrix):
    """LU with partial pivoting of square matrices, packed (..., n + 2, n): rows 0..n-1 hold L (strictly below
    the diagonal, unit diagonal implied) and U (on and above it), row n the LAPACK pivots (1-based, as floats:
    row i was swapped with row pivots[i]), row n + 1 the permutation perm with A[perm] = L U. The two index rows
    carry no gradient. vjp (square; as torch's linalg_lu_backward):
    gA = P L^-T [tril(L^T gL, -1) + triu(gU U^T)] U^-T."""

    saves_out = True
    vjp_reads_inputs = False

    def shape(self, a):
        _square("lu", a)
        n = a.shape[-1]
        return AVal(a.shape[:-2] + (n + 2, n), a.dtype)

    @staticmethod
    def unpack(out):
        """(L, U, P^T) of a packed LU; P^T A = L U."""
        n = out.shape[-1]
        lu = out.narrow(-2, 0, n)
        eye = _eye_like(lu)
        perm = out.narrow(-2, n + 1, 1).squeeze(-2)
        from ..ops.creation import arange

        pt = (perm.unsqueeze(-1) == arange(n, dtype=out.dtype)).to(out.dtype)
        return lu.tril(-1) + eye, lu.triu(), pt

    def vjp(self, g, a, *, out):
        n = out.shape[-1]
        low, up, pt = self.unpack(out)
        gp = g.narrow(-2, 0, n)
        inner = (_t(low) @ gp.tril(-1)).tril(-1) + (gp.triu() @ _t(up)).triu()
        # P L^-T inner U^-T, with the triangular inverses as solves
        y = bind_tri(_t(low), inner, upper=True, unit=True)
        return (_t(pt) @ _t(bind_tri(up, _t(y), upper=True, unit=False)),)  # (U^-1 y^T)^T = y U^-T

    def jvp(self, dxs, xs, out):
        from ..ops.shape import cat

        n = out.shape[-1]
        low, up, pt = self.unpack(out)
        # X = L^-1 P^T dA U^-1; dL = L tril(X, -1), dU = triu(X) U
        y = bind_tri(low, pt @ dxs[0], upper=False, unit=True)
        x = _t(bind_tri(up, _t(y), upper=True, unit=False, transpose=True))
        d = low @ x.tril(-1) + x.triu() @ up
        return cat([d, out.narrow(-2, n, 2).zeros_like()], -2)


def bind_tri(a, b, *, upper, unit, transpose=False):
    """tri(a)^-1 b, or tri(a)^-T b with transpose (the solve with the transposed triangle)."""
    from .base import bind

    if transpose:
        return bind(TriangularSolve, _t(a), b, upper=not upper, unit=unit)
    return bind(TriangularSolve, a, b, upper=upper, unit=unit)


@register
class Solve(_MatrixPair):
    """x = a^-1 b for square a (..., n, n) and b (..., n, k) (LAPACK gesv). vjp: gb = a^-T g, ga = -gb x^T."""

    saves, saves_out = (0,), True

    def shape(self, a, b):
        _two("solve", a, b)
        return AVal(b.shape, b.dtype)

    def vjp(self, g, a, b, *, out):
        from .base import bind

        gb = bind(self, _t(a), g)
        return -(gb @ _t(out)), gb

    def jvp(self, dxs, xs, out):
        from .base import bind

        da, db = dxs
        rhs = db if da is None else (-(da @ out) if db is None else db - da @ out)
        return bind(self, xs[0], rhs)


@register
class TriangularSolve(_MatrixPair):
    """x = tri(a)^-1 b, tri(a) the lower (upper=False) or upper triangle of a, with a unit diagonal when unit.
    Only that triangle is read, so a's gradient is masked to it: ga = -tri(gb x^T), gb = tri(a)^-T g."""

    name = "triangular_solve"
    saves, saves_out = (0,), True

    def shape(self, a, b, *, upper, unit):
        _two("solve_triangular", a, b)
        return AVal(b.shape, b.dtype)

    @staticmethod
    def mask(m, upper, unit):
        return (m.triu(1 if unit else 0)) if upper else m.tril(-1 if unit else 0)

    def vjp(self, g, a, b, *, out, upper, unit):
        gb = bind_tri(a, g, upper=upper, unit=unit, transpose=True)
        return -self.mask(gb @ _t(out), upper, unit), gb

    def jvp(self, dxs, xs, out, *, upper, unit):
        da, db = dxs
        rhs = db if da is None else (-(self.mask(da, upper, unit) @ out) if db is None
                                     else db - self.mask(da, upper, unit) @ out)
        return bind_tri(xs[0], rhs, upper=upper, unit=unit)
