"""Quantization ops and the gathered / masked / segmented products.

Against MLX (mlx[cpu], where installed; only that comparison is skipped otherwise):
quantize and dequantize bit for bit in every mode, group size and bit width,
quantized_matmul / gather_qmm / qqmm within float tolerance. Everywhere: the numpy
reference of the formats (tests/op_table/quantized.py), the fused and BLAS paths of the
kernels, the transform rules (gradients against finite differences, vmap against loops),
argument errors, and the nn layers built on the ops.
"""
import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
from op_table import to_mx
from op_table.quantized import (MODES, e4m3_decode, e4m3_encode, ref_dequantize,
                                ref_quantize, unpack)

try:
    import mlx.core as mlx
except ImportError:  # the MLX comparisons need mlx[cpu]
    mlx = None

needs_mlx = pytest.mark.skipif(mlx is None, reason="mlx is not installed")
AFFINE = [(g, b) for g in (32, 64, 128) for b in (1, 2, 3, 4, 5, 6, 8)]
FLOAT_DTYPES = ("float32", "float16", "bfloat16")


def _np(a):
    """numpy value of an ember or mlx array (bfloat16 via ml_dtypes)."""
    if "bfloat16" in str(a.dtype):
        import ml_dtypes
        f32 = mx.float32 if isinstance(a, mx.array) else mlx.float32
        return np.array(a.astype(f32)).astype(ml_dtypes.bfloat16)
    return np.array(a)


def _bits(a):
    """The raw bytes of a numpy array, for bit-exact comparisons (NaN == NaN)."""
    return np.ascontiguousarray(a).view(np.uint8)


def _weights(rng, shape, dtype, scale=1.0):
    import ml_dtypes
    w = rng.standard_normal(shape) * scale
    w.reshape(-1, shape[-1])[0, :32] = 0  # an all-zero group
    w.reshape(-1, shape[-1])[-1, :16] = 0.75 * scale  # ties of the rounding rules
    return w.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)


def _to_mlx(w):
    if str(w.dtype) == "bfloat16":
        return mlx.array(w.astype(np.float32)).astype(mlx.bfloat16)
    return mlx.array(w)


def _to_ember(w):
    if str(w.dtype) == "bfloat16":
        return mx.array(w.astype(np.float32)).astype(mx.bfloat16)
    return to_mx(w)


def _mode_params():
    out = [pytest.param("affine", g, b, id=f"affine-{g}-{b}") for g, b in AFFINE]
    return out + [pytest.param(m, None, None, id=m) for m in ("mxfp4", "mxfp8", "nvfp4")]


# ---- quantize / dequantize: the numpy reference, then MLX bit for bit -----------------------
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ("float64",))
@pytest.mark.parametrize("mode,group_size,bits", _mode_params())
def test_quantize_matches_the_reference_bit_for_bit(mode, group_size, bits, dtype):
    rng = np.random.default_rng(3)
    for scale in (1e-3, 1.0, 40.0):
        w = _weights(rng, (2, 3, 256), dtype, scale)
        got = mx.quantize(_to_ember(w), group_size, bits, mode=mode)
        want = ref_quantize(w, group_size, bits, mode=mode)
        assert len(got) == (3 if mode == "affine" else 2)
        for g, e in zip(got, want):
            assert tuple(g.shape) == e.shape
            np.testing.assert_array_equal(_bits(_np(g)), _bits(e))


@needs_mlx
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("mode,group_size,bits", _mode_params())
def test_quantize_and_dequantize_match_mlx_bit_for_bit(mode, group_size, bits, dtype):
    rng = np.random.default_rng(5)
    for scale in (1e-2, 1.0, 300.0):
        w = _weights(rng, (4, 256), dtype, scale)
        ours = mx.quantize(_to_ember(w), group_size, bits, mode=mode)
        theirs = mlx.quantize(_to_mlx(w), group_size, bits, mode=mode)
        for a, b in zip(ours, theirs):
            assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
            np.testing.assert_array_equal(_bits(_np(a)), _bits(_np(b)))
        # dequantize MLX's packed arrays: the same values, bit for bit, default dtype and float32
        for dt in (None, "float32"):
            d_ours = mx.dequantize(*[_to_ember(_np(t)) for t in theirs], group_size=group_size,
                                   bits=bits, mode=mode, dtype=getattr(mx, dt) if dt else None)
            d_theirs = mlx.dequantize(*theirs, group_size=group_size, bits=bits, mode=mode,
                                      dtype=getattr(mlx, dt) if dt else None)
            assert str(d_ours.dtype).split(".")[-1] == str(d_theirs.dtype).split(".")[-1]
            np.testing.assert_array_equal(_bits(_np(d_ours)), _bits(_np(d_theirs)))


@needs_mlx
def test_nvfp4_global_scale_matches_mlx():
    rng = np.random.default_rng(9)
    w = rng.standard_normal((6, 64)).astype(np.float32)
    for g in (0.5, 3.7, 1000.0):
        ours = mx.quantize(mx.array(w), mode="nvfp4", global_scale=mx.array(g))
        theirs = mlx.quantize(mlx.array(w), mode="nvfp4", global_scale=mlx.array(g))
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(_np(a), _np(b))
        np.testing.assert_array_equal(
            _np(mx.dequantize(*ours, mode="nvfp4", global_scale=mx.array(g), dtype=mx.float32)),
            _np(mlx.dequantize(*theirs, mode="nvfp4", global_scale=mlx.array(g), dtype=mlx.float32)))


@pytest.mark.parametrize("mode,group_size,bits", _mode_params())
def test_dequantize_matches_the_reference(mode, group_size, bits):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 128)).astype(np.float32)
    packed = mx.quantize(mx.array(w), group_size, bits, mode=mode)
    got = np.asarray(mx.dequantize(*packed, group_size=group_size, bits=bits, mode=mode,
                                   dtype=mx.float32))
    want = ref_dequantize(*[np.asarray(p) for p in packed], group_size=group_size, bits=bits, mode=mode)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want).max())
    # and with 4 bits or more it approximates w
    if bits is None or bits >= 4:
        assert np.abs(got - w).mean() < 0.2 * np.abs(w).mean()


def test_packing_layout_is_a_little_endian_bit_stream():
    # 3-bit values straddle words: element 10 sits in bits 30..32 of the stream
    w = np.zeros((1, 32), np.float32)
    w[0, 0], w[0, 31] = -1.0, 6.0  # the extremes give q = 0 and q = 7
    w[0, 10] = -1.0
    q, s, b = mx.quantize(mx.array(w), 32, 3)
    words = np.asarray(q)[0]
    assert words.shape == (3,)
    ints = unpack(words[None], 3)[0]
    assert ints[10] == 7 and (words[0] >> 30) == 3 and (words[1] & 1) == 1
    np.testing.assert_array_equal(ints, np.round((w[0] - np.asarray(b)[0, 0]) / np.asarray(s)[0, 0]))


def test_fp8_conversions_match_the_reference():
    codes = np.arange(256, dtype=np.uint8)
    for dt in (mx.float32, mx.float16, mx.bfloat16, mx.float64):
        got = np.asarray(mx.from_fp8(mx.array(codes), dt).astype(mx.float64))
        np.testing.assert_array_equal(got, e4m3_decode(codes))
    assert mx.from_fp8(mx.array(codes)).dtype == mx.bfloat16
    x = np.concatenate([np.random.default_rng(0).standard_normal(500) * 50,
                        [0.0, -0.0, 448, 456, 463.9, 464, 1e9, np.inf, -np.inf, np.nan,
                         2 ** -10, 3 * 2 ** -10, 2 ** -6, -2 ** -9]]).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(mx.to_fp8(mx.array(x))), e4m3_encode(x))
    # every finite code round trips
    finite = codes[(codes & 0x7F) != 0x7F]
    back = mx.to_fp8(mx.from_fp8(mx.array(finite), mx.float32))
    np.testing.assert_array_equal(np.asarray(back), finite)


@needs_mlx
def test_fp8_conversions_match_mlx():
    x = np.concatenate([np.random.default_rng(0).standard_normal(2000) * 100,
                        [0.0, -0.0, 448, 460, 464, 1e9, np.inf, -np.inf, np.nan, 2 ** -10]]
                       ).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(mx.to_fp8(mx.array(x))), np.array(mlx.to_fp8(mlx.array(x))))
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(mx.from_fp8(mx.array(codes), mx.float32)),
                                  np.array(mlx.from_fp8(mlx.array(codes), mlx.float32)))


# ---- quantized_matmul and gather_qmm --------------------------------------------------------
def _packed(rng, shape, mode, group_size=None, bits=None, dtype=np.float32):
    w = rng.standard_normal(shape).astype(dtype)
    return w, mx.quantize(mx.array(w), group_size, bits, mode=mode)


@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("mode,group_size,bits", [("affine", 64, 4), ("affine", 32, 3),
                                                  ("affine", 128, 8), ("affine", 32, 2),
                                                  ("affine", 64, 5), ("affine", 32, 1),
                                                  ("mxfp4", None, None), ("mxfp8", None, None),
                                                  ("nvfp4", None, None)])
@pytest.mark.parametrize("rows", [1, 5, 70, 223, 224, 2100])
def test_quantized_matmul_against_dequantize(rows, mode, group_size, bits, transpose):
    """Below 224 rows the fused kernels run (one per orientation), from 224 W is unpacked
    for BLAS; all equal x @ dequantize(w)."""
    rng = np.random.default_rng(rows)
    shape = (96, 128) if transpose else (128, 128)
    n_out = 96 if transpose else 128
    _, packed = _packed(rng, shape, mode, group_size, bits)
    x = rng.standard_normal((rows, 128)).astype(np.float32)
    W = np.asarray(mx.dequantize(*packed, group_size=group_size, bits=bits, mode=mode,
                                 dtype=mx.float32)).astype(np.float64)
    want = x @ (W.T if transpose else W)
    biases = packed[2] if mode == "affine" else None
    got = mx.quantized_matmul(mx.array(x), packed[0], packed[1], biases, transpose=transpose,
                              group_size=group_size, bits=bits, mode=mode)
    assert got.shape == (rows, n_out) and got.dtype == mx.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=2e-5 * np.abs(want).max())
    x64 = mx.array(x, dtype=mx.float64)
    got64 = mx.quantized_matmul(x64, packed[0], packed[1], biases, transpose=transpose,
                                group_size=group_size, bits=bits, mode=mode)
    if mode == "affine":  # the affine output dtype promotes x with the scales; exact W in float64
        assert got64.dtype == mx.float64
        W64 = ref_dequantize(*[np.asarray(p) for p in packed], group_size=group_size, bits=bits)
        want64 = x.astype(np.float64) @ (W64.T if transpose else W64)
        np.testing.assert_allclose(np.asarray(got64), want64, rtol=1e-9,
                                   atol=1e-9 * np.abs(want64).max())


def test_quantized_matmul_dtypes_batches_and_vectors():
    rng = np.random.default_rng(0)
    _, (q, s, b) = _packed(rng, (3, 16, 64), "affine")
    W = np.asarray(mx.dequantize(q, s, b)).astype(np.float64)
    x = rng.standard_normal((2, 1, 5, 64)).astype(np.float32)
    got = mx.quantized_matmul(mx.array(x), q, s, b)  # batch dims broadcast like matmul's
    assert got.shape == (2, 3, 5, 16)
    np.testing.assert_allclose(np.asarray(got), x @ np.swapaxes(W, -1, -2), rtol=1e-4, atol=1e-4)
    v = mx.quantized_matmul(mx.array(x[0, 0, 0]), q[0], s[0], b[0])
    assert v.shape == (16,)
    for dt in (mx.float16, mx.bfloat16):
        y = mx.quantized_matmul(mx.array(x[0, 0]).astype(dt), q[0], s[0].astype(dt), b[0].astype(dt))
        assert y.dtype == dt
        np.testing.assert_allclose(np.asarray(y.astype(mx.float32)), x[0, 0] @ W[0].T, rtol=3e-2, atol=0.3)
    xi = mx.array(np.ones((2, 64), np.int32))
    assert mx.quantized_matmul(xi, q[0], s[0], b[0]).dtype == mx.float32


@needs_mlx
@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("mode", ["affine", "mxfp4", "mxfp8", "nvfp4"])
def test_quantized_matmul_matches_mlx(mode, transpose):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((64, 128) if transpose else (128, 64)).astype(np.float32)
    packed = mlx.quantize(mlx.array(w), mode=mode)
    for rows in (1, 8, 40):
        x = rng.standard_normal((rows, 128)).astype(np.float32)
        theirs = mlx.quantized_matmul(mlx.array(x), *packed, transpose=transpose, mode=mode)
        ours = mx.quantized_matmul(mx.array(x), *[mx.array(np.array(p)) for p in packed],
                                   transpose=transpose, mode=mode)
        np.testing.assert_allclose(np.asarray(ours), np.array(theirs), rtol=1e-4, atol=1e-4)


def _gqmm_case(rng, transpose=True, mode="affine"):
    w = rng.standard_normal((4, 32, 64) if transpose else (4, 64, 32)).astype(np.float32)
    packed = mx.quantize(mx.array(w), mode=mode, group_size=32 if mode == "affine" else None)
    x = rng.standard_normal((3, 2, 64)).astype(np.float32)
    return x, packed


def test_gather_qmm_against_a_loop_with_runs_and_negative_indices():
    rng = np.random.default_rng(4)
    for transpose in (True, False):
        x, (q, s, b) = _gqmm_case(rng, transpose)
        lhs = mx.array([0, 2, 2, -1, 1, 0])
        rhs = mx.array([1, 1, 1, 3, 0, 0])  # runs of equal rhs share one unpacking
        got = np.asarray(mx.gather_qmm(mx.array(x), q, s, b, lhs, rhs, transpose=transpose,
                                       group_size=32))
        for i, (li, ri) in enumerate(zip(np.asarray(lhs), np.asarray(rhs))):
            want = mx.quantized_matmul(mx.array(x[li]), q[ri], s[ri], b[ri], transpose=transpose,
                                       group_size=32)
            np.testing.assert_allclose(got[i], np.asarray(want), rtol=1e-5, atol=1e-5)
    # one index given: the other runs over every matrix; indices broadcast
    x, (q, s, b) = _gqmm_case(rng, True)
    out = mx.gather_qmm(mx.array(x[0]), q, s, b, rhs_indices=mx.array([[3], [0]]), group_size=32)
    assert out.shape == (2, 1, 2, 32)
    with pytest.raises(IndexError, match=r"gather_qmm.*out of bounds"):
        mx.eval(mx.gather_qmm(mx.array(x), q, s, b, mx.array([0]), mx.array([4]), group_size=32))


@needs_mlx
def test_gather_qmm_matches_mlx():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((4, 32, 64)).astype(np.float32)
    x = rng.standard_normal((3, 2, 64)).astype(np.float32)
    li, ri = np.array([0, 2, 1, 1]), np.array([3, 3, 0, 2])
    for mode in ("affine", "mxfp4"):
        packed = mlx.quantize(mlx.array(w), mode=mode)
        theirs = mlx.gather_qmm(mlx.array(x), *packed, lhs_indices=mlx.array(li),
                                rhs_indices=mlx.array(ri), mode=mode)
        ours = mx.gather_qmm(mx.array(x), *[mx.array(np.array(p)) for p in packed],
                             lhs_indices=mx.array(li), rhs_indices=mx.array(ri), mode=mode)
        np.testing.assert_allclose(np.asarray(ours), np.array(theirs), rtol=1e-4, atol=1e-4)


# ---- rules -----------------------------------------------------------------------------------
def _fd_check(f, args, argnums, eps=1e-6, tol=1e-6):
    """vjp of sum(u * f) against central differences along a random direction, float64."""
    rng = np.random.default_rng(0)
    out = f(*args)
    u = mx.array(rng.standard_normal(out.shape))
    grads = mx.grad(lambda *a: mx.sum(u * f(*a)), argnums=argnums)(*args)
    for i, g in zip(argnums, grads):
        v = rng.standard_normal(args[i].shape)
        plus = list(args)
        minus = list(args)
        plus[i] = args[i] + eps * to_mx(v)
        minus[i] = args[i] - eps * to_mx(v)
        fd = (mx.sum(u * f(*plus)) - mx.sum(u * f(*minus))).item() / (2 * eps)
        assert abs(fd - float(np.sum(np.asarray(g) * v))) <= tol * max(1.0, abs(fd)), (i, fd)


def test_quantized_matmul_and_gather_qmm_gradients():
    rng = np.random.default_rng(8)
    for transpose in (True, False):
        x, (q, s, b) = _gqmm_case(rng, transpose)
        X = mx.array(x, dtype=mx.float64)
        S, B = s.astype(mx.float64), b.astype(mx.float64)
        _fd_check(lambda x, s, b: mx.quantized_matmul(x, q[1], s, b, transpose=transpose,
                                                      group_size=32), [X[0], S[1], B[1]], (0, 1, 2))
        lhs, rhs = mx.array([0, 2, 2, 1]), mx.array([1, 1, 3, 1])
        _fd_check(lambda x, s, b: mx.gather_qmm(x, q, s, b, lhs, rhs, transpose=transpose,
                                                group_size=32), [X, S, B], (0, 1, 2))


def test_dequantize_and_quantize_gradients():
    rng = np.random.default_rng(10)
    w = to_mx(rng.standard_normal((3, 64)))
    q, s, b = mx.quantize(w, 32, 4)
    _fd_check(lambda s, b: mx.dequantize(q, s, b, 32, 4), [s, b], (0, 1))
    # quantize: the scales and biases follow the group's extremes
    for bits in (1, 3, 4):
        _fd_check(lambda w: mx.quantize(w, 32, bits)[1] + 2 * mx.quantize(w, 32, bits)[2], [w], (0,))
    qg, sg = mx.quantize(w.astype(mx.float32), mode="nvfp4")
    g = mx.grad(lambda gs: mx.sum(mx.dequantize(qg, sg, mode="nvfp4", global_scale=gs, dtype=mx.float32)))(mx.array(2.0))
    want = mx.sum(mx.dequantize(qg, sg, mode="nvfp4", global_scale=mx.array(1.0), dtype=mx.float32))
    np.testing.assert_allclose(g.item(), want.item(), rtol=1e-5)


def test_jvp_and_vmap_of_the_quantized_ops():
    rng = np.random.default_rng(12)
    x, (q, s, b) = _gqmm_case(rng)
    X = mx.array(x)
    qb, sb, bb, Xb = q, s, b, X
    q, s, b, X = q[0], s[0], b[0], X[0]
    f = lambda x, s: mx.quantized_matmul(x, q, s, b, group_size=32)  # noqa: E731
    tx, ts = mx.array(rng.standard_normal(X.shape).astype(np.float32)), mx.ones_like(s) * 0.1
    _, (t,) = mx.jvp(f, (X, s), (tx, ts))
    want = f(tx, s) + mx.quantized_matmul(X, q, ts, mx.zeros_like(b), group_size=32)
    np.testing.assert_allclose(np.asarray(t), np.asarray(want), rtol=1e-4, atol=1e-4)
    # vmap over the packed matrices (and the last axis of x)
    got = mx.vmap(lambda x, q, s, b: mx.quantized_matmul(x, q, s, b, group_size=32),
                  in_axes=(2, 0, 0, 0))(mx.stack([X] * 4, 2), qb, sb, bb)
    for i in range(4):
        np.testing.assert_allclose(np.asarray(got[i]),
                                   np.asarray(mx.quantized_matmul(X, qb[i], sb[i], bb[i], group_size=32)),
                                   rtol=1e-5, atol=1e-5)
    q, s, b, X = qb, sb, bb, Xb
    # vmap of gather_qmm over the indices
    idx = mx.array([[0, 1], [3, 2], [1, 1]])
    got = mx.vmap(lambda r: mx.gather_qmm(X, q, s, b, mx.array([0, 1]), r, group_size=32))(idx)
    for i in range(3):
        np.testing.assert_allclose(np.asarray(got[i]),
                                   np.asarray(mx.gather_qmm(X, q, s, b, mx.array([0, 1]), idx[i], group_size=32)),
                                   rtol=1e-5, atol=1e-5)
    # vmap of quantize (batch on the last axis) and of dequantize with a batched global scale
    W = mx.array(rng.standard_normal((2, 64, 3)).astype(np.float32))
    vq = mx.vmap(lambda w: mx.quantize(w, 32)[0], in_axes=2)(W)
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(vq[i]), np.asarray(mx.quantize(W[..., i], 32)[0]))
    qn, sn = mx.quantize(W[..., 0], mode="nvfp4")
    gsb = mx.array([1.0, 2.0])
    vd = mx.vmap(lambda g: mx.dequantize(qn, sn, mode="nvfp4", global_scale=g, dtype=mx.float32))(gsb)
    np.testing.assert_allclose(np.asarray(vd[1]), 2 * np.asarray(vd[0]), rtol=1e-6)


# ---- qqmm -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["nvfp4", "mxfp8", "mxfp4"])
def test_qqmm_is_the_product_of_round_trips(mode):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 3, 64)).astype(np.float32)
    w = rng.standard_normal((5, 64)).astype(np.float32)

    def rt(a):
        return mx.dequantize(*mx.quantize(mx.array(a), mode=mode), mode=mode, dtype=mx.float32)

    want = np.asarray(rt(x)) @ np.asarray(rt(w)).T
    got = mx.qqmm(mx.array(x), mx.array(w), mode=mode)
    assert got.shape == (2, 3, 5) and got.dtype == mx.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    packed = mx.quantize(mx.array(w), mode=mode)
    np.testing.assert_allclose(np.asarray(mx.qqmm(mx.array(x), *packed, mode=mode)), want,
                               rtol=1e-5, atol=1e-5)
    # gather_qqmm picks matrices like gather_qmm
    w3 = mx.stack([mx.array(w), 2 * mx.array(w)])
    g = mx.gather_qqmm(mx.array(x[0]), w3, rhs_indices=mx.array([1, 0]), mode=mode)
    np.testing.assert_allclose(np.asarray(g[1]), np.asarray(mx.qqmm(mx.array(x[0]), mx.array(w), mode=mode)),
                               rtol=1e-5, atol=1e-5)


def test_qqmm_gradients_pass_straight_through():
    rng = np.random.default_rng(15)
    x = mx.array(rng.standard_normal((3, 32)).astype(np.float32))
    w = mx.array(rng.standard_normal((4, 32)).astype(np.float32))
    u = mx.array(rng.standard_normal((3, 4)).astype(np.float32))

    def rt(a):
        return mx.dequantize(*mx.quantize(a, mode="nvfp4"), mode="nvfp4", dtype=mx.float32)

    dx, dw = mx.grad(lambda x, w: mx.sum(u * mx.qqmm(x, w)), argnums=(0, 1))(x, w)
    np.testing.assert_allclose(np.asarray(dx), np.asarray(u @ rt(w)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(dw), np.asarray(u.T @ rt(x)), rtol=1e-5, atol=1e-5)
    got = mx.vmap(lambda x: mx.qqmm(x, w))(mx.stack([x, 2 * x]))
    np.testing.assert_allclose(np.asarray(got[1]), np.asarray(mx.qqmm(2 * x, w)), rtol=1e-5, atol=1e-5)


@needs_mlx
def test_qqmm_matches_mlx_where_mlx_runs_it():
    """MLX's CPU qqmm takes one row of x and a packed w."""
    rng = np.random.default_rng(16)
    w = rng.standard_normal((8, 64)).astype(np.float32)
    x = rng.standard_normal((1, 64)).astype(np.float32)
    for mode in ("nvfp4", "mxfp8"):
        packed = mlx.quantize(mlx.array(w), mode=mode)
        theirs = np.array(mlx.qqmm(mlx.array(x), *packed, mode=mode))
        ours = mx.qqmm(mx.array(x), *[mx.array(np.array(p)) for p in packed], mode=mode)
        np.testing.assert_allclose(np.asarray(ours), theirs, rtol=2e-2, atol=2e-2 * np.abs(theirs).max())


# ---- gather_mm, block_masked_mm, segmented_mm against MLX ------------------------------------
@needs_mlx
def test_gathered_masked_and_segmented_products_match_mlx():
    rng = np.random.default_rng(18)
    a = rng.standard_normal((4, 3, 5)).astype(np.float32)
    b = rng.standard_normal((2, 5, 6)).astype(np.float32)
    li, ri = np.array([0, 3, 3, 1]), np.array([1, 1, 0, 1])
    np.testing.assert_allclose(
        np.asarray(mx.gather_mm(mx.array(a), mx.array(b), mx.array(li), mx.array(ri))),
        np.array(mlx.gather_mm(mlx.array(a), mlx.array(b), mlx.array(li), mlx.array(ri))), rtol=1e-5, atol=1e-5)
    A = rng.standard_normal((40, 70)).astype(np.float32)
    B = rng.standard_normal((70, 33)).astype(np.float32)
    for masks in [(rng.random((2, 2)) > 0.3, rng.random((2, 3)) > 0.3, rng.random((3, 2)) > 0.3),
                  (rng.standard_normal((2, 2)), rng.standard_normal((2, 3)), rng.standard_normal((3, 2)))]:
        ours = mx.block_masked_mm(mx.array(A), mx.array(B), 32, *[mx.array(m.astype(np.float32) if m.dtype != bool else m) for m in masks])
        theirs = mlx.block_masked_mm(mlx.array(A), mlx.array(B), 32, *[mlx.array(m.astype(np.float32) if m.dtype != bool else m) for m in masks])
        np.testing.assert_allclose(np.asarray(ours), np.array(theirs), rtol=1e-4, atol=1e-4)
    seg = np.array([[0, 10], [10, 70], [5, 5], [0, 70]])
    np.testing.assert_allclose(np.asarray(mx.segmented_mm(mx.array(A), mx.array(B), mx.array(seg))),
                               np.array(mlx.segmented_mm(mlx.array(A), mlx.array(B), mlx.array(seg))),
                               rtol=1e-4, atol=1e-4)


def test_gather_mm_runs_and_errors():
    rng = np.random.default_rng(19)
    a = mx.array(rng.standard_normal((6, 1, 8)).astype(np.float32))
    b = mx.array(rng.standard_normal((3, 8, 4)).astype(np.float32))
    # a sorted mixture of experts: consecutive tokens of one expert run as one product
    lhs, rhs = mx.arange(6), mx.array([0, 0, 0, 2, 2, 1])
    got = np.asarray(mx.gather_mm(a, b, lhs, rhs))
    for i in range(6):
        np.testing.assert_allclose(got[i], np.asarray(a[i] @ b[int(rhs[i].item())]), rtol=1e-5, atol=1e-5)
    with pytest.raises(IndexError, match="gather_mm"):
        mx.eval(mx.gather_mm(a, b, lhs, mx.array([0, 0, 0, 0, 0, 3])))
    with pytest.raises(TypeError, match="gather_mm.*integers"):
        mx.gather_mm(a, b, mx.array([0.5]))
    with pytest.raises(TypeError, match="gather_mm.*float"):
        mx.gather_mm(a.astype(mx.int32), b.astype(mx.int32), mx.array([0]))
    with pytest.raises(ValueError, match=r"gather_mm.*\(6, 1, 8\)"):
        mx.gather_mm(a, b[:, :5], mx.array([0]))


def test_block_masked_and_segmented_edge_cases():
    a, b = mx.ones((40, 70)), mx.ones((70, 33))
    with pytest.raises(ValueError, match="block_size must be 32 or 64"):
        mx.block_masked_mm(a, b, 16, mx.ones((3, 3), dtype=mx.bool_))
    with pytest.raises(ValueError, match=r"mask_out.*\(3, 3\)"):
        mx.block_masked_mm(a, b, 32, mx.ones((3, 3), dtype=mx.bool_))
    out = mx.block_masked_mm(a, b, 32, mx.array([[True, False], [False, True]]))
    assert np.asarray(out)[0, 32] == 0 and np.asarray(out)[39, 32] == 70
    # segments are clipped to [0, K]; an empty or reversed one gives zeros
    s = mx.segmented_mm(a, b, mx.array([[60, 90], [10, 0], [-5, 3]]))
    np.testing.assert_array_equal(np.asarray(s[:, 0, 0]), [10, 0, 3])
    with pytest.raises(ValueError, match=r"segmented_mm.*\(\.\.\., 2\)"):
        mx.segmented_mm(a, b, mx.array([0, 1, 2]))
    with pytest.raises(TypeError, match="segmented_mm.*integers"):
        mx.segmented_mm(a, b, mx.array([[0.0, 1.0]]))


def test_quantization_argument_errors():
    w = mx.ones((4, 64))
    q, s, b = mx.quantize(w)
    with pytest.raises(ValueError, match=r"\[quantize\] Invalid quantization mode 'foo'"):
        mx.quantize(w, mode="foo")
    with pytest.raises(ValueError, match="group size 16 is not supported"):
        mx.quantize(w, 16)
    with pytest.raises(ValueError, match="number of bits 7"):
        mx.quantize(w, 64, 7)
    with pytest.raises(ValueError, match="mxfp4 quantization requires group size 32"):
        mx.quantize(w, 64, mode="mxfp4")
    with pytest.raises(ValueError, match=r"multiple of the group size 64.*|\(4, 48\)"):
        mx.quantize(mx.ones((4, 48)))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        mx.quantize(mx.ones((64,)))
    with pytest.raises(TypeError, match=r"\[quantize\].*int32"):
        mx.quantize(mx.ones((4, 64), dtype=mx.int32))
    with pytest.raises(ValueError, match="only supported for 'nvfp4'"):
        mx.quantize(w, global_scale=mx.array(1.0))
    with pytest.raises(ValueError, match="Biases must be given"):
        mx.quantized_matmul(mx.ones((2, 64)), q, s)
    with pytest.raises(ValueError, match="Biases must be None for 'mxfp4'"):
        mx.dequantize(q, s, b, mode="mxfp4")
    with pytest.raises(TypeError, match="packed matrix must be uint32"):
        mx.quantized_matmul(mx.ones((2, 64)), q.astype(mx.int32), s, b)
    with pytest.raises(ValueError, match=r"last dimension of x \(shape \(2, 32\)\)"):
        mx.quantized_matmul(mx.ones((2, 32)), q, s, b)
    with pytest.raises(ValueError, match=r"scales \(shape \(4, 2\)\) do not match"):
        mx.dequantize(q, mx.ones((4, 2)), mx.ones((4, 2)))
    with pytest.raises(TypeError, match="from_fp8.*uint8"):
        mx.from_fp8(mx.ones((2,)))
    with pytest.raises(TypeError, match="to_fp8"):
        mx.to_fp8(mx.array([1, 2]))
    with pytest.raises(ValueError, match="qqmm.*not 'affine'"):
        mx.qqmm(mx.ones((2, 64)), w, mode="affine")
    with pytest.raises(ValueError, match="Scales must be given"):
        mx.qqmm(mx.ones((2, 64)), q, mode="nvfp4")
    with pytest.raises(ValueError, match="gather_qmm.*at least 2"):
        mx.gather_qmm(mx.ones((64,)), q, s, b, rhs_indices=mx.array([0]))


# ---- nn ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", list(MODES))
def test_quantized_layers_use_the_core_ops(mode):
    lin = nn.Linear(64, 16)
    q = nn.QuantizedLinear.from_linear(lin, mode=mode)
    x = mx.random.normal((3, 64))
    W = mx.dequantize(q.weight, q.scales, q.get("biases"), q.group_size, q.bits, mode=mode,
                      dtype=mx.float32)
    np.testing.assert_allclose(np.asarray(q(x)), np.asarray(x @ W.T + lin.bias), rtol=1e-5, atol=1e-5)
    assert (q.get("biases") is None) == (mode != "affine")
    assert q.trainable_parameters() == {}
    emb = nn.Embedding(10, 64)
    qe = emb.to_quantized(mode=mode)
    ids = mx.array([1, 3])
    T = mx.dequantize(qe.weight, qe.scales, qe.get("biases"), qe.group_size, qe.bits, mode=mode,
                      dtype=mx.float32)
    np.testing.assert_allclose(np.asarray(qe(ids).astype(mx.float32)), np.asarray(T[ids]), rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(np.asarray(qe.as_linear(x)), np.asarray(x @ T.T), rtol=1e-4, atol=1e-4)


def test_qqlinear_switches_storage_with_training_mode():
    lin = nn.Linear(64, 8, bias=False)
    layer = nn.QQLinear.from_linear(lin, mode="nvfp4")
    x = mx.random.normal((2, 64))
    assert layer.training and layer.weight.dtype == mx.float32
    y_train = layer(x)
    g = nn.value_and_grad(layer, lambda m, x: mx.sum(m(x)))(layer, x)[1]
    assert g["weight"].shape == (8, 64) and np.any(np.asarray(g["weight"]))
    layer.eval()
    assert layer.weight.dtype == mx.uint32 and "scales" in layer
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(y_train), rtol=1e-5, atol=1e-5)
    layer.train()  # dequantize's default dtype for the float formats: bfloat16, as in MLX
    assert layer.weight.dtype == mx.bfloat16 and "scales" not in layer
    with pytest.raises(NotImplementedError):
        nn.QQLinear.from_linear(nn.Linear(64, 8))
    model = nn.Sequential(nn.Linear(64, 32, bias=False), nn.ReLU(), nn.Linear(32, 4, bias=False))
    nn.quantize(model, mode="mxfp8", quantize_input=True)
    assert isinstance(model.layers[0], nn.QQLinear) and model(x).shape == (2, 4)
    with pytest.raises(ValueError, match="only supported for 'nvfp4' and 'mxfp8'"):
        nn.Linear(64, 8).to_quantized(mode="affine", quantize_input=True)
