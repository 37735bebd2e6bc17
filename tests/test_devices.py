"""Devices, streams, async_eval, synchronize, the memory API and multi-output nodes.

The behaviour follows mlx.core's (mx.cpu / mx.gpu are device types; a Stream belongs to a
device; `with mx.stream(s)` and `stream=` route ops; async_eval returns at once and a later
read waits). Without a GPU backend, asking for mx.gpu is a ValueError that names the op.
"""
import threading
import time

import numpy as np
import pytest

import ember.core as mx

HAS_GPU = mx.is_available(mx.gpu)


# ---- devices ---------------------------------------------------------------------------
def test_device_objects():
    d = mx.Device(mx.DeviceType.cpu)
    assert d.type == mx.DeviceType.cpu and d.index == 0
    assert repr(d) == "Device(cpu, 0)"
    assert d == mx.cpu and d == mx.Device(mx.cpu, 0) and d != mx.Device(mx.gpu, 0)
    assert hash(d) == hash(mx.Device(mx.cpu))
    assert mx.cpu == mx.DeviceType.cpu and mx.gpu == mx.DeviceType.gpu


def test_negative_device_index():
    with pytest.raises(ValueError, match="non-negative"):
        mx.Device(mx.cpu, -1)


def test_availability_and_counts():
    assert mx.is_available(mx.cpu) and mx.is_available(mx.Device(mx.cpu))
    assert mx.device_count(mx.cpu) == 1
    assert not mx.is_available(mx.Device(mx.cpu, 1))
    assert mx.is_available(mx.gpu) == (mx.device_count(mx.gpu) > 0)
    info = mx.device_info(mx.cpu)
    assert isinstance(info, dict) and info["architecture"] and isinstance(info["threads"], int)
    # free_memory (a GPU's) changes between two calls while other processes use the device.
    steady = lambda d: {k: v for k, v in d.items() if k != "free_memory"}
    assert steady(mx.device_info()) == steady(mx.device_info(mx.default_device()))


def test_default_device(device):
    assert mx.default_device() == device
    mx.set_default_device(mx.cpu)
    try:
        assert mx.default_device() == mx.cpu
        assert mx.add(1, 2).item() == 3
    finally:
        mx.set_default_device(device)


@pytest.mark.skipif(HAS_GPU, reason="this build has a GPU backend")
def test_gpu_unavailable_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\[set_default_device\].*no GPU backend"):
        mx.set_default_device(mx.gpu)
    assert mx.default_device() == mx.cpu  # unchanged
    x = mx.array([1.0, 2.0])
    mx.eval(x)
    with pytest.raises(ValueError, match=r"\[add\] Device\(gpu, 0\) is not available"):
        mx.add(x, 1, stream=mx.gpu)
    with pytest.raises(ValueError, match=r"\[sum\] Device\(gpu, 0\)"):
        mx.sum(x, stream=mx.gpu)
    with pytest.raises(ValueError, match=r"\[astype\]"):
        x.astype(mx.int32, stream=mx.gpu)
    with pytest.raises(ValueError, match="gpu"):
        mx.new_stream(mx.gpu)
    with pytest.raises(ValueError, match="gpu"):
        mx.stream(mx.gpu)
    with pytest.raises(ValueError, match="gpu"):
        mx.default_stream(mx.gpu)
    assert not mx.metal.is_available() and not mx.cuda.is_available()
    # nothing that was evaluated is lost
    assert x.tolist() == [1.0, 2.0]


def test_bad_stream_arguments():
    with pytest.raises(TypeError):
        mx.add(1, 2, stream=3)
    with pytest.raises(TypeError):
        mx.add(1, 2, stream="cpu")
    with pytest.raises(TypeError):
        mx.stream(None)


# ---- streams ---------------------------------------------------------------------------
def test_streams_and_defaults(device):
    s0 = mx.default_stream(mx.cpu)
    assert s0.device == mx.cpu and repr(s0).startswith("Stream(Device(cpu, 0), ")
    s1 = mx.new_stream(mx.cpu)
    assert s1 != s0 and s1.device == mx.cpu
    assert mx.new_stream(mx.cpu) != s1
    mx.set_default_stream(s1)
    try:
        assert mx.default_stream(mx.cpu) == s1
        assert mx.multiply(mx.array(3), 4).item() == 12
    finally:
        mx.set_default_stream(s0)
    assert mx.default_stream(mx.cpu) == s0


def test_stream_keyword_everywhere():
    s = mx.new_stream(mx.cpu)
    x = mx.arange(6, dtype=mx.float32, stream=s).reshape(2, 3)
    y = mx.sum(mx.exp(x, stream=s), axis=1, stream=mx.cpu)
    z = x.astype(mx.int32, stream=s)
    w = mx.matmul(x, x.T, stream=s) + mx.random.normal((2, 2), stream=s)
    ref = np.exp(np.arange(6, dtype=np.float32).reshape(2, 3)).sum(1)
    np.testing.assert_allclose(np.array(y), ref, rtol=1e-6)
    assert z.dtype == mx.int32 and w.shape == (2, 2)
    assert x.sum(axis=0, stream=s).tolist() == [3.0, 5.0, 7.0]


def test_stream_context_nests_and_restores(device):
    s1, s2 = mx.new_stream(mx.cpu), mx.new_stream(mx.cpu)
    base = mx.default_stream(mx.cpu)
    with mx.stream(s1):
        assert mx.default_stream(mx.cpu) == s1
        with mx.stream(s2):
            assert mx.default_stream(mx.cpu) == s2
            a = mx.ones((3,)) * 2
        assert mx.default_stream(mx.cpu) == s1
        with mx.stream(mx.cpu):  # a device means its current default stream, here s1
            assert mx.default_stream(mx.cpu) == s1
    assert mx.default_stream(mx.cpu) == base and mx.default_device() == device
    assert a.tolist() == [2.0, 2.0, 2.0]


def test_stream_context_is_thread_local():
    s1 = mx.new_stream(mx.cpu)
    base = mx.default_stream(mx.cpu)
    seen = {}
    entered, done = threading.Event(), threading.Event()

    def other():
        entered.wait()
        seen["other"] = mx.default_stream(mx.cpu)
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with mx.stream(s1):
        entered.set()
        done.wait()
        assert mx.default_stream(mx.cpu) == s1
    t.join()
    assert seen["other"] == base


def test_thread_local_stream():
    tls = mx.new_thread_local_stream(mx.cpu)
    assert tls.device == mx.cpu and "ThreadLocalStream" in repr(tls)
    got = {}

    def use(name):
        with mx.stream(tls):
            got[name] = mx.default_stream(mx.cpu)
            got[name + "_val"] = (mx.ones((4,)) + 1).sum().item()

    threads = [threading.Thread(target=use, args=(f"t{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    use("main")
    assert len({got["t0"], got["t1"], got["main"]}) == 3  # one stream per thread
    with mx.stream(tls):
        assert mx.default_stream(mx.cpu) == got["main"]  # and the same one again on a thread
    assert got["t0_val"] == got["t1_val"] == got["main_val"] == 8.0


def test_cross_stream_dependencies_in_every_order():
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((64, 64)).astype(np.float32)
    for order in range(4):
        s1, s2 = mx.new_stream(mx.cpu), mx.new_stream(mx.cpu)
        a = mx.array(a_np)
        b = mx.exp(a, stream=s1)                    # s1
        c = mx.matmul(b, a, stream=s2)              # s2 needs s1
        d = mx.add(c, b, stream=s1)                 # s1 needs s2
        e = mx.sum(d * 2, axis=0, stream=s2)        # s2 needs s1
        ref_b = np.exp(a_np.astype(np.float64))
        ref_d = ref_b @ a_np + ref_b
        ref_e = (ref_d * 2).sum(0)
        if order == 0:
            mx.eval(e)
        elif order == 1:
            mx.async_eval(e)
        elif order == 2:
            mx.async_eval(d)
            mx.async_eval(e, c)
        else:
            mx.async_eval(b)
            mx.eval(e)
        np.testing.assert_allclose(np.array(e), ref_e, rtol=2e-4)
        np.testing.assert_allclose(np.array(d), ref_d, rtol=2e-4)


def test_async_eval_returns_before_the_work_ends():
    x = mx.random.normal((512, 512))
    mx.eval(x)
    y = x
    for _ in range(30):
        y = mx.matmul(y, x) * 1e-3
    t0 = time.perf_counter()
    mx.async_eval(y)
    queued = time.perf_counter() - t0
    t0 = time.perf_counter()
    mx.synchronize()
    waited = time.perf_counter() - t0
    # 30 512^2 matmuls take far longer than queueing them; the wait holds the work.
    assert queued < waited
    assert np.isfinite(np.array(y)).all()


def test_async_eval_then_read_waits():
    s = mx.new_stream(mx.cpu)
    with mx.stream(s):
        x = mx.arange(100000, dtype=mx.float32)
        y = mx.cumsum(mx.sin(x))
    mx.async_eval(y)
    ref = np.cumsum(np.sin(np.arange(100000, dtype=np.float32)).astype(np.float64))
    np.testing.assert_allclose(np.array(y), ref, rtol=1e-3, atol=1e-2)  # waits, then reads
    z = mx.sum(x)
    mx.async_eval(z)
    assert z.item() == pytest.approx(float(np.arange(100000, dtype=np.float64).sum()), rel=1e-6)
    w = x + 1
    mx.async_eval(w)
    mx.synchronize(s)
    assert str(w).startswith("array([1") and w[2].item() == 3.0


def test_async_eval_trees_and_repeats():
    a = {"x": mx.ones((3,)), "y": [mx.zeros((2,)) + 5, (mx.ones((1,)) * 3,)]}
    mx.async_eval(a)
    mx.async_eval(a)  # already queued or done: nothing twice
    mx.eval(a)
    assert a["y"][0].tolist() == [5.0, 5.0] and a["y"][1][0].item() == 3.0
    mx.async_eval()  # nothing


def test_synchronize_forms():
    s = mx.new_stream(mx.cpu)
    x = mx.ones((10,), stream=s) * 3
    mx.async_eval(x)
    mx.synchronize(s)
    mx.synchronize(mx.cpu)
    mx.synchronize()
    assert x.sum().item() == 30.0


def test_clear_streams():
    s = mx.new_stream(mx.cpu)
    x = mx.ones((8,), stream=s) + 1
    mx.async_eval(x)
    mx.clear_streams()
    assert x.sum().item() == 16.0  # the queued work finished first
    with pytest.raises(ValueError, match="does not exist"):
        mx.add(1, 2, stream=s)
    assert mx.add(1, 2, stream=mx.default_stream(mx.cpu)).item() == 3


def test_error_in_async_work_surfaces_at_the_read():
    # A value that cannot be computed: vmap placeholders cannot be evaluated, so use an
    # allocation past the memory limit instead.
    mx.synchronize()
    old = mx.set_memory_limit(mx.get_active_memory() + (1 << 20))
    try:
        big = mx.ones((1 << 20,)) * 2  # 4 MiB > 1 MiB left
        mx.async_eval(big)
        ok = mx.ones((4,)) + 1
        with pytest.raises(MemoryError, match="memory limit"):
            np.array(big)
        assert ok.tolist() == [2.0] * 4  # other work goes on
    finally:
        mx.set_memory_limit(old)
    assert np.array(big).sum() == 2 * (1 << 20)  # nothing lost: computes once allowed


# ---- threads -----------------------------------------------------------------------------
def _graph(seed, n=20):
    x = mx.random.normal((128, 128), key=mx.random.key(seed))
    y = x
    for _ in range(n):
        y = mx.tanh(y @ x * 0.01) + y
    return x, y


def _run_threads(work, n):
    """Runs work(0) ... work(n - 1) on n threads at once; re-raises the first error."""
    errors = []

    def guarded(i):
        try:
            work(i)
        except Exception as e:  # reported on the test's thread below
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_eval_from_four_threads_disjoint():
    refs = {}
    for seed in range(4):
        _, y = _graph(seed)
        refs[seed] = np.array(y)
    results = {}

    def work(seed):
        for _ in range(3):
            _, y = _graph(seed)
            mx.eval(y)
            results[seed] = np.array(y)

    _run_threads(work, 4)
    for seed in range(4):
        np.testing.assert_allclose(results[seed], refs[seed], rtol=1e-5)


def test_eval_from_four_threads_shared_graph():
    x, y = _graph(7, n=30)
    ref = np.array(_graph(7, n=30)[1])
    outs = [y * (i + 1) for i in range(4)]
    barrier = threading.Barrier(4)
    results = [None] * 4

    def work(i):
        barrier.wait()
        mx.eval(outs[i])
        results[i] = np.array(outs[i])

    _run_threads(work, 4)
    for i in range(4):
        np.testing.assert_allclose(results[i], ref * (i + 1), rtol=1e-5)


def test_async_and_sync_from_threads_mixed():
    s = [mx.new_stream(mx.cpu) for _ in range(2)]
    base = mx.random.normal((64, 64), key=mx.random.key(3))
    shared = mx.exp(base * 0.1) @ base
    ref_shared = np.array(mx.exp(base * 0.1) @ base)

    def work(i):
        with mx.stream(s[i % 2]):
            v = shared + i
            if i % 2:
                mx.async_eval(v)
            got = np.array(v)
        np.testing.assert_allclose(got, ref_shared + i, rtol=1e-5)

    _run_threads(work, 8)


# ---- memory ------------------------------------------------------------------------------
def test_memory_counters():
    mx.synchronize()
    start = mx.get_active_memory()
    x = mx.ones((1 << 18,))  # 1 MiB
    mx.eval(x)
    assert mx.get_active_memory() >= start + (1 << 20)
    mx.reset_peak_memory()
    assert mx.get_peak_memory() == mx.get_active_memory()
    y = x * 2
    mx.eval(y)
    assert mx.get_peak_memory() >= start + 2 * (1 << 20)
    del x, y
    assert mx.get_active_memory() == start
    assert mx.get_cache_memory() >= (1 << 20)
    mx.clear_cache()
    assert mx.get_cache_memory() == 0


def test_memory_limits():
    old = mx.get_memory_limit()
    assert old > 0
    assert mx.set_memory_limit(old // 2) == old
    assert mx.get_memory_limit() == old // 2
    mx.set_memory_limit(old)
    prev_cache = mx.set_cache_limit(1 << 20)
    assert mx.set_cache_limit(prev_cache) == 1 << 20
    w = mx.set_wired_limit(123)
    assert mx.set_wired_limit(w) == 123
    # the mx.metal namespace mirrors the allocator, as MLX's does
    assert mx.metal.get_active_memory() == mx.get_active_memory()
    with pytest.raises(ValueError, match="Metal"):
        mx.metal.device_info()


def test_memory_limit_error_names_the_size():
    mx.synchronize()
    old = mx.set_memory_limit(mx.get_active_memory() + (1 << 16))
    try:
        with pytest.raises(MemoryError, match=r"262144 bytes would exceed the memory limit"):
            mx.eval(mx.zeros((1 << 16,)))
    finally:
        mx.set_memory_limit(old)


# ---- multi-output nodes ------------------------------------------------------------------
def test_custom_function_with_several_outputs_calls_the_rule_once():
    calls = {"vjp": 0}

    @mx.custom_function
    def f(x):
        return mx.sin(x), mx.cos(x)

    @f.vjp
    def f_vjp(primals, cotangents, outputs):
        calls["vjp"] += 1
        (x,) = primals
        cs, cc = cotangents
        return (cs * mx.cos(x) - cc * mx.sin(x),)

    x = mx.array([0.1, 0.5, 1.0])
    g = mx.grad(lambda x: mx.sum(f(x)[0] * 2 + f(x)[1]))(x)
    np.testing.assert_allclose(np.array(g), 2 * np.cos([0.1, 0.5, 1.0]) - np.sin([0.1, 0.5, 1.0]),
                               rtol=1e-6)
    assert calls["vjp"] == 2  # once per call of f (f is called twice above), not per output
    calls["vjp"] = 0
    g = mx.grad(lambda x: mx.sum(mx.stack(f(x))))(x)
    assert calls["vjp"] == 1
    np.testing.assert_allclose(np.array(g), np.cos([0.1, 0.5, 1.0]) - np.sin([0.1, 0.5, 1.0]),
                               rtol=1e-6)


def test_multi_output_only_one_kept():
    @mx.custom_function
    def f(x):
        return x * 2, x * 3, x * 4

    x = mx.array([1.0, 2.0])
    _, b, _ = f(x)  # the other outputs die before eval
    assert b.tolist() == [3.0, 6.0]
    ys = mx.vmap(lambda x: f(x)[2])(mx.array([[1.0], [2.0]]))
    assert ys.tolist() == [[4.0], [8.0]]
    _, t = mx.jvp(lambda x: f(x)[1], (x,), (mx.ones((2,)),))
    assert t[0].tolist() == [3.0, 3.0]


def test_split_is_one_node_with_views():
    x = mx.arange(12, dtype=mx.float32).reshape(3, 4)
    parts = mx.split(x, [1, 3], axis=1)
    assert [p.shape for p in parts] == [(3, 1), (3, 2), (3, 1)]
    np.testing.assert_array_equal(np.array(parts[1]), np.arange(12.0).reshape(3, 4)[:, 1:3])
    # gradients through some of the pieces: the others get zeros
    g = mx.grad(lambda x: mx.sum(mx.split(x, 3, axis=0)[2] * 2))(x)
    np.testing.assert_array_equal(np.array(g), np.r_[np.zeros((2, 4)), 2 * np.ones((1, 4))])
    # vmap over another axis, and decreasing indices (numpy's empty pieces)
    v = mx.vmap(lambda r: mx.split(r, [1, 3])[1])(x)
    np.testing.assert_array_equal(np.array(v), np.arange(12.0).reshape(3, 4)[:, 1:3])
    odd = mx.split(mx.arange(5), [3, 1])
    assert [p.tolist() for p in odd] == [[0, 1, 2], [], [1, 2, 3, 4]]


def test_rule_can_use_an_output_nobody_kept():
    # grad through eigenvalues only: eigh's rule needs the eigenvectors, which the function
    # dropped; the node re-makes them instead of handing the rule an unevaluable stand-in.
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    g = mx.grad(lambda x: mx.sum(mx.linalg.eigh(x)[0] ** 2))(mx.array(a, dtype=mx.float64))
    # eigh reads one triangle, so the gradient lands there: its symmetric part is
    # d tr(A^2) / dA = 2A
    g = np.array(g)
    np.testing.assert_allclose((g + g.T) / 2, 2 * a, rtol=1e-10)
