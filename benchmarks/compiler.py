"""The compiler benchmarks of issue 6, in one run: W1 .. W6 in tapegrad (eager, traced on numpy, traced on C)
and in every peer that is installed (PyTorch eager and torch.compile, JAX jit, TensorFlow tf.function with and
without jit_compile, tinygrad TinyJit). The runners take turns inside every repeat; the table shows medians,
the ratio to the best peer, the first call's time, and whether each runner agrees with tapegrad eager.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks [--repeats 5] [--only W3] [--json out.json]

The workloads are in benchmarks/workloads.py, each framework's code in benchmarks/peers/<framework>_.py.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

from benchmarks.workloads import WORKLOADS

SLOWING_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _parser() -> argparse.ArgumentParser:
    from benchmarks.peers import PEERS

    p = argparse.ArgumentParser(
        prog="tapegrad bench",
        description="The compiler benchmarks W1..W6: tapegrad eager / traced numpy / traced C against the installed "
        "peers, in one run, alternating. Quote only numbers from a run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE "
        "unset (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...).",
        epilog=" ".join(f"{k}: {w.describe(w.sizes)} [{w.unit}]." for k, w in WORKLOADS.items()))
    p.add_argument("--repeats", type=int, default=5, help="timed rounds per workload; medians are reported (default 5)")
    p.add_argument("--warmup", type=int, default=2,
                   help="untimed rounds after the first calls (default 2: TinyJit replays from its third call)")
    p.add_argument("--only", action="append", type=str.upper, choices=sorted(WORKLOADS), metavar="W",
                   help="run only this workload (repeatable), e.g. --only W2")
    p.add_argument("--peers", default=",".join(PEERS), metavar="LIST",
                   help=f"comma-separated peers to run, or 'none' (default: {','.join(PEERS)})")
    p.add_argument("--tiny", action="store_true",
                   help="every workload shrunk to a few thousand elements, to check that every runner works and "
                   "agrees (compiling still takes its time); its timings mean nothing")
    p.add_argument("--try-known-failures", action="store_true",
                   help="also run the workloads a peer's module lists as known to fail (after minutes of compiling)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return p


def selected_peers(parser, text: str) -> list:
    from benchmarks.peers import select

    try:
        return select(text)
    except ValueError as e:
        parser.error(f"--peers: {e}")


def _environment(frameworks: list, load_before: float | None) -> dict:
    import numpy as np

    from benchmarks import machine

    return {"python": platform.python_version(), "numpy": np.__version__, "cpu": machine.cpu_description(),
            "cores": machine.cores(), "load_average_1min": load_before, "blas": machine.blas_libraries(),
            "slowing_variables_set": [v for v in SLOWING_VARIABLES if v in os.environ],
            "frameworks": {fw.name: {"status": fw.status, "version": fw.version or None, "message": fw.message or None}
                           for fw in frameworks}}


def _print_environment(env: dict, frameworks: list) -> None:
    print(f"python {env['python']}, numpy {env['numpy']}, {env['cpu']}")
    for fw in frameworks:
        print(f"  {fw.name:<11} {fw.version}" if fw.status == "ok" else f"  {fw.name:<11} skipped: {fw.message}")
    print("BLAS: " + "; ".join(env["blas"]))
    load = env["load_average_1min"]
    if load is not None and load >= 0.5:
        print(f"NOTE: load average {load:.1f} on {env['cores']} cores before the run: other processes compete for "
              "the CPU, so expect noisy numbers (threaded BLAS and OpenMP runners suffer most)")
    if env["slowing_variables_set"]:
        print(f"NOTE: {', '.join(env['slowing_variables_set'])} set: numpy's BLAS is slowed; quote only numbers run "
              "with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`")


def _bounds(key: str, sizes: dict) -> tuple:
    """(lines for the table, fields for the JSON) of the machine's limit for W3 and W5."""
    from benchmarks import machine

    if key == "W3":
        gbs = machine.copy_bandwidth_gbs()
        ms = machine.w3_bound_ms(sizes["n"], gbs)
        line = (f"{'bandwidth bound':<26} {ms:>10.3g}  ms: read x, write its gradient (8 bytes/element) at "
                f"{gbs:.1f} GB/s, a large copy's rate here")
        return [line], {"bandwidth_gbs": gbs, "bandwidth_bound_ms": ms}
    if key == "W5":
        peak, how = machine.peak_gflops()
        if peak is None:
            return [f"peak estimate: {how}"], {"peak_gflops": None, "peak_estimate": how}
        return [f"{'peak estimate':<26} {peak:>10.1f}  GFLOP/s = {how}"], {"peak_gflops": peak, "peak_estimate": how}
    return [], {}


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        parser.error(f"--repeats must be at least 1 and --warmup at least 0, got {args.repeats} and {args.warmup}")
    peers = selected_peers(parser, args.peers)
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
        parser.error(f"--json {args.json}: the folder {os.path.dirname(os.path.abspath(args.json))} does not exist")

    from benchmarks import harness, machine, report
    from benchmarks.peers import load

    load_before = machine.load_average()  # before importing the peers, which is work of our own
    frameworks = [load(name) for name in ["tapegrad", *peers]]
    env = _environment(frameworks, load_before)
    _print_environment(env, frameworks)
    print(report.legend(args.repeats, args.warmup))
    loaded = [fw for fw in frameworks if fw.status == "ok"]
    results = {"environment": env, "settings": {"repeats": args.repeats, "warmup": args.warmup, "tiny": args.tiny,
                                                "try_known_failures": args.try_known_failures},
               "workloads": {}}
    for key in sorted(set(args.only or WORKLOADS)):
        workload = WORKLOADS[key]
        sizes = workload.tiny if args.tiny else workload.sizes
        rows = harness.run_workload(workload, sizes, loaded, args.repeats, args.warmup, args.try_known_failures)
        lines, bounds = _bounds(key, sizes)
        print()
        print(report.workload_table(workload, sizes, rows, lines), flush=True)
        results["workloads"][key] = report.workload_json(workload, sizes, rows, bounds)
    print()
    print(report.summary(results["workloads"]))
    if args.json:
        report.write_json(args.json, results)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
