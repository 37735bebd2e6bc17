"""Optimizers as mlx.optimizers has them: every optimizer against torch.optim (where torch
has the same rule) or its published equations, in float32 and float64; the state layout
(one dict: step, learning_rate, per-parameter dicts at the parameters' paths, updated in
place); schedules given as learning rates; mismatched gradients; MultiOptimizer; state
round trips through tree_flatten and a file."""
import math

import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim
from ember.utils import tree_flatten, tree_unflatten

DTYPES = [(mx.float32, np.float32, 1e-5), (mx.float64, np.float64, 1e-12)]
IDS = ["f32", "f64"]
rng = np.random.default_rng(0)
P0 = {"a": rng.standard_normal((3, 4)), "b": [rng.standard_normal((4,))]}
def to_mx(a):
    """mx.array keeping a numpy array's float64 (mx.array alone gives float32, as MLX)."""
    if isinstance(a, np.ndarray) and a.dtype == np.float64:
        return mx.array(a, dtype=mx.float64)
    return mx.array(a)


GRADS = [{"a": rng.standard_normal((3, 4)), "b": [rng.standard_normal((4,))]} for _ in range(4)]


def run_ember(opt, nd):
    params = {"a": to_mx(P0["a"].astype(nd)), "b": [to_mx(P0["b"][0].astype(nd))]}
    for g in GRADS:
        params = opt.apply_gradients({"a": to_mx(g["a"].astype(nd)), "b": [to_mx(g["b"][0].astype(nd))]},
                                     params)
        mx.eval(params, opt.state)
    return params


def run_torch(make, nd):
    torch = pytest.importorskip("torch")
    ps = [torch.tensor(P0["a"].astype(nd), requires_grad=True), torch.tensor(P0["b"][0].astype(nd), requires_grad=True)]
    opt = make(ps)
    for g in GRADS:
        ps[0].grad = torch.tensor(g["a"].astype(nd))
        ps[1].grad = torch.tensor(g["b"][0].astype(nd))
        opt.step()
    return [p.detach().numpy() for p in ps]


def compare(params, ref, tol):
    np.testing.assert_allclose(np.asarray(params["a"]), ref[0], rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(params["b"][0]), ref[1], rtol=tol, atol=tol)


# The learning rate is kept as a float32 array (as in MLX), so float64 runs use rates that
# float32 holds exactly.
TORCH_CASES = [
    ("sgd", lambda: optim.SGD(0.125), lambda t, ps: t.optim.SGD(ps, 0.125)),
    ("sgd_momentum", lambda: optim.SGD(0.125, momentum=0.9, weight_decay=0.01),
     lambda t, ps: t.optim.SGD(ps, 0.125, momentum=0.9, weight_decay=0.01)),
    ("sgd_nesterov", lambda: optim.SGD(0.0625, momentum=0.8, nesterov=True),
     lambda t, ps: t.optim.SGD(ps, 0.0625, momentum=0.8, nesterov=True)),
    ("rmsprop", lambda: optim.RMSprop(2 ** -7, alpha=0.9, eps=1e-6), lambda t, ps: t.optim.RMSprop(ps, 2 ** -7, alpha=0.9, eps=1e-6)),
    ("adagrad", lambda: optim.Adagrad(0.125, eps=1e-7), lambda t, ps: t.optim.Adagrad(ps, 0.125, eps=1e-7)),
    ("adadelta", lambda: optim.AdaDelta(0.5, rho=0.8, eps=1e-5), lambda t, ps: t.optim.Adadelta(ps, 0.5, rho=0.8, eps=1e-5)),
    ("adam", lambda: optim.Adam(2 ** -7, [0.8, 0.95], eps=1e-6, bias_correction=True),
     lambda t, ps: t.optim.Adam(ps, 2 ** -7, betas=(0.8, 0.95), eps=1e-6)),
    ("adamw", lambda: optim.AdamW(2 ** -7, [0.9, 0.99], eps=1e-6, weight_decay=0.1, bias_correction=True),
     lambda t, ps: t.optim.AdamW(ps, 2 ** -7, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("name,make,tmake", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_against_torch(name, make, tmake, dtype):
    torch = pytest.importorskip("torch")
    md, nd, tol = dtype
    compare(run_ember(make(), nd), run_torch(lambda ps: tmake(torch, ps), nd), tol * 10)


def _numpy_run(step_fn, state_fn, nd):
    ps = [P0["a"].astype(np.float64), P0["b"][0].astype(np.float64)]
    states = [state_fn(p) for p in ps]
    for t, g in enumerate(GRADS, 1):
        gs = [g["a"], g["b"][0]]
        ps = [step_fn(p, gg, s, t) for p, gg, s in zip(ps, gs, states)]
    return ps


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_adamax_lion_sgd_dampening_against_equations(dtype):
    md, nd, tol = dtype
    lr, b1, b2, eps = 2 ** -6, 0.9, 0.99, 1e-8  # learning rates are float32 arrays: exact ones

    def adamax(p, g, s, t):
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = np.maximum(b2 * s["v"], np.abs(g))
        return p - lr * s["m"] / (s["v"] + eps)

    compare(run_ember(optim.Adamax(lr, [b1, b2], eps), nd),
            _numpy_run(adamax, lambda p: {"m": np.zeros_like(p), "v": np.zeros_like(p)}, nd), tol * 10)

    def lion(p, g, s, t):
        c = b1 * s["m"] + (1 - b1) * g
        s["m"] = b2 * s["m"] + (1 - b2) * g
        return p * (1 - lr * 0.1) - lr * np.sign(c)

    compare(run_ember(optim.Lion(lr, [b1, b2], weight_decay=0.1), nd),
            _numpy_run(lion, lambda p: {"m": np.zeros_like(p)}, nd), tol * 10)

    def sgd(p, g, s, t):  # MLX's rule: v starts at 0, so dampening applies from the first step
        s["v"] = 0.9 * s["v"] + (1 - 0.3) * g
        return p - lr * s["v"]

    compare(run_ember(optim.SGD(lr, momentum=0.9, dampening=0.3), nd),
            _numpy_run(sgd, lambda p: {"v": np.zeros_like(p)}, nd), tol * 10)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("kw", [{}, {"learning_rate": 0.01, "relative_step": False, "scale_parameter": False},
                                {"beta_1": 0.9, "weight_decay": 0.01, "warmup_init": True}])
def test_adafactor_against_the_paper(kw, dtype):
    """Shazeer & Stern 2018, Algorithm 4 (factored second moments, update clipping,
    relative step size)."""
    md, nd, tol = dtype
    e1, e2, d, c = 1e-30, 1e-3, 0.8, 1.0
    beta_1, wd = kw.get("beta_1"), kw.get("weight_decay", 0.0)

    def rms(x):
        return np.sqrt(np.mean(x * x))

    def step(p, g, s, t):
        if kw.get("relative_step", True):
            rho = min(1e-6 * t if kw.get("warmup_init") else 1e-2, 1 / math.sqrt(t))
        else:
            rho = kw["learning_rate"]
        alpha = max(e2, rms(p)) * rho if kw.get("scale_parameter", True) else rho
        b2 = 1 - t ** (-d)
        sq = g * g + e1
        if p.ndim >= 2:
            s["r"] = b2 * s["r"] + (1 - b2) * sq.mean(-1)
            s["c"] = b2 * s["c"] + (1 - b2) * sq.mean(-2)
            v = np.outer(s["r"], s["c"]) / s["r"].mean()
        else:
            s["v"] = b2 * s["v"] + (1 - b2) * sq
            v = s["v"]
        u = g / np.sqrt(v)
        u = alpha * u / max(1.0, rms(u) / c)
        if beta_1 is not None:
            s["m"] = beta_1 * s["m"] + (1 - beta_1) * u
            u = s["m"]
        if wd:
            p = p - p * wd * alpha
        return p - u

    def init(p):
        s = {"r": np.zeros(p.shape[:-1]), "c": np.zeros(p.shape[-1:])} if p.ndim >= 2 else {"v": np.zeros_like(p)}
        s["m"] = np.zeros_like(p)
        return s

    compare(run_ember(optim.Adafactor(**kw), nd), _numpy_run(step, init, nd), max(tol * 100, 1e-9) if nd == np.float64 else 1e-4)


def test_muon_against_newton_schulz():
    """Muon: momentum, then the quintic Newton-Schulz orthogonalization of the 2-d update
    (computed in bfloat16, as MLX does: compared at bfloat16 precision)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    lr, mom = 0.02, 0.95

    def ns(x, steps=5):
        tall = x.shape[0] > x.shape[1]
        x = x.T if tall else x
        x = x / (np.linalg.norm(x) + 1e-7)
        for _ in range(steps):
            s = x @ x.T
            x = a * x + (b * s + c * s @ s) @ x
        return x.T if tall else x

    def step(p, g, s, t):
        s["v"] = mom * s["v"] + (1 - mom) * g
        u = g * (1 - mom) + s["v"] * mom
        if p.ndim == 2:
            u = ns(u) * math.sqrt(max(1, p.shape[0] / p.shape[1]))
        return p - lr * u

    ours = run_ember(optim.Muon(lr, momentum=mom, weight_decay=0.0), np.float32)
    ref = _numpy_run(step, lambda p: {"v": np.zeros_like(p)}, np.float64)
    np.testing.assert_allclose(np.asarray(ours["b"][0]), ref[1], rtol=1e-5, atol=1e-6)  # 1-d: plain momentum
    np.testing.assert_allclose(np.asarray(ours["a"]), ref[0], atol=0.06 * lr * 4)  # bfloat16: a few percent of the 4 steps


def test_state_layout_is_mlx_and_updated_in_place():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    opt = optim.Adam(learning_rate=0.01)
    assert set(opt.state) == {"step", "learning_rate"}
    g = mx.grad(lambda m: mx.sum(m(mx.ones((2, 3)))))(model)
    opt.update(model, g)
    state = opt.state
    assert [k for k, _ in tree_flatten(state)] == [
        "step", "learning_rate", "layers.0.weight.m", "layers.0.weight.v", "layers.0.bias.m",
        "layers.0.bias.v", "layers.1.weight.m", "layers.1.weight.v", "layers.1.bias.m", "layers.1.bias.v"]
    inner = state["layers"][0]["weight"]
    m_before = inner["m"]
    opt.update(model, g)
    assert opt.state is state and state["layers"][0]["weight"] is inner and inner["m"] is not m_before
    assert opt.step.item() == 2 and opt.step.dtype == mx.uint64
    opt.learning_rate = 0.5
    assert opt.learning_rate.item() == 0.5 and isinstance(opt.state["learning_rate"], mx.array)


def test_schedules_as_learning_rate_and_arrays():
    sched = optim.join_schedules([optim.linear_schedule(0.0, 1.0, 4), optim.cosine_decay(1.0, 10, 0.1)], [4])
    opt = optim.SGD(learning_rate=sched)
    p = {"w": to_mx([0.0])}
    seen = []
    for _ in range(7):
        p = opt.apply_gradients({"w": to_mx([1.0])}, p)
        seen.append(opt.learning_rate.item())
    expect = [min(s, 4) / 4 if s < 4 else 0.1 + 0.45 * (1 + math.cos(math.pi * (s - 4) / 10)) for s in range(7)]
    np.testing.assert_allclose(seen, expect, rtol=1e-6)
    np.testing.assert_allclose(p["w"].item(), -sum(expect), rtol=1e-6)
    steps = to_mx([0, 3, 9])
    np.testing.assert_allclose(np.asarray(optim.step_decay(1.0, 0.5, 3)(steps)), [1.0, 0.5, 0.125])
    np.testing.assert_allclose(np.asarray(optim.exponential_decay(2.0, 0.9)(steps)), 2 * 0.9 ** np.array([0, 3, 9]), rtol=1e-6)
    opt = optim.Adam(learning_rate=to_mx(0.003))
    assert opt.learning_rate.item() == pytest.approx(0.003)


def test_mismatched_gradients_name_the_key():
    opt = optim.Adam(0.1)
    params = {"w": mx.zeros((2,)), "layers": [{"b": mx.zeros((3,))}]}
    with pytest.raises(ValueError, match="'c'.*layers.0"):
        opt.apply_gradients({"w": mx.zeros((2,)), "layers": [{"c": mx.zeros((3,))}]}, params)
    with pytest.raises(ValueError, match=r"'w' has shape \(3,\).*\(2,\)"):
        opt.apply_gradients({"w": mx.zeros((3,))}, params)
    with pytest.raises(ValueError, match="'layers.0' is an array but the parameters hold dict"):
        opt.apply_gradients({"layers": [mx.zeros((3,))]}, params)
    with pytest.raises(TypeError, match="tree"):
        opt.apply_gradients(mx.zeros((2,)), params)
    # gradients for a subset of the parameters are fine (the rest is left out)
    out = opt.apply_gradients({"w": mx.ones((2,))}, params)
    assert list(out) == ["w"]


def test_multi_optimizer():
    model = nn.Linear(3, 2)
    opt = optim.MultiOptimizer([optim.SGD(0.1), optim.SGD(1.0)], [lambda path, g: path.endswith("weight")])
    g = {"weight": mx.ones((2, 3)), "bias": mx.ones((2,))}
    w0, b0 = np.asarray(model.weight), np.asarray(model.bias)
    opt.update(model, g)
    np.testing.assert_allclose(np.asarray(model.weight), w0 - 0.1, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model.bias), b0 - 1.0, rtol=1e-6)
    assert len(opt.state["states"]) == 2
    with pytest.raises(ValueError, match="filters"):
        optim.MultiOptimizer([optim.SGD(0.1), optim.SGD(0.1)], [])


def test_clip_grad_norm_against_numpy():
    g = {"a": to_mx([3.0, 4.0]), "b": [to_mx([[12.0]])]}
    clipped, norm = optim.clip_grad_norm(g, 6.5)
    assert norm.item() == pytest.approx(13.0)
    np.testing.assert_allclose(np.asarray(clipped["a"]), np.array([3.0, 4.0]) * 6.5 / 13, rtol=1e-5)
    same, _ = optim.clip_grad_norm(g, 100.0)
    np.testing.assert_allclose(np.asarray(same["b"][0]), [[12.0]], rtol=1e-6)


def test_state_round_trips_through_tree_flatten_and_a_file(tmp_path):
    from ember.nn import _weights_io

    model = nn.Linear(3, 2)
    opt = optim.AdamW(0.01)
    x = mx.ones((4, 3))
    step = nn.value_and_grad(model, lambda: mx.sum(model(x) ** 2))
    for _ in range(3):
        _, g = step()
        opt.update(model, g)
    f = str(tmp_path / "opt.safetensors")
    _weights_io.save(f, dict(tree_flatten(opt.state)))
    saved_params = model.parameters()
    _, g = step()
    opt.update(model, g)
    expect = np.asarray(model.weight)
    model.update(saved_params)
    opt2 = optim.AdamW(0.01)
    opt2.state = tree_unflatten(list(_weights_io.load(f).items()))
    assert opt2.step.item() == 3
    opt2.update(model, g)
    np.testing.assert_allclose(np.asarray(model.weight), expect, rtol=1e-6)
