"""The index ops beyond what the op table checks: sort order details (NaNs last, complex,
stability, strided inputs), partition / argpartition properties, topk edge cases, take /
take_along_axis / put_along_axis argument forms, large inputs (threaded kernel paths),
gradients of the sort family, and the error messages."""
import numpy as np
import pytest

import ember.core as mx


def _np(x):
    return np.asarray(x)


# ---- sort / argsort ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_sort_puts_nans_last(dtype):
    a = np.array([[3.0, np.nan, -1.0, np.inf, 0.0, np.nan, -np.inf, 2.0]] * 2, dtype=dtype)
    np.testing.assert_array_equal(_np(mx.sort(mx.array(a))), np.sort(a))
    np.testing.assert_array_equal(_np(mx.argsort(mx.array(a))), np.argsort(a, kind="stable"))


def test_sort_complex_is_lexicographic():
    rng = np.random.default_rng(0)
    a = (rng.integers(-2, 3, 20) + 1j * rng.integers(-2, 3, 20)).astype(np.complex64)
    np.testing.assert_array_equal(_np(mx.sort(mx.array(a))), np.sort(a))
    np.testing.assert_array_equal(_np(mx.argsort(mx.array(a))), np.argsort(a, kind="stable"))


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_argsort_is_stable(axis):
    a = np.random.default_rng(1).integers(0, 4, size=(30, 40)).astype(np.int16)
    got = mx.argsort(mx.array(a), axis=axis)
    assert got.dtype == mx.uint32
    np.testing.assert_array_equal(_np(got), np.argsort(a, axis=axis, kind="stable"))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_sort_strided_and_large_inputs(axis):
    a = np.random.default_rng(2).standard_normal((60, 70, 50)).astype(np.float32)
    x = mx.array(a)
    # A transposed, reversed view: the kernel reads through strides.
    view = mx.transpose(x, (2, 0, 1))[::-1, 5:, ::3]
    ref = np.transpose(a, (2, 0, 1))[::-1, 5:, ::3]
    np.testing.assert_array_equal(_np(mx.sort(view, axis=axis)), np.sort(ref, axis=axis))
    np.testing.assert_array_equal(_np(mx.argsort(x, axis=axis)), np.argsort(a, axis=axis, kind="stable"))


def test_sort_keeps_dtype_and_handles_tiny_axes():
    for dtype in [mx.int8, mx.uint64, mx.bool_, mx.bfloat16]:
        x = mx.array([[1, 0, 1], [0, 0, 1]]).astype(dtype)
        assert mx.sort(x).dtype == dtype
        np.testing.assert_array_equal(_np(mx.sort(x)).astype(np.float64),
                                      np.sort(_np(x).astype(np.float64)))
    assert mx.sort(mx.zeros((0, 3))).shape == (0, 3)
    assert mx.sort(mx.zeros((3, 0))).shape == (3, 0)
    np.testing.assert_array_equal(_np(mx.argsort(mx.zeros((3, 1)))), np.zeros((3, 1)))


# ---- partition / argpartition / topk ------------------------------------------------------
@pytest.mark.parametrize("kth", [0, 3, 7, -1, -4])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_partition_property(kth, axis):
    a = np.random.default_rng(3).integers(-5, 6, size=(8, 9)).astype(np.float32)
    p = _np(mx.partition(mx.array(a), kth, axis=axis))
    idx = _np(mx.argpartition(mx.array(a), kth, axis=axis))
    assert idx.dtype == np.uint32
    ax = 0 if axis is None else axis
    flat = a.reshape(-1) if axis is None else a
    n = flat.shape[ax]
    k = kth % n
    # The indices are a permutation per line, and they give p.
    line = [1] * flat.ndim
    line[ax] = n
    np.testing.assert_array_equal(np.sort(idx, axis=ax),
                                  np.broadcast_to(np.arange(n).reshape(line), flat.shape))
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.astype(np.int64), axis=ax), p)
    pivot = np.take(p, [k], axis=ax)
    np.testing.assert_array_equal(pivot, np.take(np.sort(flat, axis=ax), [k], axis=ax))
    assert np.all(np.take(p, np.arange(k), axis=ax) <= pivot)
    assert np.all(np.take(p, np.arange(k + 1, n), axis=ax) >= pivot)


def test_topk():
    a = np.random.default_rng(4).standard_normal((5, 30)).astype(np.float32)
    for k in [0, 1, 7, 30]:
        got = mx.topk(mx.array(a), k)
        assert got.shape == (5, k)
        np.testing.assert_array_equal(_np(got), np.sort(a, axis=-1)[:, 30 - k:])
    np.testing.assert_array_equal(_np(mx.topk(mx.array(a), 2, axis=0)), np.sort(a, axis=0)[3:])
    np.testing.assert_array_equal(_np(mx.topk(mx.array(a), 3, axis=None)), np.sort(a, axis=None)[-3:])


# ---- take / take_along_axis / put_along_axis ----------------------------------------------
def test_take_argument_forms():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = mx.array(a)
    np.testing.assert_array_equal(_np(mx.take(x, 5)), np.take(a, 5))
    np.testing.assert_array_equal(_np(mx.take(x, -1, axis=1)), np.take(a, -1, axis=1))
    np.testing.assert_array_equal(_np(mx.take(x, [[0, 3], [-1, 2]], axis=2)),
                                  np.take(a, [[0, 3], [-1, 2]], axis=2))
    np.testing.assert_array_equal(_np(mx.take(x, np.array([1, 0], np.uint8), axis=0)),
                                  np.take(a, [1, 0], axis=0))
    np.testing.assert_array_equal(_np(mx.take(x, mx.array([], mx.int32), axis=1)),
                                  np.take(a, np.array([], np.int64), axis=1))


def test_along_axis_with_axis_none():
    a = np.arange(12.0).reshape(3, 4)
    i = np.array([11, 0, -1, 5])
    np.testing.assert_array_equal(_np(mx.take_along_axis(mx.array(a), mx.array(i), axis=None)),
                                  np.take_along_axis(a, i, axis=None))
    expected = a.copy()
    np.put_along_axis(expected, i, -1.0, axis=None)
    got = mx.put_along_axis(mx.array(a), mx.array(i), -1.0, axis=None)
    assert got.shape == (3, 4)
    np.testing.assert_array_equal(_np(got), expected)


def test_large_gather_and_scatter_paths():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((300, 500)).astype(np.float32)
    i = rng.integers(-300, 300, size=2000)
    np.testing.assert_array_equal(_np(mx.take(mx.array(a), mx.array(i), axis=0)), np.take(a, i, axis=0))
    np.testing.assert_array_equal(_np(mx.take(mx.array(a), mx.array(i % 500), axis=1)),
                                  np.take(a, i % 500, axis=1))
    # Scatter with big slices (split across threads) and repeated rows (last write wins).
    b = rng.standard_normal((4, 20000)).astype(np.float32)
    x = mx.array(b)
    rows = np.array([1, 3, 1])
    vals = rng.standard_normal((3, 20000)).astype(np.float32)
    x[mx.array(rows)] = mx.array(vals)
    expected = b.copy()
    expected[rows] = vals
    np.testing.assert_array_equal(_np(x), expected)


def test_scatter_add_accumulates_through_gather_vjp():
    # The vjp of a gather is a scatter-add: repeated indices accumulate, for every dtype path.
    x = mx.array(np.zeros((4, 3)))
    idx = mx.array([0, 0, 2, 0, 3, 3])
    u = mx.array(np.ones((6, 3)))
    _, (g,) = mx.vjp(lambda x: mx.take(x, idx, axis=0), [x], [u])
    np.testing.assert_array_equal(_np(g), [[3, 3, 3], [0, 0, 0], [1, 1, 1], [2, 2, 2]])


# ---- gradients of the sort family -------------------------------------------------------
def test_sort_and_topk_gradients_route_to_sources():
    a = np.array([[0.3, -1.0, 2.0, 0.1], [5.0, 4.0, -3.0, 1.0]])
    u = np.arange(8.0).reshape(2, 4)
    _, (g,) = mx.vjp(lambda x: mx.sort(x, axis=1), [mx.array(a)], [mx.array(u)])
    order = np.argsort(a, axis=1)
    expected = np.zeros_like(a)
    np.put_along_axis(expected, order, u, axis=1)
    np.testing.assert_array_equal(_np(g), expected)

    ut = np.array([[1.0, 10.0], [100.0, 1000.0]])
    _, (g,) = mx.vjp(lambda x: mx.topk(x, 2, axis=1), [mx.array(a)], [mx.array(ut)])
    expected = np.zeros_like(a)
    np.put_along_axis(expected, order[:, 2:], ut, axis=1)
    np.testing.assert_array_equal(_np(g), expected)

    _, (t,) = mx.jvp(lambda x: mx.sort(x, axis=0), [mx.array(a)], [mx.array(u)])
    np.testing.assert_array_equal(_np(t), np.take_along_axis(u, np.argsort(a, axis=0), axis=0))


def test_argsort_has_zero_gradient():
    a = mx.array([3.0, 1.0, 2.0])
    _, (g,) = mx.vjp(lambda x: x * mx.argsort(x).astype(mx.float32), [a], [mx.array([1.0, 1.0, 1.0])])
    # d/dx (x * c) with c = argsort(x) = [1, 2, 0] held constant.
    np.testing.assert_array_equal(_np(g), [1.0, 2.0, 0.0])


# ---- errors --------------------------------------------------------------------------------
def test_index_op_errors():
    x = mx.array(np.zeros((3, 4), np.float32))
    with pytest.raises(TypeError, match=r"\[take\] Indices must be integers, got float32"):
        mx.take(x, mx.array([1.0]))
    with pytest.raises(TypeError, match=r"\[take_along_axis\] Indices must be integers, got bool"):
        mx.take_along_axis(x, mx.array([[True]]), axis=0)
    with pytest.raises(IndexError, match=r"\[take\]"):
        mx.take(x, 0, axis=2)
    with pytest.raises(ValueError, match=r"\[take_along_axis\] indices must have as many dimensions"):
        mx.take_along_axis(x, mx.array([0, 1]), axis=0)
    with pytest.raises(ValueError, match=r"\[take_along_axis\] With axis=None, indices must be 1-D"):
        mx.take_along_axis(x, mx.array([[0]]), axis=None)
    with pytest.raises(ValueError, match=r"\[put_along_axis\] Cannot broadcast updates of shape \(2, 2\)"):
        mx.put_along_axis(x, mx.array([[0], [1], [2]]), mx.ones((2, 2)), axis=1)
    with pytest.raises(ValueError, match=r"\[argpartition\] kth 4 is out of range for axis 1 of size 4"):
        mx.argpartition(x, 4)
    with pytest.raises(ValueError, match=r"\[partition\] kth -5 is out of range"):
        mx.partition(x, -5)
    with pytest.raises(ValueError, match=r"\[topk\] k must be in \[0, 4\]"):
        mx.topk(x, 5)
    with pytest.raises(IndexError, match=r"\[take\] Cannot index axis 0 of size 0"):
        mx.take(mx.zeros((0, 2)), mx.array([0]), axis=0)


def test_out_of_range_indices_raise_at_eval():
    x = mx.array(np.arange(12.0).reshape(3, 4))
    cases = [
        (lambda: mx.take(x, mx.array([0, 4]), axis=1), r"\[take\] Index 4 is out of bounds for axis 1 with size 4"),
        (lambda: mx.take(x, mx.array([-13])), r"\[take\] Index -13 is out of bounds for axis 0 with size 12"),
        (lambda: mx.take_along_axis(x, mx.array([[3]]), axis=0),
         r"\[take_along_axis\] Index 3 is out of bounds for axis 0 with size 3"),
        (lambda: mx.put_along_axis(x, mx.array([[0, 9]]), 1.0, axis=1),
         r"\[put_along_axis\] Index 9 is out of bounds for axis 1 with size 4"),
        (lambda: mx.take(x, mx.array(np.array([2**63 + 5], np.uint64)), axis=0),
         r"Index 9223372036854775813 is out of bounds"),
        # Checked even when the gathered slices are empty.
        (lambda: mx.take(mx.zeros((3, 0)), mx.array([5]), axis=0),
         r"\[take\] Index 5 is out of bounds for axis 0 with size 3"),
    ]
    assert mx.take(mx.zeros((3, 0)), mx.array([2, -3]), axis=0).shape == (2, 0)
    for make, message in cases:
        y = make()
        with pytest.raises(IndexError, match=message):
            mx.eval(y)
