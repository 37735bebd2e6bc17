"""Shared pieces of the side-by-side benchmarks: the timing helper, the peer frameworks
(ember, numpy, torch, jax-jit, mlx) behind one small interface, and markdown tables.

Every peer runs in the same process on the same inputs. A measurement is the median of
several repeats after warmup; each repeat runs the callable enough times to last a few
milliseconds, so timer resolution and one-off hiccups do not dominate small ops. Lazy
frameworks are forced with their own eval/sync (mx.eval, block_until_ready).
"""
import importlib
import os
import platform
import statistics
import sys
import time

import numpy as np

NA = "n/a"


def timeit(fn, repeat=7, warmup=2, min_time=0.01, max_number=100_000):
    """Median seconds per call of fn() over `repeat` repeats, after `warmup` calls.

    Each repeat loops fn() `number` times, `number` chosen once so that a repeat lasts at
    least `min_time` seconds.
    """
    for _ in range(warmup):
        fn()
    number = 1
    while True:
        t = time.perf_counter()
        for _ in range(number):
            fn()
        dt = time.perf_counter() - t
        if dt >= min_time or number >= max_number:
            break
        number = min(max_number, max(number * 2, int(number * min_time / max(dt, 1e-9)) + 1))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t) / number)
    return statistics.median(times)


def settle(seconds=0.3):
    """Lets the previous framework's spinning threads (OpenMP, OpenBLAS) go idle, so they do
    not steal a core from the next one: on a 2-core machine that skews results several-fold."""
    time.sleep(seconds)


def try_time(make, **kw):
    """timeit(make()) or None when the framework lacks the op (or raises on it)."""
    settle()
    try:
        fn = make()
        fn()
    except Exception as e:  # a missing op, "not implemented yet", an unsupported dtype
        return None, f"{type(e).__name__}: {str(e)[:80]}"
    return timeit(fn, **kw), None


# ---- peers ---------------------------------------------------------------------------------
# A peer turns numpy inputs into its arrays (`put`), and turns a function of its arrays into
# a zero-argument callable that computes and waits for the result (`runner`).


class Peer:
    name = "?"
    mod = None
    version = "?"

    def put(self, x):
        raise NotImplementedError

    def runner(self, f, *args):
        raise NotImplementedError

    def fn(self, op):
        """The peer's function for a benchmark op name, or None."""
        return OPS.get(op, {}).get(self.name, lambda m: None)(self.mod)


class Ember(Peer):
    name = "ember"

    def __init__(self):
        import ember
        import ember.core as mx
        self.mod = mx
        self.version = getattr(ember, "__version__", "dev")

    def put(self, x):
        a = self.mod.array(x)
        self.mod.eval(a)
        return a

    def runner(self, f, *args):
        ev = self.mod.eval
        return lambda: ev(f(*args))


class Mlx(Ember):
    name = "mlx"

    def __init__(self):
        import mlx.core as mx
        self.mod = mx
        self.version = mx.__version__
        mx.set_default_device(mx.cpu)


class Numpy(Peer):
    name = "numpy"

    def __init__(self):
        self.mod = np
        self.version = np.__version__

    def put(self, x):
        return np.array(x)

    def runner(self, f, *args):
        return lambda: f(*args)


class Torch(Peer):
    name = "torch"

    def __init__(self):
        import torch
        self.mod = torch
        self.version = torch.__version__
        self._nograd = torch.no_grad()
        self._nograd.__enter__()

    def put(self, x):
        return self.mod.from_numpy(np.array(x))

    def runner(self, f, *args):
        return lambda: f(*args)


class Jax(Peer):
    """jax with jit: the function is compiled once (in warmup), then each call dispatches
    the compiled executable and blocks until ready."""
    name = "jax"

    def __init__(self):
        import jax
        import jax.numpy as jnp
        self.jax = jax
        self.mod = jnp
        self.version = jax.__version__

    def put(self, x):
        return self.jax.device_put(np.array(x)).block_until_ready()

    def runner(self, f, *args):
        jf = self.jax.jit(f)
        return lambda: self.jax.block_until_ready(jf(*args))


def _load(cls):
    try:
        return cls()
    except Exception:  # not installed
        return None


_PEERS = None


def peers():
    """The frameworks that import, ember first."""
    global _PEERS
    if _PEERS is None:
        _PEERS = [p for p in (_load(c) for c in (Ember, Numpy, Torch, Jax, Mlx)) if p]
    return _PEERS


def _sigmoid_np(x):
    # numpy has no sigmoid: the usual composite, which is what a numpy user writes.
    return 1.0 / (1.0 + np.exp(-x))


# op name -> framework name -> (module -> function)
OPS = {
    "add": {k: (lambda m: m.add) for k in ("ember", "mlx", "numpy", "torch", "jax")},
    "mul": {"ember": lambda m: m.multiply, "mlx": lambda m: m.multiply,
            "numpy": lambda m: m.multiply, "torch": lambda m: m.mul, "jax": lambda m: m.multiply},
    "exp": {k: (lambda m: m.exp) for k in ("ember", "mlx", "numpy", "torch", "jax")},
    "tanh": {k: (lambda m: m.tanh) for k in ("ember", "mlx", "numpy", "torch", "jax")},
    "sigmoid": {"ember": lambda m: m.sigmoid, "mlx": lambda m: m.sigmoid,
                "numpy": lambda m: _sigmoid_np, "torch": lambda m: m.sigmoid,
                "jax": lambda m: __import__("jax").nn.sigmoid},
    "log": {k: (lambda m: m.log) for k in ("ember", "mlx", "numpy", "torch", "jax")},
    "sin": {k: (lambda m: m.sin) for k in ("ember", "mlx", "numpy", "torch", "jax")},
    "sum": {k: (lambda m: m.sum) for k in ("ember", "mlx", "numpy", "torch", "jax")},
    "matmul": {k: (lambda m: m.matmul) for k in ("ember", "mlx", "numpy", "torch", "jax")},
}


# ---- reporting -------------------------------------------------------------------------------


def fmt_time(t):
    if t is None:
        return NA
    if t < 1e-3:
        return f"{t * 1e6:.1f} µs"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def fmt_num(x, digits=1):
    return NA if x is None else f"{x:.{digits}f}"


def fmt_ratio(t_ember, t_peer):
    """ember time / peer time: below 1 means ember is faster."""
    if t_ember is None or t_peer is None:
        return NA
    return f"{t_ember / t_peer:.2f}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine_info():
    """One line about the CPU: model, cores, widest vector ISA."""
    model, flags = platform.processor() or "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("?", "", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else platform.machine()
    return f"{model}, {os.cpu_count()} cores, {isa}"


def free_cores(seconds=0.3):
    """How many cores a CPU-bound job really gets now: the time of one job over the time of
    two run at once, times 2 (2.0 = two idle cores; ~1.0 = the second core is taken)."""
    import subprocess
    code = f"import time\nt=time.perf_counter()\nwhile time.perf_counter()-t<{seconds}: pass\n" \
           "n=0\nt=time.perf_counter()\nwhile n<3_000_000: n+=1\nprint(time.perf_counter()-t)"
    run = lambda k: [subprocess.Popen([__import__("sys").executable, "-c", code],  # noqa: E731
                                      stdout=subprocess.PIPE, text=True) for _ in range(k)]
    one = float(run(1)[0].communicate()[0])
    two = max(float(p.communicate()[0]) for p in run(2))
    return round(2 * one / max(two, one), 2)


def versions():
    out = []
    for p in peers():
        out.append(f"{p.name} {p.version}")
    return ", ".join(out)


def ember_threads():
    try:
        import ember.core as mx
        return mx.get_num_threads()
    except Exception:
        return None


def import_optional(name):
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def script_main(run):
    """Command line of every bench script: prints its markdown table; with
    `--summary FILE` also writes the figures run_all.py collects; `--quick` for fewer sizes."""
    import json

    md, summary = run(quick="--quick" in sys.argv)
    print(md)
    if "--summary" in sys.argv:
        with open(sys.argv[sys.argv.index("--summary") + 1], "w") as f:
            json.dump({str(k): v for k, v in summary.items()}, f, default=str)
