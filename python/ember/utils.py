"""Tree utilities (mlx.utils' API): nested lists, tuples and dicts whose leaves are
arrays or anything else.

One recursive walker, ``_walk``, visits every tree here; the public
functions and the transforms' internal flatten / unflatten (``_flatten`` / ``_unflatten``:
leaves plus a structure to rebuild from) are written over it.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

__all__ = ["tree_flatten", "tree_unflatten", "tree_map", "tree_map_with_path", "tree_reduce",
           "tree_merge"]


def _rebuild_like(tree, values):
    """A container of tree's type holding `values` (a list for sequences, a dict for dicts)."""
    if isinstance(tree, dict):
        return values
    if isinstance(tree, list):
        return values
    if hasattr(tree, "_fields"):  # namedtuple
        return type(tree)(*values)
    return type(tree)(values)


def tree_map_with_path(fn: Callable, tree: Any, *rest: Any, is_leaf: Optional[Callable] = None,
                       path: Optional[Any] = None) -> Any:
    """Like ``tree_map``, but ``fn(path, leaf, *rest_leaves)`` also receives the leaf's dotted
    path (``"layers.0.weight"``; None for a tree that is itself a leaf).

    ``rest`` trees are indexed by ``tree``'s keys, so they must contain at least ``tree``'s
    structure (they may hold more, or hold a leaf where ``tree`` has a subtree).

    Example:
        >>> tree_map_with_path(lambda p, x: p, {"a": [1, 2]})
        {'a': ['a.0', 'a.1']}
    """
    return _walk(fn, tree, rest, is_leaf, path, True)


def _walk(fn, tree, rest, is_leaf, path, with_paths):
    """The one tree walker: fn(path, leaf, *rest_leaves) at each leaf, the containers
    rebuilt around the results. Paths are built only when with_paths (tree_map and the
    internal flatten do not need them, and skip the string work)."""
    if (is_leaf is not None and is_leaf(tree)) or not isinstance(tree, (list, tuple, dict)):
        return fn(path, tree, *rest)
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    out = []
    for k, v in items:
        sub = f"{path}.{k}" if path else str(k) if with_paths else None
        sub_rest = [_child(r, k, sub) for r in rest] if rest else rest
        out.append((k, _walk(fn, v, sub_rest, is_leaf, sub, with_paths)))
    if isinstance(tree, dict):
        return dict(out)
    return _rebuild_like(tree, [v for _, v in out])


def _child(r, key, path):
    try:
        return r[key]
    except (KeyError, IndexError, TypeError):
        where = f" (path {path!r})" if path else ""
        raise ValueError(
            f"[tree_map] The trees do not match: a tree has no entry {key!r}{where}; it holds "
            f"{type(r).__name__}."
        ) from None


def tree_map(fn: Callable, tree: Any, *rest: Any, is_leaf: Optional[Callable] = None) -> Any:
    """Applies ``fn`` to each leaf of ``tree`` (and the matching leaves of ``rest``) and
    returns a tree of the results with tree's structure.

    Example:
        >>> tree_map(lambda p, g: p - 0.1 * g, params, grads)
    """
    return _walk(lambda _, *xs: fn(*xs), tree, rest, is_leaf, None, False)


def tree_flatten(tree: Any, prefix: str = "", is_leaf: Optional[Callable] = None,
                 destination: Union[List[Tuple[str, Any]], Dict[str, Any], None] = None
                 ) -> Union[List[Tuple[str, Any]], Dict[str, Any]]:
    """The leaves of ``tree`` as ``[(dotted_key, leaf), ...]`` in traversal order.

    Keys join dict keys and list / tuple indices with dots (``"layers.0.weight"``). ``prefix``
    is put before every key; its first character is dropped (as in mlx.utils, so
    ``prefix=".model"`` gives ``"model.layers.0.weight"``). ``destination`` (a list or a dict)
    receives the pairs instead of a new list, and is returned.

    Example:
        >>> tree_flatten({"a": [mx.array(1), mx.array(2)]})
        [('a.0', array(1, dtype=int32)), ('a.1', array(2, dtype=int32))]
    """
    if destination is None:
        destination = []
    if isinstance(destination, dict):
        add = destination.__setitem__
    elif isinstance(destination, list):
        add = lambda k, v: destination.append((k, v))  # noqa: E731
    else:
        raise TypeError(f"[tree_flatten] destination must be a list or a dict, got "
                        f"{type(destination).__name__}.")
    start = prefix[1:] if prefix else None
    tree_map_with_path(lambda p, x: add(p if p is not None else "", x), tree, is_leaf=is_leaf,
                       path=start)
    return destination


def tree_unflatten(tree: Union[List[Tuple[str, Any]], Dict[str, Any]]) -> Any:
    """Rebuilds nested dicts and lists from ``[(dotted_key, value), ...]`` (or a dict of
    them): the inverse of ``tree_flatten``. A level whose keys are all integers becomes a
    list (missing indices hold empty dicts); any other level becomes a dict.

    Example:
        >>> tree_unflatten([("a.0", 1), ("a.1", 2), ("b", 3)])
        {'a': [1, 2], 'b': 3}
    """
    items = list(tree.items()) if isinstance(tree, dict) else list(tree)
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)):
            raise TypeError(f"[tree_unflatten] Expected (str key, value) pairs, got {item!r}.")
    if len(items) == 1 and items[0][0] == "":
        return items[0][1]
    groups: Dict[str, list] = {}
    for key, value in items:
        head, _, tail = key.partition(".")
        groups.setdefault(head, []).append((tail, value))
    if all(k.isdigit() for k in groups):
        out = []
        for index, k in sorted((int(k), k) for k in groups):
            out.extend({} for _ in range(index - len(out)))
            out.append(tree_unflatten(groups[k]))
        return out
    return {k: tree_unflatten(v) for k, v in groups.items()}


def tree_reduce(fn: Callable, tree: Any, initializer: Any = None,
                is_leaf: Optional[Callable] = None) -> Any:
    """Folds ``fn(accumulator, leaf)`` over the leaves from left to right; without an
    initializer the first leaf starts the accumulator.

    Example:
        >>> tree_reduce(lambda acc, x: acc + x.size, params, 0)
    """
    acc = [initializer]

    def visit(_, leaf):
        acc[0] = leaf if acc[0] is None else fn(acc[0], leaf)

    _walk(visit, tree, (), is_leaf, None, False)
    return acc[0]


def tree_merge(tree_a: Any, tree_b: Any, merge_fn: Optional[Callable] = None) -> Any:
    """Merges two trees: where only one has an entry (the other is missing, None or an
    empty container) that entry is taken; two leaves in the same place are combined with
    ``merge_fn(a, b)`` (a ValueError without one).

    Example:
        >>> tree_merge({"a": 1}, {"b": {"c": 2}})
        {'a': 1, 'b': {'c': 2}}
    """
    def empty(t):
        return t is None or (isinstance(t, (dict, list, tuple)) and len(t) == 0)

    def merge(a, b, path):
        if empty(a):
            return b
        if empty(b):
            return a
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            n = max(len(a), len(b))
            vals = [merge(a[i] if i < len(a) else None, b[i] if i < len(b) else None,
                          f"{path}.{i}" if path else str(i)) for i in range(n)]
            return _rebuild_like(a, vals)
        if isinstance(a, dict) and isinstance(b, dict):
            keys = list(a) + [k for k in b if k not in a]
            return {k: merge(a.get(k), b.get(k), f"{path}.{k}" if path else str(k)) for k in keys}
        if merge_fn is None:
            raise ValueError(
                f"[tree_merge] Both trees hold an entry at {path or 'the root'!r} and no "
                f"merge_fn was given."
            )
        return merge_fn(a, b)

    try:
        return merge(tree_a, tree_b, "")
    finally:
        merge = None  # noqa: F841 - it refers to itself: leave no cycle behind


# -- internal: leaves plus a structure, for the transforms and compile -------------------
class _Slot:
    """Marks where a leaf was in a structure returned by _flatten."""
    __slots__ = ()

    def __repr__(self):
        return "*"


_SLOT = _Slot()


def _structure_key(t):
    if isinstance(t, dict):
        return (dict, tuple((k, _structure_key(v)) for k, v in t.items()))
    if isinstance(t, (list, tuple)):
        return (type(t), tuple(_structure_key(v) for v in t))
    return None  # a leaf slot


class _TreeDef:
    """The structure of a flattened tree: the tree with its leaves replaced by slots.
    Hashable and comparable (compile keys its cache on it; vmap compares structures)."""
    __slots__ = ("tree", "_key")

    def __init__(self, tree):
        self.tree, self._key = tree, None

    def key(self):
        if self._key is None:
            self._key = _structure_key(self.tree)
        return self._key

    def __hash__(self):
        return hash(self.key())

    def __eq__(self, other):
        return isinstance(other, _TreeDef) and self.key() == other.key()

    def __repr__(self):
        return f"_TreeDef({self.tree!r})"


def _flatten(tree: Any, is_leaf: Optional[Callable] = None) -> Tuple[List[Any], Any]:
    """(leaves, structure); ``_unflatten(structure, leaves)`` rebuilds the tree. The
    structure is None when the tree is itself a leaf."""
    leaves = []

    def take(_, leaf):
        leaves.append(leaf)
        return _SLOT

    structure = _walk(take, tree, (), is_leaf, None, False)
    return leaves, (None if structure is _SLOT else _TreeDef(structure))


def _unflatten(structure: Any, leaves: List[Any]) -> Any:
    it = iter(leaves)
    if structure is None:
        return next(it)
    return _walk(lambda _, s: next(it) if s is _SLOT else s, structure.tree, (), None, None, False)
