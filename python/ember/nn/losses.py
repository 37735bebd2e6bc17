"""Loss functions. Each takes predictions and targets and a `reduction` of 'none',
'mean' or 'sum'."""
import math

import ember.core as mx


def _reduce(loss, reduction):
    if reduction == "mean":
        return mx.mean(loss)
    if reduction == "sum":
        return mx.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"[losses] reduction must be 'none', 'mean' or 'sum', got {reduction!r}.")


def mse_loss(predictions, targets, reduction="mean"):
    if predictions.shape != targets.shape:
        raise ValueError(f"[mse_loss] predictions shape {predictions.shape} and targets shape {targets.shape} differ.")
    return _reduce(mx.square(predictions - targets), reduction)


def l1_loss(predictions, targets, reduction="mean"):
    if predictions.shape != targets.shape:
        raise ValueError(f"[l1_loss] predictions shape {predictions.shape} and targets shape {targets.shape} differ.")
    return _reduce(mx.abs(predictions - targets), reduction)


def huber_loss(inputs, targets, delta=1.0, reduction="none"):
    """0.5 d^2 for |d| <= delta, delta (|d| - 0.5 delta) beyond."""
    d = mx.abs(inputs - targets)
    loss = mx.where(d <= delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _reduce(loss, reduction)


def cross_entropy(logits, targets, weights=None, axis=-1, label_smoothing=0.0, reduction="none"):
    """Cross entropy of logits against class indices (integer targets with one fewer
    dimension) or probabilities (targets shaped like logits)."""
    logp = logits - mx.logsumexp(logits, axis=axis, keepdims=True)
    num_classes = logits.shape[axis]
    if targets.ndim == logits.ndim - 1:
        if targets.dtype in (mx.float16, mx.bfloat16, mx.float32, mx.float64):
            raise TypeError("[cross_entropy] Class-index targets must be integers.")
        picked = mx.take_along_axis(logp, mx.expand_dims(targets, axis), axis=axis)
        loss = -mx.squeeze(picked, axis)
        if label_smoothing > 0:
            smooth = -mx.mean(logp, axis=axis)
            loss = (1 - label_smoothing) * loss + label_smoothing * smooth
    elif targets.shape == logits.shape:
        if label_smoothing > 0:
            targets = targets * (1 - label_smoothing) + label_smoothing / num_classes
        loss = -mx.sum(targets * logp, axis=axis)
    else:
        raise ValueError(f"[cross_entropy] targets shape {targets.shape} must be logits shape {logits.shape} "
                         f"without the class axis (indices) or equal to it (probabilities).")
    if weights is not None:
        loss = loss * weights
    return _reduce(loss, reduction)


def nll_loss(inputs, targets, axis=-1, reduction="none"):
    """Negative log likelihood of log-probabilities `inputs` at class indices `targets`."""
    picked = mx.take_along_axis(inputs, mx.expand_dims(targets, axis), axis=axis)
    return _reduce(-mx.squeeze(picked, axis), reduction)


def binary_cross_entropy(inputs, targets, with_logits=True, reduction="mean"):
    """Binary cross entropy; inputs are logits unless with_logits=False (probabilities)."""
    if with_logits:
        # log(1 + e^x) - x t, written to stay finite for large |x|
        loss = mx.logaddexp(0.0, inputs) - inputs * targets
    else:
        eps = 1e-12
        loss = -(targets * mx.log(mx.maximum(inputs, eps)) + (1 - targets) * mx.log(mx.maximum(1 - inputs, eps)))
    return _reduce(loss, reduction)


def kl_div_loss(inputs, targets, axis=-1, reduction="none"):
    """KL(targets || inputs) for log-probabilities: sum exp(t) (t - x)."""
    return _reduce(mx.sum(mx.exp(targets) * (targets - inputs), axis=axis), reduction)
