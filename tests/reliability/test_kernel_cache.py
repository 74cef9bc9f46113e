"""Faults and bounds of the C kernel cache (backends/c/compiler.py): LRU eviction on disk and of loaded libraries,
a read-only or corrupt folder, two processes compiling one kernel, a kernel whose malloc fails."""

import multiprocessing
import os
import re
import subprocess
import sys
import warnings

import pytest

import tapegrad as tg
from tapegrad.backends.c import compiler

needs_cc = pytest.mark.skipif(compiler.compiler() is None, reason="no C compiler")
pytestmark = needs_cc


def _src(k: int) -> str:
    return f"int k0(void **a) {{ ((double *)a[0])[0] = {k}.0; return 0; }}\n"


def _mapped_kernels(folder) -> int:
    """Kernel libraries of `folder` mapped into this process now."""
    with open("/proc/self/maps") as f:
        return len({line.split()[-1] for line in f if str(folder) in line and line.rstrip().endswith(".so")})


def test_disk_cache_evicts_least_recently_used(tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path))
    first = compiler.build(_src(0), compiler.compiler())
    size = os.path.getsize(first)
    monkeypatch.setenv("TAPEGRAD_CACHE_MAX_MB", "1")
    cap_entries = (1 << 20) // size
    for k in range(1, cap_entries + 5):
        compiler.build(_src(0), compiler.compiler())  # a hit: entry 0 stays the most recently used
        compiler.build(_src(k), compiler.compiler())
    files = list((tmp_path / "kernels").iterdir())
    assert sum(f.stat().st_size for f in files) <= 1 << 20 and os.path.exists(first)
    assert not os.path.exists(compiler.entry(_src(1), compiler.compiler())[0])  # the oldest went first


@pytest.mark.filterwarnings("ignore::tapegrad.trace.function.RetraceWarning")
def test_loaded_libraries_are_bounded_across_shapes(tmp_path, monkeypatch):
    # 300 shapes of one function once kept 300 libraries mapped (RSS +15 MB); 24 here with a cap of 6
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TAPEGRAD_MAX_LOADED_KERNELS", "6")
    f = tg.jit(lambda x: (x.exp() * 2).sum(-1), backend="c")
    for n in range(1, 25):
        assert f(tg.ones(n)).item() == pytest.approx(2 * n * 2.718281828, rel=1e-5)
    assert _mapped_kernels(tmp_path) <= 6
    assert f(tg.ones(1)).item() == pytest.approx(2 * 2.718281828, rel=1e-5)  # an evicted plan loads again


def test_read_only_cache_falls_back_with_one_warning(tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    (tmp_path / "kernels").mkdir()
    os.chmod(tmp_path / "kernels", 0o500)
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path))
    _fresh_warning_state(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = [compiler.build(_src(k), compiler.compiler()) for k in (101, 102)]
    assert [w.category for w in caught] == [compiler.CacheWarning]
    assert all(compiler.Library(p).fn("k0", True) for p in paths)


def test_full_or_unusable_cache_falls_back_with_one_warning(tmp_path, monkeypatch):
    # the cache "folder" is a file: every write fails as on a full or read-only disk (root too)
    (tmp_path / "kernels").write_text("not a folder")
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path))
    _fresh_warning_state(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = tg.jit(lambda x: x.exp().sum(), backend="c")
        assert f(tg.zeros(3)).item() == 3.0 and f(tg.zeros(4)).item() == 4.0
    assert [w.category for w in caught] == [compiler.CacheWarning]


def test_corrupt_entry_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path))
    path = compiler.entry(_src(7), compiler.compiler())[0]
    with open(path, "wb") as f:
        f.write(b"\x7fELF truncated")
    assert compiler.build(_src(7), compiler.compiler()) == path and os.path.getsize(path) > 100


def _fresh_warning_state(monkeypatch):
    monkeypatch.setattr(compiler, "_cache_warned", False)
    monkeypatch.setattr(compiler, "_private", None)


def _build_in_child(args):
    folder, k = args
    os.environ["TAPEGRAD_CACHE_DIR"] = folder
    path = compiler.build(_src(k), compiler.compiler())
    return compiler.Library(path).fn("k0", True) is not None


def test_two_processes_compiling_one_kernel_both_succeed(tmp_path):
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters, as two users' processes would be
    with ctx.Pool(2) as pool:
        assert pool.map(_build_in_child, [(str(tmp_path), 55)] * 4) == [True] * 4
    assert [p.name.count(".") for p in (tmp_path / "kernels").iterdir()] == [1]  # one entry, no temporaries


NOMEM = """
import re, resource
import tapegrad as tg
f = tg.jit(lambda x: (x.exp().sum(1), (x.exp() - x.exp().sum(1, keepdim=True)).sum(0)), backend="c")
x = tg.ones(64, 8192)
f(x)  # compiled and run once: its per-chunk column buffer (1 MB) comes from malloc
vm = int(re.search(r"VmSize:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + (1 << 19), resource.RLIM_INFINITY))
try:
    f(x)
except MemoryError as e:
    print("MemoryError", e)
"""


def test_failed_malloc_in_a_kernel_raises_memory_error(tmp_path):
    env = dict(os.environ, TAPEGRAD_CACHE_DIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", NOMEM], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]  # it used to abort() the process
    assert re.search(r"MemoryError out of memory in the C kernel k0", r.stdout), r.stdout + r.stderr[-2000:]
