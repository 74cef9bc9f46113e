"""tg.autodiff.ForwardAccumulator: forward mode through tg.func.ForwardMode (the primitives' jvp rules)."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


def test_jvp_matches_reverse_mode():
    x = tg.constant([1.0, 2.0, 3.0])
    v = tg.constant([0.5, -1.0, 2.0])
    with tg.autodiff.ForwardAccumulator(x, v) as acc:
        y = tg.reduce_sum(tg.sin(x) * x)
        inside = acc.jvp(y)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y2 = tg.reduce_sum(tg.sin(x) * x)
    expected = float((tape.gradient(y2, x) * v).sum())
    assert acc.jvp(y).item() == pytest.approx(expected, rel=1e-6)  # also after the block, as in TF
    assert inside.item() == pytest.approx(expected, rel=1e-6)


def test_nested_primals_variables_and_unconnected():
    w = tg.Variable([[1.0, 2.0], [3.0, 4.0]])
    b = tg.Variable([0.5, 0.5])
    c = tg.constant(1.0)
    with tg.autodiff.ForwardAccumulator({"w": w, "b": b}, {"w": tg.ones([2, 2]), "b": tg.zeros([2])}) as acc:
        y = tg.matmul(tg.constant([[1.0, 1.0]]), w) + b
    np.testing.assert_allclose(acc.jvp(y).numpy(), [[2.0, 2.0]])
    assert acc.jvp(c) is None and acc.jvp(c, unconnected_gradients="zero").item() == 0.0
    assert [t.shape for t in acc.jvp([y, y])] == [(1, 2), (1, 2)]


def test_structure_and_dtype_errors():
    with pytest.raises(ValueError, match="structure"):
        tg.autodiff.ForwardAccumulator([tg.constant(1.0)], [tg.constant(1.0), tg.constant(2.0)])
    with pytest.raises(TypeError, match="cast"):
        tg.autodiff.ForwardAccumulator(tg.constant(1), tg.constant(1))


def test_forward_over_backward_hessian_vector_product():
    x = tg.constant([1.0, 2.0])
    v = tg.constant([1.0, 0.0])
    with tg.autodiff.ForwardAccumulator(x, v) as acc:
        with tg.GradientTape() as tape:
            tape.watch(x)
            y = tg.reduce_sum(x**3)
        g = tape.gradient(y, x)  # 3x^2
    np.testing.assert_allclose(acc.jvp(g).numpy(), [6.0, 0.0])  # H v = diag(6x) v
