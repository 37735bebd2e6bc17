"""Using ember from several Python threads at once: graphs built and evaluated
concurrently (on separate arrays, on shared inputs, on shared lazy subgraphs, with
async_eval and several streams) give the values of a serial run; an error inside a kernel
surfaces at the eval that needed it, on the thread that asked, while the other threads'
evals succeed and every stream stays usable; grad and compiled functions can be called
from threads at once.

Every multi-threaded test runs its threads through run_threads, which joins them with a
timeout: a deadlock fails the test (with every thread's stack on stderr) instead of hanging
the run. A process-wide faulthandler timer backs that up for a hang of the main thread.
Cases that could crash the interpreter if a race were back run in a child process.
"""
import faulthandler
import re
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim

N = 8  # threads
TIMEOUT = 60.0  # seconds before a test calls its threads deadlocked


@pytest.fixture(autouse=True)
def watchdog():
    # Backstop for a hang outside run_threads' joins (the main thread itself stuck in C++):
    # dump every thread's stack and end the process, so CI fails instead of waiting.
    faulthandler.dump_traceback_later(4 * TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def run_threads(work, n=N, timeout=TIMEOUT):
    """Runs work(0) ... work(n - 1) on n threads released together. Returns (results,
    errors), one entry per thread; fails the test if a thread is still running after
    `timeout` seconds."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, [None] * n

    def body(i):
        try:
            barrier.wait(timeout)
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            errors[i] = e

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [i for i, t in enumerate(threads) if t.is_alive()]
    if stuck:
        faulthandler.dump_traceback(all_threads=True)
        pytest.fail(f"threads {stuck} still running after {timeout:.0f} s: deadlock")
    return results, errors


def run_ok(work, n=N, timeout=TIMEOUT):
    """run_threads for work that must not raise: re-raises the first error."""
    results, errors = run_threads(work, n, timeout)
    for e in errors:
        if e is not None:
            raise e
    return results


def run_isolated(code, timeout=120):
    """Runs code in a fresh interpreter; returns (returncode, stdout + stderr)."""
    src = "import ember.core as mx\nimport numpy as np\n" + textwrap.dedent(code)
    try:
        p = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"child process hung for {timeout} s (deadlock?): {out[-2000:]}")
    return p.returncode, p.stdout + p.stderr


# ---- graphs used by the tests --------------------------------------------------------------
def int_graph(i, steps=25):
    """Integer ops only (exact whatever the order of work): elementwise, scans, reductions,
    broadcasting, a gather and a reshape."""
    a = mx.arange(i, i + 32 * 48, dtype=mx.int32).reshape(32, 48)
    y = a
    for k in range(steps):
        y = (y * 3 + k) % 1009
        y = y + mx.cumsum(y, axis=1) % 7 - mx.max(y, axis=0, keepdims=True) // 5
        y = mx.take(y, mx.array([(k + j) % 48 for j in range(48)]), axis=1)
    return mx.sum(y.reshape(48, 32), axis=0)


def float_graph(i, steps=15):
    x = mx.random.normal((48, 48), key=mx.random.key(i))
    y = x
    for _ in range(steps):
        y = mx.tanh(y @ x * 0.05) + mx.sin(y) * 0.5
    return mx.mean(y, axis=0)


# ---- separate graphs -----------------------------------------------------------------------
def test_concurrent_threads_match_serial():
    def work(seed):
        rng = np.random.default_rng(seed)
        x = mx.array(rng.standard_normal((64, 64)).astype(np.float32))
        for _ in range(20):
            x = mx.tanh(x @ x.T / 64.0) + 0.1
        g = mx.grad(lambda w: mx.sum(mx.sin(w) * w))(x)
        mx.eval(x, g)
        return np.asarray(x), np.asarray(g)

    serial = [work(s) for s in range(4)]
    parallel = run_ok(work, 4)
    for s in range(4):
        np.testing.assert_allclose(parallel[s][0], serial[s][0], rtol=1e-6)
        np.testing.assert_allclose(parallel[s][1], serial[s][1], rtol=1e-6)


def test_eight_threads_separate_graphs_match_serial():
    serial = [(np.array(int_graph(i)), np.array(float_graph(i))) for i in range(N)]

    def work(i):
        out = []
        for _ in range(3):
            a, b = int_graph(i), float_graph(i)
            mx.eval(a, b)
            out.append((np.array(a), np.array(b)))
        return out

    for i, rounds in enumerate(run_ok(work)):
        for a, b in rounds:
            np.testing.assert_array_equal(a, serial[i][0])
            np.testing.assert_allclose(b, serial[i][1], rtol=1e-5, atol=1e-6)


# ---- shared arrays -------------------------------------------------------------------------
def test_eight_threads_read_shared_inputs():
    """Evaluated arrays read by every thread at once (as kernel inputs, through numpy, item
    and indexing) are neither changed nor freed under the readers."""
    base = mx.arange(4096, dtype=mx.int64).reshape(64, 64)
    table = mx.array(np.random.default_rng(1).integers(0, 1000, (64,)), dtype=mx.int64)
    mx.eval(base, table)
    base_np, table_np = np.array(base), np.array(table)

    def ref(i):
        y = base_np
        for k in range(20):
            y = (y + table_np * (i + k)) % 997
            y = y[:, ::-1] + y.T
        return y

    def work(i):
        got = []
        for _ in range(3):
            y = base
            for k in range(20):
                y = (y + table * (i + k)) % 997
                y = y[:, ::-1] + y.T
            mx.eval(y)
            assert base[i, 3].item() == base_np[i, 3]
            assert np.array_equal(np.array(table), table_np)
            got.append(np.array(y))
        return got

    for i, rounds in enumerate(run_ok(work)):
        for g in rounds:
            np.testing.assert_array_equal(g, ref(i))
    np.testing.assert_array_equal(np.array(base), base_np)


def shared_chain(seed, n=60):
    """A lazy subgraph with single- and multi-output nodes (split) and a gather."""
    x = mx.arange(seed, seed + 3000, dtype=mx.int64)
    y = x
    for k in range(n):
        a, b, c = mx.split(y, 3)
        y = mx.concatenate([c * 3 % 10007, a + k, (b * b) % 65521])
        y = mx.take(y, (mx.arange(3000) * 7 + k) % 3000)
    return y


def test_shared_lazy_subgraph_evaluated_by_eight_threads_at_once():
    """All threads need one unevaluated subgraph at the same moment: each gets the serial
    values (the subgraph is computed by one of them and waited for by the others, or
    recomputed safely, never half-read)."""
    ref = np.array(shared_chain(5))
    for rnd in range(4):
        shared = shared_chain(5)

        def work(i):
            if i % 4 == 0:
                mx.eval(shared)
                return np.array(shared)
            if i % 4 == 1:
                mx.async_eval(shared)
                return np.array(shared)
            y = shared * (i + 1) - i
            if i % 4 == 2:
                mx.async_eval(y)
            return (np.array(y) + i) // (i + 1)

        for r in run_ok(work):
            np.testing.assert_array_equal(r, ref)


def test_shared_lazy_graph_on_several_streams_from_threads():
    """A lattice of lazy arrays spread over four streams, with dependencies across streams,
    evaluated piecewise by eight threads at once (async_eval and eval in different orders)."""
    streams = [mx.new_stream(mx.cpu) for _ in range(4)]

    def lattice():
        base = mx.arange(1, 2049, dtype=mx.int64)
        l0 = []
        for j in range(N):
            with mx.stream(streams[j % 4]):
                l0.append(mx.cumsum((base * (j + 1)) % 101) % 1000003)
        l1 = []
        for j in range(N):
            with mx.stream(streams[(j + 1) % 4]):
                l1.append((l0[j] * l0[(j + 1) % N]) % 7919 + mx.max(l0[(j + 2) % N]))
        l2 = []
        for j in range(N):
            with mx.stream(streams[(j + 2) % 4]):
                l2.append(mx.sum(l1[j] * l1[(j + 3) % N] % 1009) + l0[j][::-1])
        return l0, l1, l2

    refs = [[np.array(a) for a in layer] for layer in lattice()]
    for rnd in range(3):
        l0, l1, l2 = lattice()

        def work(i):
            with mx.stream(streams[i % 4]):
                mx.async_eval(l2[i])
                if (i + rnd) % 2:
                    mx.eval(l1[(i + 5) % N])
                else:
                    mx.async_eval(l0[(i + 3) % N], l1[i])
                extra = l2[i] + l1[(i + 5) % N]  # new work on this thread's stream
                return np.array(l2[i]), np.array(l1[(i + 5) % N]), np.array(extra)

        for i, (a, b, c) in enumerate(run_ok(work)):
            np.testing.assert_array_equal(a, refs[2][i])
            np.testing.assert_array_equal(b, refs[1][(i + 5) % N])
            np.testing.assert_array_equal(c, refs[2][i] + refs[1][(i + 5) % N])
        mx.synchronize()
        for layer, ref in zip((l0, l1, l2), refs):
            for a, r in zip(layer, ref):
                np.testing.assert_array_equal(np.array(a), r)


def test_threads_with_their_own_streams_and_async_eval():
    def work(i):
        s = mx.new_stream(mx.cpu)
        with mx.stream(s):
            outs = []
            for r in range(4):
                y = int_graph(i + r, steps=10)
                mx.async_eval(y)
                outs.append(y)
            mx.synchronize(s)
            return [np.array(o) for o in outs]

    results = run_ok(work)
    for i, outs in enumerate(results):
        for r, o in enumerate(outs):
            np.testing.assert_array_equal(o, np.array(int_graph(i + r, steps=10)))


# ---- errors inside kernels -----------------------------------------------------------------
def test_kernel_error_surfaces_on_the_thread_that_needed_it():
    """Threads 2 and 5 evaluate graphs whose gather has an index out of range (known only
    once the indices are computed); 3 inverts a singular matrix. They get the error, naming
    the op, at their own eval; every other thread gets its right values."""
    bad_threads = {2: IndexError, 5: IndexError, 3: ValueError}
    refs = [np.array(int_graph(i, steps=8)) for i in range(N)]

    def work(i):
        if i in (2, 5):
            idx = mx.arange(10) * (1000 + i)  # lazy: the bad index appears in the kernel
            y = mx.take(int_graph(i, steps=8), idx)
            if i == 5:
                mx.async_eval(y)
            return np.array(y)
        if i == 3:
            m = mx.ones((4, 4)) * mx.arange(4.0)  # rank 1
            return np.array(mx.linalg.inv(m, stream=mx.cpu))
        y = int_graph(i, steps=8)
        if i % 2:
            mx.async_eval(y)
        return np.array(y)

    results, errors = run_threads(work)
    for i in range(N):
        if i in bad_threads:
            assert isinstance(errors[i], bad_threads[i]), (i, repr(errors[i]))
            op = "linalg.inv" if i == 3 else "take"
            assert f"[{op}" in str(errors[i]) or "[gather" in str(errors[i]), str(errors[i])
            assert "std::" not in str(errors[i])
        else:
            assert errors[i] is None, (i, repr(errors[i]))
            np.testing.assert_array_equal(results[i], refs[i])
    # Every stream still works afterwards, and the failed eval can be asked again.
    for s in [mx.default_stream(mx.cpu), mx.new_stream(mx.cpu)]:
        with mx.stream(s):
            assert (mx.arange(5) * 2).sum().item() == 20
    with pytest.raises(IndexError):
        mx.eval(mx.take(mx.arange(3), mx.arange(3) + 5))


def test_error_in_a_shared_graph_fails_only_the_eval_that_needs_it():
    """A shared lazy subgraph feeds a good and a failing branch; threads evaluating the good
    branch succeed even when a thread evaluating the bad one computed the shared part."""
    for rnd in range(3):
        shared = shared_chain(rnd, n=30)
        ref = np.array(shared_chain(rnd, n=30))
        bad = mx.take(shared, shared + 10**6)  # every index out of range

        def work(i):
            if i % 2 == 0:
                if i % 4 == 0:
                    mx.async_eval(bad)
                return np.array(bad)
            good = shared * 2
            if i % 4 == 1:
                mx.async_eval(good)
            return np.array(good)

        results, errors = run_threads(work)
        for i in range(N):
            if i % 2 == 0:
                assert isinstance(errors[i], IndexError), repr(errors[i])
            else:
                assert errors[i] is None, repr(errors[i])
                np.testing.assert_array_equal(results[i], ref * 2)
        np.testing.assert_array_equal(np.array(shared), ref)


def test_failed_allocation_on_one_thread_leaves_the_others_running():
    """Under a memory limit, one thread's large allocation fails with a MemoryError naming
    the op and the size, on that thread; the others (small arrays, on their own streams or
    the default one) compute right, and everything works again once the limit is raised."""
    mx.synchronize()
    streams = [mx.new_stream(mx.cpu) for _ in range(3)]
    refs = [np.array(int_graph(i, steps=5)) for i in range(N)]
    big_shape = (8 << 20,)  # 32 MiB of float32, over the 16 MiB left below
    old = mx.set_memory_limit(mx.get_active_memory() + (16 << 20))
    try:
        def work(i):
            with mx.stream(streams[i % 3]):
                if i in (1, 6):
                    big = mx.exp(mx.zeros(big_shape)) + i
                    if i == 6:
                        mx.async_eval(big)
                    try:
                        np.array(big)
                    except MemoryError as e:
                        return big, e
                    return big, None
                y = int_graph(i, steps=5)
                if i % 2:
                    mx.async_eval(y)
                return np.array(y)

        results = run_ok(work)
    finally:
        mx.set_memory_limit(old)
    for i in range(N):
        if i in (1, 6):
            big, err = results[i]
            assert isinstance(err, MemoryError), f"thread {i}: no MemoryError"
            text = str(err)
            assert "33554432 bytes" in text and "memory limit" in text, text
            assert re.match(r"\[[A-Z]\w*\] Failed to allocate 32.0 MiB", text), text
            # nothing lost: the same array computes once memory allows
            assert np.array(big)[0] == 1.0 + i
        else:
            np.testing.assert_array_equal(results[i], refs[i])
    for s in streams:
        with mx.stream(s):
            x = mx.ones((1000,)) * 3
            mx.async_eval(x)
            assert x.sum().item() == 3000.0


def test_threads_streams_and_errors_leave_no_memory_behind():
    """After eight threads have built, evaluated (eval and async_eval, on their own and
    shared streams), failed (index errors) and dropped graphs, every buffer is freed."""
    import gc

    mx.synchronize()
    gc.collect()
    base = mx.get_active_memory()
    shared_stream = mx.new_stream(mx.cpu)
    shared = mx.exp(mx.arange(4096, dtype=mx.float32) / 4096)
    mx.eval(shared)

    def work(i):
        own = mx.new_stream(mx.cpu)
        for r in range(6):
            with mx.stream(own if r % 2 else shared_stream):
                y = mx.cumsum(shared * (i + r)) + mx.arange(4096)
                if (i + r) % 3 == 0:
                    y = mx.take(y, mx.arange(8) * 10**6)  # fails in the kernel
                if r % 2:
                    mx.async_eval(y)
                try:
                    np.array(y)
                except IndexError:
                    pass
        mx.synchronize(own)

    run_ok(work)
    del shared
    mx.synchronize()
    gc.collect()
    assert mx.get_active_memory() == base


# ---- transforms from threads ---------------------------------------------------------------
def loss(w, x):
    return mx.sum(mx.tanh(x @ w) ** 2) + 0.5 * mx.sum(w * w)


def inputs_for(i):
    rng = np.random.default_rng(100 + i)
    w = mx.array(rng.standard_normal((16, 8)).astype(np.float32))
    x = mx.array(rng.standard_normal((32, 16)).astype(np.float32))
    return w, x


def test_grad_from_eight_threads():
    grad_fn = mx.value_and_grad(loss)
    ref = [tuple(np.array(v) for v in grad_fn(*inputs_for(i))) for i in range(N)]

    def work(i):
        w, x = inputs_for(i)
        out = []
        for _ in range(5):
            v, g = grad_fn(w, x)
            mx.eval(v, g)
            out.append((np.array(v), np.array(g)))
        return out

    for i, rounds in enumerate(run_ok(work)):
        for v, g in rounds:
            np.testing.assert_allclose(v, ref[i][0], rtol=1e-6)
            np.testing.assert_allclose(g, ref[i][1], rtol=1e-5, atol=1e-6)


def test_compiled_function_first_called_from_eight_threads_at_once():
    """The first calls race to trace; every thread gets the right values, and later calls
    (replays) from all threads too."""
    ref = [[np.array(v) for v in mx.value_and_grad(loss)(*inputs_for(i))] for i in range(N)]
    step = mx.compile(mx.value_and_grad(loss))
    fused = mx.compile(lambda a, b: mx.exp(-a * a) * b + mx.sin(b) / 3)

    def work(i):
        w, x = inputs_for(i)
        out = []
        for _ in range(5):
            v, g = step(w, x)
            f = fused(w, w + 1)
            mx.eval(v, g, f)
            out.append((np.array(v), np.array(g), np.array(f)))
        return out

    for i, rounds in enumerate(run_ok(work)):
        w, _ = inputs_for(i)
        wn = np.array(w)
        for v, g, f in rounds:
            np.testing.assert_allclose(v, ref[i][0], rtol=1e-5)
            np.testing.assert_allclose(g, ref[i][1], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(f, np.exp(-wn * wn) * (wn + 1) + np.sin(wn + 1) / 3,
                                       rtol=1e-5, atol=1e-6)


def test_vmap_jvp_and_shapes_of_one_compiled_function_from_threads():
    """vmap and jvp from eight threads, and one compiled function called with a different
    input shape on each thread (each thread's first call traces its own signature)."""
    f = mx.compile(lambda a: mx.sum(mx.tanh(a) * a, axis=-1))

    def work(i):
        out = []
        x = mx.linspace(-1, 1, (i + 2) * 6).reshape(i + 2, 6)
        for _ in range(4):
            v = mx.vmap(lambda r: mx.sum(r * r) + r[0])(x)
            _, t = mx.jvp(lambda a: [mx.sin(a) * a], [x], [mx.ones_like(x)])
            c = f(x)
            mx.eval(v, t, c)
            out.append((np.array(x), np.array(v), np.array(t[0]), np.array(c)))
        return out

    for rounds in run_ok(work):
        for xn, v, t, c in rounds:
            np.testing.assert_allclose(v, (xn * xn).sum(1) + xn[:, 0], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(t, np.cos(xn) * xn + np.sin(xn), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(c, (np.tanh(xn) * xn).sum(-1), rtol=1e-5, atol=1e-6)


def test_async_eval_inside_a_traced_function_from_threads():
    """async_eval of intermediates inside a function being differentiated: the stream worker
    keeps the graph the trace walks; gradients are right on every thread."""
    streams = [mx.new_stream(mx.cpu) for _ in range(2)]

    def fn(w, i):
        with mx.stream(streams[i % 2]):
            y = mx.sin(w) * (i + 1)
            mx.async_eval(y)
            z = y * y + w
        mx.eval(z)  # inside the trace too
        return mx.sum(z)

    def work(i):
        w = mx.linspace(0, 1, 64)
        gs = []
        for _ in range(4):
            g = mx.grad(fn)(w, i)
            gs.append(np.array(g))
        return gs

    w = np.linspace(0, 1, 64)
    for i, gs in enumerate(run_ok(work)):
        want = 2 * (i + 1) ** 2 * np.sin(w) * np.cos(w) + 1
        for g in gs:
            np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


def test_custom_function_rules_called_from_threads():
    @mx.custom_function
    def f(x):
        return mx.exp(x) * 2

    @f.vjp
    def f_vjp(primals, cotangent, output):
        return (cotangent * output,)

    x = [mx.linspace(-1, 1, 50) * (i + 1) / N for i in range(N)]

    def work(i):
        out = []
        for _ in range(5):
            g = mx.grad(lambda v: mx.sum(f(v) * v))(x[i])
            mx.async_eval(g)
            out.append(np.array(g))
        return out

    for i, rounds in enumerate(run_ok(work)):
        xn = np.array(x[i])
        want = 2 * np.exp(xn) * xn + 2 * np.exp(xn)
        for g in rounds:
            np.testing.assert_allclose(g, want, rtol=1e-5)


def test_training_loops_in_eight_threads_match_serial():
    """Independent models trained at once in eight threads (value_and_grad, optimizer
    updates, eval) end with the weights a serial run gives."""

    def train(i, steps=15):
        mx.random.seed(i)
        model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 1))
        opt = optim.Adam(learning_rate=0.01)
        rng = np.random.default_rng(i)
        X = mx.array(rng.standard_normal((32, 6)).astype(np.float32))
        Y = mx.array(rng.standard_normal((32, 1)).astype(np.float32))
        step = nn.value_and_grad(model, lambda m, a, b: nn.losses.mse_loss(m(a), b))
        for _ in range(steps):
            l, g = step(model, X, Y)
            opt.update(model, g)
            mx.eval(model.parameters(), opt.state, l)
        return l.item(), np.array(model.layers[0].weight)

    # the seed that initializes each model is process-wide: build them on one thread at a time
    init_lock = threading.Lock()
    serial = [train(i) for i in range(N)]

    def work(i):
        with init_lock:
            mx.random.seed(i)
            model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 1))
            mx.eval(model.parameters())
        opt = optim.Adam(learning_rate=0.01)
        rng = np.random.default_rng(i)
        X = mx.array(rng.standard_normal((32, 6)).astype(np.float32))
        Y = mx.array(rng.standard_normal((32, 1)).astype(np.float32))
        step = nn.value_and_grad(model, lambda m, a, b: nn.losses.mse_loss(m(a), b))
        for _ in range(15):
            l, g = step(model, X, Y)
            opt.update(model, g)
            mx.eval(model.parameters(), opt.state, l)
        return l.item(), np.array(model.layers[0].weight)

    for i, (l, w) in enumerate(run_ok(work)):
        assert l == pytest.approx(serial[i][0], rel=1e-5)
        np.testing.assert_allclose(w, serial[i][1], rtol=1e-5, atol=1e-6)


# ---- races that would crash: in a child process -------------------------------------------
def test_transforms_walk_a_graph_another_thread_is_evaluating():
    """grad and compile walk the lazy graph a function captured while other threads evaluate
    that graph (which frees each node's inputs as it goes): no crash, right values."""
    code = """
    import threading
    x = mx.ones((8,)) * 0.5
    mx.eval(x)
    errors = []
    for rnd in range(30):
        s = x
        for k in range(1500):
            s = s * 1.0 + (k % 3)
        want = 0.5 + sum(k % 3 for k in range(1500))
        go = threading.Barrier(3)
        def evaluate():
            go.wait()
            mx.eval(s)
        def differentiate():
            go.wait()
            g = mx.grad(lambda w: mx.sum(w * s))(x)
            if not np.allclose(np.array(g), want):
                errors.append(("grad", np.array(g)[:2]))
        def compiled():
            go.wait()
            f = mx.compile(lambda w: w + s)
            if not np.allclose(np.array(f(x)), want + 0.5):
                errors.append(("compile", np.array(f(x))[:2]))
        ts = [threading.Thread(target=t) for t in (evaluate, differentiate, compiled)]
        for t in ts: t.start()
        for t in ts: t.join()
    print("ERRORS", errors)
    """
    rc, out = run_isolated(code)
    assert rc == 0, f"crashed (rc={rc}): {out[-3000:]}"
    assert "ERRORS []" in out, out[-3000:]


def test_matmuls_of_every_size_from_eight_threads():
    """Small products run BLAS on one thread, large ones on all: threads switching that
    process-wide setting while others are inside BLAS still get the serial values."""
    code = """
    import threading
    rng = np.random.default_rng(0)
    mats = {n: rng.standard_normal((n, n)).astype(np.float32) for n in (8, 48, 200)}
    refs = {n: np.array(mx.array(m) @ mx.array(m)) for n, m in mats.items()}
    bad = []
    go = threading.Barrier(8)
    def work(i):
        go.wait()
        for r in range(40):
            n = (8, 48, 200)[(i + r) % 3]
            got = np.array(mx.array(mats[n]) @ mx.array(mats[n]))
            if not np.allclose(got, refs[n], rtol=1e-4, atol=1e-4):
                bad.append((i, r, n))
    ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in ts: t.start()
    for t in ts: t.join()
    print("BAD", bad)
    """
    rc, out = run_isolated(code)
    assert rc == 0, f"crashed (rc={rc}): {out[-3000:]}"
    assert "BAD []" in out, out[-3000:]


def test_waiting_with_the_interpreter_lock_held_does_not_deadlock():
    """A stream worker computes a graph with a custom_function node (its node holds Python
    rules, which the worker drops, under the interpreter lock, once the node is computed)
    while the main thread traces a compiled function that captured that graph: the trace
    folds the captured constant, waiting for the worker from C++ called with the lock held."""
    code = """
    @mx.custom_function
    def f(x):
        return mx.exp(x)

    @f.vjp
    def f_vjp(primals, cotangent, output):
        return (cotangent * output,)

    s = mx.new_stream(mx.cpu)
    ok = 0
    for rnd in range(5):
        with mx.stream(s):
            y = mx.zeros((1 << 16,))
            for k in range(150):
                y = mx.sin(y) * 0.5 + 0.001 * k
            c = f(y) * 2
        mx.async_eval(c)  # the worker is busy with the chain for a while
        step = mx.compile(lambda a: a + c)  # c is a constant of the trace: folded (evaluated)
        out = step(mx.zeros((1 << 16,)))
        ok += bool(np.isfinite(np.array(out)).all())
    print("OK", ok)
    """
    rc, out = run_isolated(code, timeout=90)
    assert rc == 0, f"failed (rc={rc}): {out[-3000:]}"
    assert "OK 5" in out, out[-3000:]


def test_clear_streams_while_other_threads_use_streams():
    """clear_streams stops the stream workers while other threads queue work on streams and
    synchronize: the work is done or the stream is reported gone (ValueError), never a
    crash, a hang or a wrong value."""
    code = """
    import threading
    stop = threading.Event()
    bad, done = [], [0]
    def user(i):
        while not stop.is_set():
            try:
                s = mx.new_stream(mx.cpu)
                with mx.stream(s):
                    y = mx.arange(1000) * (i + 1)
                    mx.async_eval(y)
                mx.synchronize()
                mx.synchronize(s)
            except ValueError as e:
                if "does not exist" not in str(e):
                    bad.append(repr(e))
                continue
            if y.sum().item() != 499500 * (i + 1):
                bad.append(("value", i))
            done[0] += 1
    ts = [threading.Thread(target=user, args=(i,)) for i in range(3)]
    for t in ts: t.start()
    import time
    clears, give_up = 0, time.monotonic() + 30
    while (clears < 200 or done[0] < 10) and time.monotonic() < give_up:
        mx.clear_streams()
        clears += 1
        if clears % 10 == 0:
            time.sleep(0.002)  # let the users get through on a loaded machine
    stop.set()
    for t in ts: t.join()
    print("BAD", bad, "DONE", done[0] > 0)
    """
    rc, out = run_isolated(code, timeout=90)
    assert rc == 0, f"crashed (rc={rc}): {out[-3000:]}"
    assert "BAD [] DONE True" in out, out[-3000:]
