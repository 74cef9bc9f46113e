"""Kernel -> CUDA C: the C backend's fused kernels (backends/c/fuse.py) as `__global__` functions.

The value names, loads, literals, element expressions, index arithmetic (`_At`) and the phase analysis of row
kernels are the C renderer's (backends/c/render.py); this file only writes the GPU frame around them. A kernel
`kN` takes its loaded buffers, then its outputs, then (when it has partial results) one `double *ws` workspace,
all C-contiguous device pointers. Shapes are compile-time constants, so the launch (grid, block) is fixed by the
shape alone and so is every summation order: results do not depend on the run.

Layouts (as on C, see c/render.py):
- flat: a grid-stride loop over every element. Reductions over every axis accumulate per thread, are
  reduced per block (warp shuffles, `tg_block_reduce`) into ws, and a second kernel `kN_fin` combines the
  block partials in a fixed order (each thread a strided subset, then one block reduction) and runs the
  scalar epilogue.
- rows: one block per row (blocks stride over rows); per phase, the block's threads stride over the row, and a
  row reduction ends the phase with a block reduction whose result every thread holds. Values needed in a
  later phase are recomputed or read back from an output the same thread wrote (no row buffers: on a GPU the
  arithmetic is cheaper than the memory). Column reductions of short rows keep one partial column per block
  in ws (the grid is capped so that they stay under COL_PARTIALS), reductions over every axis one partial per
  block; `kN_fin` adds the partial columns in block order and combines the rest as for flat kernels.
- columns: reductions over the leading axes only: one thread per column walks the rows in order (coalesced
  reads, no partials).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..c.fuse import ALL, COL, FULL, MAP, PREFIX, ROW, SUFFIX
from ..c.render import _At, _prod, _Rows, _Writer
from ..c.scalar import CTYPES

THREADS = 256  # threads per block of flat and column kernels (a multiple of the warp size)
MAX_BLOCKS = 4096  # grid-stride kernels launch at most this many blocks (enough for every SM of an H200 8 times)
WARP = 32
COL_PARTIALS = 1 << 22  # doubles of per-block partial columns per column reduction (32 MB): bounds a row grid


@dataclass
class Launch:
    """One kernel launch: function name, grid and block size (threads), both fixed by the shapes."""

    name: str
    grid: int
    block: int


@dataclass
class CudaKernel:
    """The CUDA text of one fused kernel and how to launch it: `args` are the loaded Vars (device pointers in this
    order), then one pointer per output of `kernel.outputs`, then the workspace when `workspace` (doubles) > 0."""

    kernel: object
    name: str
    source: str
    args: list
    launches: list = field(default_factory=list)
    workspace: int = 0
    types: list = field(default_factory=list)  # the C pointer type of each parameter


def _blocks(n: int, per_block: int) -> int:
    return max(1, min(MAX_BLOCKS, -(-n // per_block)))


def _threads_for(r: int) -> int:
    """Threads of a row block: the row length rounded up to whole warps, at most THREADS."""
    return min(THREADS, max(WARP, -(-r // WARP) * WARP))


def layout(kernel) -> str:
    """'flat', 'rows' or 'columns' for the GPU (columns: only column reductions, whatever the row length)."""
    roles = set(kernel.role.values())
    if kernel.split is None:
        return "flat"
    return "rows" if SUFFIX in roles or ALL in roles else "columns"


def render(kernel, name: str) -> CudaKernel:
    """The CUDA text of fused kernel `kernel` (backends/c/fuse.py) as function `name` (and `name_fin`)."""
    w = _CudaWriter(kernel, name)
    lay = layout(kernel)
    body = {"flat": w.flat, "rows": w.rows, "columns": w.columns}[lay]()
    return w.finish(lay, body)


def _identity(e) -> str:
    return "-INFINITY" if e.prim.name == "amax" else "0"


def _op(e) -> int:
    return 1 if e.prim.name == "amax" else 0


class _CudaWriter(_Writer):
    """The C renderer's writer (names, loads, literals, statements) with a GPU frame."""

    def __init__(self, kernel, name):
        super().__init__(kernel, name)
        self.types = [f"const {CTYPES[v.dtype.name]} *" for v in self.args]
        self.types += [f"{CTYPES[v.dtype.name]} *" for v in kernel.outputs]
        self.params = [f"{t}__restrict__ in{j}" for j, t in enumerate(self.types[:len(self.args)])]
        self.params += [f"{t}__restrict__ out{j}" for j, t in enumerate(self.types[len(self.args):])]
        self.ws = 0  # doubles of workspace
        self.launches = []
        self.fin = None  # body of the finishing kernel, when there are partial results

    # accumulators: the same types as on C; the max propagates NaN by comparison (no flag: no SIMD to feed)

    def acc_decl(self, e, acc, t):
        return [f"{t} {acc} = {_identity(e)};"]

    def acc_update(self, e, acc, t, src):
        return [self.col_update(e, acc, t, src)]

    def acc_result(self, e, acc):
        t = CTYPES[e.outputs[0].dtype.name]
        return f"{t} {self.names[e.outputs[0].id]} = ({t})({acc});"

    def finish(self, lay, body) -> CudaKernel:
        if self.ws:
            self.params.append("double *__restrict__ ws")
            self.types.append("double *")
        sig = ", ".join(self.params)
        shape = list(self.k.shape)
        text = [f"/* {self.name}: fuses {' '.join(self.k.prims)} over {shape}, {lay}{self.note} */",
                f'extern "C" __global__ void {self.name}({sig}) {{', *("    " + b for b in body), "}"]
        if self.fin is not None:
            text += [f'extern "C" __global__ void {self.name}_fin({sig}) {{', *("    " + b for b in self.fin), "}"]
        return CudaKernel(self.k, self.name, "\n".join(text) + "\n", self.args, self.launches, self.ws, self.types)

    def partials(self, reds, grid) -> tuple:
        """Per-block partials of reductions over every axis: (lines ending the main kernel, lines of the
        finishing kernel's block 0 that combine them in a fixed order and bind each result's name)."""
        end, combine = [], []
        for e in reds:
            acc, base = f"a{self.names[e.outputs[0].id][1:]}", self.ws
            self.ws += grid
            op, ident = _op(e), _identity(e)
            end += [f"{acc} = tg_block_reduce<{op}>({acc}, ({self.acc_type(e)})({ident}));",
                    f"if (threadIdx.x == 0) ws[{base}L + blockIdx.x] = (double){acc};"]
            combine += [f"double {acc} = {ident};",
                        f"for (long b = threadIdx.x; b < {grid}L; b += blockDim.x) "
                        f"{acc} = tg_combine<{op}>({acc}, ws[{base}L + b]);",
                        f"{acc} = tg_block_reduce<{op}>({acc}, (double)({ident}));", self.acc_result(e, acc)]
        return end, combine

    def scalar_tail(self, combine) -> list:
        """Block 0 of the finishing kernel: the combined all-axes results, the epilogue, the scalar outputs."""
        if not combine:
            return []
        return ["if (blockIdx.x == 0) {", *("    " + c for c in combine),
                *("    " + x for x in self.guarded(self.epilogue())), "}"]

    def guarded(self, lines) -> list:
        """Epilogue lines: the statements run on every thread, the stores on thread 0."""
        return [x if not x.startswith("out") else f"if (threadIdx.x == 0) {x}" for x in lines]

    # *** flat ***

    def flat(self) -> list:
        k, n = self.k, _prod(self.k.shape)
        grid = _blocks(n, THREADS)
        self.launches.append(Launch(self.name, grid, THREADS))
        index = _At(k.shape, 0, None, "i")
        body = [self.stmt(e, index) for e in self.members(MAP, FULL)]
        body += [f"{self.outs[v.id]}[i] = {self.names[v.id]};" for v in self.outputs_of(FULL)]
        decls = []
        for e in k.reductions:
            acc, t = f"a{self.names[e.outputs[0].id][1:]}", self.acc_type(e)
            decls += self.acc_decl(e, acc, t)
            body += self.acc_update(e, acc, t, self.ref(e.inputs[0], index))
        loop = [*decls, f"for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < {n}L; "
                        f"i += (long)blockDim.x * gridDim.x) {{", *("    " + b for b in body), "}"]
        if not k.reductions:
            return loop
        end, combine = self.partials(k.reductions, grid)
        self.fin = self.scalar_tail(combine)
        self.launches.append(Launch(f"{self.name}_fin", 1, THREADS))
        return loop + end

    # *** columns: one thread per column, rows in order ***

    def columns(self) -> list:
        k = self.k
        m, r = k.rows()
        self.note = f" as {m} rows of {r}"
        self.launches.append(Launch(self.name, _blocks(r, THREADS), THREADS))
        index = _At(k.shape, k.split, "o", "j")
        init, inner, store = [], [], []
        for e in k.reductions:
            acc, t = f"c{self.names[e.outputs[0].id][1:]}", self.acc_type(e)
            init.append(f"{t} {acc} = {_identity(e)};")
            inner.append(self.col_update(e, acc, t, self.ref(e.inputs[0], index)))
            store += [f"{self.outs[v.id]}[j] = ({CTYPES[v.dtype.name]}){acc};" for v in self.outputs_of(COL)
                      if self.base[v.id] == e.outputs[0].id]
        full = [self.stmt(e, index) for e in self.members(MAP, FULL)]
        full += [f"{self.outs[v.id]}[o * {r}L + j] = {self.names[v.id]};" for v in self.outputs_of(FULL)]
        return [f"for (long j = blockIdx.x * (long)blockDim.x + threadIdx.x; j < {r}L; "
                f"j += (long)blockDim.x * gridDim.x) {{", *("    " + x for x in init),
                f"    for (long o = 0; o < {m}L; o++) {{", *("        " + x for x in full + inner), "    }",
                *("    " + x for x in store), "}"]

    # *** rows ***

    def rows(self) -> list:
        return _CudaRows(self).lines()


class _CudaRows(_Rows):
    """The C renderer's phase analysis of a row kernel, written as one block per row."""

    def carry(self):
        # no row buffers: a value needed in a later phase is recomputed or read back from an output
        self.readback = {self.w.base[v.id]: self.w.outs[v.id] for v in self.w.outputs_of(FULL)
                         if self.computed(self.w.base[v.id])}
        self.kept = {}
        self.plans = [self.plan(q) for q in range(self.loops)]

    def loop(self, q) -> list:
        w, r = self.w, self.r
        compute, back = self.plans[q]
        body = [f"{CTYPES[w.defs[b].outputs[0].dtype.name]} {w.names[b]} = {self.readback[b]}[o * {r}L + j];"
                for b in sorted(back, key=lambda b: self.phase[b])]
        body += [w.stmt(e, self.full_index()) for e in w.members(MAP, FULL) if e.outputs[0].id in compute]
        body += [f"{w.outs[v.id]}[o * {r}L + j] = {w.names[v.id]};" for v in w.outputs_of(FULL)
                 if self.phase[v.id] == q]
        decls, after = [], []
        for e in self.k.reductions:
            v = e.outputs[0]
            if self.at[v.id] != ("loop", q):
                continue
            role, src = self.k.role[v.id], w.ref(e.inputs[0], self.full_index())
            if role == SUFFIX:
                acc, t = f"a{w.names[v.id][1:]}", w.acc_type(e, r)
                decls += w.acc_decl(e, acc, t)
                body += w.acc_update(e, acc, t, src)
                after += [f"{acc} = tg_block_reduce<{_op(e)}>({acc}, ({t})({_identity(e)}));", w.acc_result(e, acc)]
            elif role == PREFIX:  # this block's partial column, owned by the thread that owns column j
                body.append(w.col_update(e, f"ws[{self.colbase[v.id]}L + blockIdx.x * {r}L + j]", "double", src))
            else:
                acc, t = f"a{w.names[v.id][1:]}", w.acc_type(e)
                body += w.acc_update(e, acc, t, src)
        return [*decls, f"for (long j = threadIdx.x; j < {r}L; j += blockDim.x) {{", *("    " + b for b in body), "}",
                *after]

    def row_body(self) -> list:
        w = self.w
        lines = []
        for q in range(-1, self.loops):
            if q >= 0:
                lines += self.loop(q)
            lines += [w.stmt(e, self.row_index(e)) for e in w.members(MAP, ROW) if self.gap[e.outputs[0].id] == q]
        for e in self.k.reductions:  # all-axes reductions of row values: once per row, by thread 0
            v = e.outputs[0]
            if self.at[v.id][0] == "row":
                upd = w.acc_update(e, f"a{w.names[v.id][1:]}", w.acc_type(e), w.names[e.inputs[0].id])
                lines += [f"if (threadIdx.x == 0) {u}" for u in upd]
        lines += [f"if (threadIdx.x == 0) {w.outs[v.id]}[o] = {w.names[v.id]};" for v in w.outputs_of(ROW)]
        return lines

    def lines(self) -> list:
        w, k, m, r = self.w, self.k, self.m, self.r
        cols = [e for e in k.reductions if k.role[e.outputs[0].id] == PREFIX]
        grid, block = _blocks(m, 1), _threads_for(r)
        if cols:  # each block keeps a partial column of length r per column reduction
            grid = max(1, min(grid, COL_PARTIALS // r))
        w.launches.append(Launch(w.name, grid, block))
        w.note = f" as {m} rows of {r} in {self.loops} loop{'s' if self.loops > 1 else ''}"
        alls = [e for e in k.reductions if k.role[e.outputs[0].id] == ALL]
        self.colbase, head = {}, []
        for e in cols:  # this block's partial column starts at the identity
            self.colbase[e.outputs[0].id] = w.ws
            head.append(f"for (long j = threadIdx.x; j < {r}L; j += blockDim.x) "
                        f"ws[{w.ws}L + blockIdx.x * {r}L + j] = {_identity(e)};")
            w.ws += grid * r
        for e in alls:
            head += w.acc_decl(e, f"a{w.names[e.outputs[0].id][1:]}", w.acc_type(e))
        rows = [f"for (long o = blockIdx.x; o < {m}L; o += gridDim.x) {{", *("    " + x for x in self.row_body()), "}"]
        end, combine = w.partials(alls, grid)
        if cols or alls:
            w.fin = self.combine_cols(cols, grid) + w.scalar_tail(combine)
            w.launches.append(Launch(f"{w.name}_fin", _blocks(r, THREADS) if cols else 1, THREADS))
        return head + rows + end

    def combine_cols(self, cols, grid) -> list:
        """The finishing kernel's columns: each column's block partials added in block order."""
        w, r, out = self.w, self.r, []
        for e in cols:
            v, base = e.outputs[0], self.colbase[e.outputs[0].id]
            stores = [f"{w.outs[u.id]}[j] = ({CTYPES[u.dtype.name]})s;" for u in w.outputs_of(COL)
                      if w.base[u.id] == v.id]
            out += [f"for (long j = blockIdx.x * (long)blockDim.x + threadIdx.x; j < {r}L; "
                    f"j += (long)blockDim.x * gridDim.x) {{", f"    double s = ws[{base}L + j];",
                    f"    for (long b = 1; b < {grid}L; b++) "
                    + w.col_update(e, "s", "double", f"ws[{base}L + b * {r}L + j]"),
                    *("    " + x for x in stores), "}"]
        return out


def module_source(kernels) -> str:
    """The CUDA source of a plan's kernels: the prelude, then each kernel."""
    from .source import PRELUDE

    return PRELUDE + "\n" + "\n".join(k.source for k in kernels)
