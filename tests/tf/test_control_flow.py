"""while_loop / cond / switch_case / scan run eagerly as Python and are differentiable through the
recorded steps: checked against finite differences and against PyTorch's gradients of the unrolled code."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


def _power(x, n):
    """x**n built by a while_loop (a trip count known only at run time)."""
    _, out = tg.while_loop(lambda k, acc: k < n, lambda k, acc: (k + 1, acc * x), [tg.constant(0), tg.ones_like(x)])
    return out


def _fd(f, x, eps=1e-6):
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def _grad(f, x):
    x = tg.constant(x, dtype=tg.float64)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return tape.gradient(y, x, unconnected_gradients="zero").numpy()


@pytest.mark.parametrize("n", [0, 1, 5])
def test_while_loop_power_rule(n):
    x = 1.3
    g = _grad(lambda t: _power(t, n), x)
    assert np.isclose(g, n * x ** (n - 1) if n else 0.0)
    assert np.isclose(g, _fd(lambda v: float(_power(tg.constant(v), n)), x))


def test_while_loop_nested_loop_vars_and_maximum_iterations():
    def body(state):
        return {"x": state["x"] * 2, "pair": (state["pair"][0] + 1, state["pair"][1] + state["x"])}

    out = tg.while_loop(
        lambda s: True, body, {"x": tg.constant(1.0), "pair": (tg.constant(0), tg.constant(0.0))}, maximum_iterations=3
    )
    assert out["x"].item() == 8.0 and out["pair"][0].item() == 3 and out["pair"][1].item() == 7.0


def test_while_loop_single_tensor_and_structure_error():
    assert tg.while_loop(lambda i: i < 5, lambda i: i + 2, tg.constant(0)).item() == 6
    with pytest.raises(ValueError, match="same structure"):
        tg.while_loop(lambda a, b: a < 3, lambda a, b: (a + 1,), [tg.constant(0), tg.constant(0)])


def test_while_loop_back_prop_false():
    x = tg.Variable(2.0)
    out = tg.while_loop(lambda k, a: k < 2, lambda k, a: (k + 1, a * x), [0, tg.constant(1.0)], back_prop=False)
    assert out[1].item() == 4.0 and not out[1].requires_grad


def test_cond_and_switch_case_gradients():
    def f(t):
        a = tg.cond(tg.reduce_sum(t) > 0, lambda: t * t, lambda: -t)
        b = tg.switch_case(tg.constant(1), [lambda: t, lambda: tg.sin(t), lambda: t * 3])
        return tg.reduce_sum(a * b)

    x = np.array([0.5, -0.2, 1.1])
    np.testing.assert_allclose(_grad(f, x), _fd(lambda v: float(f(tg.constant(v))), x), rtol=1e-6)
    assert tg.cond(tg.constant(False), lambda: 1, lambda: 2) == 2
    assert tg.cond(True, lambda a: a + 1, lambda a: a, operands=(1,)) == 2


def test_switch_case_default_and_out_of_range():
    fns = {0: lambda: "zero", 4: lambda: "four"}
    assert tg.switch_case(tg.constant(4), fns) == "four"
    assert tg.switch_case(7, fns) == "four"  # TF: the last branch without a default
    assert tg.switch_case(7, fns, default=lambda: "default") == "default"
    with pytest.raises(TypeError, match="scalar integer"):
        tg.switch_case(tg.constant(1.0), fns)


def test_scan_cumulative_and_gradient():
    def f(t):
        return tg.reduce_sum(tg.scan(lambda acc, v: acc * v + 1.0, t, initializer=tg.constant(1.0, dtype=tg.float64)))

    x = np.array([0.3, 1.2, -0.7, 2.0])
    np.testing.assert_allclose(_grad(f, x), _fd(lambda v: float(f(tg.constant(v))), x), rtol=1e-6)
    assert tg.scan(lambda a, v: a + v, tg.constant([1.0, 2.0, 3.0])).tolist() == [1.0, 3.0, 6.0]
    assert tg.scan(lambda a, v: a + v, tg.constant([1.0, 2.0, 3.0]), reverse=True).tolist() == [6.0, 5.0, 3.0]


def test_scan_nested_elems_and_accumulator():
    elems = (tg.constant([1.0, 2.0]), tg.constant([10.0, 20.0]))
    out = tg.scan(lambda acc, e: {"s": acc["s"] + e[0] * e[1]}, elems, initializer={"s": tg.constant(0.0)})
    assert out["s"].tolist() == [10.0, 50.0]


def test_map_fn_and_folds():
    x = tg.constant([1.0, 2.0, 3.0])
    assert tg.map_fn(lambda v: v * v, x).tolist() == [1.0, 4.0, 9.0]
    assert tg.foldl(lambda a, v: a * 10 + v, x).item() == 123.0
    assert tg.foldr(lambda a, v: a * 10 + v, x).item() == 321.0


def test_against_torch_unrolled():
    torch = pytest.importorskip("torch")
    x0 = np.array([0.4, -1.1, 0.9])

    def tg_f(t):
        _, acc = tg.while_loop(lambda k, a: k < 4, lambda k, a: (k + 1, tg.sin(a) * t + a), [0, tg.ones_like(t)])
        ys = tg.scan(lambda s, v: s * 0.5 + v * v, acc)
        return tg.reduce_sum(tg.cond(tg.reduce_sum(ys) > 0, lambda: ys * ys, lambda: -ys))

    def torch_f(t):
        a = torch.ones_like(t)
        for _ in range(4):
            a = torch.sin(a) * t + a
        s, ys = a[0], [a[0]]
        for v in a[1:]:
            s = s * 0.5 + v * v
            ys.append(s)
        ys = torch.stack(ys)
        return (ys * ys if ys.sum() > 0 else -ys).sum()

    tx = torch.tensor(x0, requires_grad=True)
    torch_f(tx).backward()
    np.testing.assert_allclose(_grad(tg_f, x0), tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(_grad(lambda t: _power(t, 6), x0[:1]), (6 * x0[:1] ** 5), rtol=1e-10)
