"""The op table: one row per op, driving the generic tests.

Each family module (unary.py, binary.py, reduce.py, shape.py, index.py, linalg.py, conv.py,
creation.py, ...) defines ROWS, a list of OpRow. Generic tests sweep ALL_ROWS:
test_op_values.py (against numpy over dtypes / shapes / kwargs), test_op_grads.py (vjp vs
central finite differences in float64, jvp vs vjp, second order for smooth ops) and
test_op_vmap.py (vmap vs a Python loop over in_axes / out_axes, including None).
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

FLOATS = ("float32", "float64", "float16", "bfloat16")
INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
ALL_DTYPES = ("bool",) + INTS + FLOATS + ("complex64",)


@dataclass
class OpRow:
    """One op to test.

    name:      test id (usually the op's name; add a suffix for variants).
    ember:     fn(*arrays, **kwargs) -> ember array, e.g. lambda x, **k: mx.sum(x, **k)
    numpy:     the reference fn(*ndarrays, **kwargs) -> ndarray, computed in float64 when
               possible (the test casts the result to ember's dtype before comparing).
    shapes:    list of input-shape tuples, one tuple of shapes per case, e.g.
               [((3, 4),), ((2, 1, 4),)] for a unary op, [((3, 4), (4,))] for binary.
    kwargs:    list of kwargs dicts; every (shapes, kwargs) pair is a case. Use `valid`
               to skip combinations that are invalid (e.g. an axis beyond ndim).
    dtypes:    dtypes to check values for (all inputs get the same dtype unless `make`
               is given).
    make:      optional fn(rng, shapes, dtype) -> list of np.ndarray inputs, for ops whose
               inputs need a domain (log: positive) or special dtypes (index arrays).
    grad:      differentiable in its float inputs: vjp/jvp are checked against finite
               differences. `grad_args` lists which inputs are differentiable (default: all
               float inputs).
    smooth:    also check second order (grad of grad).
    vmap:      check vmap against a loop.
    rtol/atol: tolerance for float32 (float64 uses 1e-10-ish, halves looser: see tests).
    valid:     fn(shapes, kwargs) -> bool, filters cases.
    out_dtype: optional fn(input_dtype_names, kwargs) -> the dtype name ember must return
               (helpers below: SAME, BOOL, FLOAT, PROMOTE, PROMOTE_FLOAT, KWARG_DTYPE).
               When None, test_op_values checks only that the result's kind (bool / int /
               float / complex) matches numpy's, and that float inputs of one dtype give
               that dtype when numpy gives a float.
    tols:      optional {dtype name: (rtol, atol)} overriding test_op_values' tolerances.

    Rows without inputs (creation ops such as zeros or arange) use shapes=[()] and carry
    their dtype in kwargs (e.g. dict(shape=(2, 3), dtype="int32")); `dtypes` is unused.
    """

    name: str
    ember: Callable
    numpy: Callable
    shapes: Sequence[Tuple[Tuple[int, ...], ...]]
    kwargs: Sequence[Dict[str, Any]] = (dict(),)
    dtypes: Sequence[str] = ("float32", "float64")
    make: Optional[Callable] = None
    grad: bool = True
    grad_args: Optional[Sequence[int]] = None
    smooth: bool = True
    vmap: bool = True
    rtol: float = 1e-5
    atol: float = 1e-6
    valid: Optional[Callable] = None
    out_dtype: Optional[Callable] = None
    tols: Optional[Dict[str, Tuple[float, float]]] = None
    family: str = ""  # set by the loader: the module the row comes from

    def cases(self):
        for shapes in self.shapes:
            for kw in self.kwargs:
                if self.valid is None or self.valid(shapes, kw):
                    yield shapes, kw


def np_dtype(name):
    """numpy dtype for an ember dtype name (bfloat16 via ml_dtypes)."""
    if name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    if name == "bool":
        return np.bool_
    return np.dtype(name)


# ---- ember's dtype rules, written out as expectations ----------------------------------
def expected_promote(a, b):
    """The dtype ember should give for a binary op on dtypes a and b (names).

    numpy's rules, except where ember follows mlx: integers joining a float take the float's
    width (int32 + float16 -> float16, numpy gives float64 for int32 + float32); int64 with
    uint64 (and any signed int with uint64) gives float32, not float64; float16 with
    bfloat16 gives float32; complex is always complex64.
    """
    if a == b:
        return a
    if "complex64" in (a, b):
        return "complex64"
    fa, fb = a in FLOATS, b in FLOATS
    if fa and fb:
        if {a, b} == {"float16", "bfloat16"}:
            return "float32"
        return a if FLOATS_BY_SIZE.index(a) > FLOATS_BY_SIZE.index(b) else b
    if fa or fb:
        return a if fa else b
    r = np.promote_types(np.dtype(a if a != "bool" else np.bool_),
                         np.dtype(b if b != "bool" else np.bool_))
    return "float32" if r.kind == "f" else ("bool" if r == np.bool_ else r.name)


FLOATS_BY_SIZE = ("float16", "bfloat16", "float32", "float64")


def to_inexact(d):
    """The float dtype ops such as exp or divide give for dtype d (ints, bool: float32)."""
    return d if d in FLOATS or d == "complex64" else "float32"


def SAME(dtypes, kw):
    return dtypes[0]


def BOOL(dtypes, kw):
    return "bool"


def FLOAT(dtypes, kw):
    return to_inexact(dtypes[0])


def PROMOTE(dtypes, kw):
    out = dtypes[0]
    for d in dtypes[1:]:
        out = expected_promote(out, d)
    return out


def PROMOTE_FLOAT(dtypes, kw):
    return to_inexact(PROMOTE(dtypes, kw))


def KWARG_DTYPE(dtypes, kw):
    return kw.get("dtype", "float32")


def default_make(rng, shapes, dtype):
    """Random inputs in a range that suits most ops: normal for floats, small ints."""
    out = []
    for s in shapes:
        if dtype == "bool":
            out.append(rng.random(s) > 0.5)
        elif dtype.startswith(("int", "uint")):
            lo = 0 if dtype.startswith("uint") else -5
            out.append(rng.integers(lo, 6, size=s).astype(dtype))
        elif dtype == "complex64":
            out.append((rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex64))
        else:
            out.append(rng.standard_normal(s).astype(np_dtype(dtype)))
    return out


def positive_make(rng, shapes, dtype):
    """Inputs in (0.5, 2.5): for log, sqrt, reciprocal, ..."""
    return [(rng.random(s) * 2 + 0.5).astype(np_dtype(dtype)) for s in shapes]


def unit_make(rng, shapes, dtype):
    """Inputs in (-0.9, 0.9): for arcsin, arctanh, erfinv, ..."""
    return [((rng.random(s) * 2 - 1) * 0.9).astype(np_dtype(dtype)) for s in shapes]


def _load():
    import importlib

    rows = []
    for fam in ("creation", "unary", "binary", "reduce", "shape", "index", "linalg", "lapack",
                "fft", "conv", "nn", "fast", "quantized", "distributed"):
        try:
            mod = importlib.import_module(f"op_table.{fam}")
        except ModuleNotFoundError as e:
            if e.name == f"op_table.{fam}":
                continue
            raise
        for row in mod.ROWS:
            row.family = fam
        rows.extend(mod.ROWS)
    return rows


ALL_ROWS: List[OpRow] = _load()


def to_mx(x, dtype=None):
    """An ember array of numpy x that keeps x's dtype. mx.array turns a numpy float64 array
    into float32 (as MLX does) unless a dtype is given; tests that sweep float64 say so here."""
    import ember.core as mx

    if dtype is None and isinstance(x, (np.ndarray, np.generic)) and x.dtype == np.float64:
        dtype = mx.float64
    return mx.array(x) if dtype is None else mx.array(x, dtype=dtype)
