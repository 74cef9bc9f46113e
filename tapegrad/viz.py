"""Graphs as pictures: the traced graph of a function as DOT text, rendered to SVG or PNG by Graphviz.

Depends on trace/ (tg.jit's tracer). Used by `tapegrad graph module:function` (cli.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .trace.ir import Graph, type_str

_COLORS = {"forward": "#dbe9f6", "backward": "#f8d9d4"}


def to_dot(graph: Graph, title: str | None = None) -> str:
    """The graph as DOT text: inputs as ellipses, equations as boxes labelled op and output type, forward
    equations blue and backward ones red, in two clusters; inside each, the equations traced in a module
    (Eqn.scope, e.g. "fc1") are grouped in a sub-cluster labelled with the module's path."""
    lines = ["digraph tapegrad {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];',
             f'  label="{title or graph.name}"; labelloc=t;']
    src = {}
    for i, v in enumerate(graph.inputs):
        src[v.id] = f"in{i}"
        lines.append(f'  in{i} [shape=ellipse, style=filled, fillcolor="#e8f5e0", label="{v.hint or "input"}\\n{type_str(v.aval)}"];')
    clusters = {"forward": {}, "backward": {}}  # phase -> {scope ("" for none) -> node lines}
    edges = []
    for k, e in enumerate(graph.eqns):
        phase = e.phase if e.phase in clusters else "forward"
        body = clusters[phase].setdefault(e.scope, [])
        label = f"{e.prim.name}\\n" + " ".join(type_str(v.aval) for v in e.outputs)
        body.append(f'    e{k} [shape=box, style="filled,rounded", fillcolor="{_COLORS[phase]}", label="{label}"];')
        for v in e.inputs:
            if v.const is not None:
                cid = f"c{k}_{len(edges)}"
                val = v.const.reshape(-1)[0] if v.const.size and not any(v.const.strides) else None
                text = f"{val}" if val is not None else type_str(v.aval)
                body.append(f'    {cid} [shape=plain, fontsize=8, label="{text}"];')
                edges.append(f"  {cid} -> e{k};")
            elif v.id in src:
                edges.append(f"  {src[v.id]} -> e{k};")
        for v in e.outputs:
            src[v.id] = f"e{k}"
    for phase, scopes in clusters.items():
        if scopes:
            lines.append(f"  subgraph cluster_{phase} {{")
            lines.append(f'    label="{phase}"; style=dashed;')
            lines += scopes.pop("", [])
            for j, (scope, body) in enumerate(scopes.items()):
                lines.append(f"    subgraph cluster_{phase}_{j} {{")
                lines.append(f'      label="{_escape(scope)}"; style="rounded"; color="#888888";')
                lines += ["  " + ln for ln in body]
                lines.append("    }")
            lines.append("  }")
    lines += edges
    for i, v in enumerate(graph.outputs):
        lines.append(f'  out{i} [shape=doublecircle, label="out {i}\\n{type_str(v.aval)}"];')
        if v.id in src:
            lines.append(f"  {src[v.id]} -> out{i};")
    lines.append("}")
    return "\n".join(lines)


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def draw(f, *example_args, backward: bool = True, path: str | None = None, **example_kwargs) -> str:
    """Draw f's graph for these example arguments; returns the DOT text (and writes `path` when given).

    backward=True adds the gradients of f's (summed) float output with respect to its float tensor inputs,
    so that the picture shows the backward equations too (a training step that calls backward() inside
    shows them either way). A path ending in .svg or .png is rendered by Graphviz's `dot` when it is
    installed; otherwise the DOT text is written next to it (path + ".dot") and a warning says so.

    >>> import tapegrad as tg
    >>> print(tg.viz.draw(lambda x: (x * x).sum(), tg.ones(3), backward=False).splitlines()[0])
    digraph tapegrad {
    """
    from . import autograd
    from .tensor import Tensor
    from .trace.function import Function

    target = f.fn if isinstance(f, Function) else f
    name = getattr(target, "__name__", "f")
    if backward:
        import functools

        @functools.wraps(target)  # the target's signature: inputs keep their argument names
        def with_grad(*args, **kwargs):
            args = [a.detach().requires_grad_() if isinstance(a, Tensor) and a.is_floating_point() else a for a in args]
            out = target(*args, **kwargs)
            wrt = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
            if isinstance(out, Tensor) and out.requires_grad and wrt:
                grads = autograd.grad(out.sum(), wrt, allow_unused=True)
                return out, [g for g in grads if g is not None]
            return out

        fn = Function(with_grad, name=name, optimize=True)
    else:
        fn = f if isinstance(f, Function) else Function(f, name=name)
    graph = fn.lower(*example_args, **example_kwargs)
    dot = to_dot(graph, name)
    if path:
        _write(dot, path)
    return dot


def _write(dot: str, path: str) -> None:
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext in ("svg", "png", "pdf") and shutil.which("dot"):
        subprocess.run(["dot", f"-T{ext}", "-o", path], input=dot.encode(), check=True)
        return
    if ext in ("svg", "png", "pdf"):
        import warnings

        warnings.warn(f"Graphviz `dot` is not installed, so {path} cannot be rendered; wrote the DOT text to "
                      f"{path}.dot instead (install graphviz, e.g. apt-get install graphviz, to get pictures)")
        path = path + ".dot"
    with open(path, "w") as fh:
        fh.write(dot)
