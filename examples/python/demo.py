"""ember demo: train a classifier on scikit-learn's handwritten digits, then compute
per-sample gradients with vmap(grad(...)) and compare them with a Python loop.

    python examples/python/demo.py              # MLP
    python examples/python/demo.py --model cnn  # small CNN
    python examples/python/demo.py --plot curves.png
"""
import argparse
import sys
import time

import numpy as np

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim
from ember.utils import tree_flatten, tree_map


class MLP(nn.Module):
    def __init__(self, hidden=128, classes=10):
        super().__init__()
        self.layers = [nn.Linear(64, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, classes)]

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = mx.relu(layer(x))
        return self.layers[-1](x)


class CNN(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.fc = nn.Linear(32 * 4 * 4, classes)

    def __call__(self, x):
        x = mx.reshape(x, (-1, 8, 8, 1))
        x = mx.relu(self.conv1(x))
        x = mx.relu(self.conv2(x))
        return self.fc(mx.reshape(x, (x.shape[0], -1)))


def loss_fn(model, x, y):
    return mx.mean(nn.losses.cross_entropy(model(x), y))


def accuracy(model, x, y):
    return float(mx.mean(mx.argmax(model(x), axis=1) == y).item())


class Progress:
    """A one-line text progress bar (no dependency needed)."""

    def __init__(self, total, label):
        self.total, self.label, self.n, self.start = total, label, 0, time.perf_counter()

    def update(self, **info):
        self.n += 1
        width = 24
        filled = int(width * self.n / self.total)
        stats = " ".join(f"{k}={v:.4f}" for k, v in info.items())
        sys.stdout.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{self.n}/{self.total} {stats}")
        sys.stdout.flush()

    def close(self):
        sys.stdout.write(f"  ({time.perf_counter() - self.start:.2f}s)\n")
        return time.perf_counter() - self.start


def load_digits_split(seed):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = len(x) // 5
    test, train = perm[:n_test], perm[n_test:]
    return x[train], y[train], x[test], y[test]


def train(args):
    mx.random.seed(args.seed)
    xtr, ytr, xte, yte = load_digits_split(args.seed)
    model = CNN() if args.model == "cnn" else MLP()
    n_params = sum(p.size for _, p in tree_flatten(model.parameters()))
    print(f"model: {args.model}, {n_params} parameters; train {len(xtr)}, test {len(xte)} samples")
    optimizer = optim.Adam(learning_rate=args.lr)
    loss_and_grad = nn.value_and_grad(model, loss_fn)
    x_test, y_test = mx.array(xte), mx.array(yte)
    history = {"loss": [], "test_acc": []}
    rng = np.random.default_rng(args.seed)
    epoch_times = []
    for epoch in range(args.epochs):
        order = rng.permutation(len(xtr))
        steps = (len(xtr) + args.batch_size - 1) // args.batch_size
        bar = Progress(steps, f"epoch {epoch + 1:2d}/{args.epochs}")
        model.train()
        losses = []
        for s in range(steps):
            idx = order[s * args.batch_size:(s + 1) * args.batch_size]
            xb, yb = mx.array(xtr[idx]), mx.array(ytr[idx])
            loss, grads = loss_and_grad(model, xb, yb)
            optimizer.update(model, grads)
            mx.eval(model.parameters(), optimizer.state, loss)
            losses.append(loss.item())
            bar.update(loss=np.mean(losses[-10:]))
        model.eval()
        acc = accuracy(model, x_test, y_test)
        epoch_times.append(bar.close())
        history["loss"].append(float(np.mean(losses)))
        history["test_acc"].append(acc)
        print(f"           mean loss {np.mean(losses):.4f}  test accuracy {acc:.4f}")
    print(f"final test accuracy: {history['test_acc'][-1]:.4f}  "
          f"(time per epoch {np.mean(epoch_times):.2f}s)")
    return model, history, (xtr, ytr)


def per_sample_gradients(model, data, n=256):
    xtr, ytr = data
    x, y = mx.array(xtr[:n]), mx.array(ytr[:n])
    params = model.trainable_parameters()

    def single_loss(params, x, y):
        model.update(params)
        return mx.mean(nn.losses.cross_entropy(model(x[None]), y[None]))

    per_sample = mx.vmap(mx.grad(single_loss), in_axes=(None, 0, 0))
    mx.eval(per_sample(params, x[:2], y[:2]))  # warm up
    t0 = time.perf_counter()
    batched = per_sample(params, x, y)
    mx.eval(batched)
    t_vmap = time.perf_counter() - t0

    g = mx.grad(single_loss)
    t0 = time.perf_counter()
    looped = [g(params, x[i], y[i]) for i in range(n)]
    mx.eval(looped)
    t_loop = time.perf_counter() - t0
    model.update(params)

    worst = 0.0
    for i in range(8):
        a = tree_flatten(tree_map(lambda b: b[i], batched))
        b = tree_flatten(looped[i])
        worst = max(worst, max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)))) for (_, u), (_, v) in zip(a, b)))
    first = tree_flatten(batched)[0][1]
    print(f"per-sample gradients of {n} samples: vmap(grad) {t_vmap * 1e3:.1f} ms, "
          f"loop of grad {t_loop * 1e3:.1f} ms -> {t_loop / t_vmap:.1f}x faster; "
          f"max |difference| on 8 checked samples {worst:.2e}; first leaf shape {first.shape}")
    return t_loop / t_vmap, worst


def plot(history, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; skipping the plot")
        return
    fig, ax1 = plt.subplots(figsize=(6, 3.5))
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax1.plot(epochs, history["loss"], "o-", color="tab:blue", label="train loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax2 = ax1.twinx()
    ax2.plot(epochs, history["test_acc"], "s-", color="tab:orange", label="test accuracy")
    ax2.set_ylabel("accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--per-sample", type=int, default=256, help="samples for the per-sample gradient check")
    p.add_argument("--plot", default=None, help="write a loss/accuracy plot (PNG) here")
    args = p.parse_args(argv)
    model, history, data = train(args)
    speedup, worst = per_sample_gradients(model, data, args.per_sample)
    if args.plot:
        plot(history, args.plot)
    return history, speedup, worst


if __name__ == "__main__":
    main()
