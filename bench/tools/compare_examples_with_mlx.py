"""Runs the models of examples/python/ under ember and under MLX (the same source, its
imports switched to mlx) from the same initial weights on the same batches, and prints
both loss curves and their largest difference: the programs give MLX's numbers.

    python bench/tools/compare_examples_with_mlx.py     # needs mlx installed
"""
import importlib.util
import os
import sys

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python")


def load(name, lib):
    src = open(os.path.join(HERE, f"{name}.py")).read()
    if lib == "mlx":
        src = src.replace("import ember.core as mx", "import mlx.core as mx").replace(
            "import ember.nn as nn", "import mlx.nn as nn").replace(
            "import ember.optimizers as optim", "import mlx.optimizers as optim").replace(
            "from ember.utils import", "from mlx.utils import")
    mod = type(sys)(f"{name}_{lib}")
    mod.__file__ = os.path.join(HERE, f"{name}.py")
    exec(compile(src, mod.__file__, "exec"), mod.__dict__)
    return mod


def copy_weights(src_model, dst_model, dst_mx):
    from mlx.utils import tree_flatten

    dst_model.load_weights([(k, dst_mx.array(np.asarray(v))) for k, v in tree_flatten(src_model.parameters())])


def run(mods, make_model, make_opt, loss_of, batches, steps, post=None):
    curves = {}
    models = {lib: make_model(m) for lib, m in mods.items()}
    copy_weights(models["mlx"], models["ember"], mods["ember"].mx)
    for lib, m in mods.items():
        model, mx, nn = models[lib], m.mx, m.nn
        if post:
            post(m, model)
        opt = make_opt(m)
        vg = nn.value_and_grad(model, lambda *a: loss_of(m, model, *a))
        losses = []
        for b in batches[:steps]:
            args = [mx.array(a) for a in b]
            loss, grads = vg(*args)
            opt.update(model, grads)
            mx.eval(loss, model.state, opt.state)
            losses.append(loss.item())
        curves[lib] = np.array(losses)
    return curves


def main():
    rng = np.random.default_rng(0)
    report = []

    # transformer LM: AdamW on a warmup + cosine schedule, gradient clipping
    mods = {lib: load("transformer_lm", lib) for lib in ("mlx", "ember")}
    ids, vocab = mods["ember"].load_text()
    starts = rng.integers(0, len(ids) - 33, (20, 8))
    batches = [(np.stack([ids[s: s + 32] for s in row]), np.stack([ids[s + 1: s + 33] for s in row])) for row in starts]

    def lm_opt(m):
        o = m.optim
        lr = o.join_schedules([o.linear_schedule(1e-5, 3e-3, 4), o.cosine_decay(3e-3, 16, 3e-4)], [4])
        return o.AdamW(learning_rate=lr, weight_decay=0.01)

    def lm_loss(m, model, x, y):
        return m.nn.losses.cross_entropy(model(x), y, reduction="mean")

    report.append(("transformer_lm (AdamW, schedule)", run(
        mods, lambda m: m.TransformerLM(len(vocab), 2, 32, 4), lm_opt, lm_loss, batches, 20)))

    # ResNet: Conv2d + BatchNorm (training mode), SGD with momentum and weight decay
    mods = {lib: load("resnet", lib) for lib in ("mlx", "ember")}
    batches = []
    for _ in range(8):
        y = rng.integers(0, 3, 8)
        x = rng.uniform(0, 0.6, (8, 32, 32, 3)).astype(np.float32)
        x[np.arange(8), :, :, y] += 0.4
        batches.append((x, y.astype(np.int32)))
    report.append(("resnet (SGD momentum, BatchNorm)", run(
        mods, lambda m: m.ResNet(), lambda m: m.optim.SGD(0.05, momentum=0.9, weight_decay=5e-4),
        lambda m, model, x, y: m.mx.mean(m.nn.losses.cross_entropy(model(x), y)), batches, 8)))

    # LoRA on the tiny Llama: frozen base, adapters trained with Adam
    mods = {lib: load("lora_llama", lib) for lib in ("mlx", "ember")}

    def lora_model(m):
        model = m.Llama(len(vocab))
        return model

    def add_lora(m, model):
        model.freeze()
        pairs = []
        for i, layer in enumerate(model.layers):
            for name in ("q_proj", "v_proj"):
                lora = m.LoRALinear.from_linear(getattr(layer.self_attn, name), 4)
                lora.lora_b = m.mx.array(np.full((4, lora.lora_b.shape[1]), 0.01, np.float32))
                lora.lora_a = m.mx.array(np.linspace(-0.1, 0.1, lora.lora_a.size, dtype=np.float32).reshape(lora.lora_a.shape))
                pairs.append((f"layers.{i}.self_attn.{name}", lora))
        model.update_modules(m.tree_unflatten(pairs))

    def lora_loss(m, model, x, y):
        logits, _ = model(x)
        return m.nn.losses.cross_entropy(logits, y, reduction="mean")

    batches = [(np.stack([ids[s: s + 16] for s in row[:4]]), np.stack([ids[s + 1: s + 17] for s in row[:4]])) for row in starts]
    report.append(("lora_llama (frozen base, Adam)", run(
        mods, lora_model, lambda m: m.optim.Adam(1e-2), lora_loss, batches, 12, post=add_lora)))

    # GCN (dropout off, so both runs are deterministic): a (loss, predictions) function
    mods = {lib: load("gcn", lib) for lib in ("mlx", "ember")}
    x, y, adj = (np.asarray(a) for a in mods["ember"].make_graph(120, 4, 8, rng))
    idx = np.arange(40)

    def gcn_loss(m, model, x, adj, y, idx):
        return m.forward_fn(model, x, adj, y, idx, 5e-3)[0]

    report.append(("gcn (Adam, L2 over tree_flatten)", run(
        mods, lambda m: m.GCN(8, 16, 4, dropout=0.0), lambda m: m.optim.Adam(1e-2), gcn_loss,
        [(x, adj, y, idx)] * 15, 15)))

    # RealNVP flow: maximum likelihood with Adam
    mods = {lib: load("normalizing_flow", lib) for lib in ("mlx", "ember")}
    batches = [(mods["ember"].moons(64, rng),) for _ in range(15)]
    report.append(("normalizing_flow (RealNVP, Adam)", run(
        mods, lambda m: m.RealNVP(4, 2, 16, 2), lambda m: m.optim.Adam(3e-3),
        lambda m, model, x: -m.mx.mean(model.log_prob(x)), batches, 15)))

    print("| program | steps | first loss (mlx / ember) | last loss (mlx / ember) | max abs difference |")
    print("|---|---|---|---|---|")
    for name, c in report:
        a, b = c["mlx"], c["ember"]
        print(f"| {name} | {len(a)} | {a[0]:.5f} / {b[0]:.5f} | {a[-1]:.5f} / {b[-1]:.5f} | {np.abs(a - b).max():.2e} |")


if __name__ == "__main__":
    main()
