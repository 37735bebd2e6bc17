"""An MLP on handwritten digits, written as MLX's MNIST example is (imports changed):
nn.value_and_grad, an optimizer's update, mx.eval of the parameters and optimizer state.

    python examples/python/mlp_digits.py --epochs 10

Data: scikit-learn's 8x8 digits (bundled with scikit-learn, no download).
"""
import argparse

import numpy as np

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim
from ember.utils import tree_flatten


class MLP(nn.Module):
    def __init__(self, num_layers, input_dim, hidden_dim, output_dim):
        super().__init__()
        dims = [input_dim] + [hidden_dim] * num_layers + [output_dim]
        self.layers = [nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])]

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = nn.relu(layer(x))
        return self.layers[-1](x)


def loss_fn(model, X, y):
    return nn.losses.cross_entropy(model(X), y, reduction="mean")


def eval_fn(model, X, y):
    return mx.mean(mx.argmax(model(X), axis=1) == y)


def batch_iterate(batch_size, X, y, rng):
    perm = mx.array(rng.permutation(y.size))
    for s in range(0, y.size, batch_size):
        ids = perm[s: s + batch_size]
        yield X[ids], y[ids]


def load_data(seed):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int32)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = len(x) // 5
    te, tr = perm[:n_test], perm[n_test:]
    return mx.array(x[tr]), mx.array(y[tr]), mx.array(x[te]), mx.array(y[te])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    mx.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_x, train_y, test_x, test_y = load_data(args.seed)
    model = MLP(2, train_x.shape[-1], 64, 10)
    mx.eval(model.parameters())
    print(f"{sum(v.size for _, v in tree_flatten(model.parameters()))} parameters")
    loss_and_grad_fn = nn.value_and_grad(model, lambda X, y: loss_fn(model, X, y))
    optimizer = optim.SGD(learning_rate=args.lr, momentum=0.9)
    losses, accs = [], []
    for e in range(args.epochs):
        total = 0.0
        for X, y in batch_iterate(args.batch_size, train_x, train_y, rng):
            loss, grads = loss_and_grad_fn(X, y)
            optimizer.update(model, grads)
            mx.eval(model.parameters(), optimizer.state)
            total += loss.item() * y.size
        losses.append(total / train_y.size)
        accs.append(eval_fn(model, test_x, test_y).item())
        print(f"Epoch {e}: train loss {losses[-1]:.3f}, test accuracy {accs[-1]:.3f}")
    return losses, accs


if __name__ == "__main__":
    main()
