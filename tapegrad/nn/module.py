"""Module: the base class of every layer. It owns parameters, buffers and sub-modules by attribute name,
and gives them back as a tree (named_parameters, state_dict), switches train / eval, converts dtypes and
runs forward / backward hooks. Built on Tensor and nn.Parameter; every layer in nn/ subclasses it.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from .. import dtype as dt
from ..autograd.grad_mode import no_grad
from ..errors import TapegradError
from ..primitives.base import DYNAMIC as _DYNAMIC, SCOPE as _SCOPE
from ..tensor import Tensor
from .parameter import Parameter

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(TapegradError):
    """load_state_dict found keys or shapes that do not fit the module (nothing was loaded)."""


class _Handle:
    """Returned by register_*_hook: .remove() takes the hook out again."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self.hooks, self.id = hooks, next(_Handle._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _scope_path(module) -> str:
    """The scope of a module called while tracing: its attribute path from the outermost module being called
    ("fc1", "encoder.layers.0.linear1"); the outermost module itself gets its class name. A module that is not
    a sub-module of the caller gets the caller's path and its class name."""
    if not _SCOPE:
        return type(module).__name__
    parent, path = _SCOPE[-1]
    prefix = "" if len(_SCOPE) == 1 else path + "."
    for name, m in parent._modules.items():
        if m is module:
            return prefix + name
    for name, m in parent.named_modules():
        if m is module and name:
            return prefix + name
    return f"{path}.{type(module).__name__}"


def _check_name(kind, name, module):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a str, got {type(name).__name__}")
    if not name or "." in name:
        raise ValueError(
            f'{kind} name {name!r} is not allowed: it must be non-empty and contain no "." (dots separate '
            "the levels of a state_dict key)"
        )
    if hasattr(module, name) and name not in module._parameters and name not in module._buffers and \
            name not in module._modules:
        raise KeyError(f"{kind} name {name!r} clashes with an existing attribute of {type(module).__name__}")


class Module:
    """Base class of all layers: subclass it, assign layers and Parameters as attributes in __init__ and
    write forward(); call the module (not forward) so that hooks run.

    >>> import tapegrad as tg
    >>> class Net(tg.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = tg.nn.Linear(3, 2)
    ...     def forward(self, x):
    ...         return tg.nn.functional.relu(self.fc(x))
    >>> net = Net()
    >>> [name for name, _ in net.named_parameters()]
    ['fc.weight', 'fc.bias']
    >>> net(tg.zeros(4, 3)).shape
    (4, 2)
    """

    training: bool

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}: Module.__init__() takes no arguments, got {len(args)} positional and "
                f"{sorted(kwargs)} keyword; pass them to your own __init__ before calling super().__init__()"
            )
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent", set())
        setattr_(self, "_modules", {})
        setattr_(self, "_forward_pre_hooks", {})
        setattr_(self, "_forward_hooks", {})
        setattr_(self, "_backward_pre_hooks", {})
        setattr_(self, "_backward_hooks", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(): a Module subclass must define forward(self, ...) with "
            "the computation it performs"
        )

    # *** attributes: parameters, buffers and sub-modules live in their own dicts ***

    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() call: call super().__init__() first in "
                f"{type(self).__name__}.__init__"
            )
        if isinstance(value, Parameter):
            self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to the parameter {name!r} of {type(self).__name__}: "
                    "wrap it with tg.nn.Parameter(...) (or assign None)"
                )
            self._parameters[name] = None
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to the sub-module {name!r}: expected a Module")
            self._modules[name] = None
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to the buffer {name!r}: expected a Tensor")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        self.__dict__.pop(name, None)
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self._non_persistent.discard(name)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the three stores
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None: a declared, absent one, like Linear's bias=False)."""
        _check_name("parameter", name, self)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter({name!r}): expected a tg.nn.Parameter or None, got {type(param).__name__}; "
                "wrap a tensor with tg.nn.Parameter(t)"
            )
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add state that is not trained (running statistics); persistent buffers go into state_dict."""
        _check_name("buffer", name, self)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}): expected a Tensor or None, got {type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected a Module or None, got {type(module).__name__}")
        _check_name("module", name, self)
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The sub-module at a dotted path ('encoder.layers.0'); '' is self."""
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules or mod._modules[part] is None:
                raise AttributeError(f"get_submodule({target!r}): {type(mod).__name__} has no sub-module {part!r}")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters:
            raise AttributeError(f"get_parameter({target!r}): {type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._buffers:
            raise AttributeError(f"get_buffer({target!r}): {type(mod).__name__} has no buffer {name!r}")
        return mod._buffers[name]

    # *** the tree ***

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(dotted name, Parameter) pairs, each shared parameter once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # *** modes and conversions ***

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics) for self and every sub-module."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: train(False)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear .grad of every parameter (None by default, as PyTorch; or fill with zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor._make(np.zeros_like(p.grad._data))

    def apply(self, fn) -> Module:
        """Call fn(module) on every sub-module (children first) and on self, e.g. for custom initialisation."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Convert floating-point parameters and buffers in place: to(tg.float64), to('cpu'), to(tensor).

        The Parameter objects stay the same (only their data changes), so an optimizer built before keeps
        working.
        """
        target = _conversion_dtype(args, kwargs)
        if target is not None and not target.is_floating_point:
            raise TypeError(
                f"Module.to: only floating-point dtypes are allowed, got {target.name}; parameters of integer "
                "dtype cannot be trained"
            )
        if target is not None:
            for t in itertools.chain(self.parameters(), self.buffers()):
                if t.dtype.is_floating_point and t.dtype is not target:
                    _retype(t, target)
        return self

    def float(self) -> Module:
        return self.to(dt.float32)

    def double(self) -> Module:
        return self.to(dt.float64)

    def half(self) -> Module:
        return self.to(dt.float16)

    def bfloat16(self) -> Module:
        return self.to(dt.bfloat16)

    def cpu(self) -> Module:
        return self

    def type(self, dst_type) -> Module:
        return self.to(dst_type)

    # *** state_dict ***

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name, as tensors sharing memory with the module
        (detached unless keep_vars)."""
        out = OrderedDict() if destination is None else destination
        for mod_prefix, mod in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            for name, t in itertools.chain(
                mod._parameters.items(),
                ((n, b) for n, b in mod._buffers.items() if n not in mod._non_persistent),
            ):
                if t is not None:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy tensors from state_dict into the parameters and buffers of the same names.

        Everything is checked before anything is written: a key the module lacks (unexpected), a tensor the
        dict lacks (missing; both only errors when strict) or a shape that differs (always an error) raises
        StateDictError listing all of them, and the module stays unchanged. Returns (missing_keys,
        unexpected_keys).
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a dict of tensors, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = [k for k in own if k in state_dict and tuple(_shape_of(state_dict[k])) != tuple(own[k].shape)]
        problems = _describe_problems(own, state_dict, missing if strict else [], unexpected if strict else [],
                                      mismatched)
        if problems:
            raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}:\n" + problems)
        with no_grad():
            for k, t in own.items():
                if k in state_dict:
                    _load_into(t, state_dict[k], k)
        return _IncompatibleKeys(missing, unexpected)

    # *** calling and hooks ***

    def __call__(self, *args, **kwargs):
        if _DYNAMIC:  # tracing: record this module's path on the equations it binds (eager mode never gets here)
            return self._call_scoped(args, kwargs)
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_scoped(self, args, kwargs):
        _SCOPE.append((self, _scope_path(self)))
        try:
            if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks):
                return self.forward(*args, **kwargs)
            return self._call_with_hooks(args, kwargs)
        finally:
            _SCOPE.pop()

    def _call_with_hooks(self, args, kwargs):
        from . import _hooks

        for hook in list(self._forward_pre_hooks.values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        bw = _hooks.BackwardHookState(self) if (self._backward_hooks or self._backward_pre_hooks) else None
        if bw is not None:
            args = bw.wrap_inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            new = hook(self, args, out)
            if new is not None:
                out = new
        return bw.wrap_outputs(out) if bw is not None else out

    def register_forward_pre_hook(self, hook) -> _Handle:
        """hook(module, args) -> None or new args, called before forward."""
        return self._add_hook(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook) -> _Handle:
        """hook(module, args, output) -> None or a new output, called after forward."""
        return self._add_hook(self._forward_hooks, hook)

    def register_full_backward_pre_hook(self, hook) -> _Handle:
        """hook(module, grad_output) -> None or new grad_output, called when the output gradients are known."""
        return self._add_hook(self._backward_pre_hooks, hook)

    def register_full_backward_hook(self, hook) -> _Handle:
        """hook(module, grad_input, grad_output) -> None or new grad_input, called once the gradients with
        respect to the module's tensor inputs are computed (tuples, None where an input needs none)."""
        return self._add_hook(self._backward_hooks, hook)

    @staticmethod
    def _add_hook(store, hook):
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
        handle = _Handle(store)
        store[handle.id] = hook
        return handle

    # *** repr ***

    def extra_repr(self) -> str:
        """The constructor arguments shown inside Name(...); layers override it."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, child in self._modules.items():
            text = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {text}")
        if not self._modules:
            return f"{self._get_name()}({extra})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)


# *** helpers for to() and load_state_dict ***


def _conversion_dtype(args, kwargs):
    from ..device import device as check_device

    target = kwargs.pop("dtype", None)
    if "device" in kwargs:
        check_device(kwargs.pop("device"))
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"Module.to: unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            target = a.dtype
        elif isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda", "mps"):
            check_device(a)
        elif a is not None:
            target = a
    return None if target is None else dt.as_dtype(target)


def _retype(t: Tensor, target) -> None:
    """Change a leaf's dtype in place, keeping the object (and its .grad in step)."""
    t._data = t.to(target)._data
    t.dtype = target
    if t.grad is not None:
        t.grad = t.grad.to(target)


def _shape_of(v):
    return v.shape if hasattr(v, "shape") else np.shape(v)


def _describe_problems(own, state_dict, missing, unexpected, mismatched) -> str:
    out = []
    if missing:
        out.append("\tMissing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
    if unexpected:
        out.append("\tUnexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
    for k in mismatched:
        out.append(
            f"\tsize mismatch for {k}: copying a param with shape {tuple(_shape_of(state_dict[k]))} from checkpoint, "
            f"the shape in current model is {tuple(own[k].shape)}."
        )
    if out:
        out.append(
            "\tFix: load a checkpoint saved from the same architecture, rename the keys, or pass strict=False to "
            "skip missing and unexpected keys (shapes must still match). Nothing was loaded."
        )
    return "\n".join(out)


def _load_into(t: Tensor, value, key) -> None:
    src = value if isinstance(value, Tensor) else Tensor._make(np.asarray(value))
    if src.dtype is not t.dtype:
        src = src.to(t.dtype)
    np.copyto(t._data, src._data)  # NOTE: writes through views of t; the version bump tells autograd
    t._version.value += 1
