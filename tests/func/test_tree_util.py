from collections import OrderedDict, namedtuple

import pytest

import tapegrad as tg
from tapegrad import tree_util as tu

Point = namedtuple("Point", "x y")


def test_roundtrip_default_containers():
    tree = {"b": [1, (2, None)], "a": Point(3, OrderedDict(z=4, y=5))}
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [3, 4, 5, 1, 2]  # dict keys sorted; OrderedDict keeps its order
    assert tu.tree_unflatten(treedef, leaves) == tree
    assert treedef.num_leaves == 5
    assert tu.tree_structure(tree) == treedef


def test_tree_map_several_trees_and_is_leaf():
    assert tu.tree_map(lambda a, b: a * b, [1, (2, 3)], [4, (5, 6)]) == [4, (10, 18)]
    assert tu.tree_map(len, {"a": [1, 2], "b": [3]}, is_leaf=lambda x: isinstance(x, list)) == {"a": 2, "b": 1}
    with pytest.raises(ValueError, match="same structure"):
        tu.tree_map(lambda a, b: a, [1, 2], [1, [2]])


def test_none_has_no_leaves_and_tensors_are_leaves():
    x = tg.ones(2)
    leaves, treedef = tu.tree_flatten((None, x, [x]))
    assert len(leaves) == 2 and leaves[0] is x
    assert tu.tree_leaves(None) == []


def test_register_pytree_node():
    class Box:
        def __init__(self, v, tag):
            self.v, self.tag = v, tag

    tu.register_pytree_node(Box, lambda b: ((b.v,), b.tag), lambda tag, ch: Box(ch[0], tag))
    out = tu.tree_map(lambda v: v + 1, [Box(1, "t")])
    assert out[0].v == 2 and out[0].tag == "t"
    with pytest.raises(ValueError, match="already registered"):
        tu.register_pytree_node(Box, None, None)


def test_unflatten_wrong_count():
    _, treedef = tu.tree_flatten([1, 2])
    with pytest.raises(ValueError, match="has 2 leaves but 3"):
        tu.tree_unflatten(treedef, [1, 2, 3])
