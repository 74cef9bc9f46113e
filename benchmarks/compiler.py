"""The compiler benchmarks of issue 6, in one run: W1 .. W6 in tapegrad (eager, traced on numpy, traced on C)
and in every peer that is installed (PyTorch eager and torch.compile, JAX jit, TensorFlow tf.function with and
without jit_compile, tinygrad TinyJit). Every runner runs in a fresh process of its own (benchmarks/isolated.py),
in rounds of alternating order; the table shows the median over processes, the ratio to the best peer, the first
call's time, whether each runner agrees with tapegrad eager, and how busy the rest of the machine was.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks [--rounds 2] [--only W3] [--json out.json]

`--same-process` runs every runner in this one process, taking turns, as the suite used to: a diagnostic only
(it slows the peers; docs/performance.md says why). The workloads are in benchmarks/workloads.py, each
framework's code in benchmarks/peers/<framework>_.py.
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
        description="The benchmarks W1..W7: tapegrad eager / traced numpy / traced C against the installed "
        "peers, every runner in a fresh process of its own, in rounds of alternating order, with the other "
        "processes' CPU use recorded and busy runs flagged. Quote only numbers from a quiet run with "
        "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...).",
        epilog=" ".join(f"{k}: {w.describe(w.sizes)} [{w.unit}]." for k, w in WORKLOADS.items()))
    p.add_argument("--repeats", type=int, default=5,
                   help="timed samples per process (--same-process: timed rounds); medians are reported (default 5)")
    p.add_argument("--warmup", type=int, default=2,
                   help="untimed calls after the first calls (default 2: TinyJit replays from its third call)")
    p.add_argument("--rounds", type=int, default=2,
                   help="processes per runner and workload, the order reversed every round; the median over them is "
                   "reported (default 2)")
    p.add_argument("--sample-s", type=float, default=0.2, help="seconds one timed sample lasts, about (default 0.2)")
    p.add_argument("--retries", type=int, default=1,
                   help="extra attempts of a process whose samples ran while other processes kept more than "
                   "--busy-cores cores busy; the quietest is kept (default 1)")
    p.add_argument("--busy-cores", type=float, default=None, metavar="CORES",
                   help="other processes' CPU use above which a sample counts as busy (default 0.25 cores)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="hold every framework to N threads (OpenMP, OpenBLAS, MKL, TensorFlow; XLA for N=1; not "
                   "tinygrad): on a machine other processes keep busy, N=1 avoids the collapse of spinning thread pools "
                   "(default: each framework's own, one thread per core)")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                   help="before each process, wait up to S seconds for other processes to drop below --busy-cores")
    p.add_argument("--strict", action="store_true",
                   help="refuse a busy run: exit with status 3 when any row is still busy after its retries")
    p.add_argument("--same-process", action="store_true",
                   help="diagnostic: every runner in this one process, taking turns inside every repeat (the peers "
                   "lose up to half their speed this way; never quote these numbers)")
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


def _environment(frameworks: list, load_before: float | None, other_before: float | None) -> dict:
    import numpy as np

    from benchmarks import machine

    blas = sorted({lib for fw in frameworks for lib in fw.blas}) or machine.blas_libraries()
    return {"python": platform.python_version(), "numpy": np.__version__, "cpu": machine.cpu_description(),
            "cores": machine.cores(), "load_average_1min": load_before, "other_cores_before": other_before,
            "blas": blas, "slowing_variables_set": [v for v in SLOWING_VARIABLES if v in os.environ],
            "frameworks": {fw.name: {"status": fw.status, "version": fw.version or None, "message": fw.message or None}
                           for fw in frameworks}}


def _print_environment(env: dict, frameworks: list) -> None:
    print(f"python {env['python']}, numpy {env['numpy']}, {env['cpu']}")
    for fw in frameworks:
        print(f"  {fw.name:<11} {fw.version}" if fw.status == "ok" else f"  {fw.name:<11} skipped: {fw.message}")
    print("BLAS: " + "; ".join(env["blas"]))
    load, other = env["load_average_1min"], env["other_cores_before"]
    print(f"machine load before the run: load average {load if load is None else round(load, 2)}, other processes "
          f"using {other if other is None else round(other, 2)} cores")
    if (load is not None and load >= 0.5) or (other is not None and other > 0.25):
        print(f"NOTE: other processes compete for the {env['cores']} cores: expect noisy numbers (threaded BLAS "
              "and OpenMP runners suffer most); rows measured while busy are flagged")
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


def _check_args(parser, args) -> None:
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.repeats < 1 or args.warmup < 0 or args.rounds < 1 or args.retries < 0 or not args.sample_s > 0:
        parser.error("--repeats and --rounds must be at least 1, --warmup and --retries at least 0 and --sample-s "
                     f"above 0, got {args.repeats}, {args.rounds}, {args.warmup}, {args.retries} and {args.sample_s}")
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
        parser.error(f"--json {args.json}: the folder {os.path.dirname(os.path.abspath(args.json))} does not exist")


def _settings(args):
    from benchmarks import isolated, load

    return isolated.Settings(tiny=args.tiny, repeats=args.repeats, warmup=args.warmup, rounds=args.rounds,
                             sample_s=args.sample_s, retries=args.retries,
                             busy_cores=load.BUSY_CORES if args.busy_cores is None else args.busy_cores,
                             try_known_failures=args.try_known_failures, threads=args.threads,
                             wait_quiet_s=args.wait_quiet)


def _frameworks(names: list, same_process: bool, threads: int | None) -> list:
    """Imported here for --same-process; otherwise each described by a process of its own, never imported here."""
    from benchmarks import isolated
    from benchmarks.peers import load

    return [load(n) if same_process else isolated.describe(n, threads=threads) for n in names]


def _progress(key, row, result) -> None:
    """One line on stderr per child process, so a long run shows it is alive (the table goes to stdout)."""
    other = result.get("other_cores")
    print(f"  {key} {row.runner}: {result['status']}" + (f", other processes {other:.2f} cores" if other is not None
                                                       else ""), file=sys.stderr, flush=True)


def _run(args, key: str, loaded: list, settings):
    from benchmarks import harness, isolated

    workload = WORKLOADS[key]
    sizes = workload.tiny if args.tiny else workload.sizes
    if args.same_process:
        return harness.run_workload(workload, sizes, loaded, args.repeats, args.warmup, args.try_known_failures)
    return isolated.run_workload(workload, sizes, loaded, settings, log=_progress)


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    peers = selected_peers(parser, args.peers)

    from benchmarks import load, report

    load_before, other_before = load.load_average(), load.quiet_now()  # before any framework's work
    if args.same_process and args.threads is not None:
        parser.error("--threads applies to the processes of an isolated run; for --same-process set OMP_NUM_THREADS "
                     "and the like yourself")
    frameworks = _frameworks(["tapegrad", *peers], args.same_process, args.threads)
    settings = _settings(args)
    env = _environment(frameworks, load_before, other_before)
    _print_environment(env, frameworks)
    print(report.legend(args.repeats, args.warmup, None if args.same_process else settings))
    loaded = [fw for fw in frameworks if fw.status == "ok"]
    results = {"environment": env, "settings": {"repeats": args.repeats, "warmup": args.warmup, "tiny": args.tiny,
                                                "try_known_failures": args.try_known_failures,
                                                "same_process": args.same_process, "rounds": args.rounds,
                                                "sample_s": args.sample_s, "retries": args.retries,
                                                "busy_cores": settings.busy_cores, "threads": args.threads,
                                                "wait_quiet_s": args.wait_quiet},
               "workloads": {}}
    for key in sorted(set(args.only or WORKLOADS)):
        workload = WORKLOADS[key]
        sizes = workload.tiny if args.tiny else workload.sizes
        rows = _run(args, key, loaded, settings)
        lines, bounds = _bounds(key, sizes)
        print()
        print(report.workload_table(workload, sizes, rows, lines), flush=True)
        results["workloads"][key] = report.workload_json(workload, sizes, rows, bounds)
    env["load_average_1min_after"] = load.load_average()
    print()
    print(report.summary(results["workloads"]))
    busy = report.busy_rows(results["workloads"])
    print(report.load_line(env, busy, measured=not args.same_process))
    if args.json:
        report.write_json(args.json, results)
        print(f"\nwrote {args.json}")
    return 3 if (args.strict and busy) else 0


if __name__ == "__main__":
    sys.exit(main())
