"""nn.Module (mlx.nn.Module's API): a dict of a layer's arrays and submodules.

Attributes that are arrays, dicts, lists or tuples (Modules included, being dicts) are
stored as the module's dict entries; other attributes are ordinary ones. The dict itself
is ``module.state``: ``update`` replaces its entries in place, so a captured
``model.state`` always holds the current arrays. ``parameters()`` is the nested dict of
the arrays whose names do not start with an underscore.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import ember.core as mx
from ember.utils import tree_flatten, tree_unflatten


class Module(dict):
    """Base class for layers and models. Subclasses call ``super().__init__()``, set
    arrays and submodules as attributes, and define ``__call__``.

    Example:
        >>> class MLP(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.layers = [nn.Linear(4, 8), nn.Linear(8, 1)]
        ...     def __call__(self, x):
        ...         return self.layers[1](nn.relu(self.layers[0](x)))
    """

    __call__: Callable

    def __init__(self):
        self._no_grad = set()
        self._training = True

    # -- attribute storage ------------------------------------------------------------
    def __getattr__(self, key: str):
        if key in self:
            return self[key]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    def __setattr__(self, key: str, value: Any):
        if isinstance(value, (mx.array, dict, list, tuple)):
            if key in self.__dict__:
                object.__delattr__(self, key)
            self[key] = value
        else:
            if key in self:
                del self[key]
            object.__setattr__(self, key, value)

    def __delattr__(self, key: str):
        if key in self:
            del self[key]
        else:
            object.__delattr__(self, key)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    @property
    def training(self) -> bool:
        """True in training mode (the default), False after ``eval()``."""
        return self._training

    @property
    def state(self) -> "Module":
        """The module's own dict of arrays, submodules and containers (not a copy):
        what ``mx.compile(fn, inputs=model.state, outputs=model.state)`` captures."""
        return self

    # -- filters ----------------------------------------------------------------------
    @staticmethod
    def is_module(value: Any) -> bool:
        return isinstance(value, Module)

    @staticmethod
    def valid_child_filter(module: "Module", key: str, value: Any) -> bool:
        return isinstance(value, (dict, list))

    @staticmethod
    def valid_parameter_filter(module: "Module", key: str, value: Any) -> bool:
        return isinstance(value, (dict, list, mx.array)) and not key.startswith("_")

    @staticmethod
    def trainable_parameter_filter(module: "Module", key: str, value: Any) -> bool:
        return Module.valid_parameter_filter(module, key, value) and key not in module._no_grad

    # -- trees ------------------------------------------------------------------------
    def filter_and_map(self, filter_fn: Callable[["Module", str, Any], bool],
                       map_fn: Optional[Callable] = None,
                       is_leaf_fn: Optional[Callable[["Module", str, Any], bool]] = None
                       ) -> Dict[str, Any]:
        """The nested dict of this module's entries that ``filter_fn(module, key, value)``
        keeps, with ``map_fn`` applied to each leaf. Inside a module's dicts and lists the
        key passed is the dotted path from that module (``"layers.0"``) and an entry
        filtered out becomes ``{}`` so that list positions are kept. ``is_leaf_fn`` says
        where to stop (default: at anything that is not a Module, dict or list)."""
        if is_leaf_fn is None:
            is_leaf_fn = lambda m, k, v: not isinstance(v, (Module, dict, list))  # noqa: E731
        if map_fn is None:
            map_fn = lambda v: v  # noqa: E731

        def unwrap(owner, key, value):
            if is_leaf_fn(owner, key, value):
                return map_fn(value)
            if isinstance(value, Module):
                return {k: unwrap(value, k, v) for k, v in value.items() if filter_fn(value, k, v)}
            if isinstance(value, dict):
                return {k: unwrap(owner, f"{key}.{k}", v) if filter_fn(owner, f"{key}.{k}", v) else {}
                        for k, v in value.items()}
            if isinstance(value, list):
                return [unwrap(owner, f"{key}.{i}", v) if filter_fn(owner, f"{key}.{i}", v) else {}
                        for i, v in enumerate(value)]
            raise TypeError(f"[Module.filter_and_map] Unexpected {type(value).__name__} at {key!r}: "
                            f"is_leaf_fn must accept every value that is not a Module, dict or list.")

        try:
            return {k: unwrap(self, k, v) for k, v in self.items() if filter_fn(self, k, v)}
        finally:
            # unwrap refers to itself through its closure: break that cycle, so that this
            # call (made every training step) leaves no garbage for the cycle collector.
            unwrap = None  # noqa: F841

    def parameters(self) -> Dict[str, Any]:
        """Every array of this module and its submodules (names without a leading
        underscore), as a nested dict."""
        return self.filter_and_map(self.valid_parameter_filter)

    def trainable_parameters(self) -> Dict[str, Any]:
        """The parameters that are not frozen (frozen ones are left out)."""
        return self.filter_and_map(self.trainable_parameter_filter)

    def children(self) -> Dict[str, Any]:
        """The direct submodules, in the dicts and lists that hold them."""
        return self.filter_and_map(self.valid_child_filter,
                                   is_leaf_fn=lambda m, k, v: isinstance(v, Module))

    def leaf_modules(self) -> Dict[str, Any]:
        """The submodules that have no submodules, in the dicts and lists that hold them."""
        def is_leaf(m, k, v):
            return isinstance(v, Module) and not tree_flatten(v.children())

        return self.filter_and_map(self.valid_child_filter, is_leaf_fn=is_leaf)

    def apply_to_modules(self, apply_fn: Callable[[str, "Module"], Any]) -> "Module":
        """Calls ``apply_fn(dotted_name, module)`` on this module ("") and every submodule."""
        stack = [("", self)]
        while stack:
            prefix, module = stack.pop()
            apply_fn(prefix, module)
            sub = tree_flatten(module.children(), prefix="." + prefix if prefix else "",
                               is_leaf=self.is_module)
            stack.extend((k, m) for k, m in sub if isinstance(m, Module))
        return self

    def named_modules(self) -> List[Tuple[str, "Module"]]:
        """(dotted name, module) for this module ("") and every submodule."""
        out = []
        self.apply_to_modules(lambda k, m: out.append((k, m)))
        return out

    def modules(self) -> List["Module"]:
        """This module and every submodule."""
        out = []
        self.apply_to_modules(lambda k, m: out.append(m))
        return out

    def update(self, parameters: Dict[str, Any], strict: bool = True) -> "Module":
        """Replaces arrays with those of the (possibly partial) tree ``parameters``, in
        place. With strict, a key the module does not have or a non-array value where
        the module has an array is a ValueError naming the key."""
        def bad(path, what):
            raise ValueError(f"[Module.update] {what} at {path!r}.")

        def put(dst, key, new, path):
            cur = dst[key]
            if isinstance(cur, mx.array):
                if not isinstance(new, mx.array):
                    if strict:
                        bad(path, f"Expected an array, got {type(new).__name__}")
                    if isinstance(new, dict) and not new:  # a left-out (frozen) entry
                        return
                dst[key] = new
            else:
                apply(cur, new, path)

        def apply(dst, params, path):
            if isinstance(params, dict):
                if not isinstance(dst, dict):
                    if strict:
                        bad(path, f"Got a dict where the module holds {type(dst).__name__}")
                    return
                for k, v in params.items():
                    p = f"{path}.{k}" if path else str(k)
                    if k in dst:
                        put(dst, k, v, p)
                    elif strict:
                        bad(p, "The module has no parameter")
            elif isinstance(params, (list, tuple)):
                if not isinstance(dst, (list, tuple)) or len(params) > len(dst):
                    if strict:
                        bad(path, f"Got a list of {len(params)} where the module holds "
                                  f"{type(dst).__name__}" + (f" of {len(dst)}" if isinstance(dst, (list, tuple)) else ""))
                    return
                if isinstance(dst, tuple):  # tuples are rebuilt in their parent
                    raise ValueError(f"[Module.update] Cannot update the tuple at {path!r} in place; "
                                     f"store lists of arrays in modules.")
                for i, v in enumerate(params):
                    put(dst, i, v, f"{path}.{i}" if path else str(i))
            elif strict:
                bad(path or "the root", f"Expected a dict or list, got {type(params).__name__}")

        try:
            apply(self, parameters, "")
        finally:
            put = apply = None  # noqa: F841 - they refer to each other: no cycle left behind
        return self

    def update_modules(self, modules: Dict[str, Any], strict: bool = True) -> "Module":
        """Replaces submodules with those of the (possibly partial) tree ``modules``
        (e.g. from ``leaf_modules()`` after mapping), in place."""
        def apply(dst, mods, path):
            if isinstance(mods, dict):
                items = mods.items()
            elif isinstance(mods, list):
                items = enumerate(mods)
            else:
                if strict:
                    raise ValueError(f"[Module.update_modules] Expected a dict or list at "
                                     f"{path or 'the root'!r}, got {type(mods).__name__}.")
                return
            for k, new in items:
                p = f"{path}.{k}" if path else str(k)
                has = (k in dst) if isinstance(dst, dict) else (isinstance(k, int) and k < len(dst))
                if not has:
                    if strict:
                        raise ValueError(f"[Module.update_modules] The module has no submodule at {p!r}.")
                    continue
                cur = dst[k]
                if isinstance(cur, Module) and isinstance(new, Module):
                    dst[k] = new
                elif isinstance(cur, (dict, list)):
                    apply(cur, new, p)
                elif strict and not (isinstance(new, dict) and not new):
                    raise ValueError(f"[Module.update_modules] Expected a Module at {p!r}, got "
                                     f"{type(new).__name__}.")

        try:
            apply(self, modules, "")
        finally:
            apply = None  # noqa: F841 - it refers to itself: no cycle left behind
        return self

    def apply(self, map_fn: Callable[[mx.array], mx.array],
              filter_fn: Optional[Callable[["Module", str, Any], bool]] = None) -> "Module":
        """Maps ``map_fn`` over the parameters (or the entries ``filter_fn`` keeps) and
        updates the module with the results, e.g.
        ``model.apply(lambda p: p.astype(mx.float16))``."""
        filter_fn = filter_fn or self.valid_parameter_filter
        return self.update(self.filter_and_map(filter_fn, map_fn))

    # -- freezing and modes -----------------------------------------------------------
    def _check_keys(self, keys, strict):
        keys = [keys] if isinstance(keys, str) else list(keys)
        if strict:
            for k in keys:
                if k not in self:
                    raise KeyError(f"[Module.freeze] {type(self).__name__} has no member {k!r}.")
        return keys

    def freeze(self, *, recurse: bool = True, keys: Optional[Union[str, List[str]]] = None,
               strict: bool = False) -> "Module":
        """Leaves parameters out of ``trainable_parameters()``: all of them, or the named
        ``keys`` (of every submodule with ``recurse``). With strict, a key the module does
        not have is a KeyError."""
        def freeze_one(_, m):
            names = keys
            if names is None:
                names = [k for k, _ in tree_flatten(m.filter_and_map(
                    lambda mm, k, v: not isinstance(v, Module) and mm.valid_parameter_filter(mm, k, v)))]
            m._no_grad.update(m._check_keys(names, strict))

        if recurse:
            self.apply_to_modules(freeze_one)
        else:
            freeze_one("", self)
        return self

    def unfreeze(self, *, recurse: bool = True, keys: Optional[Union[str, List[str]]] = None,
                 strict: bool = False) -> "Module":
        """Undoes ``freeze``: all parameters, or the named ``keys``."""
        def unfreeze_one(_, m):
            if keys is None:
                m._no_grad.clear()
            else:
                m._no_grad.difference_update(m._check_keys(keys, strict))

        if recurse:
            self.apply_to_modules(unfreeze_one)
        else:
            unfreeze_one("", self)
        return self

    def _set_training_mode(self, mode: bool):
        """Sets this module's own training flag; layers that store something differently in
        each mode (QQLinear) extend it."""
        self._training = mode

    def train(self, mode: bool = True) -> "Module":
        """Sets training mode (Dropout active, BatchNorm on batch statistics) on every
        submodule."""
        def set_mode(_, m):
            m._set_training_mode(mode)

        return self.apply_to_modules(set_mode)

    def eval(self) -> "Module":
        """Training mode off (``train(False)``)."""
        return self.train(False)

    def set_dtype(self, dtype, predicate: Optional[Callable] = None) -> "Module":
        """Casts the parameters whose dtype ``predicate`` accepts (default: floating
        point ones) to ``dtype``."""
        if predicate is None:
            predicate = lambda d: mx.issubdtype(d, mx.floating)  # noqa: E731
        return self.apply(lambda x: x.astype(dtype) if predicate(x.dtype) else x)

    # -- saving -----------------------------------------------------------------------
    def save_weights(self, file: str) -> None:
        """Saves the parameters, with flat dotted names, to a ``.npz`` or ``.safetensors``
        file."""
        from ember.nn import _weights_io

        _weights_io.save(file, dict(tree_flatten(self.parameters())))

    def load_weights(self, file_or_weights: Union[str, List[Tuple[str, mx.array]]],
                     strict: bool = True) -> "Module":
        """Loads weights from a file written by ``save_weights`` (``.npz`` or
        ``.safetensors``) or from a list of ``(dotted_name, array)`` pairs. With strict,
        missing, unknown or wrongly shaped weights are a ValueError naming them."""
        weights = file_or_weights
        if isinstance(weights, str):
            from ember.nn import _weights_io

            weights = list(_weights_io.load(weights).items())
        elif isinstance(weights, dict):
            weights = list(weights.items())
        if strict:
            new = dict(weights)
            cur = dict(tree_flatten(self.parameters()))
            extra = sorted(set(new) - set(cur))
            missing = sorted(set(cur) - set(new))
            if extra or missing:
                parts = []
                if missing:
                    parts.append(f"missing {len(missing)} parameter(s): {', '.join(missing)}")
                if extra:
                    parts.append(f"{len(extra)} not in the model: {', '.join(extra)}")
                raise ValueError(f"[load_weights] The weights do not match the model: {'; '.join(parts)}.")
            for k, v in cur.items():
                w = new[k]
                if not isinstance(w, mx.array):
                    raise ValueError(f"[load_weights] Weight {k!r} is a {type(w).__name__}, not an array.")
                if tuple(w.shape) != tuple(v.shape):
                    raise ValueError(f"[load_weights] Weight {k!r} has shape {tuple(w.shape)} but the "
                                     f"model's parameter has shape {tuple(v.shape)}.")
        if weights:
            self.update(tree_unflatten(weights), strict=False)
        return self

    # -- display ----------------------------------------------------------------------
    def _extra_repr(self) -> str:
        return ""

    def __repr__(self):
        children = tree_flatten(self.children(), is_leaf=self.is_module)
        head = f"{type(self).__name__}({self._extra_repr()}"
        children = [(k, m) for k, m in children if isinstance(m, Module)]
        if not children:
            return head + ")"
        lines = [head]
        for name, m in children:
            lines.append(f"  ({name}): " + repr(m).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"
