"""nn.value_and_grad: differentiate a loss with respect to a model's trainable
parameters."""
from typing import Callable

import ember.core as mx
from ember.nn.module import Module


def value_and_grad(model: Module, fn: Callable):
    """Returns a function that calls ``fn(*args, **kwargs)`` and returns
    ``(value, grads)``, where grads is a tree shaped like
    ``model.trainable_parameters()``. Frozen parameters are treated as constants."""
    if not isinstance(model, Module):
        raise TypeError(f"[value_and_grad] The first argument must be an nn.Module, got {type(model).__name__}.")
    if not callable(fn):
        raise TypeError(f"[value_and_grad] fn must be callable, got {type(fn).__name__}.")

    def inner(params, *args, **kwargs):
        model.update(params)
        return fn(*args, **kwargs)

    vg = mx.value_and_grad(inner)

    def wrapped(*args, **kwargs):
        params = model.trainable_parameters()
        try:
            return vg(params, *args, **kwargs)
        finally:
            model.update(params)  # put back the concrete arrays, not the traced ones

    return wrapped
