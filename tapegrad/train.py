"""The main job behind `tapegrad train`, `eval` and `predict`: a small CNN or MLP on the embedded 8x8 digits
(or MNIST-style IDX files), with a live progress bar, held-out evaluation, checkpoints and a chart. With
--compile the training step and the evaluation run as compiled graphs (CompiledStep), with eager's numbers (up to the order of float sums).

Depends on the public API only (tg.nn, tg.optim, tg.data, tg.save / tg.load), like a user's script; called by
`tapegrad/cli.py`. tqdm draws the progress bar; matplotlib (the `viz` extra) draws the chart.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F

CHECKPOINT_NAME, CHART_NAME = "checkpoint.safetensors", "curves.png"
SPLIT_SEED = 0  # the digits' held-out split is the same for every --seed, so runs compare on the same images
DEFAULT_LR = {"adam": 2e-3, "adamw": 2e-3, "sgd": 0.05, "rmsprop": 1e-3, "adagrad": 0.05}
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")


def _plural(n: int, word: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n} {word}" + ("" if n == 1 else "s")


class JobError(Exception):
    """A problem with the user's request (bad option, wrong checkpoint): the CLI prints it and exits 2."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a job; its text is the one line that says what was kept and how to go on (the CLI prints
    it and exits 130)."""


# *** data ***


def load_data(data_dir: str | None):
    """(train, held-out, info): TensorDatasets of float32 images (N, 1, H, W) in [0, 1] and int64 labels.

    No data_dir: the embedded digits, 80% / 20% split (fixed split seed). With data_dir: MNIST-style IDX
    files, the train-* files for training and the t10k-* files held out.
    """
    if data_dir is None:
        images, labels = tg.data.datasets.load_digits()
        full = _dataset(images, labels, scale=16.0)
        train, test = tg.data.random_split(full, [0.8, 0.2], seed=SPLIT_SEED)
        info = {"data": "digits", "scale": 16.0}
    else:
        scale = 255.0
        try:
            train = _dataset(*tg.data.datasets.load_mnist(data_dir, "train"), scale=scale)
            test = _dataset(*tg.data.datasets.load_mnist(data_dir, "test"), scale=scale)
        except (FileNotFoundError, tg.data.datasets.IDXError) as e:
            raise JobError(str(e)) from None
        info = {"data": str(Path(data_dir).resolve()), "scale": scale}
    x0, _ = train[0]
    info.update(height=int(x0.shape[1]), width=int(x0.shape[2]), classes=_num_classes(train, test))
    return train, test, info


def _dataset(images: np.ndarray, labels: np.ndarray, scale: float):
    x = tg.from_numpy((images.astype(np.float32) / np.float32(scale))[:, None])
    return tg.data.TensorDataset(x, tg.from_numpy(labels.astype(np.int64)))


def _num_classes(*datasets) -> int:
    return int(max(_labels(d).max() for d in datasets)) + 1


def _labels(ds) -> np.ndarray:
    if isinstance(ds, tg.data.Subset):
        return _labels(ds.dataset)[np.asarray(ds.indices, dtype=np.int64)]
    return ds.tensors[1].numpy()


# *** model and optimizer ***


def build_model(kind: str, height: int, width: int, classes: int) -> nn.Module:
    """cnn: two 3x3 conv + relu + 2x2 max-pool blocks (32 and 64 channels), then a linear classifier.
    mlp: flatten, one hidden layer of 128 relu units, a linear classifier."""
    if kind == "cnn":
        flat = 64 * (height // 4) * (width // 4)
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(flat, classes),
        )  # fmt: skip
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(height * width, 128), nn.ReLU(), nn.Linear(128, classes))
    raise JobError(f"unknown model {kind!r}; choose cnn or mlp")


def make_optimizer(name: str, params, lr: float):
    if name == "sgd":
        return tg.optim.SGD(params, lr=lr, momentum=0.9)
    classes = {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
    if name not in classes:
        raise JobError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return getattr(tg.optim, classes[name])(params, lr=lr)


def _cosine_lr(lr: float, epoch: int, epochs: int) -> float:
    """The learning rate of epoch (0-based): cosine decay from lr towards 0 over `epochs`."""
    return lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))


# *** one epoch ***


def _eval_batch(model, x, y):
    """(summed cross-entropy, number of correct predictions) of one batch, as tensors."""
    logits = model(x)
    return F.cross_entropy(logits, y, reduction="sum"), (logits.argmax(dim=1) == y).sum()


def evaluate(model, dataset, batch_size: int = 512, batch_fn=None) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of `model` on `dataset`, in eval mode and without recording grads.
    `batch_fn(x, y)` replaces the eager `_eval_batch` (train --compile passes its compiled one)."""
    model.eval()
    batch_fn = batch_fn or (lambda x, y: _eval_batch(model, x, y))
    total_loss, correct, n = 0.0, 0, 0
    with tg.no_grad():
        for x, y in tg.data.DataLoader(dataset, batch_size=batch_size):
            loss, right = batch_fn(x, y)
            total_loss += loss.item()
            correct += int(right.item())
            n += y.shape[0]
    return total_loss / n, correct / n


def _eager_step(model, opt, x, y, weight=None, average=None):
    """One training step on the eager engine: (loss, number of correct predictions), as tensors.
    --distributed: the loss is scaled by `weight` (this rank's share of the global batch, see _shard_batches)
    and `average` (with --compile only; else DistributedDataParallel does it) averages the gradients."""
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    opt.zero_grad()
    (loss if weight is None else loss * weight).backward()
    if average is not None:
        average()
    opt.step()
    with tg.no_grad():
        right = (logits.argmax(dim=1) == y).sum()
    return loss, right


def _train_epoch(model, opt, loader, bar, step=None, ranks=None) -> tuple[float, float]:
    """One pass over loader with `step(x, y)` (a CompiledStep; None: the eager step). --distributed: loader
    yields (x, y, weight), and the epoch's loss and accuracy are those of every rank's samples."""
    model.train()
    step = step or (lambda *batch: _eager_step(model, opt, *batch))
    total_loss, correct, n = 0.0, 0, 0
    for batch in loader:
        loss, right = step(*batch)
        count = batch[1].shape[0] if len(batch) == 2 or batch[2] else 0  # weight 0: a stand-in sample
        correct += int(right.item()) if count else 0
        total_loss, n = total_loss + loss.item() * count, n + count
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total_loss / n:.4f}", acc=f"{100 * correct / n:.1f}%", refresh=False)
    if ranks is not None and ranks.world > 1:
        totals = tg.tensor([total_loss, correct, n], dtype=tg.float64)
        tg.distributed.all_reduce(totals)
        total_loss, correct, n = totals.tolist()
    return total_loss / n, correct / n


class CompiledStep:
    """The whole training step (forward, loss, zero_grad, backward and the optimizer's update) traced by
    tg.function into one graph and run on the C backend (the numpy plan executor when there is no C compiler).
    Call it with (x, y); it returns the loss and the number of correct predictions, as tensors, with the
    numbers of the eager step.

    The learning rate goes in as a float64 tensor, so the cosine schedule changes it without a new trace. The
    very first step runs eagerly: it creates the optimizer's state, which the graph then reads and updates
    (traced instead, that step would get a graph of its own, compiled for one call). A last, smaller batch
    gets its own graph once, so every sample is used as in the eager loop. `evaluate_batch` is the held-out
    evaluation's batch function, compiled too (its graph is traced in eval mode)."""

    def __init__(self, model, opt, average=None):
        self.model, self.opt, self.started, self.average = model, opt, False, average
        self.fn = tg.function(self._step)  # the default backend: C when there is a compiler, else numpy
        self.evaluate_batch = tg.function(lambda x, y: _eval_batch(model, x, y))

    def _step(self, x, y, lr, weight=None):
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        self.opt.zero_grad()
        (loss if weight is None else loss * weight).backward()
        if self.average is not None:
            self.average()  # in the graph: an all_reduce equation per gradient
        floats = [g["lr"] for g in self.opt.param_groups]
        for g in self.opt.param_groups:
            g["lr"] = lr  # read while tracing: the update's lr becomes an input of the graph
        try:
            self.opt.step()
        finally:
            for g, f in zip(self.opt.param_groups, floats):
                g["lr"] = f
        with tg.no_grad():
            right = (logits.argmax(dim=1) == y).sum()
        return loss, right

    def __call__(self, x, y, weight=None):
        first, self.started = not self.started, True
        if first and not self.opt.state:
            return _eager_step(self.model, self.opt, x, y, weight, self.average)
        weight = () if weight is None else (tg.tensor(weight, dtype=tg.float32),)  # an input: no retrace per value
        return self.fn(x, y, tg.tensor(self.opt.param_groups[0]["lr"], dtype=tg.float64), *weight)


def _progress(total: int, desc: str):
    """A tqdm bar on a terminal (loss, accuracy and steps/s); None elsewhere (logs, tests)."""
    import sys

    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False, dynamic_ncols=True)


# *** --distributed ***


class Ranks:
    """This process's place in a --distributed run (rank 0 of 1 without it). Rank 0 is the lead: it alone
    prints, evaluates, and writes the checkpoint and chart."""

    def __init__(self, distributed: bool):
        self.distributed = distributed
        if distributed and not tg.distributed.is_initialized():
            tg.distributed.init_process_group(backend="mpi")
        self.rank, self.world = (tg.distributed.get_rank(), tg.distributed.get_world_size()) if distributed else (0, 1)
        self.lead = self.rank == 0


def _shard_batches(dataset, batch_size: int, generator, ranks: Ranks):
    """--distributed: the global batches of the single-process loader (one permutation, the same on every rank),
    each cut into one share per rank, yielded as (x, y, weight). weight = world * share / batch makes the mean
    of the ranks' gradients the gradient of the global batch's mean loss, also when the last batch does not
    divide evenly; a rank whose share of a short last batch is empty takes one stand-in sample with weight 0, so
    that it still joins that step's all-reduce."""
    order = generator.permutation(len(dataset))  # what DataLoader(shuffle=True, generator=...) draws
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        mine = batch[ranks.rank :: ranks.world]
        weight = ranks.world * len(mine) / len(batch)
        if not len(mine):
            mine, weight = batch[:1], 0.0
        x, y = next(iter(tg.data.DataLoader(tg.data.Subset(dataset, mine.tolist()), batch_size=len(mine))))
        yield x, y, weight


def _average_gradients(model):
    """--distributed --compile: the gradients averaged inside the step (DistributedDataParallel's hooks need
    eager gradients), one all_reduce per parameter, recorded in the compiled graph."""

    def average():
        for p in model.parameters():
            if p.grad is not None:
                p.grad = tg.distributed.functional.all_reduce(p.grad, "avg")

    return average


# *** checkpoints ***

HISTORY_KEYS = ("train_loss", "train_acc", "test_loss", "test_acc", "seconds")


def save_checkpoint(path: Path, model, opt, epoch: int, config: dict, history: dict) -> None:
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch, "config": config,
             "history": history}  # fmt: skip
    tg.save(state, path, metadata={"tapegrad.job": "train", "epoch": str(epoch)})


def load_checkpoint(path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    try:
        state = tg.load(path)
    except FileNotFoundError as e:
        raise JobError(f"{e} (pass the file that `tapegrad train` wrote, e.g. runs/digits-cnn/{CHECKPOINT_NAME})")
    except tg.serialization.CheckpointError as e:
        raise JobError(str(e)) from None
    if not isinstance(state, dict) or not {"model", "config", "epoch"} <= set(state):
        raise JobError(
            f"{path} is a safetensors file but not a `tapegrad train` checkpoint (it has no model / config / epoch "
            "entries); load it with tg.load and Module.load_state_dict instead"
        )
    state["path"] = path
    return state


def _model_from(state: dict):
    cfg = state["config"]
    model = build_model(cfg["model"], cfg["height"], cfg["width"], cfg["classes"])
    try:
        model.load_state_dict(state["model"])
    except tg.nn.StateDictError as e:
        raise JobError(f"{state['path']}: the weights do not fit a {cfg['model']} model:\n{e}") from None
    return model


# *** the chart ***


def save_chart(history: dict, path: Path, title: str) -> Path | None:
    """Loss and accuracy per epoch (train and held-out) as a PNG; None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = list(range(1, len(history["train_loss"]) + 1))
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
    ax_loss.plot(epochs, history["test_loss"], "s-", label="held-out")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss (log scale)", title="loss (log scale)",
               yscale="log")
    ax_acc.plot(epochs, [100 * a for a in history["train_acc"]], "o-", label="train")
    ax_acc.plot(epochs, [100 * a for a in history["test_acc"]], "s-", label="held-out")
    best = max(history["test_acc"])
    ax_acc.axhline(100 * best, color="gray", lw=0.8, ls="--")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"accuracy (best held-out {100 * best:.2f}%, dashed)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title)
    tmp = path.with_name(f".{path.name}.tmp")  # one fixed name: what a killed write left, the next one replaces
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    os.replace(tmp, path)  # a half-drawn chart never sits under the final name
    return path


# *** train ***


def _resolve(args, resumed: dict | None) -> dict:
    """The run's configuration: the checkpoint's when resuming (options that contradict it are errors),
    else the command line's with defaults filled in."""
    given = {k: getattr(args, k) for k in ("model", "optimizer", "lr", "batch_size", "seed", "data")}
    if resumed is None:
        cfg = {"model": given["model"] or "cnn", "optimizer": given["optimizer"] or "adam", "seed": given["seed"] or 0,
               "batch_size": given["batch_size"] or 32, "data": given["data"]}  # fmt: skip
        cfg["lr"] = given["lr"] if given["lr"] is not None else DEFAULT_LR[cfg["optimizer"]]
        return cfg
    cfg = dict(resumed["config"])
    data_now = str(Path(given["data"]).resolve()) if given["data"] else None
    clashes = [f"--{k.replace('_', '-')} {v} (checkpoint: {cfg.get(k)})" for k, v in given.items()
               if v is not None and k != "data" and v != cfg.get(k)]  # fmt: skip
    if given["data"] is not None and data_now != cfg.get("data"):
        clashes.append(f"--data {given['data']} (checkpoint: {cfg.get('data')})")
    if clashes:
        raise JobError(
            f"--resume {resumed['path']} continues that run with its own settings, but you asked for "
            f"{'; '.join(clashes)}. Leave those options out to resume, or start a new run without --resume"
        )
    cfg["data"] = None if cfg["data"] == "digits" else cfg["data"]
    return cfg


class _Progress:
    """What a Ctrl-C would leave behind, kept up to date by run_train so that the interrupt can say it."""

    def __init__(self):
        self.resumed = None  # the checkpoint this run continues
        self.epochs = None  # the total this run trains to
        self.epoch = None  # the epoch in progress (1-based); None before training starts
        self.saved = None  # (path, epochs, chart or None) of the newest checkpoint this run wrote

    def message(self) -> str:
        where = "before training started" if self.epoch is None else f"in epoch {self.epoch}/{self.epochs}"
        if self.saved is not None:
            path, done, chart = self.saved
            kept = f"kept {path} ({_plural(done, 'epoch')} done)" + (" and its chart" if chart else "")
            if done == self.epochs:
                return f"interrupted after the last epoch; the run is complete: {kept}"
            return f"interrupted {where}; {kept}; resume with: tapegrad train --resume {path}"
        if self.resumed is not None:
            path, done = self.resumed["path"], self.resumed["epoch"]
            more = f" --epochs {self.epochs}" if self.epochs not in (None, self.resumed["config"].get("epochs")) else ""
            return (f"interrupted {where}; {path} is unchanged ({_plural(done, 'epoch')}); resume with: "
                    f"tapegrad train --resume {path}{more}")  # fmt: skip
        return f"interrupted {where}; no checkpoint of this run was written; run the same command to start again"


def _ctrl_c_is_pythons() -> bool:
    """Python's own Ctrl-C handling on the main thread: not ignored (a background job), not someone else's
    handler, and not another thread (signal.signal works on the main thread only, where signals arrive)."""
    on_main = threading.current_thread() is threading.main_thread()
    return on_main and signal.getsignal(signal.SIGINT) is signal.default_int_handler


@contextlib.contextmanager
def _interrupt_after():
    """Holds back Ctrl-C until the block is done, then raises it: the checkpoint and the chart are written as a
    pair (an interrupt between the two would leave a new checkpoint beside an old chart). Both take well under
    a second."""
    if not _ctrl_c_is_pythons():
        yield
        return
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def _holds_run(folder: Path) -> bool:
    return (folder / CHECKPOINT_NAME).exists() or (folder / CHART_NAME).exists()


def _default_out(base: Path, overwrite: bool) -> Path:
    """runs/<data>-<model> (`base`), or the first of runs/<data>-<model>-2, -3, ... that holds no run: running
    the README's command twice keeps both runs. --overwrite reuses `base`."""
    if overwrite:
        return base
    names = itertools.chain([base], (base.with_name(f"{base.name}-{n}") for n in itertools.count(2)))
    return next(folder for folder in names if not _holds_run(folder))


def _refuse_to_replace(out: Path, resumed: dict | None) -> None:
    """A folder that holds a run is written only by --resume of that very run, or with --overwrite."""
    ckpt = out / CHECKPOINT_NAME
    if not _holds_run(out) or (resumed is not None and ckpt.resolve() == resumed["path"].resolve()):
        return
    held = ckpt if ckpt.exists() else out / CHART_NAME
    resume = f"train it further with --resume {ckpt} --epochs TOTAL, " if ckpt.exists() else ""
    raise JobError(f"--out {out} already holds a run ({held}) and this run would replace it; {resume}pass another "
                   "--out, or add --overwrite to replace it")  # fmt: skip


def _out_folder(args, cfg: dict, resumed: dict | None, echo) -> Path:
    """The folder this run writes its checkpoint and chart to, created; never one that holds another run
    unless --overwrite says so."""
    if args.out or resumed is not None:
        out = Path(args.out) if args.out else resumed["path"].parent
    else:
        base = Path("runs") / _run_name(cfg)
        out = _default_out(base, args.overwrite)
        if out != base:
            echo(f"{base} holds an earlier run, so this one goes to {out} (--overwrite would replace the earlier one)")
    if out.exists() and not out.is_dir():
        raise JobError(f"--out {out} is an existing file, not a folder; --out names the folder for the checkpoint "
                       "and chart (created if missing): pass a new or existing folder")
    if not args.overwrite:
        _refuse_to_replace(out, resumed)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise JobError(f"--out {out}: cannot create that folder ({e.strerror or e}); pass --out a folder you can "
                       "write to") from None
    return out


def _total_epochs(args, cfg: dict, resumed: dict | None) -> tuple[int, int]:
    """(first epoch, total epochs). Without --epochs, a resumed run finishes the run it was part of (e.g. after
    Ctrl-C)."""
    start = resumed["epoch"] if resumed else 0
    epochs = args.epochs if args.epochs is not None else cfg.get("epochs", 10)
    if resumed is not None and epochs <= start:
        raise JobError(
            f"{resumed['path']} has already trained {_plural(start, 'epoch')}; pass --epochs with the total you want "
            f"(more than {start}), e.g. --epochs {start + 5}"
        )
    return start, epochs


def _model_and_state(cfg: dict, resumed: dict | None):
    """(model, optimizer, history): new ones seeded by cfg, or the resumed checkpoint's."""
    tg.manual_seed(cfg["seed"])
    if resumed is None:
        model = build_model(cfg["model"], cfg["height"], cfg["width"], cfg["classes"])
        return model, make_optimizer(cfg["optimizer"], model.parameters(), cfg["lr"]), {k: [] for k in HISTORY_KEYS}
    model = _model_from(resumed)
    opt = make_optimizer(cfg["optimizer"], model.parameters(), cfg["lr"])
    opt.load_state_dict(resumed["optimizer"])
    return model, opt, {k: list(resumed["history"][k]) for k in HISTORY_KEYS}


def run_train(args, echo=print) -> dict:
    """Trains per `args` (the parsed `tapegrad train` options); returns {"history", "checkpoint", "chart", ...}.
    Ctrl-C at any point raises Interrupted, whose text says what was kept and how to resume."""
    progress = _Progress()
    try:
        return _train(args, progress, echo)
    except KeyboardInterrupt:
        raise Interrupted(progress.message()) from None


def _train(args, progress: _Progress, echo) -> dict:
    ranks = Ranks(getattr(args, "distributed", False))
    echo = echo if ranks.lead else (lambda *a, **k: None)
    resumed = progress.resumed = load_checkpoint(args.resume) if args.resume else None  # every rank reads it
    cfg = _resolve(args, resumed)
    train_ds, test_ds, info = load_data(cfg["data"])
    cfg.update(info)
    start_epoch, epochs = _total_epochs(args, cfg, resumed)
    progress.epochs = cfg["epochs"] = epochs
    out = _out_folder(args, cfg, resumed, echo) if ranks.lead else None
    model, opt, history = _model_and_state(cfg, resumed)
    net = model  # what the steps call: with --distributed (eager), the DistributedDataParallel wrapper
    if ranks.distributed:
        echo(f"--distributed: {ranks.world} ranks, each takes 1/{ranks.world} of every batch of "
             f"{cfg['batch_size']}; rank 0 prints and writes the checkpoint")  # fmt: skip
        if not args.compile:
            net = tg.nn.parallel.DistributedDataParallel(model)

    n_params = sum(p.numel() for p in model.parameters())
    verb = f"resuming {resumed['path']} at epoch {start_epoch + 1}:" if resumed else "training"
    echo(f"tapegrad {tg.__version__} {verb} {cfg['model']} ({n_params:,} parameters) on {_data_name(cfg)} "
         f"({len(train_ds)} train / {len(test_ds)} held-out images, {cfg['height']}x{cfg['width']}, "
         f"{cfg['classes']} classes)")  # fmt: skip
    echo(f"{cfg['optimizer']} lr {cfg['lr']:g} (cosine decay over {_plural(epochs, 'epoch')}), batch {cfg['batch_size']}, "
         f"seed {cfg['seed']}")  # fmt: skip

    average = _average_gradients(model) if ranks.distributed and args.compile else None
    step = CompiledStep(model, opt, average) if args.compile else None
    if step is not None:
        echo("--compile: the training step (forward, loss, backward, update) and the evaluation run as compiled "
             "graphs; the first epoch traces and compiles them (cached for later runs)")
    title = (f"tapegrad train: {cfg['model']} on {_data_name(cfg)}, {cfg['optimizer']} lr {cfg['lr']:g}, "
             f"seed {cfg['seed']}")  # fmt: skip
    ckpt_path, chart, started = out and out / CHECKPOINT_NAME, None, time.perf_counter()
    for epoch in range(start_epoch, epochs):
        progress.epoch = epoch + 1
        for group in opt.param_groups:
            group["lr"] = _cosine_lr(cfg["lr"], epoch, epochs)
        # each epoch's order depends only on (seed, epoch), so a resumed run shuffles as the uninterrupted one
        order = np.random.default_rng([cfg["seed"], epoch])
        if ranks.distributed:
            loader, steps = _shard_batches(train_ds, cfg["batch_size"], order, ranks), math.ceil(len(train_ds) / cfg["batch_size"])
        else:
            loader = tg.data.DataLoader(train_ds, batch_size=cfg["batch_size"], shuffle=True, generator=order)
            steps = len(loader)
        t0 = time.perf_counter()
        bar = _progress(steps, f"epoch {epoch + 1}/{epochs}") if ranks.lead else None
        try:
            train_loss, train_acc = _train_epoch(net, opt, loader, bar, step, ranks)
        finally:  # closed on Ctrl-C too, so the interrupt's message starts on a clean line
            if bar is not None:
                bar.close()
        if not ranks.lead:  # the replicas are equal: rank 0 alone evaluates and writes
            continue
        test_loss, test_acc = evaluate(model, test_ds, batch_fn=step and step.evaluate_batch)
        seconds = time.perf_counter() - t0
        for k, v in zip(HISTORY_KEYS, (train_loss, train_acc, test_loss, test_acc, seconds)):
            history[k].append(v)
        echo(f"epoch {epoch + 1:3d}/{epochs}  train loss {train_loss:.4f} acc {100 * train_acc:5.1f}%  "
             f"held-out loss {test_loss:.4f} acc {100 * test_acc:5.2f}%  ({seconds:.1f} s, "
             f"{steps / seconds:.0f} steps/s)")  # fmt: skip
        # the chart is drawn with every checkpoint, so the one beside a checkpoint always shows its epochs
        with _interrupt_after():
            save_checkpoint(ckpt_path, model, opt, epoch + 1, cfg, history)
            chart = save_chart(history, out / CHART_NAME, f"{title} ({epoch + 1} of {_plural(epochs, 'epoch')})")
            progress.saved = (ckpt_path, epoch + 1, chart)

    elapsed = time.perf_counter() - started
    if not ranks.lead:
        return {"history": history, "checkpoint": None, "chart": None, "config": cfg, "seconds": elapsed}
    echo(f"held-out accuracy {100 * history['test_acc'][-1]:.2f}% after {_plural(epochs, 'epoch')} "
         f"({elapsed:.1f} s this run)")  # fmt: skip
    echo(f"checkpoint: {ckpt_path}")
    if chart is not None:
        echo(f"chart:      {chart}")
    else:
        echo("chart:      not drawn: matplotlib is not installed (pip install 'tapegrad[viz]' adds it)")
    echo(f"next:       tapegrad eval {ckpt_path}   |   tapegrad train --resume {ckpt_path} --epochs {epochs + 5}")
    return {"history": history, "checkpoint": ckpt_path, "chart": chart, "config": cfg, "seconds": elapsed}


def _run_name(cfg) -> str:
    return f"{'digits' if cfg['data'] is None else Path(cfg['data']).name}-{cfg['model']}"


def _data_name(cfg) -> str:
    return "the 8x8 digits" if cfg["data"] in (None, "digits") else f"IDX files in {cfg['data']}"


# *** eval ***


def run_eval(path, data_dir=None, echo=print) -> dict:
    """Evaluates a checkpoint on its held-out split: loss, accuracy, per-class accuracy and confusion matrix."""
    state = load_checkpoint(path)
    model = _model_from(state)
    cfg = state["config"]
    data = data_dir if data_dir is not None else (None if cfg["data"] == "digits" else cfg["data"])
    _, test_ds, info = load_data(data)
    if (info["height"], info["width"]) != (cfg["height"], cfg["width"]):
        raise JobError(
            f"the checkpoint's {cfg['model']} takes {cfg['height']}x{cfg['width']} images but {_data_name(info)} "
            f"has {info['height']}x{info['width']}; evaluate it on the data it was trained on"
        )
    loss, acc = evaluate(model, test_ds)
    model.eval()
    x, y = _all(test_ds)
    with tg.no_grad():
        pred = model(x).argmax(dim=1).numpy()
    truth = y.numpy()
    k = cfg["classes"]
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (truth, pred), 1)
    echo(f"{state['path']}: {cfg['model']} trained {_plural(state['epoch'], 'epoch')} on {_data_name(cfg)}")
    echo(f"held-out: {len(test_ds)} images  loss {loss:.4f}  accuracy {100 * acc:.2f}%")
    echo("confusion matrix (rows: true class, columns: predicted):")
    echo("      " + "".join(f"{j:>5d}" for j in range(k)))
    for i in range(k):
        row_acc = 100 * confusion[i, i] / max(1, confusion[i].sum())
        echo(f"  {i:>3d} " + "".join(f"{c:>5d}" for c in confusion[i]) + f"   {row_acc:5.1f}%")
    return {"loss": loss, "accuracy": acc, "confusion": confusion}


def _all(ds):
    return next(iter(tg.data.DataLoader(ds, batch_size=len(ds))))


# *** predict ***


def read_image(path) -> np.ndarray:
    """A grayscale image as float32 (H, W) in [0, 1] (1 = full intensity).

    .npy: a 2-D array; integers are taken in the data set's units and scaled later, floats as given.
    .pgm / .pnm (P2 / P5): read here. .png, .jpg, ...: read with Pillow (installed with the viz extra).
    """
    path = Path(path)
    if not path.is_file():
        raise JobError(f"predict: no image at {path}")
    suffix = path.suffix.lower()
    img = _read_any(path, suffix)
    if img.dtype.kind not in "biuf":
        raise JobError(f"predict: {path} holds {img.dtype} values, not numbers; save the image's pixel intensities "
                       "as an integer or float array")
    if img.size == 0:
        raise JobError(f"predict: {path} holds an empty image ({img.shape[0]}x{img.shape[1]}); pass a picture")
    if not np.isfinite(img).all():
        raise JobError(f"predict: {path} has NaN or infinite pixels, so no class can be given; replace them "
                       "(e.g. numpy.nan_to_num) and save it again")
    return img


def _read_any(path: Path, suffix: str) -> np.ndarray:
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:
            raise JobError(f"predict: cannot read {path} as a .npy array ({type(e).__name__}: {e}); save one 2-D "
                           "numeric array with numpy.save") from None
        if not isinstance(arr, np.ndarray):
            raise JobError(f"predict: {path} is an .npz-style archive, not one array; save one 2-D array with numpy.save")
        return _squeeze_gray(path, arr)
    if suffix in (".pgm", ".pnm"):
        return _read_pgm(path)
    try:
        from PIL import Image
    except ImportError:
        raise JobError(
            f"predict: reading {suffix} files needs Pillow (pip install 'tapegrad[viz]'); or pass the image as "
            ".npy or .pgm"
        ) from None
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    except OSError as e:
        raise JobError(f"predict: cannot read {path} as an image ({e})") from None


def _squeeze_gray(path, arr: np.ndarray) -> np.ndarray:
    arr = np.squeeze(arr)
    if arr.ndim != 2:
        raise JobError(f"predict: {path} holds an array of shape {arr.shape}; expected one grayscale image (H, W)")
    return arr


def _read_pgm(path: Path) -> np.ndarray:
    """Netpbm graymap, binary (P5) or text (P2), 8 or 16 bits, scaled by its maxval to [0, 1]."""
    raw = path.read_bytes()
    tokens, pos = [], 0
    while len(tokens) < 4:  # magic, width, height, maxval; '#' starts a comment
        while pos < len(raw) and raw[pos : pos + 1].isspace():
            pos += 1
        if raw[pos : pos + 1] == b"#":
            pos = raw.find(b"\n", pos) + 1 or len(raw)
            continue
        end = pos
        while end < len(raw) and not raw[end : end + 1].isspace():
            end += 1
        if end == pos:
            raise JobError(f"predict: {path} is not a valid PGM file (its header ends early)")
        tokens.append(raw[pos:end])
        pos = end
    magic = tokens[0]
    if magic not in (b"P5", b"P2"):
        raise JobError(f"predict: {path} is not a grayscale PGM (magic {magic!r}; expected P5 or P2)")
    try:
        w, h, maxval = (int(t) for t in tokens[1:])
        if magic == b"P5":
            dtype = np.dtype(">u2" if maxval > 255 else "u1")
            pixels = raw[pos + 1 :]
            data = np.frombuffer(pixels, dtype, count=min(w * h, len(pixels) // dtype.itemsize))
        else:
            data = np.array(raw[pos:].split()[: w * h], dtype=np.float64)
    except ValueError as e:
        raise JobError(f"predict: {path} is not a valid PGM file ({e}); save it again as a P5 or P2 graymap") from None
    if w < 1 or h < 1 or maxval < 1:
        raise JobError(f"predict: {path} is not a valid PGM file (width {w}, height {h}, maxval {maxval})")
    if data.size != w * h:
        raise JobError(f"predict: {path} is truncated: {w}x{h} pixels declared, {data.size} present; save it again")
    return data.reshape(h, w).astype(np.float32) / np.float32(maxval)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".pnm", ".npy")


def _image_files(images) -> list[Path]:
    """The files to classify: a folder stands for the images directly inside it, by name (hidden files, such
    as the ._name.png that macOS leaves on other disks, skipped)."""
    files = []
    for path in map(Path, images):
        if not path.is_dir():
            files.append(path)
            continue
        inside = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")
                        and f.is_file())  # fmt: skip
        if not inside:
            raise JobError(f"predict: the folder {path} holds no images (files ending in {' '.join(IMAGE_SUFFIXES)}); "
                           "pass image files, or a folder of them")  # fmt: skip
        files += inside
    return files


def _check_size(path, img: np.ndarray, cfg: dict) -> None:
    """Enlarging a much smaller image only invents pixels, so below half the model's input it is refused."""
    low_h, low_w = math.ceil(cfg["height"] / 2), math.ceil(cfg["width"] / 2)
    if img.shape[0] < low_h or img.shape[1] < low_w:
        raise JobError(
            f"predict: {path} is {img.shape[0]}x{img.shape[1]} pixels, too small to classify: the model takes "
            f"{cfg['height']}x{cfg['width']} images and enlarges nothing below {low_h}x{low_w}; pass the full-size "
            "image (is this the right file?)"
        )


def _looks_inverted(img: np.ndarray) -> bool:
    """A light border: dark ink on light paper, the opposite of the training images (dark border, bright ink)."""
    border = np.concatenate([img[0], img[-1], img[1:-1, 0], img[1:-1, -1]])
    return float(np.median(border)) > 0.5


def _to_input(path, img: np.ndarray, cfg: dict, invert: bool) -> np.ndarray:
    if img.dtype.kind in "iu":  # .npy in the data set's own units (0..16 for the digits, 0..255 for MNIST)
        img = img.astype(np.float32) / np.float32(cfg["scale"])
    img = img.astype(np.float32)
    if invert:
        img = 1.0 - img
    _check_size(path, img, cfg)
    if img.shape != (cfg["height"], cfg["width"]):
        try:
            from PIL import Image
        except ImportError:
            raise JobError(
                f"predict: {path} is {img.shape[0]}x{img.shape[1]} but the model takes {cfg['height']}x{cfg['width']}; "
                "resize it, or install Pillow (pip install 'tapegrad[viz]') to have predict resize it"
            ) from None
        resized = Image.fromarray(np.clip(img, 0, 1) * 255).resize((cfg["width"], cfg["height"]), Image.BOX)
        img = np.asarray(resized, dtype=np.float32) / 255.0
    return img


def _warn(message: str) -> None:
    import sys

    print(f"tapegrad: warning: {message}", file=sys.stderr)


def run_predict(path, images, invert=False, top=3, echo=print, warn=_warn) -> list[tuple[str, int, float]]:
    """Classifies image files (a folder: the images in it) with a checkpoint; prints and returns (file, class,
    probability) per image. `warn` gets a line for each image that looks inverted (see --invert)."""
    state = load_checkpoint(path)
    model = _model_from(state).eval()
    cfg = state["config"]
    files = _image_files(images)
    inputs = [_to_input(p, read_image(p), cfg, invert) for p in files]
    for p, img in zip(files, inputs):
        if _looks_inverted(img):
            fix = "without --invert it is bright on dark: leave --invert out" if invert else "pass --invert"
            warn(f"predict: {p} looks inverted (a light background), but the model learned bright ink on a dark "
                 f"background, so its answer for it is likely wrong; {fix}")  # fmt: skip
    with tg.no_grad():
        probs = F.softmax(model(tg.from_numpy(np.stack(inputs)[:, None])), dim=1).numpy()
    results = []
    for p, row in zip(files, probs):
        order = np.argsort(-row)[: max(1, top)]
        results.append((str(p), int(order[0]), float(row[order[0]])))
        others = "  ".join(f"{j}: {100 * row[j]:.1f}%" for j in order[1:])
        echo(f"{p}: {order[0]} ({100 * row[order[0]]:.1f}%)" + (f"   then {others}" if others else ""))
    return results
