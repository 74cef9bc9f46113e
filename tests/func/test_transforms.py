"""grad, value_and_grad, vjp, jvp, linearize, jacrev, jacfwd, hessian, hvp: against finite differences, against
torch.func, and composed with each other."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import func

from .helpers import close, num_grad, num_jac, rand, t64


def f_scalar(x):
    return ((x.tanh() * x).sin() + x * x).sum()


def f_vec(x):
    return (x.exp() * x[::-1]).cumsum(0) / (1 + x * x)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# *** against finite differences ***


def test_grad_matches_fd(rng):
    x = rand(rng, 5)
    close(func.grad(f_scalar)(x), num_grad(f_scalar, x))


def test_jvp_matches_fd_and_uses_forward_rules(rng, monkeypatch):
    x, v = rand(rng, 4), rand(rng, 4)
    out, tangent = func.jvp(f_vec, (x,), (v,))
    close(out, f_vec(x))
    close(tangent, num_jac(f_vec, x) @ v.numpy())
    # forward mode, not two reverse passes: no backward sweep runs
    from tapegrad.autograd import engine

    monkeypatch.setattr(engine, "run_backward", lambda *a, **k: pytest.fail("jvp ran a backward pass"))
    func.jvp(f_vec, (x,), (v,))


def test_vjp_matches_fd_and_is_reusable(rng):
    x = rand(rng, 4)
    out, vjp_fn = func.vjp(f_vec, x)
    jac = num_jac(f_vec, x)
    for _ in range(2):
        g = rand(rng, 4)
        (ct,) = vjp_fn(g)
        close(ct, g.numpy() @ jac)


def test_jacobians_match_fd(rng):
    x = rand(rng, 3)
    close(func.jacrev(f_vec)(x), num_jac(f_vec, x))
    close(func.jacfwd(f_vec)(x), num_jac(f_vec, x))


def test_hessian_and_hvp_match_fd(rng):
    x, v = rand(rng, 3), rand(rng, 3)
    h = num_jac(lambda y: func.grad(f_scalar)(y), x)
    close(func.hessian(f_scalar)(x), h, tol=1e-5)
    grad_x, (hv,) = func.hvp(f_scalar, (x,), (v,))
    close(hv, h @ v.numpy(), tol=1e-5)
    close(grad_x[0], func.grad(f_scalar)(x))


def test_linearize(rng):
    x, v = rand(rng, 4), rand(rng, 4)
    out, f_jvp = func.linearize(f_vec, x)
    close(out, f_vec(x))
    close(f_jvp(v), func.jvp(f_vec, (x,), (v,))[1])


# *** API: pytrees, argnums, aux, errors ***


def test_grad_pytree_argnums_aux_and_unused_inputs(rng):
    params = {"w": rand(rng, 3, 2), "b": rand(rng, 2), "unused": rand(rng, 4)}
    x = rand(rng, 5, 3)

    def loss(p, x, scale):
        out = (x @ p["w"] + p["b"]).tanh()
        return (out**2).sum() * scale, out.shape

    g, aux = func.grad(loss, has_aux=True)(params, x, 2.0)
    assert aux == (5, 2)
    assert set(g) == {"w", "b", "unused"}
    close(g["unused"], np.zeros(4))
    close(g["b"], num_grad(lambda b: loss({**params, "b": b}, x, 2.0)[0], params["b"]))
    (gp, gx) = func.grad(lambda p, x: loss(p, x, 1.0)[0], argnums=(0, 1))(params, x)
    close(gx, num_grad(lambda x: loss(params, x, 1.0)[0], x))
    (value, _), g2 = func.value_and_grad(loss, has_aux=True)(params, x, 2.0)
    close(value, loss(params, x, 2.0)[0])
    assert not value.requires_grad and not g2["w"].requires_grad


def test_grad_errors_say_what_to_do():
    x = tg.ones(3)
    with pytest.raises(ValueError, match=r"scalar.*shape \(3,\).*vjp"):
        func.grad(lambda x: x * 2)(x)
    with pytest.raises(TypeError, match="allow_int"):
        func.grad(lambda n: n.sum().float())(tg.tensor([1, 2]))
    g = func.grad(lambda x, n: (x * n).sum(), argnums=(0, 1), allow_int=True)(x, tg.tensor([1, 2, 3]))
    assert g[1].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="cotangent 0 has shape"):
        func.vjp(lambda x: x * 2, x)[1](tg.ones(2))
    with pytest.raises(ValueError, match="tangent must have its primal's shape"):
        func.jvp(lambda x: x, (x,), (tg.ones(2),))
    with pytest.raises(TypeError, match="tuples"):
        func.jvp(lambda x: x, x, tg.ones(3))


def test_top_level_aliases():
    assert tg.grad is func.grad and tg.vmap is func.vmap and tg.jvp is func.jvp and tg.vjp is func.vjp
    assert tg.value_and_grad is func.value_and_grad and tg.tree_util is func.tree_util
    x = tg.tensor(2.0, requires_grad=True)
    assert tg.autograd.grad(x**2, x)[0].item() == 4.0  # PyTorch's grad is untouched


# *** compositions ***


def test_grad_of_grad_and_third_order():
    x = t64(0.7)
    f = lambda x: x.sin() * x**3
    d3 = func.grad(func.grad(func.grad(f)))(x)
    s, c, v = np.sin(0.7), np.cos(0.7), 0.7
    expected = -c * v**3 - 9 * s * v**2 + 18 * c * v + 6 * s  # d^3/dx^3 of x^3 sin x
    close(d3, expected)


def test_no_perturbation_confusion():
    # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x; confusing the two derivatives would give 4x
    x = t64(3.0)
    assert func.grad(lambda x: x * func.grad(lambda y: x * y)(x))(x).item() == pytest.approx(6.0)
    # the same through forward mode nested in forward mode
    inner = lambda x: func.jvp(lambda y: x * y, (x,), (t64(1.0),))[1]
    assert func.jvp(lambda x: x * inner(x), (x,), (t64(1.0),))[1].item() == pytest.approx(6.0)


def test_jacfwd_of_jacrev_is_hessian(rng):
    x = rand(rng, 4)
    close(func.jacfwd(func.jacrev(f_scalar))(x), func.hessian(f_scalar)(x))
    close(func.jacrev(func.jacrev(f_scalar))(x), func.hessian(f_scalar)(x))


def test_jvp_of_grad_equals_grad_of_jvp(rng):
    x, v = rand(rng, 5), rand(rng, 5)
    fwd_over_rev = func.jvp(func.grad(f_scalar), (x,), (v,))[1]
    rev_over_fwd = func.grad(lambda x: func.jvp(f_scalar, (x,), (v,))[1])(x)
    close(fwd_over_rev, rev_over_fwd)


def test_grad_inside_pytorch_style_backward(rng):
    # tg.func.grad closes over w; PyTorch-style autograd differentiates through it
    w = rand(rng, 3).requires_grad_()
    x = rand(rng, 3)
    g = func.grad(lambda x: (x * w).sin().sum())(x)
    (gw,) = tg.autograd.grad(g.sum(), w)
    close(gw, num_grad(lambda w: func.grad(lambda x: (x * w).sin().sum())(x).sum(), w.detach()))


# *** against torch.func ***


def test_against_torch_func(rng):
    torch = pytest.importorskip("torch")
    tf = torch.func
    x_np, v_np = rng.standard_normal(4), rng.standard_normal(4)
    x, v, xt, vt = t64(x_np), t64(v_np), torch.tensor(x_np), torch.tensor(v_np)

    def f(x):
        return ((x.tanh() * x).sin() + x * x).sum()

    def g(x):
        return x.exp() * x.sin() / (1 + x * x)

    close(func.grad(f)(x), tf.grad(f)(xt))
    close(func.jvp(g, (x,), (v,))[1], tf.jvp(g, (xt,), (vt,))[1])
    close(func.vjp(g, x)[1](v)[0], tf.vjp(g, xt)[1](vt)[0])
    close(func.jacrev(g)(x), tf.jacrev(g)(xt))
    close(func.jacfwd(g)(x), tf.jacfwd(g)(xt))
    close(func.hessian(f)(x), tf.hessian(f)(xt))
    close(func.jvp(func.grad(f), (x,), (v,))[1], tf.jvp(tf.grad(f), (xt,), (vt,))[1])


# *** ForwardMode: the context API (PyTorch's make_dual, TensorFlow's ForwardAccumulator) ***


def test_forward_mode_make_dual_and_attach(rng):
    x, v = rand(rng, 3), rand(rng, 3)
    with func.ForwardMode() as fw:
        y = f_vec(fw.make_dual(x, v))
        close(fw.tangent(y), num_jac(f_vec, x) @ v.numpy())
    x2 = rand(rng, 3).requires_grad_()
    with func.ForwardMode() as fw:
        fw.attach(x2, v)
        y = f_vec(x2)
        assert type(y) is tg.Tensor and y.grad_fn is not None  # a plain tensor, still on the tape
        close(fw.tangent(y), num_jac(f_vec, x2.detach()) @ v.numpy())
        (g,) = tg.autograd.grad(y.sum(), x2)  # forward over reverse, TensorFlow style
        hv = fw.tangent(g)
    close(hv, num_jac(lambda z: func.grad(lambda q: f_vec(q).sum())(z), x2.detach()) @ v.numpy(), tol=1e-5)
    assert x2._interp is None  # detached from the level on exit


def test_jit_of_grad_matches_eager_grad():
    f = lambda x: (x.tanh() ** 2).sum()  # noqa: E731
    g = tg.jit(tg.grad(f))
    for scale in (1.0, 2.0):
        x = tg.randn(4) * scale
        assert np.allclose(g(x).numpy(), tg.grad(f)(x).numpy(), atol=1e-6)
