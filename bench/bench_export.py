"""export_function / import_function side by side: ember and mlx on the same MLP.

    python bench/bench_export.py            # prints the markdown table

The function is the forward pass of a 784-512-512-10 MLP (ReLU), its parameters captured
(so they are stored in the file), exported for a batch of 32. Rows: the time to export (trace
and write), the file's size, the time to import (read and, for ember, check every node with
its op), one call of the imported function with its evaluation, and one eager call of the
original Python function for reference. Each time is the fastest of several repeats (the
machine is shared).
"""
import os
import sys
import tempfile
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(__file__))
from common import NA, fmt_time, script_main, settle, table  # noqa: E402
from common import timeit as _median_time  # noqa: E402

SIZES = (784, 512, 512, 10)
BATCH = 32


def timeit(fn, repeat=5, **kw):
    return min(_median_time(fn, repeat=1, warmup=2 if i == 0 else 0, **kw) for i in range(repeat))


def once(fn, repeat=5):
    """The fastest of a few single runs (exporting writes a file each time)."""
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return best


def measure(mx, folder):
    rng = np.random.default_rng(0)
    params = [(mx.array(rng.standard_normal((o, i)).astype(np.float32) * 0.05),
               mx.array(np.zeros(o, np.float32))) for i, o in zip(SIZES, SIZES[1:])]
    mx.eval(params)

    def forward(x):
        for k, (w, b) in enumerate(params):
            x = x @ w.T + b
            if k + 1 < len(params):
                x = mx.maximum(x, 0.0)
        return x

    x = mx.array(rng.standard_normal((BATCH, SIZES[0])).astype(np.float32))
    path = os.path.join(folder, "mlp.mlxfn")
    export = once(lambda: mx.export_function(path, forward, x))
    size = os.path.getsize(path)
    imp = once(lambda: mx.import_function(path))
    f = mx.import_function(path)
    ref = np.array(forward(x))
    np.testing.assert_allclose(np.array(f(x)[0]), ref, rtol=1e-4, atol=1e-4)
    settle()
    call = timeit(lambda: mx.eval(f(x)))
    settle()
    eager = timeit(lambda: mx.eval(forward(x)))
    return export, size, imp, call, eager


def run(quick=False):
    import ember.core as ember

    peers = [("ember", ember)]
    try:
        import mlx.core as mlx

        peers.append(("mlx", mlx))
    except ImportError:
        pass
    rows, summary = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for name, mx in peers:
            export, size, imp, call, eager = measure(mx, folder)
            summary[name] = {"export": export, "size": size, "import": imp, "call": call,
                             "eager": eager}
            rows.append([name, fmt_time(export), f"{size / 2**20:.2f} MiB", fmt_time(imp),
                         fmt_time(call), fmt_time(eager)])
    if len(peers) == 1:
        rows.append(["mlx", NA, NA, NA, NA, NA])
    md = table(["framework", "export", "file", "import", "imported call + eval", "eager call + eval"],
               rows)
    return md, summary


if __name__ == "__main__":
    script_main(run)
