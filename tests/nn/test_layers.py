"""Every layer against PyTorch: the same weights loaded into both (through state_dict), then forward, the
gradient of the input and of every parameter for one random cotangent; and default-init statistics."""

import math

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

RTOL, ATOL = 2e-4, 2e-5
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'", "ignore:Support for mismatched key_padding_mask")


def _load_torch_weights(layer, tlayer):
    """Copy torch's state into the tapegrad layer (strict: the parameter and buffer names must agree)."""
    state = {k: tg.tensor(v.detach().numpy().copy()) for k, v in tlayer.state_dict().items()}
    layer.load_state_dict(state)


def compare(layer, tlayer, *inputs, grad_inputs=True, train=True):
    """Run both layers on the same inputs; compare outputs, input gradients and parameter gradients."""
    _load_torch_weights(layer, tlayer)
    layer.train(train), tlayer.train(train)
    xs = [tg.tensor(a, requires_grad=grad_inputs and a.dtype.kind == "f") for a in inputs]
    ts = [torch.tensor(a, requires_grad=grad_inputs and a.dtype.kind == "f") for a in inputs]
    out, tout = layer(*xs), tlayer(*ts)
    out, tout = (out[0], tout[0]) if isinstance(out, tuple) else (out, tout)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=RTOL, atol=ATOL)
    g = np.random.default_rng(1).standard_normal(tout.shape).astype(np.float32)
    (out * tg.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    for x, t in zip(xs, ts):
        if t.requires_grad:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=RTOL, atol=ATOL)
    tparams = dict(tlayer.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=name)
    for name, b in tlayer.named_buffers():  # e.g. BatchNorm's running statistics after the step
        np.testing.assert_allclose(layer.get_buffer(name).numpy(), b.numpy(), rtol=RTOL, atol=ATOL, err_msg=name)
    return out


def x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


LAYERS = {
    "linear": (lambda m: m.Linear(5, 3), [x(4, 5)]),
    "linear_nobias_3d": (lambda m: m.Linear(5, 3, bias=False), [x(2, 4, 5)]),
    "conv1d": (lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1), [x(2, 3, 9)]),
    "conv2d": (lambda m: m.Conv2d(3, 4, 3, padding=1), [x(2, 3, 6, 6)]),
    "conv2d_groups_dilation": (lambda m: m.Conv2d(4, 6, (3, 2), stride=(1, 2), dilation=2, groups=2), [x(2, 4, 8, 7)]),
    "conv2d_same": (lambda m: m.Conv2d(2, 3, 4, padding="same"), [x(1, 2, 6, 6)]),
    "conv2d_reflect": (lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), [x(1, 2, 5, 5)]),
    "conv2d_circular": (lambda m: m.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="circular"), [x(1, 2, 5, 5)]),
    "conv_transpose2d": (lambda m: m.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), [x(2, 3, 4, 4)]),
    "conv_transpose1d": (lambda m: m.ConvTranspose1d(2, 4, 3, stride=2, groups=2), [x(2, 2, 5)]),
    "maxpool2d": (lambda m: m.MaxPool2d(2), [x(2, 3, 6, 6)]),
    "maxpool2d_pad": (lambda m: m.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), [x(1, 2, 7, 7)]),
    "maxpool1d": (lambda m: m.MaxPool1d(2), [x(2, 3, 8)]),
    "avgpool2d": (lambda m: m.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), [x(2, 3, 7, 7)]),
    "avgpool1d": (lambda m: m.AvgPool1d(2), [x(2, 3, 8)]),
    "adaptive_avg2d": (lambda m: m.AdaptiveAvgPool2d((3, 2)), [x(2, 3, 7, 5)]),
    "adaptive_avg1d": (lambda m: m.AdaptiveAvgPool1d(3), [x(2, 3, 7)]),
    "adaptive_max2d": (lambda m: m.AdaptiveMaxPool2d(2), [x(2, 3, 5, 5)]),
    "batchnorm1d": (lambda m: m.BatchNorm1d(4), [x(8, 4)]),
    "batchnorm1d_3d": (lambda m: m.BatchNorm1d(4, momentum=None), [x(3, 4, 5)]),
    "batchnorm2d": (lambda m: m.BatchNorm2d(3, momentum=0.3), [x(4, 3, 5, 5)]),
    "batchnorm2d_untracked": (lambda m: m.BatchNorm2d(3, track_running_stats=False, affine=False), [x(4, 3, 2, 2)]),
    "layernorm": (lambda m: m.LayerNorm((4, 5)), [x(3, 4, 5)]),
    "layernorm_nobias": (lambda m: m.LayerNorm(5, bias=False), [x(3, 5)]),
    "groupnorm": (lambda m: m.GroupNorm(2, 4), [x(3, 4, 5)]),
    "flatten": (lambda m: m.Flatten(), [x(2, 3, 4)]),
    "unflatten": (lambda m: m.Unflatten(1, (3, 4)), [x(2, 12)]),
    "identity": (lambda m: m.Identity(7, foo=1), [x(2, 3)]),
    "prelu": (lambda m: m.PReLU(3), [x(2, 3, 4)]),
    "mha": (lambda m: m.MultiheadAttention(8, 2), [x(5, 2, 8), x(5, 2, 8, seed=1), x(5, 2, 8, seed=2)]),
    "mha_batch_first": (lambda m: m.MultiheadAttention(8, 4, batch_first=True), [x(2, 5, 8), x(2, 6, 8, seed=1),
                                                                                x(2, 6, 8, seed=2)]),
    "mha_kdim": (lambda m: m.MultiheadAttention(8, 2, kdim=3, vdim=5), [x(4, 2, 8), x(6, 2, 3), x(6, 2, 5)]),
    "mha_unbatched": (lambda m: m.MultiheadAttention(4, 2, bias=False), [x(3, 4), x(5, 4), x(5, 4, seed=2)]),
    "encoder_layer": (lambda m: m.TransformerEncoderLayer(8, 2, 16, dropout=0.0), [x(5, 2, 8)]),
    "encoder_layer_norm_first": (lambda m: m.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                                                     norm_first=True, activation="gelu"), [x(2, 5, 8)]),
}

ACTIVATIONS = [
    "ReLU", "ReLU6", "ELU", "CELU", "SELU", "GELU", "SiLU", "Mish", "Softplus", "Hardtanh", "Hardsigmoid",
    "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink", "Sigmoid", "Tanh",
]
ACTIVATIONS_WITH_ARGS = {
    "LeakyReLU": (0.2,), "ELU_alpha": (0.5,), "GELU_tanh": ("tanh",), "Softplus_beta": (2.0, 5.0),
    "Threshold": (0.1, 20.0), "GLU": (1,), "Softmax": (1,), "Softmin": (0,), "LogSoftmax": (-1,),
    "Hardtanh_range": (-0.5, 2.0),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(name):
    make, inputs = LAYERS[name]
    tg.manual_seed(0), torch.manual_seed(0)
    compare(make(nn), make(tnn), *inputs)


@pytest.mark.parametrize("name", ACTIVATIONS + sorted(ACTIVATIONS_WITH_ARGS))
def test_activation_matches_torch(name):
    cls, args = name.split("_")[0], ACTIVATIONS_WITH_ARGS.get(name, ())
    compare(getattr(nn, cls)(*args), getattr(tnn, cls)(*args), x(3, 4) * 3)


def test_embedding_matches_torch():
    idx = np.array([[1, 0, 3], [3, 3, 2]])
    layer, tlayer = nn.Embedding(5, 4, padding_idx=3), tnn.Embedding(5, 4, padding_idx=3)
    compare(layer, tlayer, idx)
    assert np.all(layer.weight.grad.numpy()[3] == 0)
    assert np.all(nn.Embedding(5, 4, padding_idx=-1).weight.numpy()[4] == 0)


def test_batchnorm_eval_uses_running_statistics():
    layer, tlayer = nn.BatchNorm2d(3), tnn.BatchNorm2d(3)
    for seed in range(3):  # train a few steps, the running stats move
        compare(layer, tlayer, x(4, 3, 2, 2, seed=seed))
    assert int(layer.num_batches_tracked) == 3
    before = layer.running_mean.numpy().copy()
    out = compare(layer, tlayer, x(4, 3, 2, 2, seed=9), train=False)
    np.testing.assert_array_equal(layer.running_mean.numpy(), before)
    assert out.shape == (4, 3, 2, 2)


def test_mha_masks_and_weights_match_torch():
    tg.manual_seed(0)
    layer, tlayer = nn.MultiheadAttention(8, 2, batch_first=True), tnn.MultiheadAttention(8, 2, batch_first=True)
    _load_torch_weights(layer, tlayer)
    q = x(2, 4, 8)
    causal = np.triu(np.ones((4, 4), bool), 1)
    pad = np.array([[False, False, False, True], [False, True, False, False]])
    float_mask = x(4, 4, seed=3)
    for kwargs in (dict(attn_mask=causal), dict(key_padding_mask=pad), dict(attn_mask=float_mask,
                   key_padding_mask=pad), dict(attn_mask=causal, average_attn_weights=False)):
        out, w = layer(tg.tensor(q), tg.tensor(q), tg.tensor(q), **{k: tg.tensor(v) for k, v in kwargs.items()
                                                                  if isinstance(v, np.ndarray)},
                       **{k: v for k, v in kwargs.items() if not isinstance(v, np.ndarray)})
        tq = torch.tensor(q)
        tout, tw = tlayer(tq, tq, tq, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                         for k, v in kwargs.items()})
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=RTOL, atol=ATOL)


def test_transformer_encoder_stack_matches_torch():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    tlayer = tnn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))
    tenc = tnn.TransformerEncoder(tlayer, 2, norm=tnn.LayerNorm(8), enable_nested_tensor=False)
    assert list(enc.state_dict()) == list(tenc.state_dict())
    compare(enc, tenc, x(2, 5, 8))


# *** default initialisation: the same distributions as PyTorch ***


def _bound(fan_in):
    return 1 / math.sqrt(fan_in)


@pytest.mark.parametrize(
    "make, fan_in",
    [(lambda: nn.Linear(200, 300), 200), (lambda: nn.Conv2d(8, 64, 5), 200), (lambda: nn.Conv1d(10, 40, 20), 200),
     (lambda: nn.ConvTranspose2d(16, 8, 5), 200)],
)
def test_default_init_is_kaiming_uniform_a_sqrt5(make, fan_in):
    tg.manual_seed(0)
    layer = make()
    w, b = layer.weight.numpy(), layer.bias.numpy()
    bound = _bound(fan_in)  # kaiming_uniform_(a=sqrt(5)): gain sqrt(1/3) * sqrt(3 / fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound
    assert abs(w.mean()) < 0.03 * bound
    assert np.abs(b).max() <= bound
    assert w.dtype == np.float32


def test_default_init_of_other_layers():
    tg.manual_seed(0)
    emb = nn.Embedding(300, 100).weight.numpy()
    assert abs(emb.std() - 1) < 0.02 and abs(emb.mean()) < 0.02
    mha = nn.MultiheadAttention(64, 4)
    bound = math.sqrt(6 / (64 + 192))  # xavier_uniform_ over the (3E, E) in_proj_weight
    w = mha.in_proj_weight.numpy()
    assert np.abs(w).max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound
    assert np.all(mha.in_proj_bias.numpy() == 0) and np.all(mha.out_proj.bias.numpy() == 0)
    bn = nn.BatchNorm2d(3)
    assert bn.weight.numpy().tolist() == [1, 1, 1] and bn.running_var.numpy().tolist() == [1, 1, 1]
    assert nn.PReLU().weight.numpy().tolist() == [0.25]


def test_same_seed_gives_same_weights():
    tg.manual_seed(3)
    a = nn.Linear(4, 4).weight.numpy().copy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight.numpy(), a)


# *** train / eval behaviour, errors, repr ***


def test_dropout_train_and_eval():
    tg.manual_seed(0)
    d = nn.Dropout(0.25)
    out = d(tg.ones(4000)).numpy()
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs((out == 0).mean() - 0.25) < 0.03
    d.eval()
    np.testing.assert_array_equal(d(tg.ones(10)).numpy(), np.ones(10))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_layer_errors_name_the_problem():
    with pytest.raises(ValueError, match="in_features=5.*flatten"):
        nn.Linear(5, 2)(tg.zeros(2, 4))
    with pytest.raises(ValueError, match="divisible by groups=2"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="num_features=3"):
        nn.BatchNorm2d(3)(tg.zeros(2, 4, 2, 2))
    with pytest.raises(ValueError, match="4-d"):
        nn.BatchNorm2d(3)(tg.zeros(2, 3))
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(6, 4)


def test_repr_matches_torch_style():
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2),
                        nn.BatchNorm1d(2), nn.LeakyReLU(0.1))
    tnet = tnn.Sequential(tnn.Conv2d(1, 8, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(8, 2),
                          tnn.BatchNorm1d(2), tnn.LeakyReLU(0.1))
    assert repr(net) == repr(tnet)
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == repr(tnn.Embedding(10, 3, padding_idx=0))
