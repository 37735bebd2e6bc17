"""A CIFAR-style ResNet, in the style of MLX's cifar example: residual blocks of Conv2d +
BatchNorm with projection shortcuts, global average pooling, SGD with momentum and weight
decay on a cosine schedule, train / eval modes.

    python examples/python/resnet.py --steps 20

Data: random 32x32 RGB images whose class is the brightest colour channel (learnable,
so the loss falls).
"""
import argparse

import numpy as np

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim
from ember.utils import tree_flatten


class Block(nn.Module):
    def __init__(self, in_dims, dims, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_dims, dims, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm(dims)
        self.conv2 = nn.Conv2d(dims, dims, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm(dims)
        if stride != 1 or in_dims != dims:
            self.shortcut = nn.Sequential(nn.Conv2d(in_dims, dims, 1, stride=stride, bias=False), nn.BatchNorm(dims))
        else:
            self.shortcut = None

    def __call__(self, x):
        out = nn.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return nn.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    def __init__(self, num_blocks=(1, 1, 1), widths=(8, 16, 32), num_classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm(widths[0])
        layers, in_dims = [], widths[0]
        for i, (n, w) in enumerate(zip(num_blocks, widths)):
            for j in range(n):
                layers.append(Block(in_dims, w, stride=2 if (i > 0 and j == 0) else 1))
                in_dims = w
        self.layers = layers
        self.pool = nn.AvgPool2d(8)
        self.linear = nn.Linear(in_dims, num_classes)

    def num_params(self):
        return sum(x.size for _, x in tree_flatten(self.parameters()))

    def __call__(self, x):
        x = nn.relu(self.bn1(self.conv1(x)))
        for layer in self.layers:
            x = layer(x)
        x = self.pool(x)  # (N, 1, 1, C) after two stride-2 stages on 32x32
        return self.linear(mx.reshape(x, (x.shape[0], -1)))


def make_batch(n, rng):
    y = rng.integers(0, 3, n)
    x = rng.uniform(0, 0.6, (n, 32, 32, 3)).astype(np.float32)
    x[np.arange(n), :, :, y] += 0.4
    return mx.array(x), mx.array(y.astype(np.int32))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    mx.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = ResNet()
    mx.eval(model.parameters())
    print(f"ResNet with {model.num_params()} parameters")
    optimizer = optim.SGD(learning_rate=optim.cosine_decay(args.lr, args.steps), momentum=0.9, weight_decay=5e-4)

    def train_step(model, x, y):
        def loss_fn(model, x, y):
            return mx.mean(nn.losses.cross_entropy(model(x), y))

        loss, grads = nn.value_and_grad(model, loss_fn)(model, x, y)
        optimizer.update(model, grads)
        return loss

    losses = []
    model.train()
    for step in range(args.steps):
        x, y = make_batch(args.batch_size, rng)
        loss = train_step(model, x, y)
        mx.eval(loss, model.state, optimizer.state)
        losses.append(loss.item())
        print(f"step {step}: loss {losses[-1]:.3f}")
    model.eval()
    x, y = make_batch(64, rng)
    acc = mx.mean(mx.argmax(model(x), axis=1) == y).item()
    print(f"eval accuracy {acc:.3f}")
    return losses, acc


if __name__ == "__main__":
    main()
