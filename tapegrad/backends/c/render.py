"""Kernel -> C source: one function per fused kernel, loops around the op -> C-expression table of scalar.py.

Depends on fuse.py (the Kernel, its value classes and member roles). Every kernel is `int kN(void **a)` (0, or
NOMEM when out of memory): a[0..] are its loaded buffers then its output buffers, all C-contiguous. Shapes are
compile-time constants, so index arithmetic folds. A kernel is looped in one of three layouts:

- flat: one loop over every element (elementwise maps, reductions over every axis, then the scalar
  epilogue).
- rows: the loop shape seen as m rows of length r. For each row, one loop per phase: a phase ends where a
  row reduction (sum, amax) it feeds is complete, and later phases read the row results as scalars. A full
  value needed in a later phase is kept in a per-chunk row buffer when it is costly to recompute (exp, log,
  div, ...) and recomputed otherwise; a value the kernel writes anyway is read back from its output. Rows are
  split across cores in a fixed number of chunks, so column and all-axes partial results, kept per chunk and
  added in chunk order, do not depend on the thread count. Few long rows instead split each row loop.
- columns: only reductions over the leading axes, of long rows: blocks of 64 columns, rows streamed in order.

A kernel is split across cores (OpenMP) only when its estimated work is large (`parallel`); a small kernel
between two matmuls would otherwise wake threads whose spin-waiting competes with the BLAS threads.

Inner loops carry `#pragma omp simd` (with reduction clauses) so that they vectorise. Sums over a float32 row
of at most FLOAT_ACC_MAX elements accumulate in float (SIMD partial sums); all other sums in double. amax
propagates NaN as numpy does: a vectorisable max plus a NaN flag.
"""

from __future__ import annotations

import math

from ...primitives.base import CHEAP_COST, COSTLY_COST
from .fuse import (
    ALIAS,
    ALL,
    COL,
    COL_IN_ROWS_MAX,
    FULL,
    MAP,
    PREFIX,
    REDUCE_ROLES,
    ROW,
    SCALAR,
    SUFFIX,
)
from .scalar import CTYPES, PRELUDE, expr, is_literal, literal  # noqa: F401  (PRELUDE: plan.py reads it here)

# A kernel is split across cores when its estimated work (elements x per-element cost, in units of about one
# cheap operation or memory access) reaches PARALLEL_WORK: below that, waking threads (and their spin-waiting
# after the region, which competes with the BLAS threads of the next matmul) costs more than it saves.
PARALLEL_WORK = 1 << 19
CHUNKS = 16  # row chunks of a parallel row kernel (fixed: partial results must not depend on the thread count)
FEW_ROWS = 4  # fewer rows than this in a parallel row kernel: each loop over a row is split instead
FLOAT_ACC_MAX = 4096  # float32 rows up to this length sum in float; longer ones in double (accuracy)
SPILL_BYTES = 1 << 16  # per-chunk row buffers (on the stack) for full values carried between phases
STACK_BYTES = 1 << 16  # per-chunk column partials up to this size live on the stack, larger ones on the heap
BLOCK = 64  # columns per block in the columns layout
MIN_INNER = 16  # inner elements per row for an elementwise kernel with trailing broadcasts to loop by rows
INTERLEAVE = 4  # copies of a flat loop body over a long dependency chain (`interleave`)
DEEP_CHAIN = 64  # members in a chain of dependent operations from which a flat loop body is interleaved
# gcc's first instruction scheduling pass, with register pressure in view, for an interleaved kernel: gcc emits the
# copies' vector operations in source order, largely one copy's costly function after another, and the scheduler
# mixes them (W3's interleaved kernel 6.3 -> 5.3 ms on one core). Off by default on x86, where it can spill; other
# compilers ignore the attribute, so it is not emitted for them.
SCHEDULE = ('#if defined(__GNUC__) && !defined(__clang__)\n'
            '__attribute__((optimize("schedule-insns", "sched-pressure")))\n#endif')
NOMEM = 2  # what a fused kernel returns when a heap buffer cannot be allocated (0: success)
_SIZEOF = {"float": 4, "double": 8, "unsigned char": 1, "int32_t": 4, "int64_t": 8}


def _prod(shape) -> int:
    return math.prod(int(n) for n in shape)


def _index(shape, lshape, var: str = "i") -> str:
    """The offset into a C-contiguous array of shape `lshape` broadcast (right-aligned) against `shape`, at flat
    position `var` of `shape`."""
    if tuple(lshape) == tuple(shape):
        return var
    if _prod(lshape) == 1:
        return "0"
    pad = (1,) * (len(shape) - len(lshape)) + tuple(lshape)
    terms = []
    for d, (n, m) in enumerate(zip(shape, pad)):
        if m == 1:
            continue
        inner = _prod(shape[d + 1:])
        t = f"({var} / {inner}L)" if inner != 1 else var
        if d > 0:
            t = f"({t} % {n}L)"
        terms.append(f"{t} * {_prod(pad[d + 1:])}L")
    return " + ".join(terms)


class _At:
    """Where a member reads its loads: a loop shape, seen as rows (the leading `split` axes, position `row`) by
    columns (the rest, position `col`); split 0 is one flat position. Separate row and column terms keep the
    inner loops stride-1."""

    def __init__(self, shape, split: int, row: str | None, col: str):
        self.shape, self.split, self.row, self.col = tuple(shape), split, row, col

    def __call__(self, lshape) -> str:
        """The offset of an array of shape `lshape` broadcast (right-aligned) against the loop shape."""
        shape, k = self.shape, self.split
        pad = (1,) * (len(shape) - len(lshape)) + tuple(lshape)
        trail = _index(shape[k:], pad[k:], self.col)
        if k == 0:
            return trail
        lead, width = _index(shape[:k], pad[:k], self.row), _prod(pad[k:])
        terms = [lead if width == 1 else f"({lead}) * {width}L"] if lead != "0" else []
        terms += [trail] if trail != "0" else []
        return " + ".join(terms) or "0"


def layout(kernel) -> str:
    """'flat', 'rows' or 'columns' (see the module docstring)."""
    roles = set(kernel.role.values())
    if kernel.split is None:
        return "flat"
    if SUFFIX in roles or ALL in roles:
        return "rows"
    m, r = kernel.rows()
    return "rows" if r <= COL_IN_ROWS_MAX and m >= CHUNKS else "columns"


def parallel(kernel) -> bool:
    """Whether the kernel's estimated work is worth splitting across cores (see PARALLEL_WORK)."""
    per_element = sum(not is_literal(v) for v, _ in kernel.loads.values()) + len(kernel.outputs)
    for e in kernel.members:
        role = kernel.role[e.outputs[0].id]
        if role == MAP:
            per_element += e.prim.cost  # in units of one load (primitives/base.py)
        elif role in REDUCE_ROLES:
            per_element += 1
    return _prod(kernel.shape) * per_element >= PARALLEL_WORK


def depth(kernel) -> int:
    """The longest chain of dependent members in the kernel (each waits for the one before)."""
    level: dict = {}
    for e in kernel.members:
        level[e.outputs[0].id] = 1 + max((level.get(u.id, 0) for u in e.inputs), default=0)
    return max(level.values(), default=0)


def interleave(kernel) -> int:
    """How many copies of a flat loop's body to interleave: INTERLEAVE where the loop waits on the latency of its
    operations rather than on memory, else 1. Such a loop keeps too few iterations in flight for the core to
    overlap them: a chain of dependent operations of a few cycles each, or a costly function (exp, sigmoid, tanh:
    some 20 dependent vector operations) in a body of many operations. Two cases:
    - a long chain (DEEP_CHAIN members) over few elements, on one core: the 1,000-op chain `x = x * a + b` on 256
      floats ran 16% faster with 4 independent chains in flight (what LLVM's loop interleaving does for jax.jit),
      at four times the compile time, so only where the chain is long;
    - a large (parallel) kernel with a costly member: each core's part of W3's gelu-sigmoid gradient (two
      sigmoids in 27 operations) ran 7.4 -> 5.3 ms, tanh alone 3.4 -> 2.4 ms and exp(exp(x) / 2) 6.0 -> 4.1 ms
      (4M float32, one core, with the `SCHEDULE` attribute); a sigmoid alone did not change.
    The element count must split into INTERLEAVE parts of whole 8-float vectors."""
    n = _prod(kernel.shape)
    if n % (INTERLEAVE * 8):
        return 1
    if parallel(kernel):
        costly = any(kernel.role[e.outputs[0].id] == MAP and e.prim.cost >= COSTLY_COST for e in kernel.members)
        return INTERLEAVE if costly else 1
    return INTERLEAVE if depth(kernel) >= DEEP_CHAIN else 1


def broadcast_split(kernel) -> int:
    """For an elementwise kernel whose loads are not all read at the loop's own index: the number of leading axes
    of an outer loop such that every load, over the remaining (inner) axes, is either contiguous or constant;
    0 when no such split leaves at least MIN_INNER inner elements (one flat loop then)."""
    shape = tuple(int(n) for n in kernel.shape)
    pads = [(1,) * (len(shape) - len(lshape)) + tuple(int(n) for n in lshape)
            for v, lshape in kernel.loads.values() if not is_literal(v)]
    if all(p == shape or _prod(p) == 1 for p in pads):
        return 0
    for k in range(1, len(shape)):
        if all(p[k:] == shape[k:] or _prod(p[k:]) == 1 for p in pads):
            return k if _prod(shape[k:]) >= MIN_INNER else 0
    return 0


def render(kernel, name: str):
    """(C source of the kernel function, list of loaded Vars in argument order)."""
    w = _Writer(kernel, name)
    body = {"flat": w.flat, "rows": w.rows, "columns": w.columns}[layout(kernel)]()
    return w.source(body), w.args


class _Writer:
    """The C text of one kernel: argument pointers, value names, and one method per layout."""

    def __init__(self, kernel, name):
        self.k, self.name = kernel, name
        self.args, self.decls, self.lits, self.ptrs = [], [], {}, {}
        for vid, (v, lshape) in kernel.loads.items():
            if is_literal(v):
                self.lits[vid] = literal(v.const, v.dtype.name)
                continue
            j = len(self.args)
            self.args.append(v)
            t = CTYPES[v.dtype.name]
            self.decls.append(f"const {t} *restrict in{j} = (const {t} *)a[{j}];")
            self.ptrs[vid] = (f"in{j}", tuple(lshape))
        self.outs = {}  # Var id -> output pointer name
        for j, v in enumerate(kernel.outputs):
            t = CTYPES[v.dtype.name]
            self.decls.append(f"{t} *restrict out{j} = ({t} *)a[{len(self.args) + j}];")
            self.outs[v.id] = f"out{j}"
        self.names, self.base = {}, {}  # Var id -> C name; Var id -> the Var id an alias shows
        for j, e in enumerate(kernel.members):
            v = e.outputs[0]
            if kernel.role[v.id] == ALIAS:
                src = e.inputs[0].id
                self.names[v.id], self.base[v.id] = self.names[src], self.base[src]
            else:
                self.names[v.id], self.base[v.id] = f"t{j}", v.id
        self.defs = {e.outputs[0].id: e for e in kernel.members}
        self.note, self.includes, self.scheduled = "", [], False

    # *** shared pieces ***

    def source(self, body: list) -> str:
        shape = list(self.k.shape)
        comment = f"/* {self.name}: fuses {' '.join(self.k.prims)} over {shape}{self.note} */"
        attr = [SCHEDULE] if self.scheduled else []
        return "\n".join([*self.includes, comment, *attr, f"int {self.name}(void **a) {{",
                          *("    " + d for d in self.decls), *("    " + b for b in body), "    return 0;", "}"]) + "\n"

    def ref(self, v, at: _At) -> str:
        """The C expression of input v: a name inside the kernel, a literal, or a load at `at`."""
        if v.id in self.names:
            return self.names[v.id]
        if v.id in self.lits:
            return self.lits[v.id]
        ptr, lshape = self.ptrs[v.id]
        return f"{ptr}[{at(lshape)}]"

    def stmt(self, e, at: _At) -> str:
        v = e.outputs[0]
        return f"{CTYPES[v.dtype.name]} {self.names[v.id]} = {expr(e, [self.ref(u, at) for u in e.inputs])};"

    def members(self, role, cls):
        return [e for e in self.k.members if self.k.role[e.outputs[0].id] == role and self.k.kind[e.outputs[0].id] == cls]

    def outputs_of(self, cls) -> list:
        return [v for v in self.k.outputs if self.k.kind[v.id] == cls]

    def acc_type(self, e, row_length=None) -> str:
        t = CTYPES[e.outputs[0].dtype.name]
        if e.prim.name == "amax":
            return t
        return "float" if t == "float" and row_length is not None and row_length <= FLOAT_ACC_MAX else "double"

    def epilogue(self) -> list:
        """The scalar members (work on all-axes results) and the scalar outputs, once every element is done."""
        lines = [self.stmt(e, _At(e.outputs[0].shape, 0, None, "0")) for e in self.members(MAP, SCALAR)]
        return lines + [f"{self.outs[v.id]}[0] = {self.names[v.id]};" for v in self.outputs_of(SCALAR)]

    # *** a reduction's accumulator: declaration, update, reduction clause, result ***

    def acc_decl(self, e, acc: str, t: str) -> list:
        if e.prim.name == "amax":
            return [f"{t} {acc} = -INFINITY;", f"unsigned char {acc}n = 0;"]
        return [f"{t} {acc} = 0;"]

    def acc_update(self, e, acc: str, t: str, src: str) -> list:
        if e.prim.name == "amax":  # max over the non-NaN values (vectorises), NaN seen kept aside
            return [f"{{ {t} x_ = {src}; {acc} = x_ > {acc} ? x_ : {acc}; {acc}n |= (x_ != x_); }}"]
        return [f"{acc} += ({t})({src});"]

    @staticmethod
    def acc_clause(e, acc: str) -> str:
        return f"reduction(max:{acc}) reduction(|:{acc}n)" if e.prim.name == "amax" else f"reduction(+:{acc})"

    def acc_result(self, e, acc: str) -> str:
        v = e.outputs[0]
        value = f"({acc}n ? NAN : {acc})" if e.prim.name == "amax" else f"({CTYPES[v.dtype.name]})({acc})"
        return f"{CTYPES[v.dtype.name]} {self.names[v.id]} = {value};"

    @staticmethod
    def col_update(e, cell: str, t: str, src: str) -> str:
        if e.prim.name == "amax":  # NaN-propagating: once NaN, no comparison replaces it
            return f"{{ {t} x_ = {src}; {cell} = (x_ > {cell} || x_ != x_) ? x_ : {cell}; }}"
        return f"{cell} += ({t})({src});"

    # *** flat: one loop over every element ***

    def flat(self) -> list:
        k, n = self.k, _prod(self.k.shape)
        reds = [e for e in k.reductions]
        if not reds and broadcast_split(k):
            return self.flat_rows(broadcast_split(k))
        accs = [f"a{self.names[e.outputs[0].id][1:]}" for e in reds]
        copies = interleave(k)
        body = self.flat_body(reds, accs, "i") if copies == 1 else self.interleaved_body(reds, accs, n // copies, copies)
        decls, clauses, after = [], [], []
        for e, acc in zip(reds, accs):
            t = self.acc_type(e)
            decls += self.acc_decl(e, acc, t)
            clauses.append(self.acc_clause(e, acc))
            after.append(self.acc_result(e, acc))
        if copies > 1:
            self.note, self.scheduled = f", {copies} interleaved copies of the loop body", True
        if reds and parallel(k):
            return [*self.flat_chunks(reds, decls, clauses, body, n // copies), *after, *self.epilogue()]
        pragma = "parallel for simd" if parallel(k) else "simd"
        return [*decls, f"#pragma omp {pragma} {' '.join(clauses)}".rstrip(),
                f"for (long i = 0; i < {n // copies}L; i++) {{", *("    " + b for b in body), "}", *after,
                *self.epilogue()]

    def flat_rows(self, split: int) -> list:
        """An elementwise kernel with a load broadcast along the trailing axes (a bias over NCHW, a row vector over
        a matrix): rows of the leading `split` axes by contiguous columns, so the broadcast load is indexed once
        per row and the inner loop is stride-1 everywhere (one flat loop computed `(i / 676) % 32` per element
        and read the bias with a gather instruction)."""
        k = self.k
        m, r = _prod(k.shape[:split]), _prod(k.shape[split:])
        index = _At(k.shape, split, "o", "j")
        self.note = f" as {m} rows of {r}"
        body = [self.stmt(e, index) for e in self.members(MAP, FULL)]
        body += [f"{self.outs[v.id]}[o * {r}L + j] = {self.names[v.id]};" for v in self.outputs_of(FULL)]
        par = ["#pragma omp parallel for"] if parallel(k) else []
        return [*par, f"for (long o = 0; o < {m}L; o++) {{", "    #pragma omp simd", f"    for (long j = 0; j < {r}L; j++) {{",
                *("        " + b for b in body), "    }", "}", *self.epilogue()]

    def flat_body(self, reds, accs, pos: str) -> list:
        """The statements for the element at flat position `pos`: members, full outputs, accumulator updates."""
        index = _At(self.k.shape, 0, None, pos)
        body = [self.stmt(e, index) for e in self.members(MAP, FULL)]
        body += [f"{self.outs[v.id]}[{pos}] = {self.names[v.id]};" for v in self.outputs_of(FULL)]
        for e, acc in zip(reds, accs):
            body += self.acc_update(e, acc, self.acc_type(e), self.ref(e.inputs[0], index))
        return body

    def interleaved_body(self, reds, accs, part: int, copies: int) -> list:
        """The body for elements i, i + part, i + 2 part, ...: one copy per part with its own value names, the
        copies' statements interleaved, so that a long chain of dependent operations (each waiting for the
        previous one's result, several cycles) runs `copies` independent chains side by side."""
        names = self.names
        bodies = []
        for c in range(copies):
            self.names = {vid: f"{name}_{c}" for vid, name in names.items()}
            bodies.append(self.flat_body(reds, accs, f"(i + {c * part}L)" if c else "i"))
        self.names = names
        return [line for group in zip(*bodies) for line in group]

    def flat_chunks(self, reds, decls, clauses, body, n) -> list:
        """A parallel flat loop with reductions: CHUNKS fixed slices, each reduced on its own, then the partial
        results combined in slice order, so the sum does not depend on the number of threads (an OpenMP
        reduction clause across threads would add partials in an order that does). n: the loop's trip count (the
        elements per copy of an interleaved body)."""
        accs = [f"a{self.names[e.outputs[0].id][1:]}" for e in reds]
        parts, combine = [], []
        for e, acc in zip(reds, accs):
            t = self.acc_type(e)
            parts.append(f"{t} p{acc}[{CHUNKS}];")
            if e.prim.name == "amax":
                parts.append(f"unsigned char p{acc}n[{CHUNKS}];")
                combine += [f"{acc} = p{acc}[c] > {acc} ? p{acc}[c] : {acc};", f"{acc}n |= p{acc}n[c];"]
            else:
                combine.append(f"{acc} += p{acc}[c];")
        store = [f"p{acc}[c] = {acc};" + (f" p{acc}n[c] = {acc}n;" if e.prim.name == "amax" else "")
                 for e, acc in zip(reds, accs)]
        return [*parts, "#pragma omp parallel for", f"for (long c = 0; c < {CHUNKS}L; c++) {{",
                *("    " + d for d in decls), f"    #pragma omp simd {' '.join(clauses)}",
                f"    for (long i = {n}L * c / {CHUNKS}L; i < {n}L * (c + 1) / {CHUNKS}L; i++) {{",
                *("        " + b for b in body), "    }", *("    " + x for x in store), "}",
                *decls, f"for (long c = 0; c < {CHUNKS}L; c++) {{", *("    " + x for x in combine), "}"]

    # *** columns: reductions over the leading axes only ***

    def columns(self) -> list:
        k = self.k
        m, r = k.rows()
        index = _At(k.shape, k.split, "o", "j")
        self.note = f" as {m} rows of {r}, in blocks of {BLOCK} columns"
        inner = [self.stmt(e, index) for e in self.members(MAP, FULL)]
        inner += [f"{self.outs[v.id]}[o * {r}L + j] = {self.names[v.id]};" for v in self.outputs_of(FULL)]
        init, store = [], []
        for e in k.reductions:
            acc, t = f"c{self.names[e.outputs[0].id][1:]}", self.acc_type(e)
            init.append(f"{t} {acc}[{BLOCK}];")
            init.append(f"for (long jb = 0; jb < w; jb++) {acc}[jb] = {'-INFINITY' if e.prim.name == 'amax' else '0'};")
            inner.append(self.col_update(e, f"{acc}[jb]", t, self.ref(e.inputs[0], index)))
            store += [f"{self.outs[v.id]}[j] = ({CTYPES[v.dtype.name]}){acc}[jb];" for v in self.outputs_of(COL)
                      if self.base[v.id] == e.outputs[0].id]
        par = ["#pragma omp parallel for"] if parallel(k) and r > BLOCK else []
        return [*par, f"for (long b0 = 0; b0 < {r}L; b0 += {BLOCK}) {{",
                f"    long w = {r}L - b0 < {BLOCK} ? {r}L - b0 : {BLOCK};", *("    " + x for x in init),
                f"    for (long o = 0; o < {m}L; o++) {{", "        #pragma omp simd",
                "        for (long jb = 0; jb < w; jb++) {", "            long j = b0 + jb;",
                *("            " + x for x in inner), "        }", "    }",
                "    for (long jb = 0; jb < w; jb++) {", "        long j = b0 + jb;", *("        " + x for x in store),
                "    }", "}"]

    # *** rows: per row, one loop per phase ***

    def rows(self) -> list:
        return _Rows(self).lines()


class _Rows:
    """The rows layout of one kernel (see the module docstring): phase analysis, carried values, then the text."""

    def __init__(self, w: _Writer):
        self.w, self.k = w, w.k
        self.m, self.r = self.k.rows()
        self.parallel = parallel(self.k)
        self.few = self.parallel and self.m < FEW_ROWS  # too few rows to share: split each loop over a row
        self.chunks = max(1, min(self.m, CHUNKS)) if self.parallel and not self.few else 1
        self.analyse()
        self.carry()

    # which loop computes each value

    def analyse(self):
        k = self.k
        self.phase = {}  # full Var id -> the loop over the row that computes it (or first may read it)
        self.gap = {}  # row Var id -> the loop after which it is known (-1: before the first)
        self.backed = set()  # full Vars that are a row value broadcast along its row (no per-element code)
        self.at = {}  # reduction Var id -> ("loop", p) for a full input, ("row", g) for a row input
        for e in k.members:
            v, src = e.outputs[0], e.inputs[0]
            role, cls = k.role[v.id], k.kind[v.id]
            if role == ALIAS and cls == FULL:
                if k.kind[src.id] == ROW:
                    self.phase[v.id] = self.gap[src.id] + 1
                    self.backed.add(v.id)
                else:
                    self.phase[v.id] = self.phase[src.id]
                    if src.id in self.backed:
                        self.backed.add(v.id)
            elif role == ALIAS and cls == ROW:
                self.gap[v.id] = self.gap[src.id]
            elif role == MAP and cls == FULL:
                self.phase[v.id] = max([0] + [self.ready(u) for u in e.inputs])
            elif role == MAP and cls == ROW:
                self.gap[v.id] = max([-1] + [self.gap[u.id] for u in e.inputs if k.kind.get(u.id) == ROW])
            elif role in REDUCE_ROLES:
                if k.kind.get(src.id) == ROW:
                    self.at[v.id] = ("row", self.gap[src.id])
                else:
                    self.at[v.id] = ("loop", self.phase.get(src.id, 0))
                    if role == SUFFIX:
                        self.gap[v.id] = self.at[v.id][1]
        ends = [self.phase[e.outputs[0].id] for e in self.w.members(MAP, FULL)]
        ends += [p for how, p in self.at.values() if how == "loop"]
        ends += [self.phase[v.id] for v in self.w.outputs_of(FULL)]
        self.loops = 1 + max(ends, default=0)

    def ready(self, u) -> int:
        """The first loop in which input u of a full member may be read."""
        kind = self.k.kind.get(u.id)
        if kind == FULL:
            return self.phase[u.id]
        if kind == ROW:  # a row value read directly (rows of length 1)
            return self.gap[u.id] + 1
        return 0

    # full values a loop needs: computed there, or from an earlier loop (kept in a row buffer, read back from
    # an output, or recomputed)

    def costly(self, vid) -> bool:
        return self.w.defs[vid].prim.cost > CHEAP_COST  # a cheap value is recomputed in a later phase instead

    def computed(self, vid) -> bool:
        """A full value with per-element code (not a load, not a row value broadcast along its row)."""
        return vid is not None and self.k.kind.get(vid) == FULL and vid not in self.backed

    def sinks(self, q) -> list:
        """The computed full values loop q must have: reduction inputs, outputs and row buffers written there."""
        w, out = self.w, []
        for e in self.k.reductions:
            if self.at[e.outputs[0].id] == ("loop", q):
                out.append(w.base.get(e.inputs[0].id))
        out += [w.base[v.id] for v in w.outputs_of(FULL) if self.phase[v.id] == q]
        out += [b for b in self.kept if self.phase[b] == q]
        return [b for b in out if self.computed(b)]

    def plan(self, q):
        """(values loop q computes, values it reads back from a row buffer or an output)."""
        compute, back, todo = set(), set(), self.sinks(q)
        while todo:
            b = todo.pop()
            if b in compute or b in back:
                continue
            if self.phase[b] < q and (b in self.kept or b in self.readback):
                back.add(b)
                continue
            compute.add(b)
            todo += [self.w.base.get(u.id) for u in self.w.defs[b].inputs if self.computed(self.w.base.get(u.id))]
        return compute, back

    def carry(self):
        self.readback = {self.w.base[v.id]: self.w.outs[v.id] for v in self.w.outputs_of(FULL)
                         if self.computed(self.w.base[v.id])}
        self.kept = {}  # Var id -> row buffer name
        budget = 0 if self.few else SPILL_BYTES  # few long rows: each loop is split across cores, no buffers
        order = {e.outputs[0].id: j for j, e in enumerate(self.k.members)}
        while True:  # keep costly recomputed values in row buffers while they fit, earliest first
            size = lambda b: self.r * _SIZEOF[CTYPES[self.w.defs[b].outputs[0].dtype.name]]
            redo = {b for q in range(self.loops) for b in self.plan(q)[0] if self.phase[b] < q}
            fit = sorted((b for b in redo if self.costly(b) and size(b) <= budget), key=order.get)
            if not fit:
                break
            self.kept[fit[0]] = f"s{self.w.names[fit[0]][1:]}"
            budget -= size(fit[0])
        self.plans = [self.plan(q) for q in range(self.loops)]

    # the text

    def full_index(self) -> _At:
        return _At(self.k.shape, self.k.split, "o", "j")

    @staticmethod
    def row_index(e) -> _At:
        return _At(e.outputs[0].shape, 0, None, "o")

    def loop(self, q) -> list:
        w, r = self.w, self.r
        compute, back = self.plans[q]
        body = []
        for b in sorted(back, key=lambda b: self.phase[b]):
            buf = self.kept.get(b)
            src = f"{buf}[j]" if buf is not None else f"{self.readback[b]}[o * {r}L + j]"
            body.append(f"{CTYPES[w.defs[b].outputs[0].dtype.name]} {w.names[b]} = {src};")
        body += [w.stmt(e, self.full_index()) for e in w.members(MAP, FULL) if e.outputs[0].id in compute]
        body += [f"{buf}[j] = {w.names[b]};" for b, buf in self.kept.items() if self.phase[b] == q]
        body += [f"{w.outs[v.id]}[o * {r}L + j] = {w.names[v.id]};" for v in w.outputs_of(FULL)
                 if self.phase[v.id] == q]
        decls, clauses, after = [], [], []
        for e in self.k.reductions:
            v = e.outputs[0]
            if self.at[v.id] != ("loop", q):
                continue
            role, src = self.k.role[v.id], w.ref(e.inputs[0], self.full_index())
            if role == SUFFIX:
                acc, t = f"a{w.names[v.id][1:]}", w.acc_type(e, r)
                decls += w.acc_decl(e, acc, t)
                body += w.acc_update(e, acc, t, src)
                clauses.append(w.acc_clause(e, acc))
                after.append(w.acc_result(e, acc))
            elif role == PREFIX:
                body.append(w.col_update(e, f"c{w.names[v.id][1:]}[j]", w.acc_type(e), src))
            else:  # all axes: a chunk-wide accumulator
                acc, t = f"a{w.names[v.id][1:]}", w.acc_type(e)
                body += w.acc_update(e, acc, t, src)
                clauses.append(w.acc_clause(e, acc))
        pragma = "parallel for simd" if self.few else "simd"
        head = [f"#pragma omp {pragma} {' '.join(clauses)}".rstrip(), f"for (long j = 0; j < {r}L; j++) {{"]
        return [*decls, *head, *("    " + b for b in body), "}", *after]

    def row_body(self) -> list:
        w = self.w
        lines = []
        for q in range(-1, self.loops):
            if q >= 0:
                lines += self.loop(q)
            lines += [w.stmt(e, self.row_index(e)) for e in w.members(MAP, ROW) if self.gap[e.outputs[0].id] == q]
        for e in self.k.reductions:  # all-axes reductions of row values
            v = e.outputs[0]
            if self.at[v.id][0] == "row":
                lines += w.acc_update(e, f"a{w.names[v.id][1:]}", w.acc_type(e), w.names[e.inputs[0].id])
        lines += [f"{w.outs[v.id]}[o] = {w.names[v.id]};" for v in w.outputs_of(ROW)]
        return lines

    def lines(self) -> list:
        w, k, m, r, nc = self.w, self.k, self.m, self.r, self.chunks
        cols = [e for e in k.reductions if k.role[e.outputs[0].id] == PREFIX]
        alls = [e for e in k.reductions if k.role[e.outputs[0].id] == ALL]
        head, chunk, per_chunk_end, tail, free = [], [], [], [], []
        for e in cols:  # partial columns, one per chunk, added in chunk order afterwards
            c, t = f"c{w.names[e.outputs[0].id][1:]}", w.acc_type(e)
            if nc * r * _SIZEOF[t] <= STACK_BYTES:
                head.append(f"{t} {c}p[{max(1, nc * r)}];")
            else:
                # a failed malloc returns NOMEM (the plan raises MemoryError) instead of ending the process
                head += [f"{t} *{c}p = ({t} *)malloc(sizeof({t}) * {nc * r}L);",
                         f"if (!{c}p) {{ {' '.join(free)} return {NOMEM}; }}"]
                free.append(f"free({c}p);")
            chunk += [f"{t} *{c} = {c}p + c * {r}L;",
                      f"for (long j = 0; j < {r}L; j++) {c}[j] = {'-INFINITY' if e.prim.name == 'amax' else '0'};"]
            tail += self.combine_cols(e, c, t)
        for e in alls:
            acc, t = f"a{w.names[e.outputs[0].id][1:]}", w.acc_type(e)
            head.append(f"{t} {acc}p[{nc}];" + (f" unsigned char {acc}np[{nc}];" if e.prim.name == "amax" else ""))
            chunk += w.acc_decl(e, acc, t)
            per_chunk_end.append(f"{acc}p[c] = {acc};" + (f" {acc}np[c] = {acc}n;" if e.prim.name == "amax" else ""))
            tail += self.combine_all(e, acc, t)
        chunk += [f"{CTYPES[w.defs[b].outputs[0].dtype.name]} {buf}[{max(1, r)}];" for b, buf in self.kept.items()]
        self.w.note = f" as {m} rows of {r} in {self.loops} loop{'s' if self.loops > 1 else ''}"
        if free:
            w.includes = ["#include <stdlib.h>"]
        par = ["#pragma omp parallel for schedule(static)"] if nc > 1 else []
        rows = [f"for (long o = c * {m}L / {nc}; o < (c + 1) * {m}L / {nc}; o++) {{",
                *("    " + x for x in self.row_body()), "}"]
        return [*head, *par, f"for (long c = 0; c < {nc}; c++) {{", *("    " + x for x in chunk + rows + per_chunk_end),
                "}", *tail, *w.epilogue(), *free]

    def combine_cols(self, e, c, t) -> list:
        w, r, nc = self.w, self.r, self.chunks
        v = e.outputs[0]
        if e.prim.name == "amax":
            step = f"{{ {t} x_ = {c}p[q * {r}L + j]; s = (x_ > s || x_ != x_) ? x_ : s; }}"
        else:
            step = f"s += {c}p[q * {r}L + j];"
        stores = [f"{w.outs[u.id]}[j] = ({CTYPES[u.dtype.name]})s;" for u in w.outputs_of(COL) if w.base[u.id] == v.id]
        return [f"for (long j = 0; j < {r}L; j++) {{", f"    {t} s = {c}p[j];",
                f"    for (long q = 1; q < {nc}; q++) {step}", *("    " + x for x in stores), "}"]

    def combine_all(self, e, acc, t) -> list:
        nc = self.chunks
        if e.prim.name == "amax":
            lines = [f"{t} {acc} = {acc}p[0]; unsigned char {acc}n = {acc}np[0];",
                     (f"for (long q = 1; q < {nc}; q++) {{ {acc} = {acc}p[q] > {acc} ? {acc}p[q] : {acc}; "
                     f"{acc}n |= {acc}np[q]; }}")]
        else:
            lines = [f"{t} {acc} = {acc}p[0];", f"for (long q = 1; q < {nc}; q++) {acc} += {acc}p[q];"]
        return lines + [self.w.acc_result(e, acc)]
