"""jax.test_util.check_grads: a function's jvp and vjp against central differences, to any order.

As JAX checks them: the jvp along a random tangent against (f(x + eps t) - f(x - eps t)) / (2 eps), and the
vjp of a random cotangent through the identity <ct, J t> = <vjp(ct), t>; order 2 checks the derivative
functions themselves the same way.
"""

from __future__ import annotations

import numpy as np

from ..ops.operands import as_leaf
from ..tensor import Tensor
from . import tree_util as tu


def _inner(xs, ys):
    return sum(float((x.double() * y.double()).sum()) for x, y in zip(xs, ys))


def _random_like(leaves, rng):
    from ..ops.creation import tensor

    return [tensor(rng.standard_normal(x.shape), dtype=x.dtype) for x in leaves]


def _tolerance(leaves, atol, rtol):
    wide = all(x.dtype.name == "float64" for x in leaves)
    default = 1e-5 if wide else 2e-2
    return (atol if atol is not None else default), (rtol if rtol is not None else default)


def check_grads(f, args, order, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Raises AssertionError when f's derivatives up to `order` disagree with finite differences."""
    from .forward import jvp
    from .transforms import vjp

    leaves, treedef = tu.tree_flatten(tuple(args))
    leaves = [as_leaf(x) for x in leaves]
    args = tu.tree_unflatten(treedef, leaves)
    rng = np.random.default_rng(0)
    atol, rtol = _tolerance(leaves, atol, rtol)
    eps = eps if eps is not None else (1e-6 if all(x.dtype.name == "float64" for x in leaves) else 1e-2)
    tangents = tu.tree_unflatten(treedef, _random_like(leaves, rng))

    def numeric(t):
        shift = lambda s: tu.tree_unflatten(treedef, [x + s * d for x, d in zip(leaves, tu.tree_leaves(t))])  # noqa: E731
        plus, minus = tu.tree_leaves(f(*shift(eps))), tu.tree_leaves(f(*shift(-eps)))
        return [(p.double() - m.double()) / (2 * eps) for p, m in zip(plus, minus)]

    expected = numeric(tangents)
    if "fwd" in modes:
        got = tu.tree_leaves(jvp(f, tuple(args), tuple(tangents))[1])
        for g, e in zip(got, expected):
            if not np.allclose(g.double().numpy(), e.numpy(), atol=atol, rtol=rtol):
                raise AssertionError(f"check_grads: jvp {g} differs from finite differences {e}")
    if "rev" in modes:
        out, pull = vjp(f, *args)
        cts = _random_like(tu.tree_leaves(out), rng)
        lhs = _inner(cts, expected)
        rhs = _inner(tu.tree_leaves(pull(tu.tree_unflatten(tu.tree_structure(out), cts))), tu.tree_leaves(tangents))
        if not np.isclose(lhs, rhs, atol=atol, rtol=rtol):
            raise AssertionError(f"check_grads: vjp gives <vjp(ct), t> = {rhs}, finite differences {lhs}")
    if order > 1:
        if "fwd" in modes:
            check_grads(lambda *a: jvp(f, a, tuple(tangents))[1], tuple(args), order - 1, ("fwd",), atol, rtol, eps)
        if "rev" in modes:
            out = f(*args)
            cts = tu.tree_unflatten(tu.tree_structure(out), _random_like(tu.tree_leaves(out), rng))
            check_grads(lambda *a: vjp(f, *a)[1](cts), tuple(args), order - 1, ("rev",), atol, rtol, eps)
