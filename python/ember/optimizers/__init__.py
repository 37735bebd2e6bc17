"""ember.optimizers (mlx.optimizers' API): the optimizers, learning-rate schedules and
gradient clipping."""
from ember.nn.module import Module  # noqa: F401  (mlx.optimizers exposes these names too)
from ember.optimizers.optimizers import (  # noqa: F401
    SGD, AdaDelta, Adafactor, Adagrad, Adam, Adamax, AdamW, Lion, MultiOptimizer, Muon, Optimizer,
    RMSprop, clip_grad_norm,
)
from ember.optimizers.schedulers import (  # noqa: F401
    cosine_decay, exponential_decay, join_schedules, linear_schedule, step_decay,
)
from ember.utils import tree_flatten, tree_map, tree_merge, tree_reduce, tree_unflatten  # noqa: F401
