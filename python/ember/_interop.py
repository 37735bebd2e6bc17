"""DLPack exchange for ember arrays: ``np.from_dlpack(x)``, ``torch.from_dlpack(x)``,
``jax.dlpack.from_dlpack(x)``, ``cupy.from_dlpack(x)`` and ``mx.from_dlpack(obj)``.

An array whose data is in GPU memory (computed on mx.gpu) is exported as a CUDA DLPack tensor
without a copy; other arrays as host tensors (read-only views for DLPack 1.0 consumers).
``mx.from_dlpack`` copies: a CUDA tensor into ember's GPU memory, a host tensor into host
memory."""
from ember import core as _core

# numpy is imported inside the functions: `import ember` must work without it (the type
# stubs are generated at build time, where numpy may not be installed).


def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """Exports the array through DLPack. GPU data is shared as it is (after the work that
    computes it has finished); host views of ember data are read-only, and a consumer that
    predates DLPack 1.0's read-only flag gets a copy."""
    import numpy as np

    if _core._gpu_device(self) >= 0:
        # A legacy ("dltensor") capsule: every consumer takes it, whatever max_version asks.
        return _core._dlpack_gpu(self)

    view = np.asarray(self)
    if max_version is not None and tuple(max_version) >= (1, 0):
        return view.__dlpack__(max_version=max_version, copy=copy, dl_device=dl_device)
    return np.array(view).__dlpack__()


def __dlpack_device__(self):
    gpu = _core._gpu_device(self)
    return (2, gpu) if gpu >= 0 else (1, 0)  # kDLCUDA or kDLCPU


def from_dlpack(x, /, *, copy=None):
    """An ember array holding a copy of a DLPack-capable object's data (CUDA tensors are
    copied into ember's GPU memory; they must be row-contiguous). ember always copies, so
    ``copy=False`` (never copy) is a ValueError; None and True are the same."""
    import numpy as np

    if copy is not None and not isinstance(copy, bool):
        raise TypeError(f"[from_dlpack] copy must be a bool or None, got {type(copy).__name__}.")
    if copy is False:
        raise ValueError("[from_dlpack] ember arrays own their memory: the data is always "
                         "copied, so copy=False cannot be honoured.")
    device = getattr(x, "__dlpack_device__", None)
    if device is not None and device()[0] in (2, 13):  # kDLCUDA, kDLCUDAManaged
        return _core._from_dlpack_gpu(x)
    return _core.array(np.from_dlpack(x))


def install():
    _core.array.__dlpack__ = __dlpack__
    _core.array.__dlpack_device__ = __dlpack_device__
    _core.from_dlpack = from_dlpack
