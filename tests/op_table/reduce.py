"""Op-table rows of the reduce family: reductions over single axes, negative axes,
tuples of axes and all axes, with and without keepdims; scans (cumsum, cumprod, cummax,
cummin, reversed and exclusive); softmax and logsumexp. Hand-written checks (dtype rules,
accuracy, empty and strided inputs, errors, gradients at zeros and ties) are in
tests/test_reduce.py."""
import numpy as np

import ember.core as mx

from . import FLOATS, INTS, SAME, OpRow, np_dtype

SHAPES = [((3, 4),), ((2, 3, 4),), ((5,),)]
AXES = [dict(), dict(axis=0), dict(axis=-1), dict(axis=(0, -1)), dict(axis=1, keepdims=True),
        dict(keepdims=True), dict(axis=(-1, 0), keepdims=True), dict(axis=())]


def _axes_ok(shapes, kw):
    ax = kw.get("axis")
    if ax is None:
        return True
    nd = len(shapes[0])
    axes = ax if isinstance(ax, tuple) else (ax,)
    norm = [a % nd if -nd <= a < nd else None for a in axes]
    return None not in norm and len(set(norm)) == len(norm)


def _sum_dtype(dtypes, kw):
    d = dtypes[0]
    if d in ("bool", "int8", "int16"):
        return "int32"
    if d in ("uint8", "uint16"):
        return "uint32"
    return d


def _mean_dtype(dtypes, kw):
    return dtypes[0] if dtypes[0] in FLOATS + ("complex64",) else "float32"


def _var_dtype(dtypes, kw):
    return dtypes[0] if dtypes[0] in FLOATS else "float32"


def distinct_make(rng, shapes, dtype):
    """Distinct values (no ties), so max/min/argmax gradients are well defined."""
    out = []
    for s in shapes:
        n = int(np.prod(s))
        v = (rng.permutation(n) - n / 2) / max(n, 1) * 4 + rng.random(n) * 0.01
        out.append(v.reshape(s).astype(np_dtype(dtype)))
    return out


def nonzero_make(rng, shapes, dtype):
    """Values of magnitude 0.5 to 1.5, so long products stay well scaled (zeros are tested
    in test_reduce.py)."""
    return [(rng.choice([-1, 1], size=s) * (rng.random(s) + 0.5)).astype(np_dtype(dtype))
            for s in shapes]


def row(name, fn, ref, **kw):
    kw.setdefault("shapes", SHAPES)
    kw.setdefault("kwargs", AXES)
    kw.setdefault("valid", _axes_ok)
    return OpRow(name=name, ember=fn, numpy=ref, **kw)


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis) if axis is not None else r.reshape(())


def _softmax(x, axis=None):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _identity(fn, dtype):
    if fn is np.cumsum:
        return 0
    if fn is np.cumprod:
        return 1
    if dtype.kind == "b":
        lo, big = False, True
    elif dtype.kind in "fc":
        lo, big = -np.inf, np.inf
    else:
        lo, big = np.iinfo(dtype).min, np.iinfo(dtype).max
    return lo if fn == np.maximum.accumulate else big


def _cum(fn, x, axis=None, reverse=False, inclusive=True):
    if axis is None:
        x, axis = x.reshape(-1), 0
    if reverse:
        x = np.flip(x, axis)
    r = fn(x, axis=axis)
    if not inclusive:
        pad = [(0, 0)] * x.ndim
        pad[axis] = (1, 0)
        r = np.pad(r, pad, constant_values=_identity(fn, r.dtype))
        r = np.take(r, np.arange(x.shape[axis]), axis=axis)
    return np.flip(r, axis) if reverse else r


SCAN_KW = [dict(), dict(axis=0), dict(axis=-1, reverse=True), dict(axis=1, inclusive=False),
           dict(axis=0, reverse=True, inclusive=False), dict(axis=-2)]


def _scan_ok(shapes, kw):
    ax = kw.get("axis")
    return ax is None or -len(shapes[0]) <= ax < len(shapes[0])


SCAN_DTYPES = FLOATS + ("int32", "int64", "uint8", "bool")


def _scan_dtype(dtypes, kw):
    return _sum_dtype(dtypes, kw)


def _var_ref(ddof):
    """numpy's var with ddof (real for complex input, as ember's)."""
    return lambda x, **k: np.var(x, ddof=ddof, **k)


ROWS = [
    row("sum", lambda x, **k: mx.sum(x, **k), lambda x, **k: np.sum(x, **k),
        dtypes=FLOATS + INTS + ("bool", "complex64"), out_dtype=_sum_dtype),
    row("prod", lambda x, **k: mx.prod(x, **k), lambda x, **k: np.prod(x, **k),
        dtypes=FLOATS + ("int32", "int64", "uint8", "int8", "bool", "complex64"),
        out_dtype=_sum_dtype, make=nonzero_make, rtol=1e-4, atol=1e-5),
    row("mean", lambda x, **k: mx.mean(x, **k), lambda x, **k: np.mean(x, **k),
        dtypes=FLOATS + ("int32", "int64", "uint8", "bool", "complex64"), out_dtype=_mean_dtype),
    row("var", lambda x, **k: mx.var(x, **k), _var_ref(0),
        dtypes=FLOATS + ("int32", "complex64"), out_dtype=_var_dtype, rtol=1e-4, atol=1e-5),
    row("var_ddof", lambda x, **k: mx.var(x, ddof=1, **k), _var_ref(1),
        kwargs=[dict(axis=0), dict(axis=-1), dict(axis=(0, 1), keepdims=True)],
        out_dtype=_var_dtype, rtol=1e-4, atol=1e-5),
    row("std", lambda x, **k: mx.std(x, **k), lambda x, **k: np.std(x, **k),
        dtypes=FLOATS + ("int32",), out_dtype=_var_dtype, rtol=1e-4, atol=1e-5),
    row("std_ddof", lambda x, **k: mx.std(x, ddof=1, **k), lambda x, **k: np.std(x, ddof=1, **k),
        kwargs=[dict(axis=0), dict(axis=-1, keepdims=True)], out_dtype=_var_dtype, rtol=1e-4,
        atol=1e-5),
    row("max", lambda x, **k: mx.max(x, **k), lambda x, **k: np.max(x, **k),
        dtypes=FLOATS + INTS + ("bool",), out_dtype=SAME, make=distinct_make),
    row("min", lambda x, **k: mx.min(x, **k), lambda x, **k: np.min(x, **k),
        dtypes=FLOATS + INTS + ("bool",), out_dtype=SAME, make=distinct_make),
    row("all", lambda x, **k: mx.all(x, **k), lambda x, **k: np.all(x, **k),
        dtypes=("bool", "int32", "uint8", "float32", "float16", "complex64"),
        out_dtype=lambda d, k: "bool", grad=False),
    row("any", lambda x, **k: mx.any(x, **k), lambda x, **k: np.any(x, **k),
        dtypes=("bool", "int32", "uint8", "float32", "float16", "complex64"),
        out_dtype=lambda d, k: "bool", grad=False),
    row("argmax", lambda x, **k: mx.argmax(x, **k), lambda x, **k: np.argmax(x, **k),
        kwargs=[dict(), dict(axis=0), dict(axis=-1), dict(axis=1, keepdims=True),
                dict(keepdims=True)],
        dtypes=FLOATS + ("int32", "uint8", "int64", "bool"), make=distinct_make,
        out_dtype=lambda d, k: "uint32", grad=False),
    row("argmin", lambda x, **k: mx.argmin(x, **k), lambda x, **k: np.argmin(x, **k),
        kwargs=[dict(), dict(axis=0), dict(axis=-1), dict(axis=-2, keepdims=True)],
        dtypes=FLOATS + ("int32", "int8"), make=distinct_make, out_dtype=lambda d, k: "uint32",
        grad=False),
    row("logsumexp", lambda x, **k: mx.logsumexp(x, **k), _logsumexp,
        dtypes=FLOATS + ("int32",),
        out_dtype=lambda d, k: d[0] if d[0] in FLOATS else "float32", rtol=1e-5, atol=1e-5),
    row("softmax", lambda x, **k: mx.softmax(x, **k), _softmax,
        kwargs=[dict(), dict(axis=-1), dict(axis=0), dict(axis=(0, 1)), dict(axis=(-1, 0))],
        dtypes=FLOATS, out_dtype=SAME, rtol=1e-5, atol=1e-6),
    row("softmax_precise", lambda x, **k: mx.softmax(x, precise=True, **k), _softmax,
        kwargs=[dict(axis=-1), dict(axis=0)], dtypes=FLOATS + ("int32",),
        out_dtype=lambda d, k: d[0] if d[0] in FLOATS else "float32", rtol=1e-5, atol=1e-6),
    row("cumsum", lambda x, **k: mx.cumsum(x, **k), lambda x, **k: _cum(np.cumsum, x, **k),
        kwargs=SCAN_KW, valid=_scan_ok, dtypes=SCAN_DTYPES + ("complex64",),
        out_dtype=_scan_dtype, rtol=1e-5, atol=1e-5),
    row("cumprod", lambda x, **k: mx.cumprod(x, **k), lambda x, **k: _cum(np.cumprod, x, **k),
        kwargs=SCAN_KW, valid=_scan_ok, dtypes=SCAN_DTYPES, out_dtype=_scan_dtype,
        make=nonzero_make, rtol=1e-4, atol=1e-5),
    row("cummax", lambda x, **k: mx.cummax(x, **k),
        lambda x, **k: _cum(np.maximum.accumulate, x, **k), kwargs=SCAN_KW, valid=_scan_ok,
        dtypes=SCAN_DTYPES, out_dtype=SAME, make=distinct_make),
    row("cummin", lambda x, **k: mx.cummin(x, **k),
        lambda x, **k: _cum(np.minimum.accumulate, x, **k), kwargs=SCAN_KW, valid=_scan_ok,
        dtypes=SCAN_DTYPES, out_dtype=SAME, make=distinct_make),
]


# ---- issue 9: logcumsumexp, count_nonzero, median ----
def _logcumsumexp(x, axis=None, reverse=False, inclusive=True):
    if axis is None:
        x, axis = x.reshape(-1), 0
    x = np.asarray(x, np.float64)
    if reverse:
        x = np.flip(x, axis)
    r = np.logaddexp.accumulate(x, axis=axis)
    if not inclusive:
        pad = [(0, 0)] * x.ndim
        pad[axis] = (1, 0)
        r = np.take(np.pad(r, pad, constant_values=-np.inf), np.arange(x.shape[axis]), axis=axis)
    return np.flip(r, axis) if reverse else r


def _logcumsumexp_make(rng, shapes, dtype):
    # Values spread over a wide range: a shift by the maximum would lose the small ones.
    return [(rng.standard_normal(s) * 30).astype(np_dtype(dtype)) for s in shapes]


ROWS += [
    row("logcumsumexp", lambda x, **k: mx.logcumsumexp(x, **k), _logcumsumexp,
        kwargs=SCAN_KW, valid=_scan_ok, dtypes=("float32", "float64", "float16", "int32"),
        out_dtype=lambda d, k: d[0] if d[0] in FLOATS else "float32",
        make=_logcumsumexp_make, rtol=1e-5, atol=1e-5,
        tols={"float16": (2e-3, 2e-2)}),
    row("method_logcumsumexp", lambda x: x.logcumsumexp(axis=0, reverse=True),
        lambda x: _logcumsumexp(x, axis=0, reverse=True), kwargs=[dict()],
        shapes=[((3, 4),)], out_dtype=SAME),
    row("count_nonzero", lambda x, **k: mx.count_nonzero(x, **k),
        lambda x, **k: np.asarray(np.count_nonzero(x, **k)),
        kwargs=[dict(), dict(axis=0), dict(axis=(0, -1)), dict(axis=1, keepdims=True)],
        valid=_axes_ok, dtypes=("float32", "int32", "bool", "uint8"),
        out_dtype=lambda d, k: "int32", make=lambda rng, shapes, dtype: [
            (rng.integers(0, 3, size=s) * (rng.random(s) > 0.5)).astype(np_dtype(dtype))
            for s in shapes],
        grad=False, smooth=False),
    row("minmax", lambda x, **k: mx.stack(mx.minmax(x, **k)),
        lambda x, **k: np.stack([np.min(x, **k), np.max(x, **k)]),
        dtypes=("float32", "float64", "int32"), out_dtype=SAME, make=distinct_make,
        valid=lambda s, k: _axes_ok(s, k) and k.get("axis") != () and 0 not in s[0]),
    row("median", lambda x, **k: mx.median(x, **k), lambda x, **k: np.median(x, **k),
        kwargs=[dict(), dict(axis=0), dict(axis=-1), dict(axis=(0, 1)), dict(axis=1, keepdims=True)],
        valid=_axes_ok, dtypes=("float32", "float64", "int32"),
        out_dtype=lambda d, k: d[0] if d[0] in FLOATS else "float32", make=distinct_make,
        smooth=False),
]
