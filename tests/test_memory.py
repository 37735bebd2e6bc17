"""Deep graphs and memory: a chain of a million nodes evaluates and frees without
overflowing the stack; eval frees intermediates as it goes, so a long chain of large
elementwise ops holds O(1) of them; freed buffers are cached and released on request."""
import gc

import numpy as np
import pytest

import ember.core as mx

MB = 1 << 20
N = 1 << 18  # float32 elements in 1 MB


@pytest.fixture
def fresh_memory():
    gc.collect()
    mx.eval()
    yield
    gc.collect()


def test_million_node_chain_evaluates():
    x = mx.array(0.0)
    for _ in range(1_000_000):
        x = x + 1
    mx.eval(x)
    assert x.item() == 1_000_000.0  # exact: float32 holds integers up to 2**24


def test_million_node_chain_frees_unevaluated():
    """Dropping the last handle of a long lazy chain must not recurse once per node."""
    x = mx.array(1.0)
    for _ in range(1_000_000):
        x = x * 1.0
    del x
    gc.collect()
    # the library still works afterwards
    assert (mx.array(2.0) * 3).item() == 6.0


def test_million_node_chain_of_two_inputs():
    """A chain where every node also reads the original input (a wide fan-out)."""
    a = mx.array([1.0, 2.0])
    x = a
    for _ in range(200_000):
        x = mx.maximum(x, a)
    np.testing.assert_array_equal(np.asarray(x), [1.0, 2.0])


def test_eval_holds_constant_intermediates(fresh_memory):
    """200 elementwise ops on a 1 MB array peak at a few MB (input, one or two live
    intermediates, the output), not 200 MB."""
    x = mx.array(np.linspace(0, 1, N, dtype=np.float32))
    mx.eval(x)
    mx.reset_peak_memory()
    base = mx.get_active_memory()
    y = x
    for i in range(200):
        y = mx.sin(y) + 1.0 if i % 2 else y * 0.5
    # building the graph computes nothing: only the Python scalars' 0-d arrays exist
    assert mx.get_active_memory() - base < 64 * 1024
    mx.eval(y)
    peak = mx.get_peak_memory() - base
    assert peak <= 6 * MB, f"peak {peak / MB:.1f} MB above the input"
    # Only the result stays. The buffer cache may hand out a block up to twice the
    # requested size (left by earlier tests), and active memory counts whole blocks.
    assert mx.get_active_memory() - base <= 2 * MB
    ref = np.linspace(0, 1, N, dtype=np.float32)
    for i in range(200):
        ref = np.sin(ref) + np.float32(1.0) if i % 2 else ref * np.float32(0.5)
    np.testing.assert_allclose(np.asarray(y), ref, rtol=1e-5, atol=1e-6)


def test_branching_graph_frees_consumed_intermediates(fresh_memory):
    """Each intermediate feeds two ops; it is freed once both have run."""
    x = mx.ones((N,))
    mx.eval(x)
    mx.reset_peak_memory()
    base = mx.get_active_memory()
    y = x
    for _ in range(50):
        y = mx.exp(y * 0.0) + mx.sin(y) * 0.0
    mx.eval(y)
    assert mx.get_peak_memory() - base <= 6 * MB
    np.testing.assert_allclose(np.asarray(y), 1.0)


def test_memory_is_released_and_cached(fresh_memory):
    before = mx.get_active_memory()
    y = mx.exp(mx.zeros((4 * N,)))  # 4 MB result
    mx.eval(y)
    assert mx.get_active_memory() - before >= 4 * MB
    del y
    gc.collect()
    assert mx.get_active_memory() - before < 0.5 * MB
    assert mx.get_cache_memory() >= 4 * MB  # kept for reuse
    mx.clear_cache()
    assert mx.get_cache_memory() == 0


def test_eval_does_not_keep_its_arguments(fresh_memory):
    """mx.eval of a tree must not leave references behind (no cycles to wait for gc)."""
    before = mx.get_active_memory()
    tree = {"a": [mx.exp(mx.zeros((N,)))], "b": (mx.ones((N,)) * 2, None), "c": 3}
    mx.eval(tree)
    assert mx.get_active_memory() - before >= 2 * MB
    del tree
    assert mx.get_active_memory() - before < 0.5 * MB  # no gc.collect() needed


def test_numpy_view_keeps_buffer_until_released(fresh_memory):
    before = mx.get_active_memory()
    v = np.asarray(mx.ones((N,)) * 3)
    assert mx.get_active_memory() - before >= MB
    assert v[0] == 3.0
    del v
    assert mx.get_active_memory() - before < 0.5 * MB


def test_cache_limit():
    old = mx.set_cache_limit(0)
    mx.clear_cache()
    try:
        y = mx.exp(mx.zeros((N,)))
        mx.eval(y)
        del y
        gc.collect()
        assert mx.get_cache_memory() == 0
    finally:
        mx.set_cache_limit(old)
