"""The GPU backend: each op family on mx.gpu against the same op on mx.cpu (values, dtypes,
bit-identical random numbers and integer results), host fallbacks, streams of both devices in
one graph, errors found by kernels, memory counters and DLPack with torch.

These run where a GPU backend has a device (mx.cuda.is_available()); elsewhere they are skipped:
there is nothing to test. tools/gpu_test.sh runs them first, then the whole suite with the GPU
as the default device.
"""
import numpy as np
import pytest

import ember.core as mx

pytestmark = pytest.mark.skipif(not mx.is_available(mx.gpu), reason="no GPU backend or device")

def both(f, *args, atol=1e-5, rtol=1e-5, exact=False):
    """f(*args) on the GPU and on the CPU; the results must agree."""
    with mx.stream(mx.gpu):
        g = f(*args)
    with mx.stream(mx.cpu):
        c = f(*args)
    gs = g if isinstance(g, (list, tuple)) else [g]
    cs = c if isinstance(c, (list, tuple)) else [c]
    for a, b in zip(gs, cs):
        an, bn = np.array(a), np.array(b)
        assert an.shape == bn.shape, (an.shape, bn.shape)
        assert an.dtype == bn.dtype, (an.dtype, bn.dtype)
        if exact or an.dtype.kind in "biu":
            np.testing.assert_array_equal(an, bn)
        else:
            np.testing.assert_allclose(an.astype(np.float64) if an.dtype.kind != "c" else an,
                                       bn.astype(np.float64) if bn.dtype.kind != "c" else bn,
                                       atol=atol, rtol=rtol, equal_nan=True)
    return g


rng = np.random.default_rng(0)
X = mx.array(rng.standard_normal((37, 53)).astype(np.float32))
Y = mx.array(rng.standard_normal((37, 53)).astype(np.float32))
P = mx.array(rng.uniform(0.1, 2.0, (37, 53)).astype(np.float32))
I = mx.array(rng.integers(-100, 100, (37, 53)).astype(np.int32))


def test_device_info():
    info = mx.device_info(mx.gpu)
    assert info["device_name"] and info["architecture"].startswith("sm_")
    assert int(info["memory_size"]) > 0
    assert mx.cuda.is_available() and mx.device_count(mx.gpu) >= 1


def test_unary_float():
    for name in ["abs", "negative", "sign", "square", "sqrt", "rsqrt", "reciprocal", "exp", "expm1",
                 "log", "log1p", "log2", "log10", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
                 "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "sigmoid", "erf",
                 "erfinv", "floor", "ceil", "round"]:
        f = getattr(mx, name)
        arg = P if name in ("sqrt", "rsqrt", "log", "log1p", "log2", "log10", "arccosh") else X
        if name in ("arcsin", "arccos", "arctanh", "erfinv"):
            arg = mx.tanh(X)
        both(f, arg, atol=1e-5, rtol=2e-5)


def test_unary_dtypes():
    for dt in [mx.float16, mx.bfloat16, mx.float64, mx.int8, mx.uint16, mx.int64, mx.bool_]:
        x = X.astype(dt)
        both(mx.abs, x, atol=1e-2, rtol=1e-2)
        both(mx.square, x, atol=1e-2, rtol=1e-2)
    both(mx.exp, X.astype(mx.complex64), atol=1e-4, rtol=1e-4)


def test_binary_and_broadcast():
    for name in ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power",
                 "arctan2", "logaddexp", "floor_divide", "remainder"]:
        f = getattr(mx, name)
        b = P if name in ("power",) else Y
        a = P if name in ("power",) else X
        both(f, a, b, atol=1e-5, rtol=2e-5)
    both(lambda a, b: a + b, X, Y[0])          # row broadcast
    both(lambda a, b: a * b, X, Y[:, :1])      # column broadcast
    both(lambda a: a * 2.5 + 1.0, X)           # host scalars
    both(lambda a, b: a.T + b.T, X, Y)         # transposed operands
    both(lambda a, b: a[:36:2, 1::3] - b[1::2, ::3], X, Y)  # (18, 18) strided views
    both(lambda a, b: a // b, I, mx.array(7, dtype=mx.int32))
    for name in ["equal", "less", "greater_equal", "logical_and", "bitwise_xor", "left_shift"]:
        both(getattr(mx, name), I, I[::-1])


def test_where_and_casts():
    both(lambda c, a, b: mx.where(c, a, b), X > 0, X, Y)
    both(lambda c, a: mx.where(c, a, 0.0), X > 0, X)
    for dt in [mx.float16, mx.bfloat16, mx.int32, mx.uint8, mx.bool_, mx.float64, mx.complex64]:
        both(lambda a: a.astype(dt), X * 10)
    both(lambda a: (a * 100).astype(mx.int8).astype(mx.float32), X)


def test_reductions():
    for f in [mx.sum, mx.prod, mx.max, mx.min, mx.mean]:
        both(lambda a: f(a), X, rtol=1e-4, atol=1e-4)
        both(lambda a: f(a, axis=0), X, rtol=1e-4, atol=1e-4)
        both(lambda a: f(a, axis=1), X, rtol=1e-4, atol=1e-4)
        both(lambda a: f(a, axis=1, keepdims=True), X.T, rtol=1e-4, atol=1e-4)
    Z = mx.array(rng.standard_normal((4, 5, 6, 7)).astype(np.float32))
    both(lambda a: mx.sum(a, axis=(0, 2)), Z, rtol=1e-5)
    both(lambda a: mx.sum(a, axis=(1, 3)), Z, rtol=1e-5)
    both(lambda a: mx.max(a, axis=(0, 3)), Z)
    both(lambda a: mx.all(a > -1, axis=1), Z)
    both(lambda a: mx.any(a > 2, axis=(0, 1)), Z)
    both(lambda a: mx.sum(a), I)
    both(lambda a: mx.argmax(a, axis=1), X)
    both(lambda a: mx.argmin(a, axis=0), X)
    big = mx.ones((1 << 22,)) * 1.1
    s = both(lambda a: mx.sum(a), big, rtol=1e-6)
    assert abs(s.item() - 1.1 * (1 << 22)) / (1.1 * (1 << 22)) < 1e-6


def test_scans():
    for f in [mx.cumsum, mx.cumprod, mx.cummax, mx.cummin]:
        both(lambda a: f(a, axis=1), X * 0.5, rtol=1e-4, atol=1e-4)
        both(lambda a: f(a, axis=0, reverse=True), X * 0.5, rtol=1e-4, atol=1e-4)
        both(lambda a: f(a, axis=1, inclusive=False), X * 0.5, rtol=1e-4, atol=1e-4)
    both(lambda a: mx.logcumsumexp(a, axis=1), X, rtol=1e-4)
    both(lambda a: mx.cumsum(a, axis=0), mx.ones((3000, 3)), rtol=1e-6)
    both(lambda a: mx.cumsum(a, axis=1), mx.ones((3, 3000)), rtol=1e-6)


def test_sort_family():
    both(lambda a: mx.sort(a, axis=1), X, exact=True)
    both(lambda a: mx.sort(a, axis=0), X, exact=True)
    both(lambda a: mx.argsort(a, axis=1), mx.floor(X * 2), exact=True)  # ties: stable
    nan = mx.array(np.array([3.0, np.nan, -1.0, 2.0, np.nan, -5.0], np.float32))
    both(lambda a: mx.sort(a), nan)
    both(lambda a: mx.argsort(a), nan, exact=True)
    both(lambda a: mx.sort(a, axis=-1), I, exact=True)
    p = mx.argpartition(X, 5, axis=1)
    with mx.stream(mx.gpu):
        pg = mx.argpartition(X, 5, axis=1)
    v = np.take_along_axis(np.array(X), np.array(pg), 1)
    assert np.all(v[:, :5] <= v[:, 5:6]) and np.all(v[:, 6:] >= v[:, 5:6])
    both(lambda a, b: mx.searchsorted(a, b), mx.sort(X[0]), X[1])
    both(lambda a: mx.topk(a, 3, axis=1), X)


def test_indexing():
    idx = mx.array(np.array([0, 5, 2, 36, -1], np.int32))
    both(lambda a, i: a[i], X, idx, exact=True)
    both(lambda a, i: a[:, i], X, idx, exact=True)
    both(lambda a, i: mx.take(a, i, axis=1), X, idx, exact=True)
    both(lambda a: mx.take_along_axis(a, mx.argsort(a, axis=1), axis=1), X, exact=True)
    rep = mx.array(np.array([1, 1, 3, 1], np.int32))
    both(lambda a, i: a.at[i].add(mx.ones((4, 53))), X, rep, rtol=1e-6)
    both(lambda a, i: a.at[i].multiply(2.0), X, rep, rtol=1e-6)
    both(lambda a, i: a.at[i].maximum(mx.zeros((4, 53))), X, rep)

    def setitem(a, i):
        b = mx.array(a)
        b[i] = mx.arange(4 * 53).reshape(4, 53).astype(mx.float32)
        return b
    both(setitem, X, rep, exact=True)
    with mx.stream(mx.gpu):
        bad = X[mx.array([0, 99])]
    with pytest.raises(IndexError, match="99"):
        mx.eval(bad)
    mx.eval(X[mx.array([0, 1])] + 0)  # the error was cleared: later work runs


def test_index_error_stays_with_its_array():
    """A gather whose indices a kernel found out of bounds: every later read of its result,
    on any thread, and every kernel that would read it raise the IndexError, not its
    undefined values; other arrays are unaffected."""
    import threading

    with mx.stream(mx.gpu):
        bad = mx.take(mx.arange(10), mx.array([0, 99]))
        good = mx.take(mx.arange(10), mx.array([1, 2]))
    for _ in range(2):
        with pytest.raises(IndexError, match="99"):
            np.array(bad)
    errors = []

    def read():
        try:
            np.array(bad)
        except IndexError as e:
            errors.append(e)
    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(errors) == 4
    with mx.stream(mx.gpu):
        with pytest.raises(IndexError, match="99"):
            mx.eval(bad[1:] * 2)  # a kernel reading a view of it
    assert np.array(good).tolist() == [1, 2]


def test_index_error_reaches_only_what_it_spoiled():
    """The synchronize that finds a GPU index error does not raise it for results that did not
    come from the failing gather: those read fine, while the gather's result and everything
    computed from it (through several ops, on another stream too) raise the IndexError."""
    other = mx.new_stream(mx.gpu)
    with mx.stream(mx.gpu):
        base = mx.arange(10) * 1
        mx.eval(base)
        bad = mx.take(base, mx.array([0, 99]))
        spoiled = (bad * 2 + 1).astype(mx.float32)
        good = base * 3
        mx.async_eval(spoiled, good)
    with mx.stream(other):
        far = mx.exp(spoiled) + 1  # waits for the default GPU stream's spoiled result
        clean = base + 100
        mx.async_eval(far, clean)
    assert np.array(good).tolist() == [3 * i for i in range(10)]  # this sync finds the error
    assert np.array(clean).tolist() == [i + 100 for i in range(10)]
    for arr in (bad, spoiled, far):
        with pytest.raises(IndexError, match="99"):
            np.array(arr)
    with pytest.raises(IndexError, match="99"):
        mx.eval(mx.sum(far))
    with mx.stream(mx.gpu):
        again = base * 3
        mx.eval(again, good)  # an eval of good results only raises nothing
    assert np.array(again).tolist() == [3 * i for i in range(10)]
    del bad, spoiled, far
    with mx.stream(mx.gpu):
        fresh = mx.take(base, mx.array([9, 8])) * 2 + 1  # may reuse the freed blocks
    assert np.array(fresh).tolist() == [19, 17]


def test_several_failing_gathers_before_a_synchronize_each_raise():
    """Each failing op keeps its own error record: results of two different out-of-bounds
    gathers queued before any synchronize both raise, each with its own index; past the
    number of records, every gather of that window is taken as failed rather than leave one
    unmarked."""
    with mx.stream(mx.gpu):
        base = mx.arange(10) * 1
        a = mx.take(base, mx.array([0, 77]))
        b = mx.take(base, mx.array([123, 1])) + 1
        ok = base - 1
        mx.async_eval(a, b, ok)
    assert np.array(ok).tolist() == [i - 1 for i in range(10)]
    with pytest.raises(IndexError, match="77"):
        np.array(a)
    with pytest.raises(IndexError, match="123"):
        np.array(b)
    with mx.stream(mx.gpu):
        many = [mx.take(base, mx.array([1000 + i])) for i in range(40)]
        mx.async_eval(*many)
    mx.synchronize()  # collects, raises nothing: the reads do
    for arr in many:
        with pytest.raises(IndexError):
            np.array(arr)
    mx.eval(base + 1)  # later work runs


def test_shapes_and_copies():
    both(lambda a: mx.concatenate([a, a * 2], axis=1), X, exact=True)
    both(lambda a: mx.pad(a, ((1, 2), (3, 0)), constant_values=7.0), X, exact=True)
    both(lambda a: a.T.reshape(-1), X, exact=True)
    both(lambda a: mx.swapaxes(a.reshape(37, 53, 1), 0, 2) + 0, X, exact=True)
    both(lambda a: a.view(mx.int32), X, exact=True)
    both(lambda a: a[1::2].view(mx.uint16), X, exact=True)
    both(lambda a: mx.split(a, 3, axis=1)[1] * 1, X[:, :51], exact=True)
    both(lambda: mx.arange(0, 10, 0.5))
    both(lambda: mx.arange(5, dtype=mx.int64))
    both(lambda: mx.zeros((3, 4)) + mx.ones((4,)))
    both(lambda: mx.full((2, 3), 4, dtype=mx.int16))
    both(lambda a: mx.broadcast_to(a[:1], (5, 53)) * 1, X, exact=True)
    y = mx.array(X)
    y[2:5, ::3] = 0.0
    both(lambda a: a * 1, y, exact=True)


def test_random_bits_match():
    k = mx.random.key(7)
    both(lambda: mx.random.bits((1000,), key=k), exact=True)
    both(lambda: mx.random.uniform(shape=(100,), key=k), exact=True)
    both(lambda: mx.random.normal((1000,), key=k), rtol=1e-6, atol=1e-6)
    both(lambda: mx.random.randint(0, 10, (50,), key=k), exact=True)
    both(lambda: mx.random.bernoulli(0.3, (64,), key=k), exact=True)
    ks = mx.random.split(k, 4)
    both(lambda: mx.vmap(lambda kk: mx.random.normal((3,), key=kk))(ks), rtol=1e-6)


def test_matmul():
    A = mx.array(rng.standard_normal((64, 48)).astype(np.float32))
    B = mx.array(rng.standard_normal((48, 32)).astype(np.float32))
    both(lambda a, b: a @ b, A, B, rtol=1e-4, atol=1e-4)
    both(lambda a, b: a.T.T @ b, A, B, rtol=1e-4, atol=1e-4)
    both(lambda a, b: (b.T @ a.T), A, B, rtol=1e-4, atol=1e-4)
    both(lambda a, b: a[::2] @ b, A, B, rtol=1e-4, atol=1e-4)
    Ab = mx.array(rng.standard_normal((3, 1, 8, 5)).astype(np.float32))
    Bb = mx.array(rng.standard_normal((4, 5, 6)).astype(np.float32))
    both(lambda a, b: a @ b, Ab, Bb, rtol=1e-4, atol=1e-4)
    both(lambda a, b: a @ b[0], Ab, Bb, rtol=1e-4, atol=1e-4)
    for dt in [mx.float16, mx.bfloat16]:
        both(lambda a, b: a.astype(dt) @ b.astype(dt), A, B, rtol=3e-2, atol=3e-1)
    both(lambda a, b: a.astype(mx.float64) @ b.astype(mx.float64), A, B, rtol=1e-10)
    both(lambda a, b: (a * 10).astype(mx.int32) @ (b * 10).astype(mx.int32), A, B)
    both(lambda a: a @ a.T, mx.ones((4, 0)))
    both(lambda a, b: a @ b, A, B[:, 0], rtol=1e-4, atol=1e-4)  # matrix @ vector


def test_transforms():
    f = lambda x: mx.sum(mx.sin(x) * x ** 2)
    both(lambda a: mx.grad(f)(a), X, rtol=1e-4, atol=1e-4)
    both(lambda a: mx.vmap(mx.grad(lambda r: mx.sum(mx.tanh(r) ** 2)))(a), X, rtol=1e-4, atol=1e-5)
    both(lambda a: mx.jvp(lambda r: mx.exp(r) @ r.T, (a,), (mx.ones_like(a),))[1], X[:8],
         rtol=1e-4, atol=1e-3)
    both(lambda a: mx.grad(mx.grad(lambda s: mx.sum(mx.sin(s))))(a[0, 0]), X, rtol=1e-5)


def test_compile_fused():
    f = mx.compile(lambda a, b: mx.sum(mx.exp(a - b) * 2.0, axis=-1))
    both(f, X, Y, rtol=1e-5)
    g = mx.compile(lambda a: mx.sin(a) * 2 + mx.exp(-a))
    both(g, X, rtol=1e-5)


def test_host_fallbacks():
    A = mx.array(rng.standard_normal((6, 6)).astype(np.float32)) + 6 * mx.eye(6)
    both(lambda a: mx.linalg.inv(a), A, rtol=1e-4, atol=1e-4)
    both(lambda a: mx.fft.fft(a), X[0], rtol=1e-4, atol=1e-4)
    with mx.stream(mx.gpu):
        q, r = mx.linalg.qr(A)
    np.testing.assert_allclose(np.array(q @ r), np.array(A), atol=1e-4)


def test_streams_and_async():
    s1, s2 = mx.new_stream(mx.gpu), mx.new_stream(mx.gpu)
    with mx.stream(s1):
        a = mx.exp(X) * 3
    with mx.stream(s2):
        b = a @ a.T + 1
    c = mx.sum(b, stream=mx.cpu)
    mx.async_eval(c)
    ref = np.sum((np.exp(np.array(X)) * 3) @ (np.exp(np.array(X)) * 3).T + 1)
    np.testing.assert_allclose(c.item(), ref, rtol=1e-4)
    mx.synchronize(s1)
    mx.synchronize()


def test_memory_api():
    mx.clear_cache()
    before = mx.get_active_memory()
    with mx.stream(mx.gpu):
        t = mx.ones((1 << 20,)) * 2
    mx.eval(t)
    assert mx.get_active_memory() >= before + (1 << 22), (before, mx.get_active_memory())
    del t
    mx.synchronize()


def test_dlpack():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    with mx.stream(mx.gpu):
        a = mx.arange(12, dtype=mx.float32).reshape(3, 4) * 2
    t = torch.from_dlpack(a)
    assert t.is_cuda, t.device
    assert torch.equal(t.cpu(), torch.arange(12, dtype=torch.float32).reshape(3, 4) * 2)
    back = mx.from_dlpack(torch.arange(6, device="cuda", dtype=torch.float32))
    assert np.array(back).tolist() == list(range(6))


