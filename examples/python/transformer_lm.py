"""A small character-level transformer language model, in the style of MLX's
transformer_lm example: nn.Embedding, nn.TransformerEncoder with an additive causal mask,
sinusoidal or rotary positions, AdamW with a warmup schedule and gradient clipping.

    python examples/python/transformer_lm.py --steps 200

Data: examples/python/data/tiny_text.txt (bundled).
"""
import argparse
import math
import os

import numpy as np

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim
from ember.utils import tree_flatten

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tiny_text.txt")


class TransformerLM(nn.Module):
    def __init__(self, vocab_size, num_layers, dims, num_heads, checkpoint=False):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dims)
        self.pe = nn.SinusoidalPositionalEncoding(dims)
        self.transformer = nn.TransformerEncoder(num_layers, dims, num_heads, norm_first=True,
                                                 checkpoint=checkpoint)
        self.out_proj = nn.Linear(dims, vocab_size)

    def __call__(self, x):
        L = x.shape[1]
        mask = nn.MultiHeadAttention.create_additive_causal_mask(L)
        x = self.embedding(x)
        x = x + self.pe(mx.arange(L))
        x = self.transformer(x, mask)
        return self.out_proj(x)


def load_text():
    with open(DATA) as f:
        text = f.read()
    vocab = sorted(set(text))
    ids = np.array([vocab.index(c) for c in text], np.int32)
    return ids, vocab


def batches(ids, batch_size, context, rng):
    while True:
        starts = rng.integers(0, len(ids) - context - 1, batch_size)
        x = np.stack([ids[s: s + context] for s in starts])
        y = np.stack([ids[s + 1: s + context + 1] for s in starts])
        yield mx.array(x), mx.array(y)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--context", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--dims", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    mx.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    ids, vocab = load_text()
    model = TransformerLM(len(vocab), args.layers, args.dims, args.heads)
    mx.eval(model.parameters())
    n = sum(x.size for _, x in tree_flatten(model.trainable_parameters()))
    print(f"vocabulary {len(vocab)}, {n} parameters")

    def loss_fn(model, x, y):
        logits = model(x)
        return nn.losses.cross_entropy(logits, y, reduction="mean")

    warmup = max(args.steps // 10, 1)
    lr = optim.join_schedules([optim.linear_schedule(1e-5, args.lr, warmup),
                               optim.cosine_decay(args.lr, max(args.steps - warmup, 1), args.lr / 10)], [warmup])
    optimizer = optim.AdamW(learning_rate=lr, weight_decay=0.01)
    loss_and_grad = nn.value_and_grad(model, loss_fn)
    losses = []
    data = batches(ids, args.batch_size, args.context, rng)
    for step in range(args.steps):
        x, y = next(data)
        loss, grads = loss_and_grad(model, x, y)
        grads, _ = optim.clip_grad_norm(grads, 1.0)
        optimizer.update(model, grads)
        mx.eval(loss, model.parameters(), optimizer.state)
        losses.append(loss.item())
        if step % 20 == 0 or step == args.steps - 1:
            print(f"step {step}: loss {losses[-1]:.3f}, ppl {math.exp(losses[-1]):.1f}, "
                  f"lr {optimizer.learning_rate.item():.2e}")
    return losses


if __name__ == "__main__":
    main()
