"""AutoGraph: Python `if` / `while` / `for` on tensors inside tf.function become cond / while_loop.

The function's source is rewritten with `ast` in two passes, then compiled in its own closure:

1. Loop exits: inside each loop (innermost first) `break`, `continue` and `return E` become flag
   assignments; the statements after one are guarded by `if not flag`, the loop stops on the flags,
   and `return E` becomes `if flag: return E` after the loop (E reads the loop variables, which hold
   their values at the return because the rest of that iteration was skipped).
2. Functionalisation: each `if` / `while` / `for` becomes branch / test / body functions of the
   variables it assigns, called through the runtime helpers below. A helper looks at the condition
   (or iterable) when it runs: a tensor makes a graph cond / while_loop, a Python value runs the
   Python statement as written. `if c: return a` followed by more code is rewritten as
   `if c: return a else: <the rest>`, so both branches return.

Constructs that cannot become a graph (a tensor condition on an `if` that returns in only some of its
paths, `while ... else`, ...) run as Python for Python conditions and raise an error naming the line
for tensor ones.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap

from ..errors import TraceError
from ..tensor import Tensor
from . import nest


class AutoGraphError(TraceError):
    """A Python construct on a tensor condition that AutoGraph cannot turn into graph control flow."""


# *** the user's switches (tf.autograph) ***


def do_not_convert(func=None):
    """Leave func as written inside tf.function (its Python control flow is not converted)."""
    if func is None:
        return do_not_convert
    func.__ag_do_not_convert__ = True
    return func


class experimental:  # noqa: N801  (tf.autograph.experimental)
    do_not_convert = staticmethod(do_not_convert)

    class Feature:
        ALL = "ALL"
        AUTO_CONTROL_DEPS = "AUTO_CONTROL_DEPS"


def to_graph(entity, recursive=True, experimental_optional_features=None):
    return convert_function(entity)


def to_code(entity, recursive=True, experimental_optional_features=None) -> str:
    return _convert_source(entity)[0]


def set_verbosity(level, alsologtostdout=False) -> None:
    """Accepted for compatibility."""


# *** conversion ***


def convert_function(fn):
    """fn with its control flow rewritten; fn itself when there is nothing to convert or no source."""
    target = getattr(fn, "__func__", fn)
    if getattr(target, "__ag_do_not_convert__", False) or not inspect.isfunction(target):
        return fn
    converted = _convert_source(target)
    if converted is None:
        return fn
    source, tree = converted
    code = target.__code__
    namespace = {}
    exec(compile(tree, code.co_filename, "exec"), target.__globals__, namespace)
    cells = []
    for name, cell in zip(code.co_freevars, target.__closure__ or ()):
        try:
            cells.append(cell.cell_contents)
        except ValueError:  # a closure variable not yet assigned: convert nothing rather than guess
            return fn
    new = namespace["ag__factory"](RUNTIME, *cells)
    new.__defaults__, new.__kwdefaults__ = target.__defaults__, target.__kwdefaults__
    functools.update_wrapper(new, target)
    new.__wrapped__ = target
    new.ag_source = source
    if target is not fn:  # a bound method: bind the converted function the same way
        return new.__get__(fn.__self__)
    return new


def _convert_source(fn):
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return None
    tree = ast.parse(textwrap.dedent("".join(lines)))
    fdef = tree.body[0] if tree.body else None
    if not isinstance(fdef, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None  # a lambda: nothing to convert
    if not any(isinstance(n, (ast.If, ast.While, ast.For)) for n in ast.walk(fdef)):
        return None
    if "__class__" in fn.__code__.co_freevars:  # zero-argument super() needs the class cell
        return None
    fdef.decorator_list = []
    _PureAugAssign().visit(fdef)
    conv = _Converter(fn.__code__.co_filename, first - 1)
    fdef.body = conv.lower_exits(fdef.body)
    fdef.body = conv.block(fdef.body)
    factory = ast.FunctionDef(
        name="ag__factory",
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg("ag__")] + [ast.arg(n) for n in fn.__code__.co_freevars],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=[fdef, ast.Return(ast.Name(fdef.name, ast.Load()))],
        decorator_list=[],
    )
    module = ast.Module(body=[factory], type_ignores=[])
    ast.fix_missing_locations(module)
    ast.increment_lineno(module, first - 1)
    return ast.unparse(factory), module


class _PureAugAssign(ast.NodeTransformer):
    """`x += y` on a name becomes `x = x + y`: TensorFlow tensors are immutable, so `+=` makes a new tensor
    (tapegrad's Tensor, like PyTorch's, would update in place, which a graph loop body must not do)."""

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name):
            value = ast.BinOp(_name(node.target.id), node.op, node.value)
            return ast.copy_location(ast.Assign([_name(node.target.id, True)], value), node)
        return node

    def visit_FunctionDef(self, node):  # nested functions are not converted
        return node if getattr(self, "_inside", False) else self._enter(node)

    def _enter(self, node):
        self._inside = True
        self.generic_visit(node)
        return node


def _name(n, store=False):
    return ast.Name(n, ast.Store() if store else ast.Load())


def _call(fn, *args):
    return ast.Call(ast.Attribute(_name("ag__"), fn, ast.Load()), list(args), [])


def _assign(target, value):
    return ast.Assign([_name(target, True)], value)


def _tuple(names, store=False):
    return ast.Tuple([_name(n, store) for n in names], ast.Store() if store else ast.Load())


def _def(name, params, body):
    return ast.FunctionDef(
        name=name,
        args=ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params], kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=body or [ast.Pass()],
        decorator_list=[],
    )


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


def _walk_scope(nodes, stop=()):
    """Every node under nodes in this function's scope (not inside nested functions, nor `stop` node types)."""
    todo = list(nodes)
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, _SCOPES) or isinstance(n, stop):
            continue
        todo.extend(ast.iter_child_nodes(n))


def _assigned(stmts) -> list:
    """Names these statements assign in this scope, in first-seen order."""
    found = {}
    for n in _walk_scope(stmts):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            found.setdefault(n.id, None)
        elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            found.setdefault(n.name, None)
    return sorted(found, key=lambda k: (k.startswith("ag__"), k))


def _returns_at_end_only(stmts) -> bool:
    returns = [n for n in _walk_scope(stmts) if isinstance(n, ast.Return)]
    return bool(stmts) and isinstance(stmts[-1], ast.Return) and returns == [stmts[-1]]


def _has(stmts, kinds, stop=()) -> bool:
    return any(isinstance(n, kinds) for n in _walk_scope(stmts, stop))


class _Converter:
    def __init__(self, filename, offset):
        self.filename, self.offset, self.count = filename, offset, 0

    def where(self, node) -> ast.Constant:
        return ast.Constant(f"{self.filename}:{node.lineno + self.offset}")

    def fresh(self, kind) -> str:
        self.count += 1
        return f"ag__{kind}_{self.count}"

    # *** pass 1: break / continue / return inside loops become flags ***

    def lower_exits(self, stmts):
        out = []
        for s in stmts:
            for field in ("body", "orelse", "finalbody"):
                if isinstance(getattr(s, field, None), list) and not isinstance(s, _SCOPES):
                    setattr(s, field, self.lower_exits(getattr(s, field)))
            if isinstance(s, ast.Try):
                for h in s.handlers:
                    h.body = self.lower_exits(h.body)
            out.extend(self._lower_loop(s) if isinstance(s, (ast.While, ast.For)) and not s.orelse else [s])
        return out

    def _lower_loop(self, loop):
        exits = [n for n in _walk_scope(loop.body, stop=(ast.While, ast.For)) if isinstance(n, (ast.Break, ast.Continue, ast.Return))]
        if not exits:
            return [loop]
        brk, cont, rets = self.fresh("break"), self.fresh("continue"), []
        uses_cont = any(isinstance(n, ast.Continue) for n in exits)

        def replace(stmts):
            new = []
            for s in stmts:
                if isinstance(s, ast.Break):
                    new.append(_assign(brk, ast.Constant(True)))
                elif isinstance(s, ast.Continue):
                    new.append(_assign(cont, ast.Constant(True)))
                elif isinstance(s, ast.Return):
                    flag = self.fresh("return")
                    rets.append((flag, s))
                    new += [_assign(flag, ast.Constant(True)), _assign(brk, ast.Constant(True))]
                else:
                    if not isinstance(s, (ast.While, ast.For) + _SCOPES):
                        for field in ("body", "orelse"):
                            if isinstance(getattr(s, field, None), list):
                                setattr(s, field, replace(getattr(s, field)))
                    new.append(s)
            return new

        body = self._guard(replace(loop.body), [brk] + ([cont] if uses_cont else []))
        flags = [brk] + [f for f, _ in rets]
        init = [_assign(f, ast.Constant(False)) for f in flags]
        if uses_cont:
            init.append(_assign(cont, ast.Constant(False)))
            body.insert(0, _assign(cont, ast.Constant(False)))
        loop.body = body
        if isinstance(loop, ast.While):
            loop.test = _call("and_", loop.test, ast.Lambda(_no_args(), _call("not_", _name(brk))))
        else:
            loop.ag_stop = brk  # for_stmt stops iterating once it is set
        after = [ast.If(_name(f), [ret], []) for f, ret in rets]
        for stmt in after:
            ast.copy_location(stmt, loop)
        return init + [loop] + after

    def _guard(self, stmts, flags):
        """After a statement that may set a flag, run the rest only while no flag is set."""
        for i, s in enumerate(stmts):
            sets = any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in flags
                       for n in _walk_scope([s], stop=(ast.While, ast.For)))
            if sets and i + 1 < len(stmts):
                test = _call("not_any", *[_name(f) for f in flags])
                rest = ast.copy_location(ast.If(test, self._guard(stmts[i + 1:], flags), []), stmts[i + 1])
                return stmts[: i + 1] + [rest]
            if isinstance(s, ast.If):
                s.body, s.orelse = self._guard(s.body, flags), self._guard(s.orelse, flags)
        return stmts

    # *** pass 2: if / while / for become functions and runtime calls ***

    def block(self, stmts):
        out = []
        for i, s in enumerate(stmts):
            if isinstance(s, ast.If) and i + 1 < len(stmts) and self._one_branch_returns(s):
                # `if c: return a` + rest  ->  `if c: return a else: rest` (so that both paths return)
                rest = stmts[i + 1:]
                if _returns_at_end_only(s.body):
                    s.orelse = s.orelse + rest
                else:
                    s.body = s.body + rest
                out.extend(self.stmt(s))
                return out
            out.extend(self.stmt(s))
        return out

    @staticmethod
    def _one_branch_returns(s) -> bool:
        a, b = _returns_at_end_only(s.body), _returns_at_end_only(s.orelse)
        return a != b and not _has(s.body if b else s.orelse, ast.Return)

    def stmt(self, s):
        if isinstance(s, ast.If):
            return self.convert_if(s)
        if isinstance(s, (ast.While, ast.For)):
            return self.convert_loop(s)
        if isinstance(s, _SCOPES):
            return [s]
        for field in ("body", "orelse", "finalbody"):
            if isinstance(getattr(s, field, None), list):
                setattr(s, field, self.block(getattr(s, field)))
        if isinstance(s, ast.Try):
            for h in s.handlers:
                h.body = self.block(h.body)
        return [s]

    def _python_only(self, s, test_field="test"):
        """A construct left as Python: its condition must not be a tensor (an error names the line)."""
        setattr(s, test_field, _call("python_cond", getattr(s, test_field), self.where(s)))
        return [s]

    def convert_if(self, s):
        body_returns, else_returns = _returns_at_end_only(s.body), _returns_at_end_only(s.orelse or [ast.Pass()])
        if not s.orelse and body_returns:
            s.orelse = [ast.Return(ast.Constant(None))]
            else_returns = True
        s.body, s.orelse = self.block(s.body), self.block(s.orelse)
        other_exits = _has(s.body + s.orelse, (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom),
                           stop=(ast.While, ast.For))
        names = _assigned(s.body + s.orelse)
        t, f = self.fresh("if_true"), self.fresh("if_false")
        if body_returns and else_returns:
            defs = [_def(t, names, s.body), _def(f, names, s.orelse)]
            call = _call("if_return", s.test, _name(t), _name(f), self._loads(names), self.where(s))
            return [ast.copy_location(d, s) for d in defs] + [ast.copy_location(ast.Return(call), s)]
        if other_exits:
            return self._python_only(s)
        in_body, in_else = set(_assigned(s.body)), set(_assigned(s.orelse))
        both = ast.Tuple([ast.Constant(n in in_body and n in in_else) for n in names], ast.Load())
        ret = [ast.Return(_tuple(names))]
        defs = [_def(t, names, s.body + ret), _def(f, names, (s.orelse or []) + ret)]
        call = _call("if_stmt", s.test, _name(t), _name(f), self._loads(names), self._strs(names), both, self.where(s))
        return [ast.copy_location(d, s) for d in defs] + [self._bind(names, call, s)]

    def convert_loop(self, s):
        s.body = self.block(s.body)
        if s.orelse or _has(s.body, (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom)):
            s.orelse = self.block(s.orelse)
            return self._python_only(s, "test" if isinstance(s, ast.While) else "iter")
        where = self.where(s)
        if isinstance(s, ast.While):
            names = _assigned(s.body)
            test, body = self.fresh("while_test"), self.fresh("while_body")
            defs = [_def(test, names, [ast.Return(s.test)]), _def(body, names, s.body + [ast.Return(_tuple(names))])]
            call = _call("while_stmt", _name(test), _name(body), self._loads(names), self._strs(names), where)
            return [ast.copy_location(d, s) for d in defs] + [self._bind(names, call, s)]
        names = _assigned([ast.Assign([s.target], ast.Constant(None))] + s.body)
        body, item = self.fresh("for_body"), self.fresh("item")
        unpack = ast.Assign([s.target], _name(item))
        defs = [_def(body, [item] + names, [unpack] + s.body + [ast.Return(_tuple(names))])]
        stop = getattr(s, "ag_stop", None)
        stop_fn = ast.Lambda(_params(names), _name(stop)) if stop else ast.Constant(None)
        targets = self._strs(_assigned([ast.Assign([s.target], ast.Constant(None))]))
        call = _call("for_stmt", self._iterable(s.iter), _name(body), stop_fn, self._loads(names), self._strs(names),
                     where, targets)
        return [ast.copy_location(d, s) for d in defs] + [self._bind(names, call, s)]

    @staticmethod
    def _iterable(node):
        """`tf.range(...)` is passed unevaluated, so that a symbolic limit becomes a counted loop."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "range":
            return _call("lazy_range", node.func, ast.Tuple(node.args, ast.Load()),
                         ast.Dict([ast.Constant(k.arg) for k in node.keywords], [k.value for k in node.keywords]))
        return node

    @staticmethod
    def _loads(names):
        return ast.Tuple([_call("ld", ast.Lambda(_no_args(), _name(n))) for n in names], ast.Load())

    @staticmethod
    def _strs(names):
        return ast.Tuple([ast.Constant(n) for n in names], ast.Load())

    @staticmethod
    def _bind(names, call, s):
        if not names:
            return ast.copy_location(ast.Expr(call), s)
        return ast.copy_location(ast.Assign([_tuple(names, store=True)], call), s)


def _no_args():
    return ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])


def _params(names):
    return ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in names], kwonlyargs=[], kw_defaults=[], defaults=[])


# *** runtime (what converted code calls as ag__.*) ***


class _Undefined:
    """The value of a variable that is not defined on some path (assigned in one branch or only in a loop)."""

    def __init__(self, name="a variable"):
        self.name = name

    def _fail(self, *a, **k):
        raise NameError(
            f"{self.name!r} is not defined on every path through the tf.function's control flow (assigned in only "
            "one branch of a tensor `if`, or only inside a tensor loop); give it a value before the `if` / loop"
        )

    __getattr__ = __call__ = __add__ = __radd__ = __mul__ = __rmul__ = __sub__ = __rsub__ = __bool__ = _fail
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = __getitem__ = __lt__ = __gt__ = _fail

    def __repr__(self):
        return f"<undefined {self.name}>"


UNDEFINED = _Undefined()


def _is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def _tracing() -> bool:
    from ..trace.tracer import current_tracer

    return current_tracer() is not None


def _tensor(value, name, where):
    from .names import convert_to_tensor

    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        return convert_to_tensor(value)
    raise AutoGraphError(
        f"{where}: {name!r} is a {type(value).__name__}, but a variable changed under a tensor condition must be a "
        "tensor or a number (it becomes an output of tf.cond / tf.while_loop)"
    )


class _Runtime:
    UNDEFINED = UNDEFINED

    @staticmethod
    def ld(read):
        try:
            return read()
        except NameError:
            return UNDEFINED

    @staticmethod
    def not_(x):
        from ..ops import logical_not

        return logical_not(x) if _is_tensor(x) else not x

    @staticmethod
    def not_any(*flags):
        from ..ops import logical_not, logical_or

        if not any(_is_tensor(f) for f in flags):
            return not any(flags)
        out = None
        for f in flags:
            f = _tensor(f, "flag", "")
            out = f if out is None else logical_or(out, f)
        return logical_not(out)

    @staticmethod
    def and_(a, b_fn):
        from ..ops import logical_and

        if not _is_tensor(a):
            return b_fn() if a else a
        b = b_fn()
        return logical_and(a, b if _is_tensor(b) else _tensor(b, "condition", ""))

    @staticmethod
    def python_cond(test, where):
        if _is_tensor(test) and _tracing():
            raise AutoGraphError(
                f"{where}: this statement cannot be converted to graph control flow (a return, break or continue "
                "that not every path takes, a loop `else:` or a yield) and its condition is a tensor. Rewrite it "
                "so that every branch of the `if` returns (or none does), or use tf.cond / tf.while_loop directly"
            )
        return test

    @staticmethod
    def if_stmt(test, true_fn, false_fn, init, names, both, where):
        if not (_is_tensor(test) and _tracing()):
            return true_fn(*init) if test else false_fn(*init)
        from .control_flow import cond

        keep = [i for i, v in enumerate(init) if v is not UNDEFINED or both[i]]

        def branch(fn):
            def run():
                out = fn(*init)
                return tuple(_tensor(out[i], names[i], where) for i in keep)

            return run

        got = cond(_scalar(test, where), branch(true_fn), branch(false_fn))
        result = [_Undefined(n) if v is UNDEFINED else v for n, v in zip(names, init)]
        for i, v in zip(keep, got):
            result[i] = v
        return tuple(result)

    @staticmethod
    def if_return(test, true_fn, false_fn, init, where):
        if not (_is_tensor(test) and _tracing()):
            return true_fn(*init) if test else false_fn(*init)
        from .control_flow import cond

        def branch(fn, which):
            def run():
                out = fn(*init)
                if out is None or any(v is None for v in nest.flatten(out)):
                    raise AutoGraphError(
                        f"{where}: the {which} branch of this tensor `if` returns None; under a tensor condition "
                        "every path must return a tensor (of the same structure)"
                    )
                return nest.map_structure(lambda v: _tensor(v, "the return value", where), out)

            return run

        return cond(_scalar(test, where), branch(true_fn, "true"), branch(false_fn, "false"))

    @staticmethod
    def while_stmt(test_fn, body_fn, init, names, where):
        first = test_fn(*init)
        if not (_is_tensor(first) and _tracing()):
            vals, go = tuple(init), first
            while _python_bool(go, where):
                vals = body_fn(*vals)
                go = test_fn(*vals)
            return vals
        return _graph_loop(test_fn, lambda *v: ((), body_fn(*v)), init, names, where)

    @staticmethod
    def for_stmt(iterable, body_fn, stop_fn, init, names, where, targets=()):
        if isinstance(iterable, _LazyRange):
            if not (iterable.symbolic() and _tracing()):
                iterable = iterable.make()
            else:
                init = _seed_targets(init, names, targets, lambda: iterable.bounds()[0])
                return _range_loop(iterable, body_fn, stop_fn, init, names, where)
        if _is_tensor(iterable) and _tracing():
            from ..ops import zeros_like

            init = _seed_targets(init, names, targets, lambda: zeros_like(iterable[0]))
            return _tensor_loop(iterable, body_fn, stop_fn, init, names, where)
        vals = tuple(init)
        for item in iterable:
            if stop_fn is not None and not _python_bool(_not(stop_fn(*vals)), where):
                break
            vals = body_fn(item, *vals)
        return vals

    @staticmethod
    def lazy_range(fn, args, kwargs):
        return _LazyRange(fn, args, kwargs)


def _seed_targets(init, names, targets, first):
    """The loop target is a loop variable too (a `return v` after the loop reads it): start it at a value of
    the right shape and dtype so that the graph loop can carry it."""
    return tuple(first() if v is UNDEFINED and n in targets else v for v, n in zip(init, names))


def _not(x):
    return _Runtime.not_(x)


def _python_bool(value, where) -> bool:
    if _is_tensor(value) and _tracing():
        raise AutoGraphError(
            f"{where}: the loop became tensor-dependent after it started as a Python loop (its condition, or a "
            "break under a tensor `if`, is a tensor): iterate over a tensor (tf.range) or make the condition a "
            "tensor from the start"
        )
    return bool(value)


def _scalar(test, where):
    if test.numel() != 1:
        raise AutoGraphError(
            f"{where}: the condition is a tensor of shape {tuple(test.shape)}; a tensor `if` / `while` needs a single "
            "value: reduce it first (tf.reduce_all / tf.reduce_any)"
        )
    return test.reshape(())


def _graph_loop(test_fn, body_fn, init, names, where, extra=()):
    """A while_loop over the defined variables (those undefined before the loop stay local to its body)."""
    from .control_flow import while_loop

    keep = [i for i, v in enumerate(init) if v is not UNDEFINED]
    n_extra = len(extra)

    def full(vs):
        vals = list(init)
        for i, v in zip(keep, vs[n_extra:]):
            vals[i] = v
        return vs[:n_extra], vals

    def cond(*vs):
        ex, vals = full(vs)
        return _scalar(_tensor(test_fn(*ex, *vals), "loop condition", where), where)

    def body(*vs):
        ex, vals = full(vs)
        new_ex, out = body_fn(*ex, *vals)
        return list(new_ex) + [_tensor(out[i], names[i], where) for i in keep]

    loop_vars = list(extra) + [_tensor(init[i], names[i], where) for i in keep]
    out = while_loop(cond, body, loop_vars)
    result = [_Undefined(n) if v is UNDEFINED else v for n, v in zip(names, init)]
    for i, v in zip(keep, out[n_extra:]):
        result[i] = v
    return tuple(result)


def _tensor_loop(iterable, body_fn, stop_fn, init, names, where):
    """`for x in tensor`: a while_loop over the first axis (one graph, whatever its length)."""
    from .names import constant, gather

    n = iterable.shape[0]

    def test(i, *vals):
        go = i < n
        return go if stop_fn is None else _Runtime.and_(go, lambda: _not(stop_fn(*vals)))

    def body(i, *vals):
        return (i + 1,), body_fn(gather(iterable, i), *vals)

    return _graph_loop(test, body, init, names, where, extra=(constant(0),))


def _range_loop(rng, body_fn, stop_fn, init, names, where):
    """`for i in tf.range(start, limit, delta)` with a symbolic bound: a counted while_loop."""
    start, limit, delta = rng.bounds()

    def test(i, *vals):
        go = i < limit if not _negative(delta) else i > limit
        return go if stop_fn is None else _Runtime.and_(go, lambda: _not(stop_fn(*vals)))

    def body(i, *vals):
        return (i + delta,), body_fn(i, *vals)

    return _graph_loop(test, body, init, names, where, extra=(start,))


def _negative(delta) -> bool:
    return bool(delta < 0) if not _is_tensor(delta) else bool(delta.numpy() < 0)


class _LazyRange:
    """tf.range(...) as written in a for statement, evaluated only when its bounds are concrete."""

    def __init__(self, fn, args, kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def symbolic(self) -> bool:
        from ..trace.tracer import is_symbolic

        return any(_is_tensor(a) and is_symbolic(a) for a in list(self.args) + list(self.kwargs.values()))

    def make(self):
        return self.fn(*self.args, **self.kwargs)

    def bounds(self):
        from .names import cast, convert_to_tensor

        a = list(self.args)
        start = self.kwargs.get("start", a[0] if a else 0)
        limit = self.kwargs.get("limit", a[1] if len(a) > 1 else None)
        delta = self.kwargs.get("delta", a[2] if len(a) > 2 else 1)
        if limit is None:
            start, limit = 0, start
        limit = convert_to_tensor(limit)
        start = cast(convert_to_tensor(start), limit.dtype)
        return start, limit, delta


RUNTIME = _Runtime()
