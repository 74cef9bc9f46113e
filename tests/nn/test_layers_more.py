"""The torch.nn layers added for issue 15 against PyTorch 2.13: the same construction in both, the same
parameters, then outputs and input / parameter gradients compared in float64."""

import numpy as np
import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(9)


NO_GRAD = {"SoftMarginLoss": {1}}  # torch refuses a gradient for this target


def _compare(name, args, kwargs, inputs, train=True, atol=1e-10):
    ours, theirs = getattr(tg.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    ours, theirs = ours.double(), theirs.double()
    for (pname, p), (tname, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert pname == tname
        p.data = tg.tensor(t.detach().numpy().copy())
    if not train:
        ours.eval()
        theirs.eval()
    grads = [a.dtype.kind == "f" and i not in NO_GRAD.get(name, ()) for i, a in enumerate(inputs)]
    xs = [tg.tensor(a, requires_grad=g) for a, g in zip(inputs, grads)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(inputs, grads)]
    out, want = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-9, atol=atol, err_msg=name)
    assert tuple(out.shape) == tuple(want.shape)
    weights = RNG.standard_normal(tuple(want.shape))
    (out * tg.tensor(weights)).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    for x, t in zip(xs, ts):
        if t.grad is not None:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=atol, err_msg=name)
    for (pname, p), (_, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=atol, err_msg=f"{name}.{pname}")
    return ours, theirs


X4 = RNG.standard_normal((2, 8, 5, 6))
X5 = RNG.standard_normal((2, 3, 4, 5, 6))
X3 = RNG.standard_normal((2, 4, 7))
V = RNG.standard_normal((4, 5))

CASES = {
    "Hardshrink": ((0.3,), {}, [V]),
    "Softshrink": ((), {"lambd": 0.3}, [V]),
    "Softmax2d": ((), {}, [X4]),
    "ConvTranspose3d": ((3, 2, 2), {"stride": 2, "padding": 1, "output_padding": 1}, [X5]),
    "MaxPool3d": ((2,), {}, [X5]),
    "AvgPool3d": ((2,), {"stride": 1}, [X5]),
    "AdaptiveAvgPool3d": (((2, 2, 3),), {}, [X5]),
    "AdaptiveMaxPool3d": ((2,), {}, [X5]),
    "LPPool1d": ((2, 3), {"stride": 2}, [np.abs(X3) + 0.1]),
    "LPPool2d": ((1.5, 2), {}, [np.abs(X4) + 0.1]),
    "Unfold": ((2,), {"padding": 1, "stride": 2}, [X4]),
    "Fold": (((4, 5), 2), {}, [RNG.standard_normal((2, 12, 12))]),
    "PixelShuffle": ((2,), {}, [X4]),
    "PixelUnshuffle": ((2,), {}, [RNG.standard_normal((2, 3, 4, 6))]),
    "ChannelShuffle": ((4,), {}, [X4]),
    "Upsample": ((), {"scale_factor": 2, "mode": "bilinear"}, [X4]),
    "UpsamplingNearest2d": ((), {"size": (7, 9)}, [X4]),
    "UpsamplingBilinear2d": ((), {"scale_factor": 2}, [X4]),
    "ZeroPad2d": (((1, 2, 0, 3),), {}, [X4]),
    "ConstantPad1d": ((2, 3.5), {}, [X3]),
    "ConstantPad3d": ((1, -1.0), {}, [X5]),
    "ReflectionPad1d": ((2,), {}, [X3]),
    "ReflectionPad2d": (((1, 2, 2, 1),), {}, [X4]),
    "ReflectionPad3d": ((1,), {}, [X5]),
    "ReplicationPad1d": (((3, 1),), {}, [X3]),
    "ReplicationPad2d": ((2,), {}, [X4]),
    "ReplicationPad3d": ((1,), {}, [X5]),
    "CircularPad1d": ((2,), {}, [X3]),
    "CircularPad2d": ((1,), {}, [X4]),
    "CircularPad3d": ((1,), {}, [X5]),
    "InstanceNorm1d": ((4,), {"affine": True}, [X3]),
    "InstanceNorm2d": ((8,), {}, [X4]),
    "InstanceNorm3d": ((3,), {"affine": True, "track_running_stats": True}, [X5]),
    "LocalResponseNorm": ((3,), {"alpha": 0.1}, [X4]),
    "RMSNorm": ((6,), {"eps": 1e-6}, [X4]),
    "Bilinear": ((5, 3, 2), {}, [V, RNG.standard_normal((4, 3))]),
    "PairwiseDistance": ((), {"p": 3.0}, [V, V[::-1].copy()]),
    "CosineEmbeddingLoss": ((), {"margin": 0.2}, [V, V[::-1].copy(), np.array([1.0, -1.0, 1.0, -1.0])]),
    "HingeEmbeddingLoss": ((), {}, [V, np.sign(V[::-1]).copy()]),
    "MarginRankingLoss": ((), {"margin": 0.1}, [V[0], V[1], np.sign(V[2])]),
    "SoftMarginLoss": ((), {}, [V, np.sign(V[::-1]).copy()]),
    "MultiLabelSoftMarginLoss": ((), {}, [V, (V[::-1] > 0).astype(float)]),
    "TripletMarginLoss": ((), {"swap": True}, [V, V[::-1].copy(), V * 0.5]),
    "PoissonNLLLoss": ((), {"full": True}, [V, np.abs(V[::-1]) * 3]),
    "GaussianNLLLoss": ((), {}, [V, V[::-1].copy(), np.abs(V) + 0.1]),
    "LPPool3d": ((2, 2), {}, [np.abs(X5) + 0.1]),
    "TripletMarginWithDistanceLoss": ((), {"margin": 0.3}, [V, V[::-1].copy(), V * 0.5]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_torch(name):
    args, kwargs, inputs = CASES[name]
    ours, theirs = _compare(name, args, kwargs, inputs)
    assert type(ours).__name__ == name


def test_modes_and_state():
    _compare("RReLU", (0.1, 0.3), {}, [V], train=False)
    m = tg.nn.RReLU(0.1, 0.3)
    out = m(tg.tensor(V)).numpy()
    slopes = out[V < 0] / V[V < 0]
    assert np.all((slopes >= 0.1) & (slopes <= 0.3))
    ours, theirs = _compare("InstanceNorm2d", (8,), {"track_running_stats": True}, [X4])
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-10)
    assert set(ours.state_dict()) == set(theirs.state_dict()) - {"num_batches_tracked"}
    _compare("InstanceNorm2d", (8,), {"track_running_stats": True}, [X4], train=False)
    for name in ("Dropout1d", "Dropout2d", "Dropout3d"):
        d = getattr(tg.nn, name)(0.5)
        x = tg.ones(*(2, 3) + (2,) * int(name[-2]))
        assert d.eval()(x) is x
        assert set(np.unique(d.train()(x).numpy())) <= {0.0, 2.0}
    assert tg.nn.Bilinear(2, 3, 4).weight.shape == (4, 2, 3)
    assert "ConstantPad1d((2, 2), value=1.5)" in repr(tg.nn.Sequential(tg.nn.ConstantPad1d(2, 1.5)))


def test_unpool_multimargin_alpha_dropout_modules():
    x = RNG.standard_normal((2, 3, 4, 6))
    y, i = tg.nn.MaxPool2d(2, return_indices=True)(tg.tensor(x))
    ty, ti = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_allclose(tg.nn.MaxUnpool2d(2)(y, i).numpy(), torch.nn.MaxUnpool2d(2)(ty, ti).numpy())
    target = np.array([0, 3, 1, 2])
    ours = tg.nn.MultiMarginLoss(p=2, margin=0.5)(tg.tensor(V), tg.tensor(target))
    theirs = torch.nn.MultiMarginLoss(p=2, margin=0.5)(torch.tensor(V), torch.tensor(target))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    for name in ("AlphaDropout", "FeatureAlphaDropout"):
        m = getattr(tg.nn, name)(0.2).eval()
        xx = tg.ones(2, 3, 4)
        assert m(xx) is xx


def test_parameter_containers():
    ours = tg.nn.ParameterList([tg.zeros(2), tg.nn.Parameter(tg.ones(3))])
    theirs = torch.nn.ParameterList([torch.zeros(2), torch.nn.Parameter(torch.ones(3))])
    ours.append(tg.zeros(1))
    theirs.append(torch.zeros(1))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert len(ours) == len(theirs) == 3 and ours[-1].shape == (1,) and len(ours[1:]) == 2
    assert all(isinstance(p, tg.nn.Parameter) and p.requires_grad for p in ours)
    with pytest.raises(IndexError, match="out of range"):
        ours[3]
    d = tg.nn.ParameterDict({"w": tg.zeros(2, 2), "b": tg.zeros(2)})
    td = torch.nn.ParameterDict({"w": torch.zeros(2, 2), "b": torch.zeros(2)})
    d["s"], td["s"] = tg.ones(1), torch.ones(1)
    assert list(d.keys()) == list(td.keys()) and "w" in d and len(d) == 3
    assert sorted(d.state_dict()) == sorted(td.state_dict())

    class Net(tg.nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = tg.nn.ParameterList([tg.ones(2)])
            self.pd = tg.nn.ParameterDict({"a": tg.ones(2)})

        def forward(self, x):
            return (x * self.ps[0] * self.pd["a"]).sum()

    net = Net()
    net(tg.tensor([1.0, 2.0])).backward()
    assert sorted(dict(net.named_parameters())) == ["pd.a", "ps.0"]
    assert net.ps[0].grad.tolist() == [1.0, 2.0]


RNN_CASES = [
    ("RNN", (3, 4), {}, (5, 2, 3)),
    ("RNN", (3, 4), {"num_layers": 2, "nonlinearity": "relu", "batch_first": True}, (2, 5, 3)),
    ("LSTM", (3, 4), {}, (5, 2, 3)),
    ("LSTM", (3, 4), {"num_layers": 2, "bidirectional": True, "batch_first": True}, (2, 5, 3)),
    ("LSTM", (3, 4), {"bias": False}, (5, 3)),
    ("GRU", (3, 4), {"num_layers": 2}, (5, 2, 3)),
    ("GRU", (3, 4), {"bidirectional": True}, (5, 3)),
]


def _copy_params(ours, theirs):
    theirs.double()
    ours.double()
    for (n1, p), (n2, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n1 == n2
        p.data = tg.tensor(t.detach().numpy().copy())


@pytest.mark.parametrize("name,args,kwargs,shape", RNN_CASES)
def test_recurrent_layers_match_torch(name, args, kwargs, shape):
    ours, theirs = getattr(tg.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    _copy_params(ours, theirs)
    x = RNG.standard_normal(shape)
    dirs = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    h_shape = (layers * dirs,) + ((shape[0 if kwargs.get("batch_first") else 1],) if len(shape) == 3 else ()) + (4,)
    h0 = RNG.standard_normal(h_shape)
    state = (h0, h0 * 0.5) if name == "LSTM" else h0
    for with_state in (False, True):
        xs, ts = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        hs = tuple(tg.tensor(s, requires_grad=True) for s in state) if name == "LSTM" else tg.tensor(state, requires_grad=True)
        ths = tuple(torch.tensor(s, requires_grad=True) for s in state) if name == "LSTM" else torch.tensor(state, requires_grad=True)
        out, h = ours(xs, hs) if with_state else ours(xs)
        want, wh = theirs(ts, ths) if with_state else theirs(ts)
        np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
        flat, wflat = (list(h), list(wh)) if name == "LSTM" else ([h], [wh])
        for a, b in zip(flat, wflat):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
        w = RNG.standard_normal(tuple(want.shape))
        ((out * tg.tensor(w)).sum() + sum(f.sum() for f in flat)).backward()
        ((want * torch.tensor(w)).sum() + sum(f.sum() for f in wflat)).backward()
        np.testing.assert_allclose(xs.grad.numpy(), ts.grad.numpy(), rtol=1e-8, atol=1e-10)
        for (pn, p), (_, t) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=pn)
            p.grad, t.grad = None, None


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(name):
    ours, theirs = getattr(tg.nn, name)(3, 4), getattr(torch.nn, name)(3, 4)
    _copy_params(ours, theirs)
    x = RNG.standard_normal((2, 3))
    h = RNG.standard_normal((2, 4))
    state = (h, h * 0.3) if name == "LSTMCell" else h
    for inp, st in ((x, state), (x[0], tuple(s[0] for s in state) if name == "LSTMCell" else state[0]), (x, None)):
        a = ours(tg.tensor(inp), None if st is None else (tuple(tg.tensor(s) for s in st) if name == "LSTMCell"
                                                          else tg.tensor(st)))
        b = theirs(torch.tensor(inp), None if st is None else (tuple(torch.tensor(s) for s in st) if name == "LSTMCell"
                                                               else torch.tensor(st)))
        for u, v in zip(a if name == "LSTMCell" else [a], b if name == "LSTMCell" else [b]):
            np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_recurrent_errors_and_second_order():
    with pytest.raises(ValueError, match="proj_size"):
        tg.nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="input_size=3"):
        tg.nn.GRU(3, 4)(tg.zeros(5, 2, 2))
    rnn = tg.nn.RNN(2, 3).double()
    x = tg.tensor(RNG.standard_normal((4, 1, 2)), requires_grad=True)
    assert tg.autograd.gradgradcheck(lambda t: rnn(t)[0].sum(), [x])
