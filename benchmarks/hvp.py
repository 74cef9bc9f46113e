"""W6 of the compiler suite alone, at any size: the Hessian-vector product of sum(tanh(W @ x)**2) by forward
over reverse, jvp(grad(f)), in tapegrad (eager, traced numpy, traced C) and the installed peers. The runners are
those of `python -m benchmarks --only W6`, each in processes of its own, which checks tapegrad eager against the float64 closed form
H = W^T diag(2 (1 - t^2)(1 - 3 t^2)) W, t = tanh(W x), and every peer against tapegrad eager.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.hvp [--n 512] [--repeats 5] [--rounds 2]
"""

from __future__ import annotations

import argparse

from benchmarks.workloads import WORKLOADS


def main(argv=None) -> int:
    from benchmarks.peers import PEERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="W is n x n float32 (default 512)")
    parser.add_argument("--repeats", type=int, default=5, help="timed samples per process (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="processes per runner, alternating (default 2)")
    parser.add_argument("--peers", default=",".join(PEERS), metavar="LIST",
                        help=f"comma-separated peers, or 'none' (default: {','.join(PEERS)})")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1 or args.rounds < 1:
        parser.error(f"--n, --repeats and --rounds must be at least 1, got {args.n}, {args.repeats}, {args.rounds}")

    from benchmarks import isolated, report
    from benchmarks.compiler import selected_peers

    frameworks = [isolated.describe(name) for name in ["tapegrad", *selected_peers(parser, args.peers)]]
    for fw in frameworks:
        if fw.status != "ok":
            print(f"{fw.name}: skipped: {fw.message}")
    workload, sizes = WORKLOADS["W6"], {"n": args.n}
    settings = isolated.Settings(repeats=args.repeats, rounds=args.rounds)
    rows = isolated.run_workload(workload, sizes, [fw for fw in frameworks if fw.status == "ok"], settings)
    print(report.legend(args.repeats, settings.warmup, settings))
    print(report.workload_table(workload, sizes, rows, []))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
