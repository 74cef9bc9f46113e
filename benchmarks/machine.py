"""What the machine can do at best, to put W3 and W5 in proportion: the memory bandwidth (measured) and the
peak float32 GFLOP/s (estimated from /proc/cpuinfo), and which BLAS library numpy and the peers loaded.
"""

from __future__ import annotations

import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Both FMA pipes of every x86 core with AVX2 since Haswell and Zen 2 take a full-width vector each cycle; the
# number is not in /proc/cpuinfo, so it is assumed (Zen 1 and some Atom cores have one, and the estimate is then
# twice too high).
FMA_UNITS = 2


def cores() -> int:
    """The cores this process may run on (the affinity mask, which containers narrow), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): other processes' work competes with the runners."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _cpuinfo() -> dict:
    """The first processor's fields of /proc/cpuinfo ({} where there is none: macOS, Windows)."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return {}
    info = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


def cpu_description() -> str:
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    simd = [f for f in ("avx512f", "avx2", "fma") if f in flags]
    name = info.get("model name", platform.processor() or platform.machine())
    return f"{name}, {cores()} cores" + (f" ({' '.join(simd)})" if simd else "")


def peak_gflops() -> tuple:
    """(estimated peak float32 GFLOP/s or None, how it was estimated): cores x float32 lanes of the widest FMA
    (16 with AVX-512, 8 with AVX2 + FMA, 4 otherwise) x FMA units x 2 flops per FMA x the clock /proc/cpuinfo
    reports. That clock is the current (or, in a VM, the nominal) one, not the turbo one."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    try:
        ghz = float(info["cpu MHz"]) / 1e3
    except (KeyError, ValueError):
        return None, "no clock in /proc/cpuinfo, so no estimate"
    lanes, isa = (16, "AVX-512") if "avx512f" in flags else (8, "AVX2+FMA") if {"avx2", "fma"} <= flags else (4, "SSE")
    peak = cores() * lanes * FMA_UNITS * 2 * ghz
    return peak, (f"{cores()} cores x {lanes} float32 lanes ({isa}) x {FMA_UNITS} FMA units x 2 flops x "
                  f"{ghz:.2f} GHz (/proc/cpuinfo)")


def _best_seconds(fn, tries: int = 5) -> float:
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def copy_bandwidth_gbs(nbytes: int = 1 << 26) -> float:
    """GB/s of a large copy (bytes read + bytes written), the better of one thread and one thread per core:
    np.copyto releases the GIL, so chunks copied from a thread pool run in parallel."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)
    one_thread = _best_seconds(lambda: np.copyto(dst, src))
    chunks = np.array_split(np.arange(src.size), cores())
    bounds = [(c[0], c[-1] + 1) for c in chunks if c.size]
    with ThreadPoolExecutor(len(bounds)) as pool:
        def parallel_copy():
            list(pool.map(lambda b: np.copyto(dst[b[0]:b[1]], src[b[0]:b[1]]), bounds))

        all_threads = _best_seconds(parallel_copy)
    return 2 * nbytes / min(one_thread, all_threads) / 1e9


def w3_bound_ms(n: int, gbs: float) -> float:
    """The least time W3 can take at `gbs`: read x once and write its gradient once (8 bytes per element)."""
    return 8 * n / (gbs * 1e9) * 1e3


def blas_libraries() -> list:
    """The BLAS (and OpenMP) libraries loaded in this process, from threadpoolctl; call it after the peers are
    imported to see theirs too."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["unknown (pip install threadpoolctl to see which BLAS kernel runs)"]
    found = []
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            arch = lib.get("architecture") or ""
            path = lib.get("filepath", "")
            where = f"{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)}"  # numpy.libs/... says whose
            found.append(f"{lib.get('internal_api')} {lib.get('version') or ''} {arch} ({where}, "
                         f"{lib.get('num_threads')} threads)")
    return found or ["none loaded"]
