"""Structured control flow: while_loop (run-time trip count), cond, switch, scan, fori_loop; eager vs
traced, gradients against eager and finite differences, nesting."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import lax


def power(x, n):
    """x ** n by a while loop whose trip count n is a tensor (known only at run time)."""
    _, y = tg.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * x), (tg.tensor(0), tg.ones_like(x)))
    return y


def _grad(fn, x, *rest):
    x = x.detach().requires_grad_()
    fn(x, *rest).sum().backward()
    return x.grad.numpy()


@pytest.mark.parametrize("n", [0, 1, 3, 6])
def test_while_loop_power_forward_and_backward(n):
    x = tg.tensor([1.5, -0.7, 2.0], dtype=tg.float64)
    nt = tg.tensor(n)
    f = tg.jit(power)
    np.testing.assert_allclose(f(x, nt).numpy(), x.numpy() ** n)
    want = n * x.numpy() ** (n - 1) if n else np.zeros(3)
    np.testing.assert_allclose(_grad(f, x, nt), want, rtol=1e-12)
    if n:  # eagerly, x ** 0 does not depend on x at all (backward refuses, as PyTorch does)
        np.testing.assert_allclose(_grad(power, x, nt), want, rtol=1e-12)
    assert f.trace_count == 2  # one graph for every n (and one more for an input that requires grad)


def test_while_loop_gradient_against_finite_differences():
    def f(x, n):
        _, y = tg.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, (y * x).sin() + y), (tg.tensor(0), x))
        return y

    x = tg.tensor([0.3, -0.4], dtype=tg.float64)
    g = _grad(tg.jit(f), x, tg.tensor(4))
    eps = 1e-6
    for k in range(2):
        d = np.zeros(2)
        d[k] = eps
        hi = f(tg.tensor(x.numpy() + d), tg.tensor(4)).sum().item()
        lo = f(tg.tensor(x.numpy() - d), tg.tensor(4)).sum().item()
        assert abs((hi - lo) / (2 * eps) - g[k]) < 1e-6


def test_while_loop_gradient_inside_traced_function():
    @tg.function
    def f(x, n):
        x = x.detach().requires_grad_()
        (g,) = tg.autograd.grad(power(x, n).sum(), x)
        return g

    x = tg.tensor([1.5, 2.0], dtype=tg.float64)
    for n in (2, 5):
        np.testing.assert_allclose(f(x, tg.tensor(n)).numpy(), n * x.numpy() ** (n - 1))
    text = str(f.lower(x, tg.tensor(2)))
    assert "while_grad" in text and "tape=True" in text


def test_maximum_iterations():
    f = tg.jit(lambda x: tg.while_loop(lambda y: y < 100, lambda y: y * 2, x, maximum_iterations=3))
    assert f(tg.tensor(1.0)).item() == 8.0


def test_nested_loops_and_loop_inside_cond():
    def f(x, n):
        def outer(i, y):
            _, z = tg.while_loop(lambda j, z: j < i, lambda j, z: (j + 1, z * x), (tg.tensor(0), tg.ones_like(x)))
            return i + 1, y + z

        _, y = tg.while_loop(lambda i, y: i < n, outer, (tg.tensor(0), tg.zeros_like(x)))
        return tg.cond(y.sum() > 0, lambda: y * 2, lambda: y)

    x = tg.tensor([1.1, 0.9], dtype=tg.float64)
    n = tg.tensor(4)
    want = _grad(f, x, n)
    np.testing.assert_allclose(tg.jit(f)(x, n).numpy(), f(x, n).numpy())
    np.testing.assert_allclose(_grad(tg.jit(f), x, n), want, rtol=1e-12)


def test_cond_and_switch_forward_and_gradients():
    def f(x, k):
        a = tg.cond(x.sum() > 0, lambda: x.exp(), lambda: -x)
        return lax.switch(k, [lambda v: v * 2, lambda v: v.sin(), lambda v: v ** 3], a)

    x = tg.tensor([0.5, 0.2], dtype=tg.float64)
    for xv in (x, -x):
        for k in range(3):
            kt = tg.tensor(k)
            np.testing.assert_allclose(tg.jit(f)(xv, kt).numpy(), f(xv, kt).numpy())
            np.testing.assert_allclose(_grad(tg.jit(f), xv, kt), _grad(f, xv, kt), rtol=1e-12)


def test_lax_scan_and_fori_loop():
    xs = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)

    def f(c, xs):
        return lax.scan(lambda c, x: (c * x + 1, c * 2), c, xs)

    c0 = tg.tensor(0.5, dtype=tg.float64)
    ce, ye = f(c0, xs)
    ct, yt = tg.jit(f)(c0, xs)
    np.testing.assert_allclose(ct.numpy(), ce.numpy())
    np.testing.assert_allclose(yt.numpy(), ye.numpy())
    assert ye.tolist() == [1.0, 3.0, 8.0] and ce.item() == 13.0
    g = _grad(tg.jit(lambda c, xs: sum(t.sum() for t in f(c, xs))), c0, xs)
    ge = _grad(lambda c, xs: sum(t.sum() for t in f(c, xs)), c0, xs)
    np.testing.assert_allclose(g, ge)
    r = tg.jit(lambda v: lax.fori_loop(0, 4, lambda i, v: v + i, v))(tg.tensor(0.0))
    assert r.item() == 6.0


def test_body_changing_a_carry_type_is_an_error():
    with pytest.raises(tg.TraceError, match=r"body must return the loop variables with unchanged shapes"):
        tg.jit(lambda x: tg.while_loop(lambda y: y.sum() < 5, lambda y: y.sum(), x))(tg.ones(2))


def test_while_outputs_are_fresh_and_the_tape_keeps_each_trip():
    # the loop no longer copies each trip's carries: the body returns a view of its carry (a reshape) and an
    # unchanged carry; the tape must still hold every trip's values, and the outputs must be the caller's own
    @tg.function
    def f(x, k):
        def body(x, k):
            return (x * 1.5).reshape(2, 2).reshape(4), k

        return tg.while_loop(lambda x, k: tg.reduce_sum(x) < k, body, (x, k))

    x, k = tg.tensor([1.0, 2.0, 3.0, 4.0]), tg.tensor(100.0)
    y, k2 = f(x, k)
    y._data[...] = -1.0
    k2._data[...] = -1.0  # a carry the loop never changed: a copy, not k itself
    assert k.item() == 100.0 and x.numpy().tolist() == [1.0, 2.0, 3.0, 4.0]
    np.testing.assert_allclose(f(x, k)[0].numpy(), x.numpy() * 1.5 ** 6)  # 10 * 1.5**6 = 113.9 >= 100
    g = tg.grad(lambda x: tg.reduce_sum(f(x, k)[0] ** 2))(x)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy() * 1.5 ** 12, rtol=1e-5)
    g0 = tg.grad(lambda x: tg.reduce_sum(f(x, tg.tensor(1.0))[0] ** 2))(x)  # zero trips
    np.testing.assert_allclose(g0.numpy(), 2 * x.numpy(), rtol=1e-6)


def _power_loop():
    @tg.function
    def f(x):  # x ** 3 by a loop with a run-time trip count: y carries, x is captured by the body
        i, y = tg.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x), (tg.tensor(0), tg.ones_like(x)))
        return y

    return f


def test_grad_of_a_compiled_loop_reads_its_kept_tape():
    # trace/differentiate.py _with_tapes: the call returns the loop's carries and tape, and the backward graph
    # runs only while_grad (the loop is not run again)
    f = _power_loop()
    x = tg.tensor([1.5, -2.0])
    for _ in range(3):
        np.testing.assert_allclose(tg.grad(lambda x: f(x).sum())(x).numpy(), 3 * x.numpy() ** 2, rtol=1e-6)
    cf = next(iter(f.cache.values()))
    (bwd,) = cf._bwd.values()
    graph = next(iter(bwd.cache.values())).graph
    assert [e.prim.name for e in graph.eqns] == ["while_grad"]
    assert bwd.trace_count == 1


def test_second_order_through_a_compiled_loop_is_refused_not_zero():
    # while_grad has no gradient rule: a second derivative through it must say so (it was 0 or a KeyError)
    f = _power_loop()
    x = tg.tensor([1.5, -2.0])
    np.testing.assert_allclose(tg.grad(lambda x: f(x).sum())(x).numpy(), 3 * x.numpy() ** 2, rtol=1e-6)
    for _ in range(2):
        with pytest.raises(tg.errors.GradError, match="second derivative through tg.while_loop"):
            tg.grad(lambda x: tg.grad(lambda x: f(x).sum())(x).sum())(x)
    with pytest.raises(tg.errors.GradError, match="second derivative"):
        tg.jit(tg.grad(lambda x: tg.grad(lambda x: f.fn(x).sum())(x).sum()))(x)


def test_a_kept_carry_returned_to_the_caller_may_be_changed_in_place():
    @tg.function
    def f(x):
        return tg.while_loop(lambda y: tg.reduce_sum(y) < 100.0, lambda y: (y * 2.0,), (x,))[0]

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = f(x)  # 3 * 2**6 = 192 >= 100: six trips, dy/dx = 64
    (y * tg.tensor([1.0, 1.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [64.0, 64.0])
    x.grad = None
    y = f(x)
    z = (y * y).sum()  # mul saves y: an in-place change of y is caught there, not silently used
    y2 = f(x)
    y2._data[...] = 0.0  # the loop's output, changed by the caller: the kept carry is a copy
    (y2.sum() + z).backward()
    np.testing.assert_allclose(x.grad.numpy(), 64.0 + 2 * 64.0 * np.array([64.0, 128.0]))
