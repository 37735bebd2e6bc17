"""ember.utils against mlx.utils' documented behaviour: tree_flatten gives (dotted key,
leaf) pairs, tree_unflatten rebuilds lists from integer keys, tree_map indexes the other
trees by the first one's keys, tree_map_with_path passes the path, tree_reduce folds,
tree_merge joins."""
from collections import namedtuple

import numpy as np
import pytest

import ember.core as mx
from ember.utils import tree_flatten, tree_map, tree_map_with_path, tree_merge, tree_reduce, tree_unflatten


def test_tree_flatten_dotted_keys_in_order():
    tree = {"layers": [{"w": 1, "b": 2}, {"w": 3}], "head": (4, [5])}
    assert tree_flatten(tree) == [("layers.0.w", 1), ("layers.0.b", 2), ("layers.1.w", 3),
                                  ("head.0", 4), ("head.1.0", 5)]
    assert tree_flatten(7) == [("", 7)]
    assert tree_flatten({"a": {}, "b": []}) == []


def test_tree_flatten_prefix_is_leaf_and_destination():
    # the prefix's first character is dropped (mlx.utils documents this)
    assert tree_flatten([1, 2], prefix=".model") == [("model.0", 1), ("model.1", 2)]
    assert tree_flatten({"a": (1, 2)}, is_leaf=lambda x: isinstance(x, tuple)) == [("a", (1, 2))]
    d = {}
    assert tree_flatten({"a": [1, 2]}, destination=d) is d
    assert d == {"a.0": 1, "a.1": 2}
    out = [("x", 0)]
    tree_flatten({"y": 1}, destination=out)
    assert out == [("x", 0), ("y", 1)]
    with pytest.raises(TypeError, match="destination"):
        tree_flatten({"y": 1}, destination=5)


def test_tree_unflatten_inverts_flatten():
    tree = {"layers": [{"w": 1, "b": 2}, {"w": 3}], "head": {"0x": 4}}
    assert tree_unflatten(tree_flatten(tree)) == tree
    assert tree_unflatten(dict(tree_flatten(tree))) == tree
    assert tree_unflatten([("", 5)]) == 5
    # integer keys make a list, in index order; a gap holds an empty dict
    assert tree_unflatten([("1", "b"), ("0", "a")]) == ["a", "b"]
    assert tree_unflatten([("a.2", 3), ("a.0", 1)]) == {"a": [1, {}, 3]}
    with pytest.raises(TypeError, match="pairs"):
        tree_unflatten([1, 2])


def test_tree_map_with_rest_indexed_by_first_tree():
    a = {"x": [1, 2], "y": 3}
    b = {"x": [10, 20], "y": 30, "extra": 99}  # more entries than a: fine
    assert tree_map(lambda u, v: u + v, a, b) == {"x": [11, 22], "y": 33}
    # a leaf in the first tree may meet a subtree in the others
    assert tree_map(lambda u, v: (u, v), {"k": 1}, {"k": {"deep": 2}}) == {"k": (1, {"deep": 2})}
    with pytest.raises(ValueError, match="'y'"):
        tree_map(lambda u, v: u, a, {"x": [1, 2]})
    P = namedtuple("P", "a b")
    assert tree_map(lambda u: u * 2, P(1, [2])) == P(2, [4])
    assert tree_map(lambda u: u * 2, (1, 2)) == (2, 4)
    assert tree_map(lambda u: u, [None, 1], is_leaf=lambda x: x is None) == [None, 1]


def test_tree_map_with_path():
    tree = {"a": [1, {"b": 2}]}
    assert tree_map_with_path(lambda p, x: p, tree) == {"a": ["a.0", {"b": "a.1.b"}]}
    assert tree_map_with_path(lambda p, x, y: (p, x + y), [1], [2]) == [("0", 3)]
    assert tree_map_with_path(lambda p, x: p, 5) is None


def test_tree_reduce():
    tree = {"a": [1, 2], "b": {"c": 3}}
    assert tree_reduce(lambda acc, x: acc + x, tree) == 6
    assert tree_reduce(lambda acc, x: acc + [x], tree, []) == [1, 2, 3]
    assert tree_reduce(lambda acc, x: acc + x, {}, 0) == 0
    arrays = {"w": mx.ones((2, 3)), "b": mx.ones((3,))}
    assert tree_reduce(lambda acc, x: acc + x.size, arrays, 0) == 9


def test_tree_merge():
    assert tree_merge({"a": 1}, {"b": {"c": 2}}) == {"a": 1, "b": {"c": 2}}
    assert tree_merge([1, {}], [{}, 2]) == [1, 2]
    assert tree_merge({"a": [1, {}]}, {"a": [{}, 5]}) == {"a": [1, 5]}
    assert tree_merge(None, {"x": 1}) == {"x": 1}
    assert tree_merge({"x": 1}, {"x": 2}, merge_fn=lambda a, b: a + b) == {"x": 3}
    with pytest.raises(ValueError, match="'x'"):
        tree_merge({"x": 1}, {"x": 2})


def test_arrays_as_leaves_round_trip():
    params = {"layers": [{"weight": mx.ones((2, 2))}, {"weight": mx.zeros((3,))}]}
    flat = tree_flatten(params)
    assert [k for k, _ in flat] == ["layers.0.weight", "layers.1.weight"]
    back = tree_unflatten(flat)
    np.testing.assert_array_equal(np.asarray(back["layers"][1]["weight"]), np.zeros(3))
