"""Op-table rows of the binary family (plus where and clip): broadcasting shape pairs,
zero-size operands, integer dtypes where the op takes them, and input domains that keep
the reference well defined (nonzero divisors, positive bases, small shift counts)."""
import numpy as np

import ember.core as mx

from . import BOOL, FLOATS, INTS, PROMOTE, PROMOTE_FLOAT, OpRow, default_make, np_dtype
from .unary import make_range

PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)), ((3,), ()),
         ((0, 4), (4,)), ((1,), (0,))]
BIG = [((200, 201), (201,)), ((201, 200), (201, 200))]

F = FLOATS
FC = FLOATS + ("complex64",)
NUM = FLOATS + INTS
ALL = ("bool",) + NUM + ("complex64",)


def nonzero_divisor(rng, shapes, dtype):
    """a anything; b with |b| in (0.5, 2.5) for floats, in [1, 5] for ints (signed: +-)."""
    a = make_range(-3, 3, -20, 21)(rng, shapes[:1], dtype)[0]
    s = shapes[1]
    if dtype in INTS:
        b = rng.integers(1, 6, size=s)
        if not dtype.startswith("u"):
            b = b * np.where(rng.random(s) < 0.5, -1, 1)
        b = b.astype(dtype)
    elif dtype == "complex64":
        b = ((rng.uniform(0.5, 2, s) + 1j * rng.uniform(0.5, 2, s))).astype(np.complex64)
    else:
        sign = np.where(rng.random(s) < 0.5, -1, 1)
        b = (rng.uniform(0.5, 2.5, s) * sign).astype(np_dtype(dtype))
    return [a, b]


def power_inputs(rng, shapes, dtype):
    """Positive float bases with exponents in (-2, 2); integer bases 0..4 with exponents 0..3
    (numpy refuses negative integer exponents)."""
    if dtype in INTS:
        return [rng.integers(0, 5, size=shapes[0]).astype(dtype),
                rng.integers(0, 4, size=shapes[1]).astype(dtype)]
    if dtype == "complex64":
        return make_range(0.5, 2.0)(rng, shapes, dtype)
    return [rng.uniform(0.5, 2.5, shapes[0]).astype(np_dtype(dtype)),
            rng.uniform(-2, 2, shapes[1]).astype(np_dtype(dtype))]


def shift_inputs(rng, shapes, dtype):
    """Values in [-100, 100] (unsigned: [0, 100]) shifted by 0..7 bits."""
    lo = 0 if dtype.startswith("u") else -100
    return [rng.integers(lo, 101, size=shapes[0]).astype(dtype),
            rng.integers(0, 8, size=shapes[1]).astype(dtype)]


def small_ints(rng, shapes, dtype):
    """Values in {-2, ..., 2} (unsigned, bool: what fits) in any dtype: many ties and zeros
    for comparisons and logical ops."""
    out = []
    for s in shapes:
        v = rng.integers(-2, 3, size=s)
        if dtype == "bool":
            out.append(v > 0)
        elif dtype.startswith("u"):
            out.append(np.abs(v).astype(dtype))
        elif dtype == "complex64":
            out.append((v + 1j * rng.integers(-1, 2, size=s)).astype(np.complex64))
        else:
            out.append(v.astype(np_dtype(dtype)))
    return out


def near_pairs(rng, shapes, dtype):
    """Small integers, b's nudged by 1e-9 relative half of the time (some NaN for floats):
    each pair is equal, close for every tolerance, or at least 1 apart. Nothing sits near a
    tolerance boundary, where float32 and the float64 reference could disagree."""
    out = []
    for i, s in enumerate(shapes):
        v = rng.integers(-3, 3, size=s).astype(np.float64)
        if i == 1:
            v = v * np.where(rng.random(s) < 0.5, 1.0, 1.0 + 1e-9)
        if dtype == "complex64":
            v = (v + 1j * rng.integers(-1, 2, size=s)).astype(np.complex64)
        elif dtype in FLOATS:
            v = np.where(rng.random(s) < 0.1, np.nan, v).astype(np_dtype(dtype))
        else:
            v = v.astype(dtype)
        out.append(v)
    return out


def equal_pairs(rng, shapes, dtype):
    """Same shapes: b is a copy of a, with one element changed half of the time."""
    a = make_range(-3, 3)(rng, shapes[:1], dtype)[0]
    if tuple(shapes[0]) != tuple(shapes[1]) or a.size == 0:
        return [a, make_range(-3, 3)(rng, shapes[1:], dtype)[0]]
    b = np.array(a)
    if rng.random() < 0.5:
        flat = b.reshape(-1)
        flat[0] = np.logical_not(flat[0]) if dtype == "bool" else flat[0] + 1
    return [a, b]


def where_inputs(rng, shapes, dtype):
    cond = rng.random(shapes[0]) > 0.5
    return [cond] + default_make(rng, shapes[1:], dtype)


def clip_inputs(rng, shapes, dtype):
    """x in (-3, 3), lower bounds in (-1.5, -0.5), upper in (0.5, 1.5) (ints: -1 and 1)."""
    x = make_range(-3, 3)(rng, shapes[:1], dtype)[0]
    lo = make_range(-1.5, -0.5, -1, 0)(rng, shapes[1:2], dtype)[0]
    hi = make_range(0.5, 1.5, 1, 2)(rng, shapes[2:3], dtype)[0]
    return [x, lo, hi]


def _clip_scalar_dtype(dtypes, kw):
    """A float bound on an integer array gives float32 (a weak float joins ints as float32)."""
    has_float = any(isinstance(kw.get(k), float) for k in ("a_min", "a_max"))
    return "float32" if has_float and dtypes[0] in INTS else dtypes[0]


def _row(name, np_fn, dtypes, out_dtype=PROMOTE, make=None, shapes=PAIRS, **kw):
    return OpRow(name=name, ember=getattr(mx, name), numpy=np_fn, shapes=shapes, dtypes=dtypes,
                 make=make, out_dtype=out_dtype, **kw)


def _cmp(name, np_fn):
    return _row(name, np_fn, ALL, BOOL, small_ints, grad=False)


ROWS = [
    _row("add", np.add, ALL, shapes=PAIRS + BIG),
    _row("subtract", np.subtract, NUM + ("complex64",)),
    _row("multiply", np.multiply, ALL, shapes=PAIRS + BIG),
    _row("divide", np.divide, FC + ("int32", "uint8", "bool"), PROMOTE_FLOAT, nonzero_divisor),
    # floor_divide jumps wherever a / b crosses an integer: values only.
    _row("floor_divide", np.floor_divide, NUM, make=nonzero_divisor, grad=False),
    _row("remainder", np.remainder, NUM, make=nonzero_divisor,
         # fmod is exact, but the sign fix-up (r + b) rounds once in the dtype
         tols={"float16": (4e-3, 4e-3), "bfloat16": (3e-2, 3e-2)}),
    _row("power", np.power, NUM + ("complex64",), make=power_inputs, rtol=2e-5,
         tols={"float16": (4e-3, 4e-3), "bfloat16": (3e-2, 3e-2)}),
    _row("maximum", np.maximum, ("bool",) + NUM),
    _row("minimum", np.minimum, ("bool",) + NUM),
    _row("arctan2", np.arctan2, F + ("int32",), PROMOTE_FLOAT),
    _row("logaddexp", np.logaddexp, F + ("int32",), PROMOTE_FLOAT,
         tols={"float16": (4e-3, 4e-3), "bfloat16": (3e-2, 3e-2)}),
    _cmp("equal", np.equal),
    _cmp("not_equal", np.not_equal),
    _cmp("less", np.less),
    _cmp("less_equal", np.less_equal),
    _cmp("greater", np.greater),
    _cmp("greater_equal", np.greater_equal),
    _cmp("logical_and", np.logical_and),
    _cmp("logical_or", np.logical_or),
    _cmp("logical_xor", np.logical_xor),
    _row("isclose", np.isclose, F + ("int32", "complex64"), BOOL, near_pairs, grad=False,
         kwargs=[dict(), dict(rtol=1e-2, atol=0.1), dict(equal_nan=True)]),
    # 0-d bool results of a reduction over the elementwise test
    _row("allclose", lambda a, b, **k: np.allclose(a, b, **k), F + ("int32",), BOOL, near_pairs,
         grad=False, kwargs=[dict(), dict(rtol=1e-2, atol=0.1)]),
    _row("array_equal", lambda a, b: np.array_equal(a, b), ("bool", "int32", "float32", "float16"),
         BOOL, equal_pairs, grad=False,
         shapes=[((3, 4), (3, 4)), ((2, 3), (2, 3)), ((), ()), ((3,), (4,)), ((3, 4), (4,)),
                 ((0, 2), (0, 2))]),
    _row("bitwise_and", np.bitwise_and, ("bool",) + INTS, make=make_range(-100, 100), grad=False),
    _row("bitwise_or", np.bitwise_or, ("bool",) + INTS, make=make_range(-100, 100), grad=False),
    _row("bitwise_xor", np.bitwise_xor, ("bool",) + INTS, make=make_range(-100, 100), grad=False),
    _row("left_shift", np.left_shift, INTS, make=shift_inputs, grad=False),
    _row("right_shift", np.right_shift, INTS, make=shift_inputs, grad=False),
    OpRow(name="where", ember=mx.where, numpy=np.where,
          shapes=[((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), ()), ((2, 1, 4), (3, 1), (4,)),
                  ((), (3,), (2, 3)), ((0, 3), (3,), (1, 3))],
          dtypes=("bool",) + NUM + ("complex64",), make=where_inputs, grad_args=(1, 2),
          out_dtype=lambda d, k: PROMOTE(d[1:], k)),
    OpRow(name="clip", ember=mx.clip, numpy=np.clip,
          shapes=[((3, 4), (3, 4), (3, 4)), ((3, 4), (), ()), ((2, 3, 4), (4,), (3, 1)),
                  ((), (3,), ()), ((0, 4), (4,), ())],
          dtypes=NUM, make=clip_inputs, out_dtype=PROMOTE),
    # Python-number bounds are weakly typed: the result keeps x's dtype; either may be None.
    OpRow(name="clip_scalar", ember=lambda x, **k: mx.clip(x, **k),
          numpy=lambda x, a_min, a_max: np.clip(x, a_min, a_max),
          shapes=[((3, 4),), ((),), ((0, 2),)],
          kwargs=[dict(a_min=-1, a_max=1), dict(a_min=-0.5, a_max=None), dict(a_min=None, a_max=2)],
          dtypes=F + ("int8", "int32", "int64"), make=make_range(-3, 3),
          out_dtype=_clip_scalar_dtype),
]
