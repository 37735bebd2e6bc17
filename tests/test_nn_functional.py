"""Activations, losses and initializers of ember.nn against torch (the oracle) or their
published equations, in float32 and float64, values and gradients."""
import math

import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
from ember.nn import losses as L

torch = pytest.importorskip("torch")
F = torch.nn.functional


def to_mx(a):
    """mx.array keeping a numpy array's float64 (mx.array alone gives float32, as MLX)."""
    if isinstance(a, np.ndarray) and a.dtype == np.float64:
        return mx.array(a, dtype=mx.float64)
    return mx.array(a)

DTYPES = [(mx.float32, np.float32, 1e-5), (mx.float64, np.float64, 1e-10)]


def check(ember_fn, torch_fn, inputs, dtype, tol, grad=True):
    """Compares ember_fn(*xs) with torch_fn(*ts), and the gradient of sum(out * w)
    with respect to every float input."""
    md, nd, _ = dtype
    xs = [to_mx(a.astype(nd)) if a.dtype.kind == "f" else to_mx(a) for a in inputs]
    ts = [torch.tensor(a.astype(nd), requires_grad=True) if a.dtype.kind == "f" else torch.tensor(a)
          for a in inputs]
    out = ember_fn(*xs)
    ref = torch_fn(*ts)
    np.testing.assert_allclose(np.asarray(out), ref.detach().numpy(), rtol=tol, atol=tol)
    if not grad:
        return
    w = np.random.default_rng(1).standard_normal(ref.shape).astype(nd)
    (ref * torch.tensor(w)).sum().backward()
    floats = [i for i, a in enumerate(inputs) if a.dtype.kind == "f"]
    gs = mx.grad(lambda *a: mx.sum(ember_fn(*a) * to_mx(w)), argnums=tuple(floats))(*xs)
    for i, g in zip(floats, gs):
        np.testing.assert_allclose(np.asarray(g), ts[i].grad.numpy(), rtol=tol * 10, atol=tol * 10)


def rand(*shape, seed=0, scale=2.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


ACTIVATIONS = [
    ("relu", nn.relu, F.relu), ("relu6", nn.relu6, F.relu6), ("relu2", nn.relu2, lambda x: F.relu(x) ** 2),
    ("leaky_relu", lambda x: nn.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    ("elu", lambda x: nn.elu(x, 0.7), lambda x: F.elu(x, 0.7)),
    # (torch's own celu backward loses precision in float64: its equation instead)
    ("celu", lambda x: nn.celu(x, 1.3), lambda x: torch.where(x > 0, x, 1.3 * torch.expm1(x / 1.3))),
    ("selu", nn.selu, F.selu), ("sigmoid", nn.sigmoid, torch.sigmoid),
    ("log_sigmoid", nn.log_sigmoid, F.logsigmoid), ("tanh", nn.tanh, torch.tanh), ("silu", nn.silu, F.silu),
    ("softplus", nn.softplus, F.softplus), ("softsign", nn.softsign, F.softsign),
    ("softshrink", lambda x: nn.softshrink(x, 0.6), lambda x: F.softshrink(x, 0.6)),
    ("hard_shrink", lambda x: nn.hard_shrink(x, 0.6), lambda x: F.hardshrink(x, 0.6)),
    ("hard_tanh", lambda x: nn.hard_tanh(x, -0.5, 1.5), lambda x: F.hardtanh(x, -0.5, 1.5)),
    ("hardswish", nn.hardswish, F.hardswish), ("mish", nn.mish, F.mish),
    ("gelu", nn.gelu, F.gelu), ("gelu_approx", nn.gelu_approx, lambda x: F.gelu(x, approximate="tanh")),
    ("gelu_fast_approx", nn.gelu_fast_approx, lambda x: x * torch.sigmoid(1.702 * x)),
    ("glu", nn.glu, F.glu), ("softmax", nn.softmax, lambda x: F.softmax(x, -1)),
    ("softmin", nn.softmin, lambda x: F.softmin(x, -1)), ("log_softmax", nn.log_softmax, lambda x: F.log_softmax(x, -1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,fn,ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_against_torch(name, fn, ref, dtype):
    x = rand(4, 6)
    check(fn, ref, [x], dtype, dtype[2] * 10)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_activation_layers_match_functions(dtype):
    x = to_mx(rand(3, 4).astype(dtype[1]))
    pairs = [(nn.ReLU(), nn.relu), (nn.CELU(0.5), lambda v: nn.celu(v, 0.5)), (nn.SELU(), nn.selu),
             (nn.LeakyReLU(0.3), lambda v: nn.leaky_relu(v, 0.3)), (nn.Softshrink(0.2), lambda v: nn.softshrink(v, 0.2)),
             (nn.HardShrink(), nn.hard_shrink), (nn.HardTanh(), nn.hard_tanh), (nn.Hardswish(), nn.hardswish),
             (nn.Mish(), nn.mish), (nn.Softplus(), nn.softplus), (nn.Softsign(), nn.softsign),
             (nn.LogSigmoid(), nn.log_sigmoid), (nn.GLU(), nn.glu), (nn.Step(0.1), lambda v: nn.step(v, 0.1)),
             (nn.ReLU6(), nn.relu6), (nn.ReLU2(), nn.relu2), (nn.Softmin(), nn.softmin),
             (nn.GELU("fast"), nn.gelu_fast_approx), (nn.GELU("tanh"), nn.gelu_approx), (nn.GELU(), nn.gelu)]
    for layer, fn in pairs:
        np.testing.assert_array_equal(np.asarray(layer(x)), np.asarray(fn(x)))
    with pytest.raises(ValueError, match="approx"):
        nn.GELU("bogus")


def test_prelu_step_and_relu_derivative_at_zero():
    x = rand(5, 3)
    layer = nn.PReLU(3, init=0.1)
    assert layer.weight.shape == (3,)
    check(lambda a, w: nn.prelu(a, w), lambda a, w: F.prelu(a, w), [x, np.array([0.1, 0.2, 0.3])],
          DTYPES[1], 1e-10)
    np.testing.assert_array_equal(np.asarray(nn.step(to_mx([-1.0, 0.0, 2.0]))), [0, 0, 1])
    # relu's derivative at 0 is 0 (as in MLX and JAX)
    assert mx.grad(lambda v: mx.sum(nn.relu(v)))(to_mx([0.0, 1.0])).tolist() == [0.0, 1.0]


LOSSES = [
    ("mse", lambda p, t: L.mse_loss(p, t, "none"), lambda p, t: F.mse_loss(p, t, reduction="none")),
    ("l1", lambda p, t: L.l1_loss(p, t, "sum"), lambda p, t: F.l1_loss(p, t, reduction="sum")),
    ("smooth_l1", lambda p, t: L.smooth_l1_loss(p, t, beta=0.7), lambda p, t: F.smooth_l1_loss(p, t, beta=0.7)),
    ("huber", lambda p, t: L.huber_loss(p, t, delta=0.8), lambda p, t: F.huber_loss(p, t, reduction="none", delta=0.8)),
    ("log_cosh", lambda p, t: L.log_cosh_loss(p, t, "mean"), lambda p, t: torch.log(torch.cosh(p - t)).mean()),
    ("bce_logits", lambda p, t: L.binary_cross_entropy(p, t, reduction="none"),
     lambda p, t: F.binary_cross_entropy_with_logits(p, t, reduction="none")),
    ("hinge", lambda p, t: L.hinge_loss(p, mx.sign(t)), lambda p, t: torch.clamp(1 - p * torch.sign(t), min=0)),
    ("kl_div", lambda p, t: L.kl_div_loss(mx.log_softmax(p, -1) if hasattr(mx, "log_softmax") else nn.log_softmax(p), nn.log_softmax(t)),
     lambda p, t: F.kl_div(F.log_softmax(p, -1), F.log_softmax(t, -1), reduction="none", log_target=True).sum(-1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,fn,ref", LOSSES, ids=[a[0] for a in LOSSES])
def test_loss_against_torch(name, fn, ref, dtype):
    check(fn, ref, [rand(4, 5), rand(4, 5, seed=1)], dtype, dtype[2] * 10)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_cross_entropy_and_nll_against_torch(dtype):
    logits = rand(6, 5)
    idx = np.random.default_rng(2).integers(0, 5, 6).astype(np.int32)
    probs = np.random.default_rng(3).dirichlet(np.ones(5), 6)
    tol = dtype[2] * 10
    check(lambda x, t: L.cross_entropy(x, t), lambda x, t: F.cross_entropy(x, t.long(), reduction="none"),
          [logits, idx], dtype, tol)
    check(lambda x, t: L.cross_entropy(x, t, label_smoothing=0.2, reduction="mean"),
          lambda x, t: F.cross_entropy(x, t.long(), label_smoothing=0.2), [logits, idx], dtype, tol)
    check(lambda x, t: L.cross_entropy(x, t, label_smoothing=0.1),
          lambda x, t: F.cross_entropy(x, t, reduction="none", label_smoothing=0.1), [logits, probs], dtype, tol)
    w = rand(6, seed=4) ** 2
    check(lambda x, t, ww: L.cross_entropy(x, t, weights=ww, reduction="sum"),
          lambda x, t, ww: (F.cross_entropy(x, t.long(), reduction="none") * ww).sum(), [logits, idx, w], dtype, tol)
    check(lambda x, t: L.nll_loss(nn.log_softmax(x), t, reduction="mean"),
          lambda x, t: F.nll_loss(F.log_softmax(x, -1), t.long()), [logits, idx], dtype, tol)
    with pytest.raises(ValueError, match="reduction"):
        L.cross_entropy(to_mx(logits), to_mx(idx), reduction="avg")
    with pytest.raises(ValueError, match=r"targets of shape \(5,\).*\(6, 5\)"):
        L.cross_entropy(to_mx(logits), to_mx(idx[:5]))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_other_losses_against_torch(dtype):
    tol = dtype[2] * 10
    p = 1 / (1 + np.exp(-rand(4, 3)))
    t = (rand(4, 3, seed=1) > 0).astype(np.float64)
    check(lambda a, b: L.binary_cross_entropy(a, b, with_logits=False),
          lambda a, b: F.binary_cross_entropy(a, b), [p, t], dtype, tol)
    x, y, v = rand(4, 3), rand(4, 3, seed=1), np.abs(rand(4, 3, seed=2)) + 0.1
    check(lambda a, b, c: L.gaussian_nll_loss(a, b, c, full=True),
          lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=True), [x, y, v], dtype, tol)
    a, b, s = rand(6), rand(6, seed=1), np.sign(rand(6, seed=2))
    check(lambda u, w, z: L.margin_ranking_loss(u, w, z, margin=0.3, reduction="mean"),
          lambda u, w, z: F.margin_ranking_loss(u, w, z, margin=0.3), [a, b, s], dtype, tol)
    check(lambda u, w: L.cosine_similarity_loss(u, w, axis=1), lambda u, w: F.cosine_similarity(u, w, dim=1),
          [rand(4, 5), rand(4, 5, seed=1)], dtype, tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_triplet_loss_against_its_equation(dtype):
    md, nd, tol = dtype
    a, p, n = (rand(4, 6, seed=s).astype(nd) for s in range(3))
    ref = np.maximum(np.sqrt(((a - p) ** 2).sum(-1) + 1e-6) - np.sqrt(((a - n) ** 2).sum(-1) + 1e-6) + 1.0, 0)
    out = L.triplet_loss(to_mx(a), to_mx(p), to_mx(n))
    np.testing.assert_allclose(np.asarray(out), ref, rtol=tol * 10, atol=tol * 10)
    assert out.dtype == md


def test_initializers():
    mx.random.seed(3)
    a = mx.zeros((64, 48))
    q = nn.init.orthogonal(gain=2.0)(a)
    qn = np.asarray(q, np.float64)
    np.testing.assert_allclose(qn.T @ qn, 4 * np.eye(48), atol=1e-4)
    s = np.asarray(nn.init.sparse(0.25, std=0.1)(mx.zeros((40, 7))))
    assert ((s == 0).sum(0) >= math.ceil(0.25 * 40)).all()
    lim = math.sqrt(6 / (64 + 48))
    g = np.asarray(nn.init.glorot_uniform()(a))
    assert np.abs(g).max() <= lim and np.abs(g).max() > 0.9 * lim
    hn = np.asarray(nn.init.he_normal()(mx.zeros((400, 300))))
    assert abs(hn.std() - 1 / math.sqrt(300)) < 0.01
    assert nn.init.normal(dtype=mx.float64)(a).dtype == mx.float64
    with pytest.raises(ValueError, match="2-d"):
        nn.init.orthogonal()(mx.zeros((3,)))
