"""The `tapegrad` command line: `demo` trains and its loss falls; `python -m tapegrad` works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import cli

ROOT = Path(__file__).resolve().parents[1]


def test_demo_loss_falls(capsys):
    assert cli.main(["demo", "--epochs", "6", "--seed", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    losses = [float(m.group(1)) for m in (re.search(r"loss (\d+\.\d+)\s+train", ln) for ln in lines) if m]
    assert len(losses) == 6
    assert losses[-1] < 0.9 * losses[0], lines
    assert re.search(r"test acc\s+[\d.]+%", lines[-2])


def test_run_demo_is_reproducible_and_learns():
    first = cli.run_demo(epochs=4, seed=3, out=lambda line: None)
    again = cli.run_demo(epochs=4, seed=3, out=lambda line: None)
    assert first == again
    assert first[-1][0] < first[0][0]
    assert first[-1][1] > 1 / 3  # better than chance on three classes


def test_spirals_shape_and_labels():
    x, y = cli.make_spirals(n_per_class=10)
    assert x.shape == (30, 2) and y.shape == (30,)
    assert sorted(set(y.tolist())) == [0, 1, 2]


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", "--epochs", "0"])
    assert info.value.code == 2
    assert "--epochs" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_python_dash_m_tapegrad():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "tapegrad", "demo", "--epochs", "2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "epoch   2/2" in proc.stdout


# *** train / eval / predict (the main job) on small budgets ***


def _run(argv, capsys):
    rc = cli.main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _held_out(out: str) -> list[float]:
    return [float(a) for a in re.findall(r"held-out loss [\d.]+ acc\s+([\d.]+)%", out)]


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    """One small MLP run shared by the tests below: 3 epochs on the digits (a few seconds)."""
    out = tmp_path_factory.mktemp("train") / "mlp"
    buf = []
    from tapegrad import train

    args = cli._parser().parse_args(["train", "--model", "mlp", "--epochs", "3", "--seed", "1", "--out", str(out)])
    result = train.run_train(args, echo=buf.append)
    return out, "\n".join(buf), result


def test_train_writes_checkpoint_and_chart_and_learns(mlp_run):
    out, text, _ = mlp_run
    accs = _held_out(text)
    assert len(accs) == 3 and accs[-1] > 90.0, text
    ckpt, chart = out / "checkpoint.safetensors", out / "curves.png"
    assert f"checkpoint: {ckpt}" in text and f"chart:      {chart}" in text
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    st = pytest.importorskip("safetensors.numpy")
    names = st.load_file(str(ckpt))
    assert "model.1.weight" in names and names["model.1.weight"].shape == (128, 64)


def test_same_seed_same_numbers_and_resume_after_interrupt(mlp_run, tmp_path, capsys, monkeypatch):
    _, full_text, full = mlp_run
    from tapegrad import train

    calls, real_epoch = [], train._train_epoch
    charts, real_chart = [], train.save_chart

    def interrupted(*a):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_epoch(*a)

    monkeypatch.setattr(train, "_train_epoch", interrupted)
    monkeypatch.setattr(train, "save_chart", lambda h, *a: charts.append(len(h["test_acc"])) or real_chart(h, *a))
    rc, out, err = _run(["train", "--model", "mlp", "--epochs", "3", "--seed", "1", "--out", str(tmp_path)], capsys)
    ckpt = tmp_path / "checkpoint.safetensors"
    assert rc == 130 and err == (f"tapegrad: interrupted in epoch 3/3; kept {ckpt} (2 epochs done) and its chart; "
                                 f"resume with: tapegrad train --resume {ckpt}\n")  # fmt: skip
    assert _held_out(out) == _held_out(full_text)[:2]  # same seed, same numbers
    assert charts == [1, 2] and (tmp_path / "curves.png").is_file()  # the chart shows the checkpoint's epochs
    monkeypatch.setattr(train, "_train_epoch", real_epoch)

    rc, out, err = _run(["train", "--resume", str(tmp_path / "checkpoint.safetensors")], capsys)
    assert rc == 0, err
    assert "resuming" in out and "at epoch 3" in out
    resumed = tg.load(tmp_path / "checkpoint.safetensors")
    assert resumed["epoch"] == 3
    assert resumed["history"]["test_acc"] == full["history"]["test_acc"]  # bit-for-bit the uninterrupted run
    assert resumed["history"]["train_loss"] == full["history"]["train_loss"]


def test_resume_with_more_epochs_continues(mlp_run, tmp_path, capsys):
    import shutil

    src, _, full = mlp_run
    shutil.copy(src / "checkpoint.safetensors", tmp_path / "c.safetensors")
    rc, out, err = _run(["train", "--resume", str(tmp_path / "c.safetensors"), "--epochs", "4"], capsys)
    assert rc == 0, err
    assert "epoch   4/4" in out and "epoch   3/4" not in out
    after = tg.load(tmp_path / "checkpoint.safetensors")
    assert after["epoch"] == 4 and after["history"]["test_acc"][:3] == full["history"]["test_acc"]
    assert (tmp_path / "curves.png").is_file()


def test_resume_refusals(mlp_run, capsys):
    ckpt = str(mlp_run[0] / "checkpoint.safetensors")
    rc, _, err = _run(["train", "--resume", ckpt], capsys)
    assert rc == 2 and "already trained 3 epochs" in err and "--epochs 8" in err
    rc, _, err = _run(["train", "--resume", ckpt, "--epochs", "5", "--model", "cnn"], capsys)
    assert rc == 2 and "--model cnn (checkpoint: mlp)" in err


# *** train --compile: the whole step as one compiled graph ***


@pytest.fixture
def kernel_cache(tmp_path_factory, monkeypatch):
    """C kernels built by these tests go to a folder of the test session, never the user's cache."""
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "kernels"))


def _first_batch(batch_size=32, seed=0):
    from tapegrad import train

    train_ds, _, info = train.load_data(None)
    loader = tg.data.DataLoader(train_ds, batch_size=batch_size, shuffle=True,
                                generator=np.random.default_rng([seed, 0]))
    return next(iter(loader)), info


def _model_and_optimizer(name, kind, info, seed=0):
    from tapegrad import train

    tg.manual_seed(seed)
    model = train.build_model(kind, info["height"], info["width"], info["classes"])
    return model, train.make_optimizer(name, model.parameters(), train.DEFAULT_LR[name])


@pytest.mark.parametrize("name,kind", [("adam", "cnn"), ("sgd", "mlp")])
def test_compiled_step_matches_eager_first_steps(name, kind, kernel_cache):
    """The compiled step gives eager's losses and weights. Its first step runs eagerly (it creates the optimizer's
    state); the next ones run the compiled graph, the update inside it (its lr an input). A changed lr (the next epoch of the schedule) is used without a new trace."""
    from tapegrad import train
    from tapegrad.backends.c import compiler

    (x, y), info = _first_batch()
    runs = {}
    for compiled in (False, True):
        model, opt = _model_and_optimizer(name, kind, info)
        step = train.CompiledStep(model, opt) if compiled else None
        losses = []
        for lr_scale in (1.0, 1.0, 1.0, 0.5):
            for g in opt.param_groups:
                g["lr"] = train.DEFAULT_LR[name] * lr_scale
            loss, right = step(x, y) if step is not None else train._eager_step(model, opt, x, y)
            losses.append(loss.item())
        runs[compiled] = losses, [p.numpy().copy() for p in model.parameters()]
        if compiled:
            assert step.fn.trace_count == 1  # one graph for steps 2-4, whatever their lr
            plan = step.fn.get_concrete_function(x, y, tg.tensor(0.1, dtype=tg.float64))
            assert type(plan.plan()).__name__ == ("CPlan" if compiler.compiler() else "Plan")
            assert 0 <= right.item() <= len(y)
    (eager_losses, eager_params), (losses, params) = runs[False], runs[True]
    np.testing.assert_allclose(losses[1], eager_losses[1], rtol=1e-6)  # the first compiled step
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-4)
    for p, q in zip(params, eager_params):
        np.testing.assert_allclose(p, q, rtol=1e-3, atol=1e-5)


def test_train_compile_one_epoch_matches_eager(tmp_path, capsys, kernel_cache):
    """`train --compile` runs the cnn on the digits for an epoch (the last, smaller batch included) with the
    numbers of the eager run, and says what it compiled."""
    import warnings

    from tapegrad.trace import RetraceWarning

    common = ["train", "--epochs", "1", "--seed", "2"]
    rc, eager_out, err = _run(common + ["--out", str(tmp_path / "eager")], capsys)
    assert rc == 0, err
    with warnings.catch_warnings():
        warnings.simplefilter("error", RetraceWarning)  # the last batch costs one trace, not a retrace loop
        rc, out, err = _run(common + ["--compile", "--out", str(tmp_path / "compiled")], capsys)
    assert rc == 0, err
    assert "--compile: the training step (forward, loss, backward, update) and the evaluation run as compiled" in out
    pattern = r"train loss ([\d.]+) acc\s+([\d.]+)%\s+held-out loss ([\d.]+) acc\s+([\d.]+)%"
    eager_numbers = [float(v) for v in re.search(pattern, eager_out).groups()]
    numbers = [float(v) for v in re.search(pattern, out).groups()]
    np.testing.assert_allclose(numbers, eager_numbers, rtol=2e-3, atol=2e-3)
    assert numbers[3] > 50.0  # it learned (eager reaches about 75% after one epoch)


def test_compile_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--compile" in text and "not available" not in text
    assert "compiled graphs on the C backend" in text and "same numbers" in text


def test_bad_train_options_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--epochs", "0"])
    assert info.value.code == 2 and "--epochs" in capsys.readouterr().err


def test_eval_reports_accuracy_and_confusion(mlp_run, capsys):
    out_dir, text, _ = mlp_run
    rc, out, err = _run(["eval", str(out_dir / "checkpoint.safetensors")], capsys)
    assert rc == 0, err
    assert f"accuracy {_held_out(text)[-1]:.2f}%" in out
    assert "confusion matrix" in out and len(out.splitlines()) >= 14


def test_eval_and_predict_refuse_bad_checkpoints(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 3)
    rc, _, err = _run(["eval", str(bad)], capsys)
    assert rc == 2 and "shorter than the 8-byte header" in err
    plain = tmp_path / "plain.safetensors"
    tg.save({"w": tg.ones(2)}, plain)
    rc, _, err = _run(["predict", str(plain), str(bad)], capsys)
    assert rc == 2 and "not a `tapegrad train` checkpoint" in err
    rc, _, err = _run(["eval", str(tmp_path / "missing.safetensors")], capsys)
    assert rc == 2 and "no checkpoint at" in err


def test_predict_npy_pgm_and_png(mlp_run, tmp_path, capsys):
    import numpy as np

    from tapegrad import train

    images, _ = tg.data.datasets.load_digits()
    state = train.load_checkpoint(mlp_run[0])
    model = train._model_from(state).eval()
    with tg.no_grad():
        expected = model(tg.from_numpy(images[:3, None].astype(np.float32) / 16)).argmax(dim=1).tolist()
    np.save(tmp_path / "a.npy", images[0])
    pixels = (images[1].astype(np.float32) * 255 / 16).round().astype(np.uint8)
    (tmp_path / "b.pgm").write_bytes(b"P5\n# a digit\n8 8\n255\n" + pixels.tobytes())
    files = [str(tmp_path / "a.npy"), str(tmp_path / "b.pgm")]
    try:
        from PIL import Image

        dark_on_light = 255 - (images[2].astype(np.float32) * 255 / 16).round().astype(np.uint8)
        Image.fromarray(dark_on_light).resize((32, 32), Image.NEAREST).save(tmp_path / "c.png")
        files.append(str(tmp_path / "c.png"))
    except ImportError:
        pass
    results = train.run_predict(mlp_run[0], files, echo=lambda s: None)
    assert [r[1] for r in results[:2]] == expected[:2]
    if len(files) == 3:
        assert train.run_predict(mlp_run[0], files[2:], invert=True, echo=lambda s: None)[0][1] == expected[2]
    rc, out, _ = _run(["predict", str(mlp_run[0]), *files[:2]], capsys)
    assert rc == 0 and re.search(r"a\.npy: \d \(\d+\.\d%\)", out)


def test_train_on_idx_files(tmp_path, capsys):
    import gzip
    import struct

    import numpy as np

    rng = np.random.default_rng(0)

    def idx(arr):
        return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()

    for prefix, n in (("train", 40), ("t10k", 12)):
        labels = rng.integers(0, 3, n).astype(np.uint8)
        images = (rng.random((n, 12, 12)) * 60).astype(np.uint8)
        images[np.arange(n), 4, labels * 4] = 255  # a bright pixel whose place gives the class away
        (tmp_path / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(images)))
        (tmp_path / f"{prefix}-labels-idx1-ubyte").write_bytes(idx(labels))
    rc, out, err = _run(["train", "--data", str(tmp_path), "--epochs", "2", "--out", str(tmp_path / "o")], capsys)
    assert rc == 0, err
    assert "cnn (" in out and "(40 train / 12 held-out images, 12x12, 3 classes)" in out
    rc, out, err = _run(["eval", str(tmp_path / "o")], capsys)
    assert rc == 0 and "held-out: 12 images" in out


def test_train_on_missing_idx_dir_says_what_to_do(tmp_path, capsys):
    rc, _, err = _run(["train", "--data", str(tmp_path), "--epochs", "1"], capsys)
    assert rc == 2 and "train-images-idx3-ubyte" in err


# *** what a new user runs into: one `tapegrad: error:` line with exit status 2, never a traceback ***


def test_demo_bad_option_names_option_and_value_with_subcommand_usage(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", "--hidden", "0"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--hidden must be at least 1, got 0" in err
    assert "usage: tapegrad demo" in err and "demo: demo:" not in err


def test_train_bad_option_prints_train_usage(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--lr", "0"])
    err = capsys.readouterr().err
    assert "usage: tapegrad train" in err and "train: train:" not in err


def test_train_out_that_cannot_be_a_folder(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    rc, _, err = _run(["train", "--epochs", "1", "--out", str(notes)], capsys)
    assert rc == 2 and err.startswith("tapegrad: error:") and "existing file, not a folder" in err
    rc, _, err = _run(["train", "--epochs", "1", "--out", str(notes / "sub")], capsys)
    assert rc == 2 and "cannot create that folder" in err and "Traceback" not in err


def test_train_messages_wording_and_plurals(tmp_path, capsys):
    rc, out, err = _run(["train", "--model", "mlp", "--epochs", "1", "--out", str(tmp_path)], capsys)
    assert rc == 0, err
    assert "train: training:" not in out and "1 epochs" not in out
    assert "over 1 epoch)" in out and "after 1 epoch " in out
    rc, out, _ = _run(["eval", str(tmp_path)], capsys)
    assert "trained 1 epoch on" in out


def test_loss_chart_axis_says_logarithmic(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from tapegrad import train

    figs, real_savefig = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: figs.append(self) or real_savefig(self, *a, **k))
    history = {"train_loss": [1.0, 0.5], "test_loss": [1.1, 0.6], "train_acc": [0.5, 0.8], "test_acc": [0.4, 0.7]}
    train.save_chart(history, tmp_path / "c.png", "t")
    assert "log" in figs[0].axes[0].get_ylabel()


def test_predict_refuses_broken_images(mlp_run, tmp_path, capsys):
    import numpy as np

    (tmp_path / "trunc.pgm").write_bytes(b"P5\n8 8\n255\n")
    (tmp_path / "short16.pgm").write_bytes(b"P5\n8 8\n65535\n\x00\x01\x02")
    (tmp_path / "empty.npy").write_bytes(b"")
    np.save(tmp_path / "str.npy", np.array([["a", "b"], ["c", "d"]]))
    nan = np.zeros((8, 8), np.float32)
    nan[3, 3] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    expect = {"trunc.pgm": "truncated", "short16.pgm": "truncated", "empty.npy": "cannot read",
              "str.npy": "not numbers", "nan.npy": "NaN or infinite"}
    for name, words in expect.items():
        rc, out, err = _run(["predict", str(mlp_run[0]), str(tmp_path / name)], capsys)
        assert rc == 2 and err.startswith("tapegrad: error: predict:") and words in err, (name, err)
        assert "%" not in out


def test_bench_runs_from_checkout_root_and_advises_elsewhere(tmp_path, monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(ROOT))])
    monkeypatch.chdir(tmp_path)
    rc, _, err = _run(["bench"], capsys)
    assert rc == 2 and err.startswith("tapegrad: error: bench:") and "root of a tapegrad checkout" in err
    assert "cd tapegrad" not in err
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as info:
        cli.main(["bench", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and "usage: tapegrad bench" in out and "issue" not in out


def test_closed_stdout_ends_quietly():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "tapegrad", "demo", "--epochs", "2"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # as `| head` does once it has its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) != 0 and "Traceback" not in err and "BrokenPipeError" not in err, err



# *** a second run never replaces the first; Ctrl-C anywhere says what was kept ***


def test_train_again_never_replaces_a_finished_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = tmp_path / "runs" / "digits-mlp"
    one = ["train", "--model", "mlp", "--epochs", "1"]
    assert _run(one, capsys)[0] == 0
    kept = (first / "checkpoint.safetensors").read_bytes()
    rc, out, err = _run(one + ["--seed", "5"], capsys)  # the README's command again: a new folder, said so
    assert rc == 0, err
    assert "runs/digits-mlp holds an earlier run, so this one goes to runs/digits-mlp-2" in out
    assert (tmp_path / "runs" / "digits-mlp-2" / "curves.png").is_file()
    rc, _, err = _run(one + ["--out", str(first)], capsys)  # a folder named with --out: refused, with the choices
    assert rc == 2 and err.startswith(f"tapegrad: error: --out {first} already holds a run")
    assert f"--resume {first / 'checkpoint.safetensors'} --epochs" in err and "another --out" in err
    assert "--overwrite" in err and (first / "checkpoint.safetensors").read_bytes() == kept
    rc, _, err = _run(["train", "--resume", str(first / "checkpoint.safetensors"), "--epochs", "2", "--out",
                       str(tmp_path / "runs" / "digits-mlp-2")], capsys)  # fmt: skip
    assert rc == 2 and "already holds a run" in err  # --resume continues its own run, not another folder's
    rc, _, err = _run(one + ["--seed", "7", "--out", str(first), "--overwrite"], capsys)
    assert rc == 0, err
    assert (first / "checkpoint.safetensors").read_bytes() != kept and tg.load(first / "checkpoint.safetensors")["config"]["seed"] == 7


def test_train_help_says_what_happens_to_an_earlier_run(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--overwrite" in text and "runs/<data>-<model>-2, -3, ..." in text and "Ctrl-C" in text


@pytest.mark.parametrize("writing", ["save_checkpoint", "save_chart"])
def test_ctrl_c_while_writing_finishes_the_pair_first(tmp_path, capsys, monkeypatch, writing):
    """A real SIGINT in the middle of the checkpoint or the chart: both are written, then the run stops."""
    import signal

    from tapegrad import train

    real = getattr(train, writing)

    def pressed_ctrl_c(*a, **k):
        os.kill(os.getpid(), signal.SIGINT)
        return real(*a, **k)

    monkeypatch.setattr(train, writing, pressed_ctrl_c)
    # NOTE: a test run started in the background by a non-interactive shell inherits SIGINT ignored; give this test
    # the handler an interactive `tapegrad train` has
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        rc, out, err = _run(["train", "--model", "mlp", "--epochs", "3", "--out", str(tmp_path)], capsys)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert rc == 130 and err.count("\n") == 1 and "interrupted in epoch 1/3; kept" in err and "(1 epoch done)" in err
    assert tg.load(tmp_path / "checkpoint.safetensors")["epoch"] == 1 and (tmp_path / "curves.png").is_file()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["checkpoint.safetensors", "curves.png"]
    assert signal.getsignal(signal.SIGINT) is previous


def test_ctrl_c_before_training_and_in_other_commands(tmp_path, capsys, monkeypatch):
    from tapegrad import train

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "load_data", ctrl_c)
    rc, _, err = _run(["train", "--out", str(tmp_path)], capsys)
    assert rc == 130 and err == ("tapegrad: interrupted before training started; no checkpoint of this run was "
                                 "written; run the same command to start again\n")  # fmt: skip
    monkeypatch.setattr(cli, "run_demo", ctrl_c)
    assert _run(["demo"], capsys)[1:] == ("", "tapegrad: interrupted (Ctrl-C)\n")


def test_ctrl_c_at_any_moment_of_the_command_is_one_line(tmp_path):
    """SIGINT to the console script at several moments (during the import of tapegrad, during training): exit
    status 130 and one line on stderr, never a traceback."""
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    script = "import sys; from _tapegrad_cli import main; sys.exit(main())"
    for i, delay in enumerate((0.05, 0.5, 2.0)):
        argv = ["train", "--model", "mlp", "--epochs", "50", "--out", str(tmp_path / str(i))]
        proc = subprocess.Popen([sys.executable, "-c", script, *argv], cwd=tmp_path, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                # SIGINT as in a terminal, even when the tests run as a background job (ignored)
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "Traceback" not in err, (delay, err)
        assert err.count("\n") == 1 and err.startswith("tapegrad: interrupted"), (delay, err)


def test_predict_questions_odd_inputs(mlp_run, tmp_path, capsys):
    from tapegrad import train

    images, _ = tg.data.datasets.load_digits()
    folder = tmp_path / "digits"
    folder.mkdir()
    for i in range(3):
        np.save(folder / f"{i}.npy", images[i])
    (folder / "notes.txt").write_text("not an image")
    (folder / "._0.npy").write_bytes(b"macOS resource fork")
    one_by_one = [train.run_predict(mlp_run[0], [folder / f"{i}.npy"], echo=print)[0][1] for i in range(3)]
    capsys.readouterr()
    rc, out, err = _run(["predict", str(mlp_run[0]), str(folder)], capsys)  # a folder: the images in it
    assert rc == 0 and err == "" and [ln.split(":")[0] for ln in out.splitlines()] == [
        str(folder / f"{i}.npy") for i in range(3)]  # fmt: skip
    assert [r[1] for r in train.run_predict(mlp_run[0], [folder], echo=lambda s: None)] == one_by_one
    (tmp_path / "empty").mkdir()
    rc, _, err = _run(["predict", str(mlp_run[0]), str(tmp_path / "empty")], capsys)
    assert rc == 2 and "the folder" in err and "holds no images" in err

    np.save(tmp_path / "tiny.npy", np.ones((2, 3), np.float32))  # refused, not blown up to 8x8
    rc, out, err = _run(["predict", str(mlp_run[0]), str(tmp_path / "tiny.npy")], capsys)
    assert rc == 2 and "is 2x3 pixels, too small to classify" in err and "below 4x4" in err and out == ""

    np.save(tmp_path / "dark_ink.npy", 1 - images[0] / 16)  # dark ink on a light background, floats in [0, 1]
    rc, out, err = _run(["predict", str(mlp_run[0]), str(tmp_path / "dark_ink.npy")], capsys)
    assert rc == 0 and "looks inverted" in err and "pass --invert" in err and out.count("\n") == 1
    rc, out, err = _run(["predict", str(mlp_run[0]), str(tmp_path / "dark_ink.npy"), "--invert"], capsys)
    assert rc == 0 and err == "" and out.split(":")[1].split()[0] == str(one_by_one[0])
    rc, out, err = _run(["predict", str(mlp_run[0]), str(folder / "0.npy"), "--invert"], capsys)
    assert rc == 0 and "looks inverted" in err and "leave --invert out" in err
