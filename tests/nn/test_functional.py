"""tg.nn.functional against torch.nn.functional: forward and backward in float64 and float32, gradcheck, errors.

Each case is one lambda `(F, *tensors) -> tensor` run with F = tapegrad.nn.functional and F = torch's.
"""

import math

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides", "ignore:Using a target size")

TOL = {"float64": {"rtol": 1e-9, "atol": 1e-10}, "float32": {"rtol": 2e-4, "atol": 2e-5}}


class const:
    """An input that takes no gradient (torch refuses gradients for class weights, running stats, ...)."""

    def __init__(self, array):
        self.array = array


def _tensors(arrays, dtype):
    tgs, ths = [], []
    for a in arrays:
        if isinstance(a, const):
            a = a.array.astype(dtype) if a.array.dtype.kind == "f" else a.array
            tgs.append(tg.tensor(a)), ths.append(torch.tensor(a))
        elif isinstance(a, np.ndarray) and a.dtype.kind == "f":
            a = a.astype(dtype)
            tgs.append(tg.tensor(a, requires_grad=True))
            ths.append(torch.tensor(a, requires_grad=True))
        elif isinstance(a, np.ndarray):
            tgs.append(tg.tensor(a))
            ths.append(torch.tensor(a))
        else:
            tgs.append(a), ths.append(a)
    return tgs, ths


def check(fn, *arrays, dtype="float64", seed=0, tol=None):
    """fn(F, *inputs) for both frameworks: compare outputs, then gradients for one random cotangent."""
    tol = tol or TOL[dtype]
    tgs, ths = _tensors(arrays, dtype)
    out, ref = fn(F, *tgs), fn(TF, *ths)
    assert tuple(out.shape) == tuple(ref.shape), (out.shape, ref.shape)
    assert out.dtype.name == str(ref.dtype).replace("torch.", ""), (out.dtype, ref.dtype)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **tol)
    if not ref.requires_grad:
        return
    g = np.random.default_rng(seed).standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(tg.tensor(g))
    ref.backward(torch.tensor(g))
    for t, r in zip(tgs, ths):
        if isinstance(r, torch.Tensor) and r.requires_grad:
            assert t.grad is not None
            np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), **tol)


_rng = np.random.default_rng(0)


def rnd(*shape, scale=1.0):
    return _rng.standard_normal(shape) * scale


def uniform(*shape, low=0.05, high=0.95):
    return _rng.uniform(low, high, shape)


def ints(high, *shape):
    return _rng.integers(0, high, shape).astype(np.int64)


def probs(*shape):
    p = _rng.uniform(0.1, 1.0, shape)
    return p / p.sum(1, keepdims=True)


def _with_ignored(t, value=-100):
    t = t.copy()
    t.reshape(-1)[::3] = value
    return t


CASES = {
    # activations
    "relu": (lambda F, x: F.relu(x), rnd(3, 4)),
    "relu6": (lambda F, x: F.relu6(x), rnd(3, 4, scale=5)),
    "leaky_relu": (lambda F, x: F.leaky_relu(x, 0.2), rnd(3, 4)),
    "elu": (lambda F, x: F.elu(x, 0.7), rnd(3, 4, scale=3)),
    "selu": (lambda F, x: F.selu(x), rnd(3, 4, scale=3)),
    "celu": (lambda F, x: F.celu(x, 1.3), rnd(3, 4, scale=3)),
    "gelu": (lambda F, x: F.gelu(x), rnd(3, 4, scale=2)),
    "gelu_tanh": (lambda F, x: F.gelu(x, approximate="tanh"), rnd(3, 4, scale=2)),
    "silu": (lambda F, x: F.silu(x), rnd(3, 4, scale=3)),
    "mish": (lambda F, x: F.mish(x), rnd(3, 4, scale=3)),
    "softplus": (lambda F, x: F.softplus(x), rnd(3, 4, scale=10)),
    "softplus_beta_threshold": (lambda F, x: F.softplus(x, beta=2, threshold=5), rnd(3, 4, scale=5)),
    "hardtanh": (lambda F, x: F.hardtanh(x, -0.5, 1.5), rnd(3, 4, scale=2)),
    "hardswish": (lambda F, x: F.hardswish(x), rnd(3, 4, scale=4)),
    "hardsigmoid": (lambda F, x: F.hardsigmoid(x), rnd(3, 4, scale=4)),
    "sigmoid": (lambda F, x: F.sigmoid(x), rnd(3, 4, scale=3)),
    "tanh": (lambda F, x: F.tanh(x), rnd(3, 4, scale=3)),
    "logsigmoid": (lambda F, x: F.logsigmoid(x), rnd(3, 4, scale=10)),
    "softsign": (lambda F, x: F.softsign(x), rnd(3, 4)),
    "tanhshrink": (lambda F, x: F.tanhshrink(x), rnd(3, 4)),
    "threshold": (lambda F, x: F.threshold(x, 0.1, -2.0), rnd(3, 4)),
    "glu": (lambda F, x: F.glu(x, 1), rnd(3, 4)),
    "prelu": (lambda F, x, w: F.prelu(x, w), rnd(2, 3, 4), rnd(3)),
    "softmax": (lambda F, x: F.softmax(x, 1), rnd(3, 4, scale=3)),
    "softmax_last": (lambda F, x: F.softmax(x, -1), rnd(2, 3, 4, scale=3)),
    "softmin": (lambda F, x: F.softmin(x, 0), rnd(3, 4)),
    "log_softmax_large": (lambda F, x: F.log_softmax(x, dim=0), rnd(3, 4, scale=300)),
    "log_softmax": (lambda F, x: F.log_softmax(x, 1), rnd(2, 5, 3)),
    "normalize": (lambda F, x: F.normalize(x, p=3, dim=0), rnd(3, 4)),
    # normalisation
    "layer_norm": (lambda F, x, w, b: F.layer_norm(x, (3, 4), w, b), rnd(2, 3, 4), rnd(3, 4), rnd(3, 4)),
    "layer_norm_plain": (lambda F, x: F.layer_norm(x, [4], eps=1e-3), rnd(5, 4, scale=3)),
    "rms_norm": (lambda F, x, w: F.rms_norm(x, (4,), w), rnd(3, 4), rnd(4)),
    "group_norm": (lambda F, x, w, b: F.group_norm(x, 3, w, b), rnd(2, 6, 3, 2), rnd(6), rnd(6)),
    "group_norm_plain": (lambda F, x: F.group_norm(x, 2), rnd(3, 4, 5)),
    "batch_norm_train": (
        lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        rnd(4, 3, 2),
        rnd(3),
        rnd(3),
    ),
    "batch_norm_eval": (
        lambda F, x, m, v, w, b: F.batch_norm(x, m, v, w, b, eps=1e-3),
        rnd(4, 3, 2, 2),
        const(rnd(3)),
        const(uniform(3, low=0.5, high=2)),
        rnd(3),
        rnd(3),
    ),
    # embedding, linear, pad
    "embedding": (lambda F, i, w: F.embedding(i, w), ints(5, 2, 3), rnd(5, 4)),
    "embedding_padding": (lambda F, i, w: F.embedding(i, w, padding_idx=-2), ints(5, 2, 6), rnd(5, 4)),
    "embedding_freq": (lambda F, i, w: F.embedding(i, w, scale_grad_by_freq=True), ints(3, 7), rnd(5, 2)),
    "linear": (lambda F, x, w, b: F.linear(x, w, b), rnd(2, 3, 4), rnd(5, 4), rnd(5)),
    "linear_nobias": (lambda F, x, w: F.linear(x, w), rnd(4), rnd(5, 4)),
    "pad_constant": (lambda F, x: F.pad(x, (1, 2, 0, 1), value=0.5), rnd(2, 3, 4)),
    "pad_crop": (lambda F, x: F.pad(x, (-1, 2, 1, -2)), rnd(2, 3, 4)),
    "pad_reflect": (lambda F, x: F.pad(x, (2, 1, 1, 2), mode="reflect"), rnd(1, 2, 3, 4)),
    "pad_replicate": (lambda F, x: F.pad(x, (3, 1), mode="replicate"), rnd(2, 3, 4)),
    "pad_circular": (lambda F, x: F.pad(x, (1, 2, 2, 1), mode="circular"), rnd(1, 2, 3, 4)),
    "pad_reflect_3d": (lambda F, x: F.pad(x, (1, 1, 0, 2, 1, 0), mode="reflect"), rnd(1, 1, 3, 3, 3)),
    # pointwise losses
    "mse": (lambda F, x, y: F.mse_loss(x, y), rnd(3, 4), rnd(3, 4)),
    "mse_sum_weight": (
        lambda F, x, y, w: F.mse_loss(x, y, reduction="sum", weight=w),
        rnd(3, 4),
        rnd(3, 4),
        uniform(3, 4),
    ),
    "mse_mean_weight": (lambda F, x, y, w: F.mse_loss(x, y, weight=w), rnd(3, 4), rnd(3, 4), uniform(3, 4)),
    "mse_broadcast": (lambda F, x, y: F.mse_loss(x, y, reduction="none"), rnd(3, 4), rnd(4)),
    "l1": (lambda F, x, y: F.l1_loss(x, y), rnd(3, 4), rnd(3, 4)),
    "l1_weight": (lambda F, x, y, w: F.l1_loss(x, y, weight=w), rnd(3, 4), rnd(3, 4), uniform(3, 4)),
    "l1_legacy": (lambda F, x, y: F.l1_loss(x, y, size_average=False), rnd(3, 4), rnd(3, 4)),
    "smooth_l1": (lambda F, x, y: F.smooth_l1_loss(x, y, beta=0.5), rnd(3, 4), rnd(3, 4)),
    "smooth_l1_beta0": (lambda F, x, y: F.smooth_l1_loss(x, y, reduction="sum", beta=0.0), rnd(3, 4), rnd(3, 4)),
    "huber": (lambda F, x, y: F.huber_loss(x, y, delta=0.7, reduction="none"), rnd(3, 4), rnd(3, 4)),
    "huber_weight": (lambda F, x, y, w: F.huber_loss(x, y, delta=1.5, weight=w), rnd(3, 4), rnd(3, 4), uniform(3, 4)),
    "bce": (lambda F, x, y: F.binary_cross_entropy(x, y), uniform(3, 4), uniform(3, 4, low=0, high=1)),
    "bce_weight": (
        lambda F, x, y, w: F.binary_cross_entropy(x, y, w, reduction="sum"),
        uniform(3, 4),
        uniform(3, 4),
        const(uniform(4)),
    ),
    "bce_logits": (lambda F, x, y: F.binary_cross_entropy_with_logits(x, y), rnd(3, 4, scale=5), uniform(3, 4)),
    "bce_logits_pos_weight": (
        lambda F, x, y, w, p: F.binary_cross_entropy_with_logits(x, y, w, reduction="none", pos_weight=p),
        rnd(3, 4, scale=5),
        uniform(3, 4),
        const(uniform(3, 4)),
        const(uniform(4, low=0.5, high=3)),
    ),
    "kl_div": (lambda F, x, y: F.kl_div(x, y, reduction="batchmean"), np.log(probs(3, 4)), probs(3, 4)),
    "kl_div_mean": (lambda F, x, y: F.kl_div(x, y), np.log(probs(3, 4)), probs(3, 4)),
    "kl_div_log_target": (
        lambda F, x, y: F.kl_div(x, y, reduction="sum", log_target=True),
        np.log(probs(3, 4)),
        np.log(probs(3, 4)),
    ),
    "kl_div_zero_target": (
        lambda F, x, y: F.kl_div(x, y, reduction="none"),
        rnd(2, 3),
        const(np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])),
    ),
    # classification losses
    "cross_entropy": (lambda F, x, t: F.cross_entropy(x, t), rnd(5, 4, scale=3), ints(4, 5)),
    "cross_entropy_spatial": (
        lambda F, x, t: F.cross_entropy(x, t, reduction="none"),
        rnd(2, 4, 3, 2),
        ints(4, 2, 3, 2),
    ),
    "cross_entropy_weight_ignore": (
        lambda F, x, t, w: F.cross_entropy(x, t, w, ignore_index=-100),
        rnd(2, 4, 5),
        _with_ignored(ints(4, 2, 5)),
        const(uniform(4)),
    ),
    "cross_entropy_smoothing": (
        lambda F, x, t: F.cross_entropy(x, t, ignore_index=2, label_smoothing=0.2),
        rnd(6, 4, 2),
        ints(4, 6, 2),
    ),
    "cross_entropy_smoothing_weight": (
        lambda F, x, t, w: F.cross_entropy(x, t, w, ignore_index=1, label_smoothing=0.3),
        rnd(6, 4),
        ints(4, 6),
        const(uniform(4)),
    ),
    "cross_entropy_smoothing_sum": (
        lambda F, x, t, w: F.cross_entropy(x, t, w, reduction="sum", label_smoothing=0.1),
        rnd(6, 4),
        ints(4, 6),
        const(uniform(4)),
    ),
    "cross_entropy_smoothing_none": (
        lambda F, x, t: F.cross_entropy(x, t, reduction="none", label_smoothing=0.1),
        rnd(2, 3, 4),
        _with_ignored(ints(3, 2, 4)),
    ),
    "cross_entropy_probs": (lambda F, x, t: F.cross_entropy(x, t), rnd(5, 4), probs(5, 4)),
    "cross_entropy_probs_spatial": (
        lambda F, x, t, w: F.cross_entropy(x, t, w, label_smoothing=0.25),
        rnd(2, 4, 3),
        probs(2, 4, 3),
        const(uniform(4)),
    ),
    "cross_entropy_probs_none": (lambda F, x, t: F.cross_entropy(x, t, reduction="none"), rnd(3, 4), probs(3, 4)),
    "cross_entropy_unbatched": (lambda F, x, t: F.cross_entropy(x, t), rnd(4), np.array(2)),
    "nll_loss": (
        lambda F, x, t, w: F.nll_loss(x, t, w, ignore_index=0),
        rnd(3, 4, 5),
        ints(4, 3, 5),
        const(uniform(4)),
    ),
    "nll_loss_none": (lambda F, x, t: F.nll_loss(x, t, reduction="none"), rnd(4, 3), ints(3, 4)),
    # similarity and attention
    "cosine_similarity": (lambda F, x, y: F.cosine_similarity(x, y), rnd(3, 5), rnd(1, 5)),
    "cosine_similarity_tiny": (
        lambda F, x, y: F.cosine_similarity(x, y, dim=0, eps=1e-3),
        rnd(4, 2, scale=1e-4),
        rnd(4, 2),
    ),
    "sdpa": (
        lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v),
        rnd(2, 3, 4, 5),
        rnd(2, 3, 6, 5),
        rnd(2, 3, 6, 2),
    ),
    "sdpa_causal": (
        lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
        rnd(2, 4, 3),
        rnd(2, 4, 3),
        rnd(2, 4, 3),
    ),
    "sdpa_bool_mask": (
        lambda F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        rnd(2, 3, 4),
        rnd(2, 5, 4),
        rnd(2, 5, 3),
        np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool),
    ),
    "sdpa_float_mask": (
        lambda F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        rnd(1, 3, 4),
        rnd(1, 5, 4),
        rnd(1, 5, 3),
        rnd(3, 5),
    ),
    "sdpa_gqa": (
        lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
        rnd(1, 4, 3, 2),
        rnd(1, 2, 3, 2),
        rnd(1, 2, 3, 2),
    ),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_against_torch(name, dtype):
    fn, *arrays = CASES[name]
    # torch computes these two gradients with float32 constants (1/6, 1/alpha), good to ~3e-8 only
    loose = dtype == "float64" and name in ("celu", "hardsigmoid")
    check(fn, *arrays, dtype=dtype, tol={"rtol": 1e-6, "atol": 1e-9} if loose else None)


# *** stateful and random behaviour ***


def test_batch_norm_updates_running_stats_in_place():
    x = rnd(4, 3, 5)
    rm, rv = tg.zeros(3, dtype=tg.float64), tg.ones(3, dtype=tg.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    xt = tg.tensor(x, requires_grad=True)
    for _ in range(2):
        out = F.batch_norm(xt, rm, rv, training=True, momentum=0.3)
        ref = TF.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.3)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)
    assert not rm.requires_grad and rm.grad_fn is None


def test_dropout():
    x = tg.ones(200, 50, requires_grad=True)
    assert F.dropout(x, 0.3, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 1.0).sum().item() == 0.0
    tg.manual_seed(7)
    a = F.dropout(x, 0.25)
    tg.manual_seed(7)
    b = F.dropout(x, 0.25)
    assert np.array_equal(a.numpy(), b.numpy())  # reproducible with manual_seed
    kept = a.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(a.numpy()[kept], 1 / 0.75)
    a.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), a.numpy())  # the gradient is the mask times 1 / (1 - p)


def test_dropout_in_attention_is_seeded():
    q = tg.randn(2, 4, 3)
    tg.manual_seed(1)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    tg.manual_seed(1)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), F.scaled_dot_product_attention(q, q, q).numpy())


def test_embedding_max_norm_renormalises_used_rows_in_place():
    w = rnd(6, 3, scale=3)
    idx = np.array([[0, 2], [2, 5]])
    wt, wr = tg.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = F.embedding(tg.tensor(idx), wt, max_norm=1.5)
    with torch.no_grad():
        ref = TF.embedding(torch.tensor(idx), wr, max_norm=1.5)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
    np.testing.assert_allclose(wt.numpy(), wr.detach().numpy(), rtol=1e-6)


def test_one_hot():
    t = np.array([[0, 3], [2, 1]])
    assert np.array_equal(F.one_hot(tg.tensor(t)).numpy(), TF.one_hot(torch.tensor(t)).numpy())
    out = F.one_hot(tg.tensor(t), 6)
    assert out.dtype is tg.int64 and out.shape == (2, 2, 6)
    assert np.array_equal(out.numpy(), TF.one_hot(torch.tensor(t), 6).numpy())


def test_inplace_activations():
    x = tg.tensor([-1.0, 2.0, -3.0])
    assert F.relu(x, inplace=True) is x and x.tolist() == [0.0, 2.0, 0.0]
    y = tg.tensor([-1.0, 2.0])
    F.leaky_relu_(y, 0.5)
    assert y.tolist() == [-0.5, 2.0]


def test_relu_gradient_at_zero_and_nan():
    x = tg.tensor([0.0, math.nan, 1.0], requires_grad=True)
    out = F.relu(x)
    assert math.isnan(out.tolist()[1])
    out[0].backward()
    assert x.grad.tolist()[0] == 0.0


def test_softmax_implicit_dim_warns():
    with pytest.warns(UserWarning, match="implicit dimension"):
        out = F.softmax(tg.randn(2, 3))
    np.testing.assert_allclose(out.sum(1).numpy(), 1.0, rtol=1e-6)


def test_conv_reexports():
    for name in ("conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool1d", "adaptive_avg_pool2d"):
        assert getattr(F, name) is getattr(tg, name)
    assert tg.nn.functional is F


# *** gradcheck (float64) ***


def _leaf(*shape, scale=1.0):
    return tg.tensor(rnd(*shape, scale=scale), dtype=tg.float64, requires_grad=True)


@pytest.mark.parametrize(
    "fn, inputs",
    [
        (lambda x: F.softmax(x, 1), lambda: [_leaf(2, 3)]),
        (lambda x, w, b: F.layer_norm(x, (3,), w, b), lambda: [_leaf(2, 3), _leaf(3), _leaf(3)]),
        (lambda x: F.group_norm(x, 2), lambda: [_leaf(2, 4, 2)]),
        (lambda x: F.cross_entropy(x, tg.tensor([0, 2]), label_smoothing=0.1), lambda: [_leaf(2, 3)]),
        (lambda x, y: F.binary_cross_entropy_with_logits(x, y), lambda: [_leaf(3), _leaf(3)]),
        (
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            lambda: [_leaf(3, 2), _leaf(3, 2), _leaf(3, 2)],
        ),
        (lambda x: F.pad(x, (1, 2), mode="reflect"), lambda: [_leaf(2, 4)]),
        (lambda x: F.mish(x) + F.gelu(x) + F.softplus(x, 2.0), lambda: [_leaf(4, scale=2)]),
    ],
)
def test_gradcheck(fn, inputs):
    assert tg.autograd.gradcheck(fn, inputs())


def test_gelu_second_order():
    assert tg.autograd.gradgradcheck(lambda x: F.gelu(x, approximate="tanh"), [_leaf(3)])
    assert tg.autograd.gradgradcheck(lambda x: F.gelu(x), [_leaf(3)])


# around 0, near gelu's minimum (x = -0.75, where gelu' crosses 0) and in both tails
GELU_X = np.concatenate([np.linspace(-9, 9, 37), [-0.7518, -0.75, 1e-3, -1e-3]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_primitives_against_torch_to_second_order(approximate, dtype):
    """gelu (one primitive) and its gradient (gelu_backward) against torch's gelu and gelu_backward, then the
    gradient of the gradient (gelu_backward's own vjp, in tapegrad ops) against torch's double backward.

    float32 is compared with torch in float64 on the same inputs: torch's float32 tanh form computes 1 + tanh(z),
    which cancels for x < 0 (its gelu'(-5) is 30% off); tapegrad's x sigmoid(2z) does not. Against torch's
    float32 itself they stay below 1e-6 (absolute) beside an ulp or two."""
    tol = {"float64": {"rtol": 1e-12, "atol": 1e-13}, "float32": {"rtol": 2e-6, "atol": 2e-7}}[dtype]
    x = GELU_X.astype(dtype)
    g = np.random.default_rng(3).standard_normal(x.shape).astype(dtype)
    tx = tg.tensor(x, requires_grad=True)
    ty = F.gelu(tx, approximate=approximate)
    assert ty.grad_fn.name() == "GeluBackward"  # one primitive, not a composite
    (tgx,) = tg.autograd.grad(ty, tx, tg.tensor(g), create_graph=True)
    assert tgx.grad_fn.name() == "GeluBackwardBackward"
    (tgg,) = tg.autograd.grad(tgx.sum(), tx)
    for torch_dtype, tolerance in ((torch.float64, tol), (getattr(torch, dtype), {"rtol": 2e-6, "atol": 1e-6})):
        rx = torch.tensor(x, dtype=torch_dtype, requires_grad=True)
        ry = TF.gelu(rx, approximate=approximate)
        (rgx,) = torch.autograd.grad(ry, rx, torch.tensor(g, dtype=torch_dtype), create_graph=True)
        direct = torch.ops.aten.gelu_backward(torch.tensor(g, dtype=torch_dtype), rx.detach(), approximate=approximate)
        (rgg,) = torch.autograd.grad(rgx.sum(), rx)
        for ours, theirs in ((ty, ry), (tgx, rgx), (tgx, direct), (tgg, rgg)):
            np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tolerance)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_gelu_half_precision_against_torch(dtype):
    x = torch.tensor(GELU_X, dtype=getattr(torch, dtype), requires_grad=True)
    for approximate in ("none", "tanh"):
        t = tg.tensor(x.detach().float().numpy(), dtype=getattr(tg, dtype), requires_grad=True)
        out, ref = F.gelu(t, approximate=approximate), TF.gelu(x, approximate=approximate)
        assert out.dtype is getattr(tg, dtype)
        np.testing.assert_allclose(out.float().detach().numpy(), ref.float().detach().numpy(), rtol=1e-2, atol=1e-3)
        out.sum().backward()
        (rg,) = torch.autograd.grad(ref.sum(), x)
        np.testing.assert_allclose(t.grad.float().numpy(), rg.float().numpy(), rtol=1e-2, atol=1e-2)


# *** errors ***


def _raises(exc, fn, *fragments):
    with pytest.raises(exc) as info:
        fn()
    for f in fragments:
        assert f in str(info.value), str(info.value)


def test_errors():
    x = tg.randn(2, 3)
    _raises(TypeError, lambda: F.relu([1.0, 2.0]), "relu: input must be a Tensor", "list")
    _raises(TypeError, lambda: F.cosine_similarity(x1=[1.0], x2=x), "x1 must be a Tensor")
    _raises(ValueError, lambda: F.mse_loss(x, x, reduction="avg"), "reduction must be one of", "'avg'")
    _raises(ValueError, lambda: F.gelu(x, approximate="fast"), "'none' or 'tanh'")
    _raises(ValueError, lambda: F.cross_entropy(x, tg.tensor([0, 1, 2])), "expected target of shape (2,)", "(3,)")
    _raises(ValueError, lambda: F.cross_entropy(x, tg.tensor([0, 3])), "target 3 is out of bounds for 3 classes")
    _raises(ValueError, lambda: F.nll_loss(x, tg.tensor([-1, 0])), "target -1 is out of bounds")
    _raises(TypeError, lambda: F.nll_loss(x, tg.tensor([0.0, 1.0])), "indices must be an integer tensor", "float32")
    _raises(ValueError, lambda: F.cross_entropy(x, tg.rand(2, 4)), "class-probability target", "(2, 3)")
    _raises(ValueError, lambda: F.cross_entropy(x, tg.tensor([0, 1]), tg.ones(4)), "weight must have shape (3,)")
    _raises(ValueError, lambda: F.cross_entropy(x, tg.tensor([0, 1]), label_smoothing=1.5), "label_smoothing")
    _raises(ValueError, lambda: F.layer_norm(x, (2,)), "normalized_shape (2,)", "(2, 3)")
    _raises(ValueError, lambda: F.layer_norm(x, (3,), tg.ones(4)), "weight must have shape (3,)")
    _raises(ValueError, lambda: F.group_norm(tg.randn(2, 6, 4), 4), "divisible by num_groups=4")
    _raises(
        ValueError, lambda: F.batch_norm(tg.randn(1, 3), None, None, training=True), "more than 1 value per channel"
    )
    _raises(ValueError, lambda: F.batch_norm(x, None, None), "running_mean and running_var")
    _raises(ValueError, lambda: F.batch_norm(x, tg.zeros(4), tg.ones(4)), "running_mean must have shape (3,)")
    _raises(ValueError, lambda: F.linear(x, tg.randn(5, 4)), "3 features", "(5, 4)", "expects 4")
    _raises(ValueError, lambda: F.pad(x, (1, 2, 3)), "even length")
    _raises(ValueError, lambda: F.pad(x, (3, 0), mode="reflect"), "too large", "size 3")
    _raises(ValueError, lambda: F.pad(x, (1, 0), mode="wrap"), "mode must be one of")
    _raises(ValueError, lambda: F.binary_cross_entropy(x, x.sigmoid()), "between 0 and 1", "with_logits")
    _raises(ValueError, lambda: F.binary_cross_entropy(x.sigmoid(), tg.rand(3)), "target shape (3,)")
    _raises(ValueError, lambda: F.dropout(x, 1.5), "between 0 and 1")
    _raises(TypeError, lambda: F.embedding(tg.tensor([0.0]), tg.randn(3, 2)), "integer tensor")
    _raises(ValueError, lambda: F.embedding(tg.tensor([0]), tg.randn(3, 2), padding_idx=3), "padding_idx 3")
    _raises(TypeError, lambda: F.one_hot(tg.tensor([0.5])), "integer tensor")
    _raises(ValueError, lambda: F.one_hot(tg.tensor([0, 4]), 3), "smaller than num_classes (3)", "got 4")
    _raises(ValueError, lambda: F.one_hot(tg.tensor([-1, 0])), "non-negative")
    _raises(ValueError, lambda: F.smooth_l1_loss(x, x, beta=-1.0), "beta")
    _raises(ValueError, lambda: F.huber_loss(x, x, delta=0.0), "delta must be positive")
    _raises(ValueError, lambda: F.glu(x, 1), "even size")
    _raises(TypeError, lambda: F.softmax(tg.tensor([1, 2]), 0), "floating-point")
    q = tg.randn(3, 4)
    _raises(
        ValueError,
        lambda: F.scaled_dot_product_attention(q, q, q, attn_mask=tg.ones(3, 3), is_causal=True),
        "either attn_mask or is_causal",
    )
    _raises(ValueError, lambda: F.scaled_dot_product_attention(q, tg.randn(3, 5), q), "embedding size")
    _raises(ValueError, lambda: F.prelu(tg.randn(2, 3), tg.ones(2)), "2 slopes", "3 channels")


def test_pointwise_loss_warns_on_shape_mismatch():
    with pytest.warns(UserWarning, match="differs from input shape"):
        F.mse_loss(tg.randn(3, 1), tg.randn(3))
