"""The op table: one row per op, driving the generic tests.

Each family module (unary.py, binary.py, reduce.py, shape.py, index.py, linalg.py,
creation.py) defines ROWS, a list of OpRow. Generic tests sweep ALL_ROWS:
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
    for fam in ("creation", "unary", "binary", "reduce", "shape", "index", "linalg"):
        try:
            mod = importlib.import_module(f"op_table.{fam}")
        except ModuleNotFoundError as e:
            if e.name == f"op_table.{fam}":
                continue
            raise
        rows.extend(mod.ROWS)
    return rows


ALL_ROWS: List[OpRow] = _load()
