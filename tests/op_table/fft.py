"""Op-table rows of mx.fft against numpy.fft: lengths that are powers of two and ones that
are not (Bluestein), cropping and zero-padding (n, s), every norm, several axes, the real
transforms, shifts and frequencies. Outputs are complex64 (real transforms' inverses
float32); values compare against numpy's complex128 results cast down."""
import numpy as np

import ember.core as mx

from . import OpRow

FFT_SHAPES = [((8,),), ((3, 7),), ((2, 12),), ((5, 16),), ((1,),), ((2, 3, 5),)]
ONE_KW = [dict(), dict(n=6), dict(n=20, axis=0), dict(axis=0), dict(norm="ortho"),
          dict(norm="forward", axis=-1)]


def _valid_one(shapes, kw):
    return "axis" not in kw or -len(shapes[0]) <= kw["axis"] < len(shapes[0])


def _row(name, ember, numpy, shapes=FFT_SHAPES, kwargs=ONE_KW, dtypes=("float32", "complex64"),
         **kw):
    kw.setdefault("rtol", 1e-4)
    kw.setdefault("atol", 1e-4)
    kw.setdefault("valid", _valid_one)
    # complex64 results (float32 precision): gradients are checked in test_fft.py with
    # real-valued wrappers and float32 tolerances, not by the float64 sweep
    kw.setdefault("grad", False)
    kw.setdefault("smooth", False)
    return OpRow(name=name, ember=ember, numpy=numpy, shapes=shapes, kwargs=kwargs,
                 dtypes=dtypes, **kw)


def _irfft_make(rng, shapes, dtype):
    s = shapes[0]
    return [(rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex64)]


MANY_KW = [dict(), dict(axes=(0,)), dict(s=(4, 6), axes=(0, -1)), dict(norm="ortho"),
           dict(axes=(-1, 0), norm="forward")]


def _valid_many(shapes, kw):
    nd = len(shapes[0])
    ax = kw.get("axes", ())
    return nd >= 2 and all(-nd <= a < nd for a in ax)


ROWS = [
    _row("fft.fft", lambda x, **k: mx.fft.fft(x, **k), lambda x, **k: np.fft.fft(x, **k)),
    _row("fft.ifft", lambda x, **k: mx.fft.ifft(x, **k), lambda x, **k: np.fft.ifft(x, **k)),
    _row("fft.rfft", lambda x, **k: mx.fft.rfft(x, **k), lambda x, **k: np.fft.rfft(x, **k),
         dtypes=("float32", "float64", "int32")),
    _row("fft.irfft", lambda x, **k: mx.fft.irfft(x, **k), lambda x, **k: np.fft.irfft(x, **k),
         shapes=[((5,),), ((3, 9),), ((2, 4, 3),)],
         kwargs=[dict(), dict(n=8), dict(n=7, axis=0), dict(norm="ortho")],
         dtypes=("complex64",), make=_irfft_make, out_dtype=lambda d, k: "float32"),
    _row("fft.fftn", lambda x, **k: mx.fft.fftn(x, **k), lambda x, **k: np.fft.fftn(x, **k),
         shapes=[((4, 6),), ((3, 5, 2),)], kwargs=MANY_KW, valid=_valid_many),
    _row("fft.ifftn", lambda x, **k: mx.fft.ifftn(x, **k), lambda x, **k: np.fft.ifftn(x, **k),
         shapes=[((4, 6),), ((3, 5, 2),)], kwargs=MANY_KW, valid=_valid_many),
    _row("fft.fft2", lambda x, **k: mx.fft.fft2(x, **k), lambda x, **k: np.fft.fft2(x, **k),
         shapes=[((4, 6),), ((2, 3, 8),)], kwargs=[dict(), dict(norm="ortho")],
         valid=_valid_many),
    _row("fft.ifft2", lambda x, **k: mx.fft.ifft2(x, **k), lambda x, **k: np.fft.ifft2(x, **k),
         shapes=[((4, 6),)], kwargs=[dict()], valid=_valid_many),
    _row("fft.rfftn", lambda x, **k: mx.fft.rfftn(x, **k), lambda x, **k: np.fft.rfftn(x, **k),
         shapes=[((4, 6),), ((3, 5, 2),)], kwargs=MANY_KW, valid=_valid_many,
         dtypes=("float32", "float64")),
    _row("fft.rfft2", lambda x, **k: mx.fft.rfft2(x, **k), lambda x, **k: np.fft.rfft2(x, **k),
         shapes=[((4, 6),)], kwargs=[dict()], valid=_valid_many, dtypes=("float32",)),
    _row("fft.irfftn", lambda x, **k: mx.fft.irfftn(x, **k), lambda x, **k: np.fft.irfftn(x, **k),
         shapes=[((4, 6),), ((3, 5, 2),)],
         kwargs=[dict(), dict(s=(4, 9), axes=(0, -1)), dict(norm="ortho"), dict(axes=(0, 1))],
         valid=_valid_many, dtypes=("complex64",), make=_irfft_make,
         out_dtype=lambda d, k: "float32"),
    _row("fft.irfft2", lambda x, **k: mx.fft.irfft2(x, **k), lambda x, **k: np.fft.irfft2(x, **k),
         shapes=[((4, 6),)], kwargs=[dict()], valid=_valid_many, dtypes=("complex64",),
         make=_irfft_make, out_dtype=lambda d, k: "float32"),
    _row("fft.fftshift", lambda x, **k: mx.fft.fftshift(x, **k),
         lambda x, **k: np.fft.fftshift(x, **k), shapes=[((5,),), ((4, 7),)],
         kwargs=[dict(), dict(axes=0), dict(axes=(-1,))], valid=lambda s, k: True,
         dtypes=("float32", "int32")),
    _row("fft.ifftshift", lambda x, **k: mx.fft.ifftshift(x, **k),
         lambda x, **k: np.fft.ifftshift(x, **k), shapes=[((5,),), ((4, 7),)],
         kwargs=[dict(), dict(axes=(0,))], valid=lambda s, k: True, dtypes=("float32",)),
    OpRow(name="fft.fftfreq", ember=lambda **k: mx.fft.fftfreq(**k),
          numpy=lambda **k: np.fft.fftfreq(**k), shapes=[()],
          kwargs=[dict(n=1), dict(n=8), dict(n=7, d=0.5)], grad=False, smooth=False,
          vmap=False, out_dtype=lambda d, k: "float32"),
    OpRow(name="fft.rfftfreq", ember=lambda **k: mx.fft.rfftfreq(**k),
          numpy=lambda **k: np.fft.rfftfreq(**k), shapes=[()],
          kwargs=[dict(n=1), dict(n=8), dict(n=7, d=0.5)], grad=False, smooth=False,
          vmap=False, out_dtype=lambda d, k: "float32"),
]
