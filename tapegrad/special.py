"""tg.special: PyTorch's torch.special namespace.

Composites over the existing ops where torch.special renames one (expit is sigmoid, gammaln is lgamma, psi is
digamma, ...), and the special-function primitives of primitives/special.py (computed by
backends/special_math.py) for the rest. The orthogonal polynomials
(chebyshev_*, hermite_*, laguerre_*, legendre_*) are their three-term recurrences, differentiable in input
(PyTorch gives them no gradient). Not provided: bessel_j0/j1, bessel_y0/y1, modified_bessel_k0/k1 and their
scaled forms and airy_ai: PyTorch gives none of them a gradient, and each would need its own numpy algorithm
(Cephes' rational approximations).
"""

from __future__ import annotations

from .nn import functional as _F
from .ops import _signature, accepts_values as _values
from .ops import elementwise as _E
from .ops import reduce as _R
from .ops import special as _S


def _export(fn, name=None):
    out = _signature.torch_function(_values(fn))
    if name:
        out.__name__ = out.__qualname__ = name
    return out


expit = _export(_E.sigmoid, "expit")
logit = _export(_E.logit)
erf, erfc = _export(_E.erf), _export(_E.erfc)
erfinv, erfcx = _export(_S.erfinv), _export(_S.erfcx)
exp2, expm1, log1p = _export(_E.exp2), _export(_E.expm1), _export(_E.log1p)
logsumexp = _export(_R.logsumexp)
xlogy, xlog1py, entr = _export(_S.xlogy), _export(_S.xlog1py), _export(_S.entr)
gammaln = _export(_S.gammaln)
digamma = psi = _export(_S.digamma)
polygamma, multigammaln = _export(_S.polygamma), _export(_S.multigammaln)
i0, i0e, i1, i1e = _export(_S.i0), _export(_S.i0e), _export(_S.i1), _export(_S.i1e)
sinc, round = _export(_S.sinc), _export(_E.round)  # noqa: A001  (torch.special.round)
ndtr, ndtri, log_ndtr = _export(_S.ndtr), _export(_S.ndtri), _export(_S.log_ndtr)
zeta = _export(_S.zeta)
gammainc, gammaincc = _export(_S.gammainc), _export(_S.gammaincc)


def softmax(input, dim, *, dtype=None):
    """torch.special.softmax: nn.functional.softmax with dim required.

    >>> tg.special.softmax(tg.tensor([0.0, 1.0, 2.0]), 0)
    tensor([0.09  , 0.2447, 0.6652])
    """
    return _F.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """torch.special.log_softmax: nn.functional.log_softmax with dim required.

    >>> tg.special.log_softmax(tg.tensor([0.0, 1.0, 2.0]), 0)
    tensor([-2.4076, -1.4076, -0.4076])
    """
    return _F.log_softmax(input, dim, dtype=dtype)

modified_bessel_i0, modified_bessel_i1 = _export(_S.i0, "modified_bessel_i0"), _export(_S.i1, "modified_bessel_i1")
spherical_bessel_j0 = _export(_S.spherical_bessel_j0)
for _name, _fn in _S.POLYNOMIALS.items():
    globals()[_name] = _export(_fn)
