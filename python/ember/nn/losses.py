"""Loss functions (mlx.nn.losses'). Each takes a ``reduction`` of 'none', 'mean' or 'sum'."""
import math

import ember.core as mx


def _reduce(loss, reduction, op="losses"):
    if reduction == "mean":
        return mx.mean(loss)
    if reduction == "sum":
        return mx.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"[{op}] reduction must be 'none', 'mean' or 'sum', got {reduction!r}.")


def _same_shape(op, a, b, an="predictions", bn="targets"):
    if a.shape != b.shape:
        raise ValueError(f"[{op}] {an} shape {tuple(a.shape)} and {bn} shape {tuple(b.shape)} differ.")


def _weighted(op, loss, weights):
    if weights is None:
        return loss
    if weights.shape != loss.shape:
        raise ValueError(f"[{op}] weights shape {tuple(weights.shape)} must equal the loss shape "
                         f"{tuple(loss.shape)}.")
    return loss * weights


def mse_loss(predictions, targets, reduction="mean"):
    """(predictions - targets)^2."""
    _same_shape("mse_loss", predictions, targets)
    return _reduce(mx.square(predictions - targets), reduction, "mse_loss")


def l1_loss(predictions, targets, reduction="mean"):
    """|predictions - targets|."""
    _same_shape("l1_loss", predictions, targets)
    return _reduce(mx.abs(predictions - targets), reduction, "l1_loss")


def smooth_l1_loss(predictions, targets, beta=1.0, reduction="mean"):
    """0.5 d^2 / beta for |d| < beta, |d| - 0.5 beta beyond (d = predictions - targets)."""
    _same_shape("smooth_l1_loss", predictions, targets)
    d = mx.abs(predictions - targets)
    loss = mx.where(d < beta, 0.5 * mx.square(d) / beta, d - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(inputs, targets, delta=1.0, reduction="none"):
    """0.5 d^2 for |d| <= delta, delta (|d| - 0.5 delta) beyond."""
    d = mx.abs(inputs - targets)
    loss = mx.where(d <= delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _reduce(loss, reduction, "huber_loss")


def log_cosh_loss(inputs, targets, reduction="none"):
    """log(cosh(inputs - targets)), computed as logaddexp(d, -d) - log 2."""
    d = inputs - targets
    return _reduce(mx.logaddexp(d, -d) - math.log(2), reduction, "log_cosh_loss")


def cross_entropy(logits, targets, weights=None, axis=-1, label_smoothing=0.0, reduction="none"):
    """Cross entropy of logits against class indices (integer targets with the class axis
    left out) or probabilities (targets shaped like logits); ``label_smoothing`` mixes in
    the uniform distribution."""
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"[cross_entropy] label_smoothing must be in [0, 1), got {label_smoothing}.")
    logp = logits - mx.logsumexp(logits, axis=axis, keepdims=True)
    num_classes = logits.shape[axis]
    if targets.ndim == logits.ndim - 1:
        ax = axis % logits.ndim
        if tuple(targets.shape) != tuple(logits.shape[:ax] + logits.shape[ax + 1:]):
            raise ValueError(f"[cross_entropy] Class-index targets of shape {tuple(targets.shape)} must "
                             f"have logits' shape {tuple(logits.shape)} without axis {axis}.")
        if mx.issubdtype(targets.dtype, mx.floating):
            raise TypeError("[cross_entropy] Class-index targets must be integers.")
        picked = mx.take_along_axis(logp, mx.expand_dims(targets, axis), axis=axis)
        loss = -mx.squeeze(picked, axis)
        if label_smoothing > 0:
            loss = (1 - label_smoothing) * loss - label_smoothing * mx.mean(logp, axis=axis)
    elif targets.shape == logits.shape:
        if label_smoothing > 0:
            targets = targets * (1 - label_smoothing) + label_smoothing / num_classes
        loss = -mx.sum(targets * logp, axis=axis)
    else:
        raise ValueError(f"[cross_entropy] targets shape {tuple(targets.shape)} must be logits shape "
                         f"{tuple(logits.shape)} without the class axis (indices) or equal to it "
                         f"(probabilities).")
    return _reduce(_weighted("cross_entropy", loss, weights), reduction, "cross_entropy")


def nll_loss(inputs, targets, axis=-1, reduction="none"):
    """Negative log likelihood of log-probabilities ``inputs`` at class indices ``targets``."""
    picked = mx.take_along_axis(inputs, mx.expand_dims(targets, axis), axis=axis)
    return _reduce(-mx.squeeze(picked, axis), reduction, "nll_loss")


def binary_cross_entropy(inputs, targets, weights=None, with_logits=True, reduction="mean"):
    """Binary cross entropy of logits (or, with with_logits=False, probabilities, whose logs
    are clipped at -100) against targets in [0, 1]."""
    if with_logits:
        loss = mx.logaddexp(0.0, inputs) - inputs * targets
    else:
        log_p = mx.maximum(mx.log(inputs), -100.0)
        log_q = mx.maximum(mx.log(1 - inputs), -100.0)
        loss = -(targets * log_p + (1 - targets) * log_q)
    return _reduce(_weighted("binary_cross_entropy", loss, weights), reduction, "binary_cross_entropy")


def kl_div_loss(inputs, targets, axis=-1, reduction="none"):
    """KL(targets || inputs) for log-probabilities: sum exp(t) (t - x) over axis."""
    return _reduce(mx.sum(mx.exp(targets) * (targets - inputs), axis=axis), reduction, "kl_div_loss")


def gaussian_nll_loss(inputs, targets, vars, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log(var) + (targets - inputs)^2 / var), var clamped to eps (+ 0.5 log 2 pi with
    full)."""
    _same_shape("gaussian_nll_loss", inputs, targets, "inputs")
    v = mx.maximum(vars, eps)
    loss = 0.5 * (mx.log(v) + mx.square(targets - inputs) / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def hinge_loss(inputs, targets, reduction="none"):
    """max(1 - inputs * targets, 0) for targets in {-1, 1}."""
    return _reduce(mx.maximum(1 - inputs * targets, 0.0), reduction, "hinge_loss")


def margin_ranking_loss(inputs1, inputs2, targets, margin=0.0, reduction="none"):
    """max(0, -targets (inputs1 - inputs2) + margin) for targets in {-1, 1}."""
    _same_shape("margin_ranking_loss", inputs1, inputs2, "inputs1", "inputs2")
    _same_shape("margin_ranking_loss", inputs1, targets, "inputs1")
    return _reduce(mx.maximum(margin - targets * (inputs1 - inputs2), 0.0), reduction,
                   "margin_ranking_loss")


def cosine_similarity_loss(x1, x2, axis=1, eps=1e-8, reduction="none"):
    """sum(x1 x2) / max(|x1| |x2|, eps) over axis: the cosine similarity."""
    n1 = mx.sqrt(mx.sum(mx.square(x1), axis=axis))
    n2 = mx.sqrt(mx.sum(mx.square(x2), axis=axis))
    loss = mx.sum(x1 * x2, axis=axis) / mx.maximum(n1 * n2, eps)
    return _reduce(loss, reduction, "cosine_similarity_loss")


def triplet_loss(anchors, positives, negatives, axis=-1, p=2, margin=1.0, eps=1e-6,
                 reduction="none"):
    """max(d(a, p) - d(a, n) + margin, 0) with d(a, b) = sqrt(sum((a - b)^p) + eps) over axis
    (the Euclidean distance, softened by eps, for the default p = 2)."""
    def dist(a, b):
        return mx.sqrt(mx.sum(mx.power(a - b, p), axis=axis) + eps)

    loss = mx.maximum(dist(anchors, positives) - dist(anchors, negatives) + margin, 0.0)
    return _reduce(loss, reduction, "triplet_loss")
