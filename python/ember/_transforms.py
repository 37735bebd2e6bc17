"""The user-facing function transforms: grad, value_and_grad, vjp, jvp, vmap.

They accept and return trees (nested lists / tuples / dicts) of arrays. This module
flattens the trees, calls the C++ transforms (ember.core._vjp, _jvp, _vmap, ...) on the
flat list of array leaves, and rebuilds the structure. Errors name the transform the user
called and the argument that is wrong.
"""
from typing import Any, Callable, Sequence, Union

from ember import core as _core
from ember.utils import _flatten, _unflatten

array = _core.array
_FLOATS = {_core.float16, _core.bfloat16, _core.float32, _core.float64, _core.complex64}


def _describe(x):
    return f"{type(x).__name__} {x!r}" if isinstance(x, (int, float, str, bool)) else type(x).__name__


def _flatten_outputs(op, out):
    """Leaves and structure of a function's output; every leaf must be an array."""
    leaves, struct = _flatten(out)
    for leaf in leaves:
        if not isinstance(leaf, array):
            raise TypeError(
                f"[{op}] The function must return an array or a tree (list, tuple, dict) of "
                f"arrays, but it returned {_describe(leaf)}"
                + ("" if leaf is out else f" inside a {type(out).__name__}") + "."
            )
    if not leaves:
        raise TypeError(f"[{op}] The function returned no arrays (it returned {_describe(out)}).")
    return leaves, struct


class _Args:
    """The arguments of one call, with chosen trees opened into array leaves.

    `select` lists (kind, key) pairs: ("pos", i) or ("kw", name). Array leaves of the
    selected trees become the flat inputs of a transform; `rebuild(xs)` puts new leaves
    back and returns (args, kwargs) for calling the user's function.
    """

    def __init__(self, op, args, kwargs, select, check_float, need_arrays=False):
        self.args = list(args)
        self.kwargs = dict(kwargs)
        self.select = select
        self.trees = []  # (leaves, struct, array leaf indices, module or None)
        self.flat = []
        self.modules = []  # (module, its trainable parameters before the call)
        for kind, key in select:
            tree = self.args[key] if kind == "pos" else self.kwargs[key]
            where = f"argument {key}" if kind == "pos" else f"keyword argument '{key}'"
            module = tree if _is_module(tree) else None
            if module is not None:  # a Module is differentiated as its trainable parameters
                tree = module.trainable_parameters()
                # put back after the call; other state the call changed (BatchNorm's
                # running statistics) is kept, as nn.value_and_grad keeps it
                self.modules.append((module, tree))
            leaves, struct = _flatten(tree)
            idx = []
            for i, leaf in enumerate(leaves):
                if isinstance(leaf, array):
                    if check_float and leaf.dtype not in _FLOATS:
                        raise TypeError(
                            f"[{op}] Cannot differentiate with respect to {where}: it holds an array "
                            f"of dtype {leaf.dtype}; only floating point arrays are differentiable. "
                            f"Convert it with .astype(mx.float32) or leave it out of argnums."
                        )
                    idx.append(i)
                    self.flat.append(leaf)
            if need_arrays and not idx:
                raise TypeError(
                    f"[{op}] Cannot differentiate with respect to {where}: it holds no array "
                    f"(it is {_describe(module if module is not None else tree)})."
                )
            self.trees.append((leaves, struct, idx, module))

    def restore(self):
        """Puts back the parameters of Modules given as differentiated arguments."""
        for module, params in self.modules:
            module.update(params, strict=False)

    def rebuild(self, xs):
        args, kwargs = list(self.args), dict(self.kwargs)
        it = iter(xs)
        for (kind, key), (leaves, struct, idx, module) in zip(self.select, self.trees):
            new = list(leaves)
            for i in idx:
                new[i] = next(it)
            tree = _unflatten(struct, new)
            if module is not None:
                tree = module.update(tree, strict=False)
            if kind == "pos":
                args[key] = tree
            else:
                kwargs[key] = tree
        return args, kwargs

    def split(self, flat_values):
        """Per selected tree, the tree with array leaves replaced by flat_values and
        other leaves by None."""
        out = []
        it = iter(flat_values)
        for leaves, struct, idx, _ in self.trees:
            new = [None] * len(leaves)
            for i in idx:
                new[i] = next(it)
            out.append(_unflatten(struct, new))
        return out


def _normalize_argnums(op, argnums, argnames):
    if isinstance(argnames, str):
        argnames = (argnames,)
    argnames = tuple(argnames)
    if argnums is None:
        return ((0,), True, argnames) if not argnames else ((), False, argnames)
    if isinstance(argnums, int):
        return (argnums,), True, argnames
    argnums = tuple(argnums)
    for a in argnums:
        if not isinstance(a, int):
            raise TypeError(f"[{op}] argnums must be ints, got {_describe(a)}.")
    if len(set(argnums)) != len(argnums):
        raise ValueError(f"[{op}] argnums {argnums} contains duplicates.")
    if not argnums and not argnames:
        raise ValueError(f"[{op}] argnums=() with no argnames: there is nothing to differentiate.")
    return argnums, False, argnames


def value_and_grad(fun: Callable, argnums: Union[int, Sequence[int], None] = None,
                   argnames: Union[str, Sequence[str]] = ()):
    """Returns a function computing ``fun``'s value and its gradient.

    Args:
        fun: a function returning a scalar array, or a tuple/list whose first element is
            the scalar (the rest are auxiliary outputs returned with it).
        argnums: which positional arguments to differentiate: an int (one gradient), a
            list/tuple (a tuple of gradients, in that order). Default 0.
        argnames: keyword arguments to differentiate; their gradients come back as a dict.

    Returns:
        A function returning ``(value, grads)``. Gradients mirror each argument's tree:
        array leaves get arrays (zeros where the value does not depend on them), other
        leaves get None.

    Example:
        >>> loss_and_grad = mx.value_and_grad(lambda w, x: mx.sum(w * x))
        >>> loss, dw = loss_and_grad(mx.array([1.0, 2.0]), mx.array([3.0, 4.0]))
    """
    if not callable(fun):
        raise TypeError(f"[value_and_grad] fun must be callable, got {_describe(fun)}.")
    if _is_module(fun):  # mx.value_and_grad(model, loss_fn), as the guide writes it
        from ember import nn

        return nn.value_and_grad(fun, argnums)
    return _value_and_grad(fun, argnums, argnames, "value_and_grad")


def _is_module(x):
    try:
        from ember.nn import Module
    except ImportError:
        return False
    return isinstance(x, Module)


def _value_and_grad(fun, argnums, argnames, op):
    nums, single, names = _normalize_argnums(op, argnums, argnames)

    def wrapper(*args, **kwargs):
        for a in nums:
            if not -len(args) <= a < len(args):
                raise ValueError(
                    f"[{op}] argnums {a} is out of range: the function was called with "
                    f"{len(args)} positional argument{'s' if len(args) != 1 else ''}."
                )
        for n in names:
            if n not in kwargs:
                raise ValueError(f"[{op}] argnames '{n}' was not passed as a keyword argument.")
        select = [("pos", a % len(args)) for a in nums] + [("kw", n) for n in names]
        call = _Args(op, args, kwargs, select, check_float=True, need_arrays=True)
        out_box = []

        def flat_fun(xs):
            a, k = call.rebuild(xs)
            out = fun(*a, **k)
            if isinstance(out, array):
                out_box.append(None)
                return [out]
            if isinstance(out, (tuple, list)) and out and isinstance(out[0], array):
                # (loss, aux...): aux passes through whatever it holds; its arrays go
                # through the trace as extra outputs, the rest is kept here.
                leaves, struct = _flatten(out)
                pos = [i for i, leaf in enumerate(leaves) if isinstance(leaf, array)]
                out_box.append((leaves, struct, pos))
                return [leaves[i] for i in pos]
            raise TypeError(
                f"[{op}] The function must return a scalar array (or a tuple whose first "
                f"element is one), but it returned {_describe(out)}."
            )

        try:
            outs, grads = _core._value_and_grad(flat_fun, call.flat, op)
        finally:
            call.restore()
        if out_box[-1] is None:
            value = outs[0]
        else:
            leaves, struct, pos = out_box[-1]
            leaves = list(leaves)
            for i, o in zip(pos, outs):
                leaves[i] = o
            value = _unflatten(struct, leaves)
        trees = call.split(grads)
        pos, kw = trees[: len(nums)], dict(zip(names, trees[len(nums):]))
        g = pos[0] if single else tuple(pos)
        if names:
            g = (g, kw) if nums else kw
        return value, g

    wrapper.__name__ = getattr(fun, "__name__", "fun")
    wrapper.__doc__ = getattr(fun, "__doc__", None)
    return wrapper


def grad(fun: Callable, argnums: Union[int, Sequence[int], None] = None,
         argnames: Union[str, Sequence[str]] = ()):
    """Returns a function computing the gradient of the scalar function ``fun``.

    ``grad(f)(x)`` differentiates argument 0; ``argnums=1`` another one;
    ``argnums=(0, 1)`` returns a tuple, in the order asked for. Gradients mirror the
    argument's tree (dicts, lists, tuples); non-array leaves get None. Integer arrays
    cannot be differentiated (TypeError). Nests: ``grad(grad(mx.sin))``.

    Example:
        >>> d2 = mx.grad(mx.grad(mx.sin))
        >>> d2(mx.array(0.5))  # -sin(0.5)
    """
    if not callable(fun):
        raise TypeError(f"[grad] fun must be callable, got {_describe(fun)}.")
    vg = _value_and_grad(fun, argnums, argnames, "grad")

    def wrapper(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    wrapper.__name__ = getattr(fun, "__name__", "fun")
    wrapper.__doc__ = getattr(fun, "__doc__", None)
    return wrapper


def _as_list(op, what, x):
    if isinstance(x, (list, tuple)):
        return list(x), False
    return [x], True


def vjp(fun: Callable, primals: Any, cotangents: Any = None):
    """Vector-Jacobian product (reverse mode).

    Two forms:
      * ``outputs, vjps = vjp(f, [x, ...], [ct, ...])`` (mlx.core's): returns the list of
        outputs and the list of input cotangents.
      * ``outputs, vjp_fn = vjp(f, x)`` (no cotangents): returns f's outputs and a
        function mapping output cotangents to input cotangents; it can be called many
        times and reuses the traced graph.

    Cotangents must match the outputs in number, shape and dtype.
    """
    plist, single = _as_list("vjp", "primals", primals)
    call = _Args("vjp", plist, {}, [("pos", i) for i in range(len(plist))], check_float=False)
    struct_box = []

    def flat_fun(xs):
        a, _ = call.rebuild(xs)
        leaves, struct = _flatten_outputs("vjp", fun(*a))
        struct_box.append(struct)
        return leaves

    if cotangents is None:
        try:
            trace = _core._vjp_trace(flat_fun, call.flat, "vjp")
        finally:
            call.restore()
        struct = struct_box[-1]
        outputs = _unflatten(struct, trace.outputs)

        def vjp_fn(*cts):
            ct = cts[0] if len(cts) == 1 else cts
            leaves, _ = _flatten(ct)
            if len(leaves) != len(trace.outputs):
                raise ValueError(
                    f"[vjp] Got {len(leaves)} cotangents for {len(trace.outputs)} outputs."
                )
            leaves = [x if isinstance(x, array) else array(x, dtype=o.dtype)
                      for x, o in zip(leaves, trace.outputs)]
            grads = call.split(trace.backward(leaves))
            return grads[0] if single else grads

        return outputs, vjp_fn

    clist, _ = _as_list("vjp", "cotangents", cotangents)
    cleaves, _ = _flatten(clist)
    for c in cleaves:
        if not isinstance(c, array):
            raise TypeError(f"[vjp] Cotangents must be arrays, got {_describe(c)}.")
    try:
        outs, grads = _core._vjp(flat_fun, call.flat, cleaves, "vjp")
    finally:
        call.restore()
    grads = call.split(grads)
    return outs, (grads[0] if single else grads)


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any]):
    """Jacobian-vector product (forward mode).

    ``outputs, output_tangents = jvp(f, (x, ...), (v, ...))``: both lists. Tangents must
    match the primals in number and shape.
    """
    plist, _ = _as_list("jvp", "primals", primals)
    tlist, _ = _as_list("jvp", "tangents", tangents)
    if len(plist) != len(tlist):
        raise ValueError(f"[jvp] Got {len(tlist)} tangents for {len(plist)} primals.")
    call = _Args("jvp", plist, {}, [("pos", i) for i in range(len(plist))], check_float=False)
    tleaves, _ = _flatten(tlist)
    tleaves = [t for t in tleaves if isinstance(t, array)]
    if len(tleaves) != len(call.flat):
        raise ValueError(f"[jvp] Got {len(tleaves)} tangent arrays for {len(call.flat)} primal arrays.")

    struct_box = []

    def flat_fun(xs):
        a, _ = call.rebuild(xs)
        out = fun(*a)
        leaves, struct = _flatten_outputs("jvp", [out] if isinstance(out, array) else out)
        struct_box.append(struct)
        return leaves

    try:
        outs, touts = _core._jvp(flat_fun, call.flat, tleaves, "jvp")
    finally:
        call.restore()
    struct = struct_box[-1]

    def shaped(xs):  # the outputs' structure; a single array or a tuple comes back as a list
        t = _unflatten(struct, xs)
        return list(t) if isinstance(t, tuple) else t

    return shaped(outs), shaped(touts)


def _axis_leaves(op, spec, tree, where):
    """Per array leaf of `tree`, its axis from `spec` (an int/None for the whole tree, or
    a tree with the same structure)."""
    leaves, struct = _flatten(tree)
    if spec is None or isinstance(spec, int):
        return [spec if isinstance(l, array) else None for l in leaves], leaves, spec
    spec_leaves, spec_struct = _flatten(spec, is_leaf=lambda x: x is None)
    if spec_struct != struct and len(spec_leaves) != len(leaves):
        raise ValueError(f"[{op}] in_axes for {where} does not match the argument's structure.")
    return spec_leaves, leaves, spec


def vmap(fun: Callable, in_axes: Any = 0, out_axes: Any = 0):
    """Vectorizes ``fun`` over an axis of its inputs.

    Args:
        fun: a function of arrays (or trees of arrays) returning arrays (or trees).
        in_axes: the mapped axis of each argument: an int or None for all arguments, or a
            tuple with one entry per argument (an int, None for "not mapped / broadcast",
            or a tree matching that argument). Negative axes count from the end.
        out_axes: where the batch axis goes in each output (same forms); None returns an
            output once, unbatched (it must not depend on the mapped inputs).

    Returns:
        The vectorized function. Nests with grad, jvp and vjp.
    """
    if not callable(fun):
        raise TypeError(f"[vmap] fun must be callable, got {_describe(fun)}.")

    def wrapper(*args):
        if isinstance(in_axes, (tuple, list)):
            if len(in_axes) != len(args):
                raise ValueError(
                    f"[vmap] in_axes has {len(in_axes)} entries but the function was called with "
                    f"{len(args)} argument{'s' if len(args) != 1 else ''}."
                )
            specs = list(in_axes)
        else:
            specs = [in_axes] * len(args)
        flat, axes, origin = [], [], []
        for i, (spec, arg) in enumerate(zip(specs, args)):
            ax_leaves, leaves, _ = _axis_leaves("vmap", spec, arg, f"argument {i}")
            for ax, leaf in zip(ax_leaves, leaves):
                if not isinstance(leaf, array):
                    if ax is not None and not (isinstance(spec, int) and not isinstance(leaf, array)):
                        raise ValueError(f"[vmap] in_axes {ax} given for argument {i}, which is "
                                         f"{_describe(leaf)}, not an array.")
                    continue
                if ax is not None:
                    if not isinstance(ax, int):
                        raise TypeError(f"[vmap] in_axes entries must be int or None, got {_describe(ax)}.")
                    if not -leaf.ndim <= ax < leaf.ndim:
                        raise ValueError(
                            f"[vmap] in_axes {ax} is out of bounds for argument {i} with shape "
                            f"{leaf.shape}."
                        )
                flat.append(leaf)
                axes.append(ax)
                origin.append(i)
        sizes = [(o, ax, x.shape[ax]) for x, ax, o in zip(flat, axes, origin) if ax is not None]
        if not sizes:
            raise ValueError("[vmap] At least one argument must be mapped (in_axes is None for all).")
        if len({s for _, _, s in sizes}) > 1:
            desc = ", ".join(f"argument {o} has size {s} on axis {ax}" for o, ax, s in sizes)
            raise ValueError(f"[vmap] The mapped axes have different sizes: {desc}.")

        # Rebuild the call from new array leaves (non-array leaves pass unchanged).
        def rebuild(xs):
            it = iter(xs)
            new_args = []
            for arg in args:
                leaves, struct = _flatten(arg)
                new_args.append(_unflatten(
                    struct, [next(it) if isinstance(l, array) else l for l in leaves]))
            return new_args

        struct_box = []

        def flat_fun(xs):
            leaves, struct = _flatten_outputs("vmap", fun(*rebuild(xs)))
            struct_box.append((leaves, struct))
            return leaves

        def out_axes_for(n):
            out_tree = _unflatten(struct_box[-1][1], list(range(n)))
            if out_axes is None or isinstance(out_axes, int):
                return [out_axes] * n
            if isinstance(out_tree, (tuple, list)) and isinstance(out_axes, (tuple, list)):
                if len(out_axes) != len(out_tree):
                    raise ValueError(
                        f"[vmap] out_axes has {len(out_axes)} entries but the function returned "
                        f"{len(out_tree)} outputs."
                    )
                res = []
                for spec, sub in zip(out_axes, out_tree):
                    k = len(_flatten(sub)[0])
                    if spec is None or isinstance(spec, int):
                        res.extend([spec] * k)
                    else:
                        res.extend(_flatten(spec, is_leaf=lambda x: x is None)[0])
                return res
            return _flatten(out_axes, is_leaf=lambda x: x is None)[0]

        results = _core._vmap(flat_fun, flat, axes, out_axes_for)
        return _unflatten(struct_box[-1][1], results)

    wrapper.__name__ = getattr(fun, "__name__", "fun")
    return wrapper


def _single_arg(op, fun, args, argnums):
    if not isinstance(argnums, int):
        raise TypeError(f"[{op}] argnums must be an int (one argument), got {_describe(argnums)}.")
    if not -len(args) <= argnums < len(args):
        raise ValueError(f"[{op}] argnums {argnums} is out of range for {len(args)} arguments.")
    x = args[argnums]
    if not isinstance(x, array):
        raise TypeError(f"[{op}] Argument {argnums} must be an array, got {_describe(x)}.")

    def f_of_x(xx):
        a = list(args)
        a[argnums] = xx
        out = fun(*a)
        if not isinstance(out, array):
            raise TypeError(f"[{op}] The function must return one array, got {_describe(out)}.")
        return out

    return x, f_of_x


def jacrev(fun: Callable, argnums: int = 0):
    """Jacobian by reverse mode: one vjp per output element, batched with vmap.

    Returns a function whose result has shape ``out.shape + x.shape``. Best when the
    output is smaller than the input.
    """

    def jac(*args):
        x, f = _single_arg("jacrev", fun, args, argnums)
        out, vjp_fn = vjp(f, x)
        basis = _core.reshape(_core.eye(out.size, dtype=out.dtype), (out.size,) + out.shape)
        rows = vmap(vjp_fn)(basis)
        return _core.reshape(rows, out.shape + x.shape)

    return jac


def jacfwd(fun: Callable, argnums: int = 0):
    """Jacobian by forward mode: one jvp per input element, batched with vmap.

    Returns a function whose result has shape ``out.shape + x.shape``. Best when the
    input is smaller than the output.
    """

    def jac(*args):
        x, f = _single_arg("jacfwd", fun, args, argnums)
        basis = _core.reshape(_core.eye(x.size, dtype=x.dtype), (x.size,) + x.shape)
        cols = vmap(lambda t: jvp(f, (x,), (t,))[1][0])(basis)  # (x.size, *out.shape)
        out_ndim = cols.ndim - 1
        cols = _core.moveaxis(cols, 0, -1) if out_ndim else cols
        return _core.reshape(cols, cols.shape[:out_ndim] + x.shape)

    return jac


def hessian(fun: Callable, argnums: int = 0):
    """Hessian of a scalar function: forward-over-reverse, ``jacfwd(jacrev(fun))``.

    Returns a function whose result has shape ``x.shape + x.shape``.
    """
    return jacfwd(jacrev(fun, argnums), argnums)


class custom_function:
    """A function with user-defined transform rules (mlx.core.custom_function).

    Decorate a function, then attach rules with ``@f.vjp``, ``@f.jvp``, ``@f.vmap``::

        @mx.custom_function
        def f(x):
            return mx.exp(x)

        @f.vjp
        def f_vjp(primals, cotangent, output):
            (x,) = primals
            return (cotangent * output,)

    * vjp(primals, cotangents, outputs) -> one cotangent per positional argument
      (cotangents / outputs are single arrays when f returns one array);
    * jvp(primals, tangents) -> the output tangent(s);
    * vmap(inputs, axes) -> (outputs, out_axes).
    A transform without a rule differentiates / batches f's own computation. The
    arguments of f must be arrays.
    """

    def __init__(self, fun):
        self._fun = fun
        self._vjp = self._jvp = self._vmap = None
        self.__name__ = getattr(fun, "__name__", "custom_function")
        self.__doc__ = getattr(fun, "__doc__", None)

    def vjp(self, fn):
        self._vjp = fn
        return fn

    def jvp(self, fn):
        self._jvp = fn
        return fn

    def vmap(self, fn):
        self._vmap = fn
        return fn

    def __call__(self, *args):
        for i, a in enumerate(args):
            if not isinstance(a, array):
                raise TypeError(f"[custom_function] Argument {i} must be an array, got {_describe(a)}.")
        box = []

        def flat_fun(xs):
            out = self._fun(*xs)
            single = isinstance(out, array)
            leaves, _ = _flatten_outputs("custom_function", [out] if single else out)
            box.append(single)
            return leaves

        def unwrap(xs):
            return xs[0] if box[-1] else tuple(xs)

        def as_list(r, what):
            r = [r] if isinstance(r, array) else list(r)
            for v in r:
                if not isinstance(v, array):
                    raise TypeError(f"[custom_function] The {what} rule must return arrays, got {_describe(v)}.")
            return r

        vjp_fn = None if self._vjp is None else (
            lambda xs, cts, ys: as_list(self._vjp(tuple(xs), unwrap(cts), unwrap(ys)), "vjp"))
        jvp_fn = None if self._jvp is None else (
            lambda xs, ts: as_list(self._jvp(tuple(xs), tuple(ts)), "jvp"))

        def vmap_wrapped(xs, axes):
            outs, out_axes = self._vmap(tuple(xs), tuple(axes))
            outs = as_list(outs, "vmap")
            out_axes = [out_axes] if isinstance(out_axes, int) else list(out_axes)
            return outs, out_axes

        vmap_fn = None if self._vmap is None else vmap_wrapped
        outs = _core._custom_function(flat_fun, vjp_fn, jvp_fn, vmap_fn, list(args))
        return unwrap(outs)


def checkpoint(fun: Callable):
    """Wraps ``fun`` so that its backward pass recomputes the forward instead of keeping
    its intermediate values: less memory for more compute. Arguments must be arrays;
    the result is an array or a tuple of arrays."""

    def wrapper(*args):
        for i, a in enumerate(args):
            if not isinstance(a, array):
                raise TypeError(f"[checkpoint] Argument {i} must be an array, got {_describe(a)}.")
        box = []

        def flat_fun(xs):
            out = fun(*xs)
            single = isinstance(out, array)
            leaves, _ = _flatten_outputs("checkpoint", [out] if single else out)
            box.append(single)
            return leaves

        outs = _core._checkpoint(flat_fun, list(args))
        return outs[0] if box[0] else tuple(outs)

    wrapper.__name__ = getattr(fun, "__name__", "checkpoint")
    return wrapper
