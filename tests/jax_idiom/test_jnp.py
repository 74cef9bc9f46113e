"""tapegrad.numpy against numpy's values and against finite differences (float64)."""

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as jnp
from tapegrad.autograd import gradcheck

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4))
SQ = rng.normal(size=(3, 3)) + 3 * np.eye(3)
SPD = SQ @ SQ.T

# (name, tapegrad call, numpy call, input): values compared and (for float results) gradients checked
CASES = [
    ("sum", lambda m, a: m.sum(a, axis=0, keepdims=True), A), ("mean", lambda m, a: m.mean(a, axis=1), A),
    ("prod", lambda m, a: m.prod(a, axis=0), A), ("max", lambda m, a: m.max(a, axis=1), A),
    ("min", lambda m, a: m.min(a), A), ("var", lambda m, a: m.var(a, axis=0, ddof=1), A),
    ("std", lambda m, a: m.std(a), A), ("cumsum", lambda m, a: m.cumsum(a, axis=1), A),
    ("cumprod", lambda m, a: m.cumprod(a), A), ("median", lambda m, a: m.median(a, axis=1), A),
    ("average", lambda m, a: m.average(a, axis=1, weights=[1.0, 2.0, 3.0, 4.0]), A),
    ("exp", lambda m, a: m.exp(a), A), ("log1p", lambda m, a: m.log1p(m.abs(a)), A),
    ("tanh", lambda m, a: m.tanh(a), A), ("clip", lambda m, a: m.clip(a, -0.5, 0.5), A),
    ("where", lambda m, a: m.where(a > 0, a, 0.0), A), ("maximum", lambda m, a: m.maximum(a, 0.1), A),
    ("power", lambda m, a: m.power(m.abs(a), 1.5), A), ("hypot", lambda m, a: m.hypot(a, 2.0), A),
    ("sinc", lambda m, a: m.sinc(a), A), ("cbrt", lambda m, a: m.cbrt(a + 3), A),
    ("reshape", lambda m, a: m.reshape(a, (4, 3)), A), ("transpose", lambda m, a: m.transpose(a), A),
    ("ravel", lambda m, a: m.ravel(a), A), ("expand_dims", lambda m, a: m.expand_dims(a, (0, 2)), A),
    ("squeeze", lambda m, a: m.squeeze(m.expand_dims(a, 0), 0), A), ("swapaxes", lambda m, a: m.swapaxes(a, 0, 1), A),
    ("moveaxis", lambda m, a: m.moveaxis(a, 0, -1), A), ("concatenate", lambda m, a: m.concatenate([a, a], axis=1), A),
    ("stack", lambda m, a: m.stack([a, a], axis=-1), A), ("hstack", lambda m, a: m.hstack([a, a]), A),
    ("vstack", lambda m, a: m.vstack([a, a]), A), ("split", lambda m, a: m.split(a, 2, axis=1)[1], A),
    ("tile", lambda m, a: m.tile(a, (2, 1)), A), ("repeat", lambda m, a: m.repeat(a, 2, axis=0), A),
    ("flip", lambda m, a: m.flip(a, 1), A), ("roll", lambda m, a: m.roll(a, 1, 1), A),
    ("pad", lambda m, a: m.pad(a, ((1, 0), (0, 2))), A), ("take", lambda m, a: m.take(a, [2, 0], axis=1), A),
    ("take_along_axis", lambda m, a: m.take_along_axis(a, np.argsort(A, 1), 1), A),
    ("sort", lambda m, a: m.sort(a, axis=0), A), ("tril", lambda m, a: m.tril(a), A),
    ("diagonal", lambda m, a: m.diagonal(a), A), ("trace", lambda m, a: m.trace(a), A),
    ("broadcast_to", lambda m, a: m.broadcast_to(a, (2, 3, 4)), A),
    ("dot", lambda m, a: m.dot(a, a.T), A), ("matmul", lambda m, a: m.matmul(a.T, a), A),
    ("tensordot", lambda m, a: m.tensordot(a, a, axes=([0], [0])), A), ("outer", lambda m, a: m.outer(a[0], a[1]), A),
    ("einsum", lambda m, a: m.einsum("ij,kj->ik", a, a), A), ("kron", lambda m, a: m.kron(a[:2, :2], a[1:, 2:]), A),
    ("cross", lambda m, a: m.cross(a[:, :3], a[:, 1:]), A), ("logsumexp", lambda m, a: _lse(m, a), A),
    ("norm", lambda m, a: m.linalg.norm(a), A), ("norm1", lambda m, a: m.linalg.norm(a, 1, axis=1), A),
    ("norm_inf", lambda m, a: m.linalg.norm(a, np.inf), A), ("norm_nuc", lambda m, a: m.linalg.norm(a, "nuc"), A),
    ("inv", lambda m, a: m.linalg.inv(a), SQ), ("solve", lambda m, a: m.linalg.solve(a, a[0]), SQ),
    ("det", lambda m, a: m.linalg.det(a), SQ), ("slogdet", lambda m, a: m.linalg.slogdet(a)[1], SQ),
    ("cholesky", lambda m, a: m.linalg.cholesky((a + a.T) / 2), SPD),
    ("eigvalsh", lambda m, a: m.linalg.eigh(a)[0], SPD), ("svdvals", lambda m, a: m.linalg.svd(a)[1], A),
    ("pinv", lambda m, a: m.linalg.pinv(a), A), ("matrix_power", lambda m, a: m.linalg.matrix_power(a, 3), SQ),
]


def _lse(m, a):
    if m is np:
        return np.log(np.exp(a).sum(1))
    return m.logsumexp(a, axis=1)


@pytest.mark.parametrize("name,fn,x", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients(name, fn, x):
    got = fn(jnp, tg.tensor(x, dtype=tg.float64))
    np.testing.assert_allclose(got.numpy(), fn(np, x), rtol=1e-7, atol=1e-9)
    t = tg.tensor(x, dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda a: fn(jnp, a), (t,))


def test_decomposition_factors_and_gradients():
    q, r = jnp.linalg.qr(A.T)
    np.testing.assert_allclose((q @ r).numpy(), A.T, atol=1e-10)
    u, s, vh = jnp.linalg.svd(A)
    np.testing.assert_allclose(((u * s) @ vh).numpy(), A, atol=1e-10)
    w, v = jnp.linalg.eigh(SPD)
    np.testing.assert_allclose(((v * w) @ v.T).numpy(), SPD, atol=1e-10)
    t = tg.tensor(A, dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda a: jnp.linalg.qr(a.T)[0].sum() + jnp.linalg.qr(a.T)[1].sum(), (t,))
    assert gradcheck(lambda a: jnp.abs(jnp.linalg.svd(a)[0]).sum() + jnp.abs(jnp.linalg.svd(a)[2]).sum(), (t,))
    s = tg.tensor(SPD, dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda a: jnp.abs(jnp.linalg.eigh(a)[1]).sum(), (s,))


def test_creation_constants_dtypes():
    assert jnp.array([1.0, 2.0]).dtype is jnp.float32 and jnp.array([1, 2]).dtype is jnp.int64
    np.testing.assert_allclose(jnp.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_allclose(jnp.linspace(0, 1, 4, endpoint=False).numpy(), np.linspace(0, 1, 4, endpoint=False))
    assert jnp.arange(5).tolist() == list(range(5)) and jnp.eye(2, k=1).tolist() == np.eye(2, k=1).tolist()
    assert jnp.zeros((2, 3), jnp.int32).dtype is jnp.int32 and jnp.full((2,), 3.0).tolist() == [3.0, 3.0]
    assert (jnp.pi, jnp.e, jnp.newaxis) == (np.pi, np.e, None) and np.isinf(jnp.inf) and np.isnan(jnp.nan)
    xx, yy = jnp.meshgrid(jnp.arange(3), jnp.arange(2))
    nx, ny = np.meshgrid(np.arange(3), np.arange(2))
    assert xx.tolist() == nx.tolist() and yy.tolist() == ny.tolist()
    assert jnp.ones(3).astype(jnp.int32).dtype is jnp.int32


def test_at_updates_are_functional_and_differentiable():
    x = jnp.zeros(5)
    assert x.at[1:3].set(2.0).tolist() == [0, 2, 2, 0, 0] and x.tolist() == [0] * 5
    assert x.at[jnp.array([0, 0])].add(1.0).tolist() == [2, 0, 0, 0, 0]  # repeated indices accumulate
    y = jnp.arange(4.0)
    assert y.at[2].mul(10).tolist() == [0, 1, 20, 3] and y.at[:2].max(0.5).tolist() == [0.5, 1, 2, 3]
    assert y.at[3].min(-1).tolist() == [0, 1, 2, -1] and y.at[1].get().item() == 1
    g = tg.grad(lambda v, w: (v.at[1].set(w) ** 2).sum(), argnums=(0, 1))(jnp.ones(3), 3.0)
    assert g[0].tolist() == [2, 0, 2] and g[1].item() == 6


@pytest.mark.parametrize("name, ufunc", [("add", np.add), ("multiply", np.multiply), ("divide", np.divide),
                                         ("min", np.minimum), ("max", np.maximum)])
def test_at_updates_apply_every_repeated_index(name, ufunc):
    """As in JAX (and numpy's ufunc.at): an index that repeats applies each of its updates."""
    base, where = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([0, 0, 2, 4, 4])
    values = np.array([2.0, 3.0, 0.5, -1.0, 7.0])
    want = base.copy()
    ufunc.at(want, where, values)
    got = getattr(jnp.array(base).at[jnp.array(where)], name)(jnp.array(values))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    grads = tg.grad(lambda x: getattr(x.at[jnp.array(where)], name)(jnp.array(values)).sum())(
        jnp.array(base, dtype=jnp.float64))
    assert grads.shape == (5,) and np.isfinite(grads.numpy()).all()


def test_unknown_name_lists_close_names():
    with pytest.raises(AttributeError, match="linspace"):
        jnp.lnspace  # noqa: B018
    with pytest.raises(AttributeError, match="cholesky"):
        jnp.linalg.cholesk  # noqa: B018
