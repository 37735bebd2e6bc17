"""The Python array API: construction from Python and numpy values, properties, conversion
back to Python and numpy, printing, pickling, and operators with weakly typed scalars."""
import copy
import math
import operator
import pickle

import ml_dtypes
import numpy as np
import pytest

import ember.core as mx
from op_table import ALL_DTYPES, np_dtype

DTYPES = [getattr(mx, "bool_" if d == "bool" else d) for d in ALL_DTYPES]


def _np_values(dtype_name, shape=(2, 3), seed=0):
    rng = np.random.default_rng(seed)
    if dtype_name == "bool":
        return rng.random(shape) > 0.5
    if dtype_name.startswith(("int", "uint")):
        return rng.integers(0, 100, size=shape).astype(dtype_name)
    if dtype_name == "complex64":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    return rng.standard_normal(shape).astype(np_dtype(dtype_name))


def _as_f64(x):
    return np.asarray(x).astype(np.complex128 if np.asarray(x).dtype.kind == "c" else np.float64)


# ---- construction -------------------------------------------------------------------------
@pytest.mark.parametrize("value,dtype,pyvalue", [
    (1, mx.int32, 1), (-7, mx.int32, -7), (1.5, mx.float32, 1.5), (True, mx.bool_, True),
    (1 + 2j, mx.complex64, 1 + 2j), (2**40, mx.int64, 2**40), (-(2**40), mx.int64, -(2**40)),
    (2**63, mx.uint64, 2**63),
])
def test_scalar_construction(value, dtype, pyvalue):
    a = mx.array(value)
    assert a.dtype == dtype and a.shape == () and a.ndim == 0 and a.size == 1
    assert a.item() == pyvalue
    assert type(a.item()) is type(pyvalue)


def test_scalar_with_dtype():
    assert mx.array(1, dtype=mx.float16).dtype == mx.float16
    assert mx.array(1.7, mx.int32).item() == 1
    assert mx.array(0.1, mx.float64).item() == 0.1
    assert mx.array(3, mx.bfloat16).item() == 3.0


def test_int_too_large():
    with pytest.raises(OverflowError, match=r"\[array\].*too large"):
        mx.array(2**64)
    with pytest.raises(OverflowError, match=r"\[array\].*no integer dtype"):
        mx.array([-1, 2**63])


def test_numpy_byte_order():
    x = np.array([1, -2, 3], dtype=">i4")
    a = mx.array(x)
    assert a.dtype == mx.int32 and a.tolist() == [1, -2, 3]
    assert mx.array(np.array([1.5], dtype=">f8")).tolist() == [1.5]


@pytest.mark.parametrize("value,dtype,shape", [
    ([1, 2, 3], mx.int32, (3,)), ([1, 2.5], mx.float32, (2,)), ([True, False], mx.bool_, (2,)),
    ([True, 2], mx.int32, (2,)), ([1, 2j], mx.complex64, (2,)),
    ([[1, 2], [3, 4]], mx.int32, (2, 2)),
    (((1, 2), [3, 4]), mx.int32, (2, 2)), ((1.0, 2.0), mx.float32, (2,)), ([], mx.float32, (0,)),
    ([[]], mx.float32, (1, 0)), ([[[1], [2]]], mx.int32, (1, 2, 1)), ([2**40, 1], mx.int64, (2,)),
    ([1, 2**63], mx.uint64, (2,)),
])
def test_list_construction(value, dtype, shape):
    a = mx.array(value)
    assert a.dtype == dtype and a.shape == shape
    np.testing.assert_array_equal(np.asarray(a), np.array(value).reshape(shape))


def test_list_with_dtype():
    a = mx.array([[1, 2], [3, 4]], dtype=mx.float64)
    assert a.dtype == mx.float64
    assert a.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert mx.array([0.5, 1.5], mx.int8).tolist() == [0, 1]


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_numpy_construction_keeps_dtype(name):
    x = _np_values(name)
    a = mx.array(x)
    # float64 becomes float32 unless asked for, as in MLX; every other dtype is kept
    if name == "float64":
        assert a.dtype == mx.float32
        a = mx.array(x, dtype=mx.float64)
    assert str(a.dtype) == name
    assert a.shape == x.shape
    np.testing.assert_array_equal(_as_f64(a), _as_f64(x))


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_numpy_construction_with_dtype(name):
    x = _np_values("float64")
    if name.startswith("uint"):
        x = np.abs(x)
    target = getattr(mx, "bool_" if name == "bool" else name)
    a = mx.array(x, dtype=target)
    assert a.dtype == target
    expected = x.astype(np_dtype(name))
    np.testing.assert_array_equal(_as_f64(a), _as_f64(expected))


def test_numpy_float64_and_complex128():
    assert mx.array(np.array([1.5])).dtype == mx.float32  # float64 -> float32, as in MLX
    assert mx.array(np.array([1.5]), dtype=mx.float64).dtype == mx.float64
    c = mx.array(np.array([1 + 2j, 3 - 1j]))  # complex128 is stored as complex64
    assert c.dtype == mx.complex64
    np.testing.assert_array_equal(np.asarray(c), np.array([1 + 2j, 3 - 1j], np.complex64))


@pytest.mark.parametrize("view", [
    lambda x: x.T, lambda x: x[:, ::2], lambda x: x[::-1], lambda x: x[1:, 1:3],
    lambda x: np.broadcast_to(x[:1], x.shape), lambda x: x.reshape(3, 4)[:, 1],
], ids=["T", "step", "reversed", "offset", "broadcast", "column"])
def test_numpy_noncontiguous_views(view):
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = view(base)
    a = mx.array(x)
    assert a.shape == x.shape
    np.testing.assert_array_equal(np.asarray(a), x)


def test_numpy_zero_dim_and_empty():
    a = mx.array(np.array(3.5, dtype=np.float32))
    assert a.shape == () and a.item() == 3.5
    e = mx.array(np.zeros((0, 3), np.int8))
    assert e.shape == (0, 3) and e.dtype == mx.int8 and e.size == 0
    assert np.asarray(e).shape == (0, 3)


def test_numpy_scalars():
    assert mx.array(np.float32(2)).dtype == mx.float32
    assert mx.array(np.float64(2)).dtype == mx.float32  # a Python float subclass, as in MLX
    assert mx.array(np.int64(2)).dtype == mx.int64
    assert mx.array(np.uint8(200)).item() == 200
    assert mx.array(np.bool_(True)).dtype == mx.bool_


def test_bfloat16_from_ml_dtypes():
    x = np.array([1.0, 2.5, -3.0], dtype=ml_dtypes.bfloat16)
    a = mx.array(x)
    assert a.dtype == mx.bfloat16
    assert a.tolist() == [1.0, 2.5, -3.0]
    assert mx.array(x, dtype=mx.float32).dtype == mx.float32


def test_from_arrays_is_a_stack():
    a = mx.array([mx.array([1, 2]), mx.array([3, 4])])
    assert a.shape == (2, 2) and a.dtype == mx.int32
    assert a.tolist() == [[1, 2], [3, 4]]
    b = mx.array([mx.array(1.0), mx.array(2.0), mx.array(3.0)])
    assert b.shape == (3,) and b.tolist() == [1.0, 2.0, 3.0]
    # differentiable: the gradient flows back into each piece
    g = mx.grad(lambda x: mx.sum(mx.array([mx.sin(x), mx.cos(x)]) * mx.array([1.0, 2.0])))(
        mx.array(0.5))
    assert math.isclose(g.item(), math.cos(0.5) - 2 * math.sin(0.5), rel_tol=1e-6)


def test_from_array_copies_reference():
    a = mx.array([1.0, 2.0])
    b = mx.array(a)
    assert b.tolist() == [1.0, 2.0]
    assert mx.array(a, dtype=mx.int32).dtype == mx.int32


@pytest.mark.parametrize("bad,err,match", [
    ([[1, 2], [3]], ValueError, "ragged"), ([[1, 2], 3], ValueError, "ragged"),
    ([1, [2]], ValueError, "ragged"), (object(), TypeError, "Cannot convert"),
    ([1, "a"], TypeError, "Cannot convert"), (None, TypeError, "Cannot convert"),
    ("abc", TypeError, "Cannot convert"),
])
def test_bad_construction(bad, err, match):
    with pytest.raises(err, match=match):
        mx.array(bad)


# ---- properties ---------------------------------------------------------------------------
@pytest.mark.parametrize("name,itemsize", [
    ("bool", 1), ("int8", 1), ("uint16", 2), ("float16", 2), ("bfloat16", 2), ("int32", 4),
    ("float32", 4), ("int64", 8), ("float64", 8), ("complex64", 8),
])
def test_properties(name, itemsize):
    dt = getattr(mx, "bool_" if name == "bool" else name)
    a = mx.zeros((2, 3, 4), dtype=dt)
    assert a.shape == (2, 3, 4) and isinstance(a.shape, tuple)
    assert a.ndim == 3 and a.size == 24 and a.dtype == dt
    assert a.itemsize == itemsize and a.nbytes == 24 * itemsize
    assert dt.size == itemsize


def test_transpose_property():
    x = np.arange(24).reshape(2, 3, 4).astype(np.float32)
    a = mx.array(x)
    assert a.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(np.asarray(a.T), x.T)
    assert mx.array([1, 2]).T.tolist() == [1, 2]


# ---- back to Python -----------------------------------------------------------------------
def test_item():
    assert mx.array([[7]]).item() == 7
    assert isinstance(mx.array(2, mx.uint64).item(), int)
    assert mx.array(2**63, mx.uint64).item() == 2**63
    assert mx.array(True).item() is True
    assert mx.array(1.5, mx.bfloat16).item() == 1.5
    assert mx.array(1 - 2j).item() == 1 - 2j
    with pytest.raises(ValueError, match=r"\[item\].*one element.*\(2,\)"):
        mx.array([1, 2]).item()


def test_tolist():
    assert mx.array([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert mx.array(2).tolist() == 2
    assert mx.array([True, False]).tolist() == [True, False]
    assert mx.array([1.5, 2.0], mx.bfloat16).tolist() == [1.5, 2.0]
    assert mx.zeros((2, 0)).tolist() == [[], []]
    lst = mx.array([[1, 2]], mx.int64).tolist()
    assert type(lst[0][0]) is int


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_astype(name):
    x = mx.array([0.0, 1.5, 2.0, 7.25])
    dt = getattr(mx, "bool_" if name == "bool" else name)
    y = x.astype(dt)
    assert y.dtype == dt
    expected = np.array([0.0, 1.5, 2.0, 7.25]).astype(np_dtype(name))
    np.testing.assert_array_equal(_as_f64(y), _as_f64(expected))


def test_numpy_view_is_read_only():
    a = mx.array([1, 2, 3])
    v = np.asarray(a)
    assert not v.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        v[0] = 10
    assert a.tolist() == [1, 2, 3]
    c = np.array(a)  # np.array copies: writable, and independent of a
    assert c.flags.writeable
    c[0] = 10
    assert a.tolist() == [1, 2, 3]


def test_numpy_view_keeps_array_alive():
    v = np.asarray(mx.arange(5) * 2)
    import gc

    gc.collect()
    np.testing.assert_array_equal(v, [0, 2, 4, 6, 8])


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_to_numpy_all_dtypes(name):
    x = _np_values(name)
    a = mx.array(x, dtype=mx.float64) if name == "float64" else mx.array(x)
    n = np.asarray(a)
    assert n.shape == x.shape
    # numpy has no bfloat16 of its own: ember gives float32 values
    assert n.dtype == (np.float32 if name == "bfloat16" else np_dtype(name))
    np.testing.assert_array_equal(_as_f64(n), _as_f64(x))


def test_array_protocol_dtype_and_copy():
    a = mx.array([1, 2, 3])
    assert np.asarray(a, dtype=np.float64).dtype == np.float64
    assert a.__array__(np.float64).tolist() == [1.0, 2.0, 3.0]
    c = a.__array__(copy=True)
    assert c.flags.writeable
    v = np.asarray(a, copy=False)  # no copy needed: a view
    assert not v.flags.writeable
    with pytest.raises(ValueError, match="copy"):
        np.asarray(a, dtype=np.float64, copy=False)
    with pytest.raises(ValueError, match="copy"):
        np.asarray(mx.array([1.0], mx.bfloat16), copy=False)


def test_numpy_of_views():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    a = mx.array(x)
    np.testing.assert_array_equal(np.asarray(a.T), x.T)
    np.testing.assert_array_equal(np.asarray(mx.broadcast_to(mx.array([1, 2]), (3, 2))),
                                  np.broadcast_to([1, 2], (3, 2)))
    # negative strides and offsets
    np.testing.assert_array_equal(np.asarray(a[:, ::-1]), x[:, ::-1])
    np.testing.assert_array_equal(np.asarray(a[1:, 1::2]), x[1:, 1::2])
    b = mx.array(x, mx.bfloat16)[::-1, ::2]
    assert pickle.loads(pickle.dumps(b)).tolist() == x[::-1, ::2].tolist()
    assert pickle.loads(pickle.dumps(b)).dtype == mx.bfloat16


# ---- Python protocols ---------------------------------------------------------------------
def test_len_and_iteration():
    a = mx.array([[1, 2], [3, 4], [5, 6]])
    assert len(a) == 3
    rows = list(a)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    assert [x.item() for x in mx.array([4, 5])] == [4, 5]
    assert list(mx.zeros((0, 2))) == []
    with pytest.raises(TypeError, match="0-d"):
        len(mx.array(1))
    with pytest.raises(TypeError, match="0-d"):
        iter(mx.array(1))


def test_scalar_conversions():
    assert bool(mx.array(0)) is False and bool(mx.array([2.5])) is True
    assert bool(mx.array(True)) is True
    assert int(mx.array(2.7)) == 2 and int(mx.array(-3)) == -3
    assert float(mx.array(3)) == 3.0 and isinstance(float(mx.array(3)), float)
    assert operator.index(mx.array(3)) == 3
    assert [10, 20, 30][mx.array(1)] == 20
    assert operator.index(mx.array(True)) == 1
    with pytest.raises(TypeError, match="integer"):
        operator.index(mx.array(3.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mx.array([1, 2]))
    with pytest.raises(ValueError, match="one element"):
        float(mx.array([1.0, 2.0]))
    if mx.array([1.0]) > 0:  # a 1-element comparison in an if
        pass
    else:
        pytest.fail("mx.array([1.0]) > 0 should be true")


def test_format():
    assert f"{mx.array(1.5):.2f}" == "1.50"
    assert f"{mx.array(7):04d}" == "0007"
    assert f"{mx.array([1, 2])}" == "array([1, 2], dtype=int32)"
    with pytest.raises(TypeError):
        f"{mx.array([1.5, 2.5]):.2f}"


@pytest.mark.parametrize("make,text", [
    (lambda: mx.array([1, 2]), "array([1, 2], dtype=int32)"),
    (lambda: mx.array(3), "array(3, dtype=int32)"),
    (lambda: mx.array([1.5, 2.0]), "array([1.5, 2. ], dtype=float32)"),
    (lambda: mx.array(0.25, mx.float64), "array(0.25, dtype=float64)"),
    (lambda: mx.array([True, False]), "array([ True, False], dtype=bool)"),
    (lambda: mx.array([1.5, -2.0], mx.bfloat16), "array([ 1.5, -2. ], dtype=bfloat16)"),
    (lambda: mx.array([1.5], mx.float16), "array([1.5], dtype=float16)"),
    (lambda: mx.array([1 + 2j]), "array([1.+2.j], dtype=complex64)"),
    (lambda: mx.zeros((0, 3)), "array([], shape=(0, 3), dtype=float32)"),
    (lambda: mx.array([[1, 2], [3, 4]], mx.uint8),
     "array([[1, 2],\n       [3, 4]], dtype=uint8)"),
])
def test_repr(make, text):
    assert repr(make()) == text
    assert str(make()) == text


def test_repr_large_is_summarized():
    r = repr(mx.arange(2000))
    assert r.startswith("array([   0,    1,    2, ...") and r.endswith("dtype=int32)")
    assert len(r) < 200


def test_repr_of_lazy_array_evaluates_it():
    x = mx.array([1.0, 2.0])
    assert repr(mx.exp(x * 0)) == "array([1., 1.], dtype=float32)"


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_pickle_round_trip(name):
    a = mx.array(_np_values(name, (3, 2)))
    b = pickle.loads(pickle.dumps(a))
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(_as_f64(b), _as_f64(a))


def test_pickle_views_and_copies():
    a = mx.array(np.arange(6, dtype=np.float32).reshape(2, 3)).T  # a non-contiguous view
    b = pickle.loads(pickle.dumps(a))
    assert b.tolist() == a.tolist()
    c, d = copy.copy(a), copy.deepcopy(a)
    assert c.tolist() == a.tolist() and d.tolist() == a.tolist()
    e = pickle.loads(pickle.dumps(mx.array(2.5)))
    assert e.shape == () and e.item() == 2.5


# ---- operators ----------------------------------------------------------------------------
@pytest.mark.parametrize("make,dtype", [
    (lambda: mx.array([1.0], mx.float16) * 2.0, mx.float16),
    (lambda: mx.array([1.0], mx.bfloat16) + 1, mx.bfloat16),
    (lambda: mx.array([1], mx.int32) + 1.5, mx.float32),
    (lambda: mx.array([1], mx.int64) * 2.5, mx.float32),
    (lambda: mx.array([1], mx.uint8) + 1, mx.uint8),
    (lambda: mx.array([1], mx.int8) - 1, mx.int8),
    (lambda: mx.array([True]) + 1, mx.int32),
    (lambda: mx.array([True]) + 1.0, mx.float32),
    (lambda: mx.array([True]) & True, mx.bool_),
    (lambda: mx.array([1], mx.int16) + True, mx.int16),
    (lambda: mx.array([1.0], mx.float64) + 1, mx.float64),
    (lambda: mx.array([1.0], mx.float16) + 1j, mx.complex64),
    (lambda: mx.array([1], mx.uint8) / 2, mx.float32),
    (lambda: mx.array([1.0], mx.float16) / 2, mx.float16),
    (lambda: 2.0 * mx.array([1.0], mx.float16), mx.float16),
    (lambda: 1 - mx.array([1], mx.uint16), mx.uint16),
    (lambda: mx.array([1.0], mx.float32) + np.float64(2), mx.float32),
    (lambda: mx.array([1.0], mx.float16) + mx.array(2.0), mx.float32),  # arrays are strong
    (lambda: mx.array([1], mx.int8) + mx.array(2), mx.int32),
    (lambda: mx.array([1.0], mx.float16) < 2.5, mx.bool_),
])
def test_weak_scalars(make, dtype):
    assert make().dtype == dtype


def test_weak_scalar_values():
    assert (mx.array([1.0], mx.float16) * 2.0).item() == 2.0
    assert (mx.array([1], mx.int32) + 1.5).item() == 2.5
    assert (mx.array([255], mx.uint8) + 1).item() == 0  # wraps in uint8, like numpy's arrays
    assert (mx.array([True]) + 1).item() == 2


@pytest.mark.parametrize("op,name", [
    (operator.add, "add"), (operator.sub, "sub"), (operator.mul, "mul"),
    (operator.truediv, "truediv"), (operator.floordiv, "floordiv"), (operator.mod, "mod"),
    (operator.pow, "pow"),
])
def test_arithmetic_operators(op, name):
    x = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.25]], np.float32)
    y = np.array([2.0, -1.5, 0.75], np.float32)
    if name == "pow":
        x = np.abs(x)
    a, b = mx.array(x), mx.array(y)
    np.testing.assert_allclose(np.asarray(op(a, b)), op(x, y), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(op(a, 2.0)), op(x, np.float32(2.0)), rtol=1e-6)
    # reflected: Python scalar on the left
    np.testing.assert_allclose(np.asarray(op(3.0, a)), op(np.float32(3.0), x), rtol=1e-6)


def test_reflected_operators():
    x = mx.array([1, 2, 4])
    assert (2 - x).tolist() == [1, 0, -2]
    assert (8 / x).tolist() == [8.0, 4.0, 2.0]
    assert (9 // x).tolist() == [9, 4, 2]
    assert (9 % x).tolist() == [0, 1, 1]
    assert (2 ** x).tolist() == [2, 4, 16]
    assert (1 << x).tolist() == [2, 4, 16]
    assert (64 >> x).tolist() == [32, 16, 4]
    assert (6 & x).tolist() == [0, 2, 4]
    assert (1 | x).tolist() == [1, 3, 5]
    assert (3 ^ x).tolist() == [2, 1, 7]
    assert ([1, 1, 1] + x).tolist() == [2, 3, 5]


def test_numpy_operand_defers_to_ember():
    x = mx.array([1.0, 2.0])
    r = np.array([1.0, 1.0], np.float32) + x
    assert isinstance(r, mx.array) and r.tolist() == [2.0, 3.0]
    r = x + np.array([1.0, 1.0], np.float32)
    assert isinstance(r, mx.array) and r.tolist() == [2.0, 3.0]


def test_unary_operators():
    x = mx.array([1, -2, 3])
    assert (-x).tolist() == [-1, 2, -3]
    assert (+x).tolist() == [1, -2, 3]
    assert abs(x).tolist() == [1, 2, 3]
    assert (~x).tolist() == [-2, 1, -4]
    assert (~mx.array([True, False])).tolist() == [False, True]
    with pytest.raises(TypeError, match="bitwise_invert"):
        ~mx.array([1.0])


def test_comparison_operators():
    x = mx.array([1, 2, 3])
    assert (x < 2).tolist() == [True, False, False]
    assert (x <= 2).tolist() == [True, True, False]
    assert (x > 2).tolist() == [False, False, True]
    assert (x >= 2).tolist() == [False, True, True]
    assert (x == 2).tolist() == [False, True, False]
    assert (x != 2).tolist() == [True, False, True]
    assert (2 < x).tolist() == [False, False, True]  # reflected through __gt__
    assert (x == mx.array([1, 0, 3])).tolist() == [True, False, True]
    assert (x == x).dtype == mx.bool_
    assert (x == None) is False  # noqa: E711 - not an elementwise comparison
    assert (x != None) is True  # noqa: E711
    assert (x == "a") is False


def test_matmul_and_bitwise_operators():
    a = mx.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(np.asarray(a @ a), np.array([[7.0, 10.0], [15.0, 22.0]]))
    np.testing.assert_allclose(np.asarray(a @ [1.0, 1.0]), [3.0, 7.0])
    i = mx.array([12, 10], mx.uint8)
    assert (i & 6).tolist() == [4, 2]
    assert (i | 1).tolist() == [13, 11]
    assert (i ^ 15).tolist() == [3, 5]
    assert (i << 1).tolist() == [24, 20]
    assert (i >> 2).tolist() == [3, 2]
    assert (i & 6).dtype == mx.uint8


def test_unsupported_operand():
    x = mx.array([1.0])
    with pytest.raises(TypeError, match="unsupported operand"):
        x + "a"
    with pytest.raises(TypeError, match="unsupported operand"):
        object() * x


def test_in_place_operators_rebind():
    x = mx.array([1.0, 2.0])
    y = x
    x += 1
    x *= 2
    assert x.tolist() == [4.0, 6.0]
    assert y.tolist() == [1.0, 2.0]  # arrays are immutable values


def test_hashable_and_dtype_equality():
    a = mx.array([1.0])
    assert {a: 1}[a] == 1
    assert mx.float32 == mx.float32 and mx.float32 != mx.float16
    assert {mx.int8: 1}[mx.int8] == 1


def test_repr_inside_vmap_shows_traced_value():
    seen = []

    def f(x):
        seen.append(repr(x))
        return x * 2

    mx.vmap(f)(mx.ones((2, 3)))
    assert seen == ["array(<traced>, shape=(3,), dtype=float32)"]


def test_methods_mirror_module_functions():
    x = mx.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    n = np.asarray(x)
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.reshape([2, 1, 3]).shape == (2, 1, 3)
    assert x.transpose().shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)
    assert x.transpose((1, 0)).tolist() == n.T.tolist()
    assert x.flatten().tolist() == n.reshape(-1).tolist()
    assert x.swapaxes(0, 1).shape == (3, 2) and x.moveaxis(0, 1).shape == (3, 2)
    assert x.reshape(1, 2, 3).squeeze().shape == (2, 3)
    assert x.abs().tolist() == np.abs(n).tolist()
    assert x.square().tolist() == np.square(n).tolist()
    np.testing.assert_allclose(np.asarray(x.abs().sqrt()), np.sqrt(np.abs(n)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(x.exp()), np.exp(n), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(x.sin()), np.sin(n), rtol=1e-6)
    assert x.round().tolist() == np.round(n).tolist()
    assert x.astype(mx.int32).dtype == mx.int32
    # reductions come from the reduce family
    np.testing.assert_allclose(np.asarray(x.sum(axis=0)), n.sum(axis=0))
    np.testing.assert_allclose(np.asarray(x.mean()), n.mean(), rtol=1e-6)
    assert x.max().item() == 5.0 and x.min(axis=1).tolist() == [-2.0, -6.0]


def test_real_imag_conj():
    z = mx.array([1 + 2j, 3 - 4j])
    assert z.real.tolist() == [1.0, 3.0] and z.real.dtype == mx.float32
    assert z.imag.tolist() == [2.0, -4.0]
    assert mx.conj(z).tolist() == [1 - 2j, 3 + 4j] and mx.conjugate(z).dtype == mx.complex64
    x = mx.array([1.5, 2.0])
    assert x.real.tolist() == [1.5, 2.0] and x.imag.tolist() == [0.0, 0.0]


def test_divmod():
    q, r = mx.divmod(mx.array([7, -7, 7]), mx.array([3, 3, -3]))
    assert q.tolist() == [2, -3, -3] and r.tolist() == [1, 2, -2]
    python = [divmod(a, b) for a, b in [(7, 3), (-7, 3), (7, -3)]]
    assert python == list(zip(q.tolist(), r.tolist()))


def test_dlpack_round_trip():
    a = mx.array([[1.0, 2.0], [3.0, 4.0]])
    assert a.__dlpack_device__() == (1, 0)
    n = np.from_dlpack(a)
    np.testing.assert_array_equal(n, [[1.0, 2.0], [3.0, 4.0]])
    assert not n.flags.writeable  # an ember array cannot be changed through the view
    b = mx.from_dlpack(np.arange(6, dtype=np.int16).reshape(2, 3))
    assert b.dtype == mx.int16 and b.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(b), np.arange(6).reshape(2, 3))
