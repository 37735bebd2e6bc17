"""Reduce family checks the op table cannot express: dtype rules, float32 accuracy, every
kernel path (runs, rows, grouped rows, threaded splits) on large and strided inputs, empty
selections, NaN handling, error messages, gradients at zeros and ties, exclusive scans,
and the array methods."""
import numpy as np
import pytest

import ember.core as mx
from op_table import to_mx

RNG = np.random.default_rng(1234)


def _np(x):
    return np.asarray(x)


def _dt(name):
    return mx.bool_ if name == "bool" else getattr(mx, name)


# ---- dtype rules ------------------------------------------------------------------------
SUM_DTYPES = {
    "bool": "int32", "int8": "int32", "int16": "int32", "int32": "int32", "int64": "int64",
    "uint8": "uint32", "uint16": "uint32", "uint32": "uint32", "uint64": "uint64",
    "float16": "float16", "bfloat16": "bfloat16", "float32": "float32", "float64": "float64",
    "complex64": "complex64",
}


@pytest.mark.parametrize("dtype", sorted(SUM_DTYPES))
def test_dtype_rules(dtype):
    x = mx.ones((2, 3), _dt(dtype))
    want = _dt(SUM_DTYPES[dtype])
    assert mx.sum(x).dtype == want
    assert mx.prod(x, axis=0).dtype == want
    assert mx.cumsum(x, axis=1).dtype == want
    assert mx.cumprod(x).dtype == want
    inexact = dtype in ("float16", "bfloat16", "float32", "float64", "complex64")
    assert mx.mean(x).dtype == (x.dtype if inexact else mx.float32)
    assert mx.all(x).dtype == mx.bool_ and mx.any(x, axis=1).dtype == mx.bool_
    if dtype != "complex64":
        assert mx.max(x).dtype == x.dtype and mx.min(x, axis=0).dtype == x.dtype
        assert mx.cummax(x, axis=0).dtype == x.dtype
        assert mx.argmax(x).dtype == mx.uint32 and mx.argmin(x, axis=1).dtype == mx.uint32
        var_dtype = x.dtype if inexact else mx.float32
        assert mx.var(x).dtype == var_dtype and mx.std(x, axis=0).dtype == var_dtype
        assert mx.logsumexp(x).dtype == var_dtype


def test_values_of_small_int_sums_widen():
    x = mx.array(np.full(300, 100, np.int8))
    assert mx.sum(x).item() == 30000  # int8 would wrap
    u = mx.array(np.full(300, 200, np.uint8))
    assert mx.sum(u).item() == 60000
    assert mx.sum(mx.array([True, True, False])).item() == 2
    assert mx.cumsum(mx.array([True, True, True])).tolist() == [1, 2, 3]


def test_complex_reductions():
    z = (RNG.standard_normal((4, 5)) + 1j * RNG.standard_normal((4, 5))).astype(np.complex64)
    x = mx.array(z)
    np.testing.assert_allclose(_np(mx.sum(x, axis=1)), z.sum(1), rtol=1e-5)
    np.testing.assert_allclose(_np(mx.prod(x, axis=0)), z.prod(0), rtol=1e-4)
    np.testing.assert_allclose(_np(mx.mean(x)), z.mean(), rtol=1e-5)
    v = mx.var(x, axis=0)
    assert v.dtype == mx.float32
    np.testing.assert_allclose(_np(v), np.var(z, axis=0), rtol=1e-5)
    np.testing.assert_allclose(_np(mx.cumsum(x, axis=1)), np.cumsum(z, axis=1), rtol=1e-5)
    with pytest.raises(TypeError, match=r"\[max\].*complex"):
        mx.max(x)
    with pytest.raises(TypeError, match=r"\[argmin\]"):
        mx.argmin(x)


# ---- accuracy ----------------------------------------------------------------------------
def test_float32_sum_is_accurate():
    n = 2 ** 22
    x = mx.ones((n,)) * 1.1
    exact = n * float(np.float32(1.1))
    assert abs(mx.sum(x).item() - exact) / exact < 1e-6
    assert abs(mx.mean(x).item() - float(np.float32(1.1))) < 1e-6 * 1.1
    # Leading-axis (rows) and grouped-rows paths accumulate the same way.
    cols = mx.sum(mx.reshape(x, (n // 2, 2)), axis=0)
    np.testing.assert_allclose(_np(cols), exact / 2, rtol=1e-6)
    cols = mx.sum(mx.reshape(x, (n // 1024, 1024)), axis=0)
    np.testing.assert_allclose(_np(cols), exact / 1024, rtol=1e-6)
    # cumsum keeps a wide accumulator too.
    assert abs(mx.cumsum(x)[-1].item() - exact) / exact < 1e-6


def test_half_sums_accumulate_in_float32():
    v = RNG.uniform(0, 1, 20000).astype(np.float16)
    got = mx.sum(mx.array(v)).item()
    assert abs(got - v.astype(np.float64).sum()) / v.astype(np.float64).sum() < 1e-3
    # The mean of large halves is computed in float32: no overflow of the float16 sum.
    big = mx.full((100000,), 60000.0, mx.float16)
    assert mx.mean(big).dtype == mx.float16
    assert mx.mean(big).item() == 60000.0
    b = mx.array(v).astype(mx.bfloat16)
    np.testing.assert_allclose(mx.sum(b).item(), _np(b.astype(mx.float32)).astype(np.float64).sum(),
                               rtol=1e-2)


# ---- every kernel path against numpy -----------------------------------------------------
PATH_CASES = [
    ((300000,), None),            # one output: the run is split among threads
    ((3, 100000), 1),             # few outputs, long runs, threaded split
    ((100000, 3), 0),             # short rows back to back: grouped rows
    ((100000, 3), 1),             # short runs, many outputs: strided rows
    ((4, 70000), 0),              # rows path, tiles, split over rows
    ((70000, 4), (0,)),           # grouped rows with threads
    ((200, 300, 5), (0, 2)),      # reduced axes around a kept one
    ((64, 2048), (0, 1)),         # several reduced dims, one output
    ((50, 7, 40), 1),             # middle axis: rows path with outer kept dims
    ((6, 5, 4, 3), (1, 3)),       # interleaved
    ((1000, 1000), 0),            # rows, more than one tile
]


def _rand(shape, dtype):
    if dtype == "bool":
        return RNG.random(shape) > 0.3
    if dtype.startswith(("int", "uint")):
        lo = 0 if dtype.startswith("u") else -3
        return RNG.integers(lo, 4, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def _check(op, x_np, e_arr, axis, keepdims=False):
    got = getattr(mx, op)(e_arr, axis=axis, keepdims=keepdims)
    ref_in = x_np.astype(np.float64) if x_np.dtype.kind == "f" else x_np
    want = getattr(np, op)(ref_in, axis=axis, keepdims=keepdims)
    assert got.shape == want.shape
    if x_np.dtype.kind == "f":
        tol = 1e-5 if op != "prod" else 1e-4
        np.testing.assert_allclose(_np(got).astype(np.float64), want, rtol=tol, atol=1e-4)
    else:
        np.testing.assert_array_equal(_np(got), want.astype(_np(got).dtype))


@pytest.mark.parametrize("shape,axis", PATH_CASES, ids=[f"{s}-{a}" for s, a in PATH_CASES])
@pytest.mark.parametrize("dtype", ["float32", "int32", "float64", "uint8", "bool"])
def test_kernel_paths(shape, axis, dtype):
    x = _rand(shape, dtype)
    e = mx.array(x)
    for op in ("sum", "max", "min", "all", "any"):
        _check(op, x, e, axis)
    if dtype == "float32":
        _check("mean", x, e, axis, keepdims=True)
        # prod of values near 1 stays finite over long axes
        y = (1 + RNG.uniform(-1e-4, 1e-4, shape)).astype(np.float32)
        _check("prod", y, mx.array(y), axis)


@pytest.mark.parametrize("shape,axis", [((300000,), None), ((1000, 300), 0), ((300, 1000), 1),
                                        ((300, 1000), 0), ((40, 30, 20), 1)])
@pytest.mark.parametrize("dtype", ["float32", "int64", "float16"])
def test_argmax_paths(shape, axis, dtype):
    x = _rand(shape, dtype if dtype != "float16" else "float32").astype(dtype)
    e = mx.array(x)
    np.testing.assert_array_equal(_np(mx.argmax(e, axis=axis)), np.argmax(x, axis=axis))
    np.testing.assert_array_equal(_np(mx.argmin(e, axis=axis)), np.argmin(x, axis=axis))


def test_argmax_int64_beyond_float_precision():
    base = 2 ** 60
    x = np.array([base, base + 1, base - 1, base + 1], dtype=np.int64)
    assert mx.argmax(mx.array(x)).item() == 1
    assert mx.argmin(mx.array(x)).item() == 2
    assert mx.max(mx.array(x)).item() == base + 1


@pytest.mark.parametrize("shape,axis", [((100000,), 0), ((300, 400), 0), ((300, 400), 1),
                                        ((20, 30, 40), 1), ((1000, 3), 0)])
@pytest.mark.parametrize("op", ["cumsum", "cumprod", "cummax", "cummin"])
def test_scan_paths(shape, axis, op):
    x = _rand(shape, "float32")
    if op == "cumprod":
        x = (1 + 0.001 * x).astype(np.float32)
    ref = {"cumsum": np.cumsum, "cumprod": np.cumprod, "cummax": np.maximum.accumulate,
           "cummin": np.minimum.accumulate}[op]
    e = mx.array(x)
    np.testing.assert_allclose(_np(getattr(mx, op)(e, axis=axis)),
                               ref(x.astype(np.float64), axis=axis), rtol=1e-4, atol=1e-4)
    got = getattr(mx, op)(e, axis=axis, reverse=True)
    want = np.flip(ref(np.flip(x.astype(np.float64), axis), axis=axis), axis)
    np.testing.assert_allclose(_np(got), want, rtol=1e-4, atol=1e-4)


# ---- strided and broadcast inputs --------------------------------------------------------
def _views():
    x = RNG.standard_normal((40, 60)).astype(np.float32)
    e = mx.array(x)
    yield "T", e.T, x.T
    yield "step", e[::3, ::-2], x[::3, ::-2]
    yield "bcast", mx.broadcast_to(e[:1], (40, 60)), np.broadcast_to(x[:1], (40, 60))
    yield "bcast_col", mx.broadcast_to(e[:, :1], (40, 60)), np.broadcast_to(x[:, :1], (40, 60))
    yield "expand", mx.broadcast_to(mx.expand_dims(e, 1), (40, 5, 60)), \
        np.broadcast_to(x[:, None], (40, 5, 60))
    big = RNG.standard_normal((300, 400)).astype(np.float32)
    yield "bigT", mx.array(big).T, big.T
    yield "big_step", mx.array(big)[1::2, ::-3], big[1::2, ::-3]


@pytest.mark.parametrize("name,e,x", list(_views()), ids=[v[0] for v in _views()])
def test_strided_inputs(name, e, x):
    for axis in (None, 0, -1, (0, -1)):
        for op in ("sum", "max", "min", "any"):
            _check(op, np.asarray(x), e, axis)
    for axis in (0, -1):
        np.testing.assert_array_equal(_np(mx.argmax(e, axis=axis)), np.argmax(x, axis=axis))
        np.testing.assert_allclose(_np(mx.cumsum(e, axis=axis)),
                                   np.cumsum(np.asarray(x, np.float64), axis=axis), rtol=1e-4,
                                   atol=1e-4)
        want = np.flip(np.maximum.accumulate(np.flip(x, axis), axis=axis), axis)
        np.testing.assert_allclose(_np(mx.cummax(e, axis=axis, reverse=True)), want)


# ---- empty selections, NaN -----------------------------------------------------------------
def test_empty_reductions():
    z = mx.zeros((0, 3))
    np.testing.assert_array_equal(_np(mx.sum(z, axis=0)), np.zeros(3))
    np.testing.assert_array_equal(_np(mx.prod(z, axis=0)), np.ones(3))
    assert mx.sum(z).item() == 0 and mx.prod(z).item() == 1
    assert mx.all(z).item() is True and mx.any(z).item() is False
    assert mx.sum(z, axis=1).shape == (0,)
    assert mx.max(z, axis=1).shape == (0,)  # nothing to reduce over an empty output
    assert mx.max(mx.zeros((3, 0)), axis=0).shape == (0,)
    assert np.isnan(mx.mean(z).item())
    assert mx.logsumexp(z).item() == -np.inf
    assert mx.cumsum(z, axis=0).shape == (0, 3)
    assert mx.softmax(mx.zeros((0,))).shape == (0,)
    assert mx.sum(mx.zeros((2, 3)), axis=()).shape == (2, 3)


@pytest.mark.parametrize("op", ["max", "min"])
def test_empty_max_raises(op):
    with pytest.raises(ValueError, match=rf"\[{op}\] Cannot reduce an empty selection"):
        getattr(mx, op)(mx.zeros((0, 3)), axis=0)
    with pytest.raises(ValueError, match=rf"\[{op}\]"):
        getattr(mx, op)(mx.zeros((0,)))


def test_empty_argmax_raises():
    with pytest.raises(ValueError, match=r"\[argmax\] Cannot take the argmax of an empty axis"):
        mx.argmax(mx.zeros((0, 3)), axis=0)
    with pytest.raises(ValueError, match=r"\[argmin\]"):
        mx.argmin(mx.zeros((0,)))


def test_nan_handling():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [4.0, 2.0, 1.0, 0.0]], np.float32)
    e = mx.array(x)
    np.testing.assert_array_equal(_np(mx.max(e, axis=1)), np.max(x, axis=1))
    np.testing.assert_array_equal(_np(mx.min(e, axis=1)), np.min(x, axis=1))
    np.testing.assert_array_equal(_np(mx.argmax(e, axis=1)), np.argmax(x, axis=1))
    np.testing.assert_array_equal(_np(mx.argmin(e, axis=1)), np.argmin(x, axis=1))
    np.testing.assert_array_equal(_np(mx.cummax(e, axis=1)), np.maximum.accumulate(x, axis=1))
    # long rows go through the vectorized two-pass argmax
    long = RNG.standard_normal(1000).astype(np.float32)
    long[[700, 900]] = np.nan
    assert mx.argmax(mx.array(long)).item() == 700
    assert np.isnan(mx.max(mx.array(long)).item())
    assert mx.max(mx.array(long[:700])).item() == long[:700].max()


# ---- errors --------------------------------------------------------------------------------
def test_axis_errors():
    x = mx.ones((2, 3))
    with pytest.raises(IndexError, match=r"^\[sum\] Axis 3 is out of bounds for an array with 2 "
                                         r"dimensions\.$"):
        mx.sum(x, axis=3)
    with pytest.raises(IndexError, match=r"\[mean\] Axis -3 is out of bounds"):
        mx.mean(x, axis=(0, -3))
    with pytest.raises(ValueError, match=r"\[max\] Axis .* is repeated"):
        mx.max(x, axis=(1, -1))
    with pytest.raises(IndexError, match=r"\[argmax\] Axis 2 is out of bounds"):
        mx.argmax(x, axis=2)
    with pytest.raises(IndexError, match=r"\[cumsum\] Axis -3 is out of bounds"):
        mx.cumsum(x, axis=-3)
    with pytest.raises(IndexError, match=r"\[softmax\]"):
        mx.softmax(x, axis=2)
    with pytest.raises(IndexError, match=r"\[logsumexp\]"):
        x.logsumexp(axis=5)
    with pytest.raises(TypeError, match=r"\[sum\] axis must be None, an int or a sequence of "
                                        r"ints, got str\."):
        mx.sum(x, axis="0")
    with pytest.raises(TypeError, match=r"\[var\] axis must be"):
        mx.var(x, axis=1.0)
    with pytest.raises(TypeError, match=r"\[argmax\] axis must be None or an int, got tuple\."):
        mx.argmax(x, axis=(0, 1))
    with pytest.raises(TypeError, match=r"\[cumprod\] axis must be None or an int"):
        x.cumprod(axis=[0])


# ---- composite ops -------------------------------------------------------------------------
def test_logsumexp_and_softmax_are_stable():
    x = np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1001.0, -1002.0]], np.float32)
    e = mx.array(x)
    m = x.max(1, keepdims=True)
    ref = (np.log(np.exp(x - m).sum(1, keepdims=True)) + m)[:, 0]
    np.testing.assert_allclose(_np(mx.logsumexp(e, axis=1)), ref, rtol=1e-6)
    s = mx.softmax(e, axis=-1)
    np.testing.assert_allclose(_np(mx.sum(s, axis=-1)), [1, 1], rtol=1e-6)
    g = mx.grad(lambda v: mx.sum(mx.logsumexp(v, axis=1)))(e)
    np.testing.assert_allclose(_np(g), _np(s), rtol=1e-6)
    inf = mx.array([-np.inf, -np.inf])
    assert mx.logsumexp(inf).item() == -np.inf
    assert mx.logsumexp(mx.array([np.inf, 0.0])).item() == np.inf
    h = mx.array(x).astype(mx.float16)
    sp = mx.softmax(h, axis=1, precise=True)
    assert sp.dtype == mx.float16
    np.testing.assert_allclose(_np(sp).astype(np.float32), _np(s), atol=1e-3)


def test_var_std_ddof_and_keepdims():
    x = RNG.standard_normal((5, 6, 7)).astype(np.float32)
    e = mx.array(x)
    for axis in (None, 1, (0, 2)):
        for ddof in (0, 1, 2):
            np.testing.assert_allclose(_np(mx.var(e, axis=axis, ddof=ddof, keepdims=True)),
                                       np.var(x, axis=axis, ddof=ddof, keepdims=True), rtol=1e-5)
            np.testing.assert_allclose(_np(e.std(axis=axis, ddof=ddof)),
                                       np.std(x, axis=axis, ddof=ddof), rtol=1e-5)
    assert mx.var(mx.array([1, 2, 3, 4])).item() == pytest.approx(1.25)


# ---- gradients -----------------------------------------------------------------------------
def _others(x):
    """prod of the other elements, by brute force."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


@pytest.mark.parametrize("x", [[2.0, 3.0, 4.0], [2.0, 0.0, 4.0], [0.0, 3.0, 0.0],
                               [0.0, 0.0, 0.0, 5.0]])
def test_prod_grad_with_zeros(x):
    x = np.array(x)
    g = mx.grad(lambda v: mx.prod(v))(mx.array(x))
    np.testing.assert_allclose(_np(g), _others(x))
    _, t = mx.jvp(lambda v: mx.prod(v), [mx.array(x)], [mx.array(np.arange(1.0, x.size + 1))])
    np.testing.assert_allclose(_np(t[0]), _others(x) @ np.arange(1.0, x.size + 1))


def test_prod_hessian_at_a_zero():
    x = np.array([2.0, 0.0, 3.0, 5.0])
    # d2 prod / dx_i dx_j = prod of the elements other than i and j (0 on the diagonal)
    want = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            if i != j:
                want[i, j] = np.prod(np.delete(x, [i, j]))
    rows = []
    for j in range(4):
        v = np.zeros(4)
        v[j] = 1
        _, t = mx.jvp(mx.grad(lambda a: mx.prod(a)), [mx.array(x)], [mx.array(v)])
        rows.append(_np(t[0]))
    np.testing.assert_allclose(np.stack(rows, 1), want, atol=1e-12)


def test_prod_grad_over_axes_with_zeros():
    x = RNG.standard_normal((3, 4, 5))
    x[0, 1, 2] = 0
    x[1, :, 0] = 0
    g = mx.grad(lambda v: mx.sum(mx.prod(v, axis=(0, 2)) * mx.arange(1, 5)))(to_mx(x))
    want = np.zeros_like(x)
    for j in range(4):
        want[:, j, :] = (j + 1) * _others(x[:, j, :].ravel()).reshape(3, 5)
    np.testing.assert_allclose(_np(g), want, rtol=1e-10, atol=1e-12)


def _scan_jacobian(x, reverse, inclusive):
    """Jacobian of cumprod(x) (1-D) by brute force."""
    n = x.size
    J = np.zeros((n, n))
    for i in range(n):
        src = range(i, n) if reverse else range(0, i + 1)
        src = [k for k in src if inclusive or k != i]
        for k in src:
            J[i, k] = np.prod([x[j] for j in src if j != k])
    return J


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize("x", [[1.5, -2.0, 0.5, 3.0], [1.5, 0.0, 2.0, 3.0],
                               [0.0, 2.0, 0.0, 3.0], [2.0, 3.0, 0.0, 0.0]])
def test_cumprod_grads_with_zeros(x, reverse, inclusive):
    x = np.array(x)
    J = _scan_jacobian(x, reverse, inclusive)
    f = lambda v: mx.cumprod(v, reverse=reverse, inclusive=inclusive)
    u = np.array([0.3, -1.0, 2.0, 0.7])
    _, (g,) = mx.vjp(f, [mx.array(x)], [mx.array(u)])
    np.testing.assert_allclose(_np(g), u @ J, atol=1e-12)
    _, (t,) = mx.jvp(f, [mx.array(x)], [mx.array(u)])
    np.testing.assert_allclose(_np(t), J @ u, atol=1e-12)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("op", ["cumsum", "cummax", "cummin", "cumprod"])
def test_exclusive_scan_grads_match_finite_differences(op, reverse):
    x = RNG.standard_normal((3, 5))
    f = lambda v: getattr(mx, op)(v, axis=1, reverse=reverse, inclusive=False)
    u = RNG.standard_normal((3, 5))
    w = RNG.standard_normal((3, 5))
    _, (g,) = mx.vjp(f, [to_mx(x)], [to_mx(u)])
    eps = 1e-6
    with np.errstate(invalid="ignore"):
        fd = (_np(f(to_mx(x + eps * w))) - _np(f(to_mx(x - eps * w)))) / (2 * eps)
    fd = np.nan_to_num(fd)  # the identity (-inf for cummax) at the first place is constant
    np.testing.assert_allclose(np.sum(_np(g) * w), np.sum(u * fd), rtol=1e-6)
    _, (t,) = mx.jvp(f, [to_mx(x)], [to_mx(w)])
    np.testing.assert_allclose(_np(t), fd, rtol=1e-6, atol=1e-8)


def test_cummax_grad_routes_to_the_source():
    x = mx.array([1.0, 3.0, 2.0, 5.0, 5.0])
    u = mx.array([1.0, 10.0, 100.0, 1000.0, 10000.0])
    _, (g,) = mx.vjp(lambda v: mx.cummax(v), [x], [u])
    # outputs 1 and 2 come from x[1]; 3 and 4 from x[3] (the first of the tie)
    np.testing.assert_allclose(_np(g), [1, 110, 0, 11000, 0])


def test_max_grad_splits_ties():
    x = mx.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])
    g = mx.grad(lambda v: mx.sum(mx.max(v, axis=1)))(x)
    np.testing.assert_allclose(_np(g), [[0, 0.5, 0.5], [1, 0, 0]])
    g = mx.grad(lambda v: mx.min(v))(mx.array([2.0, 1.0, 1.0, 1.0]))
    np.testing.assert_allclose(_np(g), [0, 1 / 3, 1 / 3, 1 / 3])
    _, (t,) = mx.jvp(lambda v: mx.max(v), [mx.array([1.0, 3.0, 3.0])], [mx.array([5.0, 2.0, 4.0])])
    assert t.item() == pytest.approx(3.0)


def test_boolean_and_index_outputs_have_zero_gradient():
    x = mx.array([0.5, -1.0, 2.0])
    g = mx.grad(lambda v: mx.sum(v * mx.any(v > 1)) + mx.argmax(v).astype(mx.float32))(x)
    np.testing.assert_allclose(_np(g), [1, 1, 1])
    g = mx.grad(lambda v: mx.sum(v * mx.all(v > 1)))(x)
    np.testing.assert_allclose(_np(g), [0, 0, 0])


def test_mean_of_halves_grad_dtype():
    x = mx.array([1.0, 2.0, 3.0]).astype(mx.float16)
    g = mx.grad(lambda v: mx.mean(v).astype(mx.float32))(x)
    assert g.dtype == mx.float16
    np.testing.assert_allclose(_np(g).astype(np.float32), [1 / 3] * 3, rtol=1e-3)


# ---- vmap ----------------------------------------------------------------------------------
def test_vmap_keeps_reduced_axes_right():
    x = RNG.standard_normal((4, 3, 5)).astype(np.float32)
    e = mx.array(x)
    got = mx.vmap(lambda v: mx.sum(v, axis=(0, 1)), in_axes=1)(e)
    np.testing.assert_allclose(_np(got), x.sum(axis=(0, 2)), rtol=1e-5)
    got = mx.vmap(lambda v: mx.argmax(v, axis=-1), in_axes=2, out_axes=1)(e)
    np.testing.assert_array_equal(_np(got), np.argmax(x, axis=1))
    got = mx.vmap(mx.vmap(lambda v: mx.cumsum(v, inclusive=False, reverse=True)))(e)
    want = np.flip(np.cumsum(np.flip(x, 2), axis=2), 2) - x
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-5)
    got = mx.vmap(lambda v: mx.var(v, axis=0, keepdims=True), in_axes=-1)(e)
    np.testing.assert_allclose(_np(got), np.moveaxis(np.var(x, axis=0, keepdims=True), -1, 0),
                               rtol=1e-5)


def test_vmap_of_grad_of_prod():
    x = RNG.standard_normal((3, 4))
    x[1, 2] = 0
    got = mx.vmap(mx.grad(lambda v: mx.prod(v)))(mx.array(x, dtype=mx.float64))
    np.testing.assert_allclose(_np(got), np.stack([_others(r) for r in x]), atol=1e-12)


# ---- array methods -------------------------------------------------------------------------
def test_array_methods():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    e = mx.array(x)
    np.testing.assert_allclose(_np(e.sum(axis=0, keepdims=True)), x.sum(0, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(_np(e.prod(1)), x.prod(1), rtol=1e-5)
    np.testing.assert_allclose(_np(e.mean()), x.mean(), rtol=1e-6)
    np.testing.assert_allclose(_np(e.var(axis=1, ddof=1)), x.var(1, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(_np(e.std(keepdims=True)), x.std(keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(_np(e.max(axis=-1)), x.max(-1))
    np.testing.assert_array_equal(_np(e.min((0, 1))), x.min())
    assert e.argmax().item() == x.argmax()
    assert e.argmin(axis=1, keepdims=True).shape == (3, 1)
    assert e.argmax(keepdims=True).shape == (1, 1)
    np.testing.assert_allclose(_np(e.logsumexp(axis=0)),
                               np.log(np.exp(x.astype(np.float64)).sum(0)), rtol=1e-5)
    assert e.all().item() == bool(np.all(x)) and e.any(axis=0).shape == (4,)
    np.testing.assert_allclose(_np(e.cumsum(axis=0, reverse=True)),
                               np.flip(np.cumsum(np.flip(x, 0), 0), 0), rtol=1e-5)
    np.testing.assert_allclose(_np(e.cumprod()), np.cumprod(x), rtol=1e-5)
    np.testing.assert_array_equal(_np(e.cummax(axis=1)), np.maximum.accumulate(x, 1))
    np.testing.assert_array_equal(_np(e.cummin(axis=1, inclusive=True)),
                                  np.minimum.accumulate(x, 1))
    with pytest.raises(TypeError):
        e.cumsum(0, True)  # reverse and inclusive are keyword-only, as in mlx
