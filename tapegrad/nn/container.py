"""Containers: Sequential (a chain), ModuleList and ModuleDict (registered collections of sub-modules)."""

from __future__ import annotations

from collections import OrderedDict

from .module import Module


def _as_module(owner, name, m):
    if not isinstance(m, Module):
        raise TypeError(f"{owner}: entry {name!r} is a {type(m).__name__}, not a Module; wrap functions in a Module")
    return m


class Sequential(Module):
    """Calls its modules in order, each on the output of the previous one.

    >>> import tapegrad as tg
    >>> net = tg.nn.Sequential(tg.nn.Linear(4, 8), tg.nn.ReLU(), tg.nn.Linear(8, 2))
    >>> net(tg.zeros(3, 4)).shape
    (3, 2)
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (dict, OrderedDict)):
            for name, m in args[0].items():
                self.add_module(name, _as_module("Sequential", name, m))
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), _as_module("Sequential", i, m))

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), "Sequential")]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        self.add_module(key, _as_module("Sequential", key, module))

    def __delitem__(self, idx):
        keys = list(self._modules)
        for key in keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(self), "Sequential")]]:
            del self._modules[key]

    def append(self, module) -> Sequential:
        self.add_module(str(len(self)), _as_module("Sequential", len(self), module))
        return self

    def extend(self, modules) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module) -> Sequential:
        mods = list(self._modules.values())
        mods.insert(index, _as_module("Sequential", index, module))
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m
        return self


def _index(idx, n, owner):
    if not isinstance(idx, int) or isinstance(idx, bool):
        raise TypeError(f"{owner} indices must be ints or slices, got {type(idx).__name__}")
    if not -n <= idx < n:
        raise IndexError(f"{owner} index {idx} is out of range for {n} modules")
    return idx % n


class ModuleList(Module):
    """A list of modules whose parameters belong to the owner (a plain list would hide them)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self), "ModuleList")), _as_module("ModuleList", idx, module))

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        del mods[idx if isinstance(idx, slice) else _index(idx, len(self), "ModuleList")]
        self._modules.clear()
        self.extend(mods)

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module) -> ModuleList:
        self.add_module(str(len(self)), _as_module("ModuleList", len(self), module))
        return self

    def extend(self, modules) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        self.extend(mods)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(): iterate over it in your own module's forward")


class ModuleDict(Module):
    """A dict of modules (insertion-ordered) whose parameters belong to the owner."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}; it has {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module) -> None:
        self.add_module(key, _as_module("ModuleDict", key, module))

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        m = self[key]
        del self._modules[key]
        return m

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for key, m in items:
            self[key] = m

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(): look modules up by key in your own forward")


def _as_parameter(owner, value):
    from ..tensor import Tensor
    from .parameter import Parameter

    if isinstance(value, Parameter) or value is None:
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{owner}: entries must be Parameters or Tensors, got {type(value).__name__}")


class ParameterList(Module):
    """A list of Parameters registered as "0", "1", ... (Tensors are wrapped in Parameters).

    >>> import tapegrad as tg
    >>> ps = tg.nn.ParameterList([tg.zeros(2), tg.ones(3)])
    >>> [name for name, _ in ps.named_parameters()]
    ['0', '1']
    """

    def __init__(self, values=None):
        super().__init__()
        for v in values or ():
            self.append(v)

    def __len__(self) -> int:
        return len(self._parameters)

    def _index(self, i):
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"ParameterList: index {i} is out of range for {n} parameters")
        return str(i % n)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ParameterList([self._parameters[str(k)] for k in range(len(self))[i]])
        return self._parameters[self._index(i)]

    def __setitem__(self, i, value):
        self.register_parameter(self._index(i), _as_parameter("ParameterList", value))

    def __iter__(self):
        return iter(self._parameters[str(k)] for k in range(len(self)))

    def append(self, value):
        self.register_parameter(str(len(self)), _as_parameter("ParameterList", value))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): Parameter containing: {tuple(p.shape)}" for k, p in self._parameters.items())


class ParameterDict(Module):
    """A dict of Parameters registered under their keys (Tensors are wrapped in Parameters).

    >>> import tapegrad as tg
    >>> ps = tg.nn.ParameterDict({"w": tg.zeros(2)})
    >>> list(ps.keys()), ps["w"].shape
    (['w'], (2,))
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __len__(self) -> int:
        return len(self._parameters)

    def __getitem__(self, key):
        return self._parameters[key]

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter("ParameterDict", value))

    def __delitem__(self, key):
        del self._parameters[key]

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def __iter__(self):
        return iter(self._parameters)

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def pop(self, key):
        return self._parameters.pop(key)

    def update(self, parameters):
        # NOTE: as PyTorch, a plain dict is added in sorted key order; an OrderedDict, a ParameterDict or a
        # sequence of pairs in its own order
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            items = parameters.items()
        elif hasattr(parameters, "items"):
            items = sorted(parameters.items())
        else:
            items = parameters
        for k, v in items:
            self[k] = v
