"""Op-table rows of the creation family. Ops without array inputs (zeros, arange, eye, ...)
use shapes=[()] and carry their arguments, the dtype included, in kwargs; ops on arrays
(zeros_like, full, tril, astype, ...) take inputs like any other row."""
import numpy as np

import ember.core as mx

from . import FLOATS, INTS, KWARG_DTYPE, SAME, OpRow, np_dtype
from .unary import make_range

NONE = [()]  # one case with no array inputs


def _mx(kw):
    """kwargs with the dtype name turned into an ember dtype."""
    kw = dict(kw)
    if "dtype" in kw:
        kw["dtype"] = getattr(mx, "bool_" if kw["dtype"] == "bool" else kw["dtype"])
    return kw


def _np(kw):
    kw = dict(kw)
    if "dtype" in kw:
        kw["dtype"] = np_dtype(kw["dtype"])
    return kw


def _nullary(name, np_fn, kwargs, out_dtype=KWARG_DTYPE):
    fn = getattr(mx, name)
    return OpRow(name=name, ember=lambda **k: fn(**_mx(k)), numpy=lambda **k: np_fn(**_np(k)),
                 shapes=NONE, kwargs=kwargs, grad=False, smooth=False, vmap=False,
                 out_dtype=out_dtype)


def arange_dtype(dtypes, kw):
    """The dtype given, else int32 for Python ints (numpy: int64) and float32 when any of
    start, stop, step is a float (numpy: float64)."""
    if "dtype" in kw:
        return kw["dtype"]
    floats = any(isinstance(kw.get(k), float) for k in ("start", "stop", "step"))
    return "float32" if floats else "int32"


DT = ("float32", "int32", "bool", "float16", "bfloat16", "uint8", "int64", "float64", "complex64")

ROWS = [
    _nullary("zeros", np.zeros, [dict(shape=(2, 3))] + [dict(shape=(3,), dtype=d) for d in DT]
             + [dict(shape=(), dtype="int32"), dict(shape=(0, 4))]),
    _nullary("ones", np.ones, [dict(shape=(2, 3))] + [dict(shape=(3,), dtype=d) for d in DT]
             + [dict(shape=(), dtype="int32"), dict(shape=(0, 4)), dict(shape=4)]),
    _nullary("full", lambda shape, vals, dtype=None: np.full(shape, vals, dtype=dtype),
             [dict(shape=(2, 3), vals=1.5), dict(shape=(2, 3), vals=7, dtype="int8"),
              dict(shape=(4,), vals=2.5, dtype="float16"), dict(shape=(), vals=3, dtype="float64"),
              dict(shape=(0, 2), vals=1.0), dict(shape=(2,), vals=True, dtype="bool")]),
    _nullary("arange", lambda start, stop=None, step=None, dtype=None:
             np.arange(start, stop, step, dtype=dtype),
             [dict(start=0, stop=10, step=1, dtype="int32"), dict(start=5, dtype="int32"),
              dict(start=5), dict(start=1, stop=3.5), dict(start=0, stop=2, step=0.5),
              dict(start=0.5, stop=3.2, step=0.3, dtype="float32"),
              dict(start=10, stop=0, step=-3, dtype="int32"), dict(start=0, stop=0, dtype="int32"),
              dict(start=3, stop=1, dtype="int32"),
              dict(start=-1.0, stop=1.0, step=0.25, dtype="float64"),
              dict(start=0, stop=6, step=2, dtype="float16"), dict(start=0, stop=5, dtype="uint8"),
              dict(start=1, stop=2, step=0.1, dtype="bfloat16")], out_dtype=arange_dtype),
    _nullary("linspace", lambda start, stop, num=50, dtype=None:
             np.linspace(start, stop, num, dtype=dtype),
             [dict(start=0, stop=1, num=5, dtype="float32"),
              dict(start=-2, stop=3, num=7, dtype="float64"),
              dict(start=0, stop=10, num=4, dtype="int32"),
              dict(start=1, stop=0, num=3, dtype="float32"),
              dict(start=0, stop=1, num=1, dtype="float32"),
              dict(start=0, stop=1, num=0, dtype="float32"),
              dict(start=0, stop=1, dtype="float32")]),
    _nullary("eye", lambda n, m=None, k=0, dtype=None: np.eye(n, m, k, dtype=dtype),
             [dict(n=3), dict(n=3, m=4, k=1, dtype="int32"), dict(n=4, m=2, k=-1, dtype="float64"),
              dict(n=0, dtype="float32"), dict(n=2, k=5, dtype="bool")]),
    _nullary("identity", lambda n, dtype=None: np.identity(n, dtype=dtype),
             [dict(n=3), dict(n=1, dtype="int8"), dict(n=0), dict(n=4, dtype="float16")]),
    _nullary("tri", lambda n, m=None, k=0, dtype=None: np.tri(n, m, k, dtype=dtype),
             [dict(n=3), dict(n=3, m=5, k=1, dtype="int32"), dict(n=4, m=2, k=-1, dtype="float64"),
              dict(n=0), dict(n=3, k=-3, dtype="bool")]),
    # ---- ops on arrays ----
    OpRow(name="zeros_like", ember=mx.zeros_like, numpy=np.zeros_like,
          shapes=[((3, 4),), ((),), ((0, 2),)], dtypes=FLOATS + ("int32", "bool", "complex64"),
          out_dtype=SAME),
    OpRow(name="ones_like", ember=mx.ones_like, numpy=np.ones_like,
          shapes=[((3, 4),), ((),), ((0, 2),)], dtypes=FLOATS + ("int32", "bool", "complex64"),
          out_dtype=SAME),
    # full with an array value broadcasts it (and is differentiable in it).
    OpRow(name="full_array", ember=lambda v, shape: mx.full(shape, v),
          numpy=lambda v, shape: np.broadcast_to(v, shape).copy(),
          shapes=[((3,),), ((),), ((2, 1),)], kwargs=[dict(shape=(2, 3)), dict(shape=(4, 2, 3))],
          dtypes=FLOATS + ("int32", "bool"), out_dtype=SAME,
          valid=lambda s, k: s[0] != (2, 1) or k["shape"] == (4, 2, 3)),
    OpRow(name="full_like", ember=lambda x, **k: mx.full_like(x, **k),
          numpy=lambda x, vals: np.full_like(x, vals),
          shapes=[((3, 4),), ((),)], kwargs=[dict(vals=2), dict(vals=0.5)],
          dtypes=FLOATS + ("int32",), out_dtype=SAME, grad=False, vmap=False),
    OpRow(name="copy", ember=mx.copy, numpy=np.copy,
          shapes=[((3, 4),), ((),), ((0, 2),), ((2, 3, 4),)],
          dtypes=FLOATS + INTS + ("bool", "complex64"), out_dtype=SAME),
    OpRow(name="tril", ember=lambda x, **k: mx.tril(x, **k), numpy=lambda x, k=0: np.tril(x, k),
          shapes=[((4, 4),), ((3, 5),), ((2, 3, 4),), ((0, 3),)],
          kwargs=[dict(), dict(k=1), dict(k=-2)], dtypes=FLOATS + ("int32", "bool"),
          out_dtype=SAME),
    OpRow(name="triu", ember=lambda x, **k: mx.triu(x, **k), numpy=lambda x, k=0: np.triu(x, k),
          shapes=[((4, 4),), ((3, 5),), ((2, 3, 4),), ((0, 3),)],
          kwargs=[dict(), dict(k=1), dict(k=-2)], dtypes=FLOATS + ("int32", "bool"),
          out_dtype=SAME),
    # Casts: values in [0, 10) so every target (unsigned included) holds them; float -> int
    # truncates toward zero as in numpy.
    OpRow(name="astype", ember=lambda x, dtype: mx.astype(x, _mx(dict(dtype=dtype))["dtype"]),
          numpy=lambda x, dtype: np.asarray(x).astype(np_dtype(dtype)),
          shapes=[((3, 4),), ((),), ((0, 2),)],
          kwargs=[dict(dtype=d) for d in ("float32", "float64", "float16", "bfloat16", "int32",
                                          "uint8", "int64", "bool", "complex64")],
          dtypes=FLOATS + ("int32", "uint8", "int64", "bool"), make=make_range(0.0, 10.0, 0, 10),
          out_dtype=KWARG_DTYPE),
]

# ---- issue 9: window functions (numpy's definitions) ----
ROWS += [
    _nullary(name, getattr(np, name), [dict(M=m) for m in (0, 1, 2, 5, 12)],
             out_dtype=lambda d, k: "float32")
    for name in ("hanning", "hamming", "blackman", "bartlett")
]
