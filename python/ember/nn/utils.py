"""nn.value_and_grad: differentiate a loss with respect to a model's trainable
parameters."""
from functools import wraps
from typing import Callable

import ember.core as mx
from ember.nn.module import Module


def value_and_grad(model: Module, fn: Callable):
    """Returns a function that calls ``fn(*args, **kwargs)`` and returns
    ``(value, grads)``, where grads is a tree shaped like
    ``model.trainable_parameters()``. Frozen parameters are treated as constants.

    Example:
        >>> loss_and_grad = nn.value_and_grad(model, lambda x, y: nn.losses.mse_loss(model(x), y))
        >>> loss, grads = loss_and_grad(x, y)
    """
    if not isinstance(model, Module):
        raise TypeError(f"[value_and_grad] The first argument must be an nn.Module, got {type(model).__name__}.")
    if not callable(fn):
        raise TypeError(f"[value_and_grad] fn must be callable, got {type(fn).__name__}.")

    def inner(params, *args, **kwargs):
        model.update(params, strict=False)
        return fn(*args, **kwargs)

    vg = mx.value_and_grad(inner)

    @wraps(fn)
    def wrapped(*args, **kwargs):
        params = model.trainable_parameters()
        try:
            return vg(params, *args, **kwargs)
        finally:
            model.update(params, strict=False)  # the concrete arrays, not the traced ones

    return wrapped
