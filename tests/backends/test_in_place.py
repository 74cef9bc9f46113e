"""Write-backs in place (backends/c/plan.py `_in_place`): a compiled step's update of a captured parameter is
written by its kernel straight into the parameter's array, instead of a new array copied in after the call. It
must give eager's values, keep the parameter's array (and bump its version), and step aside whenever the
difference could show: another input sharing the memory, a later reader of the old value, a later step that can
fail."""

import numpy as np
import pytest

import tapegrad as tg


@pytest.fixture(autouse=True)
def _cache(c_cache, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


def _setup(momentum=0.0):
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(5, 8), tg.nn.ReLU(), tg.nn.Linear(8, 3))
    opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=momentum)
    return model, opt


def _step(model, opt, extra=None):
    def step(x, y):
        opt.zero_grad()
        loss = tg.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss if extra is None else (loss, extra(model, x))

    return step


def _data(k):
    rng = np.random.default_rng(k)
    return tg.tensor(rng.standard_normal((6, 5)).astype(np.float32)), tg.tensor(rng.integers(0, 3, 6))


def _plan(f, *args):
    return f.get_concrete_function(*args).plan()


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_updates_in_place_match_eager_and_keep_the_arrays(momentum):
    model, opt = _setup(momentum)
    ref, ref_opt = _setup(momentum)
    f = tg.function(_step(model, opt), backend="c")
    eager = _step(ref, ref_opt)
    arrays = [p._data for p in model.parameters()]
    versions = [p._version.value for p in model.parameters()]
    for k in range(4):
        x, y = _data(k)
        np.testing.assert_allclose(f(x, y).item(), eager(x, y).item(), rtol=1e-5)
    for p, q, a, v in zip(model.parameters(), ref.parameters(), arrays, versions):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6)
        assert p._data is a and p._version.value > v
    plan = _plan(f, *_data(0))
    assert plan._into, "no update was written in place"


def test_an_input_sharing_a_parameters_memory_gets_new_arrays():
    model, opt = _setup()
    ref, ref_opt = _setup()
    w = model[0].weight

    def step(x, y, w_in):
        opt.zero_grad()
        loss = tg.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss, w_in * 2.0  # read after the update (an elementwise kernel): must see the value from before it

    f = tg.function(step, backend="c")
    x, y = _data(1)
    f(x, y, tg.zeros(8, 5))
    assert _plan(f, x, y, tg.zeros(8, 5))._into  # in place when the inputs are apart
    ref.load_state_dict(model.state_dict())
    ref_opt.load_state_dict(opt.state_dict())
    before = w.numpy().copy()
    _, s = f(x, y, tg.from_numpy(w._data[:, :]))  # a view of the parameter's array, passed as an input
    np.testing.assert_array_equal(s.numpy(), 2 * before)
    _step(ref, ref_opt)(x, y)
    np.testing.assert_allclose(w.numpy(), ref[0].weight.numpy(), rtol=1e-5, atol=1e-6)


def test_a_later_reader_of_the_old_value_keeps_the_copy():
    model, opt = _setup()
    f = tg.function(_step(model, opt, extra=lambda m, x: m[0].weight * 1.0), backend="c")
    x, y = _data(2)
    before = model[0].weight.numpy().copy()
    _, w_after = f(x, y)  # the optimizer's update (in place) then a read of the weight: the new value
    np.testing.assert_allclose(w_after.numpy(), model[0].weight.numpy(), rtol=1e-6)
    assert not np.allclose(before, model[0].weight.numpy())


def test_a_failing_call_leaves_the_parameters_as_they_were():
    model, opt = _setup()

    def step(x, y, idx):
        opt.zero_grad()
        loss = tg.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss, x[idx]  # a gather after the update: fails on a bad index

    f = tg.function(step, backend="c")
    x, y = _data(3)
    f(x, y, tg.tensor([0, 1]))
    before = [p.numpy().copy() for p in model.parameters()]
    with pytest.raises(IndexError):
        f(x, y, tg.tensor([0, 99]))
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), b)
