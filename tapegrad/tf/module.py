"""tf.Module and tf.name_scope: a container whose Variables and sub-modules are found by walking its attributes.

TensorFlow tracks state by attribute: whatever Variables or Modules an object holds (directly, or inside
lists, tuples and dicts) are its variables and submodules. There is no registration step, so a plain
Python object tree (and a Keras layer, which is a Module) needs nothing more than attribute assignment.
"""

from __future__ import annotations

import contextlib
import functools
import re

from .variable import Variable

_SCOPES: list = []  # the open name scopes, outermost first


class name_scope:
    """`with tf.name_scope("block"):` prefixes the names of Variables created inside (kept as a string path)."""

    def __init__(self, name):
        self._name = name.rstrip("/")

    @property
    def name(self):
        return "/".join(_SCOPES + [self._name]) + "/"

    def __enter__(self):
        _SCOPES.append(self._name)
        return self.name

    def __exit__(self, *exc):
        _SCOPES.pop()
        return False


def current_scope_prefix() -> str:
    return "".join(s + "/" for s in _SCOPES)


def _snake(name: str) -> str:
    """TF's default module name: the class name in snake_case (Dense -> dense, MyModel -> my_model)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class Module:
    """A named container of Variables and sub-modules (TF's tf.Module).

    >>> import tapegrad.tf as tf
    >>> class Dense(tf.Module):
    ...     def __init__(self, n_in, n_out, name=None):
    ...         super().__init__(name=name)
    ...         self.w = tf.Variable(tf.ones([n_in, n_out]), name="w")
    ...         self.b = tf.Variable(tf.zeros([n_out]), name="b")
    >>> len(Dense(2, 3).trainable_variables)
    2
    """

    def __init__(self, name=None):
        if name is not None and not re.fullmatch(r"[A-Za-z_][\w.\-]*", name):
            raise ValueError(f"tf.Module: {name!r} is not a valid module name (letters, digits, '_', '.', '-')")
        self._tf_name = name or _snake(type(self).__name__)
        self._scope_name = current_scope_prefix() + self._tf_name

    def _module_name(self):
        # a subclass that forgot super().__init__() still has a name (TF would fail later, less clearly)
        return self.__dict__.get("_tf_name") or _snake(type(self).__name__)

    @property
    def name(self) -> str:
        return self._module_name()

    @property
    def name_scope(self):
        return name_scope(self.__dict__.get("_scope_name") or self._module_name())

    @property
    def variables(self) -> tuple:
        """Every Variable held by this module and its sub-modules, each once, in attribute order."""
        return tuple(_walk(self, lambda v: isinstance(v, Variable)))

    @property
    def trainable_variables(self) -> tuple:
        return tuple(_walk(self, lambda v: isinstance(v, Variable) and v.trainable))

    @property
    def non_trainable_variables(self) -> tuple:
        return tuple(_walk(self, lambda v: isinstance(v, Variable) and not v.trainable))

    @property
    def submodules(self) -> tuple:
        """Every Module below this one (not itself), breadth first as TensorFlow lists them."""
        found, seen, frontier = [], {id(self)}, [self]
        while frontier:
            nxt = []
            for m in frontier:
                for child in _walk(m, lambda v: isinstance(v, Module), descend=False):
                    if id(child) not in seen:
                        seen.add(id(child))
                        found.append(child)
                        nxt.append(child)
            frontier = nxt
        return tuple(found)

    @classmethod
    def with_name_scope(cls, method):
        """Decorator: run method inside the module's name scope."""

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)

        return wrapper


def _attributes(obj):
    """Values an object holds: attributes by sorted name (as TF flattens), items of containers in order."""
    if isinstance(obj, dict):
        return [obj[k] for k in sorted(obj, key=str)]
    if isinstance(obj, (list, tuple)):
        return list(obj)
    state = getattr(obj, "__dict__", {})
    return [state[k] for k in sorted(state) if not k.startswith("_tf_") and k not in _SKIP]


_SKIP = {"_scope_name"}


def _walk(root, match, descend=True):
    """Depth-first over root's attributes and containers (and sub-modules when descend), each object once."""
    out, seen = [], {id(root)}

    def visit(obj):
        for v in _attributes(obj):
            if id(v) in seen or isinstance(v, (str, bytes, int, float, type(None))):
                continue
            seen.add(id(v))
            if match(v):
                out.append(v)
            if isinstance(v, Variable):
                continue
            if isinstance(v, Module):
                if descend:
                    visit(v)
            elif isinstance(v, (list, tuple, dict)):
                visit(v)

    visit(root)
    return out


@contextlib.contextmanager
def init_scope():
    """Lifts variable creation out of a traced function in TF; eagerly it changes nothing."""
    yield
