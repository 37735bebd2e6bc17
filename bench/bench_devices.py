"""The engine's scheduling costs: (1) how long async_eval of a ~50 ms CPU graph takes to
return, against the time to compute it; (2) eval of two independent graphs from two threads
at once, against one graph alone and the two one after the other; (3) graph build + eval cost
per node of `x = x + 1` chains from 1,000 to 1,000,000 nodes, beside numpy's eager loop.

    python bench/bench_devices.py [--quick]
"""
import statistics
import sys
import threading
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import script_main, settle, table  # noqa: E402

import ember.core as mx  # noqa: E402


def _median(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _heavy_graph(n=512, steps=12):
    """About 50 ms of single-threaded-sized work per eval on this machine: n x n matmuls."""
    x = mx.random.normal((n, n), key=mx.random.key(0))
    mx.eval(x)

    def build():
        y = x
        for _ in range(steps):
            y = mx.tanh(y @ x * 0.01)
        return y

    return build


def async_rows():
    build = _heavy_graph()
    compute = _median(lambda: mx.eval(build()))
    ret = []
    for _ in range(5):
        y = build()
        t = time.perf_counter()
        mx.async_eval(y)
        ret.append(time.perf_counter() - t)
        mx.synchronize()
    return compute, statistics.median(ret)


def two_threads_rows():
    before = mx.get_num_threads()
    mx.set_num_threads(1)  # one kernel thread each: the two evals should overlap on 2 cores
    try:
        a, b = _heavy_graph(384, 10), _heavy_graph(384, 10)
        one = _median(lambda: mx.eval(a()))
        serial = _median(lambda: (mx.eval(a()), mx.eval(b())))

        def both():
            ts = [threading.Thread(target=lambda f=f: mx.eval(f())) for f in (a, b)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

        parallel = _median(both)
    finally:
        mx.set_num_threads(before)
    return one, serial, parallel


def chain_rows(sizes):
    rows = []
    for n in sizes:
        settle(0.1)

        def ember_chain():
            x = mx.array(np.float32(0.0))
            for _ in range(n):
                x = x + 1
            mx.eval(x)
            return x

        def numpy_chain():
            x = np.float32(0.0)
            one = np.float32(1)
            for _ in range(n):
                x = x + one
            return x

        reps = 3 if n >= 100_000 else 5
        assert float(ember_chain().item()) == float(n) or n > 1 << 24
        te = _median(ember_chain, reps) / n
        tn = _median(numpy_chain, reps) / n
        rows.append((n, te, tn))
    return rows


def run(quick=False):
    compute, returned = async_rows()
    one, serial, parallel = two_threads_rows()
    sizes = [1_000, 10_000, 100_000] + ([] if quick else [1_000_000])
    chains = chain_rows(sizes)
    md = ["## Scheduling (bench_devices.py)", ""]
    md.append(table(["", "time"], [
        ["eval of the graph (12 matmuls 512^2 + tanh)", f"{compute * 1e3:.1f} ms"],
        ["async_eval of the same graph returns after", f"{returned * 1e6:.0f} µs"],
        ["one graph, eval (1 kernel thread)", f"{one * 1e3:.1f} ms"],
        ["two graphs, one after the other", f"{serial * 1e3:.1f} ms"],
        ["two graphs, eval from two threads at once", f"{parallel * 1e3:.1f} ms"],
    ]))
    md.append("")
    md.append(table(["nodes", "ember build+eval per node", "numpy eager per op"],
                    [[f"{n:,}", f"{te * 1e6:.2f} µs", f"{tn * 1e6:.2f} µs"]
                     for n, te, tn in chains]))
    summary = {"async_return_us": returned * 1e6, "graph_ms": compute * 1e3,
               "two_threads_ratio": parallel / one,
               **{f"chain_{n}_us": te * 1e6 for n, te, _ in chains}}
    return "\n".join(md), summary


if __name__ == "__main__":
    script_main(run)
