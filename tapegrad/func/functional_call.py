"""functional_call: run a Module with some parameters and buffers replaced, as a pure function of them.

The bridge from the PyTorch idiom (a Module holding its state) to the JAX idiom (grad / vmap of a function
of a dict of parameters). Depends on nn/module.py only through its `_parameters` / `_buffers` stores.
"""

from __future__ import annotations


def _merged(dicts):
    if isinstance(dicts, dict):
        return dict(dicts)
    merged = {}
    for d in dicts:
        for k, v in d.items():
            if k in merged:
                raise ValueError(f"functional_call: {k!r} appears in more than one of the dicts; give each name once")
            merged[k] = v
    return merged


def _slots(module, name):
    """(store dict, key) for a dotted parameter or buffer name, or a ValueError naming what exists."""
    path, _, leaf = name.rpartition(".")
    try:
        mod = module.get_submodule(path) if path else module
    except (AttributeError, KeyError, ValueError):
        mod = None
    for store in ("_parameters", "_buffers"):
        if mod is not None and leaf in getattr(mod, store):
            return getattr(mod, store), leaf
    known = [n for n, _ in module.named_parameters(remove_duplicate=False)] + [n for n, _ in module.named_buffers()]
    raise ValueError(
        f"functional_call: the module has no parameter or buffer named {name!r}; its names are {known}. "
        "Use the keys of module.named_parameters() / named_buffers() (or state_dict())"
    )


def functional_call(module, parameter_and_buffer_dicts, args=(), kwargs=None, *, tie_weights=True, strict=False):
    """Call module(*args, **kwargs) with the named parameters and buffers replaced by the given tensors.

    The module is left exactly as it was afterwards (also when the call raises).

    Args:
        module: a tg.nn.Module.
        parameter_and_buffer_dicts: a dict (or a tuple of dicts) from names as in named_parameters() to tensors.
        args: the positional arguments (a tuple, or a single tensor).
        kwargs: keyword arguments.
        tie_weights: a replaced parameter is replaced under every name that shares it.
        strict: every parameter and buffer must be given.

    >>> import tapegrad as tg
    >>> net = tg.nn.Linear(2, 1)
    >>> params = {k: v.detach() for k, v in net.named_parameters()}
    >>> loss = lambda p, x: tg.func.functional_call(net, p, (x,)).sum()
    >>> sorted(tg.grad(loss)(params, tg.ones(3, 2)))
    ['bias', 'weight']
    """
    values = _merged(parameter_and_buffer_dicts)
    args = args if isinstance(args, tuple) else (args,)
    swaps = [(*_slots(module, name), value) for name, value in values.items()]
    if tie_weights:
        swaps += _tied(module, swaps)
    if strict:
        _check_complete(module, values)
    saved = []
    try:
        for store, key, value in swaps:
            saved.append((store, key, store[key]))
            store[key] = value
        return module(*args, **(kwargs or {}))
    finally:
        for store, key, old in reversed(saved):
            store[key] = old


def _tied(module, swaps):
    """Swaps for the other names of parameters that are shared (weight tying)."""
    replaced = {id(store[key]): value for store, key, value in swaps if store[key] is not None}
    done = {(id(store), key) for store, key, _ in swaps}
    extra = []
    for name, p in module.named_parameters(remove_duplicate=False):
        if id(p) in replaced:
            store, key = _slots(module, name)
            if (id(store), key) not in done:
                extra.append((store, key, replaced[id(p)]))
                done.add((id(store), key))
    return extra


def _check_complete(module, values):
    names = [n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()]
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"functional_call: strict=True but no value was given for {missing}")
