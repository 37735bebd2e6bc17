"""The CUDA backend against PyTorch and JAX on one GPU, side by side in one process.

    python bench/bench_cuda.py [--quick] [--out results.md]

Rows are the CUDA issue's targets: an elementwise chain on 2^27 float32 (eager and compiled),
8192^3 matmuls (fp32, tf32, bf16), sums over each axis of 8192^2, value_and_grad on 2^24, an MLP
SGD step, per-sample gradients, a third derivative, and the per-op cost of a 100-op eager
chain on 16 elements. Every framework computes the same function on the same data; each time
is the median of 5 repeats of a loop that lasts >= 50 ms (after warm-up and, for jit and
compile, the first call), synchronized with the framework's own wait (mx.eval,
torch.cuda.synchronize, block_until_ready). TF32 is off unless the row says so.
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np

import ember.core as mx
import ember.nn as enn
import ember.optimizers as eopt


def gpu_time(fn, repeat=5, min_time=0.05, max_number=10_000):
    fn()
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


def us(t):
    return "n/a" if t is None else (f"{t * 1e6:.1f} µs" if t < 1e-3 else f"{t * 1e3:.2f} ms")


def attempt(label, make):
    try:
        fn = make()
        return gpu_time(fn)
    except Exception as e:  # a framework missing here, or failing on the row
        print(f"  [{label}] {type(e).__name__}: {str(e)[:160]}", file=sys.stderr)
        return None


def peers():
    torch = jax = jnp = None
    try:
        import torch as _t
        if _t.cuda.is_available():
            torch = _t
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
    except ImportError:
        pass
    try:
        import jax as _j
        import jax.numpy as _jnp
        if any(d.platform == "gpu" for d in _j.devices()):
            jax, jnp = _j, _jnp
            # JAX computes float32 products in TF32 on recent GPUs by default; the rows are
            # FP32 unless they say otherwise, as ember's and torch's defaults are.
            jax.config.update("jax_default_matmul_precision", "highest")
    except Exception:
        pass
    return torch, jax, jnp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--device", default="gpu", help="gpu, or cpu to check this script anywhere")
    args = ap.parse_args()
    torch, jax, jnp = peers()
    mx.set_default_device(getattr(mx, args.device))
    rng = np.random.default_rng(0)
    dev = mx.device_info(getattr(mx, args.device)).get("device_name", "?")

    def table(rows):
        md = [f"GPU: {dev}; torch {getattr(torch, '__version__', 'n/a')}, "
              f"jax {getattr(jax, '__version__', 'n/a')}", "",
              "| workload | ember | peers |", "|---|---|---|"]
        return "\n".join(md + [f"| {a} | {b} | {c} |" for a, b, c in rows])

    class Rows(list):
        # The table so far is written after each row, so a run cut short keeps its figures.
        def append(self, row):
            super().append(row)
            print("  " + " | ".join(row), flush=True)
            if args.out:
                with open(args.out, "w") as fh:
                    fh.write(table(self) + "\n")

    rows = Rows()

    def tsync(f):
        def g():
            f()
            torch.cuda.synchronize()
        return g

    def jsync(f):
        return lambda: jax.block_until_ready(f())

    # ---- 1. sin(x)*2 + exp(-x), 2^27 float32 ----
    n = 1 << (24 if args.quick else 27)
    xn = rng.standard_normal(n).astype(np.float32)
    x = mx.array(xn)
    mx.eval(x)
    f = lambda m, v: m.sin(v) * 2 + m.exp(-v)
    te = attempt("ember eager", lambda: lambda: mx.eval(f(mx, x)))
    cf = mx.compile(lambda v: f(mx, v))
    tc = attempt("ember compiled", lambda: lambda: mx.eval(cf(x)))
    tt = tj = ttc = None
    if torch:
        xt = torch.from_numpy(xn).cuda()
        tt = attempt("torch eager", lambda: tsync(lambda: f(torch, xt)))
        try:
            tcomp = torch.compile(lambda v: f(torch, v))
            ttc = attempt("torch compile", lambda: tsync(lambda: tcomp(xt)))
        except Exception as e:
            print("  torch.compile:", e, file=sys.stderr)
    if jax:
        xj = jnp.asarray(xn)
        jf = jax.jit(lambda v: f(jnp, v))
        tj = attempt("jax", lambda: jsync(lambda: jf(xj)))
    gbs = lambda t: "" if t is None else f" ({8 * n / t / 1e12:.2f} TB/s)"
    # The machine's anchor: a device-to-device copy of the same bytes.
    tcopy = attempt("torch clone", lambda: tsync(lambda: xt.clone())) if torch else None
    rows.append((f"sin(x)*2+exp(-x), 2^{n.bit_length() - 1} f32", f"eager {us(te)}; compiled {us(tc)}{gbs(tc)}",
                 f"torch eager {us(tt)}; torch.compile {us(ttc)}{gbs(ttc)}; JAX-jit {us(tj)}{gbs(tj)}; "
                 f"copy (torch clone) {us(tcopy)}{gbs(tcopy)}"))
    del x

    # ---- 2. matmul 8192 ----
    m = 4096 if args.quick else 8192
    an = rng.standard_normal((m, m)).astype(np.float32)
    bn = rng.standard_normal((m, m)).astype(np.float32)
    for mode in ["fp32", "tf32", "bf16"]:
        os.environ["EMBER_CUDA_TF32"] = "1" if mode == "tf32" else "0"
        dt = mx.bfloat16 if mode == "bf16" else mx.float32
        a, b = mx.array(an).astype(dt), mx.array(bn).astype(dt)
        mx.eval(a, b)
        t_e = attempt(f"ember matmul {mode}", lambda: lambda: mx.eval(a @ b))
        t_t = None
        if torch:
            torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
            tdt = torch.bfloat16 if mode == "bf16" else torch.float32
            at, bt = torch.from_numpy(an).cuda().to(tdt), torch.from_numpy(bn).cuda().to(tdt)
            t_t = attempt(f"torch matmul {mode}", lambda: tsync(lambda: at @ bt))
            torch.backends.cuda.matmul.allow_tf32 = False
        tf = lambda t: "" if t is None else f" ({2 * m ** 3 / t / 1e12:.0f} TFLOP/s)"
        rows.append((f"matmul {m} {mode}", f"{us(t_e)}{tf(t_e)}", f"torch {us(t_t)}{tf(t_t)}"))
        del a, b
    os.environ["EMBER_CUDA_TF32"] = "0"

    # ---- 3. sums of 8192^2 ----
    sn = rng.standard_normal((m, m)).astype(np.float32)
    s = mx.array(sn)
    mx.eval(s)
    for axis in (0, 1):
        t_e = attempt(f"ember sum {axis}", lambda: lambda: mx.eval(mx.sum(s, axis=axis)))
        t_j = t_t = None
        if jax:
            sj = jnp.asarray(sn)
            jsum = jax.jit(lambda v: jnp.sum(v, axis=axis))
            t_j = attempt("jax sum", lambda: jsync(lambda: jsum(sj)))
        if torch:
            st = torch.from_numpy(sn).cuda()
            t_t = attempt("torch sum", lambda: tsync(lambda: st.sum(dim=axis)))
        rows.append((f"sum over axis {axis} of {m}^2 f32", us(t_e), f"JAX-jit {us(t_j)}; torch {us(t_t)}"))
    del s

    # ---- 4. value_and_grad on 2^24 ----
    n = 1 << 24
    vn = rng.standard_normal(n).astype(np.float32)
    v = mx.array(vn)
    mx.eval(v)
    loss = lambda m, z: m.sum(m.sin(z) * z)
    vg = mx.value_and_grad(lambda z: loss(mx, z))
    cvg = mx.compile(vg)
    t_e = attempt("ember vg", lambda: lambda: mx.eval(vg(v)))
    t_c = attempt("ember vg compiled", lambda: lambda: mx.eval(cvg(v)))
    t_t = t_j = None
    if torch:
        vt = torch.from_numpy(vn).cuda()

        def tvg():
            z = vt.detach().requires_grad_(True)
            l = (torch.sin(z) * z).sum()
            l.backward()
            return l, z.grad
        t_t = attempt("torch vg", lambda: tsync(tvg))
    if jax:
        vj = jnp.asarray(vn)
        jvg = jax.jit(jax.value_and_grad(lambda z: loss(jnp, z)))
        t_j = attempt("jax vg", lambda: jsync(lambda: jvg(vj)))
    rows.append(("value_and_grad of sum(sin(x)*x), 2^24", f"eager {us(t_e)}; compiled {us(t_c)}",
                 f"torch eager {us(t_t)}; JAX-jit {us(t_j)}"))

    # ---- 5. MLP 784-512-10 SGD step, batch 8192 ----
    B = 8192
    xb = rng.standard_normal((B, 784)).astype(np.float32)
    yb = rng.integers(0, 10, B).astype(np.int32)

    class MLP(enn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2 = enn.Linear(784, 512), enn.Linear(512, 10)

        def __call__(self, z):
            return self.l2(mx.maximum(self.l1(z), 0.0))

    model = MLP()
    opt = eopt.SGD(learning_rate=0.01)
    X, Y = mx.array(xb), mx.array(yb)
    lossf = lambda mdl, a, b: enn.losses.cross_entropy(mdl(a), b, reduction="mean")
    lg = enn.value_and_grad(model, lossf)

    def step():
        l, g = lg(model, X, Y)
        opt.update(model, g)
        return l

    t_e = attempt("ember mlp", lambda: lambda: mx.eval(step(), model.parameters()))
    cmodel, copt = MLP(), eopt.SGD(learning_rate=0.01)
    clg = enn.value_and_grad(cmodel, lossf)
    state = [cmodel.state, copt.state]

    def cstep_fn(a, b):
        l, g = clg(cmodel, a, b)
        copt.update(cmodel, g)
        return l
    cstep = mx.compile(cstep_fn, inputs=state, outputs=state)
    t_c = attempt("ember mlp compiled", lambda: lambda: mx.eval(cstep(X, Y), state))
    t_t = t_j = None
    if torch:
        tm = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)).cuda()
        topt = torch.optim.SGD(tm.parameters(), lr=0.01)
        xt, yt = torch.from_numpy(xb).cuda(), torch.from_numpy(yb).long().cuda()

        def tstep():
            topt.zero_grad(set_to_none=True)
            l = torch.nn.functional.cross_entropy(tm(xt), yt)
            l.backward()
            topt.step()
        t_t = attempt("torch mlp", lambda: tsync(tstep))
    if jax:
        k1, k2 = jax.random.split(jax.random.PRNGKey(0))
        params = {"w1": jax.random.normal(k1, (784, 512)) * 0.03, "b1": jnp.zeros(512),
                  "w2": jax.random.normal(k2, (512, 10)) * 0.03, "b2": jnp.zeros(10)}
        xj, yj = jnp.asarray(xb), jnp.asarray(yb)

        def jloss(p, a, b):
            h = jnp.maximum(a @ p["w1"] + p["b1"], 0)
            lo = h @ p["w2"] + p["b2"]
            return -jnp.mean(jax.nn.log_softmax(lo)[jnp.arange(lo.shape[0]), b])

        def jstep_raw(p, a, b):
            l, g = jax.value_and_grad(jloss)(p, a, b)
            return l, jax.tree_util.tree_map(lambda w, d: w - 0.01 * d, p, g)
        def stepping(jitted, held):
            # One SGD step per call on the parameters in `held` (updated in place).
            def run():
                l, held[0] = jitted(held[0], xj, yj)
                return l
            return run
        holder = [params]
        t_j = attempt("jax mlp", lambda: jsync(stepping(jax.jit(jstep_raw), holder)))
    rows.append(("MLP 784-512-10 SGD step, batch 8192", f"eager {us(t_e)}; compiled {us(t_c)}",
                 f"torch eager {us(t_t)}; JAX-jit {us(t_j)}"))
    # The same with TF32 products (JAX's default on this GPU).
    os.environ["EMBER_CUDA_TF32"] = "1"
    t_e = attempt("ember mlp tf32", lambda: lambda: mx.eval(step(), model.parameters()))
    t_c = attempt("ember mlp compiled tf32", lambda: lambda: mx.eval(cstep(X, Y), state))
    os.environ["EMBER_CUDA_TF32"] = "0"
    t_t = t_j = None
    if torch:
        torch.backends.cuda.matmul.allow_tf32 = True
        t_t = attempt("torch mlp tf32", lambda: tsync(tstep))
        torch.backends.cuda.matmul.allow_tf32 = False
    if jax:
        with jax.default_matmul_precision("tensorfloat32"):
            t_j = attempt("jax mlp tf32", lambda: jsync(stepping(jax.jit(jstep_raw), [holder[0]])))
    rows.append(("MLP 784-512-10 SGD step, batch 8192, TF32", f"eager {us(t_e)}; compiled {us(t_c)}",
                 f"torch eager {us(t_t)}; JAX-jit {us(t_j)}"))

    # ---- 6. per-sample gradients of the MLP's loss, batch 1024 ----
    B = 1024
    xs, ys = mx.array(xb[:B]), mx.array(yb[:B])
    params = model.trainable_parameters()

    def ploss(p, a, b):
        h = mx.maximum(a @ p["l1"]["weight"].T + p["l1"]["bias"], 0.0)
        lo = h @ p["l2"]["weight"].T + p["l2"]["bias"]
        return enn.losses.cross_entropy(lo, b)
    ps = mx.vmap(mx.grad(ploss), in_axes=(None, 0, 0))
    t_e = attempt("ember per-sample", lambda: lambda: mx.eval(ps(params, xs, ys)))
    cps = mx.compile(ps)
    t_c = attempt("ember per-sample compiled", lambda: lambda: mx.eval(cps(params, xs, ys)))
    t_j = None
    if jax:
        jps = jax.jit(jax.vmap(jax.grad(lambda p, a, b: jloss(p, a[None], b[None])), in_axes=(None, 0, 0)))
        t_j = attempt("jax per-sample", lambda: jsync(lambda: jps(holder[0], xj[:B], yj[:B])))
    rows.append(("per-sample grads, MLP, batch 1024", f"eager {us(t_e)}; compiled {us(t_c)}", f"JAX-jit {us(t_j)}"))

    # ---- 7. third derivative of sin on 2^24 ----
    g1 = mx.grad(lambda z: mx.sum(mx.sin(z)))
    g2 = mx.grad(lambda z: mx.sum(g1(z)))
    g3 = mx.grad(lambda z: mx.sum(g2(z)))
    cg3 = mx.compile(g3)
    t_e = attempt("ember grad3", lambda: lambda: mx.eval(g3(v)))
    t_c = attempt("ember grad3 compiled", lambda: lambda: mx.eval(cg3(v)))
    t_j = None
    if jax:
        j1 = jax.grad(lambda z: jnp.sum(jnp.sin(z)))
        j2 = jax.grad(lambda z: jnp.sum(j1(z)))
        j3 = jax.jit(jax.grad(lambda z: jnp.sum(j2(z))))
        vj = jnp.asarray(vn)
        t_j = attempt("jax grad3", lambda: jsync(lambda: j3(vj)))
    rows.append(("grad(grad(grad(sum sin))), 2^24", f"eager {us(t_e)}; compiled {us(t_c)}", f"JAX-jit {us(t_j)}"))

    # ---- 8. 100-op eager chain on 16 elements, per op ----
    def chain(m, z):
        for _ in range(25):
            z = z * 0.5
            z = z + 1.0
            z = m.tanh(z)
            z = z - 0.25
        return z
    c16 = mx.array(rng.standard_normal(16).astype(np.float32))
    t_e = attempt("ember chain", lambda: lambda: mx.eval(chain(mx, c16)))
    t_t = None
    if torch:
        c16t = torch.from_numpy(np.array(c16)).cuda()
        t_t = attempt("torch chain", lambda: tsync(lambda: chain(torch, c16t)))
    per = lambda t: "n/a" if t is None else f"{t / 100 * 1e6:.2f} µs/op"
    rows.append(("100-op eager chain, 16 elements", per(t_e), f"torch eager {per(t_t)}"))

    print(table(rows))


if __name__ == "__main__":
    main()
