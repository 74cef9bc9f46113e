"""Checkpoints: tg.save / tg.load round trips, interop with the safetensors library (numpy and PyTorch),
atomic writes (a save that fails half-way leaves the old file), and clear errors for damaged files."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import serialization as checkpoint
from tapegrad.serialization import CheckpointError

ALL_DTYPES = [tg.bool, tg.uint8, tg.int8, tg.int16, tg.int32, tg.int64, tg.float16, tg.bfloat16, tg.float32,
              tg.float64]  # fmt: skip


def _state():
    tg.manual_seed(0)
    return {"fc.weight": tg.randn(4, 3), "fc.bias": tg.zeros(4), "steps": tg.tensor([5, 6], dtype=tg.int64)}


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(np.asarray(a.numpy(), np.float64), np.asarray(b.numpy(), np.float64))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_round_trip_every_dtype(tmp_path, dtype):
    t = (tg.arange(6).reshape(2, 3) % 2 == 0) if dtype == tg.bool else tg.arange(6).reshape(2, 3).to(dtype)
    p = tmp_path / "t.safetensors"
    tg.save({"t": t, "empty": tg.zeros(0, 2, dtype=dtype)}, p)
    back = tg.load(p)
    _same(back["t"], t)
    assert back["empty"].shape == (0, 2)


def test_nested_containers_round_trip(tmp_path):
    obj = {
        "model": _state(),
        "optimizer": {"state": {0: {"exp_avg": tg.ones(3), "step": 4}}, "param_groups": [{"lr": 1e-3,
                      "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False, "maximize": None}]},
        "epoch": 3, "best": float("inf"), "name": "cnn", "history": [[0.5, 0.9], [0.3, 0.95]],
    }  # fmt: skip
    p = tmp_path / "ckpt.safetensors"
    tg.save(obj, p, metadata={"note": "hello"})
    back, meta = tg.load(p, with_metadata=True)
    assert meta["note"] == "hello" and meta["format"] == "pt"
    for k, v in obj["model"].items():
        _same(back["model"][k], v)
    opt = back["optimizer"]
    assert list(opt["state"]) == [0] and opt["state"][0]["step"] == 4
    _same(opt["state"][0]["exp_avg"], tg.ones(3))
    assert opt["param_groups"] == obj["optimizer"]["param_groups"]
    assert back["epoch"] == 3 and back["best"] == float("inf") and back["name"] == "cnn"
    assert back["history"] == obj["history"]


def test_readable_by_safetensors_numpy(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    p = tmp_path / "m.safetensors"
    state = _state()
    tg.save(state, p)
    arrays = st.load_file(str(p))
    assert set(arrays) == set(state)
    for k, v in state.items():
        assert np.array_equal(arrays[k], v.numpy())


def test_pytorch_interop_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    p = tmp_path / "from_tg.safetensors"
    state = _state()
    state["half"] = tg.ones(3, dtype=tg.bfloat16) / 3
    tg.save(state, p)
    loaded = st.load_file(str(p))
    assert loaded["fc.weight"].dtype == torch.float32 and loaded["half"].dtype == torch.bfloat16
    assert torch.equal(loaded["fc.weight"], torch.from_numpy(state["fc.weight"].numpy()))
    assert torch.equal(loaded["half"].float(), torch.from_numpy(state["half"].float().numpy()))

    q = tmp_path / "from_torch.safetensors"
    lin = torch.nn.Linear(3, 2)
    st.save_file({k: v.detach() for k, v in lin.state_dict().items()}, str(q), metadata={"by": "torch"})
    back, meta = tg.load(q, with_metadata=True)
    assert meta == {"by": "torch"}
    assert np.array_equal(back["weight"].numpy(), lin.weight.detach().numpy())
    assert np.array_equal(back["bias"].numpy(), lin.bias.detach().numpy())


def test_nested_file_is_still_plain_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    p = tmp_path / "n.safetensors"
    tg.save({"model": {"w": tg.ones(2)}, "step": 3}, p)
    assert list(st.load_file(str(p))) == ["model.w"]


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.safetensors"
    tg.save({"w": tg.zeros(3)}, p)
    before = p.read_bytes()
    calls = []

    def dying_write(f, data):
        calls.append(1)
        if len(calls) == 2:  # after the header, half-way through the tensors
            raise KeyboardInterrupt("killed")
        f.write(data)

    monkeypatch.setattr(checkpoint, "_write_bytes", dying_write)
    with pytest.raises(KeyboardInterrupt):
        tg.save({"w": tg.ones(3), "v": tg.ones(5)}, p)
    assert p.read_bytes() == before
    assert [q.name for q in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no temporary file left behind
    monkeypatch.undo()
    _same(tg.load(p)["w"], tg.zeros(3))


def test_save_replaces_atomically_via_rename(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.safetensors"
    tg.save({"w": tg.zeros(3)}, p)
    seen = []
    real_replace = checkpoint.os.replace

    def spy(src, dst):
        seen.append((src, dst))
        assert tg.load(p)["w"].tolist() == [0.0, 0.0, 0.0]  # the old file is whole until the rename
        real_replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", spy)
    tg.save({"w": tg.ones(3)}, p)
    assert len(seen) == 1 and str(seen[0][0]).startswith(str(tmp_path))
    assert tg.load(p)["w"].tolist() == [1.0, 1.0, 1.0]


def _damage(path, raw: bytes):
    path.write_bytes(raw)
    return path


def test_truncated_files(tmp_path):
    p = tmp_path / "c.safetensors"
    tg.save(_state(), p)
    raw = p.read_bytes()
    with pytest.raises(CheckpointError, match=r"needs bytes .*\(truncated\)"):
        tg.load(_damage(p, raw[:-5]))
    with pytest.raises(CheckpointError, match=r"header needs .*\(truncated\)"):
        tg.load(_damage(p, raw[:40]))
    with pytest.raises(CheckpointError, match="shorter than the 8-byte header"):
        tg.load(_damage(p, raw[:3]))
    with pytest.raises(CheckpointError, match="save it again"):
        tg.load(_damage(p, b""))


def test_corrupt_files(tmp_path):
    p = tmp_path / "c.safetensors"
    with pytest.raises(CheckpointError, match="probably not a safetensors file"):
        tg.load(_damage(p, b"\x80\x04\x95" + b"pickle data here" * 4))  # e.g. a torch.save pickle
    header = b'{"w": {"dtype": "F32", "shape": [2'
    with pytest.raises(CheckpointError, match="not valid JSON"):
        tg.load(_damage(p, struct.pack("<Q", len(header)) + header))
    bad = json.dumps({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode()
    with pytest.raises(CheckpointError, match=r"shape \[3\] \(12 bytes\) but its data_offsets"):
        tg.load(_damage(p, struct.pack("<Q", len(bad)) + bad + bytes(8)))
    odd = json.dumps({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}).encode()
    with pytest.raises(CheckpointError, match="dtype 'C64'"):
        tg.load(_damage(p, struct.pack("<Q", len(odd)) + odd + bytes(8)))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        tg.load(tmp_path / "missing.safetensors")


def test_save_refuses_what_it_cannot_store_without_pickle(tmp_path):
    with pytest.raises(TypeError, match="cannot store a object at 'extra'"):
        tg.save({"extra": object()}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="metadata must map str to str"):
        tg.save({"w": tg.ones(1)}, tmp_path / "x.safetensors", metadata={"epoch": 3})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tg.save({"w": tg.ones(1)}, tmp_path / "no" / "x.safetensors")
    assert list(tmp_path.iterdir()) == []


# *** adversarial headers: refused with CheckpointError, quickly, before any tensor is allocated ***


def _file(path, header, data: bytes = b""):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return _damage(path, struct.pack("<Q", len(raw)) + raw + data)


def _f32(begin, end, shape=(2,)):
    return {"dtype": "F32", "shape": list(shape), "data_offsets": [begin, end]}


ADVERSARIAL = {
    "deep JSON": (b"[" * 100_000 + b"]" * 100_000, b"", "nests JSON too deeply"),
    "deep tree": ({"__metadata__": {"tapegrad.tree": "[" * 5000 + "]" * 5000}}, b"", "nests JSON too deeply"),
    "huge number": (b'{"w": {"dtype": "F32", "shape": [1' + b"0" * 5000 + b'], "data_offsets": [0, 8]}}', bytes(8),
                    "not valid JSON"),
    "bool in shape": ({"w": {"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}}, bytes(8),
                      r"shape \[True, 2\]; a shape is a list of whole numbers"),
    "negative shape": ({"w": _f32(0, 8, (-2, -1))}, bytes(8), "a shape is a list of whole numbers"),
    "float offsets": ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8]}}, bytes(8),
                      "two whole numbers"),
    "list dtype": ({"w": {"dtype": ["F32"], "shape": [2], "data_offsets": [0, 8]}}, bytes(8), "dtype"),
    "huge shape": ({"w": _f32(0, 8, (2**62, 2**62))}, bytes(8), r"span 8 bytes"),
    "huge shape that wraps int64": ({"w": _f32(0, 0, (2**62, 4))}, b"", r"span 0 bytes"),
    "huge offsets": ({"w": _f32(2**60, 2**60 + 8)}, bytes(8), r"\(truncated\)"),
    "end before begin": ({"w": _f32(8, 0)}, bytes(8), "data_offsets"),
    "overlap": ({"a": _f32(0, 8), "b": _f32(4, 12, (2,))}, bytes(12), r"'b' \(bytes 4..12\) overlaps tensor 'a'"),
    "same bytes twice": ({"a": _f32(0, 8), "b": _f32(0, 8)}, bytes(8), "overlaps"),
    "gap": ({"a": _f32(0, 8), "b": _f32(12, 20)}, bytes(20), r"bytes 8..12 .* belong to no tensor"),
    "gap at start": ({"a": _f32(4, 12)}, bytes(12), r"bytes 0..4 .* belong to no tensor"),
    "trailing bytes": ({"a": _f32(0, 8)}, bytes(12), r"last 4 bytes .* belong to no tensor"),
    "duplicate name": (b'{"w": ' + json.dumps(_f32(0, 8)).encode() + b', "w": ' + json.dumps(_f32(8, 16)).encode()
                       + b"}", bytes(16), r"names 'w' twice"),
    "duplicate metadata key": (b'{"__metadata__": {"a": "1", "a": "2"}}', b"", r"names 'a' twice"),
    "metadata not strings": ({"__metadata__": {"tapegrad.tree": 3}}, b"", "__metadata__ is not a JSON object"),
    "malformed tree": ({"__metadata__": {"tapegrad.tree": '{"__dict__": [1]}'}}, b"", "not a structure tg.save"),
}


@pytest.mark.parametrize("case", ADVERSARIAL)
def test_adversarial_headers_are_refused(tmp_path, case):
    import time

    header, data, words = ADVERSARIAL[case]
    path = _file(tmp_path / "evil.safetensors", header, data)
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=words) as info:
        tg.load(path)
    assert time.perf_counter() - start < 1.0
    assert len(str(info.value)) < 400 and str(info.value).startswith(f"load: {path} is not a readable")


def test_zero_size_tensors_do_not_count_as_overlaps(tmp_path):
    p = tmp_path / "z.safetensors"
    tg.save({"a": tg.zeros(0), "b": tg.ones(2), "c": tg.zeros(3, 0), "d": tg.ones(1)}, p)
    back = tg.load(p)
    assert list(back) == ["a", "b", "c", "d"] and back["c"].shape == (3, 0)


# *** the temporary file of a save, its permissions, and saves killed at random points ***


def test_save_uses_the_umask_like_any_other_file(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        tg.save({"w": tg.ones(2)}, tmp_path / "a.safetensors")
        os.umask(0o077)
        tg.save({"w": tg.ones(2)}, tmp_path / "b.safetensors")
    finally:
        os.umask(old)
    assert (tmp_path / "a.safetensors").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.safetensors").stat().st_mode & 0o777 == 0o600


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_next_save_removes_what_a_killed_save_left(tmp_path):
    import os

    p = tmp_path / "ckpt.safetensors"
    stale = tmp_path / f".ckpt.safetensors.{_dead_pid()}.0123abcd.tmp"
    live = tmp_path / f".ckpt.safetensors.{os.getppid()}.0123abcd.tmp"  # a writer still running: kept
    other = tmp_path / f".other.safetensors.{_dead_pid()}.0123abcd.tmp"  # another path's: not ours to judge
    for f in (stale, live, other):
        f.write_bytes(b"half a checkpoint")
    tg.save({"w": tg.ones(2)}, p)
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted([p.name, live.name, other.name])


def _saver(path, seed: int) -> None:
    """In a forked child: saves two different states to `path` over and over, until it is killed."""
    import os

    try:
        states = [{"w": tg.full((256, 1024), float(v)), "step": tg.tensor([v])} for v in (1, 2)]
        for i in range(10**6):
            tg.save(states[(seed + i) % 2], path)
    finally:
        os._exit(0)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="forks a child that saves")
def test_sigkill_at_random_points_never_damages_the_file(tmp_path):
    """SIGKILL a process that is saving (1 MB per file) at random moments, many times: the file under the final
    name is always absent or complete; the temporary files of killed saves are removed by the next save."""
    import os
    import random
    import signal
    import time
    import warnings

    p = tmp_path / "ckpt.safetensors"
    rng, seen, deadline = random.Random(0), set(), time.monotonic() + 3.0
    kills = 0
    while time.monotonic() < deadline or kills < 10:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the child only saves
            pid = os.fork()
        if pid == 0:
            _saver(p, kills)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += 1
        if p.exists():
            back = tg.load(p)  # raises on a damaged file
            value = back["step"].item()
            assert value in (1, 2) and bool((back["w"] == value).all())
            seen.add(value)
        assert len(list(tmp_path.glob(".ckpt.safetensors.*.tmp"))) <= 1  # each save cleans up the one before
    tg.save({"w": tg.ones(1)}, p)
    assert [f.name for f in tmp_path.iterdir()] == [p.name]
    assert seen, "no save finished before its kill: the test proved nothing"
