"""The system C compiler and the on-disk kernel cache.

A shared library is cached under `<cache dir>/kernels/<sha256 of source, compiler, flags>.so`. It is
compiled into a temporary file in the same folder and renamed into place (atomic on POSIX), so several
processes can build the same entry at once; a file that fails to load is deleted and rebuilt.

TAPEGRAD_CC (else CC, else `cc`) names the compiler; TAPEGRAD_CACHE_DIR the cache folder (else
$XDG_CACHE_HOME/tapegrad or ~/.cache/tapegrad).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings

# -fwrapv: integer overflow wraps as in numpy (otherwise gcc may fold `x + 1 > x` to true)
FLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math", "-fwrapv"]
OPENMP = ["-fopenmp"]


# How long an idle OpenMP worker spins before it sleeps. libgomp's default (300,000 spins, about a millisecond)
# fights numpy's OpenBLAS threads for the same cores: a traced MLP step alternates BLAS calls and kernels, and
# with the default it ran 4x slower on 2 cores. libgomp reads this once, when it is loaded with the first kernel
# library, so it is set (unless the user set it) just before that load.
GOMP_SPINCOUNT = "1000"


class CompilerMissingWarning(UserWarning):
    """No C compiler: compiled functions run on the numpy plan executor instead."""


class CompileError(RuntimeError):
    """The C compiler rejected a kernel (a bug in tapegrad's code generator)."""


_warned = False
_probe: dict = {}  # compiler path -> (version string, works with OpenMP)


def _find() -> tuple:
    """(the compiler's full path, None) or (None, why there is no working one)."""
    name = os.environ.get("TAPEGRAD_CC") or os.environ.get("CC") or "cc"
    path = shutil.which(name)
    problem = f"no C compiler found (looked for {name!r} on PATH)" if path is None else _broken(path)
    return (path, None) if problem is None else (None, problem)


def problem() -> str | None:
    """Why the C backend cannot run here (no working compiler), or None; never warns."""
    return _find()[1]


def compiler() -> str | None:
    """The compiler's full path, or None (after one warning per process) when there is none."""
    global _warned
    path, problem = _find()
    if problem is not None:
        if not _warned:
            _warned = True
            warnings.warn(
                f"tapegrad: {problem}, so the C backend is off and compiled functions run on the numpy plan "
                "executor (correct, slower). Fix: install a working one (e.g. `apt-get install gcc`) or point "
                "TAPEGRAD_CC at it; silence this with TAPEGRAD_BACKEND=numpy.",
                CompilerMissingWarning,
                stacklevel=4,
            )
        return None
    return path


_checked: dict = {}  # compiler path -> None when it builds a shared library, else what went wrong


def _broken(cc: str) -> str | None:
    """Why `cc` cannot build a trivial shared library (a stub without its tools, no libc headers), or None."""
    if cc not in _checked:
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, "probe.c"), os.path.join(tmp, "probe.so")
            with open(src, "w") as f:
                f.write("#include <math.h>\ndouble tg_probe(double x) { return exp(x); }\n")
            try:
                r = _compile(cc, ["-O1", "-fPIC", "-shared"], src, out)
                err = None if r.returncode == 0 else (r.stderr or r.stdout or f"exit {r.returncode}").strip()[-300:]
            except OSError as e:
                err = str(e)
        _checked[cc] = None if err is None else f"the C compiler {cc} cannot build a shared library ({err})"
    return _checked[cc]


def cache_dir() -> str:
    root = os.environ.get("TAPEGRAD_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "tapegrad")
    path = os.path.join(root, "kernels")
    os.makedirs(path, exist_ok=True)
    return path


def _cpu() -> str:
    """The CPU the kernels are built for (-march=native): a cache shared with another machine must not hand
    it a library with instructions that CPU lacks."""
    global _cpu_id
    if _cpu_id is None:
        import platform

        flags = ""
        try:
            with open("/proc/cpuinfo") as f:
                flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
        except OSError:
            pass
        _cpu_id = platform.machine() + " " + platform.processor() + " " + flags.strip()
    return _cpu_id


_cpu_id = None


def _version(cc: str):
    if cc not in _probe:
        try:
            v = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout.splitlines()[:1]
        except (OSError, subprocess.SubprocessError):
            v = []
        _probe[cc] = [v[0] if v else "unknown", None]
    return _probe[cc]


def _compile(cc: str, flags: list, src_path: str, out_path: str):
    return subprocess.run([cc, *flags, src_path, "-o", out_path, "-lm"], capture_output=True, text=True)


def entry(source: str, cc: str):
    """(cache file path, key, flags) of `source` built by `cc`."""
    probe = _version(cc)
    flags = FLAGS + (OPENMP if probe[1] is not False else [])
    key = hashlib.sha256("\0".join([source, cc, probe[0], _cpu(), *flags]).encode()).hexdigest()[:32]
    return os.path.join(cache_dir(), key + ".so"), key, flags


def build(source: str, cc: str) -> ctypes.CDLL:
    """Compile `source` into a shared library (or take it from the cache) and load it."""
    probe = _version(cc)
    path, key, flags = entry(source, cc)
    folder = os.path.dirname(path)
    if os.path.exists(path):
        try:
            return _load(path)
        except OSError:  # a corrupt or truncated entry: rebuild it
            try:
                os.remove(path)
            except OSError:
                pass
    fd, tmp_so = tempfile.mkstemp(suffix=".so", prefix=key + ".", dir=folder)
    os.close(fd)
    src = tmp_so[:-3] + ".c"
    try:
        with open(src, "w") as f:
            f.write(source)
        r = _compile(cc, flags, src, tmp_so)
        if r.returncode != 0 and probe[1] is None and _mentions_openmp(r.stderr or ""):
            probe[1] = False  # a compiler without OpenMP: build single-threaded from now on
            return build(source, cc)
        if r.returncode != 0:
            raise CompileError(
                f"the C compiler {cc} failed on a generated kernel (exit {r.returncode}); this is a bug in tapegrad's "
                f"code generator, please report it with this message. Workaround: TAPEGRAD_BACKEND=numpy.\n"
                f"{r.stderr[-4000:]}"
            )
        probe[1] = True if probe[1] is None else probe[1]
        os.replace(tmp_so, path)  # atomic: readers see no file or the whole file
    finally:
        for p in (tmp_so, src):
            if os.path.exists(p):
                os.remove(p)
    return _load(path)


def _mentions_openmp(stderr: str) -> bool:
    """The build failed on OpenMP: gcc says "-fopenmp"; clang without libomp fails to find omp.h or -lomp."""
    text = stderr.lower()
    return "openmp" in text or "omp.h" in text or "-lomp" in text or "libomp" in text


def _load(path: str) -> ctypes.CDLL:
    # Set in os.environ (libgomp reads it there), so child processes inherit it too. LLVM's libomp (clang)
    # has its own knob for the same wait: KMP_BLOCKTIME, in milliseconds.
    os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    return ctypes.CDLL(path)
