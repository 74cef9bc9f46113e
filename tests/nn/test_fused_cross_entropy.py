"""Eager cross_entropy's fused path (one FusedNode, numpy forward and softmax - one_hot backward) against PyTorch
and against the composite it replaces: values, first and second order, ignore_index, reductions, and the
autograd behaviour every Node must keep (in-place checks, freed graphs, hooks, no_grad)."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd.engine import FusedNode
from tapegrad.nn import functional as F

torch = pytest.importorskip("torch")

rng = np.random.default_rng(3)


def _case(dtype, n=7, c=5, ignore=None):
    x = rng.standard_normal((n, c)).astype(dtype) * 3
    t = rng.integers(0, c, n)
    if ignore is not None:
        t[::3] = ignore
    return x, t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore", [None, 2, -100])
def test_fused_matches_torch_first_and_second_order(dtype, reduction, ignore):
    x, t = _case(dtype, ignore=ignore)
    kw = {"reduction": reduction} if ignore is None else {"reduction": reduction, "ignore_index": ignore}
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    la, lb = F.cross_entropy(a, tg.tensor(t), **kw), torch.nn.functional.cross_entropy(b, torch.tensor(t), **kw)
    assert type(la.grad_fn) is FusedNode
    assert la.dtype == tg.float32 if dtype == np.float32 else la.dtype == tg.float64
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), rtol=tol, atol=tol)
    w = rng.standard_normal(la.shape).astype(dtype)
    (ga,) = tg.autograd.grad((la * tg.tensor(w)).sum(), a, create_graph=True)
    (gb,) = torch.autograd.grad((lb * torch.tensor(w)).sum(), b, create_graph=True)
    np.testing.assert_allclose(ga.detach().numpy(), gb.detach().numpy(), rtol=tol, atol=tol)
    (ga.sin().sum()).backward()
    (gb.sin().sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=10 * tol, atol=10 * tol)


def test_fused_backward_without_create_graph_matches_torch():
    x, t = _case(np.float32, n=64, c=10, ignore=-100)
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.cross_entropy(a, tg.tensor(t)).backward()
    torch.nn.functional.cross_entropy(b, torch.tensor(t)).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_fused_equals_composite_inside_a_graph():
    """The loss of an intermediate (a Linear's output): gradients reach the weights as through the composite."""
    x, t = _case(np.float64, n=9, c=4)
    w0 = rng.standard_normal((4, 4))

    def grads(fused):
        w = tg.tensor(w0, requires_grad=True)
        logits = tg.tensor(x) @ w
        if fused:
            loss = F.cross_entropy(logits, tg.tensor(t))
        else:
            loss = F._composite_cross_entropy(logits, tg.tensor(t), None, -100, "mean", 0.0)
        loss.backward()
        return loss.item(), w.grad.numpy()

    (lf, gf), (lc, gc) = grads(True), grads(False)
    assert lf == pytest.approx(lc, rel=1e-14)
    np.testing.assert_allclose(gf, gc, rtol=1e-13, atol=1e-15)


def test_every_target_ignored_gives_nan_as_torch():
    x = rng.standard_normal((3, 4)).astype(np.float32)
    t = np.full(3, -100)
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    la, lb = F.cross_entropy(a, tg.tensor(t)), torch.nn.functional.cross_entropy(b, torch.tensor(t))
    assert np.isnan(la.item()) and np.isnan(lb.item())
    la.backward()
    lb.backward()
    np.testing.assert_array_equal(np.isnan(a.grad.numpy()), np.isnan(b.grad.numpy()))


def test_out_of_range_target_is_refused_before_anything_is_recorded():
    a = tg.zeros(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(a, tg.tensor([0, 3]))


def test_in_place_change_of_the_logits_after_the_loss():
    """PyTorch's log_softmax saves its output, so changing the logits later is fine for backward; the fused
    node's replay (create_graph) reads the logits themselves and refuses."""
    x = rng.standard_normal((4, 3))
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    la, lb = a * 1, b * 1
    loss_a = F.cross_entropy(la, tg.tensor([0, 1, 2, 0]))
    loss_b = torch.nn.functional.cross_entropy(lb, torch.tensor([0, 1, 2, 0]))
    with tg.no_grad():
        la.add_(1)
    with torch.no_grad():
        lb.add_(1)
    loss_a.backward(retain_graph=True)
    loss_b.backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        tg.autograd.grad(loss_a, a, create_graph=True)


def test_second_backward_without_retain_graph_is_refused():
    a = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    loss = F.cross_entropy(a, tg.tensor([0, 1, 2, 0]))
    loss.backward()
    with pytest.raises(RuntimeError, match="a second time"):
        loss.backward()
    loss2 = F.cross_entropy(a, tg.tensor([0, 1, 2, 0]))
    loss2.backward(retain_graph=True)
    loss2.backward()  # retained: allowed, and the gradient doubles
    first = a.grad.numpy().copy()
    assert np.all(np.isfinite(first))


def test_no_grad_records_nothing_and_hooks_on_the_logits_still_run():
    a = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    with tg.no_grad():
        assert F.cross_entropy(a, tg.tensor([0, 1, 2, 0])).grad_fn is None
    seen = []
    logits = a * 2
    logits.register_hook(lambda g: seen.append(g.shape))
    F.cross_entropy(logits, tg.tensor([0, 1, 2, 0])).backward()
    assert seen == [(4, 3)]


def test_other_cases_keep_the_composite():
    a = tg.zeros(2, 3, 4, requires_grad=True)  # (N, C, d): not fused
    assert type(F.cross_entropy(a, tg.zeros(2, 4, dtype=tg.int64)).grad_fn) is not FusedNode
    b = tg.zeros(2, 3, requires_grad=True)
    assert type(F.cross_entropy(b, tg.tensor([0, 1]), label_smoothing=0.1).grad_fn) is not FusedNode
    assert type(F.cross_entropy(b, tg.tensor([0, 1]), weight=tg.ones(3)).grad_fn) is not FusedNode


def test_target_changed_in_place_is_an_error_as_in_torch():
    a = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = tg.tensor([0, 1, 2, 0])
    loss = F.cross_entropy(a, t)
    t[0] = 2
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_create_graph_runs_input_hooks_once_and_matches_plain_backward():
    """The replay is captured at aliases of the inputs: the logits' hook runs once per pass, not twice."""
    x = rng.standard_normal((5, 4))
    grads = {}
    for create_graph in (False, True):
        a = tg.tensor(x, requires_grad=True)
        logits = a * 1.5
        calls = []
        logits.register_hook(lambda g: calls.append(1) or g * 2)
        (ga,) = tg.autograd.grad(F.cross_entropy(logits, tg.tensor([0, 1, 2, 3, 0])), a, create_graph=create_graph)
        grads[create_graph] = ga.detach().numpy()
        assert len(calls) == 1
    np.testing.assert_allclose(grads[True], grads[False], rtol=1e-12)


def test_anomaly_mode_runs_the_composite_and_its_checks():
    a = tg.tensor([[np.inf, 0.0]], requires_grad=True)
    with tg.autograd.detect_anomaly():
        with pytest.raises(Exception, match="anomaly mode"):
            F.cross_entropy(a, tg.tensor([0]))
