"""ember: lazy arrays with composable function transforms.

``import ember.core as mx`` gives the mlx.core-compatible API.
"""
from ember import core  # noqa: F401
from ember.core import __version__  # noqa: F401
