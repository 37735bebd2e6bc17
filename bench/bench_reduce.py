"""Reductions side by side: sum of a (4096, 4096) float32 array over all elements, the last
axis and the first axis, in ember, numpy, torch, jax (jit) and mlx. Reports ember's time and
GB/s (bytes read), and each peer's time with the ratio ember / peer (below 1: ember faster).

    python bench/bench_reduce.py
"""
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import script_main, NA, fmt_num, fmt_ratio, fmt_time, peers, table, try_time  # noqa: E402

SHAPE = (4096, 4096)
AXES = (("all", None), ("last axis", -1), ("first axis", 0))


def _sum(p, axis):
    f = p.fn("sum")
    if f is None:
        return None
    if p.name == "torch":
        return (lambda x: f(x)) if axis is None else (lambda x: f(x, dim=axis))
    return (lambda x: f(x)) if axis is None else (lambda x: f(x, axis=axis))


def run(quick=False):
    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    names = [p.name for p in peers()]
    others = [n for n in names if n != "ember"]
    rows, summary = [], {}
    for label, axis in AXES:
        res = {}
        for p in peers():
            f = _sum(p, axis)
            if f is None:
                res[p.name] = None
                continue
            xp = p.put(x)
            t, err = try_time(lambda: p.runner(f, xp))
            res[p.name] = t
            if err and p.name == "ember":
                print(f"  ember sum {label}: {err}", file=sys.stderr)
        te = res.get("ember")
        gbs = None if te is None else x.nbytes / te / 1e9
        row = [f"sum {label}", "4096x4096", fmt_time(te), fmt_num(gbs)]
        for o in others:
            to = res.get(o)
            row.append(NA if to is None else f"{fmt_time(to)} ({fmt_ratio(te, to)})")
        rows.append(row)
        summary[label] = {"gbs": gbs, **res}
    md = table(["op", "shape", "ember", "ember GB/s"] + [f"{o} (ember/{o})" for o in others], rows)
    md += "\n\nGB/s counts the 64 MiB read. (x) = ember time / peer time."
    return md, summary


if __name__ == "__main__":
    script_main(run)
