"""A compiled plan runs with numpy's floating-point errors ignored (as eager ops do) and leaves the caller's error
state as it found it (backends/executor.py sets numpy's error-state context variable instead of np.errstate)."""

import warnings

import numpy as np
import pytest

import tapegrad as tg


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_plan_ignores_fp_errors_and_restores_state(backend):
    f = tg.function(lambda x: tg.reduce_sum(tg.matmul(x, x) / (x - x)), backend=backend)
    x = tg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    with np.errstate(all="raise"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(2):  # the traced call and the fast path
                assert np.isnan(f(x).item()) or np.isinf(f(x).item())
        with pytest.raises(FloatingPointError):  # the caller's state is back
            np.float32(1.0) / np.float32(0.0)
    assert np.geterr()["divide"] == "warn"


def test_loop_body_plans_ignore_fp_errors():
    @tg.function
    def f(x):
        return tg.while_loop(lambda x: x < 10.0, lambda x: (x * 1.5 + 0.0 / (x - x),), (x,))[0]

    with np.errstate(all="raise"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert np.isnan(f(tg.tensor(1.0)).item())


def test_straight_line_plan_matches_the_run_loop():
    # backends/plan.py _straight_line: the generated function must return what core.run returns (steps with params,
    # an input used twice, a constant), and runs only where errors are ignored already
    from tapegrad.backends import executor
    from tapegrad.backends.plan import Plan

    f = tg.jit(lambda x, y: (tg.reduce_sum(x, axis=0), tg.sigmoid(y) - 2.0, x), backend="numpy")
    x, y = tg.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3)), tg.tensor(np.ones((2, 3), np.float32))
    plan = Plan(f.get_concrete_function(x, y).graph)
    assert plan._straight is not None
    feed = [x._data, y._data]
    expect = plan.core.run(plan._pairs, feed)
    with np.errstate(all="ignore"):
        assert executor._ERRORS.get() is not executor._IGNORE_ALL  # np.errstate makes a state of its own
    token = executor._ERRORS.set(executor._IGNORE_ALL)
    try:
        got = plan(feed)
    finally:
        executor._ERRORS.reset(token)
    assert len(got) == len(expect)
    for a, b in zip(got, expect):
        np.testing.assert_array_equal(a, b)
