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
