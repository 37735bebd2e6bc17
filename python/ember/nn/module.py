"""nn.Module: a dict of parameters and submodules, discovered from attributes.

Attributes that are arrays, Modules, or lists / tuples / dicts of them are stored in the
module's dict (so ``module.parameters()`` finds them); everything else is an ordinary
attribute. Parameters are nested dicts of arrays, the structure the transforms and the
optimizers work with.
"""
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import ember.core as mx
from ember.utils import tree_flatten, tree_unflatten


def _is_param_like(v):
    if isinstance(v, (mx.array, Module)):
        return True
    if isinstance(v, (list, tuple)):
        return any(_is_param_like(x) for x in v) or len(v) == 0
    if isinstance(v, dict):
        return True
    return False


class Module(dict):
    """Base class for layers and models. Subclasses set arrays and submodules as
    attributes in ``__init__`` and define ``__call__``."""

    def __init__(self):
        object.__setattr__(self, "_no_grad", set())
        object.__setattr__(self, "_training", True)

    # -- attribute storage ------------------------------------------------------------
    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} has no attribute {key!r}") from None

    def __setattr__(self, key, value):
        if _is_param_like(value) and not key.startswith("_"):
            self[key] = value
            if key in self.__dict__:
                object.__delattr__(self, key)
        else:
            if key in self:
                del self[key]
            object.__setattr__(self, key, value)

    def __delattr__(self, key):
        if key in self:
            del self[key]
        else:
            object.__delattr__(self, key)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    @property
    def training(self) -> bool:
        return self._training

    # -- trees of parameters ----------------------------------------------------------
    def _tree(self, keep: Callable[["Module", str, Any], bool]):
        def walk(v, owner, key):
            if isinstance(v, Module):
                return {k: walk(c, v, k) for k, c in v.items()
                        if isinstance(c, (mx.array, Module, list, tuple, dict))}
            if isinstance(v, mx.array):
                return v if keep(owner, key, v) else None
            if isinstance(v, (list, tuple)):
                return [walk(c, owner, key) for c in v]
            if isinstance(v, dict):
                return {k: walk(c, owner, k) for k, c in v.items()}
            return None

        def prune(t):
            if isinstance(t, dict):
                out = {k: prune(c) for k, c in t.items()}
                return {k: c for k, c in out.items() if c is not None}
            if isinstance(t, list):
                return [prune(c) for c in t]
            return t

        return prune(walk(self, None, None))

    def parameters(self) -> Dict[str, Any]:
        """All arrays of this module and its submodules, as a nested dict."""
        return self._tree(lambda owner, key, v: True)

    def trainable_parameters(self) -> Dict[str, Any]:
        """The parameters that are not frozen."""
        return self._tree(lambda owner, key, v: owner is None or key not in owner._no_grad)

    def children(self) -> Dict[str, Any]:
        """Direct submodules (including lists / dicts of modules)."""
        def keep(v):
            if isinstance(v, Module):
                return v
            if isinstance(v, (list, tuple)):
                r = [keep(c) for c in v]
                return r if any(x is not None for x in r) else None
            if isinstance(v, dict):
                r = {k: keep(c) for k, c in v.items()}
                r = {k: c for k, c in r.items() if c is not None}
                return r or None
            return None

        out = {k: keep(v) for k, v in self.items()}
        return {k: v for k, v in out.items() if v is not None}

    def named_modules(self) -> List[Tuple[str, "Module"]]:
        """(dotted path, module) for this module and every submodule."""
        out = []

        def walk(prefix, v):
            if isinstance(v, Module):
                out.append((prefix, v))
                for k, c in v.items():
                    walk(f"{prefix}.{k}" if prefix else k, c)
            elif isinstance(v, (list, tuple)):
                for i, c in enumerate(v):
                    walk(f"{prefix}.{i}", c)
            elif isinstance(v, dict):
                for k, c in v.items():
                    walk(f"{prefix}.{k}", c)

        walk("", self)
        return out

    def modules(self) -> List["Module"]:
        return [m for _, m in self.named_modules()]

    def leaf_modules(self) -> List["Module"]:
        return [m for m in self.modules() if not m.children()]

    def update(self, parameters: Dict[str, Any], strict: bool = False) -> "Module":
        """Replaces parameters with those in the (possibly partial) tree `parameters`."""
        def set_in(target, tree, path):
            if isinstance(tree, dict):
                for k, v in tree.items():
                    if isinstance(target, Module) or isinstance(target, dict):
                        if k not in target:
                            if strict:
                                raise ValueError(f"[update] Unknown parameter {path + k!r}.")
                            continue
                        cur = target[k]
                        if isinstance(v, mx.array) or v is None:
                            if v is not None:
                                if isinstance(cur, mx.array) and strict and cur.shape != v.shape:
                                    raise ValueError(
                                        f"[update] Parameter {path + k!r} has shape {cur.shape}, got {v.shape}.")
                                target[k] = v
                        else:
                            set_in(cur, v, path + k + ".")
            elif isinstance(tree, (list, tuple)):
                for i, v in enumerate(tree):
                    if isinstance(v, mx.array):
                        if isinstance(target, list):
                            target[i] = v
                    elif v is not None:
                        set_in(target[i], v, path + f"{i}.")

        set_in(self, parameters, "")
        return self

    def apply(self, fn: Callable[[mx.array], mx.array], filter_fn: Optional[Callable] = None) -> "Module":
        """Maps fn over the parameters (e.g. ``model.apply(lambda p: p.astype(mx.float16))``)."""
        params = self.parameters()
        leaves, struct = tree_flatten(params)
        return self.update(tree_unflatten(struct, [fn(p) for p in leaves]))

    def apply_to_modules(self, fn: Callable[[str, "Module"], Any]) -> "Module":
        for name, m in self.named_modules():
            fn(name, m)
        return self

    # -- freezing and modes -----------------------------------------------------------
    def freeze(self, recurse: bool = True, keys: Optional[List[str]] = None) -> "Module":
        """Excludes parameters from trainable_parameters (all, or the given keys)."""
        targets = self.modules() if recurse else [self]
        for m in targets:
            names = keys if keys is not None else [k for k, v in m.items() if isinstance(v, mx.array)]
            m._no_grad.update(names)
        return self

    def unfreeze(self, recurse: bool = True, keys: Optional[List[str]] = None) -> "Module":
        targets = self.modules() if recurse else [self]
        for m in targets:
            if keys is None:
                m._no_grad.clear()
            else:
                m._no_grad.difference_update(keys)
        return self

    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "_training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # -- saving -----------------------------------------------------------------------
    def save_weights(self, file: str) -> None:
        """Saves the parameters to a .npz or .safetensors file (flat dotted keys)."""
        flat = dict(_flatten_dict(self.parameters()))
        if file.endswith(".safetensors"):
            from ember.nn import _safetensors

            _safetensors.save(file, flat)
        elif file.endswith(".npz"):
            np.savez(file, **{k: _to_numpy(v) for k, v in flat.items()})
        else:
            raise ValueError(f"[save_weights] Unsupported file type {os.path.splitext(file)[1]!r}; use .npz or .safetensors.")

    def load_weights(self, file: str, strict: bool = True) -> "Module":
        """Loads parameters saved by save_weights; strict checks names and shapes."""
        if file.endswith(".safetensors"):
            from ember.nn import _safetensors

            flat = _safetensors.load(file)
        elif file.endswith(".npz"):
            with np.load(file) as data:
                flat = {k: mx.array(data[k]) for k in data.files}
        else:
            raise ValueError(f"[load_weights] Unsupported file type {os.path.splitext(file)[1]!r}; use .npz or .safetensors.")
        if strict:
            mine = dict(_flatten_dict(self.parameters()))
            missing = sorted(set(mine) - set(flat))
            extra = sorted(set(flat) - set(mine))
            if missing or extra:
                raise ValueError(f"[load_weights] Mismatched parameters: missing {missing}, unexpected {extra}.")
            for k, v in flat.items():
                if tuple(mine[k].shape) != tuple(v.shape):
                    raise ValueError(f"[load_weights] Parameter {k!r} has shape {mine[k].shape} in the model but {v.shape} in the file.")
        return self.update(_unflatten_dict(flat, self.parameters()))

    # -- display ----------------------------------------------------------------------
    def _extra_repr(self) -> str:
        return ""

    def __repr__(self):
        kids = self.children()
        head = f"{type(self).__name__}({self._extra_repr()}"
        if not kids:
            return head + ")"
        lines = [head]
        for name, m in self.items():
            if isinstance(m, Module):
                lines.append(f"  ({name}): " + repr(m).replace("\n", "\n  "))
            elif isinstance(m, (list, tuple)) and any(isinstance(c, Module) for c in m):
                for i, c in enumerate(m):
                    lines.append(f"  ({name}.{i}): " + repr(c).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"


def _to_numpy(a):
    return np.asarray(a.astype(mx.float32)) if a.dtype == mx.bfloat16 else np.asarray(a)


def _flatten_dict(tree, prefix=""):
    if isinstance(tree, mx.array):
        yield prefix[:-1], tree
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from _flatten_dict(v, f"{prefix}{k}.")
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from _flatten_dict(v, f"{prefix}{i}.")


def _unflatten_dict(flat, like):
    """Rebuilds the nested structure of `like` from dotted keys."""
    def build(t, prefix):
        if isinstance(t, mx.array):
            v = flat.get(prefix[:-1])
            return None if v is None else v.astype(t.dtype)
        if isinstance(t, dict):
            return {k: build(v, f"{prefix}{k}.") for k, v in t.items()}
        if isinstance(t, (list, tuple)):
            return [build(v, f"{prefix}{i}.") for i, v in enumerate(t)]
        return None

    return build(like, "")
