"""The loss modules against PyTorch's: forward and input gradient; class weights live in state_dict."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 3)).astype(np.float32)
Y = rng.standard_normal((4, 3)).astype(np.float32)
P = (1 / (1 + np.exp(-Y))).astype(np.float32)
LOGP = np.log(np.exp(Y) / np.exp(Y).sum(1, keepdims=True)).astype(np.float32)
W = np.array([0.2, 1.0, 3.0], np.float32)
CLS = np.array([0, 2, 1, 2])

CASES = {
    "l1": (lambda m, t: m.L1Loss(), X, Y),
    "mse_sum": (lambda m, t: m.MSELoss(reduction="sum"), X, Y),
    "smooth_l1": (lambda m, t: m.SmoothL1Loss(beta=0.5), X, Y),
    "huber": (lambda m, t: m.HuberLoss(delta=0.3, reduction="none"), X, Y),
    "kl": (lambda m, t: m.KLDivLoss(reduction="batchmean"), X, P),
    "kl_log": (lambda m, t: m.KLDivLoss(reduction="sum", log_target=True), X, LOGP),
    "bce": (lambda m, t: m.BCELoss(weight=t(W)), P, P[::-1].copy()),
    "bce_logits": (lambda m, t: m.BCEWithLogitsLoss(pos_weight=t(W)), X, P),
    "nll": (lambda m, t: m.NLLLoss(weight=t(W), ignore_index=1), LOGP, CLS),
    "cross_entropy": (lambda m, t: m.CrossEntropyLoss(), X, CLS),
    "cross_entropy_weighted": (lambda m, t: m.CrossEntropyLoss(weight=t(W), label_smoothing=0.1), X, CLS),
    "cross_entropy_probs": (lambda m, t: m.CrossEntropyLoss(reduction="sum"), X, P),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_module_matches_torch(name):
    make, inp, target = CASES[name]
    loss, tloss = make(nn, tg.tensor), make(torch.nn, torch.tensor)
    x, tx = tg.tensor(inp, requires_grad=True), torch.tensor(inp, requires_grad=True)
    out, tout = loss(x, tg.tensor(target)), tloss(tx, torch.tensor(target))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward(), tout.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert list(loss.state_dict()) == list(tloss.state_dict())
    assert repr(loss) == repr(tloss)


def test_loss_errors():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(TypeError, match="target must be a Tensor"):
        nn.MSELoss()(tg.zeros(2), [0.0, 1.0])


def test_cosine_similarity_module():
    out = nn.CosineSimilarity(dim=1)(tg.tensor(X), tg.tensor(Y))
    ref = torch.nn.CosineSimilarity(dim=1)(torch.tensor(X), torch.tensor(Y))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5)
