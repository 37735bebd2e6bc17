"""ember.optimizers: SGD, Adam, AdamW, RMSprop, Adagrad, Lion, schedules and
gradient clipping (mlx.optimizers' API)."""
from ember.optimizers.optimizers import (  # noqa: F401
    SGD, Adagrad, Adam, AdamW, Lion, Optimizer, RMSprop, clip_grad_norm,
)
from ember.optimizers.schedulers import (  # noqa: F401
    cosine_decay, exponential_decay, join_schedules, linear_schedule, step_decay,
)
