"""nn.value_and_grad: differentiate a loss with respect to a model's trainable
parameters; nn.average_gradients: average a gradient tree over a distributed group."""
from functools import wraps
from typing import Any, Callable, Optional

import ember.core as mx
from ember.nn.module import Module
from ember.utils import tree_map


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


def average_gradients(gradients: Any, group: Optional[mx.distributed.Group] = None,
                      all_reduce_size: int = 32 * 1024**2,
                      communication_stream: Optional[mx.Stream] = None) -> Any:
    """Averages a tree of gradients over the processes of a group (data-parallel training).

    Each leaf becomes ``all_sum(leaf) / group.size()``. Small arrays are packed together, in
    tree order and by dtype, into one flat all_sum of up to ``all_reduce_size`` bytes, then
    unpacked, so a model of many small parameters costs few messages.

    Args:
        gradients: A tree (dicts, lists, tuples) of arrays, e.g. from ``nn.value_and_grad``.
        group: The group to average over (the global group when None).
        all_reduce_size: The most bytes packed into one all_sum; 0 or less sends each array
            on its own.
        communication_stream: The stream the all_sums run on (the default stream when None).

    Returns:
        A tree shaped like ``gradients``; ``gradients`` itself for a group of one process.
    """
    group = group if group is not None else mx.distributed.init()
    n = group.size()
    if n == 1:
        return gradients
    kw = {"group": group}
    if communication_stream is not None:
        kw["stream"] = communication_stream

    def average(x):
        return mx.distributed.all_sum(x, **kw) / n

    if all_reduce_size <= 0:
        return tree_map(average, gradients)

    from ember.utils import _flatten, _unflatten

    leaves, structure = _flatten(gradients)
    out = list(leaves)
    # Runs of consecutive leaves of one dtype of at most all_reduce_size bytes (a larger
    # leaf goes alone).
    pending, pending_bytes, pending_dtype = [], 0, None

    def flush():
        nonlocal pending, pending_bytes, pending_dtype
        if len(pending) == 1:
            i = pending[0]
            out[i] = average(leaves[i])
        elif pending:
            flat = mx.concatenate([mx.reshape(leaves[i], (-1,)) for i in pending])
            summed = average(flat)
            start = 0
            for i in pending:
                size = leaves[i].size
                out[i] = mx.reshape(summed[start:start + size], leaves[i].shape)
                start += size
        pending, pending_bytes, pending_dtype = [], 0, None

    for i, leaf in enumerate(leaves):
        if not isinstance(leaf, mx.array):
            raise TypeError(f"[average_gradients] Every leaf must be an array, got "
                            f"{type(leaf).__name__} at leaf {i}.")
        if pending and (leaf.dtype != pending_dtype
                        or pending_bytes + leaf.nbytes > all_reduce_size):
            flush()
        pending.append(i)
        pending_bytes += leaf.nbytes
        pending_dtype = leaf.dtype
    flush()
    return _unflatten(structure, out)
