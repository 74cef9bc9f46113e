"""Reductions, scans, sorting and top-k vs PyTorch: dims as int / tuple / negative, keepdim, dtypes."""

# ruff: noqa: B023  (lambdas made in a loop are called at once, by check_op, in the same iteration)

import math

import numpy as np
import pytest

import tapegrad as tg

from .helpers import check_error, check_op

torch = pytest.importorskip("torch")

DIMS = [None, 0, -1, 1, (0, 2), (-1, -3), ()]


def _call(name, dim, keepdim, **kw):
    def fn(x):
        f = getattr(x, name)
        if dim is None:
            return f(**kw) if not keepdim else f(dim=None, keepdim=True, **kw)
        return f(dim=dim, keepdim=keepdim, **kw)

    return fn


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "var", "std", "norm", "nansum"])
def test_multi_dim_reductions(name, dim, keepdim):
    if dim is None and keepdim and name in ("norm",):
        pytest.skip("torch.norm needs dim with keepdim")
    if (dim == () or dim is None) and name in ("logsumexp", "norm"):
        pytest.skip("torch: logsumexp needs dim; norm(dim=()) is a different thing")
    if name in ("amax", "amin") and dim is None:
        fn = (lambda x: getattr(x, name)()) if not keepdim else None
        if fn is None:
            return
        check_op(fn, fn, [(2, 3, 4)])
        return
    fn = _call(name, dim, keepdim)
    # torch's var/std backward treats dim=() as no reduction (an inf gradient) while its forward reduces all
    check_op(fn, fn, [(2, 3, 4)], grad=not (dim == () and name in ("var", "std")))


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "amax", "amin", "logsumexp", "norm", "prod"])
def test_reductions_float32_and_0d(name):
    f = (lambda x: getattr(x, name)()) if name != "logsumexp" else (lambda x: x.logsumexp((0, 1)))
    check_op(f, f, [(3, 4)], dtype="float32")
    if name not in ("var", "std", "logsumexp"):  # var of one element is nan (0/0)
        check_op(f, f, [()])
    g = lambda x: getattr(x, name)(dim=0)
    check_op(g, g, [()])


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std_correction(correction):
    for name in ("var", "std"):
        f = lambda x: getattr(x, name)(1, correction=correction)
        check_op(f, f, [(3, 5)])
        f = lambda x: getattr(x, name)(correction=correction, keepdim=True)
        check_op(f, f, [(3, 5)])
        f = lambda x: getattr(torch if isinstance(x, torch.Tensor) else tg, name)(x, (0, 1), unbiased=False)
        check_op(f, f, [(3, 5)])


@pytest.mark.parametrize("p", [1, 2, 3, 0.5, math.inf, -math.inf, 0, "fro"])
def test_norm_p(p):
    f = lambda x: x.norm(p)
    check_op(f, f, [(3, 4)])
    f = lambda x: x.norm(p, dim=1, keepdim=True)
    check_op(f, f, [(3, 4)])
    if p == 2:  # gradient at 0 is 0 (a subgradient), not nan
        check_op(lambda x: x.norm(), lambda x: x.norm(), [np.zeros(3)])


def test_norm_vector_norm():
    check_op(lambda x: tg.linalg.vector_norm(x, 3, dim=0), lambda x: torch.linalg.vector_norm(x, 3, dim=0), [(3, 4)])
    check_op(lambda x: tg.linalg.vector_norm(x), lambda x: torch.linalg.vector_norm(x), [(3, 4)])


def test_int_and_bool_sums_and_prod():
    a = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    for f in (
        lambda x: x.sum(),
        lambda x: x.sum(0),
        lambda x: x.prod(),
        lambda x: x.prod(1, keepdim=True),
        lambda x: x.sum(dtype=torch.float64 if isinstance(x, torch.Tensor) else tg.float64),
        lambda x: x.cumsum(1),
        lambda x: x.cumprod(0),
        lambda x: x.amax(1),
        lambda x: x.amin(0),
        lambda x: x.max(),
        lambda x: x.min(),
        lambda x: x.max(1),
        lambda x: x.argmax(),
        lambda x: x.argmin(1),
    ):
        check_op(f, f, [a])
        check_op(f, f, [a.astype(np.uint8)])
    b = a > 2
    for f in (
        lambda x: x.sum(),
        lambda x: x.sum(1),
        lambda x: x.all(),
        lambda x: x.any(0),
        lambda x: x.cumsum(0),
        lambda x: x.prod(),
    ):
        check_op(f, f, [b])


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod(dim, keepdim):
    f = lambda x: x.prod(dim, keepdim=keepdim)
    check_op(f, f, [(3, 4)])
    # with zeros: one zero and two zeros in a row
    x = np.array([[1.0, 0.0, 2.0, 3.0], [0.0, 0.0, 1.5, 2.0], [1.0, 2.0, 3.0, -1.0]])
    check_op(f, f, [x])
    check_op(lambda x: x.prod(), lambda x: x.prod(), [x[2:]])
    check_op(lambda x: x.prod(), lambda x: x.prod(), [x[:1]])


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_values_indices(name, dim, keepdim):
    f = lambda x: getattr(x, name)(dim, keepdim=keepdim)
    tg_out, th_out = check_op(f, f, [(3, 4)])
    assert tg_out.values.shape == th_out.values.shape
    assert tg_out.indices.dtype is tg.int64
    _, indices = tg_out  # unpacks like a tuple
    assert indices is tg_out.indices
    f = lambda x: getattr(x, name)(dim=dim, keepdim=keepdim)
    check_op(f, f, [(3, 4)])


def test_max_min_all_and_binary():
    check_op(lambda x: x.max(), lambda x: x.max(), [(3, 4)])
    check_op(lambda x: x.min(), lambda x: x.min(), [(3, 4)])
    check_op(lambda x, y: x.max(y), lambda x, y: x.max(y), [(3, 4), (4,)])
    check_op(lambda x, y: tg.max(x, y), lambda x, y: torch.max(x, y), [(3, 4), (4,)])
    check_op(lambda x, y: tg.min(x, y), lambda x, y: torch.min(x, y), [(3, 4), (3, 1)])


def test_max_ties_gradient():
    """Full reductions spread the gradient evenly over ties (amax / max()); max(dim) sends it to the index."""
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    check_op(lambda a: a.amax(), lambda a: a.amax(), [x])
    check_op(lambda a: a.max(), lambda a: a.max(), [x])
    check_op(lambda a: a.amax(1), lambda a: a.amax(1), [x])
    check_op(lambda a: a.amin(1), lambda a: a.amin(1), [x])
    check_op(lambda a: a.max(1), lambda a: a.max(1), [x])
    check_op(lambda a: a.min(0), lambda a: a.min(0), [x])
    check_op(lambda a: a.argmax(1), lambda a: a.argmax(1), [x])
    check_op(lambda a: a.argmin(), lambda a: a.argmin(), [x])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name):
    for args in [(), (0,), (1,), (-1,)]:
        f = lambda x: getattr(x, name)(*args)
        check_op(f, f, [(3, 4)])
        check_op(
            lambda x: getattr(x, name)(*args, keepdim=True), lambda x: getattr(x, name)(*args, keepdim=True), [(3, 4)]
        )
    check_op(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), [()])
    check_op(lambda x: getattr(x, name)(0), lambda x: getattr(x, name)(0), [()])


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_all_any(dim, keepdim):
    x = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    for name in ("all", "any"):
        if dim is None and keepdim:
            continue
        f = (lambda a: getattr(a, name)()) if dim is None else (lambda a: getattr(a, name)(dim, keepdim=keepdim))
        check_op(f, f, [x])
        check_op(f, f, [x > 2])
        check_op(f, f, [x.astype(np.int64)])


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "logcumsumexp"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scans(name, dim):
    f = lambda x: getattr(x, name)(dim)
    check_op(f, f, [(3, 4)])
    check_op(f, f, [(3, 4)], dtype="float32")
    if name != "logcumsumexp":
        check_op(lambda x: getattr(x, name)(0), lambda x: getattr(x, name)(0), [()])


def test_cumprod_with_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.0, 4.0])
    check_op(lambda a: a.cumprod(0), lambda a: a.cumprod(0), [x])
    check_op(lambda a: a.cumprod(0), lambda a: a.cumprod(0), [np.array([0.0, 2.0, 3.0])])


def test_cumsum_dtype():
    f = lambda x: x.cumsum(0, dtype=torch.float32 if isinstance(x, torch.Tensor) else tg.float32)
    check_op(f, f, [np.array([1, 2, 3])])
    check_op(lambda x: x.cumsum(0), lambda x: x.cumsum(0), [np.array([1, 2, 3], np.int8)])


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_argsort(descending, dim):
    f = lambda x: x.sort(dim, descending=descending)
    check_op(f, f, [(3, 4)])
    f = lambda x: x.argsort(dim, descending=descending)
    check_op(f, f, [(3, 4)])
    f = lambda x: (
        tg.sort(x, dim=dim, descending=descending, stable=True)
        if isinstance(x, tg.Tensor)
        else torch.sort(x, dim=dim, descending=descending, stable=True)
    )
    ties = np.array([[3.0, 1.0, 3.0, 1.0], [2.0, 2.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    check_op(f, f, [ties])
    check_op(lambda x: x.sort(), lambda x: x.sort(), [np.array([3, 1, 2])])


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, -1])
def test_topk(largest, dim):
    for k in (1, 2, 3):
        f = lambda x: x.topk(k, dim, largest=largest)
        check_op(f, f, [(3, 5)])
    check_op(lambda x: x.topk(0, dim), lambda x: x.topk(0, dim), [(3, 5)])
    check_op(lambda x: x.topk(2), lambda x: x.topk(2), [np.array([1, 5, 2, 7])])


def test_kthvalue_median():
    check_op(lambda x: x.kthvalue(2, 1), lambda x: x.kthvalue(2, 1), [(3, 5)])
    check_op(lambda x: x.median(), lambda x: x.median(), [(3, 5)])
    check_op(lambda x: x.median(0), lambda x: x.median(0), [(4, 5)])
    check_op(lambda x: x.median(1, keepdim=True), lambda x: x.median(1, keepdim=True), [(4, 5)])


def test_mean_dtype_and_nanmean():
    f = lambda x: x.mean(dtype=torch.float64 if isinstance(x, torch.Tensor) else tg.float64)
    check_op(f, f, [np.array([1, 2, 4])])
    x = np.array([1.0, np.nan, 3.0])
    check_op(lambda a: a.nanmean(), lambda a: a.nanmean(), [x])
    check_op(lambda a: a.nansum(), lambda a: a.nansum(), [x])


def test_empty_reductions():
    e = np.zeros((0, 3))
    check_op(lambda x: x.sum(), lambda x: x.sum(), [e])
    check_op(lambda x: x.sum(0), lambda x: x.sum(0), [e])
    check_op(lambda x: x.prod(0), lambda x: x.prod(0), [e])
    check_op(lambda x: x.mean(0), lambda x: x.mean(0), [e], grad=False)
    check_op(lambda x: x.amax(1), lambda x: x.amax(1), [e])
    check_op(lambda x: x.logsumexp(0), lambda x: x.logsumexp(0), [e])
    check_op(lambda x: x.all(), lambda x: x.all(), [e])
    check_op(lambda x: x.any(), lambda x: x.any(), [e])
    check_op(lambda x: x.cumsum(0), lambda x: x.cumsum(0), [e])
    for name in ("amax", "argmax", "max"):
        with pytest.raises((ValueError, IndexError)) as info:
            getattr(tg.tensor(e), name)(0)
        assert "empty" in str(info.value) or "(0, 3)" in str(info.value)


def test_logsumexp_stability():
    x = np.array([[1000.0, 1000.0], [-1000.0, -np.inf], [-np.inf, -np.inf]])
    check_op(lambda a: a.logsumexp(1), lambda a: a.logsumexp(1), [x], grad=False)
    check_op(lambda a: a.logsumexp(1), lambda a: a.logsumexp(1), [x[:2]])
    check_op(lambda a: a.logsumexp(0), lambda a: a.logsumexp(0), [np.array([1, 2, 3])])


def test_count_nonzero_aminmax():
    x = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 5.0]])
    check_op(tg.count_nonzero, torch.count_nonzero, [x])
    check_op(lambda a: tg.count_nonzero(a, 1), lambda a: torch.count_nonzero(a, 1), [x])
    check_op(lambda a: tg.aminmax(a), lambda a: torch.aminmax(a), [x], grad=False)
    check_op(lambda a: tg.aminmax(a, dim=1), lambda a: torch.aminmax(a, dim=1), [x], grad=False)


def test_functional_forms():
    for name in ("sum", "mean", "prod", "amax", "amin", "logsumexp", "std", "var"):
        check_op(lambda x: getattr(tg, name)(x, 1), lambda x: getattr(torch, name)(x, 1), [(3, 4)])
    check_op(lambda x: tg.max(x, 1), lambda x: torch.max(x, 1), [(3, 4)])
    check_op(lambda x: tg.cumsum(x, dim=0), lambda x: torch.cumsum(x, dim=0), [(3, 4)])
    check_op(lambda x: tg.sort(x, 0), lambda x: torch.sort(x, 0), [(3, 4)])
    check_op(lambda x: tg.topk(x, 2), lambda x: torch.topk(x, 2), [(3, 4)])


def test_errors():
    x = tg.ones(2, 3)
    check_error(IndexError, lambda: x.sum(2), "sum", "2", "2 dimensions")
    check_error(IndexError, lambda: x.mean(-3), "mean", "-3")
    check_error(IndexError, lambda: x.amax((0, 5)), "amax", "5")
    check_error(IndexError, lambda: x.max(4), "max", "4")
    check_error(IndexError, lambda: x.cumsum(3), "cumsum", "3")
    check_error(IndexError, lambda: x.sort(2), "sort", "2")
    check_error(TypeError, lambda: tg.tensor([1, 2]).mean(), "mean", "int64")
    check_error(TypeError, lambda: tg.tensor([1, 2]).var(), "var", "int64")
    check_error(ValueError, lambda: x.topk(4), "topk", "4")
    check_error(ValueError, lambda: x.sum((0, 0)), "sum", "repeat")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_reductions(dtype):
    for f in (
        lambda x: x.sum(),
        lambda x: x.mean(1),
        lambda x: x.var(0),
        lambda x: x.cumsum(1),
        lambda x: x.sort(1),
        lambda x: x.norm(),
        lambda x: x.prod(1),
        lambda x: x.max(1),
        lambda x: x.logsumexp(1),
    ):
        check_op(f, f, [(3, 4)], dtype=dtype, low=0.2, high=2)
