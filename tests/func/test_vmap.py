"""vmap: in_axes / out_axes, nesting, per-example gradients, composition with grad and jvp, torch.func."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import func

from .helpers import close, rand


@pytest.fixture
def rng():
    return np.random.default_rng(1)


def model(params, x):
    h = (x @ params["w1"] + params["b1"]).tanh()
    return h @ params["w2"]


def loss(params, x, y):
    return ((model(params, x) - y) ** 2).mean()


def test_in_axes_out_axes_and_broadcast(rng):
    x, w = rand(rng, 4, 3), rand(rng, 3)
    close(func.vmap(lambda xi, w: (xi * w).sum(), in_axes=(0, None))(x, w), (x * w).sum(1))
    close(func.vmap(lambda xi: xi * 2, in_axes=1, out_axes=1)(x), x * 2)
    out = func.vmap(lambda xi: (xi.sum(), tg.ones(2)), out_axes=(0, None))(x)
    close(out[0], x.sum(1))
    assert tuple(out[1].shape) == (2,)
    close(func.vmap(lambda xi: tg.ones(2))(x), np.ones((4, 2)))  # an unbatched output is broadcast
    d = func.vmap(lambda p: p["a"] * p["b"], in_axes=({"a": 0, "b": None},))({"a": x, "b": w})
    close(d, x * w)


def test_nested_vmap_is_an_outer_product(rng):
    a, b = rand(rng, 3), rand(rng, 4)
    close(func.vmap(lambda ai: func.vmap(lambda bj: ai * bj)(b))(a), np.outer(a.numpy(), b.numpy()))
    m = rand(rng, 2, 3, 4)
    close(func.vmap(func.vmap(lambda r: r.sum()))(m), m.sum(2))


def test_per_example_gradients_equal_a_loop(rng):
    params = {"w1": rand(rng, 3, 5), "b1": rand(rng, 5), "w2": rand(rng, 5, 2)}
    x, y = rand(rng, 6, 3), rand(rng, 6, 2)
    per_ex = func.vmap(func.grad(loss), in_axes=(None, 0, 0))(params, x, y)
    for i in range(6):
        single = func.grad(loss)(params, x[i : i + 1], y[i : i + 1])
        for k in params:
            close(per_ex[k][i], single[k])


def test_grad_of_vmap_and_vmap_of_jvp(rng):
    w, x = rand(rng, 3), rand(rng, 5, 3)
    g = func.grad(lambda w: func.vmap(lambda xi: (xi * w).sin().sum())(x).sum())(w)
    close(g, func.grad(lambda w: (x * w).sin().sum())(w))
    v = rand(rng, 5, 3)
    t = func.vmap(lambda xi, vi: func.jvp(lambda z: z.exp().sum(), (xi,), (vi,))[1])(x, v)
    close(t, (x.exp() * v).sum(1))


def test_mixed_batching_and_matmul_layouts(rng):
    a, b = rand(rng, 4, 2, 3), rand(rng, 3, 5)
    close(func.vmap(lambda ai: ai @ b)(a), a @ b)
    bb = rand(rng, 4, 3, 5)
    close(func.vmap(lambda bi: a[0] @ bi)(bb), a[0] @ bb)
    close(func.vmap(lambda ai, bi: ai @ bi)(a, bb), a @ bb)


def test_composites_under_vmap(rng):
    x = rand(rng, 4, 6)
    close(func.vmap(lambda r: tg.nn.functional.softmax(r, dim=0))(x), tg.nn.functional.softmax(x, dim=1))
    idx = tg.tensor([[0, 2], [1, 1], [5, 0], [3, 4]])
    close(func.vmap(lambda r, i: r[i])(x, idx), np.take_along_axis(x.numpy(), idx.numpy(), 1))


def test_errors():
    x = tg.ones(3, 2)
    with pytest.raises(ValueError, match="different sizes"):
        func.vmap(lambda a, b: a + b)(x, tg.ones(4, 2))
    with pytest.raises(ValueError, match="in_axes has 1 entries"):
        func.vmap(lambda a, b: a, in_axes=(0,))(x, x)
    with pytest.raises(TypeError, match="inside vmap"):
        func.vmap(lambda a: a.sum().item())(x)
    with pytest.raises(ValueError, match="out_axes=None"):
        func.vmap(lambda a: a, out_axes=None)(x)


def test_against_torch_func(rng):
    torch = pytest.importorskip("torch")
    params = {"w1": rand(rng, 3, 5), "b1": rand(rng, 5), "w2": rand(rng, 5, 2)}
    x, y = rand(rng, 6, 3), rand(rng, 6, 2)
    tp = {k: torch.tensor(v.numpy()) for k, v in params.items()}
    tx, ty = torch.tensor(x.numpy()), torch.tensor(y.numpy())
    ours = func.vmap(func.grad(loss), in_axes=(None, 0, 0))(params, x, y)
    theirs = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(tp, tx, ty)
    for k in params:
        close(ours[k], theirs[k])


def test_jit_of_vmap_of_grad_and_of_hvp(rng):
    if not hasattr(tg, "jit"):
        pytest.skip("graph mode (tg.jit) is not built")
    w, x = rand(rng, 3, 4), rand(rng, 5, 3)
    per_example = func.vmap(func.grad(lambda w, xi: ((xi @ w).tanh() ** 2).sum()), in_axes=(None, 0))
    close(tg.jit(per_example)(w, x), per_example(w, x))
    f = lambda y: ((x @ y).tanh() ** 2).sum()
    hvp = lambda y, v: func.jvp(func.grad(f), (y,), (v,))[1]
    y = rand(rng, 3)
    close(tg.jit(hvp)(y, y), hvp(y, y))


def test_an_unbatched_constant_operand_is_broadcast_as_a_view_of_it():
    # primitives/batching.py at_front: a plain tensor that nothing differentiates is broadcast in one step; the
    # result must equal the two-primitive form, keep gradients of the batched operand, and view the constant
    from tapegrad.primitives import batching

    c = tg.tensor([2.0, 3.0])
    view = batching.at_front(c, None, 4)
    assert tuple(view.shape) == (4, 2) and view._base is c and view._version is c._version
    np.testing.assert_array_equal(view.numpy(), np.broadcast_to(c.numpy(), (4, 2)))
    xs = tg.tensor(np.arange(8.0, dtype=np.float32).reshape(4, 2))
    out = tg.vmap(lambda x: (x * c) ** 2)(xs)
    np.testing.assert_allclose(out.numpy(), (xs.numpy() * c.numpy()) ** 2)
    g = tg.vmap(tg.grad(lambda x: ((x * c) ** 2).sum()))(xs)
    np.testing.assert_allclose(g.numpy(), 2 * xs.numpy() * c.numpy() ** 2)
