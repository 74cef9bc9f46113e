"""Checkpoints: `tg.save` / `tg.load` of state dicts and nested containers in the safetensors format.

Depends on numpy and the Tensor front end; used by the CLI and by users. The format is written and read here
(no pickle, so loading never runs code from the file); files are readable by the `safetensors` library and
PyTorch's safetensors files load here.

Format (safetensors): 8 bytes little-endian u64 N, then N bytes of JSON header, then the data section. The
header maps each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data
section, little-endian, C order, packed one after the other) and "__metadata__" to a str -> str map.
A container that is not a flat dict of tensors keeps its structure in the metadata key "tapegrad.tree".
"""

from __future__ import annotations

import json
import math
import os
import re
import reprlib
import secrets
import struct
from pathlib import Path

import numpy as np

from . import dtype as dt
from .errors import TapegradError
from .tensor import Tensor

# safetensors dtype names <-> tapegrad dtypes
_TO_ST = {dt.bool_: "BOOL", dt.uint8: "U8", dt.int8: "I8", dt.int16: "I16", dt.int32: "I32", dt.int64: "I64",
          dt.float16: "F16", dt.bfloat16: "BF16", dt.float32: "F32", dt.float64: "F64"}  # fmt: skip
_FROM_ST = {v: k for k, v in _TO_ST.items()}
_TREE_KEY = "tapegrad.tree"
_MAX_HEADER = 100 * 1024 * 1024  # the safetensors library's own limit


class CheckpointError(TapegradError, ValueError):
    """A checkpoint file that cannot be read: not safetensors, truncated, or internally inconsistent."""


# *** the structure: nested containers <-> flat tensors + a JSON tree ***


def _is_flat_state(obj) -> bool:
    return isinstance(obj, dict) and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())


def _encode_key(k):
    if isinstance(k, (str, int, float, bool)) or k is None:
        return k
    raise TypeError(f"save: dict keys must be str, int, float, bool or None, got {type(k).__name__} ({k!r})")


class _Flattener:
    """Walks a container, collecting tensors under dotted path names and returning the JSON-able tree."""

    def __init__(self):
        self.tensors: dict[str, np.ndarray] = {}
        self.dtypes: dict[str, dt.DType] = {}

    def add(self, path: str, value) -> str:
        name, n = path or "tensor", 1
        while name in self.tensors:
            name, n = f"{path}#{n}", n + 1
        if isinstance(value, Tensor):
            self.tensors[name], self.dtypes[name] = value.detach().numpy(), value.dtype
        else:
            self.tensors[name], self.dtypes[name] = value, dt.from_numpy_dtype(value.dtype)
        return name

    def walk(self, obj, path: str = ""):
        if isinstance(obj, (Tensor, np.ndarray)):
            return {"__tensor__": self.add(path, obj)}
        if isinstance(obj, (bool, int, str)) or obj is None:
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, (np.integer, np.floating, np.bool_)):
            return self.walk(obj.item(), path)
        join = (lambda k: f"{path}.{k}") if path else str
        if isinstance(obj, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in obj):
                return {k: self.walk(v, join(k)) for k, v in obj.items()}
            return {"__dict__": [[_encode_key(k), self.walk(v, join(k))] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            items = [self.walk(v, join(i)) for i, v in enumerate(obj)]
            return items if isinstance(obj, list) else {"__tuple__": items}
        raise TypeError(
            f"save: cannot store a {type(obj).__name__} at {path or 'the top level'!r}; checkpoints hold tensors, "
            "numpy arrays, numbers, strings, None, and dicts / lists / tuples of them (no pickle, so no objects)"
        )


def _unflatten(tree, tensors: dict):
    if isinstance(tree, list):
        return [_unflatten(v, tensors) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__tensor__" in tree:
        name = tree["__tensor__"]
        if name not in tensors:
            raise CheckpointError(f"load: the structure names tensor {name!r} but the file holds no such tensor")
        return tensors[name]
    if "__float__" in tree:
        return float(tree["__float__"])
    if "__tuple__" in tree:
        return tuple(_unflatten(v, tensors) for v in tree["__tuple__"])
    if "__dict__" in tree:
        return {k: _unflatten(v, tensors) for k, v in tree["__dict__"]}
    return {k: _unflatten(v, tensors) for k, v in tree.items()}


# *** writing ***


def _header(arrays: dict[str, np.ndarray], dtypes: dict, metadata: dict[str, str]) -> bytes:
    header: dict = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, arr in arrays.items():
        end = offset + arr.nbytes
        header[name] = {"dtype": _TO_ST[dtypes[name]], "shape": list(arr.shape), "data_offsets": [offset, end]}
        offset = end
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # pad so that the data section starts 8-byte aligned, as safetensors does
    return struct.pack("<Q", len(raw)) + raw


def _write_bytes(f, data) -> None:
    """One write; its own function so that tests can make a save fail half-way."""
    f.write(data)


def _little_endian(arr: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(arr)
    return arr.astype(arr.dtype.newbyteorder("<")) if arr.dtype.byteorder == ">" else arr


def _temp_path(path: Path) -> Path:
    """A new name beside `path` for one save: the writer's pid (so a later save can tell a dead writer's
    file from a live one's) and random bits (so saves from threads of one process never collide)."""
    return path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _open_temp(path: Path) -> tuple[Path, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = _temp_path(path)
        try:  # mode 0o666 less the umask, as for any new file (tempfile.mkstemp would make it 0600)
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there; keep its file instead
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: alive
        return True
    return True


def _remove_stale_temps(path: Path) -> None:
    """Deletes the temporary files that saves to `path` left behind when their process was killed mid-write
    (SIGKILL, power loss: no except clause runs). A running writer's file is kept: it is about to be renamed."""
    ours = re.compile(re.escape(f".{path.name}.") + r"(\d+)\.[0-9a-f]{8}\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        match = ours.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            try:
                os.unlink(path.parent / name)
            except OSError:  # gone already (another save cleaned it) or not ours to delete
                pass


def _atomic_write(path: Path, chunks) -> None:
    """Writes the chunks to a temporary file beside `path`, fsyncs it and renames it over `path`: a crash
    or an error at any point leaves the previous file as it was."""
    _remove_stale_temps(path)
    tmp, fd = _open_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                _write_bytes(f, chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable (POSIX); not possible everywhere, and harmless to skip
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def save(obj, path, metadata: dict[str, str] | None = None) -> None:
    """Saves tensors (a state dict, or nested dicts / lists / tuples of tensors and numbers) to `path` in the
    safetensors format, atomically: the file is complete or, after a crash, the previous one is untouched.
    It is written beside `path` as `.NAME.PID.RANDOM.tmp` and renamed; a temporary file that a killed save
    left behind is deleted by the next save to the same path. The file gets the usual permissions (umask).

    A flat {str: Tensor} dict is stored under its own keys, so `safetensors.torch.load_file` returns the same
    state dict; other structure is recorded in the metadata. `metadata` adds your own str -> str entries.

    >>> import os, tempfile, tapegrad as tg
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> tg.save({"w": tg.ones(2, 3), "step": 7, "opt": {"lr": 0.1, "betas": (0.9, 0.999)}}, path)
    >>> tg.load(path)["opt"]
    {'lr': 0.1, 'betas': (0.9, 0.999)}
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save: the directory {path.parent} does not exist; create it first")
    meta = {"format": "pt"}  # the tensors use PyTorch's layouts; Hugging Face loaders look for this
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save: metadata must map str to str, got {k!r}: {v!r}; convert values with str()")
        meta[k] = v
    flat = _Flattener()
    if _is_flat_state(obj):
        for k, v in obj.items():
            flat.add(k, v)
    else:
        meta[_TREE_KEY] = json.dumps(flat.walk(obj), separators=(",", ":"))
    arrays = {k: _little_endian(v) for k, v in flat.tensors.items()}
    chunks = [_header(arrays, flat.dtypes, meta)]
    chunks += [memoryview(a.reshape(-1).view(np.uint8)) for a in arrays.values()]
    _atomic_write(path, chunks)


# *** reading ***


def _fail(path, what: str, fix: str = "the file is damaged or was cut short; save it again or copy it again"):
    raise CheckpointError(f"load: {path} is not a readable safetensors file: {what}; {fix}")


_NOT_OURS = "no safetensors writer makes such a file; do not load it (it may have been crafted)"
_short = reprlib.Repr()
_short.maxlist, _short.maxstring, _short.maxother = 8, 40, 40
_show = _short.repr  # adversarial values (a million-entry shape) stay short in messages


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list) -> dict:
    """json's object_pairs_hook: a plain dict would keep the last of two equal names without a word."""
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def _parse_json(path, text: str, what: str):
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as e:
        _fail(path, f"its {what} names {e.args[0]!r} twice (the format forbids duplicate names)", _NOT_OURS)
    except RecursionError:
        _fail(path, f"its {what} nests JSON too deeply to read", _NOT_OURS)
    except ValueError as e:  # JSONDecodeError, or a number of more than 4300 digits (int's guard)
        _fail(path, f"its {what} is not valid JSON ({_show(str(e))})")


def _read_header(path: Path, raw: bytes) -> tuple[dict, int]:
    if len(raw) < 8:
        _fail(path, f"it is {len(raw)} bytes long, shorter than the 8-byte header length that starts the format")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > _MAX_HEADER:
        _fail(path, f"the header length field reads {n} bytes", "this is probably not a safetensors file")
    if 8 + n > len(raw):
        _fail(path, f"the header needs {n} bytes but only {len(raw) - 8} follow the length field (truncated)")
    try:
        text = raw[8 : 8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        _fail(path, f"its header is not valid JSON ({e})")
    header = _parse_json(path, text, "header")
    if not isinstance(header, dict):
        _fail(path, f"its header is a JSON {type(header).__name__}, not an object")
    return header, 8 + n


def _whole_numbers(value) -> bool:
    """A JSON list of ints >= 0 (not bools: json gives True for `true`, and True == 1 in Python)."""
    return isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)


def _entry(path, name: str, info, size: int) -> tuple:
    """(begin, end, dtype, shape) of one header entry, checked without allocating anything."""
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        _fail(path, f"the header entry for {name!r} lacks dtype, shape or data_offsets")
    kind, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(kind, str) or kind not in _FROM_ST:
        _fail(path, f"tensor {name!r} has dtype {_show(kind)}, which tapegrad does not support "
              f"(supported: {', '.join(_FROM_ST)})", "convert that tensor before saving")  # fmt: skip
    if not _whole_numbers(shape):
        _fail(path, f"tensor {name!r} has shape {_show(shape)}; a shape is a list of whole numbers >= 0", _NOT_OURS)
    if not _whole_numbers(offsets) or len(offsets) != 2:
        _fail(path, f"tensor {name!r} has data_offsets {_show(offsets)}; they are two whole numbers [begin, end]",
              _NOT_OURS)  # fmt: skip
    dtype, (begin, end) = _FROM_ST[kind], offsets
    need = math.prod(shape) * dtype.itemsize  # Python ints: a huge shape cannot wrap around to a small size
    if not begin <= end or end - begin != need:
        _fail(path, f"tensor {name!r} is {kind} of shape {_show(shape)} ({need} bytes) but its data_offsets "
              f"{[begin, end]} span {end - begin} bytes")  # fmt: skip
    if end > size:
        _fail(path, f"tensor {name!r} needs bytes {begin}..{end} of the data section, which has only {size} bytes "
              "(truncated)")  # fmt: skip
    return begin, end, dtype, tuple(shape)


def _layout(path, header: dict, size: int) -> dict[str, tuple]:
    """{name: (begin, end, dtype, shape)} in the header's order, checked to tile the data section exactly: the
    format forbids overlaps (two tensors sharing bytes) and gaps (bytes that belong to no tensor)."""
    entries = {name: _entry(path, name, info, size) for name, info in header.items()}
    pos, previous = 0, None
    for name, (begin, end, _, _) in sorted(entries.items(), key=lambda item: item[1][:2]):
        if begin < pos:
            _fail(path, f"tensor {name!r} (bytes {begin}..{end}) overlaps tensor {previous!r} (bytes ..{pos})",
                  _NOT_OURS)  # fmt: skip
        if begin > pos:
            _fail(path, f"bytes {pos}..{begin} of the data section, before tensor {name!r}, belong to no tensor",
                  _NOT_OURS)  # fmt: skip
        pos, previous = end, name
    if pos != size:
        _fail(path, f"the last {size - pos} bytes of the data section belong to no tensor")
    return entries


def _tensor_from(data: memoryview, begin: int, end: int, dtype, shape: tuple) -> np.ndarray:
    return np.frombuffer(data[begin:end], dtype.np.newbyteorder("<")).astype(dtype.np).reshape(shape)


def _metadata(path, header: dict) -> dict:
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        _fail(path, "its __metadata__ is not a JSON object of strings", _NOT_OURS)
    return meta


def _structure(path, meta: dict, tensors: dict):
    """The container that tg.save recorded in the metadata, rebuilt around the tensors."""
    tree = _parse_json(path, meta[_TREE_KEY], f"{_TREE_KEY} metadata")
    try:
        return _unflatten(tree, tensors)
    except CheckpointError:
        raise
    except RecursionError:
        _fail(path, f"its {_TREE_KEY} metadata nests too deeply to rebuild", _NOT_OURS)
    except (TypeError, ValueError) as e:  # e.g. a "__dict__" entry that is not a [key, value] pair
        _fail(path, f"its {_TREE_KEY} metadata is not a structure tg.save writes ({type(e).__name__}: {e})")


def load(path, *, with_metadata: bool = False):
    """Loads what `tg.save` wrote (or any safetensors file, e.g. one from `safetensors.torch.save_file`).

    Returns the saved container with tensors as tapegrad Tensors; a file without tapegrad's structure comes
    back as a flat {name: Tensor} dict. Nothing in the file is executed (no pickle). With
    `with_metadata=True`, returns (obj, metadata) where metadata is the file's str -> str map.
    Raises CheckpointError, saying what is wrong, for a file that is not safetensors, is truncated or is
    internally inconsistent.
    """
    from .ops.creation import from_numpy

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load: no checkpoint at {path}; check the path (tg.save writes .safetensors files)")
    raw = path.read_bytes()
    header, start = _read_header(path, raw)
    meta = _metadata(path, header)
    data = memoryview(raw)[start:]
    layout = _layout(path, header, len(data))  # every entry is checked before any tensor is allocated
    tensors = {name: from_numpy(_tensor_from(data, *where)) for name, where in layout.items()}
    obj = _structure(path, meta, tensors) if _TREE_KEY in meta else tensors
    return (obj, dict(meta)) if with_metadata else obj
