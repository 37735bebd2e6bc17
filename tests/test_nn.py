"""ember.nn: Module behaviour, every layer against a numpy reference, losses,
nn.value_and_grad, save/load round trips."""
import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
from ember.utils import tree_flatten, tree_map


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.blocks = [nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3, bias=False)]
        self.extra = {"scale": mx.array(2.0)}
        self.name = "net"

    def __call__(self, x):
        x = mx.relu(self.fc1(x))
        for b in self.blocks:
            x = b(x)
        return x * self.extra["scale"]


def test_module_parameters_and_children():
    net = Net()
    p = net.parameters()
    assert set(p) == {"fc1", "blocks", "extra"}
    assert set(p["fc1"]) == {"weight", "bias"}
    assert isinstance(p["blocks"], list) and len(p["blocks"]) == 3
    assert p["blocks"][1] == {} and set(p["blocks"][2]) == {"weight"}
    assert net.name == "net" and "name" not in net
    # as in MLX, containers are kept; entries that are not modules become {}
    assert net.children()["extra"] == {"scale": {}}
    assert set(net.children()) == {"fc1", "blocks", "extra"}
    assert len([m for _, m in tree_flatten(net.leaf_modules(), is_leaf=nn.Module.is_module)]) == 4
    assert "Linear(input_dims=4, output_dims=8, bias=True)" in repr(net)


def test_freeze_unfreeze_and_update():
    net = Net()
    net.fc1.freeze()
    tp = net.trainable_parameters()
    assert "fc1" not in tp or tp["fc1"] == {}
    net.unfreeze()
    assert set(net.trainable_parameters()["fc1"]) == {"weight", "bias"}
    net.update({"fc1": {"bias": mx.zeros((8,))}})
    close(net.fc1.bias, np.zeros(8))
    net.apply(lambda a: a * 0 + 1)
    close(net.fc1.weight, np.ones((8, 4)))


def test_train_eval_modes():
    net = Net()
    assert net.training and net.fc1.training
    net.eval()
    assert not net.training and not net.blocks[0].training


def test_linear_against_numpy():
    layer = nn.Linear(5, 3)
    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    close(layer(mx.array(x)), x @ np.asarray(layer.weight).T + np.asarray(layer.bias))


def test_sequential_and_activations():
    x = np.linspace(-3, 3, 13).astype(np.float32)
    xa = mx.array(x)
    close(nn.relu(xa), np.maximum(x, 0))
    close(nn.leaky_relu(xa, 0.1), np.where(x > 0, x, 0.1 * x))
    close(nn.elu(xa), np.where(x > 0, x, np.expm1(x)))
    close(nn.silu(xa), x / (1 + np.exp(-x)))
    from math import erf

    close(nn.gelu(xa), x * 0.5 * (1 + np.vectorize(erf)(x / np.sqrt(2))))
    close(nn.log_softmax(xa), x - np.log(np.sum(np.exp(x))))
    seq = nn.Sequential(nn.Tanh(), nn.Sigmoid())
    close(seq(xa), 1 / (1 + np.exp(-np.tanh(x))))


def test_norms():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    ln = nn.LayerNorm(6)
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    close(ln(mx.array(x)), ref, tol=1e-4)
    rms = nn.RMSNorm(6)
    close(rms(mx.array(x)), x / np.sqrt(np.mean(x * x, -1, keepdims=True) + 1e-5), tol=1e-4)
    bn = nn.BatchNorm(6)
    y = bn(mx.array(x))
    close(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), tol=1e-4)
    close(bn.running_mean, 0.1 * x.mean(0), tol=1e-5)
    assert "running_mean" not in bn.trainable_parameters()
    bn.eval()
    ye = bn(mx.array(x))
    close(ye, (x - 0.1 * x.mean(0)) / np.sqrt(np.asarray(bn.running_var) + 1e-5), tol=1e-4)


def test_embedding_and_dropout():
    emb = nn.Embedding(10, 4)
    idx = mx.array([1, 3, 3])
    close(emb(idx), np.asarray(emb.weight)[[1, 3, 3]])
    d = nn.Dropout(0.5)
    x = mx.ones((1000,))
    y = np.asarray(d(x))
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.35 < np.mean(y == 0) < 0.65
    d.eval()
    close(d(x), np.ones(1000))


def _np_conv2d(x, w, stride, pad):
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n, h, wd, c = x.shape
    o, kh, kw, _ = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, ho, wo, o))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.einsum("nhwc,ohwc->no", patch, w)
    return out


def test_conv2d_and_conv1d():
    rng = np.random.default_rng(2)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    x = rng.standard_normal((2, 7, 7, 3)).astype(np.float32)
    ref = _np_conv2d(x, np.asarray(conv.weight), 2, 1) + np.asarray(conv.bias)
    close(conv(mx.array(x)), ref, tol=1e-4)
    c1 = nn.Conv1d(2, 3, 3)
    x1 = rng.standard_normal((2, 9, 2)).astype(np.float32)
    ref1 = _np_conv2d(x1[:, :, None, :], np.asarray(c1.weight)[:, :, None, :], 1, 0)[:, :, 0, :]
    close(c1(mx.array(x1)), ref1 + np.asarray(c1.bias), tol=1e-4)


def test_multihead_attention_shapes_and_values():
    rng = np.random.default_rng(3)
    att = nn.MultiHeadAttention(8, 2)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    y = att(mx.array(x), mx.array(x), mx.array(x))
    assert y.shape == (2, 5, 8)
    W = {k: np.asarray(getattr(att, k).weight) for k in ("query_proj", "key_proj", "value_proj", "out_proj")}
    q, k, v = x @ W["query_proj"].T, x @ W["key_proj"].T, x @ W["value_proj"].T
    q, k, v = [t.reshape(2, 5, 2, 4).transpose(0, 2, 1, 3) for t in (q, k, v)]
    s = q @ k.transpose(0, 1, 3, 2) / 2.0
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = (p @ v).transpose(0, 2, 1, 3).reshape(2, 5, 8) @ W["out_proj"].T
    close(y, o, tol=1e-4)


def test_losses():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((4, 5)).astype(np.float32)
    t = np.array([0, 3, 1, 4], np.int32)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    close(nn.losses.cross_entropy(mx.array(logits), mx.array(t)), -logp[np.arange(4), t], tol=1e-5)
    probs = np.eye(5, dtype=np.float32)[t]
    close(nn.losses.cross_entropy(mx.array(logits), mx.array(probs)), -logp[np.arange(4), t], tol=1e-5)
    close(nn.losses.nll_loss(mx.array(logp), mx.array(t)), -logp[np.arange(4), t], tol=1e-5)
    a, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    close(nn.losses.mse_loss(mx.array(a), mx.array(b)), np.mean((a - b) ** 2))
    close(nn.losses.l1_loss(mx.array(a), mx.array(b)), np.mean(np.abs(a - b)))
    d = np.abs(a - b)
    close(nn.losses.huber_loss(mx.array(a), mx.array(b), reduction="mean"),
          np.mean(np.where(d <= 1, 0.5 * d * d, d - 0.5)))
    y = (rng.random(6) > 0.5).astype(np.float32)
    close(nn.losses.binary_cross_entropy(mx.array(a), mx.array(y)),
          np.mean(np.log1p(np.exp(a)) - a * y), tol=1e-5)
    lp, lq = logp[0], logp[1]
    close(nn.losses.kl_div_loss(mx.array(lp), mx.array(lq)), np.sum(np.exp(lq) * (lq - lp)), tol=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        nn.losses.mse_loss(mx.array(a), mx.array(b), reduction="avg")


def test_value_and_grad_matches_finite_differences():
    net = Net()
    x = mx.array(np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32))

    def loss(model, x):
        return mx.mean(mx.square(model(x)))

    value, grads = nn.value_and_grad(net, loss)(net, x)
    close(value, loss(net, x))
    assert set(grads) == set(net.trainable_parameters())
    # directional derivative along the gradient of fc1.bias
    b = net.fc1.bias
    eps = 1e-3
    g = np.asarray(grads["fc1"]["bias"])
    net.update({"fc1": {"bias": b + eps * mx.array(g)}})
    up = loss(net, x).item()
    net.update({"fc1": {"bias": b - eps * mx.array(g)}})
    down = loss(net, x).item()
    net.update({"fc1": {"bias": b}})
    np.testing.assert_allclose((up - down) / (2 * eps), np.sum(g * g), rtol=2e-2)
    # the guide's form
    v2, g2 = mx.value_and_grad(net, loss)(net, x)
    close(v2, value)
    # frozen parameters get no gradient entry
    net.fc1.freeze()
    _, g3 = nn.value_and_grad(net, loss)(net, x)
    assert "fc1" not in g3 or g3["fc1"] == {}


@pytest.mark.parametrize("ext", [".npz", ".safetensors"])
def test_save_load_round_trip(tmp_path, ext):
    net = Net()
    f = str(tmp_path / f"w{ext}")
    net.save_weights(f)
    other = Net()
    other.load_weights(f)
    for (_, a), (_, b) in zip(tree_flatten(net.parameters()), tree_flatten(other.parameters())):
        close(a, b, tol=0)
    small = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="do not match|shape"):
        small.load_weights(f)
