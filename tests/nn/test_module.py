"""Module: the parameter tree, buffers, state_dict round trips and strict errors, train / eval, to(dtype),
zero_grad, apply, forward and full backward hooks (against PyTorch's), containers, deepcopy."""

import copy

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn

torch = pytest.importorskip("torch")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
        self.head = nn.Linear(8, 3)
        self.scale = nn.Parameter(tg.ones(1))
        self.register_buffer("steps", tg.zeros(1))
        self.register_buffer("cache", tg.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.features(x).flatten(1)) * self.scale


def test_parameter_tree_and_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                     "head.weight", "head.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache", "features.1.running_mean",
                                                   "features.1.running_var", "features.1.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert len(list(net.modules())) == 6
    assert list(net.state_dict())[:2] == ["scale", "steps"] and "cache" not in net.state_dict()
    assert net.get_submodule("features.1") is net.features[1]
    assert net.get_parameter("head.bias") is net.head.bias
    assert all(p.requires_grad for p in net.parameters())


def test_shared_parameters_appear_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as PyTorch


def test_attribute_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Parameter"):
        m.weight = tg.zeros(2, 2)
    m.weight = nn.Parameter(tg.zeros(2, 2))
    assert m.weight.numpy().sum() == 0
    m.bias = None
    assert "bias" in m._parameters and m.bias is None and len(list(m.parameters())) == 1
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        m.nope
    with pytest.raises(KeyError, match="clashes"):
        m.register_buffer("forward", tg.zeros(1))
    with pytest.raises(ValueError, match="dots"):
        m.register_buffer("a.b", tg.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Early()


def test_state_dict_round_trip_and_sharing():
    tg.manual_seed(0)
    a, b = Net(), Net()
    sd = a.state_dict()
    assert not sd["head.weight"].requires_grad
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)
    assert type(b.head.weight) is nn.Parameter  # loaded in place, the same objects
    with tg.no_grad():
        a.head.weight.add_(1)
    assert sd["head.weight"].numpy()[0, 0] == a.head.weight.numpy()[0, 0]  # state_dict shares memory


def test_state_dict_with_torch_names():
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert list(m.state_dict()) == list(t.state_dict())
    m.load_state_dict({k: tg.tensor(v.numpy()) for k, v in t.state_dict().items()})
    np.testing.assert_array_equal(m[0].weight.numpy(), t[0].weight.detach().numpy())


def test_strict_errors_list_everything_and_change_nothing():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    bad = {k: tg.ones(*v.shape) for k, v in m.state_dict().items()}
    del bad["1.bias"]
    bad["extra.weight"] = tg.ones(1)
    bad["0.weight"] = tg.ones(5, 3)
    with pytest.raises(nn.StateDictError) as err:
        m.load_state_dict(bad)
    msg = str(err.value)
    assert 'Missing key(s) in state_dict: "1.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for 0.weight: copying a param with shape (5, 3) from checkpoint" in msg
    assert "strict=False" in msg
    assert isinstance(err.value, RuntimeError)  # as PyTorch's, for code that catches that
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])  # nothing was loaded
    with pytest.raises(nn.StateDictError, match="size mismatch"):  # shapes are checked even when not strict
        m.load_state_dict(bad, strict=False)
    bad["0.weight"] = tg.ones(4, 3)
    missing, unexpected = m.load_state_dict(bad, strict=False)
    assert missing == ["1.bias"] and unexpected == ["extra.weight"]
    assert m[0].weight.numpy().sum() == 12


def test_train_eval_propagate():
    net = Net()
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.features.eval()
    assert net.training and not net.features[1].training


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    w = net.head.weight
    opt = tg.optim.SGD(net.parameters(), lr=0.1)
    net.to(tg.float64)
    assert net.head.weight is w and w.dtype is tg.float64 and net.steps.dtype is tg.float64
    assert net.features[1].num_batches_tracked.dtype is tg.int64  # integer buffers are left alone
    out = net(tg.randn(2, 1, 4, 4, dtype=tg.float64))
    out.sum().backward()
    opt.step()
    assert w.dtype is tg.float64
    net.float()
    assert w.dtype is tg.float32
    with pytest.raises(TypeError, match="floating-point"):
        net.to(tg.int32)


def test_zero_grad_and_apply():
    net = Net()
    net(tg.randn(2, 1, 4, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad.numpy().sum() == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Conv2d", "BatchNorm2d", "ReLU", "Sequential", "Linear", "Net"]

    def init_linear(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net.apply(init_linear)
    assert net.head.weight.numpy().sum() == 0


def test_forward_hooks_change_inputs_and_outputs():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = lin(tg.ones(3, 2))
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(lin.bias.numpy() + 1, (3, 2)), rtol=1e-6)
    assert calls == [(3, 2)]
    h1.remove(), h2.remove()
    lin(tg.ones(3, 2))
    assert calls == [(3, 2)]


def _record_backward(module, store):
    def hook(m, grad_input, grad_output):
        store.append(([None if g is None else np.array(g.numpy() if hasattr(g, "numpy") else g) for g in grad_input],
                      [np.array(g.numpy()) for g in grad_output]))

    return hook


def _np(t):
    return None if t is None else t.detach().numpy()


def test_full_backward_hook_matches_torch():
    rng = np.random.default_rng(0)
    w, xv = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((2, 4)).astype(np.float32)
    seen, tseen = [], []
    lin, tlin = nn.Linear(4, 3), torch.nn.Linear(4, 3)
    lin.load_state_dict({"weight": tg.tensor(w), "bias": tg.zeros(3)})
    tlin.load_state_dict({"weight": torch.tensor(w), "bias": torch.zeros(3)})
    lin.register_full_backward_hook(lambda m, gi, go: seen.append(([_np(g) for g in gi], [_np(g) for g in go])))
    tlin.register_full_backward_hook(lambda m, gi, go: tseen.append(([_np(g) for g in gi], [_np(g) for g in go])))
    x, tx = tg.tensor(xv, requires_grad=True), torch.tensor(xv, requires_grad=True)
    (lin(x) ** 2).sum().backward()
    (tlin(tx) ** 2).sum().backward()
    assert len(seen) == len(tseen) == 1
    for a, b in zip(seen[0][0] + seen[0][1], tseen[0][0] + tseen[0][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5)


def test_backward_hooks_can_replace_gradients():
    lin = nn.Linear(2, 2)
    x = tg.ones(1, 2, requires_grad=True)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + 7,))
    lin(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[7, 7]])
    pre = nn.Linear(2, 2)
    pre.register_full_backward_pre_hook(lambda m, go: (go[0] * 0,))
    x2 = tg.ones(1, 2, requires_grad=True)
    pre(x2).sum().backward()
    np.testing.assert_array_equal(x2.grad.numpy(), [[0, 0]])
    assert pre.weight.grad.numpy().sum() == 0  # the weight sees the replaced grad_output too


def test_backward_hook_without_input_grad():
    lin, seen = nn.Linear(2, 2), []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].shape)))
    lin(tg.ones(1, 2)).sum().backward()
    assert seen == [((None,), (1, 2))]


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and len(seq[:2]) == 2
    seq.append(nn.Sigmoid())
    assert seq(tg.zeros(4, 2)).shape == (4, 1)
    named = nn.Sequential({"fc": nn.Linear(2, 2), "act": nn.Tanh()})
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 2))
    assert len(list(ml.parameters())) == 8 and list(ml.state_dict())[-1] == "3.bias"
    del ml[0]
    assert list(ml.state_dict())[-1] == "2.bias"
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(list(md.parameters())) == 2
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(lambda x: x)
    with pytest.raises(IndexError, match="out of range"):
        seq[9]
    with pytest.raises(KeyError, match="has no module 'z'"):
        md["z"]


def test_deepcopy_keeps_parameters_independent():
    net = Net()
    twin = copy.deepcopy(net)
    assert all(type(p) is nn.Parameter for p in twin.parameters())
    assert all(p is not q for p, q in zip(net.parameters(), twin.parameters()))
    with tg.no_grad():
        twin.head.weight.add_(1)
    assert not np.allclose(twin.head.weight.numpy(), net.head.weight.numpy())


def test_custom_module_repr_and_missing_forward():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="forward"):
        Empty()(tg.zeros(1))
    assert repr(Net()).startswith("Net(\n  (features): Sequential(\n    (0): Conv2d(1, 2, kernel_size=(3, 3)")
