"""Prints the table of primitives and their transform-rule coverage, measured by
running every op-table row: which primitives the op builds, and whether eval, jvp,
vjp and vmap of that op succeed.

    python tools/rule_coverage.py            # markdown table on stdout

A primitive gets a check for a transform when at least one row whose graph contains it
passes that transform, and a cross when a row fails with that primitive named in the
"not implemented" error. Rows are checked for success only (values are the tests' job).
"""
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import ember.core as mx  # noqa: E402
from op_table import ALL_ROWS, default_make  # noqa: E402

MISSING = re.compile(r"Primitive's (\w+) not implemented\. \[primitive: (\w+)\]")


def main():
    status = {}  # primitive -> {transform: "ok" | "missing"}

    def mark(names, transform, value):
        for n in names:
            d = status.setdefault(n, {})
            if d.get(transform) != "missing" or value == "missing":
                if value == "missing" or transform not in d:
                    d[transform] = value

    for row in ALL_ROWS:
        shapes, kw = next(iter(row.cases()))
        dtype = "float32" if "float32" in row.dtypes else row.dtypes[0]
        make = row.make or default_make
        inputs = [mx.array(x) for x in make(np.random.default_rng(0), shapes, dtype)]
        out = row.ember(*inputs, **kw)
        names = set(mx._primitive_names([out]))
        mx.eval(out)
        mark(names, "eval", "ok")
        diff = [i for i, x in enumerate(inputs) if x.dtype in (mx.float32, mx.float64)]
        if row.grad_args is not None:
            diff = list(row.grad_args)

        def f(*xs):
            args = list(inputs)
            for i, x in zip(diff, xs):
                args[i] = x
            return row.ember(*args, **kw)

        checks = []
        if row.grad and diff:
            x = [inputs[i] for i in diff]
            checks += [("jvp", lambda: mx.jvp(f, x, [mx.ones_like(a) for a in x])),
                       ("vjp", lambda: mx.vjp(f, x, [mx.ones_like(out)]))]
        if row.vmap:
            batched = [mx.stack([a, a]) for a in inputs]
            checks.append(("vmap", lambda: mx.vmap(lambda *xs: row.ember(*xs, **kw))(*batched)))
        for transform, run in checks:
            try:
                mx.eval(run())
                mark(names, transform, "ok")
            except Exception as e:  # noqa: BLE001 - report, do not stop
                m = MISSING.search(str(e))
                if m:
                    mark([m.group(2)], m.group(1), "missing")
    sym = {"ok": "yes", "missing": "NO", None: "-"}
    print("| primitive | eval | jvp | vjp | vmap |")
    print("|---|---|---|---|---|")
    for name in sorted(status):
        d = status[name]
        print(f"| {name} | " + " | ".join(sym[d.get(t)] for t in ("eval", "jvp", "vjp", "vmap")) + " |")
    print(f"\n{len(status)} primitives reached by {len(ALL_ROWS)} op-table rows; "
          "'-' means no row exercised that transform for the primitive.")


if __name__ == "__main__":
    main()
