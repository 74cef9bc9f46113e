"""Data-parallel training over MPI: time per step of the W1 MLP on 1 and 2 ranks, and what communication costs.

    python -m benchmarks.distributed              # 1 and 2 ranks (needs `pip install ".[mpi]"`)
    python -m benchmarks.distributed --ranks 1 2 4 --steps 40

Each rank count runs in its own `mpiexec -n N` job. The model is W1's MLP (784-512-512-10, float32) wrapped in
DistributedDataParallel, trained with SGD on a global batch of 128 split across the ranks (strong scaling, as
`tapegrad train --distributed` does). Per rank count it reports, as medians over alternating timed rounds:

- step: a full training step (forward, backward with DDP's bucketed non-blocking allreduce, SGD update);
- local step: the same step under `no_sync()`, which skips communication;
- communication share: (step - local step) / step, the part of a step that communication adds;
- allreduce: one blocking allreduce of every gradient (the bytes a step sends), timed alone;
- bytes all-reduced per step: 4 per float32 parameter.

On a machine whose cores one process already keeps busy (this project's 2-core one), 2 ranks cannot be faster
than 1; the numbers say what communication costs, not what more machines would gain (docs/distributed.md has
that on paper).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

DIMS = (784, 512, 512, 10)
GLOBAL_BATCH = 128


def _worker(steps: int) -> None:
    import contextlib

    import numpy as np

    import tapegrad as tg
    import tapegrad.distributed as dist
    from tapegrad import nn
    from tapegrad.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    tg.manual_seed(0)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(DIMS, DIMS[1:])):
        layers += [nn.Linear(fan_in, fan_out)] + ([nn.ReLU()] if i < len(DIMS) - 2 else [])
    model = DistributedDataParallel(nn.Sequential(*layers))
    opt = tg.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(rank)
    x = tg.tensor(rng.standard_normal((GLOBAL_BATCH // world, DIMS[0])).astype(np.float32))
    y = tg.tensor(rng.integers(0, DIMS[-1], GLOBAL_BATCH // world))

    def step(sync: bool) -> None:
        opt.zero_grad()
        with contextlib.nullcontext() if sync else model.no_sync():
            nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    n_params = sum(p.numel() for p in model.parameters())
    flat = tg.zeros(n_params)

    def allreduce(_sync: bool) -> None:
        dist.all_reduce(flat)

    def timed(fn, sync: bool) -> float:
        dist.barrier()  # every rank starts the round together
        start = time.perf_counter()
        for _ in range(steps):
            fn(sync)
        dist.barrier()
        return (time.perf_counter() - start) / steps

    for _ in range(3):  # warm up: first-call costs, bucket setup
        step(True)
        step(False)
    rounds = {"step": [], "local step": [], "allreduce": []}
    for _ in range(5):  # alternate, so a burst of load from elsewhere hits every kind alike
        rounds["step"].append(timed(step, True))
        rounds["local step"].append(timed(step, False))
        rounds["allreduce"].append(timed(allreduce, True))
    if rank == 0:
        result = {k: statistics.median(v) for k, v in rounds.items()}
        result.update(ranks=world, params=n_params, bytes_per_step=4 * n_params)
        print("RESULT " + json.dumps(result), flush=True)


def _run(ranks: int, steps: int) -> dict:
    mpiexec = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(mpiexec):
        raise SystemExit('benchmarks.distributed: no mpiexec; install it with pip install ".[mpi]"')
    cmd = [mpiexec, "-n", str(ranks), sys.executable, "-m", "benchmarks.distributed", "--worker",
           "--steps", str(steps)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"benchmarks.distributed: {ranks} ranks failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[-1][len("RESULT "):])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="rank counts to run (default 1 2)")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed round (default 20)")
    parser.add_argument("--json", help="also write the results as JSON to this path")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.steps)
        return 0
    load = os.getloadavg()[0]
    results = [_run(n, args.steps) for n in args.ranks]
    print(f"W1 MLP {'-'.join(map(str, DIMS))}, global batch {GLOBAL_BATCH}, DistributedDataParallel over MPI "
          f"(load average {load:.2f} on {os.cpu_count()} cores before the runs)")
    print(f"{'ranks':>5}  {'step ms':>8}  {'local step ms':>13}  {'comm share':>10}  {'allreduce ms':>12}  bytes/step")
    for r in results:
        share = max(0.0, (r["step"] - r["local step"]) / r["step"])
        print(f"{r['ranks']:>5}  {r['step'] * 1e3:8.2f}  {r['local step'] * 1e3:13.2f}  {share:10.0%}  "
              f"{r['allreduce'] * 1e3:12.3f}  {r['bytes_per_step']:,}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load_average": load, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
