"""The torch.nn.functional names added for issue 15 against PyTorch 2.13: values, dtypes, first- and second-order
gradients (random ones: shapes and the properties that hold for every draw)."""

# ruff: noqa: B023

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F

from .helpers import check_op

torch = pytest.importorskip("torch")
TF = torch.nn.functional
RNG = np.random.default_rng(2)
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))
SIGN = np.array([1.0, -1.0, 1.0])
IMG = RNG.standard_normal((2, 8, 3, 3))


def both(name, *args, **kwargs):
    return (lambda *xs: getattr(F, name)(*xs, *args, **kwargs), lambda *xs: getattr(TF, name)(*xs, *args, **kwargs))


CASES = {
    # piecewise linear: no second derivative to compare
    "hardshrink": ([X], both("hardshrink", 0.4), False),
    "softshrink": ([X], both("softshrink", 0.4), False),
    "rrelu_eval": ([X], both("rrelu", 0.1, 0.3), False),
    "pairwise_distance": ([X, Y], both("pairwise_distance"), True),
    "pairwise_distance_p1": ([X, Y], both("pairwise_distance", 1.0, keepdim=True), False),
    "pdist": ([X], both("pdist"), False),  # torch: no double backward
    "cosine_embedding_loss": ([X, Y, SIGN], both("cosine_embedding_loss", margin=0.1), True),
    "hinge_embedding_loss": ([X, np.sign(Y)], both("hinge_embedding_loss", reduction="sum"), True),
    "margin_ranking_loss": ([X[0], Y[0], np.sign(Y[1])], both("margin_ranking_loss", margin=0.2), True),
    "soft_margin_loss": ([X], (lambda x: F.soft_margin_loss(x, tg.tensor(np.sign(Y)).to(x.dtype)),  # target: no grad in torch
                               lambda x: TF.soft_margin_loss(x, torch.tensor(np.sign(Y)).to(x.dtype))), True),
    "multilabel_soft_margin_loss": ([X, (Y > 0).astype(float)], both("multilabel_soft_margin_loss"), True),
    "multilabel_soft_margin_loss_w": ([X, (Y > 0).astype(float), np.abs(Y[0])],
                                      (lambda x, y, w: F.multilabel_soft_margin_loss(x, y, w),
                                       lambda x, y, w: TF.multilabel_soft_margin_loss(x, y, w)), True),
    "triplet_margin_loss": ([X, Y, X[::-1].copy()], both("triplet_margin_loss"), True),
    "triplet_margin_loss_swap": ([X, Y, X[::-1].copy()], both("triplet_margin_loss", swap=True, p=1), False),
    "poisson_nll_loss": ([X, np.abs(Y) * 3], both("poisson_nll_loss"), True),
    "poisson_nll_loss_full": ([np.abs(X) + 0.1, np.abs(Y) * 3], both("poisson_nll_loss", False, True), True),
    "gaussian_nll_loss": ([X, Y, np.abs(X[:, :1]) + 0.1], both("gaussian_nll_loss", full=True), True),
    "gaussian_nll_loss_lastdim": ([X, Y, np.abs(X[:, 0]) + 0.1], both("gaussian_nll_loss"), True),
    "pixel_shuffle": ([IMG], both("pixel_shuffle", 2), True),
    "pixel_unshuffle": ([RNG.standard_normal((1, 2, 4, 6))], both("pixel_unshuffle", 2), True),
    "channel_shuffle": ([IMG], both("channel_shuffle", 4), True),
    "local_response_norm": ([IMG], both("local_response_norm", 3), True),
    "local_response_norm_1d": ([RNG.standard_normal((2, 5, 4))], both("local_response_norm", 2, 0.1, 0.5, 2.0), True),
    "instance_norm": ([IMG], both("instance_norm"), True),
    "instance_norm_affine": ([IMG, np.abs(X[0, :1].repeat(8)) + 1, X[1, :1].repeat(8)],
                             (lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                              lambda x, w, b: TF.instance_norm(x, weight=w, bias=b)), True),
    "lp_pool1d": ([np.abs(X)[None] + 0.1], both("lp_pool1d", 2, 2), True),
    "lp_pool2d": ([np.abs(IMG) + 0.1], both("lp_pool2d", 3, (2, 2), 1), True),
    "bilinear": ([X, Y[:, :3], RNG.standard_normal((2, 4, 3)), RNG.standard_normal(2)], both("bilinear"), True),
    "unfold": ([IMG], both("unfold", 2, padding=1, stride=(1, 2)), True),
    "fold": ([RNG.standard_normal((2, 8, 6))], both("fold", (3, 4), 2), True),
    "fold_padded": ([RNG.standard_normal((1, 4, 12))], both("fold", (3, 2), 2, padding=1, stride=1), True),
    "upsample_nearest": ([IMG], both("upsample_nearest", scale_factor=2), False),
    "lp_pool3d": ([np.abs(RNG.standard_normal((1, 2, 4, 4, 4))) + 0.1], both("lp_pool3d", 2, 2), True),
    "triplet_margin_with_distance_loss": ([X, Y, X[::-1].copy()], both("triplet_margin_with_distance_loss",
                                                                        swap=True, margin=0.5), True),
    "multi_margin_loss": ([X], (lambda x: F.multi_margin_loss(x, tg.tensor([0, 3, 1])),
                                lambda x: TF.multi_margin_loss(x, torch.tensor([0, 3, 1]))), False),
    "multi_margin_loss_p2_w": ([X], (  # (the weight has no gradient in torch)
        lambda x: F.multi_margin_loss(x, tg.tensor([0, 3, 1]), p=2, margin=0.7, weight=tg.tensor(np.abs(Y[0]) + 0.5)
                                      .to(x.dtype), reduction="sum"),
        lambda x: TF.multi_margin_loss(x, torch.tensor([0, 3, 1]), p=2, margin=0.7,
                                       weight=torch.tensor(np.abs(Y[0]) + 0.5).to(x.dtype), reduction="sum")), False),  # torch: no double backward
    "upsample_bilinear": ([IMG], both("upsample_bilinear", size=(4, 5)), True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name):
    inputs, (ours, theirs), second = CASES[name]
    check_op(ours, theirs, inputs, rtol=1e-10, atol=1e-12, grad_rtol=1e-8, grad_atol=1e-10)
    if second:
        check_op(ours, theirs, inputs, grad2=True, seed=1, grad_rtol=1e-7, grad_atol=1e-9)
    check_op(ours, theirs, [np.asarray(a, np.float32) if np.asarray(a).dtype.kind == "f" else a for a in inputs],
             dtype="float32")


def test_instance_norm_running_stats_and_inplace_variants():
    x = RNG.standard_normal((2, 3, 5))
    rm, rv = tg.zeros(3, dtype=tg.float64), tg.ones(3, dtype=tg.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    F.instance_norm(tg.tensor(x), rm, rv, momentum=0.3)
    TF.instance_norm(torch.tensor(x), trm, trv, momentum=0.3)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)
    out = F.instance_norm(tg.tensor(x), rm, rv, use_input_stats=False)
    want = TF.instance_norm(torch.tensor(x), trm, trv, use_input_stats=False)
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-12)
    for name, args in (("celu_", ()), ("selu_", ()), ("threshold_", (0.1, -1.0)), ("rrelu_", (0.1, 0.3))):
        a, b = tg.tensor(x), torch.tensor(x)
        getattr(F, name)(a, *args)
        getattr(TF, name)(b, *args)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, err_msg=name)


def test_random_functions():
    tg.manual_seed(0)
    x = tg.tensor(X, requires_grad=True)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    slope = (out / x).numpy()[X < 0]
    assert np.all((slope >= 0.1) & (slope <= 0.3)) and np.all(out.numpy()[X >= 0] == X[X >= 0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[X < 0], slope)
    for name, nd in (("dropout1d", 1), ("dropout2d", 2), ("dropout3d", 3)):
        inp = tg.ones(*(4, 6) + (3,) * nd)
        y = getattr(F, name)(inp, 0.5).numpy()
        per_channel = y.reshape(4, 6, -1)
        assert np.all((per_channel == per_channel[..., :1])) and set(np.unique(y)) <= {0.0, 2.0}
        assert getattr(F, name)(inp, 0.5, training=False) is inp
    g = F.gumbel_softmax(tg.zeros(5, 4, dtype=tg.float64), tau=0.5)
    np.testing.assert_allclose(g.sum(-1).numpy(), 1.0)
    logits = tg.tensor(X, requires_grad=True)
    h = F.gumbel_softmax(logits, hard=True)
    assert set(np.unique(h.numpy())) == {0.0, 1.0} and np.all(h.numpy().sum(-1) == 1)
    (h * tg.tensor(Y)).sum().backward()
    assert np.isfinite(logits.grad.numpy()).all() and np.abs(logits.grad.numpy()).sum() > 0


def test_unpool_and_alpha_dropout():
    for nd, shape in ((1, (2, 3, 8)), (2, (2, 3, 4, 6)), (3, (1, 2, 4, 4, 4))):
        x = RNG.standard_normal(shape)
        pool, unpool = getattr(F, f"max_pool{nd}d"), getattr(F, f"max_unpool{nd}d")
        tpool, tunpool = getattr(TF, f"max_pool{nd}d"), getattr(TF, f"max_unpool{nd}d")
        y, i = pool(tg.tensor(x), 2, return_indices=True)
        ty, ti = tpool(torch.tensor(x), 2, return_indices=True)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        check_op(lambda v: unpool(v, i, 2), lambda v: tunpool(v, ti, 2), [ty.numpy()], grad2=True)
        out_size = tuple(n + 1 for n in shape[2:])
        check_op(lambda v: unpool(v, i, 2, output_size=out_size), lambda v: tunpool(v, ti, 2, output_size=out_size),
                 [ty.numpy()])
    x = tg.ones(20000, dtype=tg.float64)
    tg.manual_seed(1)
    assert F.alpha_dropout(x, 0.3) is x
    y = F.alpha_dropout(tg.randn(20000, dtype=tg.float64), 0.3, training=True)
    assert abs(float(y.mean())) < 0.03 and abs(float(y.std()) - 1) < 0.03  # SELU's fixed point is kept
    z = F.feature_alpha_dropout(tg.ones(4, 6, 5), 0.5, training=True).numpy()
    assert np.all(z == z[..., :1])


def test_errors():
    with pytest.raises(ValueError, match="divisible"):
        F.pixel_shuffle(tg.zeros(1, 3, 2, 2), 2)
    with pytest.raises(ValueError, match="divisible"):
        F.channel_shuffle(tg.zeros(1, 3, 2), 2)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(tg.zeros(2), tg.zeros(2), tg.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="probability"):
        F.dropout2d(tg.zeros(1, 1, 1, 1), 1.5)
