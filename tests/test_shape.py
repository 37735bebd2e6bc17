"""Shape family semantics the op table can't express: views of views (transposed, sliced with
negative steps, broadcast), zero-size arrays, the Python argument forms (varargs methods,
pad_width forms, axis=None), dtype promotion in concatenate, error messages, and the
transform rules of Slice / SliceUpdate / Concatenate / Pad checked by hand."""
import numpy as np
import pytest

import ember.core as mx


def _bounds(idx, shape):
    idx = tuple(idx) + (slice(None),) * (len(shape) - len(idx))
    parts = [s.indices(d) for s, d in zip(idx, shape)]
    return [p[0] for p in parts], [p[1] for p in parts], [p[2] for p in parts]


def sl(x, *idx):
    return mx._slice(x, *_bounds(idx, x.shape))


def eq(got, want):
    got = np.asarray(got)
    assert got.shape == np.shape(want)
    np.testing.assert_array_equal(got, want)


A = np.arange(60, dtype=np.float32).reshape(3, 4, 5)


# ---- slices -----------------------------------------------------------------------------
@pytest.mark.parametrize("idx", [
    (slice(None, None, -1),),
    (slice(None), slice(3, 0, -2), slice(None, None, 3)),
    (slice(-1, None, -1), slice(-1, None, -1), slice(-1, None, -1)),
    (slice(1, 100), slice(-100, 2)),
    (slice(2, 1),),
    (slice(0, 0, -1),),
])
def test_slice_values(idx):
    eq(sl(mx.array(A), *idx), A[idx])


def test_slice_of_slice_of_transpose():
    x = mx.transpose(mx.array(A), (2, 0, 1))
    y = sl(sl(x, slice(None, None, -2)), slice(1, None), slice(None, None, -1), slice(1, 3))
    want = A.transpose(2, 0, 1)[::-2][1:, ::-1, 1:3]
    eq(y, want)
    # Ops that read the negative-stride view see the right values.
    eq(y * 2, want * 2)
    eq(mx.reshape(y, (-1,)), want.reshape(-1))
    eq(mx.concatenate([y, y], axis=1), np.concatenate([want, want], axis=1))


def test_slice_of_broadcast():
    x = mx.broadcast_to(mx.array(np.arange(4.0, dtype=np.float32)), (5, 4))
    want = np.broadcast_to(np.arange(4.0, dtype=np.float32), (5, 4))[3::-2, ::-1]
    eq(sl(x, slice(3, None, -2), slice(None, None, -1)), want)


def test_slice_zero_size():
    x = mx.array(np.zeros((0, 3), np.float32))
    eq(sl(x, slice(None, None, -1)), np.zeros((0, 3)))
    y = sl(mx.array(A), slice(5, 9))
    assert y.shape == (0, 4, 5)
    eq(y + 1, np.zeros((0, 4, 5)))


def test_slice_errors():
    x = mx.array(A)
    with pytest.raises(ValueError, match=r"\[slice\] step must not be zero \(axis 1\)"):
        mx._slice(x, [0, 0, 0], [3, 4, 5], [1, 0, 1])
    with pytest.raises(ValueError, match=r"\[slice\] Expected 3 values .*\(3, 4, 5\)"):
        mx._slice(x, [0], [1], [1])


def test_slice_update_values():
    a = np.arange(20, dtype=np.int32).reshape(4, 5)
    x = mx.array(a)
    for idx, u in [((slice(None, None, -2),), np.array([7, 8, 9, 10, 11])),
                   ((slice(1, 3), slice(4, 0, -3)), np.array([[1, 2], [3, 4]])),
                   ((slice(None), slice(2, 3)), 5)]:
        want = a.copy()
        want[idx] = u
        eq(mx._slice_update(x, u, *_bounds(idx, a.shape)), want)
    eq(x, a)  # the input is untouched


def test_slice_update_strided_input_and_cast():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = mx.transpose(mx.array(a))
    out = mx._slice_update(x, mx.array([[1, 2, 3]], dtype=mx.int32),
                           *_bounds((slice(3, None, -3),), (4, 3)))
    want = a.T.copy()
    want[3::-3] = [[1, 2, 3]]
    assert out.dtype == mx.float32
    eq(out, want)


def test_slice_update_error():
    with pytest.raises(ValueError, match=r"Cannot broadcast update of shape \(3,\) to the slice "
                                         r"shape \(2, 2\)"):
        mx._slice_update(mx.zeros((4, 4)), mx.zeros((3,)), [0, 0], [2, 2], [1, 1])


# ---- concatenate / stack / split --------------------------------------------------------
def test_concatenate_promotes_dtypes():
    out = mx.concatenate([mx.array([1, 2], dtype=mx.int8), mx.array([0.5], dtype=mx.float16),
                          mx.array([True])])
    assert out.dtype == mx.float16
    eq(out, np.array([1, 2, 0.5, 1], np.float16))
    out = mx.concatenate([mx.array([1], dtype=mx.uint8), mx.array([-1], dtype=mx.int16)])
    assert out.dtype == mx.int16


def test_concatenate_axis_none_and_views():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((3, 1), np.float32)
    eq(mx.concatenate([mx.array(a), mx.array(b)], axis=None), np.concatenate([a, b], axis=None))
    bx = mx.broadcast_to(mx.array(b[:1]), (2, 3))
    eq(mx.concatenate([mx.transpose(mx.array(a)), mx.transpose(bx)], axis=1),
       np.concatenate([a.T, np.ones((3, 2))], axis=1))


def test_concatenate_large():
    a = np.random.default_rng(0).standard_normal((300, 700)).astype(np.float32)
    x = mx.array(a)
    eq(mx.concatenate([x, mx.transpose(mx.array(a.T.copy())), x], axis=1),
       np.concatenate([a, a, a], axis=1))


def test_concatenate_errors():
    with pytest.raises(ValueError, match=r"same shape except along axis 1, but array 0 has shape "
                                         r"\(2, 3\) and array 2 has shape \(3, 3\)"):
        mx.concatenate([mx.zeros((2, 3)), mx.zeros((2, 1)), mx.zeros((3, 3))], axis=1)
    with pytest.raises(ValueError, match="array 1 has shape"):
        mx.concatenate([mx.zeros((2, 3)), mx.zeros((2, 3, 1))])
    with pytest.raises(ValueError, match="Zero-dimensional"):
        mx.concatenate([mx.array(1.0), mx.array(2.0)])
    with pytest.raises(ValueError, match="at least one"):
        mx.concatenate([])
    with pytest.raises(IndexError):
        mx.concatenate([mx.zeros((2, 3))] * 2, axis=2)


def test_stack():
    xs = [np.full((2, 3), i, np.int32) for i in range(3)]
    for axis in (0, 1, 2, -1, -3):
        eq(mx.stack([mx.array(x) for x in xs], axis=axis), np.stack(xs, axis=axis))
    with pytest.raises(ValueError, match=r"\[stack\] .*array 0 has shape \(2, 3\) and array 1 "
                                         r"has shape \(3, 2\)"):
        mx.stack([mx.zeros((2, 3)), mx.zeros((3, 2))])
    with pytest.raises(IndexError):
        mx.stack([mx.zeros((2, 3))], axis=3)


def test_split_forms():
    a = np.arange(24).reshape(4, 6)
    x = mx.array(a)
    for got, want in [(mx.split(x, 3, axis=1), np.split(a, 3, axis=1)),
                      (mx.split(x, [1, 3]), np.split(a, [1, 3])),
                      (mx.split(x, [-1, 2, 10], axis=-1), np.split(a, [-1, 2, 10], axis=-1)),
                      (x.split(2), np.split(a, 2)),
                      (x.split([2], axis=1), np.split(a, [2], axis=1))]:
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            eq(g, w)


def test_split_errors():
    with pytest.raises(ValueError, match=r"size 5 along axis 0 \(shape \(5, 2\)\) cannot be "
                                         r"split into 2 equal sections"):
        mx.split(mx.zeros((5, 2)), 2)
    with pytest.raises(ValueError, match="must be positive"):
        mx.split(mx.zeros((4,)), 0)
    with pytest.raises(IndexError):
        mx.split(mx.zeros((4,)), 2, axis=1)


# ---- repeat / tile / pad ----------------------------------------------------------------
def test_repeat_tile_on_views():
    a = np.arange(6).reshape(2, 3)
    xt = mx.transpose(mx.array(a))
    eq(mx.repeat(xt, 2, axis=1), np.repeat(a.T, 2, axis=1))
    eq(mx.repeat(xt, 3), np.repeat(a.T, 3))
    eq(mx.tile(xt, (2, 1, 2)), np.tile(a.T, (2, 1, 2)))
    eq(mx.tile(mx.array(5), 3), np.tile(5, 3))
    with pytest.raises(ValueError, match="repeats must be non-negative"):
        mx.repeat(xt, -1)
    with pytest.raises(ValueError, match="reps must be non-negative"):
        mx.tile(xt, (1, -2))


@pytest.mark.parametrize("pad_width", [2, (1,), (1, 3), [(1, 2)], [(0, 1), (2, 0)], [[1], [2]]])
def test_pad_width_forms(pad_width):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    eq(mx.pad(mx.array(a), pad_width, constant_values=-2.5),
       np.pad(a, pad_width, constant_values=-2.5))


def test_pad_dtype_and_views():
    a = np.arange(6, dtype=np.int8).reshape(2, 3)
    out = mx.pad(mx.transpose(mx.array(a)), 1, constant_values=7)
    assert out.dtype == mx.int8
    eq(out, np.pad(a.T, 1, constant_values=7))
    eq(mx.pad(mx.array(np.zeros((0, 2), np.float32)), 1), np.pad(np.zeros((0, 2)), 1))


def test_pad_errors():
    x = mx.zeros((2, 3))
    with pytest.raises(ValueError, match=r"non-negative, got \(-1, 1\) for axis 0"):
        mx.pad(x, (-1, 1))
    with pytest.raises(ValueError, match="one pair per axis"):
        mx.pad(x, [(1, 1), (1, 1), (1, 1)])
    with pytest.raises(ValueError, match='mode="constant"'):
        mx.pad(x, 1, mode="edge")
    with pytest.raises(ValueError, match=r"scalar, got shape \(2,\)"):
        mx.pad(x, 1, constant_values=mx.array([1.0, 2.0]))


# ---- the views that were already there, on awkward inputs -------------------------------
def test_view_ops_on_views():
    x = sl(mx.transpose(mx.array(A)), slice(None, None, -1))
    want = A.T[::-1]
    eq(mx.reshape(x, (5, -1)), want.reshape(5, -1))
    eq(mx.flatten(x, 1), want.reshape(5, -1))
    eq(mx.swapaxes(x, 0, 2), np.swapaxes(want, 0, 2))
    eq(mx.moveaxis(x, 0, -1), np.moveaxis(want, 0, -1))
    eq(mx.expand_dims(x, (0, -1)), np.expand_dims(want, (0, -1)))
    eq(mx.squeeze(mx.expand_dims(x, 1), axis=1), want)
    eq(mx.broadcast_to(sl(x, slice(0, 1)), (2, 4, 3)), np.broadcast_to(want[:1], (2, 4, 3)))


def test_methods_and_arg_forms():
    x = mx.array(A)
    eq(x.reshape(12, 5), A.reshape(12, 5))
    eq(x.reshape((12, -1)), A.reshape(12, -1))
    eq(x.reshape([60]), A.reshape(60))
    eq(x.transpose(), A.transpose())
    eq(x.transpose(1, 0, 2), A.transpose(1, 0, 2))
    eq(x.transpose((2, 0, 1)), A.transpose(2, 0, 1))
    eq(x.flatten(), A.flatten())
    eq(x.flatten(0, 1), A.reshape(12, 5))
    eq(x.swapaxes(0, 2), A.swapaxes(0, 2))
    eq(x.moveaxis(2, 0), np.moveaxis(A, 2, 0))
    one = mx.zeros((1, 3, 1))
    assert one.squeeze().shape == (3,)
    assert one.squeeze(0).shape == (3, 1)
    assert mx.squeeze(one, axis=()).shape == (1, 3, 1)
    assert mx.transpose(mx.array(2.0)).shape == ()
    assert mx.reshape([1, 2, 3, 4], (2, 2)).shape == (2, 2)
    out = mx.broadcast_arrays(mx.zeros((3, 1)), mx.zeros((4,)), 1.0)
    assert isinstance(out, tuple) and [o.shape for o in out] == [(3, 4)] * 3


def test_view_errors():
    x = mx.zeros((2, 3))
    with pytest.raises(ValueError, match=r"Cannot reshape array of size 6 \(shape \(2, 3\)\) "
                                         r"into shape \(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match=r"Cannot squeeze axis 1 of size 3"):
        mx.squeeze(x, 1)
    with pytest.raises(ValueError, match=r"Got 0 axes for an array with 2 dimensions"):
        mx.transpose(x, [])
    with pytest.raises(ValueError, match=r"Cannot broadcast array of shape \(2, 3\) to shape "
                                         r"\(3, 3\)"):
        mx.broadcast_to(x, (3, 3))


# ---- transform rules, by hand -----------------------------------------------------------
def test_slice_rules():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    idx = (slice(2, None, -2), slice(None, None, -3))
    f = lambda x: sl(x, *idx)
    c = np.array([[1, 2], [3, 4]], np.float32)
    _, (g,) = mx.vjp(f, [mx.array(a)], [mx.array(c)])
    want = np.zeros_like(a)
    want[idx] = c
    eq(g, want)
    t = np.random.default_rng(0).standard_normal(a.shape).astype(np.float32)
    _, (jt,) = mx.jvp(f, [mx.array(a)], [mx.array(t)])
    eq(jt, t[idx])
    xb = np.stack([a, a + 100])
    eq(mx.vmap(f)(mx.array(xb)), xb[:, 2::-2, ::-3])
    eq(mx.vmap(f, in_axes=2, out_axes=1)(mx.array(xb.transpose(1, 2, 0))),
       np.moveaxis(xb[:, 2::-2, ::-3], 0, 1))


def test_slice_update_rules():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    u = np.array([[10, 20], [30, 40]], np.float32)
    b = _bounds((slice(None, None, 2), slice(3, 0, -2)), a.shape)
    f = lambda x, v: mx._slice_update(x, v, *b)
    c = np.arange(12, dtype=np.float32).reshape(3, 4) + 1
    _, (ga, gu) = mx.vjp(f, [mx.array(a), mx.array(u)], [mx.array(c)])
    want_a = c.copy()
    want_a[::2, 3:0:-2] = 0
    eq(ga, want_a)
    eq(gu, c[::2, 3:0:-2])
    _, (jt,) = mx.jvp(f, [mx.array(a), mx.array(u)], [mx.ones((3, 4)), mx.full((2, 2), 5.0)])
    want = np.ones((3, 4), np.float32)
    want[::2, 3:0:-2] = 5
    eq(jt, want)
    ub = np.stack([u, -u, 2 * u])
    got = mx.vmap(f, in_axes=(None, 0))(mx.array(a), mx.array(ub))
    expected = []
    for k in range(3):
        e = a.copy()
        e[::2, 3:0:-2] = ub[k]
        expected.append(e)
    eq(got, np.stack(expected))


def test_concatenate_rules():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((2, 1), np.float32)
    f = lambda x, y: mx.concatenate([y, x, y], axis=1)
    c = np.arange(10, dtype=np.float32).reshape(2, 5)
    _, (ga, gb) = mx.vjp(f, [mx.array(a), mx.array(b)], [mx.array(c)])
    eq(ga, c[:, 1:4])
    eq(gb, c[:, :1] + c[:, 4:])
    _, (jt,) = mx.jvp(lambda x: f(x, mx.array(b)), [mx.array(a)], [mx.full((2, 3), 2.0)])
    eq(jt, np.concatenate([np.zeros((2, 1)), np.full((2, 3), 2), np.zeros((2, 1))], axis=1))
    # An unbatched input is broadcast over the batch; the batched one keeps its values.
    xb = np.stack([a, a * 10])
    got = mx.vmap(f, in_axes=(0, None))(mx.array(xb), mx.array(b))
    eq(got, np.stack([np.concatenate([b, x, b], axis=1) for x in xb]))


def test_pad_rules():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    f = lambda x: mx.pad(x, ((1, 0), (2, 1)), constant_values=9.0)
    c = np.arange(18, dtype=np.float32).reshape(3, 6)
    _, (g,) = mx.vjp(f, [mx.array(a)], [mx.array(c)])
    eq(g, c[1:, 2:5])
    _, (jt,) = mx.jvp(lambda x, v: mx.pad(x, 1, constant_values=v), [mx.array(a), mx.array(0.0)],
                      [mx.ones((2, 3)), mx.array(3.0)])
    eq(jt, np.pad(np.ones((2, 3)), 1, constant_values=3))
    # A pad value per batch element.
    vs = np.array([1.0, -1.0], np.float32)
    got = mx.vmap(lambda x, v: mx.pad(x, 1, constant_values=v))(mx.array(np.stack([a, a])),
                                                                mx.array(vs))
    eq(got, np.stack([np.pad(a, 1, constant_values=v) for v in vs]))
