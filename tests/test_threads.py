"""Using ember from several Python threads at once: graphs built and evaluated
concurrently give the same results as serially (eval is serialized internally and
releases the GIL while it computes)."""
import threading

import numpy as np

import ember.core as mx


def work(seed, out):
    rng = np.random.default_rng(seed)
    x = mx.array(rng.standard_normal((64, 64)).astype(np.float32))
    for _ in range(20):
        x = mx.tanh(x @ x.T / 64.0) + 0.1
    g = mx.grad(lambda w: mx.sum(mx.sin(w) * w))(x)
    mx.eval(x, g)
    out[seed] = (np.asarray(x), np.asarray(g))


def test_concurrent_threads_match_serial():
    serial = {}
    for s in range(4):
        work(s, serial)
    parallel = {}
    threads = [threading.Thread(target=work, args=(s, parallel)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in range(4):
        np.testing.assert_allclose(parallel[s][0], serial[s][0], rtol=1e-6)
        np.testing.assert_allclose(parallel[s][1], serial[s][1], rtol=1e-6)
