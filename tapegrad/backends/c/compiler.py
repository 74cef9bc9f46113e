"""The system C compiler and the on-disk kernel cache.

A shared library is cached under `<cache dir>/kernels/<sha256 of source, compiler, flags>.so`. It is
compiled into a temporary file in the same folder and renamed into place (atomic on POSIX), so several
processes can build the same entry at once; a file that fails to load is deleted and rebuilt.

TAPEGRAD_CC (else CC, else `cc`) names the compiler; TAPEGRAD_CACHE_DIR the cache folder (else
$XDG_CACHE_HOME/tapegrad or ~/.cache/tapegrad).

Bounds: the folder is kept under TAPEGRAD_CACHE_MAX_MB (default 512) by deleting the least recently used
entries (a load touches its file), and at most TAPEGRAD_MAX_LOADED_KERNELS (default 64) plans keep their library
loaded in memory (see `Loaded`). A folder that cannot be written (read-only, full) or holds a corrupt entry falls
back, after one CacheWarning, to building in a private temporary folder.
"""

from __future__ import annotations

import _ctypes
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
import weakref
from collections import OrderedDict

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


class CacheWarning(UserWarning):
    """The kernel cache folder cannot be used (read-only, full, corrupt): kernels are built in a private folder."""


def _limit(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


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


def cache_dir(create: bool = True) -> str:
    root = os.environ.get("TAPEGRAD_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "tapegrad")
    path = os.path.join(root, "kernels")
    if create:
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
    folder = _private_dir() if _cache_warned else cache_dir()
    return os.path.join(folder, key + ".so"), key, flags


def build(source: str, cc: str) -> str:
    """The path of `source`'s shared library, built by `cc` or taken from the cache (whose use marks it recent).

    A cache folder that fails (read-only, full, an entry that does not load) is replaced by a private
    temporary folder after one CacheWarning, so compiled functions keep working."""
    if not _cache_warned:
        try:
            return _cached_or_built(source, cc, *entry(source, cc))
        except OSError as e:
            _warn_cache(f"{e.__class__.__name__}: {e}")
    return _cached_or_built(source, cc, *entry(source, cc))  # now in the private folder


def _cached_or_built(source, cc, path, key, flags) -> str:
    if os.path.exists(path):
        if _loads(path):
            _touch(path)
            return path
        os.remove(path)  # a corrupt or truncated entry: rebuild it
    _compile_into(source, cc, path, key, flags)
    if not _loads(path):
        raise OSError(f"the library just built at {path} does not load")
    _evict(os.path.dirname(path), keep=path)
    return path


def _compile_into(source, cc, path, key, flags) -> None:
    """Compile into a temporary file of the same folder, renamed into place (atomic: readers, other processes
    included, see no file or the whole file)."""
    probe = _version(cc)
    fd, tmp_so = tempfile.mkstemp(suffix=".so", prefix=key + ".", dir=os.path.dirname(path))
    os.close(fd)
    src = tmp_so[:-3] + ".c"
    try:
        with open(src, "w") as f:
            f.write(source)
        r = _compile(cc, flags, src, tmp_so)
        if r.returncode != 0 and probe[1] is None and _mentions_openmp(r.stderr or ""):
            probe[1] = False  # a compiler without OpenMP: build single-threaded from now on
            return _compile_into(source, cc, *entry(source, cc))
        if r.returncode != 0 and _out_of_space(r.stderr or ""):
            raise OSError(f"the cache folder is full or not writable ({r.stderr.strip()[-200:]})")
        if r.returncode != 0:
            raise CompileError(
                f"the C compiler {cc} failed on a generated kernel (exit {r.returncode}); this is a bug in tapegrad's "
                f"code generator, please report it with this message. Workaround: TAPEGRAD_BACKEND=numpy.\n"
                f"{r.stderr[-4000:]}"
            )
        probe[1] = True if probe[1] is None else probe[1]
        os.replace(tmp_so, path)
    finally:
        for p in (tmp_so, src):
            if os.path.exists(p):
                os.remove(p)


def _out_of_space(stderr: str) -> bool:
    text = stderr.lower()
    return "no space left" in text or "read-only file system" in text or "permission denied" in text


_cache_warned = False
_private = None


def _warn_cache(problem: str) -> None:
    global _cache_warned
    if not _cache_warned:
        _cache_warned = True
        warnings.warn(
            f"tapegrad: the kernel cache {cache_dir(create=False)} cannot be used ({problem}); kernels are built in a "
            "private temporary folder instead (compiled again by every process). Fix: free space or permissions "
            "there, or point TAPEGRAD_CACHE_DIR at a writable folder.",
            CacheWarning,
            stacklevel=5,
        )


def _private_dir() -> str:
    global _private
    if _private is None:
        _private = tempfile.mkdtemp(prefix="tapegrad-kernels-")
    return _private


def _loads(path: str) -> bool:
    """Whether the file is a library this process can load (a truncated or foreign file is not)."""
    try:
        handle = _dlopen(path)
    except OSError:
        return False
    _dlclose(handle)
    return True


def _touch(path: str) -> None:
    """Mark an entry as just used (its mtime orders the eviction); a read-only cache keeps its old time."""
    try:
        os.utime(path)
    except OSError:
        pass


STALE_TMP_S = 3600  # a build's temporary file this old belongs to a process that died mid-compile


def _evict(folder: str, keep: str) -> None:
    """Delete the least recently used entries (and dead builds' temporary files) until the folder fits under
    TAPEGRAD_CACHE_MAX_MB. Another process may delete the same file at the same time: that is fine."""
    cap = _limit("TAPEGRAD_CACHE_MAX_MB", 512) << 20
    entries, total, now = [], 0, time.time()
    for e in os.scandir(folder):
        try:
            st = e.stat()
        except OSError:
            continue
        if e.name.count(".") > 1 and now - st.st_mtime > STALE_TMP_S:  # key.XXXX.so / .c: a dead build
            _remove(e.path)
        elif e.name.endswith(".so") and e.name.count(".") == 1:
            entries.append((st.st_mtime, st.st_size, e.path))
            total += st.st_size
    for _, size, p in sorted(entries):
        if total <= cap:
            break
        if p != keep:
            _remove(p)
            total -= size


def _remove(path: str) -> None:
    try:
        os.remove(path)  # a process that has it loaded keeps its mapping (POSIX)
    except OSError:
        pass


# *** loaded libraries ***


def _dlopen(path: str) -> int:
    # Set in os.environ (libgomp reads it there), so child processes inherit it too. LLVM's libomp (clang)
    # has its own knob for the same wait: KMP_BLOCKTIME, in milliseconds.
    os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    return _ctypes.dlopen(path, ctypes.RTLD_LOCAL | os.RTLD_NOW)


def _dlclose(handle: int) -> None:
    _pin_runtime()
    _ctypes.dlclose(handle)


# The OpenMP runtime a kernel library pulls in. Unloading the last library that needs it would unload the
# runtime under its own idle worker threads (a segfault), so it is pinned once loaded: opened again with
# RTLD_NOLOAD (which only succeeds when it is loaded already) and never closed.
_RUNTIMES = ["libgomp.so.1", "libomp.so", "libomp.so.5", "libiomp5.so"]
_pinned: list = []


def _pin_runtime() -> None:
    for name in list(_RUNTIMES):
        try:
            _pinned.append(_ctypes.dlopen(name, os.RTLD_NOLOAD | os.RTLD_NOW))
            _RUNTIMES.remove(name)
        except OSError:
            pass


class Loaded:
    """The libraries of the plans used most recently stay loaded, at most TAPEGRAD_MAX_LOADED_KERNELS of them.

    ctypes never unloads a library, so a loop over 300 input shapes would keep 300 libraries mapped. A plan
    evicted here unloads its library (when it is not running) and loads it again, from the disk cache or by
    compiling, on its next call."""

    def __init__(self):
        self.lru: OrderedDict = OrderedDict()  # id(owner) -> weak reference, least recently used first
        self.lock = threading.RLock()  # reentrant: an owner's __del__ (forget) can run inside `use` (a gc pass)

    def use(self, owner) -> None:
        try:
            if next(reversed(self.lru)) == id(owner):  # the plan called last is called again: nothing moves
                return
        except (StopIteration, RuntimeError):  # empty, or changed by another thread meanwhile: the locked path
            pass
        with self.lock:
            self.lru[id(owner)] = weakref.ref(owner)
            self.lru.move_to_end(id(owner))
            cap = _limit("TAPEGRAD_MAX_LOADED_KERNELS", 64)
            for key in list(self.lru)[: max(0, len(self.lru) - cap)]:
                old = self.lru[key]()
                if old is None or old.unload():  # False: running now (another thread); it stays loaded
                    self.lru.pop(key, None)

    def forget(self, owner) -> None:
        with self.lock:
            self.lru.pop(id(owner), None)

    def __len__(self) -> int:
        return len(self.lru)


LOADED = Loaded()


class Library:
    """One loaded shared library: `fn(name)` is a ctypes function of it; `close()` unloads it (after which
    no function taken from it may be called)."""

    def __init__(self, path: str):
        self.path, self.handle = path, _dlopen(path)

    def fn(self, name: str, status: bool):
        """Kernel `name`, `int name(void **)` when it returns a status, else `void name(void **)`."""
        proto = ctypes.CFUNCTYPE(ctypes.c_int if status else None, ctypes.c_void_p)
        return proto(_ctypes.dlsym(self.handle, name))

    def close(self) -> None:
        if self.handle is not None:
            _dlclose(self.handle)
            self.handle = None


def _mentions_openmp(stderr: str) -> bool:
    """The build failed on OpenMP: gcc says "-fopenmp"; clang without libomp fails to find omp.h or -lomp."""
    text = stderr.lower()
    return "openmp" in text or "omp.h" in text or "-lomp" in text or "libomp" in text


