"""A graph convolutional network (Kipf & Welling 2017) for node classification, in the
style of MLX's gcn example: layers computing adj @ (x @ W), dropout between them,
nn.value_and_grad of a function returning (loss, predictions), Adam, an L2 penalty over
tree_flatten(model.parameters()).

    python examples/python/gcn.py --epochs 50

Data: a synthetic stochastic-block graph (4 communities, dense inside, sparse between)
whose node features are noisy community indicators.
"""
import argparse

import numpy as np

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim
from ember.utils import tree_flatten


class GCNLayer(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias)

    def __call__(self, x, adj):
        return adj @ self.linear(x)


class GCN(nn.Module):
    def __init__(self, x_dim, h_dim, out_dim, nb_layers=2, dropout=0.5, bias=True):
        super().__init__()
        dims = [x_dim] + [h_dim] * (nb_layers - 1) + [out_dim]
        self.gcn_layers = [GCNLayer(a, b, bias) for a, b in zip(dims[:-1], dims[1:])]
        self.dropout = nn.Dropout(p=dropout)

    def __call__(self, x, adj):
        for layer in self.gcn_layers[:-1]:
            x = self.dropout(nn.relu(layer(x, adj)))
        return self.gcn_layers[-1](x, adj)


def make_graph(n, classes, features, rng):
    y = rng.integers(0, classes, n)
    same = y[:, None] == y[None, :]
    a = rng.uniform(size=(n, n)) < np.where(same, 0.15, 0.01)
    a = np.triu(a, 1)
    a = (a | a.T).astype(np.float32) + np.eye(n, dtype=np.float32)  # self loops
    d = 1 / np.sqrt(a.sum(1))
    adj = a * d[:, None] * d[None, :]  # D^-1/2 (A + I) D^-1/2
    x = (np.eye(classes)[y] + rng.normal(0, 1.5, (n, classes))).astype(np.float32)
    x = np.concatenate([x, rng.normal(0, 1, (n, features - classes)).astype(np.float32)], 1)
    return mx.array(x), mx.array(y.astype(np.int32)), mx.array(adj)


def loss_fn(y_hat, y, weight_decay=0.0, parameters=None):
    loss = mx.mean(nn.losses.cross_entropy(y_hat, y))
    if weight_decay != 0.0:
        l2 = mx.sqrt(sum(mx.sum(p ** 2) for _, p in tree_flatten(parameters)))
        loss = loss + weight_decay * l2
    return loss


def forward_fn(gcn, x, adj, y, train_idx, weight_decay):
    y_hat = gcn(x, adj)
    loss = loss_fn(y_hat[train_idx], y[train_idx], weight_decay, gcn.parameters())
    return loss, y_hat


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--nodes", type=int, default=200)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--weight-decay", type=float, default=5e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    mx.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x, y, adj = make_graph(args.nodes, 4, 8, rng)
    order = rng.permutation(args.nodes)
    train_idx, val_idx = mx.array(order[: args.nodes // 4]), mx.array(order[args.nodes // 4:])
    gcn = GCN(x.shape[-1], args.hidden, 4)
    mx.eval(gcn.parameters())
    optimizer = optim.Adam(learning_rate=args.lr)
    loss_and_grad_fn = nn.value_and_grad(gcn, forward_fn)
    losses, accs = [], []
    for epoch in range(args.epochs):
        (loss, y_hat), grads = loss_and_grad_fn(gcn, x, adj, y, train_idx, args.weight_decay)
        optimizer.update(gcn, grads)
        mx.eval(gcn.parameters(), optimizer.state)
        val_acc = mx.mean(mx.argmax(y_hat[val_idx], axis=1) == y[val_idx])
        losses.append(loss.item())
        accs.append(val_acc.item())
        if epoch % 10 == 0 or epoch == args.epochs - 1:
            print(f"Epoch {epoch:3d} | train loss {losses[-1]:.3f} | val acc {accs[-1]:.2f}")
    return losses, accs


if __name__ == "__main__":
    main()
