"""tg.linalg (torch.linalg) against PyTorch 2.13: values, dtypes, first- and second-order gradients in float64,
and float64 finite differences (gradcheck / gradgradcheck). Factors defined up to signs (Q, U, V, eigenvectors)
are compared through sign-invariant functions of them."""

# ruff: noqa: B023

import numpy as np
import pytest

import tapegrad as tg

from .helpers import check_op

torch = pytest.importorskip("torch")

L, TL = tg.linalg, None if torch is None else torch.linalg
RNG = np.random.default_rng(11)
A = RNG.standard_normal((4, 4)) + 3 * np.eye(4)
BATCH = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)
SPD = A @ A.T + np.eye(4)
TALL = RNG.standard_normal((5, 3))
WIDE = RNG.standard_normal((3, 5))
RHS = RNG.standard_normal((4, 2))


def _sym(x):
    return (x + x.mT) / 2


# name: (inputs, tapegrad fn, torch fn); gradients of every float input are compared, first and second order
CASES = {
    "inv": ([A], lambda a: L.inv(a), lambda a: TL.inv(a)),
    "inv_batch": ([BATCH], lambda a: L.inv(a), lambda a: TL.inv(a)),
    "det": ([A], lambda a: L.det(a), lambda a: TL.det(a)),
    "slogdet": ([BATCH], lambda a: L.slogdet(a).logabsdet, lambda a: TL.slogdet(a).logabsdet),
    "solve": ([A, RHS], lambda a, b: L.solve(a, b), lambda a, b: TL.solve(a, b)),
    "solve_vector": ([A, RHS[:, 0]], lambda a, b: L.solve(a, b), lambda a, b: TL.solve(a, b)),
    "solve_right": ([A, RHS.T], lambda a, b: L.solve(a, b, left=False), lambda a, b: TL.solve(a, b, left=False)),
    "solve_broadcast": ([BATCH, RHS[:3]], lambda a, b: L.solve(a, b), lambda a, b: TL.solve(a, b)),
    "cholesky": ([SPD], lambda a: L.cholesky(_sym(a)), lambda a: TL.cholesky(_sym(a))),
    "cholesky_upper": ([SPD], lambda a: L.cholesky(_sym(a), upper=True), lambda a: TL.cholesky(_sym(a), upper=True)),
    "eigvalsh": ([SPD], lambda a: L.eigvalsh(_sym(a)), lambda a: TL.eigvalsh(_sym(a))),
    "eigh_vectors": ([SPD], lambda a: L.eigh(_sym(a)).eigenvectors.abs(), lambda a: TL.eigh(_sym(a)).eigenvectors.abs()),
    "qr_tall": ([TALL], lambda a: L.qr(a).R.abs(), lambda a: TL.qr(a).R.abs()),
    "qr_wide": ([WIDE], lambda a: L.qr(a).R.abs(), lambda a: TL.qr(a).R.abs()),
    "qr_q": ([TALL], lambda a: L.qr(a).Q.abs(), lambda a: TL.qr(a).Q.abs()),
    "svdvals": ([TALL], lambda a: L.svdvals(a), lambda a: TL.svdvals(a)),
    "svd_u_reduced": ([WIDE], lambda a: L.svd(a, full_matrices=False).U.abs(),
                      lambda a: TL.svd(a, full_matrices=False).U.abs()),
    "pinv": ([TALL], lambda a: L.pinv(a), lambda a: TL.pinv(a)),
    "lstsq": ([TALL, RNG.standard_normal((5, 2))], lambda a, b: L.lstsq(a, b).solution,
              lambda a, b: TL.lstsq(a, b).solution),
    "matrix_norm_fro": ([A], lambda a: L.matrix_norm(a), lambda a: TL.matrix_norm(a)),
    "matrix_norm_nuc": ([A], lambda a: L.matrix_norm(a, "nuc"), lambda a: TL.matrix_norm(a, "nuc")),
    "matrix_norm_2": ([A], lambda a: L.matrix_norm(a, 2), lambda a: TL.matrix_norm(a, 2)),
    "matrix_norm_inf": ([A], lambda a: L.matrix_norm(a, float("inf")), lambda a: TL.matrix_norm(a, float("inf"))),
    "norm": ([BATCH], lambda a: L.norm(a), lambda a: TL.norm(a)),
    "norm_dim": ([BATCH], lambda a: L.norm(a, 3, dim=-1), lambda a: TL.norm(a, 3, dim=-1)),
    "vector_norm": ([A], lambda a: L.vector_norm(a, 1.5, dim=(0, 1)), lambda a: TL.vector_norm(a, 1.5, dim=(0, 1))),
    "cond": ([A], lambda a: L.cond(a), lambda a: TL.cond(a)),
    "cond_fro": ([A], lambda a: L.cond(a, "fro"), lambda a: TL.cond(a, "fro")),
    "lu_factor": ([A], lambda a: L.lu_factor(a).LU, lambda a: TL.lu_factor(a).LU),
    "lu": ([BATCH], lambda a: tuple(L.lu(a))[1:], lambda a: tuple(TL.lu(a))[1:]),
    "lu_solve": ([A, RHS], lambda a, b: L.lu_solve(*L.lu_factor(a), b),
                 lambda a, b: TL.lu_solve(*TL.lu_factor(a), b)),
    "lu_solve_adjoint": ([A, RHS], lambda a, b: L.lu_solve(*L.lu_factor(a), b, adjoint=True),
                         lambda a, b: TL.lu_solve(*TL.lu_factor(a), b, adjoint=True)),
    "lu_solve_right": ([A, RHS.T], lambda a, b: L.lu_solve(*L.lu_factor(a), b, left=False),
                       lambda a, b: TL.lu_solve(*TL.lu_factor(a), b, left=False)),
    "solve_triangular_lower": ([A, RHS], lambda a, b: L.solve_triangular(a, b, upper=False),
                               lambda a, b: TL.solve_triangular(a, b, upper=False)),
    "solve_triangular_upper_unit_right": (
        [A, RHS.T], lambda a, b: L.solve_triangular(a, b, upper=True, left=False, unitriangular=True),
        lambda a, b: TL.solve_triangular(a, b, upper=True, left=False, unitriangular=True)),
    "matrix_power_3": ([A * 0.3], lambda a: L.matrix_power(a, 3), lambda a: TL.matrix_power(a, 3)),
    "matrix_power_neg": ([A], lambda a: L.matrix_power(a, -2), lambda a: TL.matrix_power(a, -2)),
    "matrix_exp": ([A * 0.5], lambda a: L.matrix_exp(a), lambda a: TL.matrix_exp(a)),
    "matrix_exp_batch": ([BATCH * 0.1], lambda a: L.matrix_exp(a), lambda a: TL.matrix_exp(a)),
    "multi_dot": ([TALL, WIDE, TALL], lambda a, b, c: L.multi_dot([a, b, c]), lambda a, b, c: TL.multi_dot([a, b, c])),
    "householder_product": ([TALL, RNG.standard_normal(2)], lambda a, t: L.householder_product(a, t),
                            lambda a, t: TL.householder_product(a, t)),
    "cross": ([RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))], lambda a, b: L.cross(a, b),
              lambda a, b: TL.cross(a, b)),
    "vecdot": ([TALL, TALL], lambda a, b: L.vecdot(a, b), lambda a, b: TL.vecdot(a, b)),
    "diagonal": ([BATCH], lambda a: L.diagonal(a, offset=1), lambda a: TL.diagonal(a, offset=1)),
    "vander": ([RNG.standard_normal(3)], lambda x: L.vander(x, N=4), lambda x: TL.vander(x, N=4)),
    "tensorinv": ([RNG.standard_normal((6, 2, 3)) + np.eye(6).reshape(6, 2, 3) * 3],
                  lambda a: L.tensorinv(a, ind=1), lambda a: TL.tensorinv(a, ind=1)),
    "tensorsolve": ([RNG.standard_normal((2, 3, 6)) + np.eye(6).reshape(2, 3, 6) * 3, RNG.standard_normal((2, 3))],
                    lambda a, b: L.tensorsolve(a, b), lambda a, b: TL.tensorsolve(a, b)),
}


# torch's own backward of cond(a, 'fro') fails ("modified by an inplace operation" inside inv_ex's backward):
# values only; our gradients are checked against finite differences in test_finite_differences
NO_TORCH_GRAD = {"cond_fro"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name):
    inputs, ours, theirs = CASES[name]
    grad = name not in NO_TORCH_GRAD
    check_op(ours, theirs, inputs, rtol=1e-9, atol=1e-10, grad_rtol=1e-7, grad_atol=1e-8, grad=grad)
    if grad:
        check_op(ours, theirs, inputs, grad2=True, seed=1, grad_rtol=1e-6, grad_atol=1e-7)


FD = ["inv", "solve", "cholesky", "lu_factor", "lu_solve", "solve_triangular_lower", "matrix_exp", "pinv", "cond", "cond_fro",
      "householder_product", "matrix_norm_nuc"]


@pytest.mark.parametrize("name", FD)
def test_finite_differences(name):
    inputs, ours, _ = CASES[name]
    xs = [tg.tensor(np.asarray(x, np.float64), requires_grad=True) for x in inputs]
    assert tg.autograd.gradcheck(ours, xs)
    assert tg.autograd.gradgradcheck(ours, xs)


def test_float32_and_integer_inputs():
    a32 = A.astype(np.float32)
    check_op(lambda a: L.inv(a), lambda a: TL.inv(a), [a32], dtype="float32")
    check_op(lambda a, b: L.solve(a, b), lambda a, b: TL.solve(a, b), [a32, RHS.astype(np.float32)], dtype="float32")
    check_op(lambda a: L.matrix_exp(a), lambda a: TL.matrix_exp(a), [a32 * 0.3], dtype="float32")
    assert L.det(tg.tensor([[1, 2], [3, 4]])).dtype is tg.float32


def test_one_triangle_is_read_as_torch_does():
    a = SPD + np.triu(RNG.standard_normal((4, 4)), 1)  # garbage above the diagonal
    for uplo in ("L", "U"):
        b = a if uplo == "L" else a.T
        np.testing.assert_allclose(L.eigvalsh(tg.tensor(b), UPLO=uplo).numpy(),
                                   TL.eigvalsh(torch.tensor(b), UPLO=uplo).numpy(), rtol=1e-12)
    np.testing.assert_allclose(L.cholesky(tg.tensor(a)).numpy(), TL.cholesky(torch.tensor(a)).numpy(), rtol=1e-12)


def test_full_svd_qr_modes_and_lstsq_drivers():
    for m in (TALL, WIDE):
        u, s, vh = L.svd(tg.tensor(m))
        want = TL.svd(torch.tensor(m))
        assert u.shape == tuple(want.U.shape) and vh.shape == tuple(want.Vh.shape)
        for q in (u.numpy(), vh.numpy()):
            np.testing.assert_allclose(q @ q.T, np.eye(q.shape[0]), atol=1e-12)
        k = min(m.shape)
        np.testing.assert_allclose((u.numpy()[:, :k] * s.numpy()) @ vh.numpy()[:k], m, atol=1e-12)
    r = L.qr(tg.tensor(WIDE), mode="r")
    assert r.Q.numel() == 0 and r.R.shape == (3, 5)
    with pytest.raises(ValueError, match="complete"):
        L.qr(tg.tensor(TALL), mode="complete")
    b = RNG.standard_normal((5, 2))
    for driver in (None, "gels", "gelsy", "gelsd", "gelss"):
        ours, theirs = L.lstsq(tg.tensor(TALL), tg.tensor(b), driver=driver), TL.lstsq(torch.tensor(TALL),
                                                                                         torch.tensor(b), driver=driver)
        for x, y in zip(ours, theirs):
            assert x.shape == tuple(y.shape) and str(x.dtype).split(".")[-1] == str(y.dtype).split(".")[-1]
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-10, atol=1e-12)


def test_rank_and_pinv_of_rank_deficient_matrices():
    r = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    assert L.matrix_rank(tg.tensor(r)).item() == TL.matrix_rank(torch.tensor(r)).item() == 2
    assert L.matrix_rank(tg.tensor(r)).dtype is tg.int64
    assert L.matrix_rank(tg.tensor(r), atol=1.0, rtol=0.0).item() == TL.matrix_rank(torch.tensor(r), atol=1.0,
                                                                                      rtol=0.0).item()
    np.testing.assert_allclose(L.pinv(tg.tensor(r)).numpy(), TL.pinv(torch.tensor(r)).numpy(), atol=1e-12)


@pytest.mark.parametrize("name", ["inv_ex", "cholesky_ex", "lu_factor_ex"])
def test_ex_forms_report_info_like_torch(name):
    for m in (np.zeros((2, 2)), np.array([[1.0, 2.0], [2.0, 4.0]]), SPD, -np.eye(2), np.array([[1.0, 0.0], [0.0, -1.0]]),
              np.stack([SPD[:2, :2], -np.eye(2)])):
        ours, theirs = getattr(L, name)(tg.tensor(m)), getattr(TL, name)(torch.tensor(m))
        assert ours.info.dtype is tg.int32
        np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
        ok = theirs.info.numpy() == 0
        first = np.asarray(ours[0].numpy())[ok] if np.ndim(ok) else (ours[0].numpy() if ok else None)
        if first is not None and np.size(first):
            np.testing.assert_allclose(first, np.asarray(theirs[0].numpy())[ok] if np.ndim(ok) else theirs[0].numpy(),
                                       rtol=1e-10)
    with pytest.raises(ValueError, match="info"):
        getattr(L, name)(tg.tensor(-np.eye(2) * 0 if name != "cholesky_ex" else -np.eye(2)), check_errors=True)
    res = L.solve_ex(tg.tensor(A), tg.tensor(RHS))
    np.testing.assert_allclose(res.result.numpy(), TL.solve_ex(torch.tensor(A), torch.tensor(RHS)).result.numpy())
    assert res.info.item() == 0


def test_integer_lu_pivots_and_permutation():
    m = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0], [0.0, 5.0, 2.0]])
    ours, theirs = L.lu_factor(tg.tensor(m)), TL.lu_factor(torch.tensor(m))
    assert ours.pivots.dtype is tg.int32
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    np.testing.assert_array_equal(L.lu(tg.tensor(m)).P.numpy(), TL.lu(torch.tensor(m)).P.numpy())


def test_errors_say_what_to_do():
    with pytest.raises(ValueError, match="square"):
        L.inv(tg.tensor(TALL))
    with pytest.raises(ValueError, match="size 3"):
        L.cross(tg.tensor(A), tg.tensor(A))
    with pytest.raises(ValueError, match="ord"):
        L.matrix_norm(tg.tensor(A), 3)
    with pytest.raises(ValueError, match="at least 2"):
        L.multi_dot([tg.tensor(A)])


def test_linalg_under_jit_and_vmap():
    f = tg.jit(lambda a, b: L.solve(a, b).sum() + L.lu_factor(a).LU.sum())
    want = TL.solve(torch.tensor(A), torch.tensor(RHS)).sum() + TL.lu_factor(torch.tensor(A)).LU.sum()
    np.testing.assert_allclose(f(tg.tensor(A), tg.tensor(RHS)).item(), want.item(), rtol=1e-12)
    batched = tg.vmap(lambda a: L.solve_triangular(a, tg.tensor(RHS[:3]), upper=True))(tg.tensor(BATCH))
    want = TL.solve_triangular(torch.tensor(BATCH), torch.tensor(RHS[:3]), upper=True)
    np.testing.assert_allclose(batched.numpy(), want.numpy(), rtol=1e-12)


def test_vector_dot_product_matches_torch_with_grads():
    # matmul of two 1-D tensors is one (1, k) @ (k, 1) product reshaped to (): values, dtype, first and second order
    import torch

    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(6), rng.standard_normal(6)
    x, y = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = tg.matmul(x, y), torch.matmul(tx, ty)
    assert out.shape == () and out.dtype is tg.float64
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-12)
    gx, gy = tg.autograd.grad(out * out, [x, y], create_graph=True)
    tgx, tgy = torch.autograd.grad(tout * tout, [tx, ty], create_graph=True)
    np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), rtol=1e-12)
    (hx,) = tg.autograd.grad(gx.sum(), [y])
    (thx,) = torch.autograd.grad(tgx.sum(), [ty])
    np.testing.assert_allclose(hx.numpy(), thx.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="vectors of one length"):
        tg.matmul(tg.ones(3), tg.ones(4))
