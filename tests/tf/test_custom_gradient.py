"""tg.custom_gradient under tapes, .backward() and autograd.grad; variables, keywords, higher order."""

from __future__ import annotations

import pytest

import tapegrad as tg


@tg.custom_gradient
def half_square(x):
    """y = x^2 with the (deliberately wrong) gradient dy * x."""
    return x * x, lambda dy: dy * x


def test_under_tape_backward_and_autograd_grad():
    x = tg.Variable(3.0)
    with tg.GradientTape() as tape:
        y = half_square(x)
    assert tape.gradient(y, x).item() == 3.0
    half_square(x).backward()
    assert x.grad.item() == 3.0
    t = tg.tensor(3.0, requires_grad=True)
    assert tg.autograd.grad(half_square(t), t)[0].item() == 3.0


def test_forward_value_and_no_record_without_grad():
    y = half_square(tg.constant(3.0))
    assert y.item() == 9.0 and not y.requires_grad


def test_keyword_arguments_keep_the_custom_rule():
    @tg.custom_gradient
    def f(x, y):
        return x * y, lambda dz: (dz * 10, dz * 100)

    a, b = tg.Variable(1.0), tg.Variable(2.0)
    with tg.GradientTape() as tape:
        z = f(y=b, x=a)
    ga, gb = tape.gradient(z, [a, b])
    assert (ga.item(), gb.item()) == (10.0, 100.0)


def test_variables_read_inside_f():
    w = tg.Variable(2.0, name="w")

    @tg.custom_gradient
    def scale(x):
        def grad(dy, variables=None):
            assert variables == [w]
            return dy * 7, [dy * 11]

        return x * w, grad

    x = tg.constant(3.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = scale(x)
    gx, gw = tape.gradient(y, [x, w])
    assert (gx.item(), gw.item()) == (7.0, 11.0)
    assert tape.watched_variables() == (w,)


def test_variables_without_variables_keyword_is_a_clear_error():
    w = tg.Variable(2.0, name="w")

    @tg.custom_gradient
    def scale(x):
        return x * w, lambda dy: dy

    with pytest.raises(TypeError, match="variables"):
        scale(tg.Variable(1.0))


def test_wrong_number_of_gradients():
    @tg.custom_gradient
    def f(x, y):
        return x + y, lambda dz: dz

    a, b = tg.Variable(1.0), tg.Variable(1.0)
    with pytest.raises(tg.GradError, match="returned 1 gradients"):
        f(a, b).backward()


def test_must_return_pair():
    @tg.custom_gradient
    def f(x):
        return x * 2

    with pytest.raises(TypeError, match=r"\(y, grad_fn\)"):
        f(tg.Variable(1.0))


def test_second_order_when_grad_fn_is_differentiable():
    @tg.custom_gradient
    def cube(x):
        return x**3, lambda dy: dy * 3 * x * x

    x = tg.constant(2.0)
    with tg.GradientTape() as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = cube(x)
        dy = inner.gradient(y, x)
    assert dy.item() == 12.0
    assert outer.gradient(dy, x).item() == 12.0  # 6x
    t = tg.tensor(2.0, requires_grad=True)
    (g,) = tg.autograd.grad(cube(t), t, create_graph=True)
    assert tg.autograd.grad(g, t)[0].item() == 12.0


def test_several_outputs_and_an_unused_one():
    @tg.custom_gradient
    def split(x):
        def grad(da, db):
            assert db.tolist() == [0.0, 0.0]  # materialized zeros for the unused output
            return da * 2 + db * 3

        return (x + 0, x * 1), grad

    x = tg.Variable([1.0, 2.0])
    with tg.GradientTape() as tape:
        a, _ = split(x)
        y = tg.reduce_sum(a)
    assert tape.gradient(y, x).tolist() == [2.0, 2.0]


def test_output_that_is_the_input_does_not_change_the_input():
    @tg.custom_gradient
    def ident(x):
        return x, lambda dy: dy * 5

    x = tg.tensor(1.0, requires_grad=True)
    y = ident(x)
    assert y is not x and x.is_leaf
    y.backward()
    assert x.grad.item() == 5.0


def test_nested_argument_structures():
    @tg.custom_gradient
    def f(pair):
        a, b = pair
        return a * b, lambda dy: [dy, dy * 2]

    a, b = tg.Variable(3.0), tg.Variable(4.0)
    with tg.GradientTape() as tape:
        y = f([a, b])
    assert [g.item() for g in tape.gradient(y, [a, b])] == [1.0, 2.0]


def test_second_backward_after_free_raises():
    x = tg.tensor(2.0, requires_grad=True)
    y = half_square(x)
    y.backward()
    with pytest.raises(tg.GradError, match="second time"):
        y.backward()
