"""Graph mode: state created inside the first trace (optimizer moments, Variables) gives eager's numbers."""

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.errors import TraceError

OPTIMIZERS = {
    "sgd_momentum": lambda ps: tg.optim.SGD(ps, lr=0.1, momentum=0.9),
    "sgd_nesterov_dampening": lambda ps: tg.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
    "adam": lambda ps: tg.optim.Adam(ps, lr=0.01),
    "adamw_amsgrad": lambda ps: tg.optim.AdamW(ps, lr=0.01, amsgrad=True),
    "rmsprop": lambda ps: tg.optim.RMSprop(ps, lr=0.01, momentum=0.5),
    "adagrad": lambda ps: tg.optim.Adagrad(ps, lr=0.1),
}


def _train(make_opt, compile_with, steps=5):
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(4, 8), tg.nn.ReLU(), tg.nn.Linear(8, 3))
    opt = make_opt(model.parameters())

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    f = compile_with(step) if compile_with else step
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        x = tg.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        y = tg.tensor(rng.integers(0, 3, 5))
        losses.append(f(x, y).numpy().copy())
    f.opt = opt
    return losses, [p.detach().numpy().copy() for p in model.parameters()], f


@pytest.mark.parametrize("compile_with", [tg.jit, tg.function], ids=["jit", "function"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_training_step_with_state_made_on_first_step_equals_eager(name, compile_with):
    want_losses, want_params, _ = _train(OPTIMIZERS[name], None)
    got_losses, got_params, f = _train(OPTIMIZERS[name], compile_with)
    for a, b in zip(want_losses, got_losses):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    for a, b in zip(want_params, got_params):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert f.trace_count == 2  # the first trace created the state and ran once; the second reads it


def test_optimizer_state_is_concrete_after_the_first_compiled_step():
    _, _, f = _train(OPTIMIZERS["sgd_momentum"], tg.jit, steps=1)
    _, _, g = _train(OPTIMIZERS["adam"], tg.jit, steps=1)
    for fn in (f, g):
        opt = fn.opt
        for state in opt.state.values():
            for v in state.values():
                assert isinstance(v.numpy(), np.ndarray)  # not a symbolic value left over from the trace


def test_variable_created_on_the_first_call_only_is_state():
    class Counter:
        def __init__(self):
            self.v = None

        @tg.function
        def __call__(self, x):
            if self.v is None:
                self.v = tg.Variable(tg.zeros(3))
            self.v.assign_add(x)
            return self.v.value() * 2

    c = Counter()
    for i in range(1, 5):
        np.testing.assert_array_equal(c(tg.ones(3)).numpy(), np.full(3, 2.0 * i, np.float32))
        np.testing.assert_array_equal(c.v.numpy(), np.full(3, float(i), np.float32))
    assert Counter.__call__.trace_count == 2


def test_variable_created_on_every_call_is_a_clear_error():
    @tg.function
    def f(x):
        v = tg.Variable(tg.ones(3), name="w")
        return v * x

    np.testing.assert_array_equal(f(tg.full((3,), 2.0)).numpy(), np.full(3, 2.0, np.float32))  # first trace: allowed
    with pytest.raises(TraceError, match=r"'w'.*first trace only.*Fix: create the Variable outside"):
        f(tg.full((3,), 2.0))


def test_variable_from_a_traced_value_is_a_clear_error():
    @tg.jit
    def f(x):
        return tg.Variable(x * 2)

    with pytest.raises(TypeError, match="initial value is a traced value.*Fix: create the Variable outside"):
        f(tg.ones(3))


def test_escape_check_keeps_plain_functions_to_one_trace():
    @tg.jit
    def f(x):
        buf = tg.zeros(3)
        buf.add_(x)  # a temporary written in place: not state
        return buf * 2

    for _ in range(3):
        np.testing.assert_array_equal(f(tg.ones(3)).numpy(), np.full(3, 2.0, np.float32))
    assert f.trace_count == 1
