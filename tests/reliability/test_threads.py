"""Threads: grad mode, interpreters and tracing belong to the thread that entered them (as in PyTorch), so two
threads training two models agree with the same runs one after another, and a compiled function shared by
threads is correct and traced once."""

import threading

import numpy as np

import tapegrad as tg
import tapegrad.nn as nn


def _setup(seed: int):
    """Model, optimizer and data, made in the calling thread (the default generator is process-wide, as in
    PyTorch, so the initial weights are drawn before the threads start)."""
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((32, 6)), dtype=tg.float32)
    y = tg.tensor(rng.integers(0, 3, 32))
    return model, opt, x, y


def _train(setup, steps: int, barrier=None) -> list:
    model, opt, x, y = setup
    losses = []
    for _ in range(steps):
        if barrier is not None:
            barrier.wait()  # interleave the threads' steps as tightly as possible
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()  # a no_grad region: in a process-wide flag it would stop the other thread's recording
        losses.append(loss.item())
    return losses


def _in_threads(fns) -> list:
    results, errors = [None] * len(fns), []

    def run(i):
        try:
            results[i] = fns[i]()
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def test_grad_mode_is_per_thread():
    inside, seen = threading.Event(), []

    def holder():
        with tg.no_grad():
            inside.set()
            done.wait(10)

    def recorder():
        inside.wait(10)
        x = tg.ones(2, requires_grad=True)
        seen.append(((x * 2).sum().requires_grad, tg.is_grad_enabled()))
        done.set()

    done = threading.Event()
    _in_threads([holder, recorder])
    assert seen == [(True, True)]
    assert tg.is_grad_enabled()


def test_two_models_in_two_threads_match_sequential_runs():
    expected = [_train(_setup(1), 15), _train(_setup(2), 15)]
    barrier = threading.Barrier(2, timeout=60)
    first, second = _setup(1), _setup(2)
    got = _in_threads([lambda: _train(first, 15, barrier), lambda: _train(second, 15, barrier)])
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_tracing_in_one_thread_does_not_capture_another_threads_eager_ops():
    started, finish = threading.Event(), threading.Event()

    def slow(x):
        started.set()
        finish.wait(10)  # keep the trace open while the other thread computes eagerly
        return x * 2

    f = tg.jit(slow)
    eager = []

    def other():
        started.wait(10)
        a = tg.ones(3, requires_grad=True)
        b = (a * 3).sum()
        b.backward()
        eager.append((b.item(), a.grad.tolist()))
        finish.set()

    out = _in_threads([lambda: f(tg.ones(3)), other])
    assert out[0].tolist() == [2.0, 2.0, 2.0]
    assert eager == [(9.0, [3.0, 3.0, 3.0])]


def test_compiled_function_from_many_threads_is_correct_and_traced_once():
    f = tg.jit(lambda x, y: tg.tanh(x @ y).sum(1) * 2)
    rng = np.random.default_rng(0)
    inputs = [(rng.standard_normal((8, 5)), rng.standard_normal((5, 7))) for _ in range(4)]
    barrier = threading.Barrier(4, timeout=60)

    def call(i):
        a, b = inputs[i]
        barrier.wait()  # the first calls race
        outs = [f(tg.tensor(a), tg.tensor(b)).numpy() for _ in range(20)]
        return a, b, outs

    results = _in_threads([lambda i=i: call(i) for i in range(4)])
    assert f.trace_count == 1
    for a, b, outs in results:
        for o in outs:
            np.testing.assert_allclose(o, np.tanh(a @ b).sum(1) * 2, rtol=1e-12)


def test_backward_through_a_compiled_loop_from_two_threads():
    """The while loop's body and vjp sub-graphs run on plans whose buffers every call shares: two threads'
    backward passes through one jitted loop must take turns (each plan holds a lock), not interleave."""
    from tapegrad.trace import control

    def f(x, k):
        body = lambda c, i: ((c * 0.9 + c.sin()) * 0.5 + c.cos() * 0.1, i + 1)  # noqa: E731
        c, _ = control.while_loop(lambda c, i: i < k, body, (x, tg.tensor(0)))
        return c.sum()

    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(20000).astype(np.float32) for _ in range(2)]

    def grad_of(a, fn):
        x = tg.tensor(a, requires_grad=True)
        fn(x, tg.tensor(5)).backward()
        return x.grad.numpy().copy()

    want = [grad_of(a, f) for a in inputs]
    for backend in ("numpy", "c"):
        jf = tg.jit(f, backend=backend)
        got = _in_threads([lambda k=k: [grad_of(inputs[k], jf) for _ in range(15)] for k in range(2)])
        for k in range(2):
            for g in got[k]:
                np.testing.assert_allclose(g, want[k], rtol=1e-4, atol=1e-4)
