"""The rest of mlx.core's names (issue 9) beyond what the op table sweeps: constants,
dtype information, aliases, print options, unique, einsum_path, broadcast_shapes,
as_strided bounds, meshgrid(sparse), atleast_nd with several inputs, depends, view, the
.at updates' semantics, and their error messages; all against numpy."""
import math

import numpy as np
import pytest

import ember.core as mx


def f64(x):
    """An ember float64 array (mx.array of a float64 numpy array gives float32, as in MLX)."""
    return mx.array(x, dtype=mx.float64)

RNG = np.random.default_rng(0)


def test_constants_match_numpy():
    assert mx.pi == np.pi and mx.e == np.e and mx.euler_gamma == np.euler_gamma
    assert mx.inf == np.inf and math.isnan(mx.nan) and mx.newaxis is None
    x = mx.arange(3)
    assert x[mx.newaxis].shape == (1, 3)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo_matches_numpy(name):
    if name == "bfloat16":
        import ml_dtypes
        ref = ml_dtypes.finfo(ml_dtypes.bfloat16)
    else:
        ref = np.finfo(name)
    f = mx.finfo(getattr(mx, name))
    assert f.max == float(ref.max) and f.min == float(ref.min)
    assert f.eps == float(ref.eps)
    assert f.tiny == float(ref.tiny)
    assert f.dtype == getattr(mx, name)


@pytest.mark.parametrize("name", ["int8", "int16", "int32", "int64", "uint8", "uint16",
                                  "uint32", "uint64"])
def test_iinfo_matches_numpy(name):
    ref, got = np.iinfo(name), mx.iinfo(getattr(mx, name))
    assert (got.min, got.max, got.bits) == (int(ref.min), int(ref.max), ref.bits)


def test_finfo_iinfo_reject_other_kinds():
    with pytest.raises(ValueError, match="finfo"):
        mx.finfo(mx.int32)
    with pytest.raises(ValueError, match="iinfo"):
        mx.iinfo(mx.float32)


def test_isdtype_kinds():
    assert mx.isdtype(mx.float32, "real floating")
    assert mx.isdtype(mx.int8, ("bool", "signed integer"))
    assert not mx.isdtype(mx.uint8, "signed integer")
    assert mx.isdtype(mx.uint8, "integral") and mx.isdtype(mx.uint8, "numeric")
    assert mx.isdtype(mx.complex64, "complex floating")
    assert not mx.isdtype(mx.bool_, "numeric")
    assert mx.isdtype(mx.int32, mx.int32) and not mx.isdtype(mx.int32, mx.int64)
    with pytest.raises(ValueError, match="Unknown kind"):
        mx.isdtype(mx.int32, "integer-ish")


def test_result_type_and_can_cast_follow_promotion():
    a = mx.array([1, 2], dtype=mx.int8)
    assert mx.result_type(a, mx.int16) == mx.int16
    assert mx.result_type(mx.int32, mx.float16) == mx.float16  # ember / mlx rule
    assert mx.result_type(mx.uint8, mx.int8) == mx.int16
    assert mx.can_cast(mx.int8, mx.int32) and not mx.can_cast(mx.int32, mx.int8)
    assert mx.can_cast(a, mx.float32) and not mx.can_cast(mx.float64, mx.float32)


def test_aliases_are_the_same_functions():
    x = mx.array([0.25, 0.5])
    for alias, name in [("acos", "arccos"), ("asinh", "arcsinh"), ("atan", "arctan")]:
        np.testing.assert_array_equal(getattr(mx, alias)(x), getattr(mx, name)(x))
    np.testing.assert_array_equal(mx.concat([x, x]), np.concatenate([x, x]))
    np.testing.assert_array_equal(mx.pow(x, 2), np.asarray(x) ** 2)
    np.testing.assert_array_equal(mx.bitwise_left_shift(mx.array([1, 2]), 3), [8, 16])
    np.testing.assert_array_equal(mx.permute_dims(mx.zeros((2, 3, 4)), (2, 0, 1)).shape, (4, 2, 3))
    assert mx.matrix_transpose(mx.zeros((2, 3, 4))).shape == (2, 4, 3)
    np.testing.assert_allclose(mx.cumulative_sum(x), np.cumsum(x))


def test_asarray_and_empty():
    x = mx.array([1.0, 2.0])
    assert mx.asarray(x) is x
    assert mx.asarray(x, mx.float16).dtype == mx.float16
    np.testing.assert_array_equal(mx.asarray([[1, 2]]), [[1, 2]])
    assert mx.empty((2, 3)).shape == (2, 3) and mx.empty_like(x).dtype == mx.float32
    assert mx.empty(4, dtype=mx.int8).dtype == mx.int8


def test_printoptions():
    x = mx.array([1.0 / 3.0])
    assert mx.get_printoptions().precision is None
    with mx.printoptions(precision=2):
        assert repr(x) == "array([0.33], dtype=float32)"
    assert "0.3333" in repr(x)
    mx.set_printoptions(precision=3)
    try:
        assert repr(x) == "array([0.333], dtype=float32)"
    finally:
        mx.set_printoptions(precision=None)


def test_broadcast_shapes_matches_numpy():
    assert mx.broadcast_shapes((2, 1, 3), (4, 1), (3,)) == np.broadcast_shapes((2, 1, 3), (4, 1), (3,))
    assert mx.broadcast_shapes((), (2,)) == (2,)
    with pytest.raises(ValueError, match=r"broadcast_shapes.*\(2, 3\).*\(4,\)"):
        mx.broadcast_shapes((2, 3), (4,))


@pytest.mark.parametrize("size", [0, 2, 4, 7])
@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_unique_matches_numpy(size, dtype):
    a = RNG.integers(0, 4, size=(3, 5)).astype(dtype)
    vals, idx, inv, counts = np.unique(a, return_index=True, return_inverse=True,
                                       return_counts=True)
    got = mx.unique(mx.array(a), size, return_index=True, return_inverse=True,
                    return_counts=True, fill_value=-1)
    k = min(size, len(vals))
    np.testing.assert_array_equal(np.asarray(got[0])[:k], vals[:k])
    np.testing.assert_array_equal(np.asarray(got[0])[k:], -1)
    # without fill_value, the padding is the smallest element (as MLX and JAX pad)
    pad = np.asarray(mx.unique(mx.array(a), size))[k:]
    np.testing.assert_array_equal(pad, np.full(size - k, a.min(), a.dtype))
    np.testing.assert_array_equal(np.asarray(got[1])[:k], idx[:k])
    np.testing.assert_array_equal(np.asarray(got[3])[:k], counts[:k])
    np.testing.assert_array_equal(np.asarray(got[3])[k:], 0)
    if size >= len(vals):
        np.testing.assert_array_equal(np.asarray(got[2]), inv.reshape(a.shape))
    assert np.asarray(mx.unique(mx.array(a), size)).shape == (size,)


def test_einsum_path_gives_a_valid_order():
    a, b, c = mx.zeros((2, 30)), mx.zeros((30, 40)), mx.zeros((40, 2))
    path, text = mx.einsum_path("ij,jk,kl->il", a, b, c)
    assert len(path) == 2 and all(len(p) == 2 for p in path)
    assert "ij,jk,kl->il" in text
    # numpy's own optimal order has the same number of steps
    ref, _ = np.einsum_path("ij,jk,kl->il", np.zeros((2, 30)), np.zeros((30, 40)),
                            np.zeros((40, 2)), optimize="greedy")
    assert len(ref) - 1 == len(path)


def test_as_strided_bounds_checked():
    x = mx.arange(12)
    with pytest.raises(ValueError, match=r"as_strided.*outside the input's 12 elements"):
        mx.as_strided(x, (4, 4), (3, 1))
    with pytest.raises(ValueError, match="as_strided"):
        mx.as_strided(x, (2,), (-1,), 0)
    np.testing.assert_array_equal(mx.as_strided(x, (0, 5), (100, 100)), np.zeros((0, 5)))


def test_meshgrid_sparse_and_atleast_many():
    a, b = np.arange(3.0), np.arange(4.0)
    got = mx.meshgrid(mx.array(a), mx.array(b), sparse=True)
    ref = np.meshgrid(a, b, sparse=True)
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g, r)
    with pytest.raises(ValueError, match="indexing"):
        mx.meshgrid(mx.array(a), indexing="yx")
    out = mx.atleast_2d(mx.array(1.0), mx.zeros((3,)))
    assert isinstance(out, list) and [o.shape for o in out] == [(1, 1), (1, 3)]


def test_depends_evaluates_dependencies_and_keeps_values():
    x = mx.array([1.0, 2.0])
    y = mx.exp(x)
    (z,) = mx.depends([x * 2], [y])
    np.testing.assert_array_equal(z, [2.0, 4.0])
    single = mx.depends(x, y)
    assert isinstance(single, mx.array)
    g = mx.grad(lambda t: mx.sum(mx.depends(t * t, mx.sin(t))))(x)
    np.testing.assert_allclose(g, 2 * np.asarray(x))


def test_view_reinterprets_bits():
    x = np.array([[1.0, -2.5], [0.0, 3.0]], np.float32)
    np.testing.assert_array_equal(mx.view(mx.array(x), mx.int32), x.view(np.int32))
    np.testing.assert_array_equal(mx.array(x).T.view(mx.uint8), np.ascontiguousarray(x.T).view(np.uint8))
    with pytest.raises(ValueError, match=r"\[view\].*not a multiple"):
        mx.view(mx.zeros((3,), dtype=mx.uint8), mx.int32)


def test_at_repeated_indices_accumulate_unlike_setitem():
    x = mx.zeros((3,))
    idx = mx.array([0, 0, 2])
    np.testing.assert_array_equal(x.at[idx].add(1.0), [2.0, 0.0, 1.0])
    y = mx.zeros((3,))
    y[idx] = 1.0
    np.testing.assert_array_equal(y, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(mx.ones((3,)).at[idx].multiply(3.0), [9.0, 1.0, 3.0])
    with pytest.raises(ValueError, match="Index the array first"):
        x.at.add(1.0)
    with pytest.raises(TypeError, match="divide needs a floating-point"):
        mx.array([1, 2]).at[0].divide(2)


def test_at_grad_of_maximum_splits_ties():
    # a tie between the original value and an update shares the cotangent
    g = mx.grad(lambda a, u: mx.sum(a.at[mx.array([0])].maximum(u)), argnums=(0, 1))(
        mx.array([1.0, 5.0]), mx.array([1.0]))
    np.testing.assert_allclose(g[0], [0.5, 1.0])
    np.testing.assert_allclose(g[1], [0.5])


def test_logcumsumexp_no_overflow_and_grads_at_extremes():
    x = mx.array([-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(mx.logcumsumexp(x), np.logaddexp.accumulate([-1000.0, 0.0, 1000.0]))
    g = mx.grad(lambda t: mx.sum(mx.logcumsumexp(t)))(x)
    assert np.all(np.isfinite(np.asarray(g)))


def test_shape_family_errors():
    with pytest.raises(ValueError, match=r"\[roll\] shift and axis"):
        mx.roll(mx.zeros((2, 3)), (1, 2, 3), (0, 1))
    with pytest.raises(ValueError, match=r"\[diag\].*1-D or 2-D"):
        mx.diag(mx.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"\[unflatten\] Cannot split axis"):
        mx.unflatten(mx.zeros((2, 6)), 1, (4, 2))
    with pytest.raises(ValueError, match=r"\[hadamard_transform\].*power-of-two"):
        mx.hadamard_transform(mx.zeros((3, 6)))
    with pytest.raises(ValueError, match=r"\[slice\] slice_size"):
        mx.slice(mx.zeros((3, 4)), mx.array([0]), [1], [5])
    with pytest.raises(ValueError, match=r"\[searchsorted\] side"):
        mx.searchsorted(mx.arange(3), mx.array([1]), side="middle")


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("n,m", [(7, 3), (3, 7), (5, 5), (1, 4), (6, 1)])
def test_convolve_matches_numpy(mode, n, m):
    a, v = RNG.standard_normal(n), RNG.standard_normal(m)
    got = mx.convolve(f64(a), f64(v), mode=mode)
    np.testing.assert_allclose(got, np.convolve(a, v, mode=mode), rtol=1e-10, atol=1e-12)


def test_convolve_gradient_is_a_correlation():
    a, v = RNG.standard_normal(6), RNG.standard_normal(3)
    w = RNG.standard_normal(8)
    ga = mx.grad(lambda x: mx.sum(mx.convolve(x, f64(v)) * f64(w)))(f64(a))
    # d/da_j sum_k w_k sum_i a_i v_{k-i} = sum_k w_k v_{k-j}: the correlation of w with v
    np.testing.assert_allclose(ga, np.correlate(w, v, mode="valid"), rtol=1e-10)
    with pytest.raises(ValueError, match=r"\[convolve\] Inputs must be 1-D"):
        mx.convolve(mx.zeros((2, 2)), mx.zeros((2,)))


def test_mlx_0_32_signature_additions():
    # linspace's endpoint, the *_like dtype, full_like's vals, cumsum / cumprod's dtype and
    # from_dlpack's copy, with MLX's parameter names.
    np.testing.assert_allclose(np.asarray(mx.linspace(-1, 2, 7, endpoint=False)),
                               np.linspace(-1, 2, 7, endpoint=False, dtype=np.float32), rtol=1e-6)
    assert mx.linspace(0, 1, 1, endpoint=False).tolist() == [0.0]
    assert mx.linspace(0, 1, 0, endpoint=False).shape == (0,)
    a = mx.ones((2, 3))
    for f, v in [(mx.zeros_like, 0), (mx.ones_like, 1)]:
        y = f(a, dtype=mx.int16)
        assert y.dtype == mx.int16 and y.shape == (2, 3) and y.tolist() == [[v] * 3] * 2
        assert f(a).dtype == mx.float32
    y = mx.full_like(a, vals=7, dtype=mx.uint8)
    assert y.dtype == mx.uint8 and y.tolist() == [[7] * 3] * 2
    assert mx.full_like(a, 2.5).dtype == mx.float32
    with pytest.raises(ValueError, match="out of range for uint8"):
        mx.full_like(a, -1, dtype=mx.uint8)
    x = mx.array([1, 2, 3], dtype=mx.int8)
    s = mx.cumsum(x, dtype=mx.float32)
    assert s.dtype == mx.float32 and s.tolist() == [1.0, 3.0, 6.0]
    p = x.cumprod(dtype=mx.float64)
    assert p.dtype == mx.float64 and p.tolist() == [1.0, 2.0, 6.0]
    assert mx.from_dlpack(np.arange(3, dtype=np.int32), copy=True).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="copy=False"):
        mx.from_dlpack(np.arange(3, dtype=np.int32), copy=False)


def test_var_std_correction_is_ddof():
    # mlx's array.var / array.std take the array API's `correction` (keyword-only).
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    a = mx.array(x)
    np.testing.assert_allclose(np.asarray(a.var(axis=0, correction=1)), x.var(axis=0, ddof=1),
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(mx.std(a, correction=1)), x.std(ddof=1), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(a.std(ddof=1, correction=1)), x.std(ddof=1), rtol=1e-6)
    with pytest.raises(ValueError, match=r"\[var\] ddof=2 and correction=1"):
        a.var(ddof=2, correction=1)
