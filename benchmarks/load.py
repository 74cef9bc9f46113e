"""How busy the rest of the machine is while a benchmark runs: the cores that *other* processes kept busy,
from /proc/stat (every process's CPU time) minus /proc/self/stat (this process's, all its threads).

The 1-minute load average alone cannot tell a runner's own threads from another engineer's compiler, and it
lags by a minute; the difference of CPU times over the timed interval itself can. Linux only: elsewhere every
reading is None and nothing is flagged.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# Above this many cores of other processes' work, a timing is flagged as taken on a busy machine. A quarter of
# a core is a compiler or a test run in the background: enough to slow a runner with spinning thread pools.
BUSY_CORES = 0.25


@dataclass(frozen=True)
class Snapshot:
    wall: float
    machine_busy_s: float  # CPU seconds every process has used (all but idle and iowait)
    own_s: float  # CPU seconds this process has used, all threads, and its waited-for children


def snapshot() -> Snapshot | None:
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        with open("/proc/self/stat") as f:
            own = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal
    own_ticks = sum(int(v) for v in own[11:15])  # utime stime cutime cstime
    return Snapshot(time.perf_counter(), busy / _TICKS, own_ticks / _TICKS)


def other_cores(start: Snapshot | None, end: Snapshot | None) -> float | None:
    """The average number of cores other processes used between two snapshots of this process."""
    if start is None or end is None or end.wall <= start.wall:
        return None
    other = (end.machine_busy_s - start.machine_busy_s) - (end.own_s - start.own_s)
    return max(0.0, other / (end.wall - start.wall))


def own_cores(start: Snapshot | None, end: Snapshot | None) -> float | None:
    if start is None or end is None or end.wall <= start.wall:
        return None
    return (end.own_s - start.own_s) / (end.wall - start.wall)


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def quiet_now(seconds: float = 0.5) -> float | None:
    """Other processes' cores over a short idle wait of this process (its own use is about zero)."""
    start = snapshot()
    time.sleep(seconds)
    return other_cores(start, snapshot())


def is_busy(cores: float | None, threshold: float = BUSY_CORES) -> bool:
    return cores is not None and cores > threshold
