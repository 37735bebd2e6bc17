"""Transforms side by side: per-sample gradients with vmap(grad) against a Python loop
of grads, and one value_and_grad training step of an MLP, in ember, MLX, JAX (jit) and
PyTorch (torch.func) when they are installed. Same model, batch and dtype (float32).

    python bench/bench_transforms.py            # prints a markdown table
"""
import time

import numpy as np

D_IN, HIDDEN, D_OUT, BATCH = 64, 256, 10, 128


def timeit(fn, repeat=7, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def data():
    rng = np.random.default_rng(0)
    w1 = (rng.standard_normal((D_IN, HIDDEN)) / 8).astype(np.float32)
    w2 = (rng.standard_normal((HIDDEN, D_OUT)) / 16).astype(np.float32)
    x = rng.standard_normal((BATCH, D_IN)).astype(np.float32)
    y = rng.standard_normal((BATCH, D_OUT)).astype(np.float32)
    return w1, w2, x, y


def bench_mlx_like(mx, name):
    w1, w2, x, y = [mx.array(a) for a in data()]
    params = {"w1": w1, "w2": w2}

    def loss(p, x, y):
        h = mx.tanh(x @ p["w1"])
        return mx.mean(mx.square(h @ p["w2"] - y))

    vg = mx.value_and_grad(loss)
    per_sample = mx.vmap(mx.grad(loss), in_axes=(None, 0, 0))
    g = mx.grad(loss)
    res = {}
    res["step"] = timeit(lambda: mx.eval(vg(params, x, y)))
    res["vmap"] = timeit(lambda: mx.eval(per_sample(params, x, y)))
    res["loop"] = timeit(lambda: mx.eval([g(params, x[i], y[i]) for i in range(BATCH)]), repeat=3, warmup=1)
    return res


def bench_ember():
    import ember.core as mx

    return bench_mlx_like(mx, "ember")


def bench_mlx():
    import mlx.core as mx

    return bench_mlx_like(mx, "mlx")


def bench_jax():
    import jax
    import jax.numpy as jnp

    w1, w2, x, y = [jnp.asarray(a) for a in data()]
    params = {"w1": w1, "w2": w2}

    def loss(p, x, y):
        h = jnp.tanh(x @ p["w1"])
        return jnp.mean(jnp.square(h @ p["w2"] - y))

    vg = jax.jit(jax.value_and_grad(loss))
    per_sample = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    g = jax.jit(jax.grad(loss))
    res = {}
    res["step"] = timeit(lambda: jax.block_until_ready(vg(params, x, y)))
    res["vmap"] = timeit(lambda: jax.block_until_ready(per_sample(params, x, y)))
    res["loop"] = timeit(lambda: jax.block_until_ready([g(params, x[i], y[i]) for i in range(BATCH)]),
                         repeat=3, warmup=1)
    return res


def bench_torch():
    import torch
    from torch.func import grad, grad_and_value, vmap

    w1, w2, x, y = [torch.from_numpy(a) for a in data()]
    params = {"w1": w1, "w2": w2}

    def loss(p, x, y):
        h = torch.tanh(x @ p["w1"])
        return torch.mean(torch.square(h @ p["w2"] - y))

    vg = grad_and_value(loss)
    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))
    g = grad(loss)
    res = {}
    with torch.no_grad():
        res["step"] = timeit(lambda: vg(params, x, y))
        res["vmap"] = timeit(lambda: per_sample(params, x, y))
        res["loop"] = timeit(lambda: [g(params, x[i], y[i]) for i in range(BATCH)], repeat=3, warmup=1)
    return res


def bench_training_steps():
    """One full training step (forward, backward, Adam update, eval) of the same MLP."""
    res = {}
    w1, w2, x, y = data()
    try:
        import ember.core as mx
        import ember.nn as nn
        import ember.optimizers as optim

        res["ember"] = _mlx_like_step(mx, nn, optim, w1, w2, x, y)
    except ImportError:
        res["ember"] = None
    try:
        import mlx.core as mlx_core
        import mlx.nn as mlx_nn
        import mlx.optimizers as mlx_optim

        res["mlx"] = _mlx_like_step(mlx_core, mlx_nn, mlx_optim, w1, w2, x, y)
    except ImportError:
        res["mlx"] = None
    try:
        import torch

        model = torch.nn.Sequential(torch.nn.Linear(D_IN, HIDDEN, bias=False), torch.nn.Tanh(),
                                    torch.nn.Linear(HIDDEN, D_OUT, bias=False))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def step():
            opt.zero_grad()
            loss = torch.mean((model(xt) - yt) ** 2)
            loss.backward()
            opt.step()
            return loss.item()

        res["torch"] = timeit(step)
    except ImportError:
        res["torch"] = None
    return res


def _mlx_like_step(mx, nn, optim, w1, w2, x, y):
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(D_IN, HIDDEN, bias=False)
            self.l2 = nn.Linear(HIDDEN, D_OUT, bias=False)

        def __call__(self, x):
            return self.l2(mx.tanh(self.l1(x)))

    model = MLP()
    opt = optim.Adam(learning_rate=1e-3)
    xa, ya = mx.array(x), mx.array(y)
    vg = nn.value_and_grad(model, lambda m, x, y: mx.mean(mx.square(m(x) - y)))

    def step():
        loss, grads = vg(model, xa, ya)
        opt.update(model, grads)
        mx.eval(model.parameters(), opt.state, loss)

    return timeit(step)


def bench_elementwise_per_sample(n=1000, d=16):
    """vmap(grad) of a small elementwise function over n samples vs a loop: the case
    where the guide reports >200x."""
    rng = np.random.default_rng(1)
    xs, w = rng.standard_normal((n, d)).astype(np.float32), rng.standard_normal(d).astype(np.float32)
    import ember.core as mx

    f = lambda w, x: mx.sum(mx.sin(w * x) * mx.exp(-x * x))
    per = mx.vmap(mx.grad(f), in_axes=(None, 0))
    g = mx.grad(f)
    wa, xa = mx.array(w), mx.array(xs)
    t_vmap = timeit(lambda: mx.eval(per(wa, xa)))
    t_loop = timeit(lambda: mx.eval([g(wa, xa[i]) for i in range(n)]), repeat=3, warmup=1)
    return t_vmap, t_loop


def main():
    rows = []
    for name, fn in [("ember", bench_ember), ("mlx", bench_mlx), ("jax (jit)", bench_jax),
                     ("torch.func", bench_torch)]:
        try:
            rows.append((name, fn()))
        except ImportError:
            rows.append((name, None))
    print(f"MLP {D_IN}-{HIDDEN}-{D_OUT}, batch {BATCH}, float32; median times\n")
    print("| framework | value_and_grad step | vmap(grad) per-sample | loop of grads | vmap speedup over loop |")
    print("|---|---|---|---|---|")
    base = rows[0][1]
    for name, r in rows:
        if r is None:
            print(f"| {name} | not installed | | | |")
            continue
        rel = "" if name == "ember" else f" ({r['step'] / base['step']:.2f}x ember)"
        print(f"| {name} | {r['step'] * 1e3:.3f} ms{rel} | {r['vmap'] * 1e3:.3f} ms | {r['loop'] * 1e3:.1f} ms | "
              f"{r['loop'] / r['vmap']:.0f}x |")
    steps = bench_training_steps()
    print("\nOne training step (forward + backward + Adam update + eval), same MLP and batch:\n")
    print("| framework | step | relative to ember |")
    print("|---|---|---|")
    for name, t in steps.items():
        if t is None:
            print(f"| {name} | not installed | |")
        else:
            print(f"| {name} | {t * 1e3:.3f} ms | {t / steps['ember']:.2f}x |")
    tv, tl = bench_elementwise_per_sample()
    print(f"\nember per-sample grads of sum(sin(w*x) * exp(-x^2)), 1000 samples of 16: "
          f"vmap(grad) {tv * 1e3:.2f} ms, loop {tl * 1e3:.1f} ms -> {tl / tv:.0f}x")


if __name__ == "__main__":
    main()
