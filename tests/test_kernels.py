"""The vectorized float32 kernels (backend/cpu/simd*.{h,cpp}): accuracy in ulps against a
float64 reference, special values, every instruction-set build this CPU runs (EMBER_SIMD in a
subprocess), every operand layout, threads, and the buffer cache's bounds."""
import gc
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import ember.core as mx

HERE = os.path.dirname(os.path.abspath(__file__))


def _erf64(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _sigmoid64(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


# name -> (ember op, float64 reference, max ulps)
UNARY = {
    "exp": (mx.exp, np.exp, 1.5),
    "log": (mx.log, np.log, 1.5),
    "tanh": (mx.tanh, np.tanh, 1.5),
    "sigmoid": (mx.sigmoid, _sigmoid64, 2.5),
    "erf": (mx.erf, _erf64, 1.5),
    "sin": (mx.sin, np.sin, 2.5),
    "cos": (mx.cos, np.cos, 2.5),
    "sqrt": (mx.sqrt, np.sqrt, 0.5),
    "reciprocal": (mx.reciprocal, lambda x: 1 / x, 0.5),
    "square": (mx.square, np.square, 0.5),
}

# On the GPU the kernels are CUDA's math library, whose documented maximum errors (CUDA C++
# Programming Guide, "Mathematical Functions") are larger for some functions.
CUDA_MAX_ULP = {"exp": 2, "log": 1, "tanh": 2, "erf": 2, "sin": 2, "cos": 2}
ON_GPU = os.environ.get("EMBER_DEVICE", "cpu").strip().lower() == "gpu"

SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.1754944e-38, 3.4028235e38,
            -3.4028235e38, 88.72283, 88.7229, -87.33655, -103.97, -104.0, -200.0, 9.1, -9.1,
            0.625, 0.921875, 3.95, 4096.0, 4097.0, -1e6, 1e20, 1.0, -1.0]


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    parts = [rng.uniform(-1, 1, 20000), rng.uniform(-10, 10, 20000),
             rng.uniform(-120, 100, 20000), np.exp(rng.uniform(-100, 88, 20000)),
             -np.exp(rng.uniform(-80, 80, 2000)), rng.uniform(-5000, 5000, 2000), SPECIALS]
    return np.concatenate(parts).astype(np.float32)


def ulp_errors(got, ref64):
    """|got - ref| in units of the float32 spacing at ref (subnormal spacing below)."""
    with np.errstate(over="ignore"):
        ref32 = ref64.astype(np.float32)
    finite = np.isfinite(ref32)
    spacing = np.maximum(np.spacing(np.abs(ref32[finite])).astype(np.float64), 2.0 ** -149)
    err = np.abs(got[finite].astype(np.float64) - ref64[finite]) / spacing
    # Outside the finite results: the same infinities and NaNs.
    np.testing.assert_array_equal(got[~finite], ref32[~finite])
    return err


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ulps_and_specials(name):
    op, ref, max_ulp = UNARY[name]
    if ON_GPU:
        max_ulp = max(max_ulp, CUDA_MAX_ULP.get(name, 0))
    x = inputs()
    with np.errstate(all="ignore"):
        r = ref(x.astype(np.float64))
    got = np.asarray(op(mx.array(x)))
    assert got.dtype == np.float32
    err = ulp_errors(got, r)
    assert err.max() <= max_ulp, f"{name}: {err.max():.2f} ulp"


@pytest.mark.parametrize("name", ["tanh", "erf", "sin", "sqrt"])
def test_signed_zero(name):
    op = UNARY[name][0]
    got = np.asarray(op(mx.array(np.array([0.0, -0.0], np.float32))))
    np.testing.assert_array_equal(np.signbit(got), [False, True])  # IEEE: f(-0) = -0


def test_sigmoid_tails_keep_tiny_values():
    # e^x / (1 + e^x) below 0: no 1 - (1 - tiny) cancellation, no overflow of e^-x.
    x = np.array([-20.0, -60.0, -87.0, -100.0, -103.0, 20.0, 100.0], np.float32)
    got = np.asarray(mx.sigmoid(mx.array(x)))
    ref = np.exp(x.astype(np.float64)) / (1 + np.exp(x.astype(np.float64)))
    np.testing.assert_allclose(got[:4], ref[:4], rtol=3e-7, atol=2 ** -149)  # subnormal at -100
    assert 0 < got[4] < 1e-44
    np.testing.assert_array_equal(got[5:], [1.0, 1.0])


def test_large_trig_arguments_use_exact_reduction():
    x = np.array([4097.0, 1e5, -3e6, 1e20, 3.4e38] * 60, np.float32)  # > 256: whole blocks
    for op, ref in [(mx.sin, np.sin), (mx.cos, np.cos)]:
        err = ulp_errors(np.asarray(op(mx.array(x))), ref(x.astype(np.float64)))
        assert err.max() <= 1.0


def _layouts(x2d):
    """The same values reached through the contiguous path and the strided ones."""
    base = np.ascontiguousarray(x2d[:, 5:200])
    a = mx.array(x2d)
    return base, [a[:, 5:200], mx.transpose(mx.transpose(a))[:, 5:200]]


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_layouts_agree(name):
    op = UNARY[name][0]
    x = inputs(1)[:64 * 256].reshape(64, 256)
    base, views = _layouts(x)
    want = np.asarray(op(mx.array(base)))
    for v in views:
        np.testing.assert_array_equal(np.asarray(op(v)), want)
    # a transposed input is dense: one flat loop, the output keeps the transposed layout
    np.testing.assert_array_equal(np.asarray(op(mx.array(base).T)), want.T)
    # a stride-2 input is gathered into blocks for the vectorized loop
    np.testing.assert_array_equal(np.asarray(op(mx.array(x)[:, ::2])),
                                  np.asarray(op(mx.array(np.ascontiguousarray(x[:, ::2])))))


BINARY = [("add", mx.add, np.add), ("subtract", mx.subtract, np.subtract),
          ("multiply", mx.multiply, np.multiply), ("divide", mx.divide, np.divide),
          ("maximum", mx.maximum, np.maximum), ("minimum", mx.minimum, np.minimum)]


@pytest.mark.parametrize("name,op,ref", BINARY, ids=[b[0] for b in BINARY])
def test_binary_float32_layouts_match_numpy(name, op, ref):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((300, 257)).astype(np.float32)
    b = rng.standard_normal((300, 257)).astype(np.float32)
    a[3, 7] = b[4, 9] = np.nan
    a[5, 5], b[5, 5] = np.inf, -np.inf
    row, col, s = b[0], b[:, :1], np.float32(1.75)
    with np.errstate(all="ignore"):
        cases = [(a, b), (a, row), (row, a), (a, col), (col, a), (a, s), (s, a),
                 (a[:, 1:200], b[:, 3:202])]
        for x, y in cases:
            got = np.asarray(op(mx.array(x), mx.array(y)))
            np.testing.assert_array_equal(got, ref(x, y))


@pytest.mark.parametrize("isa", ["base", "avx2"])
def test_other_instruction_sets(isa):
    """Re-runs the accuracy and layout tests with a narrower build forced (EMBER_SIMD);
    on a CPU without it the table falls back to base, which this then also covers."""
    env = dict(os.environ, EMBER_SIMD=isa, EMBER_DEVICE="cpu")  # the CPU's kernels
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
           os.path.join(HERE, "test_kernels.py"), "-k",
           "ulps or layouts or specials or tails or large_trig"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_threads_give_identical_results():
    x = mx.array(np.random.default_rng(3).uniform(-5, 5, 1 << 20).astype(np.float32))
    old = mx.get_num_threads()
    try:
        outs = []
        for n in (1, 2, 3):
            mx.set_num_threads(n)
            outs.append([np.asarray(f(x)) for f in (mx.exp, mx.tanh, lambda v: v * 2 + 1)])
        for o in outs[1:]:
            for got, want in zip(o, outs[0]):
                np.testing.assert_array_equal(got, want)
    finally:
        mx.set_num_threads(old)


def test_cache_evicts_oldest_and_respects_limit():
    gc.collect()
    old = mx.set_cache_limit(8 << 20)
    try:
        mx.clear_cache()
        for n in (1 << 18, 3 << 18, 5 << 18, 1 << 19):  # 1, 3, 5, 2 MiB of float32
            y = mx.exp(mx.zeros((n,)))
            mx.eval(y)
            del y
            gc.collect()
            assert mx.get_cache_memory() <= 8 << 20
        # the newest freed block (2 MiB) is kept; reusing it costs no new memory
        assert mx.get_cache_memory() >= 2 << 20
        before = mx.get_active_memory() + mx.get_cache_memory()
        y = mx.exp(mx.zeros((1 << 19,)))
        mx.eval(y)
        assert mx.get_active_memory() + mx.get_cache_memory() <= before + (2 << 20)
        del y
        mx.set_cache_limit(1 << 20)  # lowering the limit frees cached blocks at once
        assert mx.get_cache_memory() <= 1 << 20
    finally:
        mx.set_cache_limit(old)


HALF_UNARY = ["exp", "log", "tanh", "sigmoid", "erf", "sin", "cos", "sqrt", "square"]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_unary_through_float_kernels(dtype):
    """16-bit inputs run the float kernels on blocks: within one 16-bit ulp of the exact
    result (the float32 error is far below it), and special values kept."""
    x32 = inputs(4)
    x32 = x32[np.abs(x32) < 6e4]
    xh = mx.array(x32).astype(getattr(mx, dtype))
    xv = np.asarray(xh.astype(mx.float32)).astype(np.float64)  # the values actually held
    rel = 2.0 ** -10 if dtype == "float16" else 2.0 ** -7
    for name in HALF_UNARY:
        op, ref, _ = UNARY[name]
        got = np.asarray(op(xh).astype(mx.float32)).astype(np.float64)
        with np.errstate(all="ignore"):
            want = ref(xv)
            want32 = want.astype(np.float32)
        want_h = np.asarray(mx.array(want32).astype(getattr(mx, dtype))
                            .astype(mx.float32)).astype(np.float64)
        fin = np.isfinite(want_h)
        np.testing.assert_array_equal(got[~fin], want_h[~fin], err_msg=name)
        tiny = 2.0 ** -24 if dtype == "float16" else 2.0 ** -133
        np.testing.assert_allclose(got[fin], want[fin], rtol=rel, atol=tiny, err_msg=name)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name,op,ref", BINARY, ids=[b[0] for b in BINARY])
def test_half_binary_layouts(dtype, name, op, ref):
    """Same bits as computing in float32 and rounding once (what the scalar path does)."""
    rng = np.random.default_rng(5)
    dt = getattr(mx, dtype)
    a = mx.array(rng.standard_normal((70, 600)).astype(np.float32)).astype(dt)
    b = mx.array(rng.standard_normal((70, 600)).astype(np.float32)).astype(dt)
    f32 = lambda v: np.asarray(v.astype(mx.float32))  # noqa: E731
    cases = [(a, b), (a, b[0]), (b[0], a), (a, b[:, :1]), (b[:, :1], a),
             (a, mx.array(1.5).astype(dt)), (a[:, 3:500], b[:, 7:504])]
    for x, y in cases:
        got = f32(op(x, y))
        with np.errstate(all="ignore"):
            want = f32(mx.array(ref(f32(x), f32(y))).astype(dt))
        np.testing.assert_array_equal(got, want)


def test_transposed_outputs_feed_other_ops():
    """Elementwise ops on dense transposed operands return the transposed layout; every
    consumer (reshape, matmul, reductions, numpy, another elementwise op) must see the
    right values."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((33, 65)).astype(np.float32)
    y = rng.standard_normal((33, 65)).astype(np.float32)
    a, b = mx.array(x), mx.array(y)
    e = mx.exp(a.T)          # (65, 33), column-major buffer
    s = a.T * b.T            # both transposed: flat loop
    m = a.T + b[:, :1].T     # mixed layouts: strided loops, row-major output
    np.testing.assert_allclose(np.asarray(e), np.exp(x.T), rtol=3e-7)
    np.testing.assert_array_equal(np.asarray(s), x.T * y.T)
    np.testing.assert_array_equal(np.asarray(m), x.T + y[:, :1].T)
    np.testing.assert_allclose(np.asarray(mx.reshape(e, (-1,))), np.exp(x.T).reshape(-1),
                               rtol=3e-7)
    np.testing.assert_allclose(np.asarray(e @ a), np.exp(x.T) @ x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(mx.tanh(s) + e), np.tanh(x.T * y.T) + np.exp(x.T),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(e[3]), np.exp(x.T)[3], rtol=3e-7)
