"""custom_vjp and custom_jvp: the user's rules are used, in reverse and forward mode, under vmap."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import func

from .helpers import close, num_grad, t64


@func.custom_vjp
def clip_gradient(lo, hi, x):
    return x


clip_gradient.nondiff_argnums = (0, 1)
clip_gradient.defvjp(lambda lo, hi, x: (x, None), lambda lo, hi, res, g: (g.clamp(lo, hi),))


def test_custom_vjp_uses_bwd_with_nondiff_args():
    x = t64([1.0, 2.0])
    g = func.grad(lambda x: (5 * clip_gradient(-1.0, 2.0, x)).sum())(x)
    close(g, [2.0, 2.0])


def test_custom_vjp_residuals_and_second_order():
    @func.custom_vjp
    def cube(x):
        return x**3

    cube.defvjp(lambda x: (x**3, x), lambda x, g: (3 * x * x * g,))
    x = t64(1.5)
    close(func.grad(cube)(x), 3 * 1.5**2)
    close(func.grad(func.grad(cube))(x), 6 * 1.5)  # the residual is the input, so bwd differentiates again
    close(func.vmap(func.grad(cube))(t64([1.0, 2.0])), [3.0, 12.0])
    with pytest.raises(TypeError, match="forward-mode autodiff"):  # as JAX: a vjp rule has no tangents
        func.jvp(cube, (x,), (t64(1.0),))


def test_custom_vjp_errors():
    @func.custom_vjp
    def f(x):
        return x

    with pytest.raises(TypeError, match="defvjp"):
        f(tg.ones(1))
    f.defvjp(lambda x: (x, None), lambda res, g: g)
    with pytest.raises(TypeError, match="one cotangent per differentiable argument"):
        func.grad(lambda x: f(x).sum())(tg.ones(2))


@func.custom_jvp
def log1pexp(x):
    return (1 + x.exp()).log()


log1pexp.defjvp(lambda p, t: (log1pexp(p[0]), t[0] * p[0].sigmoid()))


def test_custom_jvp_forward_reverse_and_stability():
    x = t64([-2.0, 0.5, 800.0])  # at 800 the naive derivative is inf / inf = nan
    _, t = func.jvp(log1pexp, (x,), (tg.ones_like(x),))
    expected = 1 / (1 + np.exp(-x.numpy()))
    close(t, expected)
    close(func.grad(lambda x: log1pexp(x).sum())(x), expected)
    close(func.vmap(func.grad(lambda x: log1pexp(x)))(x), expected)
    xs = t64([0.3])
    close(func.grad(func.grad(lambda x: log1pexp(x).sum()))(xs[0]), num_grad(lambda y: y.sigmoid(), xs[0]))
