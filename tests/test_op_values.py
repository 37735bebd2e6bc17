"""Values and dtypes of every op-table row against numpy, over each row's dtypes and cases.

The reference runs in float64 (complex128) on the same input values, then is rounded to the
dtype ember returned; tolerances depend on that dtype (float16 / bfloat16 loose, float64
tight). Integer and bool results must match exactly. The result dtype must be the one the
row's `out_dtype` predicts from ember's rules (see op_table.expected_promote for where they
differ from numpy). test_strided feeds the same ops non-contiguous inputs: transposed views,
step-2 slices with an offset, and broadcast (stride-0) views for the elementwise families.
"""
import zlib

import numpy as np
import pytest

import ember.core as mx
from op_table import ALL_ROWS, FLOATS, default_make, np_dtype, to_mx

# (rtol, atol) by result dtype; float32 uses the row's own rtol / atol.
HALF_TOLS = {"float16": (2e-3, 1e-3), "bfloat16": (1.6e-2, 1e-2)}
FLOAT64_TOLS = (1e-9, 1e-11)
STRIDED_FAMILIES = ("unary", "binary", "creation", "reduce")
STRIDED_CASES = 2


def _shapes_id(shapes):
    return "x".join(str(tuple(s)) for s in shapes)


def _case_id(row, shapes, kw, dtype):
    parts = [row.name]
    if shapes:
        parts += [dtype, _shapes_id(shapes)]
    if kw:
        parts.append(",".join(f"{k}={v}" for k, v in kw.items()))
    return "-".join(parts)


def _value_cases():
    out = []
    for row in ALL_ROWS:
        for shapes, kw in row.cases():
            dtypes = row.dtypes if shapes else (None,)
            for dtype in dtypes:
                case_id = _case_id(row, shapes, kw, dtype)
                out.append(pytest.param(row, shapes, kw, dtype, id=case_id))
    return out


def _seed(*parts):
    return zlib.crc32(repr(parts).encode())


def _name(dtype):
    """ember-style dtype name of a numpy dtype or an ember dtype."""
    s = str(dtype)
    return "bool" if s in ("bool_", "bool") else s


def _kind(name):
    if name == "bool":
        return "bool"
    if name == "complex64" or name.startswith("complex"):
        return "complex"
    if name in FLOATS or name.startswith("float"):
        return "float"
    return "int"


def _tols(row, dtype):
    if row.tols and dtype in row.tols:
        return row.tols[dtype]
    if dtype in HALF_TOLS:
        r, a = HALF_TOLS[dtype]
        return max(r, row.rtol), max(a, row.atol)
    if dtype == "float64":
        return FLOAT64_TOLS
    return row.rtol, row.atol


def _reference_inputs(inputs, dtype, out_kind):
    """Inputs for the numpy reference: floats in float64, complex in complex128; ints and bool
    of the swept dtype also in float64 when ember's result is inexact (sqrt of int8 is
    float32 in ember, float16 in numpy). Other inputs (indices, conditions) stay as they are."""
    ref = []
    for x in inputs:
        x = np.asarray(x)
        n = _name(x.dtype)
        if n in FLOATS:
            ref.append(x.astype(np.float64))
        elif n == "complex64":
            ref.append(x.astype(np.complex128))
        elif n == dtype and out_kind in ("float", "complex"):
            ref.append(x.astype(np.float64))
        else:
            ref.append(x)
    return ref


def check_row(row, shapes, kw, dtype, to_ember=None):
    """Runs one case and compares with numpy. `to_ember(i, x)` may give an ember array (a
    view with other strides) and the numpy values it holds, for the strided variants."""
    rng = np.random.default_rng(_seed(row.name, shapes, dtype))
    make = row.make or default_make
    inputs = list(make(rng, shapes, dtype)) if shapes else []
    ember_inputs = []
    for i, x in enumerate(inputs):
        if to_ember is None:
            ember_inputs.append(to_mx(x))
        else:
            e, inputs[i] = to_ember(i, x)
            ember_inputs.append(e)
    in_dtypes = [_name(np.asarray(x).dtype) for x in inputs]
    out = row.ember(*ember_inputs, **kw)
    assert isinstance(out, mx.array), f"{row.name} returned {type(out).__name__}"
    got_dtype = _name(out.dtype)
    got = np.asarray(out)
    assert got.shape == tuple(out.shape)

    ref_in = _reference_inputs(inputs, dtype, _kind(got_dtype))
    with np.errstate(all="ignore"):
        expected = np.asarray(row.numpy(*ref_in, **kw))
    assert got.shape == expected.shape, f"shape {got.shape} != numpy's {expected.shape}"

    if row.out_dtype is not None:
        want = row.out_dtype(in_dtypes, kw)
        assert got_dtype == want, f"dtype {got_dtype}, expected {want} for inputs {in_dtypes}"
    else:
        # numpy's own result kind on inputs of their own dtypes (e.g. bool for comparisons)
        native = [np.asarray(x) for x in inputs]
        if all(_name(x.dtype) not in ("bfloat16",) for x in native):
            with np.errstate(all="ignore"):
                native_kind = _kind(_name(np.asarray(row.numpy(*native, **kw)).dtype))
            assert _kind(got_dtype) == native_kind, f"dtype {got_dtype}, numpy: {native_kind}"
        floats = {d for d in in_dtypes if d in FLOATS}
        one_float = len(floats) == 1 and len(set(in_dtypes)) == 1
        if one_float and _kind(_name(expected.dtype)) == "float":
            assert got_dtype == in_dtypes[0], f"dtype {got_dtype} for {in_dtypes[0]} inputs"

    kind = _kind(got_dtype)
    with np.errstate(all="ignore"):
        want_vals = expected.astype(np_dtype(got_dtype)) if kind != "complex" else expected
    if kind in ("bool", "int"):
        np.testing.assert_array_equal(got, want_vals)
        return
    rtol, atol = _tols(row, got_dtype)
    wide = np.complex128 if kind == "complex" else np.float64
    if kind == "complex":
        want_vals = want_vals.astype(np.complex64)
    np.testing.assert_allclose(got.astype(wide), np.asarray(want_vals).astype(wide), rtol=rtol,
                               atol=atol, equal_nan=True)


@pytest.mark.parametrize("row,shapes,kw,dtype", _value_cases())
def test_values(row, shapes, kw, dtype, device):
    with mx.stream(device):
        check_row(row, shapes, kw, dtype)


# ---- non-contiguous inputs --------------------------------------------------------------
def transposed(i, x):
    """An ember view with reversed strides holding x's values (x itself when ndim < 2)."""
    x = np.asarray(x)
    if x.ndim < 2:
        return to_mx(x), x
    return to_mx(np.ascontiguousarray(x.T)).T, x


def broadcast_rows(i, x):
    """A stride-0 view along axis 0: every row repeats x[0] (x itself when it has < 2 rows)."""
    x = np.asarray(x)
    if x.ndim < 1 or x.shape[0] < 2:
        return to_mx(x), x
    first = x[:1]
    return mx.broadcast_to(to_mx(first), x.shape), np.broadcast_to(first, x.shape)


def sliced(i, x):
    """A view with step 2 and a nonzero offset along axis 0: x sits at big[1::2] of a larger
    array whose other rows hold garbage (NaN for floats), so reading a wrong row shows."""
    x = np.asarray(x)
    if x.ndim < 1:
        return to_mx(x), x
    big = np.zeros((2 * x.shape[0] + 1,) + x.shape[1:], dtype=x.dtype)
    if x.dtype.kind == "f" or x.dtype.name == "bfloat16":
        big[...] = np.nan
    elif x.dtype.kind in "iu":
        big[...] = 7
    big[1::2] = x
    return to_mx(big)[1::2], x


VARIANTS = {"T": transposed, "bcast": broadcast_rows, "sliced": sliced}


def _strided_cases():
    out = []
    for row in ALL_ROWS:
        variants = ["T", "sliced"]
        if getattr(row, "family", "") in STRIDED_FAMILIES:
            variants.append("bcast")
        dtypes = [d for d in ("float32", "int32") if d in row.dtypes] or list(row.dtypes[:1])
        n = 0
        for shapes, kw in row.cases():
            if not shapes or all(len(s) == 0 for s in shapes):
                continue
            if not any(len(s) >= (2 if v == "T" else 1) for s in shapes for v in variants):
                continue
            n += 1
            if n > STRIDED_CASES:
                break
            for dtype in dtypes:
                for v in variants:
                    if v == "T" and not any(len(s) >= 2 for s in shapes):
                        continue
                    out.append(pytest.param(row, shapes, kw, dtype, v,
                                            id=_case_id(row, shapes, kw, dtype) + f"-{v}"))
    return out


@pytest.mark.parametrize("row,shapes,kw,dtype,variant", _strided_cases())
def test_strided(row, shapes, kw, dtype, variant, device):
    with mx.stream(device):
        check_row(row, shapes, kw, dtype, to_ember=VARIANTS[variant])


def test_every_row_has_cases():
    names = [row.name for row in ALL_ROWS]
    assert len(names) == len(set(names)), "duplicate op-table row names"
    for row in ALL_ROWS:
        assert list(row.cases()), f"{row.name} has no valid case"
