"""mx.fft against numpy.fft (pocketfft), complex64: 1-D lengths 2^10 .. 2^20, a length
that is not a power of two, and a 1024x1024 fft2. (x) = ember time / numpy time; the
issue's target is below 2.

    python bench/bench_fft.py [--quick]
"""
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import script_main, fmt_ratio, fmt_time, table, try_time  # noqa: E402


def run(quick=False):
    import ember.core as mx

    rng = np.random.default_rng(0)
    cases = [("fft", (2 ** k,)) for k in ((10, 14, 20) if quick else (10, 12, 14, 16, 18, 20))]
    cases += [("fft", (10007,)), ("fft2", (1024, 1024))]
    rows, summary = [], {}
    for name, shape in cases:
        x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
        xe = mx.array(x)
        mx.eval(xe)
        fe, fn = getattr(mx.fft, name), getattr(np.fft, name)
        te, err = try_time(lambda: (lambda: mx.eval(fe(xe))), repeat=5, min_time=0.05)
        if err:
            print(f"  ember {name}: {err}", file=sys.stderr)
        tn, _ = try_time(lambda: (lambda: fn(x)), repeat=5, min_time=0.05)
        label = "x".join(map(str, shape))
        rows.append([name, label, fmt_time(te), f"{fmt_time(tn)} ({fmt_ratio(te, tn)})"])
        summary[f"{name} {label}"] = {"ember": te, "numpy": tn}
    return table(["op", "shape", "ember", "numpy (ember/numpy)"], rows), summary


if __name__ == "__main__":
    script_main(run)
