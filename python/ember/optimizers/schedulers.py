"""Learning-rate schedules: functions from the step count to a learning rate (an
array), accepted by every optimizer as learning_rate."""
import math
from typing import Callable, List

import ember.core as mx


def exponential_decay(init: float, decay_rate: float) -> Callable:
    return lambda step: init * (decay_rate ** step)


def step_decay(init: float, decay_rate: float, step_size: int) -> Callable:
    """init * decay_rate ** (step // step_size)."""
    return lambda step: init * (decay_rate ** (step // step_size))


def cosine_decay(init: float, decay_steps: int, end: float = 0.0) -> Callable:
    """From init to end along half a cosine over decay_steps, then end."""
    def schedule(step):
        s = min(step, decay_steps)
        return end + 0.5 * (init - end) * (1.0 + math.cos(math.pi * s / decay_steps))

    return schedule


def linear_schedule(init: float, end: float, steps: int) -> Callable:
    """Linear from init to end over steps (warmup when init < end), then end."""
    if steps < 1:
        raise ValueError(f"[linear_schedule] steps must be >= 1, got {steps}.")
    return lambda step: init + (end - init) * min(step, steps) / steps


def join_schedules(schedules: List[Callable], boundaries: List[int]) -> Callable:
    """Uses schedules[i] from boundaries[i-1] on; each restarts its step count at 0."""
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"[join_schedules] Need {len(schedules) - 1} boundaries, got {len(boundaries)}.")

    def schedule(step):
        i = 0
        while i < len(boundaries) and step >= boundaries[i]:
            i += 1
        start = boundaries[i - 1] if i > 0 else 0
        return schedules[i](step - start)

    return schedule
