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
