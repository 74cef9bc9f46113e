"""GradientTape semantics: watching, persistence, nesting, unconnected sources, nests, jacobians."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


def test_watch_constant_and_flag_is_lowered_on_exit():
    x = tg.constant(3.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert not x.requires_grad  # only raised while the tape is open
    assert tape.gradient(y, x).item() == 6.0
    assert x.grad is None


def test_tape_never_writes_grad():
    v = tg.Variable([1.0, 2.0])
    with tg.GradientTape() as tape:
        y = tg.reduce_sum(v * v)
    g = tape.gradient(y, v)
    assert g.tolist() == [2.0, 4.0] and v.grad is None


def test_unwatched_constant_gives_none_or_zero():
    x, c = tg.constant(2.0), tg.constant(5.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * 3
    assert tape.gradient(y, c) is None
    assert tape.gradient(y, c, unconnected_gradients="zero").item() == 0.0
    assert tape.gradient(y, c, unconnected_gradients=tg.UnconnectedGradients.ZERO).item() == 0.0
    with pytest.raises(ValueError, match="'none' or 'zero'"):
        tape.gradient(y, x, unconnected_gradients="zeros")


def test_non_persistent_second_call_names_persistent():
    x = tg.constant(1.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match=r"persistent=True"):
        tape.gradient(y, x)


def test_persistent_allows_many_calls():
    x = tg.constant(2.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert tape.gradient(y, x).item() == 4.0
    assert tape.gradient(z, x).item() == 32.0  # 4x^3
    assert tape.gradient(z, y).item() == 8.0  # an intermediate as a source


def test_nested_sources_mirror_structure():
    a, b, c = tg.Variable(1.0), tg.Variable(2.0), tg.Variable(3.0)
    with tg.GradientTape(persistent=True) as tape:
        y = a * b * c
    d = tape.gradient(y, {"a": a, "rest": [b, (c,)]})
    assert set(d) == {"a", "rest"} and isinstance(d["rest"], list) and isinstance(d["rest"][1], tuple)
    assert (d["a"].item(), d["rest"][0].item(), d["rest"][1][0].item()) == (6.0, 3.0, 2.0)
    ga, gb = tape.gradient(y, (a, b))
    assert (ga.item(), gb.item()) == (6.0, 3.0)


def test_several_targets_add_and_output_gradients_weight():
    x = tg.Variable([1.0, 2.0])
    with tg.GradientTape(persistent=True) as tape:
        y1, y2 = x * 2, x * x
    assert tape.gradient([y1, y2], x).tolist() == [4.0, 6.0]
    assert tape.gradient(y2, x, output_gradients=tg.constant([1.0, 0.5])).tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="shape"):
        tape.gradient(y2, x, output_gradients=tg.constant([1.0]))


def test_nested_tapes_second_derivative():
    x = tg.constant(3.0)
    with tg.GradientTape() as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = x**3
        dy = inner.gradient(y, x)  # recorded by the outer tape
    d2y = outer.gradient(dy, x)
    assert dy.item() == 27.0 and d2y.item() == 18.0


def test_gradient_inside_persistent_tape_is_recorded():
    v = tg.Variable(2.0)
    with tg.GradientTape(persistent=True) as tape:
        y = v**3
        g = tape.gradient(y, v)  # 3v^2, recorded: higher order from the same tape
    assert g.item() == 12.0
    assert tape.gradient(g, v).item() == 12.0  # 6v


def test_third_order_with_three_tapes():
    x = tg.constant(2.0)
    with tg.GradientTape() as t3:
        t3.watch(x)
        with tg.GradientTape() as t2:
            t2.watch(x)
            with tg.GradientTape() as t1:
                t1.watch(x)
                y = x**4
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == (32.0, 48.0, 48.0)


def test_stop_recording():
    x = tg.constant(2.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        with tape.stop_recording():
            z = x * 10
        w = y + z
    assert tape.gradient(w, x).item() == 4.0


def test_reset_forgets_watched():
    x = tg.constant(2.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        tape.reset()
        z = x * 5  # not watched any more
    assert tape.gradient(z, x) is None
    assert tape.gradient(y, x) is None  # the record before reset is forgotten too
    assert not x.requires_grad


def test_watch_accessed_variables_false():
    a, b = tg.Variable(2.0), tg.Variable(3.0)
    with tg.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    assert ga.item() == 3.0 and gb is None
    assert tape.watched_variables() == (a,)


def test_watched_variables_in_creation_order_only_trainable():
    a, frozen, b = tg.Variable(1.0), tg.Variable(5.0, trainable=False), tg.Variable(2.0)
    unused = tg.Variable(9.0)
    with tg.GradientTape() as tape:
        y = b * a * frozen
    assert tape.watched_variables() == (a, b)
    assert tape.gradient(y, frozen) is None and unused is not None


def test_non_trainable_variable_can_be_watched():
    v = tg.Variable(4.0, trainable=False)
    with tg.GradientTape() as tape:
        tape.watch(v)
        y = v * v
    assert tape.gradient(y, v).item() == 8.0
    assert not v.requires_grad


def test_watch_rejects_non_tensors_and_bools():
    with tg.GradientTape() as tape:
        with pytest.raises(TypeError, match="tg.constant"):
            tape.watch(3.0)
        with pytest.raises(TypeError, match="bool"):
            tape.watch(tg.constant([True]))


def test_watch_nest():
    a, b = tg.constant(1.0), tg.constant(2.0)
    with tg.GradientTape() as tape:
        tape.watch({"a": a, "b": [b]})
        y = a * b
    assert [g.item() for g in tape.gradient(y, [a, b])] == [2.0, 1.0]


def test_flag_raised_by_two_tapes_is_lowered_by_the_last():
    x = tg.constant(1.0)
    with tg.GradientTape() as t1:
        t1.watch(x)
        with tg.GradientTape() as t2:
            t2.watch(x)
        assert x.requires_grad  # t1 still watches it
        y = x * 2
    assert not x.requires_grad
    assert t1.gradient(y, x).item() == 2.0


def test_target_is_source():
    x = tg.constant([1.0, 2.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
    assert tape.gradient(x, x).tolist() == [1.0, 1.0]


def test_integer_target_is_unconnected():
    v = tg.Variable(1.5)
    with tg.GradientTape() as tape:
        n = tg.cast(v, tg.int32)
    assert tape.gradient(n, v) is None


def test_jacobian_shapes_and_values():
    x = tg.constant([1.0, 2.0, 3.0])
    w = tg.Variable(tg.ones([2, 3]))
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tg.matmul(w, tg.reshape(x * x, [3, 1]))  # (2, 1)
    jx = tape.jacobian(y, x)
    assert jx.shape == (2, 1, 3)
    np.testing.assert_allclose(jx.numpy()[:, 0, :], [[2, 4, 6], [2, 4, 6]])
    jw = tape.jacobian(y, w)
    assert jw.shape == (2, 1, 2, 3)
    jd = tape.jacobian(y, {"x": x, "c": tg.constant(1.0)}, unconnected_gradients="zero")
    assert jd["c"].shape == (2, 1) and jd["x"].shape == (2, 1, 3)


def test_batch_jacobian():
    x = tg.constant(np.arange(6, dtype=np.float32).reshape(3, 2))
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.concat([x * x, tg.reduce_sum(x, axis=1, keepdims=True)], axis=1)  # (3, 3)
    j = tape.batch_jacobian(y, x)
    assert j.shape == (3, 3, 2)
    xv = x.numpy()
    for b in range(3):
        expected = np.array([[2 * xv[b, 0], 0], [0, 2 * xv[b, 1]], [1, 1]])
        np.testing.assert_allclose(j.numpy()[b], expected)


def test_batch_jacobian_checks_batch_dims():
    x = tg.constant(np.ones((3, 2), np.float32))
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.reduce_sum(x)
    with pytest.raises(ValueError, match="batch dimension"):
        tape.batch_jacobian(y, x)


def test_tape_mixes_with_backward():
    # a Variable is a Parameter: PyTorch's .backward() fills .grad while a tape only returns gradients
    v = tg.Variable([1.0, 2.0])
    with tg.GradientTape() as tape:
        y = tg.reduce_sum(v * v)
    g = tape.gradient(y, v)
    with tg.GradientTape() as tape2:
        y2 = tg.reduce_sum(v * v)
    y2.backward()
    assert g.tolist() == v.grad.tolist() == [2.0, 4.0]
    assert tape2.watched_variables() == (v,)


def test_gradient_after_exception_in_tape_leaves_flags_down():
    x = tg.constant(1.0)
    with pytest.raises(ZeroDivisionError), tg.GradientTape() as tape:
        tape.watch(x)
        raise ZeroDivisionError
    assert not x.requires_grad
