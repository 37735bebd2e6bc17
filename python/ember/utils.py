"""Tree utilities: nested lists, tuples and dicts whose leaves are arrays
(or anything else). One implementation serves the transforms and users."""
from typing import Any, Callable, List, Tuple


def _is_node(x):
    return isinstance(x, (list, tuple, dict))


def _flatten_into(t, is_leaf, leaves):
    if (is_leaf is not None and is_leaf(t)) or not _is_node(t):
        leaves.append(t)
        return None
    if isinstance(t, dict):
        return (dict, tuple(t.keys()), tuple(_flatten_into(v, is_leaf, leaves) for v in t.values()))
    return (type(t), len(t), tuple(_flatten_into(v, is_leaf, leaves) for v in t))


def tree_flatten(tree: Any, is_leaf: Callable = None) -> Tuple[List[Any], Any]:
    """Returns (leaves, structure); ``tree_unflatten(structure, leaves)`` rebuilds.

    Written with module-level helpers rather than a recursive closure: a closure that
    calls itself is a reference cycle, which would keep the leaves (arrays) alive until
    the garbage collector runs."""
    leaves = []
    structure = _flatten_into(tree, is_leaf, leaves)
    return leaves, structure


def _build(s, it):
    if s is None:
        return next(it)
    kind, meta, children = s
    if kind is dict:
        return {k: _build(c, it) for k, c in zip(meta, children)}
    values = [_build(c, it) for c in children]
    if kind is list:
        return values
    if kind is tuple:
        return tuple(values)
    return kind(*values)  # namedtuple


def tree_unflatten(structure: Any, leaves: List[Any]) -> Any:
    """Inverse of tree_flatten."""
    return _build(structure, iter(leaves))


def tree_map(fn: Callable, tree: Any, *rest: Any, is_leaf: Callable = None) -> Any:
    """Applies fn to each leaf (and the matching leaves of `rest`)."""
    leaves, structure = tree_flatten(tree, is_leaf)
    others = [tree_flatten(r, is_leaf)[0] for r in rest]
    for o in others:
        if len(o) != len(leaves):
            raise ValueError(
                f"[tree_map] The trees have different numbers of leaves ({len(leaves)} and {len(o)})."
            )
    return tree_unflatten(structure, [fn(*xs) for xs in zip(leaves, *others)])


def tree_reduce(fn: Callable, tree: Any, initializer: Any = None, is_leaf: Callable = None) -> Any:
    """Folds fn over the leaves from left to right."""
    leaves, _ = tree_flatten(tree, is_leaf)
    acc = initializer
    for leaf in leaves:
        acc = leaf if acc is None else fn(acc, leaf)
    return acc
