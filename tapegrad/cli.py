"""The `tapegrad` command line: one subcommand per job (for now `demo`; train, compare, graph, bench follow).

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
    demo = sub.add_parser("demo", help="train a small MLP on spirals and print the loss falling")
    demo.add_argument("--epochs", type=int, default=40, help="passes over the training set (default 40)")
    demo.add_argument("--seed", type=int, default=0, help="seed for data, init and shuffling (default 0)")
    demo.add_argument("--lr", type=float, default=0.05, help="peak SGD learning rate, cosine-decayed (default 0.05)")
    demo.add_argument("--hidden", type=int, default=64, help="width of the two hidden layers (default 64)")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.epochs < 1 or args.hidden < 1 or not args.lr > 0:
            parser.error("demo: --epochs and --hidden must be at least 1 and --lr above 0")
        run_demo(epochs=args.epochs, seed=args.seed, lr=args.lr, hidden=args.hidden)
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
