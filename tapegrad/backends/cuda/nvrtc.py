"""NVRTC: CUDA C source -> GPU code, with a disk cache keyed by source, architecture and NVRTC version.

NVRTC needs no GPU and no driver (the `nvidia-cuda-nvrtc` wheel holds the library, `cuda-bindings` the Python
binding), so this part of the CUDA backend runs, and is tested, on any Linux machine. A warning is treated as an
error: a kernel that makes NVRTC warn is a bug in the renderer.

The cache lives beside the C backend's (`<cache dir>/cuda/<sha256>.cubin`, TAPEGRAD_CACHE_DIR), written to a
temporary file and renamed into place, so concurrent processes can fill the same entry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

OPTIONS = ["--std=c++17"]


class NvrtcMissing(RuntimeError):
    """The NVRTC wheels are not installed."""


class CudaCompileError(RuntimeError):
    """NVRTC rejected (or warned about) a kernel: a bug in tapegrad's CUDA renderer."""


def _nvrtc():
    try:
        from cuda.bindings import nvrtc
    except ImportError as exc:
        raise NvrtcMissing(f"compiling CUDA kernels needs NVRTC ({exc}); install it with `pip install "
                           f"cuda-bindings nvidia-cuda-nvrtc` or `pip install \"tapegrad[cuda]\"`") from exc
    return nvrtc


def problem() -> str | None:
    """Why NVRTC cannot run here (in words a user can act on), or None."""
    try:
        version()
    except NvrtcMissing as exc:
        return str(exc)
    except Exception as exc:  # the binding imports but the library does not load
        return f"NVRTC is installed but does not load ({type(exc).__name__}: {exc}); reinstall nvidia-cuda-nvrtc"
    return None


def _check(result, what: str):
    """cuda.bindings returns (status, values...): the values, or an error naming the call."""
    status, *values = result if isinstance(result, tuple) else (result,)
    if int(status) != 0:
        raise CudaCompileError(f"NVRTC {what} failed: {status}")
    return values[0] if len(values) == 1 else values


def version() -> tuple:
    return tuple(_check(_nvrtc().nvrtcVersion(), "nvrtcVersion"))


def _buffer(size: int) -> bytearray:
    """A writable buffer for NVRTC to fill. NOTE: never `b" " * size`: NVRTC writes into it, and for size 1 that is
    Python's one shared b" " object, which then reads b"\\x00" everywhere in the process (it broke the padding of
    every safetensors header written afterwards)."""
    return bytearray(max(size, 1))


def compile(source: str, arch: str, name: str = "tapegrad.cu") -> tuple:
    """(GPU code, log) for `arch`: a cubin for a real architecture ('sm_80', 'sm_90', ...), PTX for a virtual one
    ('compute_90': only the front end, without ptxas). CudaCompileError on an error or a warning."""
    nvrtc = _nvrtc()
    prog = _check(nvrtc.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], []), "nvrtcCreateProgram")
    try:
        opts = [o.encode() for o in OPTIONS + [f"--gpu-architecture={arch}"]]
        status = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)[0]
        size = _check(nvrtc.nvrtcGetProgramLogSize(prog), "nvrtcGetProgramLogSize")
        log = _buffer(size)
        _check(nvrtc.nvrtcGetProgramLog(prog, log), "nvrtcGetProgramLog")
        log = bytes(log).rstrip(b"\x00 ").decode(errors="replace").strip()
        if int(status) != 0 or "warning" in log.lower():
            raise CudaCompileError(f"NVRTC could not compile {name} for {arch} cleanly ({status}); this is a bug in "
                                   f"tapegrad's CUDA renderer, please report it with this log:\n{log}")
        kind = "PTX" if arch.startswith("compute_") else "CUBIN"
        size = _check(getattr(nvrtc, f"nvrtcGet{kind}Size")(prog), f"nvrtcGet{kind}Size")
        code = _buffer(size)
        _check(getattr(nvrtc, f"nvrtcGet{kind}")(prog, code), f"nvrtcGet{kind}")
        return bytes(code), log
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def cache_dir() -> str:
    """<cache root>/cuda, beside the C backend's <cache root>/kernels."""
    from ..c.compiler import cache_dir as c_cache

    path = os.path.join(os.path.dirname(c_cache(create=False)), "cuda")
    os.makedirs(path, exist_ok=True)
    return path


def build(source: str, arch: str) -> str:
    """The path of the cached cubin of `source` for `arch` (compiled on a miss)."""
    key = hashlib.sha256("\0".join([source, arch, str(version()), *OPTIONS]).encode()).hexdigest()
    folder = cache_dir()
    path = os.path.join(folder, f"{key}.cubin")
    if os.path.exists(path):
        return path
    cubin, _ = compile(source, arch)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(cubin)
    os.replace(tmp, path)
    return path
