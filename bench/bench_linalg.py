"""mx.linalg against numpy.linalg (both LAPACK; ember's is scipy-openblas32's), float32:
inv, svd (values) and eigvalsh on one 512x512 matrix and on a batch of 64 matrices of
64x64. (x) = ember time / numpy time: below 1 means ember is faster.

    python bench/bench_linalg.py [--quick]
"""
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import script_main, fmt_ratio, fmt_time, table, try_time  # noqa: E402

CASES = [("512x512", (512, 512)), ("64 x 64x64", (64, 64, 64))]


def _ops(mx):
    return {
        "inv": (lambda x: mx.linalg.inv(x), np.linalg.inv),
        "svd (values)": (lambda x: mx.linalg.svd(x, compute_uv=False),
                         lambda x: np.linalg.svd(x, compute_uv=False)),
        "eigvalsh": (lambda x: mx.linalg.eigvalsh(x), np.linalg.eigvalsh),
    }


def run(quick=False):
    import ember.core as mx

    rng = np.random.default_rng(0)
    rows, summary = [], {}
    for label, shape in CASES[:1] if quick else CASES:
        n = shape[-1]
        m = rng.standard_normal(shape).astype(np.float32)
        x = (m @ np.swapaxes(m, -1, -2) / n + np.eye(n, dtype=np.float32)).astype(np.float32)
        xe = mx.array(x)
        mx.eval(xe)
        for name, (fe, fn) in _ops(mx).items():
            te, err = try_time(lambda: (lambda: mx.eval(fe(xe))), repeat=5, min_time=0.05)
            if err:
                print(f"  ember {name}: {err}", file=sys.stderr)
            tn, _ = try_time(lambda: (lambda: fn(x)), repeat=5, min_time=0.05)
            rows.append([name, label, fmt_time(te), f"{fmt_time(tn)} ({fmt_ratio(te, tn)})"])
            summary[f"{name} {label}"] = {"ember": te, "numpy": tn}
    md = table(["op", "shape", "ember", "numpy (ember/numpy)"], rows)
    return md, summary


if __name__ == "__main__":
    script_main(run)
