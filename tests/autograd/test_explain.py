"""tg.autograd.explain(target, source): says in words why a gradient is None (or that it is not)."""

import inspect

import tapegrad as tg


def _at_previous_line():
    """'test_explain.py:N ' for the line just before the caller's: how explain names a user's line."""
    frame = inspect.currentframe().f_back
    return f"test_explain.py:{frame.f_lineno - 1} "


def test_connected_through_ops_and_to_a_non_leaf():
    a = tg.tensor([2.0], requires_grad=True)
    h = a.exp()
    y = (h * 3).sum()
    assert tg.autograd.explain(y, a).startswith("connected")
    assert tg.autograd.explain(y, h).startswith("connected")
    assert tg.autograd.explain(a, a).startswith("connected")


def test_not_connected():
    a, b = tg.tensor(2.0, requires_grad=True), tg.tensor(3.0, requires_grad=True)
    msg = tg.autograd.explain(b * 3, a)
    assert msg.startswith("no gradient") and "not computed from source" in msg
    assert tg.autograd.grad(b * 3, a, allow_unused=True) == (None,)


def test_not_connected_to_the_other_output_of_a_multi_output_function():
    class Two(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3

    p, q = Two.apply(tg.tensor([1.0], requires_grad=True))
    assert tg.autograd.explain(p * 5, p).startswith("connected")
    assert tg.autograd.explain(p * 5, q).startswith("no gradient")


def test_cut_by_detach_names_the_users_line():
    a = tg.tensor(2.0, requires_grad=True)
    y = a.detach() * 3
    where = _at_previous_line()
    msg = tg.autograd.explain(y, a)
    assert "detach()" in msg and where in msg and "Fix:" in msg


def test_cut_by_detach_inside_a_connected_graph():
    a, b = tg.tensor(2.0, requires_grad=True), tg.tensor(3.0, requires_grad=True)
    y = a.detach() * b
    msg = tg.autograd.explain(y, a)
    assert "cut" in msg and "detach()" in msg and "test_explain.py" in msg
    assert tg.autograd.explain(y, b).startswith("connected")


def test_detached_leaf_that_requires_grad_again():
    a = tg.tensor(2.0, requires_grad=True)
    y = a.detach().requires_grad_() * 2
    assert "detach()" in tg.autograd.explain(y, a)


def test_cut_by_no_grad_names_where_it_was_entered():
    a = tg.tensor(2.0, requires_grad=True)
    with tg.no_grad():
        where = _at_previous_line()
        h = a * 2
    msg = tg.autograd.explain(h * 3, a)
    assert "no_grad" in msg and where in msg
    b = tg.tensor(1.0, requires_grad=True)
    msg = tg.autograd.explain(h * b, a)
    assert "cut" in msg and "no_grad" in msg


def test_cut_by_numpy_round_trip():
    a = tg.tensor([2.0], requires_grad=True)
    arr = a.numpy()
    where = _at_previous_line()
    for make in (tg.tensor, tg.from_numpy, tg.as_tensor):
        msg = tg.autograd.explain(make(arr) * 2, a)
        assert ".numpy()" in msg and where in msg
    y = tg.tensor(a.detach().numpy()) * 2
    assert ".numpy()" in tg.autograd.explain(y, a)


def test_values_taken_out_with_item_or_tolist():
    a = tg.tensor([2.0], requires_grad=True)
    msg = tg.autograd.explain(tg.tensor(a.tolist()) * 2, a)
    assert "does not depend" in msg and ".item()" in msg


def test_cut_by_integer_cast_and_comparisons():
    a = tg.tensor([2.5], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    msg = tg.autograd.explain(a.long().float() * 3, a)
    assert "int64" in msg and "floating point" in msg
    msg = tg.autograd.explain((a.int() * 3).float() * b, a)
    assert "cut" in msg and "int32" in msg
    msg = tg.autograd.explain((a > 1).float() * b, a)
    assert "bool" in msg
    msg = tg.autograd.explain(a.argmax().float() * b, a)
    assert "argmax" in msg


def test_source_that_does_not_require_grad():
    a = tg.tensor(2.0, requires_grad=True)
    msg = tg.autograd.explain(a * 3, tg.tensor(1.0))
    assert "source does not require grad" in msg and "requires_grad_()" in msg
    msg = tg.autograd.explain(a * 3, tg.tensor(1))
    assert "int64" in msg and ".float()" in msg


def test_explain_agrees_with_autograd_grad():
    a, b = tg.tensor([1.0, 2.0], requires_grad=True), tg.tensor([3.0, 4.0], requires_grad=True)
    with tg.no_grad():
        c = a * 2
    cases = [(a * b, a), (c * b, a), (a.detach() * b, a), ((a * b).sum(), b), (b * 2, a)]
    for target, source in cases:
        (g,) = tg.autograd.grad(target.sum(), source, allow_unused=True, retain_graph=True)
        assert tg.autograd.explain(target, source).startswith("connected") == (g is not None)
