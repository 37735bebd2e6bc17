"""Learning-rate schedules: functions from the step (an array, as the optimizers pass it,
or a number) to a learning rate, accepted by every optimizer as learning_rate."""
import math
from typing import Callable, List

import ember.core as mx


def exponential_decay(init: float, decay_rate: float) -> Callable:
    """``init * decay_rate ** step``.

    Example:
        >>> optim.SGD(learning_rate=optim.exponential_decay(1e-1, 0.9))
    """
    def schedule(step):
        return init * (decay_rate ** mx.array(step).astype(mx.float32))

    return schedule


def step_decay(init: float, decay_rate: float, step_size: int) -> Callable:
    """``init * decay_rate ** (step // step_size)``."""
    def schedule(step):
        k = mx.floor_divide(mx.array(step), step_size).astype(mx.float32)
        return init * (decay_rate ** k)

    return schedule


def cosine_decay(init: float, decay_steps: int, end: float = 0.0) -> Callable:
    """From ``init`` to ``end`` along half a cosine over ``decay_steps`` steps, then ``end``."""
    def schedule(step):
        s = mx.minimum(mx.array(step).astype(mx.float32), decay_steps)
        return end + 0.5 * (init - end) * (1.0 + mx.cos((math.pi / decay_steps) * s))

    return schedule


def linear_schedule(init: float, end: float, steps: int) -> Callable:
    """Linear from ``init`` to ``end`` over ``steps`` steps (a warmup when init < end), then
    ``end``."""
    if steps < 1:
        raise ValueError(f"[linear_schedule] steps must be >= 1, got {steps}.")

    def schedule(step):
        s = mx.minimum(mx.array(step).astype(mx.float32), steps)
        return init + s * ((end - init) / steps)

    return schedule


def join_schedules(schedules: List[Callable], boundaries: List[int]) -> Callable:
    """``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` (its step counted from
    that boundary), and so on.

    Example:
        >>> warmup = optim.linear_schedule(0, 1e-1, 100)
        >>> lr = optim.join_schedules([warmup, optim.cosine_decay(1e-1, 200)], [100])
    """
    if not schedules:
        raise ValueError("[join_schedules] Needs at least one schedule.")
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"[join_schedules] {len(schedules)} schedules need {len(schedules) - 1} "
                         f"boundaries, got {len(boundaries)}.")

    def schedule(step):
        step = mx.array(step)
        out = schedules[0](step)
        for b, s in zip(boundaries, schedules[1:]):
            out = mx.where(step < b, out, s(step - b))
        return out

    return schedule
