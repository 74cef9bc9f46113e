"""Static views in the plan executor (executor.PlanCore._static_views): a reshape, permute or slice of a plan
buffer is computed once, when the plan is built, and its step dropped. The values must stay right over calls
with new inputs (the buffer is rewritten in place), on both plans, and a view that numpy must copy stays a step."""

import numpy as np
import pytest

import tapegrad as tg

BACKENDS = ["numpy", "c"]


@pytest.fixture(autouse=True)
def _cache(c_cache, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


def _mlp(x, w, v):
    h = x @ w  # (4, 30), in a plan buffer
    s = h.reshape(120).tanh().sum()  # a view of the buffer read by a kernel
    p = h.reshape(8, 15) @ v  # ... and by a matmul
    q = h.T[1:] @ h  # a transposed slice of it
    r = h.T.reshape(-1)[::7] * 2  # a reshape of a strided view: numpy copies
    return s, p, q, r


@pytest.mark.parametrize("backend", BACKENDS)
def test_views_of_buffers_are_static_and_right_over_calls(backend):
    f = tg.jit(_mlp, backend=backend)
    rng = np.random.default_rng(0)
    w = tg.tensor(rng.standard_normal((3, 30)).astype(np.float32))
    v = tg.tensor(rng.standard_normal((15, 2)).astype(np.float32))
    for k in range(3):  # new inputs each call: the static views must show the new contents of the buffer
        x = tg.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        got = f(x, w, v)
        want = _mlp(x, w, v)
        for g, e in zip(got, want):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-5, atol=1e-5)
    plan = f.get_concrete_function(x, w, v).plan()
    assert plan.core.static, "no view was made static"
    assert len(plan._pairs) == len(plan.steps) - len(plan.core.static)  # computed once, not on each call


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_static_view_as_a_graph_output_is_copied(backend):
    f = tg.jit(lambda x, w: ((x @ w).T[1:], (x @ w).sum()), backend=backend)
    x, w = tg.ones(2, 3), tg.ones(3, 4)
    a = f(x, w)[0]
    b = f(x * 2, w)[0]
    np.testing.assert_array_equal(a.numpy(), np.full((3, 2), 3.0, np.float32))  # not overwritten by the 2nd call
    np.testing.assert_array_equal(b.numpy(), np.full((3, 2), 6.0, np.float32))
