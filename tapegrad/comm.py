"""The MPI layer under tg.distributed: the process group and collectives on numpy buffers.

A leaf module (numpy, and mpi4py imported on first use), so that the numpy backend (the collective
primitives' implementations), tg.distributed and nn.parallel share one process group without importing each
other. Every collective here moves raw buffers with mpi4py's upper-case (buffer) calls, never pickles, and
waits through `wait`, which polls with a deadline: a peer that stopped answering becomes an error after the
group's timeout instead of a hang. A rank that raises takes the whole job down (`_abort_on_uncaught`), since
the others would otherwise wait for it forever.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

INSTALL = 'pip install "tapegrad[mpi]" (which installs mpi4py and the MPICH library with its mpiexec)'
START = ("start the processes with `mpiexec -n N python script.py` (the group then starts by itself), or call "
         "tg.distributed.init_process_group(backend=\"mpi\") first")  # fmt: skip
OPS = ("sum", "avg", "max", "min")
DEFAULT_TIMEOUT = 1800.0  # seconds, PyTorch's default for its CPU backends
# environment variables that MPI launchers set in the processes they start (MPICH/Hydra, Open MPI, PMIx)
LAUNCHER_ENV = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")
HEADER = 48  # int64 words describing a buffer in the cross-rank check (see _record)


class DistributedError(RuntimeError):
    """A collective that cannot go on: not started, mismatched tensors across ranks, or a peer that timed out."""


class _Group:
    def __init__(self, comm, timeout: float):
        self.comm, self.rank, self.size, self.timeout = comm, comm.Get_rank(), comm.Get_size(), timeout


_group: _Group | None = None


def mpi():
    """mpi4py's MPI module, or an error that says what to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(f"tg.distributed needs mpi4py, which is not installed ({e}); {INSTALL}") from None
    return MPI


def launched_by_mpiexec() -> bool:
    return any(k in os.environ for k in LAUNCHER_ENV)


def init(timeout: float | None = None) -> _Group:
    """Start the group over MPI_COMM_WORLD (a single process without a launcher is a world of one)."""
    global _group
    if _group is not None:
        raise DistributedError("the process group is already initialized; call destroy_process_group() first")
    MPI = mpi()
    comm = MPI.COMM_WORLD.Dup()  # our own communicator: a user's mpi4py messages never match ours
    if timeout is None:  # the variable serves runs whose group starts by itself under mpiexec
        timeout = float(os.environ.get("TAPEGRAD_DIST_TIMEOUT", DEFAULT_TIMEOUT))
    _group = _Group(comm, float(timeout))
    if _group.size > 1:
        _abort_on_uncaught()
    return _group


def group() -> _Group:
    """The current group; started on first use under mpiexec, else an error that says how to start it."""
    if _group is None:
        if launched_by_mpiexec():
            return init()
        mpi()  # says what to install first, when that is what is missing
        raise DistributedError(f"the default process group is not initialized: {START}")
    return _group


def destroy() -> None:
    global _group
    if _group is not None:
        _group.comm.Free()
        _group = None


def abort(code: int = 1) -> None:
    """End every rank of the job now (MPI_Abort); the launcher reports the code."""
    sys.stdout.flush()
    sys.stderr.flush()
    group().comm.Abort(code)


def _abort_on_uncaught() -> None:
    """An exception that ends this rank ends the job: the other ranks would block in their next collective."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        if _group is not None:
            print(f"tapegrad.distributed: rank {_group.rank} of {_group.size} stopped with {kind.__name__}; "
                  "aborting the other ranks", file=sys.stderr)  # fmt: skip
            abort(1)

    sys.excepthook = hook


def wait(req, what: str) -> None:
    """Wait for a non-blocking request, polling so that a silent peer becomes an error after the timeout.

    The pauses grow from 10 us to 1 ms: short enough for small messages, and a waiting rank does not take a
    core from the ranks it waits for (MPICH's blocking Wait spins)."""
    if req.Test():
        return
    g = group()
    deadline, pause = time.monotonic() + g.timeout, 1e-5
    while not req.Test():
        if time.monotonic() > deadline:
            raise DistributedError(
                f"{what}: rank {g.rank} waited {g.timeout:g} s for the other ranks of {g.size}; one of them has "
                "stopped, hangs, or called a different collective (every rank must call the same collectives in "
                "the same order). The wait is set by init_process_group(timeout=...) or $TAPEGRAD_DIST_TIMEOUT"
            )
        time.sleep(pause)
        pause = min(2 * pause, 1e-3)


# *** the cross-rank check ***

NAME_BYTES, MAX_DIMS = 16, HEADER - 1 - 16


def _record(a: np.ndarray) -> np.ndarray:
    """dtype name and shape as int64 words: [ndim, 16 bytes of the name, the first MAX_DIMS dims]."""
    r = np.zeros(HEADER, np.int64)
    name = a.dtype.name.encode()[:NAME_BYTES]
    r[0] = a.ndim
    r[1 : 1 + len(name)] = list(name)
    dims = a.shape[:MAX_DIMS]
    r[1 + NAME_BYTES : 1 + NAME_BYTES + len(dims)] = dims
    return r


def _describe(r: np.ndarray) -> str:
    name = bytes(int(c) for c in r[1 : 1 + NAME_BYTES] if c).decode()
    return f"{name} {tuple(int(d) for d in r[1 + NAME_BYTES : 1 + NAME_BYTES + min(int(r[0]), MAX_DIMS)])}"


def check_same(a: np.ndarray, what: str) -> None:
    """Every rank passes a buffer of one dtype and shape, or each gets an error naming its own and another's.
    One small allgather: every rank sees every record, so all of them raise together (none is left waiting)."""
    g = group()
    if g.size == 1:
        return
    mine = _record(a)
    every = np.empty((g.size, HEADER), np.int64)
    wait(g.comm.Iallgather(mine, every), f"{what} (comparing shapes and dtypes across ranks)")
    differ = np.flatnonzero((every != mine).any(axis=1))  # not all equal: some rank differs from each rank
    if differ.size:
        other = int(differ[0])
        raise DistributedError(
            f"{what}: rank {g.rank} passed {_describe(mine)} but rank {other} passed {_describe(every[other])}; "
            "every rank must pass a tensor of the same shape and dtype"
        )


# *** collectives on numpy arrays: each returns a new array and leaves its input alone ***

# numpy dtypes MPI has no arithmetic for: reduced in a wider type and cast back
_WIDER = {"float16": np.float32, "bfloat16": np.float32, "bool": np.uint8}


def _mpi_op(op: str):
    MPI = mpi()
    return {"sum": MPI.SUM, "avg": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]


def arithmetic_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a buffer of `dtype` is reduced in."""
    return np.dtype(_WIDER.get(dtype.name, dtype))


def _for_reduction(a: np.ndarray) -> np.ndarray:
    return np.array(a, dtype=arithmetic_dtype(a.dtype), order="C", copy=True)


def _finish(out: np.ndarray, op: str, dtype: np.dtype, size: int) -> np.ndarray:
    if op == "avg":
        if out.dtype.kind == "f":
            out /= size
        else:  # integers: the quotient truncated toward zero, as C's integer division
            out = np.sign(out) * (np.abs(out) // size)
    if dtype == np.bool_ and op in ("sum", "avg"):
        return out != 0
    return out.astype(dtype, copy=False)


def reduce_ops(op: str) -> None:
    if op not in OPS:
        raise DistributedError(f"unknown reduce op {op!r}; use one of ReduceOp.SUM, AVG, MAX, MIN")


def all_reduce(a: np.ndarray, op: str, what: str = "all_reduce") -> np.ndarray:
    g = group()
    check_same(a, what)
    buf = _for_reduction(a)
    if g.size > 1:
        wait(g.comm.Iallreduce(mpi().IN_PLACE, buf, op=_mpi_op(op)), what)
    return _finish(buf, op, a.dtype, g.size)


def broadcast(a: np.ndarray, src: int, what: str = "broadcast") -> np.ndarray:
    g = group()
    _check_rank(src, "src")
    check_same(a, what)
    buf = np.array(a, order="C", copy=True)
    if g.size > 1:  # bytes: every dtype travels, including those MPI has no type for
        wait(g.comm.Ibcast(_bytes(buf), root=src), what)
    return buf


def all_gather(a: np.ndarray, axis: int, what: str = "all_gather") -> np.ndarray:
    """The ranks' arrays concatenated along axis, rank 0's first."""
    g = group()
    check_same(a, what)
    mine = np.ascontiguousarray(np.moveaxis(a, axis, 0))
    out = np.empty((g.size,) + mine.shape, a.dtype)
    if g.size > 1:
        wait(g.comm.Iallgather(_bytes(mine), _bytes(out)), what)
    else:
        out[0] = mine
    stacked = out.reshape((g.size * mine.shape[0],) + mine.shape[1:])
    return np.ascontiguousarray(np.moveaxis(stacked, 0, axis))


def reduce_scatter(a: np.ndarray, op: str, axis: int, what: str = "reduce_scatter") -> np.ndarray:
    """a reduced over ranks, then cut along axis into world-size equal blocks; this rank keeps block `rank`."""
    g = group()
    check_same(a, what)
    if a.shape[axis] % g.size:
        raise DistributedError(f"{what}: dimension {axis} of size {a.shape[axis]} does not split into "
                               f"{g.size} equal blocks (one per rank)")  # fmt: skip
    buf = _for_reduction(np.moveaxis(a, axis, 0))
    out = np.empty((buf.shape[0] // g.size,) + buf.shape[1:], buf.dtype)
    if g.size > 1:
        wait(g.comm.Ireduce_scatter_block(buf, out, op=_mpi_op(op)), what)
    else:
        out[...] = buf
    return np.ascontiguousarray(np.moveaxis(_finish(out, op, a.dtype, g.size), 0, axis))


def barrier(what: str = "barrier") -> None:
    g = group()
    if g.size > 1:
        wait(g.comm.Ibarrier(), what)


def _bytes(a: np.ndarray):
    """A C-contiguous array as an MPI byte buffer (what MPI has no type for travels as bytes)."""
    return [a.reshape(-1).view(np.uint8), mpi().BYTE]


def _check_rank(r: int, name: str) -> None:
    size = group().size
    if not isinstance(r, (int, np.integer)) or not 0 <= r < size:
        raise DistributedError(f"{name}={r!r} is not a rank of this group of {size} (0 to {size - 1})")
