"""Optimizers against references written from their published update equations,
schedules, clipping, and saving / restoring state."""
import math

import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim
from ember.utils import tree_map


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


P0 = np.array([0.5, -1.0, 2.0], np.float32)
GRADS = [np.array([0.1, -0.2, 0.3], np.float32), np.array([-0.5, 0.4, 0.0], np.float32),
         np.array([0.2, 0.2, -0.1], np.float32)]


def run(opt):
    params = {"w": mx.array(P0)}
    for g in GRADS:
        params = opt.apply_gradients({"w": mx.array(g)}, params)
    return np.asarray(params["w"])


def ref_sgd(lr, momentum=0.0, wd=0.0, damp=0.0, nesterov=False):
    p, v = P0.astype(np.float64), np.zeros(3)
    for g in GRADS:
        g = g + wd * p
        if momentum:
            v = momentum * v + (1 - damp) * g
            g = g + momentum * v if nesterov else v
        p = p - lr * g
    return p


def ref_adam(lr, b1, b2, eps, wd=0.0, bias_correction=False):
    p, m, v = P0.astype(np.float64), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if bias_correction else (m, v)
        p = p * (1 - lr * wd) - lr * mh / (np.sqrt(vh) + eps)
    return p


@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                                {"momentum": 0.5, "weight_decay": 0.1, "dampening": 0.1}])
def test_sgd(kw):
    close(run(optim.SGD(0.1, **kw)), ref_sgd(0.1, kw.get("momentum", 0), kw.get("weight_decay", 0),
                                             kw.get("dampening", 0), kw.get("nesterov", False)))


@pytest.mark.parametrize("bc", [False, True])
def test_adam_and_adamw(bc):
    close(run(optim.Adam(0.01, (0.9, 0.99), 1e-8, bias_correction=bc)), ref_adam(0.01, 0.9, 0.99, 1e-8, 0, bc))
    close(run(optim.AdamW(0.01, (0.9, 0.99), 1e-8, weight_decay=0.1, bias_correction=bc)),
          ref_adam(0.01, 0.9, 0.99, 1e-8, 0.1, bc))


def test_rmsprop_adagrad_lion():
    p, v = P0.astype(np.float64), np.zeros(3)
    for g in GRADS:
        v = 0.9 * v + 0.1 * g * g
        p = p - 0.01 * g / (np.sqrt(v) + 1e-8)
    close(run(optim.RMSprop(0.01, alpha=0.9)), p)
    p, v = P0.astype(np.float64), np.zeros(3)
    for g in GRADS:
        v = v + g * g
        p = p - 0.1 * g / (np.sqrt(v) + 1e-8)
    close(run(optim.Adagrad(0.1)), p)
    p, m = P0.astype(np.float64), np.zeros(3)
    for g in GRADS:
        c = 0.9 * m + 0.1 * g
        p = p * (1 - 0.01 * 0.1) - 0.01 * np.sign(c)
        m = 0.99 * m + 0.01 * g
    close(run(optim.Lion(0.01, weight_decay=0.1)), p)


def test_schedules():
    s = optim.step_decay(1.0, 0.5, 2)
    assert [s(i) for i in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    c = optim.cosine_decay(1.0, 10, end=0.1)
    assert c(0) == pytest.approx(1.0) and c(10) == pytest.approx(0.1) and c(20) == pytest.approx(0.1)
    assert c(5) == pytest.approx(0.55)
    w = optim.linear_schedule(0.0, 1.0, 4)
    assert [w(i) for i in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    j = optim.join_schedules([w, c], [4])
    assert j(2) == pytest.approx(0.5) and j(4) == pytest.approx(1.0) and j(9) == pytest.approx(c(5))
    opt = optim.SGD(learning_rate=optim.step_decay(1.0, 0.5, 1))
    params = {"w": mx.array([0.0])}
    for _ in range(3):
        params = opt.apply_gradients({"w": mx.array([1.0])}, params)
    close(params["w"], [-(1.0 + 0.5 + 0.25)])


def test_clip_grad_norm():
    g = {"a": mx.array([3.0, 0.0]), "b": [mx.array([4.0])]}
    clipped, norm = optim.clip_grad_norm(g, 1.0)
    close(norm, 5.0)
    close(clipped["a"], [0.6, 0.0], tol=1e-5)
    close(clipped["b"][0], [0.8], tol=1e-5)
    same, _ = optim.clip_grad_norm(g, 10.0)
    close(same["a"], [3.0, 0.0])


def test_update_model_and_state_round_trip():
    mx.random.seed(3)
    model = nn.Linear(3, 2)
    opt = optim.Adam(0.02)
    x = mx.array(np.ones((4, 3), np.float32))
    loss = lambda m, x: mx.mean(mx.square(m(x)))
    vg = nn.value_and_grad(model, loss)
    first, _ = vg(model, x)
    for _ in range(20):
        _, g = vg(model, x)
        opt.update(model, g)
        mx.eval(model.parameters(), opt.state)
    assert vg(model, x)[0].item() < first.item()
    assert int(opt.state["step"].item()) == 20
    saved = tree_map(lambda a: mx.array(np.asarray(a)), opt.state)
    w_before = np.asarray(model.weight)
    _, g = vg(model, x)
    opt.update(model, g)
    after_a = np.asarray(model.weight)
    model.update({"weight": mx.array(w_before)})
    opt2 = optim.Adam(0.02)
    opt2.state = saved
    opt2.update(model, g)
    close(model.weight, after_a)
