"""ember: lazy arrays with composable function transforms.

``import ember.core as mx`` gives the mlx.core-compatible API.
"""
from ember import core
from ember.core import __version__  # noqa: F401
from ember import _transforms

# The transforms are written in Python over the C++ ones; they live in ember.core so
# that `mx.grad`, `mx.vmap`, ... work as in mlx.core.
for _name in ("grad", "value_and_grad", "vjp", "jvp", "vmap", "jacrev", "jacfwd", "hessian",
              "custom_function", "checkpoint"):
    setattr(core, _name, getattr(_transforms, _name))
del _name
from ember import _compile

core.compile = _compile.compile

from ember import _interop

_interop.install()

from ember import _export, _extras, _fft, _repr

_extras.install()
_fft.install()
_export.install()
for _name in ("PrintOptions", "set_printoptions", "get_printoptions", "printoptions"):
    setattr(core, _name, getattr(_repr, _name))
del _name
