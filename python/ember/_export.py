"""mx.export_function, mx.import_function, mx.exporter and mx.export_to_dot.

A function is exported by tracing it on example arrays, as mx.compile does (the graph is
simplified and its elementwise chains fused), and writing the graph with the arrays it
captured to a file (csrc/ember/export: the format, and each primitive's parameters and
loader). import_function reads the file, checking every step of the graph with the op that
makes it, and returns a function that replays the graph; the original Python code is not
needed. The calling conventions are mlx.core's: arrays as ``*args`` and ``**kwargs``, or one
tuple (or list) of positional arrays and/or one dict of keyword arrays. ember also accepts
arguments that are trees (tuples, lists, dicts) of arrays, and outputs that are trees, which
come back flattened into the returned tuple (dict entries in sorted key order).
"""
import json
import os
from typing import Any, Callable, Optional

from ember import core as _core

array = _core.array


def _split_inputs(op, args, kwargs):
    """mlx.core's conventions: (positional, keyword) arguments of an export or a call."""
    if len(args) == 1 and not kwargs and not isinstance(args[0], array):
        if isinstance(args[0], (tuple, list)) and not hasattr(args[0], "_fields"):
            return list(args[0]), {}
        if isinstance(args[0], dict):
            return [], dict(args[0])
    if (len(args) == 2 and not kwargs and isinstance(args[0], (tuple, list))
            and not hasattr(args[0], "_fields") and isinstance(args[1], dict)):
        return list(args[0]), dict(args[1])
    return list(args), dict(kwargs)


def _flatten(op, tree, where, leaves):
    """Appends tree's arrays to leaves (dict keys in sorted order); returns its structure."""
    if isinstance(tree, array):
        leaves.append(tree)
        return "a"
    if isinstance(tree, dict):
        for k in tree:
            if not isinstance(k, str):
                raise TypeError(f"[{op}] {where} is a dict with key {k!r}; dicts of inputs need "
                                f"string keys.")
        return "{" + ",".join(json.dumps(k) + ":" + _flatten(op, tree[k], f"{where}[{k!r}]", leaves)
                              for k in sorted(tree)) + "}"
    if isinstance(tree, (list, tuple)):
        inner = ",".join(_flatten(op, v, f"{where}[{i}]", leaves) for i, v in enumerate(tree))
        return f"[{inner}]" if isinstance(tree, list) else f"({inner})"
    raise TypeError(f"[{op}] {where} is {type(tree).__name__}: the inputs of an exported function "
                    f"are arrays, or tuples, lists and dicts of arrays.")


def _rebuild(tree, it):
    """tree with its arrays replaced by the next values of it (the order of _flatten)."""
    if isinstance(tree, array):
        return next(it)
    if isinstance(tree, dict):
        values = {k: _rebuild(tree[k], it) for k in sorted(tree)}
        return {k: values[k] for k in tree}
    if isinstance(tree, (list, tuple)):
        values = [_rebuild(v, it) for v in tree]
        if hasattr(tree, "_fields"):  # a namedtuple
            return type(tree)(*values)
        return type(tree)(values)
    return tree


def _layout(op, args, kwargs):
    """(flat arrays, number of positional arguments, sorted keyword names, structure)."""
    positional, keywords = _split_inputs(op, args, kwargs)
    names = sorted(keywords)
    leaves = []
    parts = [_flatten(op, a, f"argument {i}", leaves) for i, a in enumerate(positional)]
    parts += [_flatten(op, keywords[k], f"keyword argument {k!r}", leaves) for k in names]
    # The structure is only written when some argument is a tree (mlx's calls have none).
    structure = "" if all(p == "a" for p in parts) else ";".join(parts)
    return leaves, positional, keywords, names, structure


def _output_leaves(op, out):
    """The arrays a traced function returned: an array or a tree of arrays, flattened."""
    leaves = []
    if isinstance(out, array):
        return [out]
    if isinstance(out, (tuple, list, dict)):
        try:
            _flatten(op, out, "output", leaves)
        except TypeError:
            pass
        else:
            return leaves
    raise TypeError(f"[{op}] The function must return an array, or a tuple, list or dict of "
                    f"arrays; it returned {type(out).__name__}.")


def _flat_function(op, fun, positional, keywords, names):
    """fun as a function of the flat list of arrays that _layout made of its arguments."""

    def flat_fun(xs):
        it = iter(xs)
        a = [_rebuild(x, it) for x in positional]
        k = {name: _rebuild(keywords[name], it) for name in names}
        return _output_leaves(op, fun(*a, **k))

    return flat_fun


def _path(op, file):
    if isinstance(file, (str, os.PathLike)):
        return os.fsdecode(file)
    raise TypeError(f"[{op}] file must be a path (str or os.PathLike), got {type(file).__name__}.")


class FunctionExporter:
    """Exports several traces of one function to one file (make one with :func:`exporter`).

    Each call ``exporter(*args, **kwargs)`` traces the function on those example arrays and
    rewrites the file, so it always holds every trace so far; arrays the traces capture
    (a model's parameters) are stored once. It is a context manager: leaving the ``with``
    block closes it, and a closed exporter refuses new traces.
    """

    def __init__(self, file, fun, shapeless=False, metadata=None, *, _op="exporter"):
        if not callable(fun):
            raise TypeError(f"[{_op}] fun must be callable, got {type(fun).__name__}.")
        if metadata is not None and not isinstance(metadata, str):
            raise TypeError(f"[{_op}] metadata must be a str or None, got "
                            f"{type(metadata).__name__}.")
        self._fun = fun
        self._impl = _core._exporter(_path(_op, file), bool(shapeless), metadata or "")

    def __call__(self, *args, **kwargs) -> None:
        op = "export_function"
        leaves, positional, keywords, names, structure = _layout(op, args, kwargs)
        flat_fun = _flat_function(op, self._fun, positional, keywords, names)
        self._impl.add(flat_fun, leaves, len(positional), names, structure)

    def close(self) -> None:
        """Refuses further traces (the file is already complete)."""
        self._impl.close()

    def __enter__(self) -> "FunctionExporter":
        return self

    def __exit__(self, exc_type=None, exc_value=None, traceback=None) -> None:
        self.close()


def exporter(file: str, fun: Callable, *, shapeless: bool = False,
             metadata: Optional[str] = None) -> FunctionExporter:
    """Makes a callable object that exports several traces of ``fun`` to one file.

    Args:
        file (str): the path of the file to write.
        fun (Callable): a function of arrays (or trees of arrays) returning arrays.
        shapeless (bool): the imported function accepts inputs of other shapes (same ranks
            and dtypes) where its graph allows: each node is rebuilt by its op for the new
            shapes (elementwise ops, reductions, matmuls, transposes, scans, squeezes ...).
            A node that fixes a shape (a reshape other than a squeeze or expand_dims, a
            broadcast to a stored shape, a slice) is a ValueError naming it. As with
            compile's ``shapeless``, values computed from shapes while tracing are constants
            (``mean``'s count, for one), so use it for graphs that do not read shapes.
        metadata (str, optional): a string stored with the function (for example a JSON
            model configuration); ``import_function(file, return_metadata=True)`` returns it.

    Returns:
        FunctionExporter: call it with example arrays, once per signature.

    Example:
        >>> def fun(*args):
        ...     return sum(args)
        >>> with mx.exporter("fun.mlxfn", fun) as exporter:
        ...     exporter(mx.array(1))
        ...     exporter(mx.array(1), mx.array(2))
    """
    return FunctionExporter(file, fun, shapeless, metadata)


def export_function(file_or_callback: Any, fun: Callable, *args, shapeless: bool = False,
                    metadata: Optional[str] = None, **kwargs) -> None:
    """Exports ``fun``, traced on the example arrays, to a file.

    The example inputs are ``*args`` and ``**kwargs`` (arrays, or trees of arrays: an ember
    extension), or one tuple of positional arrays and/or one dict of keyword arrays. Only
    their shapes and dtypes matter. The graph is traced as :func:`compile` traces it (the
    Python code runs once, values computed from captured arrays are folded into constants,
    elementwise chains are fused) and written with the arrays the function captured, so
    evaluate a model's parameters before exporting it. :func:`import_function` reads the
    file, in this process or another, and needs neither the code nor the model. Random draws
    without a ``key`` use the global key as it was when exporting, so each call of the import
    gives the same numbers: pass a key as an input for fresh ones.

    Args:
        file_or_callback (str or Callable): the path of the file to write, or a callback
            that receives the graph instead, one dict at a time: ``{"type": "inputs",
            "inputs": [(name, shape, dtype), ...]}``, ``{"type": "keyword_inputs",
            "keywords": [(keyword, name), ...]}``, ``{"type": "outputs", ...}``,
            ``{"type": "constants", "constants": [(name, array), ...]}``, then one
            ``{"type": "primitive", "name", "arguments", "inputs", "outputs"}`` per node in
            order (values are named "A", "B", ...; ``arguments`` are the primitive's
            parameters as ember stores them, which are not MLX's).
        fun (Callable): a function of arrays returning an array or a tuple, list or dict
            of arrays.
        *args: example positional inputs.
        shapeless (bool): see :func:`exporter`.
        metadata (str, optional): a string stored with the function (files only: a
            ValueError with a callback).
        **kwargs: example keyword inputs; the imported function must be called with the
            same keywords.

    Example:
        >>> def fun(x, y):
        ...     return x + y
        >>> mx.export_function("fun.mlxfn", fun, mx.array(1), y=mx.array([1, 2, 3]))
        >>> out, = mx.import_function("fun.mlxfn")(mx.array(2), y=mx.array([1, 2, 3]))
    """
    if callable(file_or_callback) and not isinstance(file_or_callback, (str, os.PathLike)):
        if metadata is not None:
            raise ValueError("[export_function] metadata is stored in files only; it cannot be "
                             "given with a callback.")
        if not callable(fun):
            raise TypeError(f"[export_function] fun must be callable, got {type(fun).__name__}.")
        leaves, positional, keywords, names, structure = _layout("export_function", args, kwargs)
        flat_fun = _flat_function("export_function", fun, positional, keywords, names)
        for event in _core._export_graph(flat_fun, leaves, len(positional), names, structure,
                                         bool(shapeless)):
            file_or_callback(event)
        return
    with FunctionExporter(file_or_callback, fun, shapeless, metadata,
                          _op="export_function") as e:
        e(*args, **kwargs)


def import_function(file: str, return_metadata: bool = False):
    """Imports a function written by :func:`export_function` or :func:`exporter`.

    The file is checked in full: a truncated, corrupt or hostile file, or one written by a
    newer format version, is a ValueError. The returned function takes the same arguments as
    the export (positional and keyword arrays, or one tuple and/or one dict of arrays), picks
    the exported trace whose signature matches (a ValueError lists them otherwise), and
    replays its graph. It always returns a tuple of arrays, and composes with the transforms
    (grad, vmap, compile) like any function of arrays.

    Args:
        file (str): the path of the file.
        return_metadata (bool): also return the metadata string stored with the function.

    Returns:
        Callable, or (Callable, str) when ``return_metadata``.

    Example:
        >>> fn = mx.import_function("fun.mlxfn")
        >>> out = fn(a, b, x=x)[0]
        >>> out = fn((a, b), {"x": x})[0]
    """
    imported = _core._import_function(_path("import_function", file))

    def imported_function(*args, **kwargs):
        leaves, positional, _, names, structure = _layout("import_function", args, kwargs)
        return tuple(imported.call(leaves, len(positional), names, structure))

    imported_function.__doc__ = f"The function imported from {os.fsdecode(file)!r}."
    if return_metadata:
        return imported_function, imported.metadata
    return imported_function


def export_to_dot(file: Any, *args, **kwargs) -> None:
    """Writes the graph that computes the given arrays in Graphviz's dot language.

    One box per primitive (with its parameters) and one ellipse per array (shape and
    dtype), down to arrays that are already computed; those are the sources and the given
    arrays the sinks. Render it with ``dot -Tsvg graph.dot``.

    Args:
        file (str or file): a path, or an object with a ``write`` method (text).
        *args: the output arrays (or trees of arrays).
        **kwargs (array): names for arrays of the graph (unnamed ones are A, B, ...).

    Example:
        >>> x = mx.array(1.0)
        >>> y = mx.array(2.0)
        >>> mx.export_to_dot("graph.dot", mx.exp(x) + y, x=x, y=y)
    """
    outputs = []
    _flatten("export_to_dot", list(args), "the arrays", outputs)
    names = []
    for name, value in kwargs.items():
        if not isinstance(value, array):
            raise TypeError(f"[export_to_dot] The name {name!r} must be given an array, got "
                            f"{type(value).__name__}.")
        names.append((name, value))
    text = _core._export_to_dot(outputs, names)
    if isinstance(file, (str, os.PathLike)):
        with open(file, "w") as f:
            f.write(text)
    elif hasattr(file, "write"):
        file.write(text)
    else:
        raise TypeError(f"[export_to_dot] file must be a path or an object with a write method, "
                        f"got {type(file).__name__}.")


def install():
    for name in ("export_function", "import_function", "exporter", "export_to_dot",
                 "FunctionExporter"):
        setattr(_core, name, globals()[name])
