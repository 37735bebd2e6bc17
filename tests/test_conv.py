"""The Convolution primitive beyond the op-table sweeps (tests/op_table/conv.py): each of the
CPU kernel's plans (depthwise, pointwise, rows, dual) on sizes that cross its tile and
reduction boundaries, strided and flipped input views, float16 / bfloat16, degenerate sizes,
the rules' own structure (the gradients are convolutions), and errors."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember.core as mx
from op_table.conv import conv_ref, conv_transpose_ref

RNG = np.random.default_rng(5)


def f64(x):
    """An ember float64 array (mx.array of a float64 numpy array gives float32, as in MLX)."""
    return mx.array(x, dtype=mx.float64)


def batch_inner(x):
    """An ember view of x whose batch axis (0) is the contiguous one: the layout the weight
    gradient's convolution reads, which the dual plan handles."""
    perm = (x.ndim - 1,) + tuple(range(1, x.ndim - 1)) + (0,)
    return mx.transpose(f64(np.ascontiguousarray(np.transpose(x, perm))), perm)


PLANS = [
    # (x shape, w shape, kwargs): the plan each case exercises
    ((3, 21, 19, 16), (8, 3, 3, 16), dict(padding=1)),                  # rows, several tiles
    ((1, 5, 6, 600), (4, 3, 3, 600), dict(padding=(1, 0))),              # rows, split reduction
    ((2, 9, 8, 12), (6, 3, 3, 4), dict(groups=3, stride=2)),             # rows, grouped
    ((2, 30, 31, 8), (8, 3, 3, 1), dict(groups=8, padding=1)),           # depthwise
    ((2, 9, 9, 4), (12, 3, 2, 1), dict(groups=4, dilation=(2, 1))),      # depthwise, multiplier 3
    ((3, 17, 15, 24), (10, 1, 1, 24), dict()),                           # pointwise
    ((3, 17, 15, 24), (12, 1, 1, 6), dict(groups=4)),                    # pointwise, grouped
    ((2, 17, 15, 24), (10, 1, 1, 24), dict(stride=2)),                   # 1x1, strided: rows
]


@pytest.mark.parametrize("xs,ws,kw", PLANS)
def test_plans_match_definition(xs, ws, kw):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    conv = mx.conv2d
    got = conv(f64(x), f64(w), **kw)
    ref = conv_ref(x, w, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1), 1,
                   kw.get("groups", 1))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
    # the same with the batch axis innermost in memory (the dual plan where it applies) and
    # with every axis reversed (negative strides)
    np.testing.assert_allclose(conv(batch_inner(x), f64(w), **kw), ref, rtol=1e-10, atol=1e-10)
    flipped = mx.flip(f64(np.flip(x).copy()))
    np.testing.assert_allclose(conv(flipped, mx.flip(f64(np.flip(w).copy())), **kw), ref,
                               rtol=1e-10, atol=1e-10)


DILATED = [
    # input dilation: the rows plan works through one class of outputs at a time
    ((2, 9, 8, 6), (4, 3, 3, 6), dict(input_dilation=(2, 3), stride=(1, 2),
                                      padding=([2, 1], [0, 3]), kernel_dilation=(1, 2), flip=True)),
    ((2, 7, 5, 4), (6, 4, 2, 2), dict(input_dilation=2, padding=([3, 1], [3, 0]), groups=2)),
    ((1, 6, 5, 3), (2, 2, 2, 3), dict(input_dilation=3, stride=2, kernel_dilation=2)),
    ((1, 2, 3), (2, 1, 3), dict(input_dilation=4, padding=([1], [2]))),  # classes without taps
]


@pytest.mark.parametrize("xs,ws,kw", DILATED)
@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_input_dilation_classes(xs, ws, kw, dtype):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws) / 2
    ref = conv_ref(x, w, **kw)
    if dtype == "float64":
        got = mx.conv_general(f64(x), f64(w), **kw)
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
    else:
        got = mx.conv_general(mx.array(x, dtype=mx.float16), mx.array(w, dtype=mx.float16), **kw)
        np.testing.assert_allclose(np.asarray(got.astype(mx.float32)), ref, rtol=2e-2, atol=2e-2)


ADJOINT = DILATED + [
    ((3, 9, 10, 8), (8, 3, 3, 1), dict(stride=2, padding=1, groups=8)),  # depthwise
    ((3, 9, 10, 8), (5, 3, 3, 8), dict(stride=2, padding=1)),
]


@pytest.mark.parametrize("xs,ws,kw", ADJOINT)
def test_vjps_are_adjoints(xs, ws, kw):
    # The convolution is linear in each input, so its vjps are exact adjoints of it:
    # <u, conv(v, w)> = <vjp_x(u), v> and <u, conv(x, v)> = <vjp_w(u), v> (the weight's vjp
    # runs the dual or depthwise plan, the forward the rows or depthwise plan).
    x, w = f64(RNG.standard_normal(xs)), f64(RNG.standard_normal(ws))
    f = lambda a, b: mx.conv_general(a, b, **kw)  # noqa: E731
    out = f(x, w)
    u = f64(RNG.standard_normal(out.shape))
    _, (gx, gw) = mx.vjp(f, [x, w], [u])
    vx, vw = f64(RNG.standard_normal(xs)), f64(RNG.standard_normal(ws))
    pairs = [(mx.sum(u * f(vx, w)), mx.sum(gx * vx)), (mx.sum(u * f(x, vw)), mx.sum(gw * vw))]
    for lhs, rhs in pairs:
        assert abs(lhs.item() - rhs.item()) < 1e-9 * (1 + abs(lhs.item()))


@pytest.mark.parametrize("dtype,tol", [(mx.float16, 2e-2), (mx.bfloat16, 8e-2), (mx.float32, 1e-4)])
@pytest.mark.parametrize("xs,ws,kw", PLANS[:1] + PLANS[3:6])
def test_plans_in_low_precision(xs, ws, kw, dtype, tol):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws) / 4
    ref = conv_ref(x, w, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1), 1,
                   kw.get("groups", 1))
    for xe in (mx.array(x, dtype=dtype), batch_inner(x).astype(dtype)):
        got = mx.conv2d(xe, mx.array(w, dtype=dtype), **kw)
        assert got.dtype == dtype
        np.testing.assert_allclose(np.asarray(got.astype(mx.float32)), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", [(mx.float16, 3e-2), (mx.bfloat16, 1e-1)])
def test_gradients_in_low_precision(dtype, tol):
    # the weight gradient's dual plan and the depthwise plan on 16-bit floats
    for xs, ws, groups in (((4, 9, 8, 6), (6, 3, 3, 6), 1), ((4, 9, 8, 6), (6, 3, 3, 1), 6)):
        x, w = RNG.standard_normal(xs), RNG.standard_normal(ws) / 4
        f = lambda a, b: mx.sum(mx.conv2d(a, b, padding=1, groups=groups) ** 2)  # noqa: E731
        want = mx.grad(f, argnums=(0, 1))(f64(x), f64(w))
        got = mx.grad(f, argnums=(0, 1))(mx.array(x, dtype=dtype), mx.array(w, dtype=dtype))
        for g, r in zip(got, want):
            assert g.dtype == dtype
            scale = np.max(np.abs(np.asarray(r)))
            np.testing.assert_allclose(np.asarray(g.astype(mx.float32)) / scale,
                                       np.asarray(r) / scale, atol=tol)


def test_weight_gradient_matches_definition_on_large_sizes():
    # dL/dw through the dual plan (x read with batch and channels swapped), big enough for
    # several reduction tiles and both threads; dL/dx through the rows plan.
    x, w = RNG.standard_normal((6, 14, 13, 16)), RNG.standard_normal((12, 3, 3, 16))
    u = RNG.standard_normal((6, 7, 7, 12))
    gx, gw = mx.grad(lambda a, b: mx.sum(mx.conv2d(a, b, stride=2, padding=1) * f64(u)),
                     argnums=(0, 1))(f64(x), f64(w))
    # references from the definition: dw[c, k, j] = sum u[n, o, c] xp[n, o*s + k, j]
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    dw = np.zeros_like(w)
    dx = np.zeros_like(xp)
    for kh in range(3):
        for kw_ in range(3):
            win = xp[:, kh:kh + 13:2, kw_:kw_ + 13:2, :]
            dw[:, kh, kw_, :] = np.einsum("nhwc,nhwj->cj", u, win)
            dx[:, kh:kh + 13:2, kw_:kw_ + 13:2, :] += np.einsum("nhwc,cj->nhwj", u, w[:, kh, kw_])
    np.testing.assert_allclose(gw, dw, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gx, dx[:, 1:-1, 1:-1, :], rtol=1e-9, atol=1e-9)


def test_conv_transpose_is_the_adjoint_of_conv():
    # <conv(x, w), y> = <x, conv_transpose(y, w^T)> with w^T swapping C_in and C_out
    x, w = RNG.standard_normal((2, 9, 3)), RNG.standard_normal((4, 3, 3))
    y = RNG.standard_normal((2, 4, 4))
    lhs = np.sum(np.asarray(mx.conv1d(f64(x), f64(w), stride=2)) * y)
    wt = np.transpose(w, (2, 1, 0))
    back = mx.conv_transpose1d(f64(y), f64(wt), stride=2, output_padding=0)
    np.testing.assert_allclose(back, conv_transpose_ref(y, wt, stride=2), rtol=1e-12, atol=1e-12)
    rhs = np.sum(np.asarray(back)[:, :9] * x)
    assert abs(lhs - rhs) < 1e-9 * (1 + abs(lhs))


def test_gradients_are_convolutions():
    # The vjps (and their own vjps) are Convolution nodes on views, with no gather or scatter.
    x, w = mx.ones((2, 6, 6, 4)), mx.ones((6, 3, 3, 2))
    u = mx.ones((2, 3, 3, 6))
    f = lambda a, b: mx.sum(mx.conv2d(a, b, stride=2, padding=1, groups=2) * u)  # noqa: E731
    gx, gw = mx.grad(f, argnums=(0, 1))(x, w)
    names = set(mx._primitive_names([gx, gw]))
    assert "Convolution" in names
    assert not names & {"Gather", "Scatter", "ScatterAdd", "Pad", "SliceUpdate", "Matmul"}, names
    ggx = mx.grad(lambda b: mx.sum(mx.grad(f)(x, b) ** 2))(w)
    assert ggx.shape == w.shape


def test_vmap_folds_into_one_convolution():
    xs, ws = RNG.standard_normal((3, 2, 7, 4)), RNG.standard_normal((3, 6, 3, 2))
    got = mx.vmap(lambda a, b: mx.conv1d(a, b, padding=1, groups=2))(f64(xs), f64(ws))
    for i in range(3):
        np.testing.assert_allclose(got[i], conv_ref(xs[i], ws[i], 1, 1, 1, 1, 2), atol=1e-10)
    out = mx.vmap(lambda a, b: mx.conv1d(a, b, padding=1, groups=2))(f64(xs), f64(ws))
    assert mx._primitive_names([out]).count("Convolution") == 1


def test_degenerate_sizes():
    w = mx.ones((3, 2, 4))
    assert mx.conv1d(mx.ones((0, 5, 4)), w).shape == (0, 4, 3)
    assert mx.conv1d(mx.ones((2, 5, 4)), mx.ones((0, 2, 4))).shape == (2, 4, 0)
    # no input channels: empty sums
    np.testing.assert_array_equal(mx.conv1d(mx.ones((2, 5, 0)), mx.ones((3, 2, 0))),
                                  np.zeros((2, 4, 3)))
    # an empty spatial axis, all padding
    np.testing.assert_array_equal(mx.conv1d(mx.ones((2, 0, 4)), w, padding=2), np.zeros((2, 3, 3)))
    g = mx.grad(lambda a: mx.sum(mx.conv1d(a, w, padding=2)))(mx.ones((2, 0, 4)))
    assert g.shape == (2, 0, 4)


def test_more_spatial_axes_than_mlx():
    # MLX stops at 3 spatial axes; the primitive takes any number (here 4, with gradients).
    x, w = RNG.standard_normal((2, 3, 4, 3, 4, 2)), RNG.standard_normal((3, 2, 2, 1, 2, 2))
    kw = dict(stride=[1, 2, 1, 1], padding=([1, 0, 0, 1], [0, 1, 0, 0]))
    np.testing.assert_allclose(mx.conv_general(f64(x), f64(w), **kw), conv_ref(x, w, **kw),
                               rtol=1e-10, atol=1e-10)
    gw = mx.grad(lambda b: mx.sum(mx.conv_general(f64(x), b, **kw)))(f64(w))
    assert gw.shape == w.shape


def test_convolve_swaps_and_promotes():
    a, v = np.arange(1.0, 4.0), np.array([0.0, 1.0, 0.5, 2.0, 1.0])
    np.testing.assert_allclose(mx.convolve(f64(a), f64(v)), np.convolve(a, v), atol=1e-12)
    got = mx.convolve(mx.array([1.0, 2.0, 3.0]), mx.array([1, 2], dtype=mx.int32))
    assert got.dtype == mx.float32
    np.testing.assert_allclose(got, np.convolve([1, 2, 3], [1, 2]))


X, W = mx.zeros((2, 8, 4)), mx.zeros((6, 3, 4))
ERRORS = [  # (call, error, message pattern)
    (lambda: mx.conv2d(mx.zeros((1, 4, 3)), mx.zeros((2, 3, 3))), ValueError,
     r"\[conv2d\] Expected an input .* got shapes \(1, 4, 3\) and \(2, 3, 3\)"),
    (lambda: mx.conv1d(X, mx.zeros((6, 3, 3))), ValueError,
     r"\[conv1d\] The input has 4 channels \(shape \(2, 8, 4\)\).*\(6, 3, 3\)"),
    (lambda: mx.conv1d(X, W, groups=2), ValueError, r"\[conv1d\] .*groups=2"),
    (lambda: mx.conv1d(X, mx.zeros((5, 3, 2)), groups=2), ValueError,
     r"\[conv1d\] The weight's 5 output channels \(shape \(5, 3, 2\)\) are not divisible by "
     r"groups=2"),
    (lambda: mx.conv1d(X, W, groups=0), ValueError,
     r"\[conv1d\] groups must be positive, got 0 \(input shape \(2, 8, 4\), weight shape "
     r"\(6, 3, 4\)\)"),
    (lambda: mx.conv1d(X, W, groups=-1), ValueError, r"\[conv1d\] groups must be positive, got -1"),
    (lambda: mx.conv1d(X, W, stride=0), ValueError,
     r"\[conv1d\] stride must be positive, got \(0,\) \(input shape \(2, 8, 4\)"),
    (lambda: mx.conv_general(X, W, input_dilation=0), ValueError,
     r"\[conv_general\] input_dilation must be positive"),
    (lambda: mx.conv1d(X, W, dilation=4), ValueError,
     r"\[conv1d\] .*\(shape \(2, 8, 4\)\).*smaller than the dilated kernel \(size 9: weight shape "
     r"\(6, 3, 4\), kernel dilation 4\)"),
    (lambda: mx.conv_general(X, W, padding=([-4], [-3])), ValueError,
     r"\[conv_general\] .*has size 1, smaller than the dilated kernel"),
    (lambda: mx.conv_general(X, W, stride=[1, 2]), ValueError,
     r"\[conv_general\] stride needs 1 values.*got 2"),
    (lambda: mx.conv_general(mx.zeros((8, 4)), W), ValueError,
     r"\[conv_general\] .*same number of dimensions.*\(8, 4\)"),
    (lambda: mx.conv1d(X, mx.zeros((6, 0, 4))), ValueError, r"\[conv1d\] The kernel has size 0"),
    (lambda: mx.conv_transpose1d(mx.zeros((1, 2, 4)), W, padding=3), ValueError,
     r"\[conv_transpose1d\] .*smaller than the dilated kernel"),
    (lambda: mx.conv1d(X.astype(mx.int32), W.astype(mx.int32)), TypeError,
     r"\[conv1d\] Convolutions take floating-point inputs.*int32 and int32"),
    (lambda: mx.conv_general(X.astype(mx.complex64), W), TypeError,
     r"\[conv_general\] .*complex64"),
    (lambda: mx.convolve(mx.zeros((5, 2)), mx.zeros((3,))), ValueError,
     r"\[convolve\] Inputs must be 1-D, got shapes \(5, 2\) and \(3,\)"),
    (lambda: mx.convolve(mx.zeros((0,)), mx.zeros((3,))), ValueError,
     r"\[convolve\] Inputs must not be empty"),
    (lambda: mx.convolve(mx.zeros((5,)), mx.zeros((3,)), mode="bad"), ValueError,
     r"\[convolve\] mode must be"),
    (lambda: mx.convolve(mx.zeros((5,), dtype=mx.int32), mx.zeros((3,), dtype=mx.int32)), TypeError,
     r"\[convolve\] Convolutions take floating-point"),
]


@pytest.mark.parametrize("call,error,pattern", ERRORS)
def test_errors_name_the_op_and_shapes(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_signatures_are_mlx():
    # input and weight are positional-only, the rest as in mlx.core
    with pytest.raises(TypeError):
        mx.conv1d(input=mx.zeros((1, 3, 1)), weight=mx.zeros((1, 1, 1)))
    y = mx.conv_general(mx.ones((1, 4, 4, 1)), mx.ones((1, 2, 2, 1)), stride=1,
                        padding=([0, 0], [1, 1]), kernel_dilation=[1, 1], input_dilation=1,
                        groups=1, flip=False)
    assert y.shape == (1, 4, 4, 1)
    y = mx.conv2d(mx.ones((1, 5, 5, 2)), mx.ones((3, 3, 3, 2)), padding=(1, 0))
    assert y.shape == (1, 5, 3, 3)


@st.composite
def conv_cases(draw):
    """A random conv_general call: 1-3 spatial axes, every parameter, any layout of x."""
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ints = lambda lo, hi: st.lists(st.integers(lo, hi), min_size=nd, max_size=nd)  # noqa: E731
    sizes, kernel = draw(ints(1, 6)), draw(ints(1, 3))
    kw = dict(stride=draw(ints(1, 3)), padding=(draw(ints(-1, 3)), draw(ints(-1, 3))),
              kernel_dilation=draw(ints(1, 2)), input_dilation=draw(ints(1, 3)), groups=groups,
              flip=draw(st.booleans()))
    xs = [draw(st.integers(1, 3))] + sizes + [cg * groups]
    return xs, [og * groups] + kernel + [cg], kw, draw(st.booleans())


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(conv_cases())
def test_random_convolutions(case):
    # values against the definition and both vjps as adjoints, or a ValueError exactly when
    # the padded input is smaller than the dilated kernel
    xs, ws, kw, batch_innermost = case
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    (lo, hi), kd, idil = kw["padding"], kw["kernel_dilation"], kw["input_dilation"]
    too_small = any((s - 1) * d + 1 + a + b < (k - 1) * e + 1
                    for s, d, a, b, k, e in zip(xs[1:-1], idil, lo, hi, ws[1:-1], kd))
    xe = batch_inner(x) if batch_innermost else f64(x)
    if too_small:
        with pytest.raises(ValueError, match="smaller than the dilated kernel"):
            mx.conv_general(xe, f64(w), **kw)
        return
    ref = conv_ref(x, w, **kw)
    f = lambda a, b: mx.conv_general(a, b, **kw)  # noqa: E731
    np.testing.assert_allclose(f(xe, f64(w)), ref, rtol=1e-9, atol=1e-9)
    u = rng.standard_normal(ref.shape)
    _, (gx, gw) = mx.vjp(f, [xe, f64(w)], [f64(u)])
    vx, vw = rng.standard_normal(xs), rng.standard_normal(ws)
    for lhs, rhs in ((np.sum(u * conv_ref(vx, w, **kw)), np.sum(np.asarray(gx) * vx)),
                     (np.sum(u * conv_ref(x, vw, **kw)), np.sum(np.asarray(gw) * vw))):
        assert abs(lhs - rhs) < 1e-8 * (1 + abs(lhs))
