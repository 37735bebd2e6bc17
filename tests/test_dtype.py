"""dtypes: names, sizes, and the promotion table, checked both through mx.promote_types and
through the dtype of real op results. The expected table is numpy's, with the deviations
ember shares with mlx (see op_table.expected_promote): integers joining a float take the
float's dtype, int64 / signed ints with uint64 give float32, float16 with bfloat16 gives
float32, and complex is always complex64."""
import itertools

import numpy as np
import pytest

import ember.core as mx
from op_table import ALL_DTYPES, FLOATS, expected_promote

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
    inexact = want if want in FLOATS or want == "complex64" else "float32"
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


def test_default_dtypes():
    """Where ember's defaults differ from numpy's (int64 / float64), following mlx."""
    assert mx.array(1).dtype == mx.int32 and np.array(1).dtype == np.int64
    assert mx.array(1.0).dtype == mx.float32 and mx.array([1.0, 2]).dtype == mx.float32
    assert mx.array(2**40).dtype == mx.int64  # too large for int32
    assert mx.arange(3).dtype == mx.int32 and mx.arange(0.0, 1.0, 0.5).dtype == mx.float32
    assert mx.zeros((2,)).dtype == mx.float32 and mx.ones((2,)).dtype == mx.float32
    assert mx.full((2,), 3).dtype == mx.int32 and mx.full((2,), 3.0).dtype == mx.float32
    assert mx.full((2,), True).dtype == mx.bool_
    assert mx.linspace(0, 1, 3).dtype == mx.float32
    assert mx.eye(2).dtype == mx.float32 and mx.tri(2).dtype == mx.float32
    assert mx.array(np.zeros(2)).dtype == mx.float32  # numpy float64 too (mlx); others kept
    assert mx.array(np.zeros(2, np.int64)).dtype == mx.int64
    assert mx.zeros_like(mx.array([1], mx.uint16)).dtype == mx.uint16


CATEGORIES = {
    "bool": {"generic"},
    "int8": {"generic", "number", "integer", "signedinteger"},
    "int64": {"generic", "number", "integer", "signedinteger"},
    "uint8": {"generic", "number", "integer", "unsignedinteger"},
    "uint64": {"generic", "number", "integer", "unsignedinteger"},
    "float16": {"generic", "number", "inexact", "floating"},
    "bfloat16": {"generic", "number", "inexact", "floating"},
    "float64": {"generic", "number", "inexact", "floating"},
    "complex64": {"generic", "number", "inexact", "complexfloating"},
}
ALL_CATEGORIES = ("generic", "number", "integer", "signedinteger", "unsignedinteger", "inexact",
                  "floating", "complexfloating")


@pytest.mark.parametrize("name", sorted(CATEGORIES))
def test_issubdtype(name):
    for c in ALL_CATEGORIES:
        assert mx.issubdtype(dt(name), getattr(mx, c)) == (c in CATEGORIES[name]), (name, c)
    assert mx.issubdtype(dt(name), dt(name))
    assert not mx.issubdtype(dt(name), mx.float32 if name != "float32" else mx.int32)


def test_category_tree():
    assert mx.issubdtype(mx.floating, mx.inexact) and mx.issubdtype(mx.inexact, mx.number)
    assert mx.issubdtype(mx.signedinteger, mx.integer) and mx.issubdtype(mx.integer, mx.generic)
    assert not mx.issubdtype(mx.integer, mx.floating)
    assert not mx.issubdtype(mx.number, mx.integer)
    assert not mx.issubdtype(mx.floating, mx.float32)
    assert str(mx.floating) == "floating" and repr(mx.integer) == "ember.core.integer"


@pytest.mark.parametrize("name,big", [("float16", 65504.0), ("bfloat16", 3.3895313892515355e38),
                                      ("float32", float(np.finfo(np.float32).max)),
                                      ("float64", float(np.finfo(np.float64).max))])
def test_nan_to_num_defaults_depend_on_dtype(name, big):
    x = mx.array([float("nan"), float("inf"), -float("inf"), 1.5], dtype=dt(name))
    y = mx.nan_to_num(x)
    assert y.dtype == dt(name)
    assert y.tolist() == [0.0, big, -big, 1.5]
    assert mx.nan_to_num(mx.array([1, 2])).tolist() == [1, 2]
