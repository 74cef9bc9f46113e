"""Pictures grouped by module: each equation records the module scope it was traced in (Eqn.scope), and
viz.to_dot draws one cluster per module inside the forward / backward clusters."""

import re

import numpy as np

import tapegrad as tg
from tapegrad import nn
from tapegrad.primitives.base import SCOPE


def _mlp_step():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = tg.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    x = tg.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    y = tg.tensor(np.array([0, 1, 1, 0, 1]))
    return step, x, y


def _clusters(dot: str) -> dict:
    """{cluster label: text of its body} for the module clusters (nested one level in a phase cluster)."""
    out = {}
    for m in re.finditer(r"    subgraph (cluster_(forward|backward)_\d+) \{\n      label=\"([^\"]*)\";(.*?)\n    \}", dot, re.S):
        out.setdefault((m.group(2), m.group(3)), "")
        out[(m.group(2), m.group(3))] += m.group(4)
    return out


def test_mlp_training_step_clusters_per_linear():
    step, x, y = _mlp_step()
    graph = tg.jit(step).lower(x, y)
    scopes = {(e.scope, e.phase) for e in graph.eqns}
    assert ("0", "forward") in scopes and ("2", "forward") in scopes and ("1", "forward") in scopes
    fwd0 = [e.prim.name for e in graph.eqns if e.scope == "0" and e.phase == "forward"]
    assert "matmul" in fwd0 and "add" in fwd0
    # backward equations carry the scope of the forward op they differentiate
    assert {"0", "2"} <= {e.scope for e in graph.eqns if e.phase == "backward"}
    assert "  # 0" in str(graph)

    dot = tg.viz.draw(step, x, y, backward=False)
    clusters = _clusters(dot)
    for name in ("0", "2"):
        body = clusters[("forward", name)]
        assert 'label="matmul\\n' in body and 'label="add\\n' in body
        assert "#dbe9f6" in body and "#f8d9d4" not in body  # forward colour
        assert "#f8d9d4" in clusters[("backward", name)]  # backward colour, still grouped by module
    assert dot.count("{") == dot.count("}")


def test_nested_module_paths():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear1 = nn.Linear(3, 3)

        def forward(self, x):
            return self.linear1(x).exp()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([Block(), Block()])

        def forward(self, x):
            for b in self.layers:
                x = b(x)
            return x * 2.0

    net = Net()
    graph = tg.jit(lambda x: net(x).sum()).lower(tg.ones(2, 3))
    scopes = [e.scope for e in graph.eqns]
    assert "layers.0.linear1" in scopes and "layers.1.linear1" in scopes and "layers.0" in scopes
    assert "Net" in scopes and "" in scopes  # top level: class name; outside any module: no scope
    assert SCOPE == []


def test_eager_mode_never_touches_scope_stack():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    seen = []

    class Spy(list):
        def append(self, x):
            seen.append(x)
            super().append(x)

    import tapegrad.nn.module as module_mod

    spy = Spy()
    old = module_mod._SCOPE
    module_mod._SCOPE = spy
    try:
        model(tg.ones(3, 4)).sum().backward()
    finally:
        module_mod._SCOPE = old
    assert seen == [] and SCOPE == []
    # while tracing it is pushed and popped again
    tg.jit(lambda x: model(x).sum()).lower(tg.ones(3, 4))
    assert SCOPE == []
