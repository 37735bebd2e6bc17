"""A RealNVP normalizing flow (Dinh et al. 2017) on 2-d data, in the style of MLX's
normalizing_flow example: affine coupling layers whose scale and shift come from small
nn.Sequential MLPs, a standard normal base distribution, training by maximum likelihood
with Adam, and sampling by running the flow backwards.

    python examples/python/normalizing_flow.py --steps 200

Data: two interleaved half circles ("moons") with noise.
"""
import argparse
import math

import numpy as np

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim


class MLP(nn.Module):
    def __init__(self, n_layers, d_in, d_hidden, d_out):
        super().__init__()
        dims = [d_in] + [d_hidden] * n_layers
        self.layers = [nn.Sequential(nn.Linear(a, b), nn.GELU()) for a, b in zip(dims[:-1], dims[1:])]
        self.out = nn.Linear(d_hidden, d_out)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.out(x)


class Normal:
    """The standard normal base distribution."""

    def __init__(self, dims):
        self.dims = dims

    def log_prob(self, x):
        return -0.5 * mx.sum(x ** 2, axis=-1) - 0.5 * self.dims * math.log(2 * math.pi)

    def sample(self, n):
        return mx.random.normal((n, self.dims))


class AffineCoupling(nn.Module):
    """y = x on the masked features; elsewhere y = x * exp(s) + t with (s, t) = net(x * mask)."""

    def __init__(self, mask, n_layers, d_hidden):
        super().__init__()
        self._mask = mx.array(mask)
        d = len(mask)
        self.net = MLP(n_layers, d, d_hidden, 2 * d)

    def _st(self, x):
        s, t = mx.split(self.net(x * self._mask), 2, axis=-1)
        inv = 1 - self._mask
        return mx.tanh(s) * inv, t * inv

    def forward_and_log_det(self, x):
        s, t = self._st(x)
        return x * mx.exp(s) + t, mx.sum(s, axis=-1)

    def inverse_and_log_det(self, y):
        s, t = self._st(y)  # the masked features are unchanged, so s, t are recomputable
        return (y - t) * mx.exp(-s), -mx.sum(s, axis=-1)


class RealNVP(nn.Module):
    def __init__(self, n_transforms, d_params, d_hidden, n_layers):
        super().__init__()
        masks = [np.array([i % 2, (i + 1) % 2], np.float32) for i in range(n_transforms)]
        self.transforms = [AffineCoupling(m, n_layers, d_hidden) for m in masks]
        self.base_dist = Normal(d_params)

    def log_prob(self, x):
        log_det = mx.zeros(x.shape[:-1])
        for t in reversed(self.transforms):  # data -> latent runs the couplings' inverses
            x, ld = t.inverse_and_log_det(x)
            log_det = log_det + ld
        return self.base_dist.log_prob(x) + log_det

    def sample(self, n):
        z = self.base_dist.sample(n)
        for t in self.transforms:
            z, _ = t.forward_and_log_det(z)
        return z


def moons(n, rng):
    a = rng.uniform(0, math.pi, n)
    upper = rng.uniform(size=n) < 0.5
    x = np.where(upper, np.cos(a), 1 - np.cos(a))
    y = np.where(upper, np.sin(a), 0.5 - np.sin(a))
    return (np.stack([x, y], 1) + rng.normal(0, 0.08, (n, 2))).astype(np.float32)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    mx.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = RealNVP(n_transforms=6, d_params=2, d_hidden=32, n_layers=2)
    mx.eval(model.parameters())

    def loss_fn(model, x):
        return -mx.mean(model.log_prob(x))

    loss_and_grad_fn = nn.value_and_grad(model, loss_fn)
    optimizer = optim.Adam(learning_rate=args.lr)
    losses = []
    for step in range(args.steps):
        x = mx.array(moons(args.batch_size, rng))
        loss, grads = loss_and_grad_fn(model, x)
        optimizer.update(model, grads)
        mx.eval(model.parameters(), optimizer.state)
        losses.append(loss.item())
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step}: negative log likelihood {losses[-1]:.3f}")
    samples = model.sample(500)
    print(f"samples: mean {np.asarray(mx.mean(samples, axis=0)).round(2)}, "
          f"std {np.asarray(mx.std(samples, axis=0)).round(2)}")
    return losses


if __name__ == "__main__":
    main()
