"""Per-op overhead side by side: (1) one add of two 0-d arrays, evaluated; (2) building and
evaluating a chain of 100 elementwise ops on a 16-element float32 array. ember and mlx build
a lazy graph and evaluate it once; numpy and torch run each op eagerly; jax is timed both
eagerly (op by op dispatch) and with jit of the whole chain (compiled once).

    python bench/bench_dispatch.py
"""
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import script_main, NA, fmt_ratio, fmt_time, peers, table, try_time  # noqa: E402

CHAIN = 100


def chain(m, x):
    # add / multiply / tanh in turn, with Python scalars (weakly typed: float32 stays float32)
    for i in range(CHAIN // 4):
        x = x * 0.5
        x = x + 1.0
        x = m.tanh(x)
        x = x - 0.25
    return x


def cases(p):
    """(label, make-callable) pairs for a peer."""
    m = p.mod
    a0 = p.put(np.float32(1.5))
    b0 = p.put(np.float32(2.5))
    x = p.put(np.linspace(-1, 1, 16, dtype=np.float32))
    out = []
    if p.name in ("ember", "mlx"):
        ev = m.eval
        out.append(("add 0-d", lambda: (lambda: ev(a0 + b0))))
        out.append(("add 0-d, build only", lambda: (lambda: a0 + b0)))
        out.append((f"{CHAIN}-op chain", lambda: (lambda: ev(chain(m, x)))))
    elif p.name == "jax":
        jax = p.jax
        out.append(("add 0-d", lambda: (lambda: jax.block_until_ready(a0 + b0))))
        out.append((f"{CHAIN}-op chain", lambda: (lambda: jax.block_until_ready(chain(m, x)))))
        jc = jax.jit(lambda v: chain(m, v))
        out.append((f"{CHAIN}-op chain, jit", lambda: (lambda: jax.block_until_ready(jc(x)))))
    else:
        out.append(("add 0-d", lambda: (lambda: a0 + b0)))
        out.append((f"{CHAIN}-op chain", lambda: (lambda: chain(m, x))))
    return out


def run(quick=False):
    labels = ["add 0-d", "add 0-d, build only", f"{CHAIN}-op chain", f"{CHAIN}-op chain, jit"]
    res = {label: {} for label in labels}
    for p in peers():
        for label, make in cases(p):
            t, err = try_time(make, repeat=9)
            res[label][p.name] = t
            if err and p.name == "ember":
                print(f"  ember {label}: {err}", file=sys.stderr)
    names = [p.name for p in peers()]
    others = [n for n in names if n != "ember"]
    rows = []
    for label in labels:
        r = res[label]
        if not any(v is not None for v in r.values()):
            continue
        te = r.get("ember")
        row = [label, fmt_time(te)]
        for o in others:
            to = r.get(o)
            row.append(NA if to is None else f"{fmt_time(to)} ({fmt_ratio(te, to)})")
        rows.append(row)
    md = table(["case", "ember"] + [f"{o} (ember/{o})" for o in others], rows)
    md += ("\n\nThe chain: 100 ops (x*0.5, +1, tanh, -0.25, repeated) on 16 float32 values. "
           "Per-op cost = chain time / 100. (x) = ember time / peer time.")
    return md, res


if __name__ == "__main__":
    script_main(run)
