"""Optimizers (mlx.optimizers API): ``optimizer.update(model, grads)`` applies one step
to a model's trainable parameters; ``optimizer.state`` is a tree of arrays that can be
saved and restored. Each update rule is written from its published equations."""
import math
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import ember.core as mx
from ember.utils import tree_flatten, tree_map, tree_reduce, tree_unflatten


def clip_grad_norm(grads, max_norm: float):
    """Scales grads so their global L2 norm is at most max_norm. Returns
    (clipped grads, the norm before clipping)."""
    leaves = [g for g in tree_flatten(grads)[0] if isinstance(g, mx.array)]
    total = mx.sqrt(sum(mx.sum(mx.square(g.astype(mx.float32))) for g in leaves)) if leaves else mx.array(0.0)
    scale = mx.minimum(max_norm / (total + 1e-6), 1.0)
    return tree_map(lambda g: g * scale.astype(g.dtype) if isinstance(g, mx.array) else g, grads), total


class Optimizer:
    """Base class: keeps per-parameter state in a tree mirroring the parameters and
    a step counter; subclasses implement init_single and apply_single."""

    def __init__(self, learning_rate: Union[float, Callable] = 1e-3):
        self._lr = learning_rate
        self._state: Dict[str, Any] = {"step": mx.array(0, mx.int32)}
        self._initialized = False

    # learning rate (a float or a schedule of the step)
    @property
    def learning_rate(self):
        lr = self._lr
        if callable(lr):
            lr = lr(int(self._state["step"].item()))
        return mx.array(lr, dtype=mx.float32) if not isinstance(lr, mx.array) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = value

    @property
    def step(self):
        return self._state["step"]

    @property
    def state(self) -> Dict[str, Any]:
        """The optimizer's state tree (step counter and per-parameter state)."""
        return self._state

    @state.setter
    def state(self, state: Dict[str, Any]):
        self._state = state
        self._initialized = "params" in state

    def init(self, parameters: Dict[str, Any]):
        """Creates the per-parameter state for a parameter tree."""
        self._state["params"] = tree_map(lambda p: self.init_single(p), parameters)
        self._initialized = True

    def update(self, model, gradients: Dict[str, Any]):
        """One optimization step: model's trainable parameters move along gradients."""
        model.update(self.apply_gradients(gradients, model.trainable_parameters()))

    def apply_gradients(self, gradients: Dict[str, Any], parameters: Dict[str, Any]):
        """Returns the updated parameters (does not modify anything else)."""
        if not self._initialized:
            self.init(parameters)
        lr = self.learning_rate
        self._state["step"] = self._state["step"] + 1
        step = self._state["step"]
        g_leaves, struct = tree_flatten(gradients)
        p_leaves = tree_flatten(parameters)[0]
        s_leaves = tree_flatten(self._state["params"], is_leaf=lambda x: isinstance(x, dict) and _is_state(x))[0]
        if not (len(g_leaves) == len(p_leaves) == len(s_leaves)):
            raise ValueError(f"[{type(self).__name__}.update] gradients ({len(g_leaves)} leaves) do not match "
                             f"the parameters ({len(p_leaves)} leaves).")
        new_p, new_s = [], []
        for g, p, s in zip(g_leaves, p_leaves, s_leaves):
            if g is None or not isinstance(p, mx.array):
                new_p.append(p)
                new_s.append(s)
                continue
            p2, s2 = self.apply_single(g.astype(p.dtype), p, s, lr, step)
            new_p.append(p2)
            new_s.append(s2)
        self._state["params"] = tree_unflatten(
            tree_flatten(self._state["params"], is_leaf=lambda x: isinstance(x, dict) and _is_state(x))[1], new_s)
        return tree_unflatten(struct, new_p)

    def init_single(self, p: mx.array) -> Dict[str, mx.array]:
        return {"_": mx.zeros((0,))}

    def apply_single(self, g, p, state, lr, step):
        raise NotImplementedError


def _is_state(d):
    return all(isinstance(v, mx.array) for v in d.values()) and len(d) > 0


class SGD(Optimizer):
    """v = momentum v + (1 - dampening) g (+ weight decay); p -= lr (g + momentum v if nesterov else v)."""

    def __init__(self, learning_rate=1e-2, momentum=0.0, weight_decay=0.0, dampening=0.0, nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("[SGD] nesterov needs momentum > 0 and dampening = 0.")
        super().__init__(learning_rate)
        self.momentum, self.weight_decay, self.dampening, self.nesterov = momentum, weight_decay, dampening, nesterov

    def init_single(self, p):
        return {"v": mx.zeros_like(p)}

    def apply_single(self, g, p, s, lr, step):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum <= 0:
            return p - lr.astype(p.dtype) * g, s
        v = self.momentum * s["v"] + (1 - self.dampening) * g
        d = g + self.momentum * v if self.nesterov else v
        return p - lr.astype(p.dtype) * d, {"v": v}


class Adam(Optimizer):
    """Kingma & Ba: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr m_hat / (sqrt(v_hat) + eps) (bias correction optional, as mlx)."""

    def __init__(self, learning_rate=1e-3, betas=(0.9, 0.999), eps=1e-8, bias_correction=False):
        super().__init__(learning_rate)
        self.betas, self.eps, self.bias_correction = tuple(betas), eps, bias_correction

    def init_single(self, p):
        return {"m": mx.zeros_like(p), "v": mx.zeros_like(p)}

    def _direction(self, g, s, step):
        b1, b2 = self.betas
        m = b1 * s["m"] + (1 - b1) * g
        v = b2 * s["v"] + (1 - b2) * mx.square(g)
        if self.bias_correction:
            t = step.astype(mx.float32)
            m_hat = m / (1 - mx.power(mx.array(b1), t)).astype(m.dtype)
            v_hat = v / (1 - mx.power(mx.array(b2), t)).astype(v.dtype)
        else:
            m_hat, v_hat = m, v
        return m_hat / (mx.sqrt(v_hat) + self.eps), {"m": m, "v": v}

    def apply_single(self, g, p, s, lr, step):
        d, s2 = self._direction(g, s, step)
        return p - lr.astype(p.dtype) * d, s2


class AdamW(Adam):
    """Adam with decoupled weight decay: p -= lr (adam_direction + weight_decay p)."""

    def __init__(self, learning_rate=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, bias_correction=False):
        super().__init__(learning_rate, betas, eps, bias_correction)
        self.weight_decay = weight_decay

    def apply_single(self, g, p, s, lr, step):
        d, s2 = self._direction(g, s, step)
        lr = lr.astype(p.dtype)
        return p * (1 - lr * self.weight_decay) - lr * d, s2


class RMSprop(Optimizer):
    """v = a v + (1-a) g^2; p -= lr g / (sqrt(v) + eps)."""

    def __init__(self, learning_rate=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(learning_rate)
        self.alpha, self.eps = alpha, eps

    def init_single(self, p):
        return {"v": mx.zeros_like(p)}

    def apply_single(self, g, p, s, lr, step):
        v = self.alpha * s["v"] + (1 - self.alpha) * mx.square(g)
        return p - lr.astype(p.dtype) * g / (mx.sqrt(v) + self.eps), {"v": v}


class Adagrad(Optimizer):
    """v += g^2; p -= lr g / (sqrt(v) + eps)."""

    def __init__(self, learning_rate=1e-2, eps=1e-8):
        super().__init__(learning_rate)
        self.eps = eps

    def init_single(self, p):
        return {"v": mx.zeros_like(p)}

    def apply_single(self, g, p, s, lr, step):
        v = s["v"] + mx.square(g)
        return p - lr.astype(p.dtype) * g / (mx.sqrt(v) + self.eps), {"v": v}


class Lion(Optimizer):
    """Chen et al. 2023: c = b1 m + (1-b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1-b2) g."""

    def __init__(self, learning_rate=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(learning_rate)
        self.betas, self.weight_decay = tuple(betas), weight_decay

    def init_single(self, p):
        return {"m": mx.zeros_like(p)}

    def apply_single(self, g, p, s, lr, step):
        b1, b2 = self.betas
        c = b1 * s["m"] + (1 - b1) * g
        lr = lr.astype(p.dtype)
        p2 = p * (1 - lr * self.weight_decay) - lr * mx.sign(c)
        return p2, {"m": b2 * s["m"] + (1 - b2) * g}
