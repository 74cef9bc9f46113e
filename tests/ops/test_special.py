"""tg.special (torch.special) and the top-level special functions against PyTorch 2.13: values over wide ranges
(tails, poles, infinities, nan), dtypes, first- and second-order gradients, and float64 finite differences."""

# ruff: noqa: B023

import numpy as np
import pytest

import tapegrad as tg

from .helpers import check_op, make_array

torch = pytest.importorskip("torch")

WIDE = np.concatenate([np.linspace(-30, 30, 241), [-1e3, -50.0, -0.0, 1e-300, 1e-8, 0.5, 1.0, 2.0, 50.0, 1e3, 1e300,
                                                    np.inf, -np.inf, np.nan]])
UNIT = np.concatenate([np.linspace(-1, 1, 201), 1 - np.logspace(-16, -1, 16), -1 + np.logspace(-16, -1, 16),
                       np.logspace(-300, -1, 16), [1.5, -2.0, np.nan]])
PROB = np.concatenate([np.linspace(0, 1, 201), np.logspace(-320, -1, 32), 1 - np.logspace(-16, -1, 16), [-1, 2, np.nan]])

# name: (domain, float64 rtol). torch's own float64 errors set a few tolerances: its trigamma for negative x and
# its erfcx for x < -6 (exp(x * x) unsplit) are off by ~1e-12 and ~1e-14 (checked against mpmath)
UNARY = {
    "expit": (WIDE, 1e-13), "logit": (UNIT, 1e-12), "erf": (WIDE, 1e-13), "erfc": (WIDE, 1e-13),
    "erfinv": (UNIT, 1e-13), "erfcx": (WIDE, 1e-12), "exp2": (WIDE, 1e-13), "expm1": (WIDE, 1e-13),
    "log1p": (WIDE, 1e-13), "gammaln": (WIDE, 1e-12), "digamma": (WIDE, 1e-11), "psi": (WIDE, 1e-11),
    "i0": (WIDE, 1e-13), "i0e": (WIDE, 1e-13), "i1": (WIDE, 1e-13), "i1e": (WIDE, 1e-13), "sinc": (WIDE, 1e-12),
    "round": (WIDE, 0), "ndtr": (WIDE, 1e-13), "ndtri": (PROB, 1e-13), "log_ndtr": (WIDE, 1e-13),
    "entr": (np.abs(WIDE) * np.sign(np.sin(np.arange(WIDE.size))), 1e-13),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_match_torch(name, dtype):
    x, rtol = UNARY[name]
    if name in ("i0", "i1"):  # torch gives nan at +-inf (Cephes' Chebyshev sums); we give the limits +-inf
        x = x[np.abs(x) < 1e30]  # (1e300 is inf in float32)
    ours = getattr(tg.special, name)(tg.tensor(x).to(getattr(tg, dtype)))
    theirs = getattr(torch.special, name)(torch.tensor(x).to(getattr(torch, dtype)))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    if dtype == "float32":  # torch computes in float32, we in float64 rounded once: a few float32 ulps
        rtol = 3e-6 if name not in ("gammaln", "digamma", "psi", "sinc") else 3e-5
    a, b = ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64)
    tiny = np.finfo(np.float32 if dtype == "float32" else np.float64).tiny
    np.testing.assert_allclose(a, b, rtol=rtol, atol=max(tiny, 1e-14 if dtype == "float64" else 1e-6),
                               equal_nan=True, err_msg=name)


def test_integer_inputs_compute_in_the_default_float():
    for name in ("gammaln", "digamma", "i0", "erfinv", "ndtr", "sinc"):
        x = [0, 1, 2] if name != "erfinv" else [0, 0, 1]
        out = getattr(tg.special, name)(tg.tensor(x))
        want = getattr(torch.special, name)(torch.tensor(x))
        assert out.dtype is tg.float32 and want.dtype is torch.float32
        np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-6)


# name: (tapegrad fn, torch fn, low, high): smooth on [low, high]
SMOOTH = {
    "gammaln": (tg.special.gammaln, torch.special.gammaln, 0.2, 4.0),
    "digamma": (tg.special.digamma, torch.special.digamma, 0.2, 4.0),
    "polygamma1": (lambda x: tg.special.polygamma(1, x), lambda x: torch.special.polygamma(1, x), 0.3, 4.0),
    "polygamma2": (lambda x: tg.special.polygamma(2, x), lambda x: torch.special.polygamma(2, x), 0.3, 4.0),
    "erfinv": (tg.special.erfinv, torch.special.erfinv, -0.95, 0.95),
    "erfcx": (tg.special.erfcx, torch.special.erfcx, -2.0, 6.0),
    "ndtri": (tg.special.ndtri, torch.special.ndtri, 0.02, 0.98),
    "ndtr": (tg.special.ndtr, torch.special.ndtr, -3.0, 3.0),
    "log_ndtr": (tg.special.log_ndtr, torch.special.log_ndtr, -5.0, 3.0),
    "i0": (tg.special.i0, torch.special.i0, -4.0, 4.0),
    "i0e": (tg.special.i0e, torch.special.i0e, 0.1, 4.0),
    "i1": (tg.special.i1, torch.special.i1, -4.0, 4.0),
    "i1e": (tg.special.i1e, torch.special.i1e, 0.1, 4.0),
    "sinc": (tg.special.sinc, torch.special.sinc, 0.1, 3.0),
    "entr": (tg.special.entr, torch.special.entr, 0.1, 3.0),
    "logit": (tg.special.logit, torch.special.logit, 0.05, 0.95),
    "expit": (tg.special.expit, torch.special.expit, -4.0, 4.0),
    "multigammaln": (lambda x: tg.special.multigammaln(x, 3), lambda x: torch.special.multigammaln(x, 3), 1.2, 4.0),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_gradients_match_torch_first_and_second_order(name):
    ours, theirs, lo, hi = SMOOTH[name]
    check_op(ours, theirs, [(3, 4)], low=lo, high=hi)
    check_op(ours, theirs, [(3, 4)], low=lo, high=hi, grad2=True, seed=1)
    x = tg.tensor(make_array((5,), "float64", lo, hi), requires_grad=True)
    assert tg.autograd.gradcheck(ours, [x])
    assert tg.autograd.gradgradcheck(ours, [x])


def test_gradients_at_zero_and_in_float32():
    # i1 / i1e divide by x in their derivative: the limit 1/2 at 0, finite second order too
    for name in ("i1", "i1e", "i0e"):
        check_op(getattr(tg.special, name), getattr(torch.special, name), [np.array([0.0, 0.5, -1.5])], grad2=True)
    # sinc: the first derivative at 0 is 0 in both; torch's second derivative there is nan (ours is 0)
    check_op(tg.special.sinc, torch.special.sinc, [np.array([0.0, 0.5, -1.5])])
    check_op(tg.special.gammaln, torch.special.gammaln, [(6,)], dtype="float32", low=0.5, high=5.0)
    check_op(tg.special.erfinv, torch.special.erfinv, [(6,)], dtype="float32", low=-0.9, high=0.9)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_polygamma(n):
    x = np.concatenate([np.linspace(0.05, 40, 50), np.linspace(-4.9, -0.1, 40) + 0.013])
    ours = tg.special.polygamma(n, tg.tensor(x)).numpy()
    theirs = torch.special.polygamma(n, torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9 if n else 1e-11)  # torch's negative-x trigamma: ~1e-12
    one = np.array([1.5])
    assert tg.polygamma(n, tg.tensor(one)).item() == pytest.approx(torch.polygamma(n, torch.tensor(one)).item())
    assert tg.tensor(one).polygamma(n).item() == pytest.approx(torch.tensor(one).polygamma(n).item())
    with pytest.raises(ValueError, match="non-negative integer"):
        tg.special.polygamma(-1, tg.tensor([1.0]))


def test_zeta_values_and_gradient_in_q():
    rng = np.random.default_rng(3)
    x, q = rng.uniform(1.01, 40, 300), rng.uniform(0.01, 30, 300)
    np.testing.assert_allclose(tg.special.zeta(tg.tensor(x), tg.tensor(q)).numpy(),
                               torch.special.zeta(torch.tensor(x), torch.tensor(q)).numpy(), rtol=1e-12)
    edges_x = np.array([1.0, 0.5, 2.0, 2.0, 3.0, 2.5, np.nan])
    edges_q = np.array([1.0, 1.0, 0.0, -2.0, -1.5, -1.5, 1.0])
    np.testing.assert_allclose(tg.special.zeta(tg.tensor(edges_x), tg.tensor(edges_q)).numpy(),
                               torch.special.zeta(torch.tensor(edges_x), torch.tensor(edges_q)).numpy(), equal_nan=True)
    check_op(lambda q: tg.special.zeta(3.0, q), lambda q: torch.special.zeta(3.0, q), [(4,)], low=0.5, high=3.0,
             grad2=True)
    qq = tg.tensor([0.7, 1.9], dtype=tg.float64, requires_grad=True)
    assert tg.autograd.gradgradcheck(lambda q: tg.special.zeta(2.5, q), [qq])


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_xlog1py(name):
    x = np.array([0.0, 0.0, 1.0, 2.0, -1.5, 0.0, 3.0])
    y = np.array([0.0, np.nan, 0.5, 3.0, 0.25, 2.0, np.inf])
    f, g = getattr(tg.special, name), getattr(torch.special, name)
    check_op(f, g, [x, y], grad=False)
    check_op(f, g, [(3, 4), (3, 4)], low=0.1, high=3.0, grad2=True)
    check_op(f, g, [(3, 4), 2.0], low=0.1, high=3.0)  # a Python number operand
    check_op(f, g, [(3, 1), (1, 4)], dtype="float32", low=0.1, high=3.0)
    # the x == 0 entries: an exact zero gradient for x (torch: log(y) masked), no nan for y
    xs, ys = tg.tensor([0.0, 1.0], requires_grad=True), tg.tensor([0.0 if name == "xlogy" else -1.0, 2.0], requires_grad=True)
    f(xs, ys).sum().backward()
    assert np.isfinite(xs.grad.numpy()).all() and xs.grad.numpy()[0] == 0


def test_top_level_names_and_methods():
    x = np.array([0.3, 1.7, 2.5])
    for name in ("lgamma", "digamma", "erfinv", "i0", "sinc"):
        xin = x / 3 if name == "erfinv" else x
        check_op(getattr(tg, name), getattr(torch, name), [xin])
        check_op(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [xin])
    check_op(lambda t: t.mvlgamma(2), lambda t: t.mvlgamma(2), [x + 1], grad2=True)
    check_op(tg.xlogy, torch.xlogy, [(3,), (3,)], low=0.5, high=2.0)
    t = tg.tensor([0.5, 2.0])
    t.lgamma_()
    np.testing.assert_allclose(t.numpy(), torch.tensor([0.5, 2.0]).lgamma_().numpy(), rtol=1e-6)


def test_softmax_log_softmax_logsumexp_round():
    check_op(lambda x: tg.special.softmax(x, 1), lambda x: torch.special.softmax(x, 1), [(2, 5)], grad2=True)
    check_op(lambda x: tg.special.log_softmax(x, 0, dtype=tg.float64),
             lambda x: torch.special.log_softmax(x, 0, dtype=torch.float64), [(4, 3)], dtype="float32")
    check_op(lambda x: tg.special.logsumexp(x, 1), lambda x: torch.special.logsumexp(x, 1), [(2, 5)])
    check_op(lambda x: tg.special.round(x, decimals=2), lambda x: torch.special.round(x, decimals=2), [(5,)],
             grad=False)


def test_special_works_under_jit_and_vmap():
    f = tg.jit(lambda x: tg.special.gammaln(x) + tg.special.i1e(x) * tg.special.erfinv(x / 4))
    x = tg.tensor([0.5, 1.5, 3.0], dtype=tg.float64)
    want = torch.special.gammaln(torch.tensor(x.numpy())) + torch.special.i1e(torch.tensor(x.numpy())) * \
        torch.special.erfinv(torch.tensor(x.numpy()) / 4)
    np.testing.assert_allclose(f(x).numpy(), want.numpy(), rtol=1e-13)
    batched = tg.vmap(lambda q: tg.special.zeta(2.0, q))(tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tg.float64))
    np.testing.assert_allclose(batched.numpy(), torch.special.zeta(2.0, torch.tensor([[1.0, 2.0], [3.0, 4.0]],
                                                                                     dtype=torch.float64)).numpy())


POLYNOMIAL_NAMES = sorted(n for n in dir(torch.special) if "polynomial" in n)


@pytest.mark.parametrize("name", POLYNOMIAL_NAMES)
def test_polynomials(name):
    x = np.linspace(-1.5, 2.5, 9)
    n = np.array([0, 1, 2, 3, 5, 8, 12, -1, 4])
    ours, theirs = getattr(tg.special, name), getattr(torch.special, name)
    check_op(ours, theirs, [x, n], grad=False, rtol=1e-10, atol=1e-10)
    check_op(lambda t: ours(t, 4), lambda t: theirs(t, 4), [x], grad=False)
    check_op(lambda t: ours(t, 3), lambda t: theirs(t, 3), [x.astype(np.float32)], dtype="float32", grad=False)
    # a gradient torch does not give: checked against finite differences
    xs = tg.tensor(np.array([-0.7, 0.2, 0.9]), requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: ours(t, 5), [xs])


def test_bessel_aliases_and_spherical_j0():
    x = np.concatenate([np.linspace(-20, 20, 81), [0.0]])
    for name in ("modified_bessel_i0", "modified_bessel_i1", "spherical_bessel_j0"):
        check_op(getattr(tg.special, name), getattr(torch.special, name), [x], grad=False, rtol=1e-12, atol=1e-14)
    # torch gives spherical_bessel_j0 no gradient; ours against finite differences, first and second order
    xs = tg.tensor(np.array([0.5, -2.0, 7.0]), requires_grad=True)
    assert tg.autograd.gradcheck(tg.special.spherical_bessel_j0, [xs])
    assert tg.autograd.gradgradcheck(tg.special.spherical_bessel_j0, [xs])


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma(name):
    rng = np.random.default_rng(4)
    a = np.concatenate([rng.uniform(0.01, 50, 500), [0.0, 0.0, 1.0, 2.0, 0.5, -1.0, 3.0, 1.0]])
    x = np.concatenate([rng.uniform(0, 80, 500), [0.0, 1.0, 0.0, np.inf, -1.0, 1.0, np.nan, 1e-300]])
    ours, theirs = getattr(tg.special, name), getattr(torch.special, name)
    # torch's own values are off by up to ~3e-10 for a > 30 (against mpmath; ours agree to ~1e-14)
    check_op(ours, theirs, [a, x], grad=False, rtol=1e-8, atol=1e-300)
    check_op(lambda x: ours(2.5, x), lambda x: theirs(torch.tensor(2.5, dtype=x.dtype), x), [(3, 4)], low=0.1,
             high=8.0, grad2=True)
    check_op(lambda x: ours(0.7, x), lambda x: theirs(torch.tensor(0.7, dtype=x.dtype), x), [(5,)], low=0.1, high=3.0,
             dtype="float32")
    xs = tg.tensor(np.array([0.3, 1.7, 6.0]), requires_grad=True)
    assert tg.autograd.gradgradcheck(lambda t: ours(1.5, t), [xs])
    assert getattr(tg, "igamma" if name == "gammainc" else "igammac") is not None


def test_incomplete_gamma_tails_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    a, x = np.array([0.5, 5.0, 40.0, 3.0]), np.array([30.0, 60.0, 100.0, 1e-3])
    q = tg.special.gammaincc(tg.tensor(a), tg.tensor(x)).numpy()
    p = tg.special.gammainc(tg.tensor(a), tg.tensor(x)).numpy()
    for i in range(len(a)):
        want_q = float(mpmath.gammainc(a[i], x[i], mpmath.inf, regularized=True))
        want_p = float(mpmath.gammainc(a[i], 0, x[i], regularized=True))
        assert q[i] == pytest.approx(want_q, rel=1e-12) and p[i] == pytest.approx(want_p, rel=1e-12)
