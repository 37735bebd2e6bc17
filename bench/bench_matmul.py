"""float32 matmul side by side: square n x n @ n x n for n = 256..2048, in ember, numpy,
torch, jax (jit) and mlx, plus the BLAS ember links (scipy-openblas32's sgemm called directly
through ctypes, no framework around it). Reports GFLOP/s (2 n^3 / time) and ratios
ember / peer of the times (below 1: ember faster).

    python bench/bench_matmul.py [--quick]
"""
import ctypes
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import (script_main, NA, fmt_num, fmt_ratio, fmt_time, peers, settle, table, timeit,  # noqa: E402
                    try_time)

SIZES = (256, 512, 1024, 2048)


def blas_sgemm():
    """A callable (a, b, c) -> c = a @ b through scipy-openblas32's cblas, or None."""
    try:
        import scipy_openblas32 as so
        import os
        lib_dir = so.get_lib_dir()
        name = next(f for f in os.listdir(lib_dir) if f.startswith("libscipy_openblas"))
        lib = ctypes.CDLL(os.path.join(lib_dir, name))
        fn = lib.scipy_cblas_sgemm
    except Exception:
        return None
    fp = ctypes.POINTER(ctypes.c_float)
    fn.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, fp, ctypes.c_int, fp, ctypes.c_int,
                                        ctypes.c_float, fp, ctypes.c_int]
    RowMajor, NoTrans = 101, 111

    def sgemm(a, b, c):
        m, k = a.shape
        n = b.shape[1]
        fn(RowMajor, NoTrans, NoTrans, m, n, k, 1.0, a.ctypes.data_as(fp), k,
           b.ctypes.data_as(fp), n, 0.0, c.ctypes.data_as(fp), n)
        return c
    return sgemm


def run(quick=False):
    rng = np.random.default_rng(0)
    names = [p.name for p in peers()]
    others = [n for n in names if n != "ember"]
    sgemm = blas_sgemm()
    rows, summary = [], {}
    for n in SIZES[:3] if quick else SIZES:
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        flops = 2.0 * n ** 3
        res = {}
        for p in peers():
            f = p.fn("matmul")
            ap, bp = p.put(a), p.put(b)
            t, err = try_time(lambda: p.runner(f, ap, bp), repeat=5)
            res[p.name] = t
            if err and p.name == "ember":
                print(f"  ember matmul {n}: {err}", file=sys.stderr)
        if sgemm is not None:
            c = np.empty((n, n), np.float32)
            settle()
            res["blas"] = timeit(lambda: sgemm(a, b, c), repeat=5)
        te = res.get("ember")
        gf = lambda t: None if t is None else flops / t / 1e9  # noqa: E731
        row = [f"{n}", fmt_time(te), fmt_num(gf(te))]
        for o in ["blas"] + others:
            to = res.get(o)
            row.append(NA if to is None else f"{fmt_num(gf(to))} ({fmt_ratio(te, to)})")
        rows.append(row)
        summary[n] = {"gflops": gf(te), **{k: gf(v) for k, v in res.items()}}
    md = table(["n", "ember", "ember GFLOP/s"] +
               [f"{o} GFLOP/s (ember/{o})" for o in ["openblas32 sgemm"] + others], rows)
    md += ("\n\n`openblas32 sgemm`: scipy-openblas32's cblas_sgemm, the BLAS ember calls, "
           "timed directly. (x) = ember time / peer time.")
    return md, summary


if __name__ == "__main__":
    script_main(run)
