"""array.__getitem__ / __setitem__ against numpy over a table of index expressions (ints,
slices with steps, None, Ellipsis, integer arrays and lists, boolean masks, and mixes that
exercise numpy's placement rule for advanced indices), assignment semantics, gradients and
vmap through indexing, and the error cases."""
import numpy as np
import pytest

import ember.core as mx

SHAPE = (4, 5, 6)
M4 = np.array([True, False, True, True])
M45 = np.arange(20).reshape(4, 5) % 3 == 0

# Index expressions for an array of shape SHAPE; numpy arrays in them are converted to
# ember arrays for the ember side (see _to_ember), lists are passed as they are.
INDICES = [
    0, -1, 3, (1, 2), (1, 2, 3), (-1, -5, -6), (),
    slice(None), slice(1, 3), slice(None, None, 2), slice(None, None, -1), slice(-2, None),
    slice(5, 1, -2), slice(10, 20), slice(-100, 100), slice(3, 1), slice(None, None, -3),
    (slice(1, 3), 2), (slice(None), slice(None, None, -1), slice(1, None, 2)),
    (2, slice(None), -1), (slice(0, 0), 1),
    Ellipsis, (Ellipsis,), (Ellipsis, 0), (0, Ellipsis), (1, Ellipsis, 2), (Ellipsis, slice(1, 2)),
    None, (None,), (None, 0, None), (0, None, slice(None), None), (Ellipsis, None),
    (None, Ellipsis, None), (slice(None), None, 1),
    # advanced: arrays and lists
    [0, 2], [[0, 1], [2, 3]], [-1, 0, -4], np.array([3, 0, 1]), np.array([1, 1, 1, 1]),
    ([0, 1], [1, 2]), ([0, 1], [1, 2], [5, -6]), ([[0], [3]], [1, 2, 4]),
    ([0, 1], slice(None), [1, 2]), (slice(None), [0, 1], [1, 2]), (0, slice(None), [1, 2]),
    (slice(None), 0, [1, 2]), ([0, 1], None, [1, 2]), (None, [0, 1], [1, 2]),
    (Ellipsis, [0, 1]), ([[0], [1]], Ellipsis, [1, 2, 3]), (slice(1, 3), [[0, 1]], slice(None, None, 2)),
    (slice(None, None, -1), [4, 0], [0, 5]), ([], ), (np.array([], np.int64),),
    (np.array([1, 2], np.uint8), slice(None), np.array(-1, np.int16)), (np.int64(2), [0, 1]),
    np.int64(2), (slice(None), np.int32(-1)), np.array(1), ([2, 0], 1, slice(2, 5)),
    (1, [0, 2], slice(None), ),
    # boolean masks
    M4, M45, np.zeros(SHAPE, bool), np.arange(120).reshape(SHAPE) % 7 == 0, (slice(None), M45[0]),
    (M4, 0), (0, np.array([True, False, False, True, True])), (M4, slice(None), [1, 2, 0]),
    (Ellipsis, np.arange(6) > 2), (None, M45), [True, False, True, False],
]


def _to_ember(index):
    if isinstance(index, tuple):
        return tuple(_to_ember(i) for i in index)
    if isinstance(index, np.ndarray) and index.ndim > 0:
        return mx.array(index)
    return index


def _id(index):
    return repr(index).replace("\n", "")


@pytest.fixture
def x_np():
    return np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)


@pytest.mark.parametrize("index", INDICES, ids=_id)
def test_getitem_matches_numpy(x_np, index):
    expected = x_np[index]
    got = mx.array(x_np)[_to_ember(index)]
    assert got.shape == expected.shape
    assert got.dtype == mx.float32
    np.testing.assert_array_equal(np.asarray(got), expected)


@pytest.mark.parametrize("index", [i for i in INDICES if isinstance(i, (list, np.ndarray))
                                   and not isinstance(i, np.generic) and np.ndim(i) > 0],
                         ids=_id)
def test_getitem_numpy_arrays_and_lists_directly(x_np, index):
    # numpy arrays and lists straight from Python (not converted to ember arrays first).
    np.testing.assert_array_equal(np.asarray(mx.array(x_np)[index]), x_np[index])


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int32", "int64", "bool", "float16",
                                   "bfloat16", "complex64"])
def test_getitem_dtypes(dtype):
    base = np.arange(24).reshape(2, 3, 4) % 5
    x = mx.array(base).astype(getattr(mx, dtype if dtype != "bool" else "bool_"))
    ref = np.asarray(x)
    for index in [(1, slice(None, None, -1)), ([1, 0, 1], 2), (Ellipsis, [3, 0]), ref > 1]:
        np.testing.assert_array_equal(np.asarray(x[_to_ember(index)]), ref[index])


def test_getitem_on_scalar_and_views():
    s = mx.array(3.5)
    assert s[()].item() == 3.5
    assert s[...].shape == ()
    assert s[None].shape == (1,)
    x = mx.array(np.arange(12).reshape(3, 4))
    # Chained indexing of views (negative strides, offsets).
    np.testing.assert_array_equal(np.asarray(x[::-1][1:, ::-2][:, [1, 0]]),
                                  np.arange(12).reshape(3, 4)[::-1][1:, ::-2][:, [1, 0]])


@pytest.mark.parametrize("index,np_index", [
    ((mx.array(1),), (1,)),
    ((mx.array(1), slice(1, None)), (1, slice(1, None))),
    ((slice(None), mx.array(-1)), (slice(None), -1)),
    ((mx.array(0), slice(None), mx.array([1, 2])), (0, slice(None), [1, 2])),
    ((mx.array([[1], [0]]), mx.array(2)), ([[1], [0]], 2)),
])
def test_zero_d_ember_arrays_act_as_ints(x_np, index, np_index):
    # 0-d ember arrays stay lazy (they may be traced) but index like ints, as in numpy.
    np.testing.assert_array_equal(np.asarray(mx.array(x_np)[index]), x_np[np_index])
    x = mx.array(x_np)
    x[index] = -1.0
    expected = x_np.copy()
    expected[np_index] = -1.0
    np.testing.assert_array_equal(np.asarray(x), expected)


def test_getitem_lazy_index_array():
    # An index computed by ember stays lazy until the result is needed.
    x = mx.array(np.arange(10.0))
    i = mx.array([1, 2]) * 3
    np.testing.assert_array_equal(np.asarray(x[i]), [3.0, 6.0])


# ---- setitem -----------------------------------------------------------------------------
SET_INDICES = [i for i in INDICES if not (isinstance(i, np.ndarray) and i.dtype == bool and i.sum() == 0)]


@pytest.mark.parametrize("index", SET_INDICES, ids=_id)
def test_setitem_matches_numpy(x_np, index):
    # Duplicate positions: numpy keeps the last write; values chosen so that matters.
    target_shape = x_np[index].shape
    value = np.arange(int(np.prod(target_shape)), dtype=np.float32).reshape(target_shape) + 100
    expected = x_np.copy()
    expected[index] = value
    x = mx.array(x_np)
    x[_to_ember(index)] = mx.array(value)
    np.testing.assert_array_equal(np.asarray(x), expected)


@pytest.mark.parametrize("index,value", [
    (0, 7.0), ((slice(None), 1), np.arange(6.0)), ((Ellipsis, 2), np.ones((4, 1))),
    ([0, 2], np.arange(30.0).reshape(5, 6)), ((slice(None), [1, 3]), np.ones((1, 1, 6))),
    ((M4,), np.arange(6.0)), ((slice(1, None, 2), None, [0, -1]), np.arange(2.0).reshape(2, 1, 1, 1)),
    ((1, [0, 1], [2, 3]), 5), (np.arange(120).reshape(SHAPE) % 4 == 0, -1.0),
])
def test_setitem_broadcasts_value(x_np, index, value):
    expected = x_np.copy()
    expected[index] = value
    x = mx.array(x_np)
    x[_to_ember(index)] = value
    np.testing.assert_array_equal(np.asarray(x), expected)


def test_setitem_casts_to_array_dtype_and_keeps_other_references():
    x = mx.array(np.arange(6).reshape(2, 3).astype(np.int32))
    y = mx.array(x)  # another Python object naming the same value (`y = x` would be x itself)
    z = x + 0  # a value computed from the old x
    x[0, 1] = 2.7  # cast like numpy: truncated into int32
    x[1] = mx.array([1.5, 2.5, 3.5])
    assert x.dtype == mx.int32
    np.testing.assert_array_equal(np.asarray(x), [[0, 2, 2], [1, 2, 3]])
    # y and z still see the old value: assignment rebinds x, it does not write into memory.
    np.testing.assert_array_equal(np.asarray(y), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(np.asarray(z), [[0, 1, 2], [3, 4, 5]])


def test_setitem_with_mask_of_itself():
    a = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    x = mx.array(a)
    x[x < 0] = 0.0
    np.testing.assert_array_equal(np.asarray(x), np.where(a < 0, 0, a))


def test_setitem_duplicate_indices_last_wins():
    x = mx.zeros((5,))
    x[mx.array([1, 3, 1, 1])] = mx.array([10.0, 20.0, 30.0, 40.0])
    np.testing.assert_array_equal(np.asarray(x), [0, 40, 0, 20, 0])


def test_setitem_scalar_array():
    x = mx.array(1.0)
    x[()] = 4.0
    assert x.item() == 4.0
    x[...] = 5.0
    assert x.item() == 5.0


# ---- transforms through indexing -------------------------------------------------------
def test_getitem_gradient_accumulates_repeats():
    x = mx.array(np.arange(6.0).reshape(3, 2))
    u = mx.array(np.ones((4, 2)))
    _, (g,) = mx.vjp(lambda x: x[mx.array([0, 2, 0, 0])], [x], [u])
    np.testing.assert_array_equal(np.asarray(g), [[3, 3], [0, 0], [1, 1]])


def test_setitem_gradients():
    def f(x, v):
        y = mx.array(x)
        y[1:, [0, 2]] = v
        return y

    x = mx.array(np.arange(9.0).reshape(3, 3))
    v = mx.array(np.ones((2, 2)))
    u = mx.array(np.arange(9.0).reshape(3, 3) + 1)
    _, (gx, gv) = mx.vjp(f, [x, v], [u])
    expected_gx = np.arange(9.0).reshape(3, 3) + 1
    expected_gx[1:, [0, 2]] = 0
    np.testing.assert_array_equal(np.asarray(gx), expected_gx)
    np.testing.assert_array_equal(np.asarray(gv), (np.arange(9.0).reshape(3, 3) + 1)[1:, [0, 2]])


def test_indexing_under_vmap():
    a = np.random.default_rng(2).standard_normal((3, 4, 5))
    idx = np.array([[0, 3], [1, 1], [2, 0]])
    got = mx.vmap(lambda x, i: x[i, 1:])(mx.array(a), mx.array(idx))
    np.testing.assert_allclose(np.asarray(got), np.stack([a[b][idx[b], 1:] for b in range(3)]))

    def assign(x, v):
        y = mx.array(x)
        y[::2, [1, 4]] = v
        return y

    v = np.arange(3.0)
    got = mx.vmap(assign, in_axes=(0, 0))(mx.array(a), mx.array(v))
    expected = a.copy()
    for b in range(3):
        expected[b][::2, [1, 4]] = v[b]
    np.testing.assert_allclose(np.asarray(got), expected)


# ---- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("step", [2**63 - 1, -(2**63), -(2**63 - 1), 2**62, -(2**62)])
@pytest.mark.parametrize("bounds", [(None, None), (0, 2), (1, None), (-1, -3), (None, 0)])
def test_slices_with_steps_near_int64_limits(bounds, step):
    # ceil((stop - start) / step) and start + n * step overflowed int64: x[::2**63 - 1] raised
    # "Negative dimension in shape (-1, 3)" instead of taking the first row.
    xn = np.arange(6).reshape(2, 3)
    x = mx.array(xn)
    s = slice(bounds[0], bounds[1], step)
    np.testing.assert_array_equal(np.asarray(x[s]), xn[s])
    np.testing.assert_array_equal(np.asarray(x[:, s]), xn[:, s])
    y, yn = mx.array(xn), xn.copy()
    y[:, s] = -1
    yn[:, s] = -1
    np.testing.assert_array_equal(np.asarray(y), yn)
    g = mx.grad(lambda a: a[s].sum())(mx.array(xn, dtype=mx.float32))
    want = np.zeros((2, 3), np.float32)
    want[s] = 1
    np.testing.assert_array_equal(np.asarray(g), want)


def test_index_errors():
    x = mx.array(np.zeros(SHAPE, np.float32))
    with pytest.raises(IndexError, match=r"Index 4 is out of bounds for axis 0 with size 4"):
        x[4]
    with pytest.raises(IndexError, match=r"Index -7 is out of bounds for axis 2 with size 6"):
        x[0, 0, -7]
    with pytest.raises(IndexError, match=r"Too many indices.*3-dimensional, but 4 were indexed"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match=r"Too many indices"):
        x[np.zeros((4, 5, 6, 1), bool)]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    with pytest.raises(IndexError, match="valid indices, got float"):
        x[1.5]
    with pytest.raises(IndexError, match="valid indices, got str"):
        x["a"]
    with pytest.raises(IndexError, match="integer or boolean type, got float32"):
        x[mx.array([1.0])]
    with pytest.raises(IndexError, match="Boolean scalar"):
        x[True]
    with pytest.raises(IndexError, match=r"Boolean index of shape \(3,\).*axis 0: size 4"):
        x[np.array([True, False, True])]
    with pytest.raises(IndexError, match=r"Boolean index of shape \(4, 6\).*axis 1: size 5"):
        x[np.ones((4, 6), bool)]
    with pytest.raises(ValueError, match=r"shape mismatch|broadcast"):
        x[[0, 1], [0, 1, 2]]


def test_index_array_out_of_range_raises_at_eval():
    x = mx.array(np.arange(5.0))
    y = x[mx.array([1, 5])]  # values are only known at eval
    with pytest.raises(IndexError, match=r"Index 5 is out of bounds for axis 0 with size 5"):
        mx.eval(y)
    with pytest.raises(IndexError, match=r"Index -6 is out of bounds for axis 1 with size 5"):
        mx.eval(mx.array(np.zeros((2, 5)))[:, mx.array([-6])])


def test_setitem_errors():
    x = mx.array(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"Cannot assign a value of shape \(3,\) to an indexed "
                                         r"result of shape \(4,\)"):
        x[0] = mx.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*shape \(2,\)"):
        x[[0, 1], 1] = np.ones((2, 2))
    with pytest.raises(IndexError, match="out of bounds"):
        x[3] = 1.0
    y = x
    with pytest.raises(IndexError):
        x[mx.array([0, 9])] = 1.0
        mx.eval(x)
    assert y.shape == (3, 4)
