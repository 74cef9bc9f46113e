"""The `tapegrad` command line: one subcommand per job: `train` (the main job), `eval` and `predict` (in
`tapegrad/train.py`), and `demo`; compare, graph and bench follow.

Depends only on the public API (`import tapegrad as tg`); called by the `tapegrad` console script and by
`python -m tapegrad`.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time

import tapegrad as tg

# *** demo: a small MLP on three interleaved spirals, written with raw tensors ***


def make_spirals(n_per_class: int = 300, classes: int = 3, turns: float = 1.25, noise: float = 0.25):
    """Points on `classes` spiral arms around the origin: returns (x float32 [N, 2], y int64 [N]).

    Arm k is r -> (r sin(theta), r cos(theta)) with theta = 2 pi (turns r + k / classes) plus noise, so
    the classes wind around each other and no straight line separates them. Uses tg's seeded generator.
    """
    r = tg.linspace(0.05, 1.0, n_per_class)
    xs, ys = [], []
    for k in range(classes):
        theta = (r * turns + k / classes) * (2 * math.pi) + tg.randn(n_per_class) * noise
        xs.append(tg.stack([r * theta.sin(), r * theta.cos()], dim=1))
        ys.append(tg.full((n_per_class,), k, dtype=tg.int64))
    return tg.cat(xs), tg.cat(ys)


def init_mlp(sizes) -> list:
    """[W1, b1, W2, b2, ...] for layer widths `sizes`, leaves that require grad (scaled normal init)."""
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params.append((tg.randn(fan_in, fan_out) * (1.0 / math.sqrt(fan_in))).requires_grad_())
        params.append(tg.zeros(fan_out, requires_grad=True))
    return params


def mlp(params, x):
    """tanh on the first hidden layer, relu on the rest, logits out."""
    h = x
    layers = len(params) // 2
    for i in range(layers):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i == 0:
            h = h.tanh()
        elif i < layers - 1:
            h = h.clamp(min=0.0)  # relu
    return h


def cross_entropy(logits, y):
    """Mean softmax cross-entropy from logits [N, C] and class indices [N]: logsumexp(z) - z[y]."""
    picked = logits.gather(1, y.unsqueeze(1)).squeeze(1)
    return (logits.logsumexp(dim=1) - picked).mean()


def accuracy(logits, y) -> float:
    return (logits.argmax(dim=1) == y).float().mean().item()


def _sgd_step(params, velocity, lr: float, momentum: float) -> None:
    """v = momentum * v + grad; p -= lr * v; then zero the grads (PyTorch's SGD with momentum, by hand)."""
    with tg.no_grad():
        for p, v in zip(params, velocity):
            v.mul_(momentum).add_(p.grad)
            p -= lr * v
            p.grad.zero_()


def _train_epoch(params, velocity, x, y, lr: float, momentum: float, batch_size: int) -> float:
    """One shuffled pass of minibatch forward + backward + step; returns the mean minibatch loss."""
    perm, total, batches = tg.randperm(x.shape[0]), 0.0, 0
    for i in range(0, x.shape[0], batch_size):
        idx = perm[i : i + batch_size]
        loss = cross_entropy(mlp(params, x[idx]), y[idx])
        loss.backward()
        _sgd_step(params, velocity, lr, momentum)
        total, batches = total + loss.item(), batches + 1
    return total / batches


def run_demo(epochs=40, seed=0, lr=0.05, momentum=0.9, hidden=64, batch_size=32, input_scale=4.0, out=print):
    """Trains the spiral MLP with minibatch SGD + momentum, printing one line per epoch through `out`.

    Returns [(mean train loss, train accuracy, test accuracy)], one tuple per epoch.
    """
    tg.manual_seed(seed)
    x, y = make_spirals()
    order, n_train = tg.randperm(x.shape[0]), x.shape[0] * 4 // 5
    train, test = order[:n_train], order[n_train:]
    params = init_mlp([2, hidden, hidden, 3])
    with tg.no_grad():
        params[0] *= input_scale  # a sharper first layer: the arms lie close together near the origin
    velocity = [tg.zeros_like(p) for p in params]
    out(
        f"tapegrad {tg.__version__} demo: MLP 2-{hidden}-{hidden}-3 on 3 interleaved spirals "
        f"({len(train)} train / {len(test)} test points)"
    )
    out(f"SGD lr {lr} (cosine decay) momentum {momentum}, batch {batch_size}, seed {seed}")

    history, start = [], time.perf_counter()
    for epoch in range(1, epochs + 1):
        step_lr = lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))  # decaying lr settles the end
        loss = _train_epoch(params, velocity, x[train], y[train], step_lr, momentum, batch_size)
        with tg.no_grad():
            train_acc, test_acc = accuracy(mlp(params, x[train]), y[train]), accuracy(mlp(params, x[test]), y[test])
        history.append((loss, train_acc, test_acc))
        out(
            f"epoch {epoch:3d}/{epochs}  loss {loss:.4f}  "
            f"train acc {100 * train_acc:5.1f}%  test acc {100 * test_acc:5.1f}%"
        )
    out(f"loss {history[0][0]:.4f} -> {history[-1][0]:.4f} in {time.perf_counter() - start:.1f} s")
    return history


# *** argument parsing ***


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tapegrad", description="tapegrad: automatic differentiation, one engine.")
    parser.add_argument("--version", action="version", version=f"tapegrad {tg.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.subcommands = sub.choices  # name -> its parser, so errors print that subcommand's usage
    demo = sub.add_parser("demo", help="train a small MLP on spirals and print the loss falling")
    demo.add_argument("--epochs", type=int, default=40, help="passes over the training set (default 40)")
    demo.add_argument("--seed", type=int, default=0, help="seed for data, init and shuffling (default 0)")
    demo.add_argument("--lr", type=float, default=0.05, help="peak SGD learning rate, cosine-decayed (default 0.05)")
    demo.add_argument("--hidden", type=int, default=64, help="width of the two hidden layers (default 64)")
    _train_parser(sub)
    from .compare import add_parser as _compare_parser

    _compare_parser(sub)
    return parser


def _train_parser(sub) -> None:
    from .train import CHECKPOINT_NAME, OPTIMIZERS

    train = sub.add_parser(
        "train",
        help="train a small CNN on the embedded 8x8 digits (the main job): progress, checkpoint, chart",
        description="Train a small CNN (or MLP) on the 8x8 handwritten digits shipped with tapegrad, or on "
        "MNIST-style IDX files with --data. Evaluates on held-out images every epoch and saves a checkpoint and a "
        "PNG chart of the loss and accuracy curves after every epoch. Defaults: cnn, adam, 10 epochs. A finished "
        "run is never replaced unless you ask: without --out a new run goes to runs/<data>-<model>, or to "
        "runs/<data>-<model>-2, -3, ... when that holds an earlier run; an --out folder that holds a run is refused "
        "unless --resume continues that run or --overwrite replaces it. Ctrl-C stops the run, keeping the "
        "checkpoint of the last finished epoch, and says how to resume.",
    )
    # NOTE: defaults of the options a checkpoint also records are None here, so --resume can tell which ones
    # the user actually gave (and refuse contradictions); train.py fills in the real defaults.
    train.add_argument("--model", choices=["cnn", "mlp"], help="network (default cnn)")
    train.add_argument("--epochs", type=int, help="total epochs (default 10; with --resume, the new total)")
    train.add_argument("--batch-size", type=int, help="samples per step (default 32)")
    train.add_argument("--lr", type=float, help="peak learning rate, cosine-decayed (default: 2e-3 for adam, 0.05 sgd)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer (default adam; sgd uses momentum 0.9)")
    train.add_argument("--seed", type=int, help="seed for the initial weights and the shuffling (default 0)")
    train.add_argument("--compile", action="store_true",
                       help="run each training step (forward, loss, backward, optimizer update) and the evaluation "
                            "as compiled graphs on the C backend (the numpy plan without a C compiler): the same "
                            "numbers, usually in less time per epoch; the first run spends a few seconds compiling "
                            "(cached for later runs)")
    train.add_argument("--data", metavar="DIR", help="MNIST / Fashion-MNIST IDX files (raw or .gz), not the digits")
    train.add_argument("--out", metavar="DIR", help="where the checkpoint and chart go (default runs/<data>-<model>, "
                       "or the next free runs/<data>-<model>-N when that holds an earlier run)")
    train.add_argument("--resume", metavar="PATH", help=f"continue from a {CHECKPOINT_NAME} written by train")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel across the processes that `mpiexec -n N` started (needs the mpi extra): "
                            "each takes 1/N of every batch of --batch-size; rank 0 prints and writes the checkpoint")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run in the --out folder (default runs/<data>-<model>) instead of refusing; "
                            "the old files stay until the first new epoch is saved")

    ev = sub.add_parser("eval", help="evaluate a checkpoint on its held-out images (accuracy, confusion matrix)")
    ev.add_argument("checkpoint", metavar="PATH", help=f"a {CHECKPOINT_NAME} written by tapegrad train (or its folder)")
    ev.add_argument("--data", metavar="DIR", help="IDX files to evaluate on (default: the data it was trained on)")

    pr = sub.add_parser(
        "predict",
        help="classify image files with a checkpoint",
        description="Classify grayscale images with a checkpoint. IMAGE: .png/.jpg (needs Pillow, in the viz "
        "extra), .pgm, or .npy (a 2-D array; integers in the data set's units, e.g. 0..16 for the digits, floats "
        "in [0, 1]), or a folder: the images directly inside it, by name. Bright pixels are ink, as in the "
        "training data (--invert for dark ink on a light background; an image with a light border gets a "
        "warning that it looks inverted). Other sizes are resized to the model's input; an image smaller than "
        "half of it is refused.",
    )
    pr.add_argument("checkpoint", metavar="PATH", help=f"a {CHECKPOINT_NAME} from tapegrad train (or its folder)")
    pr.add_argument("images", metavar="IMAGE", nargs="+", help="image files, or folders of them, to classify")
    pr.add_argument("--invert", action="store_true", help="the images have dark ink on a light background")

    sub.add_parser("bench", add_help=False,
                   help="the compiler benchmarks (run from the root of a source checkout), --help for options")

    gr = sub.add_parser("graph", help="draw the traced graph of a function (forward and backward) as DOT/SVG/PNG")
    gr.add_argument("target", metavar="MODULE:FUNCTION", help="an importable function, e.g. mypkg.model:loss")
    gr.add_argument("--arg", metavar="SHAPE", action="append", default=[],
                    help="one float32 example argument per --arg, by shape, e.g. --arg 128,784 (--arg '' for a scalar)")
    gr.add_argument("--no-backward", action="store_true", help="draw the forward graph only")
    gr.add_argument("-o", "--output", metavar="PATH", help="write .svg/.png (needs Graphviz) or .dot; default: print DOT")


def _check_train_args(parser, args) -> None:
    for name in ("epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.lr is not None and not args.lr > 0:
        parser.error(f"--lr must be above 0, got {args.lr}")


def _fail(message: str) -> int:
    """One `tapegrad: error: ...` line on stderr; returns the exit status 2."""
    print(f"tapegrad: error: {message}", file=sys.stderr)
    return 2


def _run_job(fn, *args, **kwargs) -> int:
    from .train import JobError

    try:
        fn(*args, **kwargs)
    except (JobError, tg.distributed.DistributedError) as e:
        rc = _fail(str(e))
        _end_other_ranks(rc)
        return rc
    return 0


def _end_other_ranks(rc: int) -> None:
    """A --distributed job that fails on one rank ends on all: the others would wait for it in their next
    collective."""
    if tg.distributed.is_initialized() and tg.distributed.get_world_size() > 1:
        tg.distributed.abort(rc)


def _interrupted(e: KeyboardInterrupt) -> int:
    """Ctrl-C: one line on stderr (the job's own account of what it kept, if it gave one), no traceback, and the
    exit status 130 (128 + SIGINT) that shells expect."""
    print(f"tapegrad: {e}" if str(e) else "tapegrad: interrupted (Ctrl-C)", file=sys.stderr)
    return 130


def _run_bench(argv) -> int:
    """`tapegrad bench`: benchmarks/compiler.py, which lives at the root of a source checkout, not in the
    installed package; found from the current directory (as `python -m benchmarks` would)."""
    import os

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        from benchmarks.compiler import main as bench
    except ModuleNotFoundError as e:
        if e.name not in ("benchmarks", "benchmarks.compiler"):
            return _fail(f"bench: the benchmarks need the module {e.name!r}, which is not installed; pip install {e.name}")
        return _fail(
            f"bench: no benchmarks/ folder in {os.getcwd()}: the benchmarks ship in tapegrad's source checkout, "
            "not in the installed package; run `tapegrad bench` (or `python -m benchmarks`) from the root of a "
            "tapegrad checkout, the folder that holds benchmarks/ and tapegrad/"
        )
    return bench(argv)


def main(argv=None) -> int:
    """The `tapegrad` entry point; returns the exit status. A closed standard output (e.g. `| head`) ends it
    quietly rather than with a BrokenPipeError traceback."""
    import os

    try:
        rc = _main(argv)
        sys.stdout.flush()  # inside the try: a reader that went away fails here, not at interpreter exit
        return rc
    except KeyboardInterrupt as e:
        return _interrupted(e)
    except BrokenPipeError:
        try:  # Python's recipe: point stdout at devnull so the flush at exit does not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141  # 128 + SIGPIPE, as a shell tool killed by the closed pipe would


def _main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _run_bench(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    sub = parser.subcommands.get(args.command, parser)  # errors below print this subcommand's usage
    if args.command == "demo":
        for name, value in (("epochs", args.epochs), ("hidden", args.hidden)):
            if value < 1:
                sub.error(f"--{name} must be at least 1, got {value}")
        if not args.lr > 0:
            sub.error(f"--lr must be above 0, got {args.lr}")
        run_demo(epochs=args.epochs, seed=args.seed, lr=args.lr, hidden=args.hidden)
        return 0
    if args.command in ("train", "eval", "predict"):
        from . import train

        if args.command == "train":
            _check_train_args(sub, args)
            return _run_job(train.run_train, args)
        if args.command == "eval":
            return _run_job(train.run_eval, args.checkpoint, args.data)
        return _run_job(train.run_predict, args.checkpoint, args.images, invert=args.invert)
    if args.command == "graph":
        return _run_graph(sub, args)
    if args.command == "compare":
        from . import compare

        return compare.main(args)
    parser.print_help()
    return 2


def _run_graph(parser, args) -> int:
    """tapegrad graph module:function: the picture of a function's graph (tapegrad/viz.py)."""
    import importlib
    import inspect
    import os
    import shutil
    import subprocess

    import tapegrad as tg

    mod_name, _, fn_name = args.target.partition(":")
    if not mod_name or not fn_name:
        parser.error(f"expected MODULE:FUNCTION, got {args.target!r} (e.g. mypkg.model:loss)")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # find mymodel.py in the current directory first, as `python -m` does
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        return _fail(f"graph: cannot import {mod_name!r}: {e}; run from the folder that holds "
                     f"{mod_name.split('.')[0]}(.py), or add its folder to PYTHONPATH")
    fn = getattr(module, fn_name, None)
    if fn is None:
        return _fail(f"graph: {mod_name} has no {fn_name!r}; name a function defined in {module.__file__}")
    if not callable(fn):
        return _fail(f"graph: {args.target} is not a function (it is the {type(fn).__name__} {fn!r:.40}); "
                     "name a function, e.g. mymodel:loss")
    try:
        shapes = [tuple(int(n) for n in a.split(",") if n.strip()) for a in args.arg]
    except ValueError:
        parser.error(f"--arg takes a shape such as 128,784, got {args.arg}")
    example = [tg.randn(*s) for s in shapes]
    try:
        inspect.signature(fn).bind(*example)
    except TypeError:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
        n = len(params)
        return _fail(f"graph: {fn_name} takes {n} argument{'s' if n != 1 else ''} ({', '.join(p.name for p in params)})"
                     f" but {len(example)} --arg {'was' if len(example) == 1 else 'were'} given; "
                     "pass one --arg SHAPE per argument")
    except ValueError:  # no signature (a builtin): let the call below say what is wrong
        pass
    out = args.output
    if out:
        folder = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(folder):
            return _fail(f"graph: cannot write {out}: the folder {folder} does not exist; create it or pass another -o")
    ext = os.path.splitext(out or "")[1].lstrip(".").lower()
    picture = ext in ("svg", "png", "pdf")
    no_graphviz = picture and not shutil.which("dot")
    path = out + ".dot" if no_graphviz else out
    try:
        dot = tg.viz.draw(fn, *example, backward=not args.no_backward, path=path)
    except OSError as e:
        return _fail(f"graph: cannot write {path}: {e.strerror or e}; pass -o a path you can write to")
    except subprocess.CalledProcessError as e:
        return _fail(f"graph: Graphviz's `dot` failed to render {out} (exit status {e.returncode}); "
                     "pass -o with a .dot name to get the DOT text")
    except Exception as e:  # noqa: BLE001  the user's function failed on these example inputs
        shown = ", ".join(f"--arg {a}" for a in args.arg) or "no --arg"
        return _fail(f"graph: {args.target} failed when traced with {shown}: {type(e).__name__}: {e}; "
                     "check the shapes passed with --arg")
    if not out:
        print(dot)
        return 0
    if no_graphviz:
        return _fail(f"graph: cannot make {out}: Graphviz's `dot` program is not installed; wrote the DOT text to "
                     f"{path} instead. Install Graphviz (apt-get install graphviz, or brew install graphviz) and "
                     "run again, or pass -o with a .dot name")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
