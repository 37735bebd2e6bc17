"""LoRA fine-tuning and generation on a tiny Llama-style model, in the style of MLX's lora
example: RMSNorm, RoPE, grouped-query attention with a key-value cache, SwiGLU MLP; the
base model is frozen (optionally quantized with nn.quantize), LoRA adapters replace the
query / value projections, only they train, and text is generated from the tuned model.

    python examples/python/lora_llama.py --steps 40 [--quantize]

The model is randomly initialized (no download); it is tuned on the bundled text.
"""
import argparse
import math
import os

import numpy as np

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim
from ember.utils import tree_flatten, tree_unflatten

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tiny_text.txt")


class Attention(nn.Module):
    def __init__(self, dims, n_heads, n_kv_heads):
        super().__init__()
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        self.head_dim = dims // n_heads
        self.scale = self.head_dim ** -0.5
        self.q_proj = nn.Linear(dims, n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(dims, n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(dims, n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(n_heads * self.head_dim, dims, bias=False)
        self.rope = nn.RoPE(self.head_dim, traditional=True)

    def __call__(self, x, mask=None, cache=None):
        B, L, _ = x.shape
        q = self.q_proj(x).reshape(B, L, self.n_heads, -1).transpose(0, 2, 1, 3)
        k = self.k_proj(x).reshape(B, L, self.n_kv_heads, -1).transpose(0, 2, 1, 3)
        v = self.v_proj(x).reshape(B, L, self.n_kv_heads, -1).transpose(0, 2, 1, 3)
        if cache is not None:
            key_cache, value_cache = cache
            q = self.rope(q, offset=key_cache.shape[2])
            k = self.rope(k, offset=key_cache.shape[2])
            k = mx.concatenate([key_cache, k], axis=2)
            v = mx.concatenate([value_cache, v], axis=2)
        else:
            q, k = self.rope(q), self.rope(k)
        rep = self.n_heads // self.n_kv_heads
        kk, vv = mx.repeat(k, rep, axis=1), mx.repeat(v, rep, axis=1)
        scores = (q * self.scale) @ kk.transpose(0, 1, 3, 2)
        if mask is not None:
            scores = scores + mask
        out = (mx.softmax(scores, axis=-1) @ vv).transpose(0, 2, 1, 3).reshape(B, L, -1)
        return self.o_proj(out), (k, v)


class MLP(nn.Module):
    def __init__(self, dims, hidden):
        super().__init__()
        self.gate_proj = nn.Linear(dims, hidden, bias=False)
        self.up_proj = nn.Linear(dims, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dims, bias=False)

    def __call__(self, x):
        return self.down_proj(nn.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, dims, n_heads, n_kv_heads, hidden):
        super().__init__()
        self.self_attn = Attention(dims, n_heads, n_kv_heads)
        self.mlp = MLP(dims, hidden)
        self.input_layernorm = nn.RMSNorm(dims)
        self.post_attention_layernorm = nn.RMSNorm(dims)

    def __call__(self, x, mask=None, cache=None):
        r, cache = self.self_attn(self.input_layernorm(x), mask, cache)
        h = x + r
        return h + self.mlp(self.post_attention_layernorm(h)), cache


class Llama(nn.Module):
    def __init__(self, vocab, dims=64, layers=2, n_heads=4, n_kv_heads=2, hidden=128):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, dims)
        self.layers = [Block(dims, n_heads, n_kv_heads, hidden) for _ in range(layers)]
        self.norm = nn.RMSNorm(dims)
        self.lm_head = nn.Linear(dims, vocab, bias=False)

    def __call__(self, x, cache=None):
        mask = None
        if x.shape[1] > 1:
            mask = nn.MultiHeadAttention.create_additive_causal_mask(x.shape[1])
        h = self.embed_tokens(x)
        cache = cache or [None] * len(self.layers)
        for i, layer in enumerate(self.layers):
            h, cache[i] = layer(h, mask, cache[i])
        return self.lm_head(self.norm(h)), cache


class LoRALinear(nn.Module):
    """y = linear(x) + scale * (x @ lora_a) @ lora_b, with lora_b starting at zero."""

    @staticmethod
    def from_linear(linear, rank=4, scale=2.0):
        out_dims, in_dims = linear.weight.shape
        if isinstance(linear, nn.QuantizedLinear):
            in_dims = in_dims * 32 // linear.bits
        lora = LoRALinear(in_dims, out_dims, rank, scale)
        lora.linear = linear
        return lora

    def __init__(self, input_dims, output_dims, rank=4, scale=2.0):
        super().__init__()
        self.linear = nn.Linear(input_dims, output_dims, bias=False)
        bound = 1 / math.sqrt(input_dims)
        self.lora_a = mx.random.uniform(-bound, bound, (input_dims, rank))
        self.lora_b = mx.zeros((rank, output_dims))
        self.scale = scale

    def __call__(self, x):
        return self.linear(x) + self.scale * ((x @ self.lora_a) @ self.lora_b)


def generate(model, prompt, steps, temp=0.0):
    y = prompt
    cache = None
    out = []
    for _ in range(steps):
        logits, cache = model(y[None], cache)
        logits = logits[:, -1, :]
        if temp == 0:
            y = mx.argmax(logits, axis=-1)
        else:
            y = mx.random.categorical(logits * (1 / temp))
        out.append(y.item())
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--context", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--quantize", action="store_true", help="quantize the frozen base model (QLoRA)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    mx.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = open(DATA).read()
    vocab = sorted(set(text))
    ids = np.array([vocab.index(c) for c in text], np.int32)
    model = Llama(len(vocab))
    model.freeze()
    if args.quantize:
        nn.quantize(model, group_size=32, bits=8, class_predicate=lambda path, m: isinstance(m, nn.Linear))
    # as MLX's example does: build {path: new module} pairs, then update_modules
    lora_layers = []
    for i, layer in enumerate(model.layers):
        for name in ("q_proj", "v_proj"):
            lora_layers.append((f"layers.{i}.self_attn.{name}",
                                LoRALinear.from_linear(getattr(layer.self_attn, name), args.rank)))
    model.update_modules(tree_unflatten(lora_layers))
    mx.eval(model.parameters())
    total = sum(v.size for _, v in tree_flatten(model.parameters()))
    trainable = sum(v.size for _, v in tree_flatten(model.trainable_parameters()))
    print(f"{total} parameters, {trainable} trainable (LoRA)")

    def loss_fn(model, x, y):
        logits, _ = model(x)
        return nn.losses.cross_entropy(logits, y, reduction="mean")

    loss_and_grad = nn.value_and_grad(model, loss_fn)
    optimizer = optim.Adam(learning_rate=args.lr)
    losses = []
    for step in range(args.steps):
        starts = rng.integers(0, len(ids) - args.context - 1, args.batch_size)
        x = mx.array(np.stack([ids[s: s + args.context] for s in starts]))
        y = mx.array(np.stack([ids[s + 1: s + args.context + 1] for s in starts]))
        loss, grads = loss_and_grad(model, x, y)
        optimizer.update(model, grads)
        mx.eval(loss, model.parameters(), optimizer.state)
        losses.append(loss.item())
        if step % 10 == 0 or step == args.steps - 1:
            print(f"step {step}: loss {losses[-1]:.3f}")
    # the adapters alone, as MLX's example saves them, load back into the model
    adapters = tree_flatten(model.trainable_parameters())
    assert all(".lora_" in k for k, _ in adapters)
    model.load_weights(adapters, strict=False)
    prompt = mx.array([vocab.index(c) for c in "The river"])
    generated = generate(model, prompt, 40)
    print("generated:", repr("The river" + "".join(vocab[i] for i in generated)))
    return losses, generated


if __name__ == "__main__":
    main()
