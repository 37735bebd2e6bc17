"""Elementwise ops side by side: add, mul, exp, tanh, sigmoid on 1e3, 1e5 and 1e7 float32
elements, and a broadcast add (4096, 4096) + (4096,), in ember, numpy, torch, jax (jit) and
mlx. Reports ember's time and GB/s (bytes read + written), and each peer's time with the
ratio ember / peer (below 1: ember is faster). A numpy copy of 1e7 float32 is the memory
bandwidth reference.

    python bench/bench_elementwise.py [--quick]
"""
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import script_main, NA, fmt_num, fmt_ratio, fmt_time, peers, table, try_time, timeit  # noqa: E402

SIZES = (1_000, 100_000, 10_000_000)
UNARY = ("exp", "tanh", "sigmoid")
BINARY = ("add", "mul")


def copy_bandwidth(n=10_000_000):
    """GB/s of np.copyto between two preallocated float32 arrays (read + write)."""
    src = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    dst = np.empty_like(src)
    t = timeit(lambda: np.copyto(dst, src), repeat=9)
    return 2 * src.nbytes / t / 1e9


def inputs(op, n, rng):
    if op in BINARY:
        return [rng.standard_normal(n).astype(np.float32) for _ in range(2)]
    return [rng.uniform(-4, 4, n).astype(np.float32)]


def measure(op, shapes_args):
    """{peer: seconds or None} for op on numpy inputs shapes_args."""
    out = {}
    for p in peers():
        f = p.fn(op)
        if f is None:
            out[p.name] = None
            continue
        try:
            args = [p.put(a) for a in shapes_args]
        except Exception:
            out[p.name] = None
            continue
        t, err = try_time(lambda: p.runner(f, *args))
        out[p.name] = t
        if err and p.name == "ember":
            print(f"  ember {op}: {err}", file=sys.stderr)
    return out


def run(quick=False):
    rng = np.random.default_rng(0)
    names = [p.name for p in peers()]
    others = [n for n in names if n != "ember"]
    rows, summary = [], {}
    sizes = SIZES[:2] + ((1_000_000,) if quick else SIZES[2:])
    cases = [(op, n) for n in sizes for op in BINARY + UNARY]
    cases.append(("add", (4096, 4096)))
    for op, n in cases:
        if isinstance(n, tuple):
            args = [rng.standard_normal(n).astype(np.float32),
                    rng.standard_normal(n[-1]).astype(np.float32)]
            label, count = "add bcast", n[0] * n[1]
            nbytes = 4 * (2 * count + n[-1])
            size_label = "4096x4096 + 4096"
        else:
            args = inputs(op, n, rng)
            label, count = op, n
            nbytes = 4 * n * (len(args) + 1)
            size_label = f"{n:.0e}".replace("+0", "")
        res = measure(op, args)
        te = res.get("ember")
        gbs = None if te is None else nbytes / te / 1e9
        row = [label, size_label, fmt_time(te), fmt_num(gbs)]
        for o in others:
            to = res.get(o)
            row.append(NA if to is None else f"{fmt_time(to)} ({fmt_ratio(te, to)})")
        rows.append(row)
        summary[(label, size_label)] = {"gbs": gbs, **res}
    copy = copy_bandwidth()
    summary["copy_gbs"] = copy
    md = table(["op", "elements", "ember", "ember GB/s"] + [f"{o} (ember/{o})" for o in others],
               rows)
    md += (f"\n\nMemory bandwidth reference: numpy copy of 1e7 float32 = {copy:.1f} GB/s "
           "(read + write). GB/s counts bytes read + written once. "
           "(x) = ember time / peer time, below 1 means ember is faster.")
    return md, summary


if __name__ == "__main__":
    script_main(run)
