"""all_sum of float32 buffers (1 MiB, 64 MiB) over 2 and 4 local processes, ember's ring
backend beside mlx's (the mlx CPU wheel, when a Python that has it is given). Each run starts
the processes with ember.launch (both frameworks read MLX_RANK / MLX_HOSTFILE); rank 0
reports the median time of one evaluated all_sum and the bus bandwidth 2 (n - 1) / n * bytes
/ time that a ring moves through each process.

    python bench/bench_distributed.py [--quick] [--mlx-python /path/to/python]
"""
import argparse
import os
import subprocess
import sys
import time

WORKER = r"""
import sys, time, statistics
import importlib
fw, nbytes, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mx = importlib.import_module("mlx.core" if fw == "mlx" else "ember.core")
g = mx.distributed.init(strict=True, backend="ring")
x = mx.ones((nbytes // 4,), dtype=mx.float32)
mx.eval(x)
for _ in range(2):
    mx.eval(mx.distributed.all_sum(x, group=g))
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    y = mx.distributed.all_sum(x, group=g)
    mx.eval(y)
    times.append(time.perf_counter() - t0)
assert float(y[0].item()) == g.size(), y[0].item()
if g.rank() == 0:
    print("RESULT", statistics.median(times))
"""


def run_one(python, fw, n, nbytes, reps, workdir):
    script = os.path.join(workdir, "bench_distributed_worker.py")
    with open(script, "w") as f:
        f.write(WORKER)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", EMBER_DISTRIBUTED_TIMEOUT="120")
    cmd = [sys.executable, "-c",
           "import sys; from ember.launch import launch; "
           f"sys.exit(launch({n}, sys.argv[1:], prefix=False, executable={python!r}))",
           script, fw, str(nbytes), str(reps)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            return float(line.split()[1]), None
    return None, (out.stderr.strip().splitlines() or ["failed"])[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--mlx-python", default=None,
                    help="a Python with the mlx package (its ring backend is compared)")
    a = ap.parse_args()
    import tempfile

    sizes = [1 << 20, 64 << 20]
    procs = [2] if a.quick else [2, 4]
    reps = 5 if a.quick else 10
    print(f"{'n':>2} {'size':>7} {'framework':>9} {'time':>10} {'bus GB/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in procs:
            for nbytes in sizes:
                for fw, py in (("ember", sys.executable), ("mlx", a.mlx_python)):
                    if py is None:
                        continue
                    t, err = run_one(py, fw, n, nbytes, reps, tmp)
                    label = f"{nbytes >> 20} MiB"
                    if t is None:
                        print(f"{n:>2} {label:>7} {fw:>9}   failed: {err}")
                        continue
                    bw = 2 * (n - 1) / n * nbytes / t / 1e9
                    print(f"{n:>2} {label:>7} {fw:>9} {t * 1e3:>8.2f}ms {bw:>9.2f}")


if __name__ == "__main__":
    main()
