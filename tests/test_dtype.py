"""dtypes: names, sizes, and the promotion table, checked both through mx.promote_types and
through the dtype of real op results. The expected table is numpy's, with the deviations
ember shares with mlx (see op_table.expected_promote): integers joining a float take the
float's dtype, int64 / signed ints with uint64 give float32, float16 with bfloat16 gives
float32, and complex is always complex64."""
import itertools

import numpy as np
import pytest

import ember.core as mx
from op_table import ALL_DTYPES, expected_promote

PAIRS = list(itertools.product(ALL_DTYPES, ALL_DTYPES))


def dt(name):
    return getattr(mx, "bool_" if name == "bool" else name)


@pytest.mark.parametrize("name,size", [
    ("bool", 1), ("uint8", 1), ("uint16", 2), ("uint32", 4), ("uint64", 8), ("int8", 1),
    ("int16", 2), ("int32", 4), ("int64", 8), ("float16", 2), ("bfloat16", 2), ("float32", 4),
    ("float64", 8), ("complex64", 8),
])
def test_dtype_names_and_sizes(name, size):
    d = dt(name)
    assert str(d) == name
    assert repr(d) == f"ember.core.{name}"
    assert d.size == size
    assert mx.zeros((1,), dtype=d).dtype == d


def test_dtype_objects():
    assert len({dt(n) for n in ALL_DTYPES}) == len(ALL_DTYPES)
    assert mx.float32 == mx.Dtype.float32
    assert mx.bool_ != mx.uint8


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}+{b}" for a, b in PAIRS])
def test_promote_types(a, b):
    want = expected_promote(a, b)
    assert str(mx.promote_types(dt(a), dt(b))) == want
    assert str(mx.promote_types(dt(b), dt(a))) == want  # symmetric


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}+{b}" for a, b in PAIRS])
def test_op_result_dtypes(a, b):
    """add / multiply / maximum follow the table; divide takes it to a float; comparisons
    give bool."""
    x = mx.ones((2,), dtype=dt(a))
    y = mx.ones((2,), dtype=dt(b))
    want = expected_promote(a, b)
    if not (a == b == "bool"):
        assert str(mx.add(x, y).dtype) == want
        assert str((x * y).dtype) == want
    assert str(mx.where(mx.array([True, False]), x, y).dtype) == want
    inexact = want if want in ("float16", "bfloat16", "float32", "float64", "complex64") else "float32"
    assert str((x / y).dtype) == inexact
    assert (x < y).dtype == mx.bool_
    assert (x == y).dtype == mx.bool_
    # the values survive the promotion: 1 + 1 (bool: 1 | 1)
    total = x | y if a == b == "bool" else mx.add(x, y)
    np.testing.assert_array_equal(np.asarray(total).astype(np.complex128),
                                  [1, 1] if a == b == "bool" else [2, 2])


# The places where ember (like mlx) leaves numpy's table, spelled out.
@pytest.mark.parametrize("a,b,want,numpy_gives", [
    ("int32", "float32", "float32", "float64"),
    ("int64", "float32", "float32", "float64"),
    ("int16", "float16", "float16", "float32"),
    ("uint8", "float16", "float16", "float16"),
    ("int64", "uint64", "float32", "float64"),
    ("int8", "uint64", "float32", "float64"),
    ("float16", "bfloat16", "float32", None),
    ("int32", "bfloat16", "bfloat16", None),
    ("complex64", "float64", "complex64", "complex128"),
    ("complex64", "int64", "complex64", "complex128"),
    ("bool", "int8", "int8", "int8"),
    ("uint8", "int8", "int16", "int16"),
    ("uint32", "int32", "int64", "int64"),
])
def test_deviations_from_numpy(a, b, want, numpy_gives):
    assert str(mx.promote_types(dt(a), dt(b))) == want
    if numpy_gives is not None:
        assert np.promote_types(a, b).name == numpy_gives


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_float_ops_promote_ints_to_float32(name):
    x = mx.ones((2,), dtype=dt(name))
    want = name if name in ("float16", "bfloat16", "float32", "float64", "complex64") else "float32"
    assert str(mx.exp(x).dtype) == want
    assert str(mx.sqrt(x).dtype) == want
    assert str(mx.sin(x).dtype) == want


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_python_scalars_are_weak(name):
    """A Python int keeps the array's dtype (bool + int gives int32); a Python float keeps an
    inexact dtype and turns ints and bool into float32; a bool keeps any dtype."""
    x = mx.ones((2,), dtype=dt(name))
    inexact = name in ("float16", "bfloat16", "float32", "float64", "complex64")
    assert str((x + 1).dtype) == ("int32" if name == "bool" else name)
    assert str((x * 1.5).dtype) == (name if inexact else "float32")
    assert str((x * True).dtype) == name
    assert str((1 + x).dtype) == ("int32" if name == "bool" else name)
    assert str((x * 1j).dtype) == "complex64"
