"""Each pass on small graphs, with verify after it."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.errors import TraceError
from tapegrad.passes import cse, dce, fold, optimize, simplify
from tapegrad.trace import verify
from tapegrad.trace.function import Function


def _raw(fn, *args):
    f = Function(fn, optimize=False)
    return f.lower(*args)


def _names(g):
    return [e.prim.name for e in g.eqns]


def test_dce_drops_unused_equations():
    def fn(x):
        _ = x.exp() * 3
        return x + 1

    g = _raw(fn, tg.ones(3))
    assert "exp" in _names(g)
    out = verify(dce(g))
    assert "exp" not in _names(out) and "add" in _names(out)


def test_cse_merges_repeated_work():
    g = _raw(lambda x: x.exp() + x.exp(), tg.ones(3))
    assert _names(g).count("exp") == 2
    assert _names(verify(cse(g))).count("exp") == 1


def test_fold_computes_constant_subgraphs():
    def fn(x):
        c = tg.tensor([1.0, 2.0, 3.0])
        return x * (c.exp() * 2).log()

    g = _raw(fn, tg.ones(3))
    out = verify(dce(fold(g)))
    assert _names(out) == ["mul"]
    np.testing.assert_allclose(Function(fn)(tg.ones(3)).numpy(), np.log(np.exp([1.0, 2.0, 3.0]) * 2), rtol=1e-6)


def test_simplify_identities_and_chains():
    def fn(x):
        y = x * 1 + 0
        y = y.reshape(6).reshape(2, 3).reshape(3, 2)
        return y.T.T - 0

    g = _raw(fn, tg.ones(3, 2))
    out = verify(dce(simplify(fold(g))))
    assert _names(out) == [], str(out)


def test_simplify_merges_permutes():
    g = _raw(lambda x: x.permute(1, 2, 0).permute(2, 0, 1).permute(0, 2, 1), tg.ones(2, 3, 4))
    out = verify(dce(simplify(g)))
    assert _names(out) == ["permute"]
    assert out.eqns[0].params["perm"] == (0, 2, 1)


def test_optimize_keeps_values():
    def fn(x, y):
        a = (x * 1.0 + 0.0).exp()
        return (a + a.exp() * (y * 1) + (x * 1.0 + 0.0).exp()).sum()

    x, y = tg.randn(4), tg.randn(4)
    raw, opt = _raw(fn, x, y), optimize(_raw(fn, x, y), debug=True)
    assert len(opt.eqns) < len(raw.eqns)
    np.testing.assert_allclose(tg.jit(fn)(x, y).item(), fn(x, y).item(), rtol=1e-6)


def test_verify_catches_a_wrong_type_and_an_undefined_var():
    g = _raw(lambda x: x.exp(), tg.ones(3))
    from tapegrad.primitives.base import AVal
    from tapegrad.trace.ir import Var

    g.eqns[0].outputs[0].aval = AVal((4,), tg.float32)
    with pytest.raises(TraceError, match="declares f32\\[4\\] but its shape rule gives f32\\[3\\]"):
        verify(g)
    g2 = _raw(lambda x: x.exp(), tg.ones(3))
    g2.eqns[0].inputs[0] = Var(AVal((3,), tg.float32))
    with pytest.raises(TraceError, match="not defined before it"):
        verify(g2)



def test_transpose_matmul_asks_blas_for_the_transposed_product():
    r = np.random.default_rng(0)
    x, w = tg.tensor(r.standard_normal((5, 6))), tg.tensor(r.standard_normal((4, 6)))
    out = verify(optimize(_raw(lambda x, w: (x @ w.T).T, x, w)))
    assert _names(out) == ["permute", "matmul"]  # w.T.T folded away: one transposed operand, no output permute
    got = Function(lambda x, w: (x @ w.T).T)(x, w)
    np.testing.assert_allclose(got.numpy(), (x.numpy() @ w.numpy().T).T)


def test_transpose_matmul_keeps_a_product_that_is_read_twice():
    g = _raw(lambda a, b: ((a @ b).T, (a @ b).exp()), tg.ones(3, 4), tg.ones(4, 5))
    out = verify(optimize(g))
    assert _names(out).count("matmul") == 1 and _names(out).count("permute") == 1
