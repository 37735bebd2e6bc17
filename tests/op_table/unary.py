"""Op-table rows of the unary family: every elementwise op of one input, with input domains
(positive for log and sqrt, (-1, 1) for arcsin and erfinv, ...), the dtypes each accepts
(ints where the op keeps or promotes them) and the dtype ember must return."""
import math

import numpy as np

import ember.core as mx

from . import BOOL, FLOAT, FLOATS, INTS, SAME, OpRow, np_dtype

SHAPES = [((3, 4),), ((2, 3, 4),), ((),), ((0, 3),), ((1,),)]
# One case above the kernels' threading threshold (2**15 elements), for a few core ops.
BIG = [((200, 201),)]

F = FLOATS
FC = FLOATS + ("complex64",)
# float ops on ints and bool promote to float32
FI = FLOATS + ("int32", "uint8", "bool")
NUM = FLOATS + INTS


def make_range(lo, hi, int_lo=None, int_hi=None):
    """Inputs uniform in (lo, hi) for floats (and for complex, real and imaginary parts),
    integers in [int_lo, int_hi) for ints (clipped at 0 for unsigned), random bools."""
    int_lo = math.ceil(lo) if int_lo is None else int_lo
    int_hi = math.floor(hi) + 1 if int_hi is None else int_hi

    def make(rng, shapes, dtype):
        out = []
        for s in shapes:
            if dtype == "bool":
                out.append(rng.random(s) > 0.5)
            elif dtype in INTS:
                ilo = max(int_lo, 0) if dtype.startswith("u") else int_lo
                out.append(rng.integers(ilo, max(int_hi, ilo + 1), size=s).astype(dtype))
            elif dtype == "complex64":
                re = rng.uniform(lo, hi, size=s)
                im = rng.uniform(lo, hi, size=s)
                out.append((re + 1j * im).astype(np.complex64))
            else:
                out.append(rng.uniform(lo, hi, size=s).astype(np_dtype(dtype)))
        return out

    return make


positive = make_range(0.5, 2.5, 1, 6)
unit = make_range(-0.9, 0.9, -1, 2)
above_one = make_range(1.1, 3.0, 2, 6)
above_minus_one = make_range(-0.5, 2.0, 0, 4)
moderate = make_range(-1.2, 1.2, -1, 2)  # tan: far from its poles
wide = make_range(-3.0, 3.0)


def away_from_integers(rng, shapes, dtype):
    """n + (0.2 .. 0.8) (plus exact halves for round): the finite differences of floor, ceil
    and round are then exactly zero, so their zero-derivative rules are checked too."""
    out = []
    for s in shapes:
        if dtype == "bool":
            out.append(rng.random(s) > 0.5)
        elif dtype in INTS:
            lo = 0 if dtype.startswith("u") else -5
            out.append(rng.integers(lo, 6, size=s).astype(dtype))
        else:
            n = rng.integers(-4, 5, size=s)
            frac = rng.uniform(0.2, 0.8, size=s)
            out.append((n + frac).astype(np_dtype(dtype)))
    return out


def halves(rng, shapes, dtype):
    """Exact halves (2.5, -0.5, ...) mixed with other values: round is half to even."""
    out = away_from_integers(rng, shapes, dtype)
    if dtype in F:
        for i, s in enumerate(shapes):
            h = (rng.integers(-6, 7, size=s) + 0.5).astype(np_dtype(dtype))
            out[i] = np.where(rng.random(s) < 0.5, h, out[i]).astype(np_dtype(dtype))
    return out


def away_from_zero(rng, shapes, dtype):
    """Values with |x| in (0.2, 2), plus a few exact zeros for ints (sign(0) = 0)."""
    if dtype in F:
        out = []
        for s in shapes:
            mag = rng.uniform(0.2, 2.0, size=s)
            sgn = np.where(rng.random(s) < 0.5, -1.0, 1.0)
            out.append((mag * sgn).astype(np_dtype(dtype)))
        return out
    return make_range(-3, 3)(rng, shapes, dtype)


def with_specials(rng, shapes, dtype):
    """Normal values with some NaN, +inf and -inf entries for float dtypes."""
    out = []
    for s in shapes:
        if dtype in F or dtype == "complex64":
            x = rng.standard_normal(s)
            r = rng.random(s)
            x = np.where(r < 0.2, np.nan, x)
            x = np.where((r >= 0.2) & (r < 0.3), np.inf, x)
            x = np.where((r >= 0.3) & (r < 0.4), -np.inf, x)
            out.append(x.astype(np_dtype(dtype) if dtype != "complex64" else np.complex64))
        else:
            out.append(make_range(-3, 3)(rng, [s], dtype)[0])
    return out


_erf = np.frompyfunc(math.erf, 1, 1)


def np_erf(x):
    return np.asarray(_erf(np.asarray(x, np.float64)), dtype=np.float64)


def np_erfinv(x):
    """Reference inverse of erf by bisection on math.erf (slow but independent of ember)."""
    x = np.asarray(x, np.float64)
    lo = np.full(x.shape, -6.0)
    hi = np.full(x.shape, 6.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        below = np_erf(mid) < x
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    y = 0.5 * (lo + hi)
    return np.where(x == 1, np.inf, np.where(x == -1, -np.inf, y))


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def abs_dtype(dtypes, kw):
    return "float32" if dtypes[0] == "complex64" else dtypes[0]


def square_dtype(dtypes, kw):
    return dtypes[0]  # bool stays bool, as in MLX (numpy gives int8)


def np_round(x, decimals=0):
    # numpy refuses to round bool with decimals != 0; ember returns bool unchanged
    return x if x.dtype == np.bool_ else np.round(x, decimals)


def _float_row(name, np_fn, make=None, dtypes=FI, shapes=SHAPES, **kw):
    return OpRow(name=name, ember=getattr(mx, name), numpy=np_fn, shapes=shapes, dtypes=dtypes,
                 make=make, out_dtype=FLOAT, **kw)


ROWS = [
    # ---- ops that keep the dtype ----
    OpRow(name="abs", ember=mx.abs, numpy=np.abs, shapes=SHAPES + BIG,
          dtypes=NUM + ("bool", "complex64"), make=away_from_zero, out_dtype=abs_dtype),
    OpRow(name="negative", ember=mx.negative, numpy=np.negative, shapes=SHAPES,
          dtypes=NUM + ("complex64",), out_dtype=SAME),
    OpRow(name="sign", ember=mx.sign, numpy=np.sign, shapes=SHAPES, dtypes=NUM + ("complex64",),
          make=away_from_zero, out_dtype=SAME),
    OpRow(name="square", ember=mx.square, numpy=np.square, shapes=SHAPES,
          dtypes=NUM + ("bool", "complex64"), out_dtype=square_dtype),
    OpRow(name="floor", ember=mx.floor, numpy=np.floor, shapes=SHAPES, dtypes=NUM + ("bool",),
          make=away_from_integers, out_dtype=SAME),
    OpRow(name="ceil", ember=mx.ceil, numpy=np.ceil, shapes=SHAPES, dtypes=NUM + ("bool",),
          make=away_from_integers, out_dtype=SAME),
    # Half-to-even ties make the finite differences of round jump: values only.
    OpRow(name="round", ember=lambda x, **k: mx.round(x, **k), numpy=np_round, shapes=SHAPES,
          kwargs=[dict(), dict(decimals=1), dict(decimals=-1)], dtypes=NUM + ("bool",), make=halves,
          out_dtype=SAME, grad=False),
    OpRow(name="round_smooth", ember=mx.round, numpy=np.round, shapes=SHAPES[:3], dtypes=F,
          make=away_from_integers, out_dtype=SAME),
    OpRow(name="relu", ember=mx.relu, numpy=lambda x: np.maximum(x, 0), shapes=SHAPES + BIG,
          dtypes=NUM, make=away_from_zero, out_dtype=SAME),
    # Its rule gives zero, which finite differences of the identity do not: values only here;
    # test_op_grads checks that it blocks gradients.
    OpRow(name="stop_gradient", ember=mx.stop_gradient, numpy=lambda x: x, shapes=SHAPES,
          dtypes=NUM + ("bool", "complex64"), out_dtype=SAME, grad=False),
    # ---- float ops: ints and bool promote to float32 ----
    _float_row("sqrt", np.sqrt, positive, FI + ("complex64",)),
    _float_row("rsqrt", lambda x: 1.0 / np.sqrt(x), positive),
    _float_row("reciprocal", np.reciprocal, positive, FI + ("complex64",)),
    _float_row("exp", np.exp, None, FI + ("complex64",), SHAPES + BIG),
    _float_row("expm1", np.expm1),
    _float_row("log", np.log, positive, FI + ("complex64",)),
    _float_row("log1p", np.log1p, above_minus_one),
    _float_row("log2", np.log2, positive),
    _float_row("log10", np.log10, positive),
    _float_row("sin", np.sin, None, FI + ("complex64",)),
    _float_row("cos", np.cos, None, FI + ("complex64",)),
    _float_row("tan", np.tan, moderate),
    _float_row("arcsin", np.arcsin, unit, F + ("int32",)),
    _float_row("arccos", np.arccos, unit, F + ("int32",)),
    _float_row("arctan", np.arctan, wide),
    _float_row("sinh", np.sinh, wide),
    _float_row("cosh", np.cosh, wide),
    _float_row("tanh", np.tanh, wide, FI + ("complex64",)),
    _float_row("arcsinh", np.arcsinh, wide),
    _float_row("arccosh", np.arccosh, above_one),
    _float_row("arctanh", np.arctanh, unit, F + ("int8",)),
    _float_row("sigmoid", np_sigmoid, wide, shapes=SHAPES + BIG),
    _float_row("erf", np_erf, wide),
    # erfinv(+-1) = +-inf: the int8 case checks those ends exactly.
    _float_row("erfinv", np_erfinv, unit, F + ("int8",), shapes=SHAPES[:4]),
    # ---- predicates and logical / bitwise ops ----
    OpRow(name="logical_not", ember=mx.logical_not, numpy=np.logical_not, shapes=SHAPES,
          dtypes=("bool",) + NUM + ("complex64",), make=make_range(-2, 2), out_dtype=BOOL,
          grad=False),
    OpRow(name="isnan", ember=mx.isnan, numpy=np.isnan, shapes=SHAPES,
          dtypes=FC + ("int32", "uint8", "bool"), make=with_specials, out_dtype=BOOL, grad=False),
    OpRow(name="isinf", ember=mx.isinf, numpy=np.isinf, shapes=SHAPES,
          dtypes=FC + ("int32", "uint8", "bool"), make=with_specials, out_dtype=BOOL, grad=False),
    OpRow(name="isfinite", ember=mx.isfinite, numpy=np.isfinite, shapes=SHAPES,
          dtypes=FC + ("int32", "bool"), make=with_specials, out_dtype=BOOL, grad=False),
    OpRow(name="isposinf", ember=mx.isposinf, numpy=np.isposinf, shapes=SHAPES,
          dtypes=F + ("int32", "bool"), make=with_specials, out_dtype=BOOL, grad=False),
    OpRow(name="isneginf", ember=mx.isneginf, numpy=np.isneginf, shapes=SHAPES,
          dtypes=F + ("int32", "bool"), make=with_specials, out_dtype=BOOL, grad=False),
    # The default replacements depend on the dtype (its largest finite value), which the
    # float64 reference cannot know: test_array checks those; here they are given.
    OpRow(name="nan_to_num", ember=lambda x, **k: mx.nan_to_num(x, **k),
          numpy=lambda x, **k: np.nan_to_num(x, **k), shapes=SHAPES,
          kwargs=[dict(posinf=100.0, neginf=-100.0), dict(nan=1.5, posinf=7.0, neginf=-3.0)],
          dtypes=F + ("int32",), make=with_specials, out_dtype=SAME),
    _float_row("degrees", np.degrees, wide, tols={"bfloat16": (1.6e-2, 0.1)}),
    _float_row("radians", np.radians, wide),
    OpRow(name="real", ember=mx.real, numpy=np.real, shapes=SHAPES, dtypes=FC + ("int32",),
          out_dtype=abs_dtype),
    OpRow(name="imag", ember=mx.imag, numpy=np.imag, shapes=SHAPES, dtypes=FC + ("int32",),
          out_dtype=abs_dtype),
    OpRow(name="conj", ember=mx.conj, numpy=np.conj, shapes=SHAPES, dtypes=FC + ("int32",),
          out_dtype=SAME),
    OpRow(name="bitwise_invert", ember=mx.bitwise_invert, numpy=np.invert, shapes=SHAPES,
          dtypes=INTS + ("bool",), make=make_range(-100, 100), out_dtype=SAME, grad=False),
]

# ---- issue 9 ----
ROWS += [
    OpRow(name="trunc", ember=mx.trunc, numpy=np.trunc, shapes=SHAPES, dtypes=NUM,
          make=away_from_integers, out_dtype=SAME),
    OpRow(name="positive", ember=mx.positive, numpy=np.positive, shapes=SHAPES,
          dtypes=NUM + ("complex64",), out_dtype=SAME),
]
