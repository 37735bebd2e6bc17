"""A convolutional variational autoencoder, in the style of MLX's cvae example: Conv2d and
BatchNorm in the encoder, nn.Upsample + Conv2d (and a ConvTranspose2d) in the decoder, the
reparameterization trick with mx.random.normal, a reconstruction + KL loss, Adam.

    python examples/python/vae.py --steps 100

Data: 16x16 synthetic images (random bright rectangles on a dark background).
"""
import argparse

import numpy as np

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim
from ember.utils import tree_flatten


class Encoder(nn.Module):
    def __init__(self, latent_dims, channels=16):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, stride=2, padding=1)          # 16 -> 8
        self.conv2 = nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1)  # 8 -> 4
        self.bn1 = nn.BatchNorm(channels)
        self.bn2 = nn.BatchNorm(2 * channels)
        self.proj_mu = nn.Linear(2 * channels * 16, latent_dims)
        self.proj_log_var = nn.Linear(2 * channels * 16, latent_dims)

    def __call__(self, x):
        x = nn.leaky_relu(self.bn1(self.conv1(x)))
        x = nn.leaky_relu(self.bn2(self.conv2(x)))
        x = mx.flatten(x, 1)
        return self.proj_mu(x), self.proj_log_var(x)


class Decoder(nn.Module):
    def __init__(self, latent_dims, channels=16):
        super().__init__()
        self.channels = channels
        self.lin = nn.Linear(latent_dims, 2 * channels * 16)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv1 = nn.Conv2d(2 * channels, channels, 3, padding=1)             # 4 -> 8 (after up)
        self.bn1 = nn.BatchNorm(channels)
        self.deconv = nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1)    # 8 -> 16

    def __call__(self, z):
        x = mx.reshape(self.lin(z), (-1, 4, 4, 2 * self.channels))
        x = nn.leaky_relu(self.bn1(self.conv1(self.up(x))))
        return mx.sigmoid(self.deconv(x))


class CVAE(nn.Module):
    def __init__(self, latent_dims):
        super().__init__()
        self.encoder = Encoder(latent_dims)
        self.decoder = Decoder(latent_dims)

    def __call__(self, x):
        mu, log_var = self.encoder(x)
        sigma = mx.exp(log_var * 0.5)
        z = mu + sigma * mx.random.normal(mu.shape)
        return self.decoder(z), mu, log_var


def loss_fn(model, x):
    x_hat, mu, log_var = model(x)
    recon = nn.losses.binary_cross_entropy(x_hat, x, with_logits=False, reduction="sum")
    kl = -0.5 * mx.sum(1 + log_var - mu ** 2 - mx.exp(log_var))
    return (recon + kl) / x.shape[0]


def make_images(n, rng):
    imgs = np.full((n, 16, 16, 1), 0.05, np.float32)
    for i in range(n):
        r0, c0 = rng.integers(0, 10, 2)
        h, w = rng.integers(3, 7, 2)
        imgs[i, r0: r0 + h, c0: c0 + w, 0] = 0.95
    return imgs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--latent", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    mx.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data = make_images(512, rng)
    model = CVAE(args.latent)
    mx.eval(model.parameters())
    print(f"{sum(v.size for _, v in tree_flatten(model.trainable_parameters()))} trainable parameters")
    optimizer = optim.Adam(learning_rate=args.lr)
    loss_and_grad = nn.value_and_grad(model, loss_fn)
    losses = []
    for step in range(args.steps):
        idx = rng.integers(0, len(data), args.batch_size)
        x = mx.array(data[idx])
        loss, grads = loss_and_grad(model, x)
        optimizer.update(model, grads)
        mx.eval(loss, model.state, optimizer.state)  # the BatchNorm running statistics too
        losses.append(loss.item())
        if step % 20 == 0 or step == args.steps - 1:
            print(f"step {step}: loss {losses[-1]:.2f}")
    model.eval()
    x_hat, _, _ = model(mx.array(data[:8]))
    print(f"eval reconstruction error {mx.mean(mx.abs(x_hat - mx.array(data[:8]))).item():.3f}")
    return losses


if __name__ == "__main__":
    main()
