"""Registry-driven checks of every primitive's rules, in float64, against central finite differences.

For each primitive in PRIMITIVES and each sample case (samples.py): the shape rule against the numpy
result, the vjp (through a real bind and tg.autograd.grad) and the jvp against finite differences,
the transpose identity <v, J u> == <J^T v, u>, and the second order (the vjp differentiated again).
A primitive registered without an impl, a sample entry or its own shape/vjp/jvp fails test_registry.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.primitives import PRIMITIVES, AVal, Primitive, bind

from .samples import SAMPLES

N_DIRECTIONS = 2  # random (u, v) pairs per case: each detects any Jacobian error with probability 1


def _cases():
    params = []
    for name in sorted(PRIMITIVES):
        make = SAMPLES.get(name)
        if make is None:
            continue  # test_registry reports it
        for i, case in enumerate(make(np.random.default_rng(zlib.crc32(name.encode())))):
            params.append(pytest.param(PRIMITIVES[name], case, id=f"{name}-{i}-{case!r}"))
    return params


CASES = _cases()


def _needs(*, diff=True, smooth=True):
    """The cases to which a check applies: with a differentiable float output, and FD-valid when smooth."""
    out = []
    for p in CASES:
        prim, case = p.values
        if diff and (not prim.differentiable or not case.diff or not _float_out(prim, case)):
            continue
        if smooth and not case.smooth:
            continue
        out.append(p)
    return out


def _float_out(prim, case):
    return np.asarray(prim.impl(*case.args, **case.params)).dtype.kind == "f"


# *** helpers ***


def _tensors(case, requires_grad=False, which=None, args=None):
    """Tensors for the case's arguments (or `args` in their place); those in `which` (default: case.diff)
    require grad when asked."""
    which = case.diff if which is None else which
    ts = []
    for i, a in enumerate(case.args if args is None else args):
        t = _t(a)
        if requires_grad and i in which:
            t.requires_grad_()
        ts.append(t)
    return ts


def _t(a):
    # NOTE: np.asarray: tg.tensor of a numpy scalar (np.float64) currently infers the default float32.
    return tg.tensor(np.asarray(a))


def _np(t, like=None):
    if t is None:
        return np.zeros(like.shape) if like is not None else None
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def _dot(a, b):
    return float(np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64)))


def _random_like(rng, arrays, case):
    """A direction per differentiable argument, in that argument's shape and dtype."""
    return {i: rng.standard_normal(arrays[i].shape).astype(arrays[i].dtype) for i in case.diff}


def _shifted(case, u, t):
    """The case's arguments moved by t * u (u: a direction per argument index; others stay)."""
    return [(a.astype(np.float64) + t * u[i]).astype(a.dtype) if i in u else a for i, a in enumerate(case.args)]


def _fd(fn, case, u, eps):
    """(fn(x + eps u) - fn(x - eps u)) / (2 eps), fn on lists of numpy arrays."""
    plus = np.asarray(fn(_shifted(case, u, eps)), np.float64)
    minus = np.asarray(fn(_shifted(case, u, -eps)), np.float64)
    return (plus - minus) / (2 * eps)


def _impl(prim, case):
    return lambda arrays: prim.impl(*arrays, **case.params)


def _close(analytic, numeric, tol, what):
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    scale = 1.0 + np.max(np.abs(numeric), initial=0.0)
    err = np.max(np.abs(analytic - numeric), initial=0.0)
    detail = f"max error {err:.3e} (scale {scale:.3g})\nanalytic:\n{analytic}\nnumeric:\n{numeric}"
    assert err <= tol * scale, f"{what}: {detail}"


def _vjp(prim, case, v, which=None):
    """Cotangents (Tensors or None) of the arguments in `which` (default: case.diff), through a real bind
    where only those arguments require grad (rules with vjp_needs skip the others)."""
    which = case.diff if which is None else which
    xs = _tensors(case, requires_grad=True, which=which)
    out = bind(prim, *xs, **case.params)
    gs = tg.autograd.grad(out, [xs[i] for i in which], _t(v), allow_unused=True)
    return xs, out, gs


def _jvp(prim, case, u):
    """The output and prim.jvp's tangent for tangents u (None for arguments not in u)."""
    xs = _tensors(case)
    out = bind(prim, *xs, **case.params)
    dxs = [_t(u[i]) if i in u else None for i in range(len(xs))]
    return out, prim.jvp(dxs, xs, out, **case.params)


def _tangent_patterns(case):
    """Every differentiable argument at once, then each alone (the other tangents None / no grad)."""
    yield case.diff
    if len(case.diff) > 1:
        for i in case.diff:
            yield (i,)


# *** the table itself ***


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_registry(name):
    prim = PRIMITIVES[name]
    assert prim.impl is not None, f"primitive {name} has no numpy implementation (add it to backends/numpy.py IMPLS)"
    assert name in SAMPLES, f"primitive {name} has no sample inputs (add an entry to tests/primitives/samples.py)"
    for rule in ("shape", "vjp", "jvp"):
        assert getattr(type(prim), rule) is not getattr(Primitive, rule), f"primitive {name} has no {rule} rule"


def test_samples_name_registered_primitives():
    stale = sorted(set(SAMPLES) - set(PRIMITIVES))
    assert not stale, f"samples.py has entries for unregistered primitives: {stale}"


# *** forward ***


@pytest.mark.parametrize("prim, case", CASES)
def test_shape_rule(prim, case):
    expected = np.asarray(prim.impl(*case.args, **case.params))
    xs = _tensors(case)
    aval = prim.shape(*[AVal(x.shape, x.dtype) for x in xs], **case.params)
    assert tuple(aval.shape) == expected.shape, f"{prim.name}: shape rule {aval.shape}, numpy {expected.shape}"
    assert aval.dtype.np == expected.dtype, f"{prim.name}: dtype rule {aval.dtype.name}, numpy {expected.dtype}"
    out = bind(prim, *xs, **case.params)
    assert tuple(out.shape) == expected.shape and out.dtype is aval.dtype
    np.testing.assert_array_equal(out.numpy(), expected)


@pytest.mark.parametrize("prim, case", CASES)
def test_requires_grad(prim, case):
    """Outputs of non-differentiable primitives (and non-float outputs) never require grad."""
    if not any(a.dtype.kind == "f" for a in case.args):
        pytest.skip("no floating input can require grad")
    xs = _tensors(case, requires_grad=True)
    out = bind(prim, *xs, **case.params)
    expect = prim.differentiable and out.dtype.is_floating_point and bool(case.diff)
    assert out.requires_grad == expect, f"{prim.name}: output requires_grad is {out.requires_grad}, expected {expect}"
    assert (out.grad_fn is not None) == expect


# *** first order ***


@pytest.mark.parametrize("prim, case", _needs(smooth=True))
def test_vjp_matches_finite_differences(prim, case):
    rng = np.random.default_rng(0)
    out_np = np.asarray(prim.impl(*case.args, **case.params))
    for which in _tangent_patterns(case):
        v = rng.standard_normal(out_np.shape).astype(out_np.dtype)
        xs, out, gs = _vjp(prim, case, v, which)
        for i, g in zip(which, gs):
            if g is not None:
                x = xs[i]
                assert tuple(g.shape) == x.shape, f"{prim.name}: cotangent {i} has shape {g.shape}, input {x.shape}"
                assert g.dtype is x.dtype, f"{prim.name}: cotangent {i} is {g.dtype.name}, input {x.dtype.name}"
        u = {i: d for i, d in _random_like(rng, case.args, case).items() if i in which}
        analytic = sum(_dot(_np(g, case.args[i]), u[i]) for i, g in zip(which, gs))
        numeric = _dot(v, _fd(_impl(prim, case), case, u, case.eps))
        _close(analytic, numeric, case.tol, f"{prim.name} vjp w.r.t. inputs {which}: <vjp(v), u> vs <v, FD(u)>")


@pytest.mark.parametrize("prim, case", _needs(smooth=True))
def test_jvp_matches_finite_differences(prim, case):
    rng = np.random.default_rng(1)
    for pattern in _tangent_patterns(case):
        u = {i: d for i, d in _random_like(rng, case.args, case).items() if i in pattern}
        out, dout = _jvp(prim, case, u)
        numeric = _fd(_impl(prim, case), case, u, case.eps)
        if dout is not None:
            assert tuple(dout.shape) == out.shape, f"{prim.name}: tangent shape {dout.shape}, output {out.shape}"
            assert dout.dtype is out.dtype, f"{prim.name}: tangent dtype {dout.dtype.name}, output {out.dtype.name}"
        _close(_np(dout, numeric), numeric, case.tol, f"{prim.name} jvp with tangents for inputs {pattern}")


@pytest.mark.parametrize("prim, case", _needs(smooth=False))
def test_transpose_identity(prim, case):
    """<v, jvp(u)> == <vjp(v), u>: forward and reverse rules are one linear map (kinks and ties included)."""
    rng = np.random.default_rng(2)
    out_np = np.asarray(prim.impl(*case.args, **case.params))
    for _ in range(N_DIRECTIONS):
        u = _random_like(rng, case.args, case)
        v = rng.standard_normal(out_np.shape).astype(out_np.dtype)
        _, dout = _jvp(prim, case, u)
        _, _, gs = _vjp(prim, case, v)
        forward = _dot(v, _np(dout, out_np))
        reverse = sum(_dot(_np(g, case.args[i]), u[i]) for i, g in zip(case.diff, gs))
        _close(reverse, forward, 1e-10 if case.tol < 1e-5 else case.tol, f"{prim.name} <vjp(v), u> vs <v, jvp(u)>")


# *** second order ***


def _second_order(prim, case, args, v, w, create_graph):
    """h(x, v) = sum_i <vjp_i(x; v), w_i> at x = args; returns (xs, v, h) as Tensors, h with its graph when asked."""
    xs = _tensors(case, requires_grad=True, args=args)
    vt = _t(v).requires_grad_()
    out = bind(prim, *xs, **case.params)
    gs = tg.autograd.grad(out, [xs[i] for i in case.diff], vt, allow_unused=True, create_graph=create_graph)
    h = None
    for i, g in zip(case.diff, gs):
        if g is not None:
            term = (g * _t(w[i])).sum()
            h = term if h is None else h + term
    return xs, vt, h


@pytest.mark.parametrize("prim, case", _needs(smooth=True))
def test_second_order_matches_finite_differences(prim, case):
    """The vjp differentiated again, w.r.t. the inputs and the cotangent, against FD of the vjp."""
    rng = np.random.default_rng(3)
    out_np = np.asarray(prim.impl(*case.args, **case.params))
    v = rng.standard_normal(out_np.shape).astype(out_np.dtype)
    w, u = _random_like(rng, case.args, case), _random_like(rng, case.args, case)
    dv = rng.standard_normal(out_np.shape).astype(out_np.dtype)
    xs, vt, h = _second_order(prim, case, case.args, v, w, create_graph=True)
    analytic = 0.0
    if h is not None and h.requires_grad:
        targets = [xs[i] for i in case.diff] + [vt]
        seconds = tg.autograd.grad(h, targets, allow_unused=True)
        analytic = sum(_dot(_np(s, d), d) for s, d in zip(seconds, [u[i] for i in case.diff] + [dv]))

    def h_at(t):
        _, _, h_t = _second_order(prim, case, _shifted(case, u, t), v + t * dv, w, create_graph=False)
        return 0.0 if h_t is None else float(h_t.numpy())

    eps = max(case.eps, 1e-5)
    numeric = (h_at(eps) - h_at(-eps)) / (2 * eps)
    _close(analytic, numeric, max(case.tol, 1e-5), f"{prim.name} second order (d/dx, d/dv of <vjp(v), w>)")


# *** conventions at kinks and ties (where FD says nothing) ***

CONVENTIONS = [
    # (primitive, inputs, params, expected cotangents for a cotangent of ones)
    ("abs", [[-1.0, 0.0, 2.0]], {}, [[-1.0, 0.0, 1.0]]),
    ("maximum", [[1.0, 2.0], [1.0, 0.0]], {}, [[0.5, 1.0], [0.5, 0.0]]),
    ("minimum", [[1.0, 2.0], [1.0, 0.0]], {}, [[0.5, 0.0], [0.5, 1.0]]),
    ("amax", [[1.0, 3.0, 3.0]], {"axes": (0,), "keepdim": False}, [[0.0, 0.5, 0.5]]),
    ("amax", [[[2.0, 2.0], [1.0, 2.0]]], {"axes": (0, 1), "keepdim": True}, [[[1 / 3, 1 / 3], [0.0, 1 / 3]]]),
    ("pow", [[0.0, 0.0], [0.0, 2.0]], {}, [[0.0, 0.0], [0.0, 0.0]]),  # 0**0: d/dx = 0, d/dy = 0
    ("floor", [[1.0, -2.0]], {}, [[0.0, 0.0]]),
    ("sign", [[0.0, 3.0]], {}, [[0.0, 0.0]]),
]


@pytest.mark.parametrize("name, inputs, params, expected", CONVENTIONS, ids=[c[0] for c in CONVENTIONS])
def test_subgradient_conventions(name, inputs, params, expected):
    xs = [_t(np.array(a, np.float64)).requires_grad_() for a in inputs]
    out = bind(PRIMITIVES[name], *xs, **params)
    gs = tg.autograd.grad(out, xs, out.ones_like(), allow_unused=True)
    for g, e, x in zip(gs, expected, xs):
        np.testing.assert_allclose(_np(g, x), np.array(e), atol=1e-12, err_msg=f"{name} at {inputs}")


@pytest.mark.parametrize("x, y", [(0.0, 0.0), (0.0, 2.0), (0.0, 1.0), (2.0, 0.0)])
def test_pow_second_order_finite_at_zero(x, y):
    """Second derivatives of x**y stay finite where the first-order rule masks a 0 * inf branch."""
    xt, yt = _t(np.array([x])).requires_grad_(), _t(np.array([y])).requires_grad_()
    out = bind(PRIMITIVES["pow"], xt, yt)
    gx, gy = tg.autograd.grad(out, [xt, yt], out.ones_like(), create_graph=True)
    seconds = tg.autograd.grad(gx.sum() + gy.sum(), [xt, yt], allow_unused=True)
    for s in seconds:
        assert s is None or np.all(np.isfinite(s.numpy())), f"pow second order at x={x}, y={y}: {seconds}"
