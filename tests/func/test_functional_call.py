"""functional_call: a Module as a pure function of a dict of parameters; against torch.func."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import func

from .helpers import close


def make_net():
    tg.manual_seed(0)
    return tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.Tanh(), tg.nn.Linear(4, 2))


def test_functional_call_replaces_and_restores():
    net = make_net()
    before = {k: v for k, v in net.named_parameters()}
    zeros = {k: tg.zeros_like(v) for k, v in before.items()}
    out = func.functional_call(net, zeros, (tg.ones(5, 3),))
    close(out, np.zeros((5, 2)))
    assert all(v is before[k] for k, v in net.named_parameters())
    with pytest.raises(ValueError, match="no parameter or buffer named 'nope'"):
        func.functional_call(net, {"nope": tg.ones(1)}, (tg.ones(1, 3),))
    with pytest.raises(ValueError, match="strict"):
        func.functional_call(net, {"0.weight": zeros["0.weight"]}, (tg.ones(1, 3),), strict=True)


def test_grad_and_per_example_grads_against_torch():
    torch = pytest.importorskip("torch")
    net = make_net()
    params = {k: v.detach().to(tg.float64) for k, v in net.named_parameters()}
    net = net.to(tg.float64)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))

    def loss(p, x, y):
        return ((func.functional_call(net, p, (x,)) - y) ** 2).sum()

    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    tparams = {k: torch.tensor(v.numpy()) for k, v in params.items()}

    def tloss(p, x, y):
        return ((torch.func.functional_call(tnet, p, (x,)) - y) ** 2).sum()

    g = func.grad(loss)(params, tg.tensor(x), tg.tensor(y))
    tgr = torch.func.grad(tloss)(tparams, torch.tensor(x), torch.tensor(y))
    per = func.vmap(func.grad(loss), in_axes=(None, 0, 0))(params, tg.tensor(x), tg.tensor(y))
    tper = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))(tparams, torch.tensor(x), torch.tensor(y))
    for k in params:
        close(g[k], tgr[k])
        close(per[k], tper[k])
