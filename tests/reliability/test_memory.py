"""Memory over many training steps: RSS stays within a budget and no reference cycles are left for the garbage
collector, eager and compiled. CI runs 300 steps; a long local run (10,000 steps, RSS printed):

    TAPEGRAD_MEMORY_STEPS=10000 pytest tests/reliability/test_memory.py -s
"""

import gc
import os

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn

STEPS = int(os.environ.get("TAPEGRAD_MEMORY_STEPS", "300"))
RSS_BUDGET_MB = 20  # growth allowed between the warm-up and the end of the run


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _training(compiled: bool):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4))
    opt = tg.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((64, 16)), dtype=tg.float32)
    y = tg.tensor(rng.integers(0, 4, 64))

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    step = tg.function(step, backend="c") if compiled else step
    return lambda: step(x, y)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_training_steps_keep_rss_flat_and_leave_no_cycles(compiled):
    step = _training(compiled)
    for _ in range(20):  # warm-up: traces, compiles, optimizer state, allocator pools
        step()
    gc.collect()
    gc.disable()
    try:
        start = _rss_mb()
        for i in range(1, STEPS + 1):
            step().item()
            if i in (1000, 10000):
                print(f"{'compiled' if compiled else 'eager'}: RSS after {i} steps {_rss_mb():.1f} MB")
        grown = _rss_mb() - start
        cycles = gc.collect()  # objects only the cycle collector could free: leaked by every step
    finally:
        gc.enable()
    assert cycles == 0, f"{cycles} objects in reference cycles after {STEPS} steps"
    assert grown < RSS_BUDGET_MB, f"RSS grew {grown:.1f} MB over {STEPS} steps"
