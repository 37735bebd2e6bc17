"""Optimizers (mlx.optimizers' API). ``optimizer.update(model, grads)`` applies one step to
a model's trainable parameters.

``optimizer.state`` is one dict: ``"step"``, the hyper-parameters that are arrays (the
learning rate, and anything scheduled), and per parameter a dict of arrays, placed at the
parameter's path (``state["layers"][0]["weight"]["m"]``). A step replaces the arrays in
those dicts in place, so the tree ``mx.compile(..., inputs=opt.state, outputs=opt.state)``
captures stays current. Each update rule is written from its published equations.
"""
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import ember.core as mx
from ember.utils import tree_flatten, tree_map, tree_map_with_path, tree_merge, tree_reduce, tree_unflatten

Schedule = Union[float, mx.array, Callable[[mx.array], mx.array]]


def clip_grad_norm(grads: Any, max_norm: float) -> Tuple[Any, mx.array]:
    """Scales ``grads`` so that their global L2 norm is at most ``max_norm``.

    Returns ``(clipped_grads, total_norm)`` where total_norm is the norm before clipping.

    Example:
        >>> grads, norm = optim.clip_grad_norm(grads, max_norm=1.0)
    """
    squared = tree_reduce(lambda acc, g: acc + mx.sum(mx.square(g)), grads, 0.0)
    total = mx.sqrt(squared)
    scale = mx.minimum(max_norm / (total + 1e-6), 1.0)
    return tree_map(lambda g: g * scale, grads), total


def _check_matching(op, gradients, parameters):
    """A ValueError naming the first gradient key without a parameter, or whose parameter
    is not an array of the gradient's shape."""
    if not isinstance(gradients, (dict, list, tuple)):
        raise TypeError(f"[{op}] gradients must be a tree (dict / list) like the parameters, got "
                        f"{type(gradients).__name__}.")

    def check(path, g, p):
        if not isinstance(g, mx.array):
            return
        if not isinstance(p, mx.array):
            raise ValueError(f"[{op}] The gradient at {path!r} is an array but the parameters hold "
                             f"{type(p).__name__} there.")
        if g.shape != p.shape:
            raise ValueError(f"[{op}] The gradient at {path!r} has shape {tuple(g.shape)} but the "
                             f"parameter has shape {tuple(p.shape)}.")

    try:
        tree_map_with_path(check, gradients, parameters)
    except ValueError as e:
        msg = str(e)
        if msg.startswith("[tree_map]"):
            msg = f"[{op}] The gradients do not match the parameters: {msg.split('] ', 1)[-1]}"
        raise ValueError(msg) from None


def _compute_dtype(x):
    """The dtype for step-dependent factors: float32 (as MLX), float64 for float64 parameters."""
    return mx.float64 if x.dtype == mx.float64 else mx.float32


class Optimizer:
    """Base class. Subclasses implement ``init_single(parameter, state)`` (fill the
    per-parameter state dict) and ``apply_single(gradient, parameter, state)`` (return the
    new parameter, storing new state in the dict)."""

    def __init__(self, schedulers: Optional[Dict[str, Callable]] = None):
        self._initialized = False
        self._state: Dict[str, Any] = {"step": mx.array(0, mx.uint64)}
        self._schedulers = dict(schedulers or {})

    def _maybe_schedule(self, name: str, value: Schedule):
        """Stores a hyper-parameter in the state: a schedule is called with the step."""
        if callable(value):
            self._schedulers[name] = value
            value = value(self.step)
        self._state[name] = value if isinstance(value, mx.array) else mx.array(value)

    # -- state ------------------------------------------------------------------------
    @property
    def state(self) -> Dict[str, Any]:
        """The optimizer's state tree (a dict; see the module docstring)."""
        return self._state

    @state.setter
    def state(self, state: Dict[str, Any]):
        self._initialized = False
        self._state = state

    @property
    def step(self) -> mx.array:
        return self._state["step"]

    @property
    def learning_rate(self) -> mx.array:
        return self._state["learning_rate"]

    @learning_rate.setter
    def learning_rate(self, learning_rate: Union[float, mx.array]):
        self._state["learning_rate"] = mx.array(learning_rate)

    def init(self, parameters: Any):
        """Creates the per-parameter state for the tree ``parameters``, keeping any state
        already there (e.g. one loaded from a file)."""
        def merge(params, state):
            if isinstance(params, (list, tuple)):
                state = list(state)
                for i in range(min(len(state), len(params))):
                    state[i] = merge(params[i], state[i])
                state.extend(tree_map(lambda _: {}, list(params[len(state):])))
                return state
            if isinstance(params, dict):
                for k, v in params.items():
                    state[k] = merge(v, state[k]) if k in state else tree_map(lambda _: {}, v)
                return state
            return state

        merge(parameters, self._state)
        merge = None  # noqa: F841 - it refers to itself: leave no cycle behind

        def init_leaf(p, s):
            if not s and isinstance(p, mx.array):
                self.init_single(p, s)
            return s

        tree_map(init_leaf, parameters, self._state)
        self._initialized = True

    def init_single(self, parameter: mx.array, state: Dict[str, mx.array]):
        raise NotImplementedError

    def apply_single(self, gradient: mx.array, parameter: mx.array, state: Dict[str, mx.array]):
        raise NotImplementedError

    # -- steps ------------------------------------------------------------------------
    def update(self, model, gradients: Any):
        """One step: the model's parameters move along ``gradients`` (a tree like
        ``model.trainable_parameters()``)."""
        model.update(self.apply_gradients(gradients, model))

    def apply_gradients(self, gradients: Any, parameters: Any) -> Any:
        """Returns the updated parameters for the gradient tree (parameters may hold more
        entries than the gradients; those are left out of the result)."""
        op = f"{type(self).__name__}.apply_gradients"
        _check_matching(op, gradients, parameters)
        # (Also when entries are missing: a compile trace that failed takes back the entries
        # its first update had made.)
        if not self._initialized or (isinstance(gradients, dict) and
                                     any(k not in self._state for k in gradients)):
            self.init(gradients)
        for name, schedule in self._schedulers.items():
            self._state[name] = mx.array(schedule(self.step))
        self._state["step"] = self.step + 1

        def one(g, p, s):
            if g is None:
                return p
            if not isinstance(s, dict):
                raise ValueError(f"[{op}] The optimizer state does not match the gradients.")
            return self.apply_single(g, p, s)

        return tree_map(one, gradients, parameters, self._state)


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, weight decay and
    Nesterov momentum:

        g = g + weight_decay * p;  v = momentum * v + (1 - dampening) * g
        p = p - lr * (g + momentum * v if nesterov else v)        (p - lr * g without momentum)
    """

    def __init__(self, learning_rate: Schedule, momentum: float = 0.0, weight_decay: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("[SGD] Nesterov momentum needs momentum > 0 and dampening = 0.")
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.dampening, self.nesterov = dampening, nesterov

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        if self.weight_decay != 0:
            gradient = gradient + self.weight_decay * parameter
        if self.momentum <= 0:
            return parameter - lr * gradient
        v = self.momentum * state["v"] + (1 - self.dampening) * gradient
        state["v"] = v
        return parameter - lr * (gradient + self.momentum * v if self.nesterov else v)


class RMSprop(Optimizer):
    """Tieleman & Hinton: v = alpha * v + (1 - alpha) * g^2;  p = p - lr * g / (sqrt(v) + eps)."""

    def __init__(self, learning_rate: Schedule, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__()
        if alpha < 0:
            raise ValueError(f"[RMSprop] alpha must be >= 0, got {alpha}.")
        if eps < 0:
            raise ValueError(f"[RMSprop] eps must be >= 0, got {eps}.")
        self._maybe_schedule("learning_rate", learning_rate)
        self.alpha, self.eps = alpha, eps

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        v = self.alpha * state["v"] + (1 - self.alpha) * mx.square(gradient)
        state["v"] = v
        return parameter - lr * gradient / (mx.sqrt(v) + self.eps)


class Adagrad(Optimizer):
    """Duchi et al. 2011: v = v + g^2;  p = p - lr * g / (sqrt(v) + eps)."""

    def __init__(self, learning_rate: Schedule, eps: float = 1e-8):
        super().__init__()
        if eps < 0:
            raise ValueError(f"[Adagrad] eps must be >= 0, got {eps}.")
        self._maybe_schedule("learning_rate", learning_rate)
        self.eps = eps

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        v = state["v"] + mx.square(gradient)
        state["v"] = v
        return parameter - lr * gradient / (mx.sqrt(v) + self.eps)


class AdaDelta(Optimizer):
    """Zeiler 2012: v = rho v + (1 - rho) g^2;  d = sqrt(u + eps) / sqrt(v + eps) * g;
    u = rho u + (1 - rho) d^2;  p = p - lr * d."""

    def __init__(self, learning_rate: Schedule, rho: float = 0.9, eps: float = 1e-6):
        super().__init__()
        if rho < 0:
            raise ValueError(f"[AdaDelta] rho must be >= 0, got {rho}.")
        if eps < 0:
            raise ValueError(f"[AdaDelta] eps must be >= 0, got {eps}.")
        self._maybe_schedule("learning_rate", learning_rate)
        self.rho, self.eps = rho, eps

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)
        state["u"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        rho, eps = self.rho, self.eps
        v = rho * state["v"] + (1 - rho) * mx.square(gradient)
        d = mx.sqrt(state["u"] + eps) / mx.sqrt(v + eps) * gradient
        state["v"] = v
        state["u"] = rho * state["u"] + (1 - rho) * mx.square(d)
        return parameter - lr * d


class Adam(Optimizer):
    """Kingma & Ba 2015: m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p = p - lr * m / (sqrt(v) + eps). With bias_correction, m and v are divided by
    (1 - b1^t) and (1 - b2^t) first (off by default, as in MLX)."""

    def __init__(self, learning_rate: Schedule, betas: Sequence[float] = (0.9, 0.999),
                 eps: float = 1e-8, bias_correction: bool = False):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.betas, self.eps, self.bias_correction = list(betas), eps, bias_correction

    def init_single(self, parameter, state):
        state["m"] = mx.zeros_like(parameter)
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        b1, b2 = self.betas
        m = b1 * state["m"] + (1 - b1) * gradient
        v = b2 * state["v"] + (1 - b2) * mx.square(gradient)
        state["m"], state["v"] = m, v
        if self.bias_correction:
            t = self.step.astype(_compute_dtype(gradient))
            c1 = (lr / (1 - mx.power(b1, t))).astype(gradient.dtype)
            c2 = mx.rsqrt(1 - mx.power(b2, t)).astype(gradient.dtype)
            return parameter - c1 * m / (mx.sqrt(v) * c2 + self.eps)
        return parameter - lr * m / (mx.sqrt(v) + self.eps)


class AdamW(Adam):
    """Loshchilov & Hutter 2019: Adam with decoupled weight decay,
    p = p (1 - lr weight_decay), then the Adam step."""

    def __init__(self, learning_rate: Schedule, betas: Sequence[float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01, bias_correction: bool = False):
        super().__init__(learning_rate, betas, eps, bias_correction)
        self.weight_decay = weight_decay

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        return super().apply_single(gradient, parameter * (1 - lr * self.weight_decay), state)


class Adamax(Adam):
    """Adam's infinity-norm variant: m = b1 m + (1 - b1) g;  v = max(b2 v, |g|);
    p = p - lr * m / (v + eps)."""

    def __init__(self, learning_rate: Schedule, betas: Sequence[float] = (0.9, 0.999),
                 eps: float = 1e-8):
        super().__init__(learning_rate, betas, eps)
        if not 0.0 <= eps:
            raise ValueError(f"[Adamax] eps must be >= 0, got {eps}.")

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        b1, b2 = self.betas
        m = b1 * state["m"] + (1 - b1) * gradient
        v = mx.maximum(b2 * state["v"], mx.abs(gradient))
        state["m"], state["v"] = m, v
        return parameter - lr * m / (v + self.eps)


class Lion(Optimizer):
    """Chen et al. 2023: c = b1 m + (1 - b1) g;  m = b2 m + (1 - b2) g;
    p = p (1 - lr weight_decay) - lr sign(c)."""

    def __init__(self, learning_rate: Schedule, betas: Sequence[float] = (0.9, 0.99),
                 weight_decay: float = 0.0):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.betas, self.weight_decay = list(betas), weight_decay

    def init_single(self, parameter, state):
        state["m"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        b1, b2 = self.betas
        c = b1 * state["m"] + (1 - b1) * gradient
        state["m"] = b2 * state["m"] + (1 - b2) * gradient
        if self.weight_decay > 0:
            parameter = (1 - lr * self.weight_decay) * parameter
        return parameter - lr * mx.sign(c)


class Adafactor(Optimizer):
    """Shazeer & Stern 2018: second moments kept as row and column means for parameters
    of 2 or more dimensions, update clipping by its RMS, and (by default) a relative step
    size min(1e-2, 1/sqrt(t)) scaled by the parameter's RMS."""

    def __init__(self, learning_rate: Optional[Schedule] = None,
                 eps: Tuple[float, float] = (1e-30, 1e-3), clip_threshold: float = 1.0,
                 decay_rate: float = -0.8, beta_1: Optional[float] = None,
                 weight_decay: float = 0.0, scale_parameter: bool = True,
                 relative_step: bool = True, warmup_init: bool = False):
        super().__init__()
        if learning_rate is not None:
            self._maybe_schedule("learning_rate", learning_rate)
        elif not relative_step:
            raise ValueError("[Adafactor] learning_rate is needed when relative_step is False.")
        self.eps, self.clip_threshold, self.decay_rate = tuple(eps), clip_threshold, decay_rate
        self.beta_1, self.weight_decay = beta_1, weight_decay
        self.scale_parameter, self.relative_step, self.warmup_init = scale_parameter, relative_step, warmup_init

    def init_single(self, parameter, state):
        if parameter.ndim >= 2:
            shape = parameter.shape
            state["exp_avg_sq_row"] = mx.zeros(shape[:-1], dtype=parameter.dtype)
            state["exp_avg_sq_col"] = mx.zeros(shape[:-2] + shape[-1:], dtype=parameter.dtype)
        else:
            state["exp_avg_sq"] = mx.zeros_like(parameter)
        if self.beta_1 is not None:
            state["exp_avg"] = mx.zeros_like(parameter)

    @staticmethod
    def _rms(x):
        return mx.sqrt(mx.mean(mx.square(x)))

    def apply_single(self, gradient, parameter, state):
        t = self.step.astype(_compute_dtype(gradient))
        p_rms = self._rms(parameter)
        if self.relative_step:
            floor = 1e-6 * t if self.warmup_init else 1e-2
            step_size = mx.minimum(floor, mx.rsqrt(t))
        else:
            step_size = self.learning_rate
        step_size = step_size.astype(p_rms.dtype)
        lr = (mx.maximum(self.eps[1], p_rms) if self.scale_parameter else 1.0) * step_size
        beta2 = (1.0 - mx.power(t, self.decay_rate)).astype(p_rms.dtype)
        sq = mx.square(gradient) + self.eps[0]
        if gradient.ndim >= 2:
            row = beta2 * state["exp_avg_sq_row"] + (1 - beta2) * mx.mean(sq, axis=-1)
            col = beta2 * state["exp_avg_sq_col"] + (1 - beta2) * mx.mean(sq, axis=-2)
            state["exp_avg_sq_row"], state["exp_avg_sq_col"] = row, col
            r = mx.rsqrt(row / mx.mean(row, axis=-1, keepdims=True))
            update = mx.expand_dims(r, -1) * mx.expand_dims(mx.rsqrt(col), -2) * gradient
        else:
            v = beta2 * state["exp_avg_sq"] + (1 - beta2) * sq
            state["exp_avg_sq"] = v
            update = mx.rsqrt(v) * gradient
        update = update / mx.maximum(1.0, self._rms(update) / self.clip_threshold)
        update = lr * update
        if self.beta_1 is not None:
            update = self.beta_1 * state["exp_avg"] + (1 - self.beta_1) * update
            state["exp_avg"] = update
        if self.weight_decay != 0:
            parameter = parameter - parameter * (self.weight_decay * lr)
        return parameter - update


class Muon(Optimizer):
    """Muon (Jordan et al. 2024): SGD momentum whose update, for parameters of 2 or more
    dimensions (flattened to a matrix), is orthogonalized by ``ns_steps`` quintic
    Newton-Schulz iterations with coefficients (3.4445, -4.7750, 2.0315); the step is
    scaled by sqrt(max(1, rows / cols)). Other parameters take the momentum step."""

    _NS = (3.4445, -4.7750, 2.0315)

    def __init__(self, learning_rate: Schedule, momentum: float = 0.95, weight_decay: float = 0.01,
                 nesterov: bool = True, ns_steps: int = 5):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.momentum, self.weight_decay, self.nesterov, self.ns_steps = momentum, weight_decay, nesterov, ns_steps

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    def _orthogonalize(self, g):
        a, b, c = self._NS
        x = g.astype(mx.bfloat16)
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = x.T
        x = x / (mx.sqrt(mx.sum(mx.square(x.astype(mx.float32)))).astype(x.dtype) + 1e-7)
        for _ in range(self.ns_steps):
            s = x @ x.T
            poly = b * s + c * (s @ s)
            x = a * x + poly @ x
        return x.T if tall else x

    def apply_single(self, gradient, parameter, state):
        if self.weight_decay != 0:
            gradient = gradient + self.weight_decay * parameter
        v = self.momentum * state["v"] + (1 - self.momentum) * gradient
        state["v"] = v
        update = gradient * (1 - self.momentum) + v * self.momentum if self.nesterov else v
        lr = self.learning_rate.astype(gradient.dtype)
        if update.ndim >= 2:
            shape = update.shape
            mat = mx.reshape(update, (shape[0], -1)) if update.ndim > 2 else update
            mat = self._orthogonalize(mat)
            lr = lr * math.sqrt(max(1.0, mat.shape[-2] / mat.shape[-1]))
            update = mx.reshape(mat, shape)
        return parameter - lr * update.astype(gradient.dtype)


class MultiOptimizer(Optimizer):
    """Several optimizers over one parameter tree: ``filters[i](path, gradient)`` picks the
    gradients of ``optimizers[i]``; the last optimizer takes the rest (so there is one
    filter fewer than optimizers).

    Example:
        >>> opt = optim.MultiOptimizer([optim.Adam(1e-3), optim.SGD(1e-2)],
        ...                            [lambda path, g: g.ndim > 1])
    """

    def __init__(self, optimizers: List[Optimizer], filters: list = []):  # noqa: B006
        super().__init__()
        self._state = {}
        if len(filters) != len(optimizers) - 1:
            raise ValueError(f"[MultiOptimizer] Given {len(filters)} filters for {len(optimizers)} "
                             f"optimizers; {len(optimizers) - 1} are needed.")
        self.optimizers = list(optimizers)
        self.filters = list(filters) + [lambda *args, **kwargs: True]

    def _split(self, tree):
        if len(self.optimizers) == 1:
            return [tree]
        parts = [[] for _ in self.optimizers]
        for k, g in tree_flatten(tree):
            for i, keep in enumerate(self.filters):
                if keep(k, g):
                    parts[i].append((k, g))
                    break
        return [tree_unflatten(p) if p else {} for p in parts]

    def init(self, parameters):
        for o, p in zip(self.optimizers, self._split(parameters)):
            o.init(p)

    def apply_gradients(self, gradients, parameters):
        out = {}
        for o, g in zip(self.optimizers, self._split(gradients)):
            if tree_flatten(g):
                out = tree_merge(out, o.apply_gradients(g, parameters))
        return out

    @property
    def state(self):
        return {"states": [o.state for o in self.optimizers]}

    @state.setter
    def state(self, state):
        if not isinstance(state, dict) or "states" not in state or len(state["states"]) != len(self.optimizers):
            raise ValueError(f"[MultiOptimizer] The state must be {{'states': [one state per optimizer]}} "
                             f"for {len(self.optimizers)} optimizers.")
        for o, s in zip(self.optimizers, state["states"]):
            o.state = s

    @property
    def learning_rate(self):
        return self.optimizers[0].learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        for o in self.optimizers:
            o.learning_rate = learning_rate
