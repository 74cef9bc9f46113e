"""The fixed cost of calling a compiled function: `f(x) = x * 2` on a 16-element float32 tensor, traced once,
then called 20,000 times per sample (issue 16). Each runner in a process of its own, the runners alternating.

    python -m benchmarks.call_cost                                  # tapegrad (C and numpy plans)
    python -m benchmarks.call_cost --jax-python /path/to/python     # and jax.jit, in that interpreter

Prints the median and the minimum over the samples of each process, in microseconds per call, with the machine's
load average (the numbers are only comparable within one run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

CALLS, SAMPLES = 20000, 7


def _child(which: str) -> None:
    import numpy as np

    x0 = np.arange(16, dtype=np.float32)
    if which == "jax.jit":
        import jax
        import jax.numpy as jnp

        f, x = jax.jit(lambda x: x * 2.0), jnp.asarray(x0)

        def call():
            return f(x).block_until_ready()
    else:
        import tapegrad as tg

        f, x = tg.jit(lambda x: x * 2.0, backend=which.split()[-1]), tg.from_numpy(x0)

        def call():
            return f(x)
    for _ in range(100):
        call()
    times = []
    for _ in range(SAMPLES):
        t0 = time.perf_counter()
        for _ in range(CALLS):
            call()
        times.append((time.perf_counter() - t0) / CALLS * 1e6)
    times.sort()
    print(f"{times[len(times) // 2]:.2f} {times[0]:.2f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jax-python", help="a Python interpreter with jax installed, for the jax.jit runner")
    ap.add_argument("--rounds", type=int, default=2, help="processes per runner, in alternating order")
    args = ap.parse_args(argv)
    runners = [("tapegrad jit c", sys.executable), ("tapegrad jit numpy", sys.executable)]
    if args.jax_python:
        runners.append(("jax.jit", args.jax_python))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    results: dict = {name: [] for name, _ in runners}
    for r in range(args.rounds):
        for name, python in runners if r % 2 == 0 else runners[::-1]:
            out = subprocess.run([python, "-m", "benchmarks.call_cost", "--child", name], capture_output=True,
                                 text=True, env=env, check=True).stdout.split()
            results[name].append((float(out[0]), float(out[1])))
    print(f"fixed cost of f(x) = x * 2 on 16 float32 (us per call; load average {os.getloadavg()[0]:.2f})")
    for name, rows in results.items():
        rows.sort()
        print(f"  {name:20s} median {rows[len(rows) // 2][0]:7.2f}   min {min(m for _, m in rows):7.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        main()
