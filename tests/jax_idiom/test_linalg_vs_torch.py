"""The decomposition primitives (primitives/decompositions.py) against torch.linalg: values and first-order
gradients of sign-invariant functions of their factors, in float64 (finite differences are in test_jnp.py and
the registry-driven rule tests)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tapegrad as tg  # noqa: E402
import tapegrad.numpy as jnp  # noqa: E402

RNG = np.random.default_rng(7)
A = RNG.standard_normal((4, 4)) + 4 * np.eye(4)
SPD = A @ A.T + np.eye(4)
TALL = RNG.standard_normal((5, 3))

CASES = {
    # name: (input, tapegrad function, torch function); each returns a scalar or an array whose value and
    # whose gradient (of the sum of out * weights) are compared
    "inv": (A, lambda a: jnp.linalg.inv(a), lambda a: torch.linalg.inv(a)),
    "det": (A, lambda a: jnp.linalg.det(a), lambda a: torch.linalg.det(a)),
    "slogdet": (A, lambda a: jnp.linalg.slogdet(a)[1], lambda a: torch.linalg.slogdet(a)[1]),
    "solve": (A, lambda a: jnp.linalg.solve(a, jnp.ones((4, 2), dtype=jnp.float64)),
              lambda a: torch.linalg.solve(a, torch.ones(4, 2, dtype=torch.float64))),
    "cholesky": (SPD, lambda a: jnp.linalg.cholesky((a + a.T) / 2), lambda a: torch.linalg.cholesky((a + a.T) / 2)),
    "eigvalsh": (SPD, lambda a: jnp.linalg.eigh((a + a.T) / 2)[0], lambda a: torch.linalg.eigvalsh((a + a.T) / 2)),
    # factors are defined up to signs: compare |Q|, |R|, the singular values and |U S|
    "qr": (TALL, lambda a: jnp.abs(jnp.linalg.qr(a)[1]), lambda a: torch.linalg.qr(a)[1].abs()),
    "svdvals": (TALL, lambda a: jnp.linalg.svd(a, full_matrices=False)[1], lambda a: torch.linalg.svdvals(a)),
    "svd_u": (TALL, lambda a: jnp.abs(jnp.linalg.svd(a, full_matrices=False)[0]),
              lambda a: torch.linalg.svd(a, full_matrices=False)[0].abs()),
    "norm_nuc": (A, lambda a: jnp.linalg.norm(a, "nuc"), lambda a: torch.linalg.matrix_norm(a, "nuc")),
    "norm_2": (A, lambda a: jnp.linalg.norm(a, 2), lambda a: torch.linalg.matrix_norm(a, 2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_gradient_match_torch(name):
    a, ours, theirs = CASES[name]
    x = tg.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    out, want = ours(x), theirs(t)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-10)
    weights = RNG.standard_normal(tuple(want.shape))
    (out * tg.tensor(weights)).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9)
