"""DLPack exchange for ember arrays (CPU): ``np.from_dlpack(x)``,
``torch.from_dlpack(x)`` and ``mx.from_dlpack(obj)``."""
from ember import core as _core

# numpy is imported inside the functions: `import ember` must work without it (the type
# stubs are generated at build time, where numpy may not be installed).


def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """Exports the array through DLPack. Views of ember data are read-only; a consumer
    that predates DLPack 1.0's read-only flag gets a copy."""
    import numpy as np

    view = np.asarray(self)
    if max_version is not None and tuple(max_version) >= (1, 0):
        return view.__dlpack__(max_version=max_version, copy=copy, dl_device=dl_device)
    return np.array(view).__dlpack__()


def __dlpack_device__(self):
    return (1, 0)  # kDLCPU, device 0


def from_dlpack(x):
    """An ember array holding a copy of a DLPack-capable object's data."""
    import numpy as np

    return _core.array(np.from_dlpack(x))


def install():
    _core.array.__dlpack__ = __dlpack__
    _core.array.__dlpack_device__ = __dlpack_device__
    _core.from_dlpack = from_dlpack
