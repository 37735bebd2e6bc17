"""mx.compile: trace a function once per signature, then replay the simplified, fused graph.

The first call with a given signature (the tree structure of the arguments, each array's
shape and dtype, the values of the non-array arguments) calls the function on placeholder
arrays and records what it computes (ember.core._compile_trace: the graph passes and the
fusion run in C++). Later calls with that signature replay the recorded graph on the new
arrays without running the Python function, so Python side effects (print, appending to a
list, ...) happen only while tracing. ``inputs=`` / ``outputs=`` name trees of arrays that
the function reads and updates implicitly (a model's parameters, an optimizer's state):
they become extra inputs and outputs of the graph, and the outputs are written back into
those trees after each call, exactly as the uncompiled function would have left them.
"""
import functools
import threading
from typing import Any, Callable

from ember import core as _core
from ember.utils import _flatten, _unflatten

array = _core.array
_FUSE = True  # benchmarks switch fusion off to measure the other passes alone

_READ_ERROR = (
    "[compile] Cannot read the value of an array inside a function being compiled (item, "
    "tolist, numpy conversion, printing or eval): values are not known while it is traced. "
    "Return the array from the function instead, or run it uncompiled (mx.disable_compile())."
)


def _is_leaf(x):
    # A dict or list subclass such as an nn.Module passed as an argument is one constant
    # leaf (rebuilding it as a plain dict would break the call); state of a Module is
    # captured with inputs= / outputs= instead. (namedtuples stay trees.)
    return isinstance(x, (dict, list)) and type(x) not in (dict, list)


def _constant_key(x):
    try:
        hash(x)
        return (type(x), x)
    except TypeError:
        return (type(x), id(x))


def _leaf_refs(tree, refs, writable):
    """Appends (container, key) for each array leaf of tree, walking it in place."""
    if isinstance(tree, array):
        raise TypeError("[compile] inputs= and outputs= take trees (lists, dicts) holding arrays, "
                        "not a bare array: the compiled function could not update it in place.")
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, (list, tuple)):
        items = enumerate(tree)
    else:
        return
    for k, v in items:
        if isinstance(v, array):
            if writable and isinstance(tree, tuple):
                raise TypeError(f"[compile] outputs= holds an array inside a tuple (at index {k}), "
                                f"which cannot be updated in place; use a list.")
            refs.append((tree, k))
        else:
            _leaf_refs(v, refs, writable)


def _state_refs(tree, writable):
    refs = []
    if tree is not None:
        _leaf_refs(tree, refs, writable)
    return refs


def _snapshot(tree):
    """(container, copy of its items) for every dict and list in tree, outermost first."""
    out = []

    def walk(t):
        if isinstance(t, dict):
            out.append((t, dict(t)))
            for v in list(t.values()):
                walk(v)
        elif isinstance(t, list):
            out.append((t, list(t)))
            for v in list(t):
                walk(v)
        elif isinstance(t, tuple):
            for v in t:
                walk(v)

    if tree is not None:
        walk(tree)
    # walk refers to itself through its closure, which also holds `out` (the user's state):
    # break that cycle so the state is not kept until the cycle collector runs.
    walk = None  # noqa: F841
    return out


def _restore(snapshot):
    for container, items in snapshot:
        if isinstance(container, dict):
            for k in [k for k in container if k not in items]:
                del container[k]
            container.update(items)
        else:
            container[:] = items


class _Entry:
    """One trace: the tape, and how to rebuild the function's output tree."""

    __slots__ = ("tape", "template", "out_struct", "num_out", "num_state_out")

    def __init__(self, tape, template, out_struct, num_out, num_state_out):
        self.tape, self.template, self.out_struct = tape, template, out_struct
        self.num_out, self.num_state_out = num_out, num_state_out

    def single(self):
        """The function returned one array (and updates no state)."""
        return self.out_struct is None and self.num_out == 1 and not self.num_state_out

    def rebuild(self, results):
        it = iter(results)
        return _unflatten(self.out_struct, [next(it) if t is _ARRAY else t for t in self.template])


class _CompiledFunction:
    def __init__(self, fun, inputs, outputs, shapeless):
        self._fun = fun
        self._inputs = inputs
        self._outputs = outputs
        self._shapeless = bool(shapeless)
        self._cache = {}
        self._fast = _core._CompileCache(self._shapeless)
        functools.update_wrapper(self, fun)

    def __get__(self, obj, objtype=None):  # decorating a method binds self as usual
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if not _core._compile_enabled() or _tracing_depth() > 0:
            return self._fun(*args, **kwargs)
        shapeless = self._shapeless
        fast = not kwargs and self._inputs is None and self._outputs is None
        if fast:
            # The common case, looked up in C++: positional arrays only, no implicit state.
            out = self._fast(*args)
            if out is not None:
                return out
            fast = all(type(a) is array for a in args)
        if fast:
            arrays = list(args)
            key = tuple((a.ndim if shapeless else a.shape, a.dtype) for a in arrays)
            entry = self._cache.get(key)
            if entry is None:
                leaves, struct = _flatten((args, kwargs), is_leaf=_is_leaf)
                entry = self._trace(leaves, struct, len(arrays), [], arrays)
                self._cache[key] = entry
                self._fast.add(args, entry.tape, None if entry.single() else entry.rebuild)
            results = entry.tape(arrays, shapeless)
        else:
            leaves, struct = _flatten((args, kwargs), is_leaf=_is_leaf)
            arrays = []
            consts = []
            for leaf in leaves:
                if isinstance(leaf, array):
                    arrays.append(leaf)
                else:
                    consts.append(_constant_key(leaf))
            refs = _state_refs(self._inputs, False)
            state = [c[k] for c, k in refs]
            sig = tuple((a.ndim if shapeless else a.shape, a.dtype) for a in arrays)
            state_sig = tuple((a.ndim if shapeless else a.shape, a.dtype) for a in state)
            key = (struct, tuple(consts), sig, state_sig)
            entry = self._cache.get(key)
            if entry is None:
                entry = self._trace(leaves, struct, len(arrays), refs, arrays + state)
                self._cache[key] = entry
            results = entry.tape(arrays + state, shapeless)
        n = entry.num_out
        if entry.single():
            return results[0]
        if entry.num_state_out:
            out_refs = _state_refs(self._outputs, True)
            if len(out_refs) != entry.num_state_out:
                raise ValueError(
                    f"[compile] outputs= held {entry.num_state_out} arrays when the function was "
                    f"traced but holds {len(out_refs)} now; pass the changed trees through inputs= "
                    f"as well so that a change of structure retraces."
                )
            for (c, k), v in zip(out_refs, results[n:]):
                c[k] = v
        return entry.rebuild(results[:n])

    def _trace(self, leaves, struct, num_args, refs, flat):
        box = []

        def flat_fun(xs):
            it = iter(xs[:num_args])
            args, kwargs = _unflatten(
                struct, [next(it) if isinstance(l, array) else l for l in leaves])
            for (c, k), x in zip(refs, xs[num_args:]):
                c[k] = x
            out = self._fun(*args, **kwargs)
            out_leaves, out_struct = _flatten(out)
            outs = [l for l in out_leaves if isinstance(l, array)]
            template = [_ARRAY if isinstance(l, array) else l for l in out_leaves]
            state_out = [c[k] for c, k in _state_refs(self._outputs, True)]
            box.append((template, out_struct, len(outs), len(state_out)))
            return outs + state_out

        originals = [c[k] for c, k in refs]
        # What outputs= held before the trace, containers and all: a failed trace leaves the
        # user's state as it was (an optimizer's first update adds entries while tracing).
        snapshot = _snapshot(self._outputs)
        _tracing.depth = _tracing_depth() + 1
        try:
            tape = _core._compile_trace(flat_fun, flat, self._shapeless, _FUSE)
        except BaseException as e:
            _restore(snapshot)
            if isinstance(e, ValueError) and "Cannot evaluate a value that depends on a traced input" in str(e):
                raise ValueError(_READ_ERROR) from None
            raise
        finally:
            _tracing.depth -= 1
            # The state the function read goes back to its values (outputs= are then
            # overwritten with the results of the replay).
            for (c, k), x in zip(refs, originals):
                c[k] = x
        return _Entry(tape, *box[-1])


_ARRAY = object()  # marks an array leaf in an output template

# Compiled functions called while another one is being traced (on this thread) run inline:
# their ops become part of the outer trace, as MLX does, instead of a trace of their own
# whose constants would be the outer trace's placeholders.
_tracing = threading.local()


def _tracing_depth():
    return getattr(_tracing, "depth", 0)


def compile(fun: Callable, inputs: Any = None, outputs: Any = None, shapeless: bool = False):
    """Returns a compiled version of ``fun``.

    The first call with a given signature (argument tree structure, array shapes and
    dtypes, non-array argument values) traces ``fun`` on placeholder arrays; the recorded
    graph is simplified (common subexpressions, dead code, constants folded) and its
    elementwise chains are fused into single kernels that keep intermediates in cache.
    Later calls with the same signature replay that graph: ``fun``'s Python code, and so
    its side effects, run only while tracing. Inside ``fun``, reading a value (``item``,
    ``tolist``, numpy, printing) raises a ValueError.

    Args:
        fun: a function of arrays (or trees of arrays, and other Python values, which
            are constants of the trace) returning an array or a tree of arrays.
        inputs: a tree (list, dict, nn.Module, optimizer state ...) of arrays that ``fun``
            reads without taking them as arguments. Arrays captured otherwise are
            constants of the trace.
        outputs: a tree of arrays that ``fun`` updates; after each call its leaves hold
            the new values, as after the uncompiled call.
        shapeless: reuse one trace for inputs of other shapes (same ranks and dtypes).
            Works for elementwise graphs; a graph whose shapes are fixed (reshapes,
            matmuls, reductions) raises a ValueError on a call with new shapes.

    Returns:
        The compiled function. It composes with grad, vmap, vjp and jvp both ways.

    Example:
        >>> f = mx.compile(lambda x: mx.sin(x) * 2 + mx.exp(-x))
        >>> f(mx.arange(4.0))  # traced now; later calls of this shape replay
    """
    if not callable(fun):
        raise TypeError(f"[compile] fun must be callable, got {type(fun).__name__}.")
    return _CompiledFunction(fun, inputs, outputs, shapeless)
