"""mx.compile: compiled against uncompiled (and numpy), over the elementwise op table inside
fused chains, retracing, shapeless reuse, state capture, transforms both ways,
disable_compile, errors, and memory over many compiled steps."""
import functools
import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import ember.core as mx
from op_table import ALL_ROWS, default_make, np_dtype

HALVES = ("float16", "bfloat16")
DTYPES = ("float32",) + HALVES


def to_np(x):
    if x.dtype == mx.bfloat16:
        return np.array(x.astype(mx.float32))
    return np.array(x)


def fresh(f, **kw):
    """A compiled f with its own cache."""
    return mx.compile(f, **kw)


def tape_steps(compiled, *args):
    """The steps of the trace that compiled used for args (for checks on the passes)."""
    sig = tuple((a.shape, a.dtype) for a in args if isinstance(a, mx.array))
    for key, entry in compiled._cache.items():
        if key == sig or (len(key) == 4 and key[2] == sig):
            return entry.tape.steps
    raise AssertionError("no trace for these arguments")


# ---- the op table inside fused chains ---------------------------------------------------
def _wrap(y):
    """Two more ops after y that leave its value unchanged, so y's op sits inside a chain."""
    if y.dtype == mx.bool_:
        return mx.logical_not(mx.logical_not(y))
    return mx.negative(mx.negative(y))


LAYOUTS = {
    # odd sizes: below one block, and across several blocks with a short last one
    "small": lambda s: s,
    "large": lambda s: tuple(s[:-1]) + (1999,) if len(s) else s,
}


def _elementwise_cases():
    out = []
    for row in ALL_ROWS:
        if row.family not in ("unary", "binary"):
            continue
        case = next(((s, kw) for s, kw in row.cases() if s and all(len(x) >= 1 for x in s)), None)
        if case is None:
            continue
        shapes, kw = case
        for dtype in DTYPES:
            if dtype not in row.dtypes:
                continue
            for layout in ("contiguous", "strided", "broadcast"):
                out.append(pytest.param(row, shapes, kw, dtype, layout,
                                        id=f"{row.name}-{dtype}-{layout}"))
    return out


def _inputs(row, shapes, dtype, layout, rng):
    shapes = [(5, 1999) if len(s) >= 1 else s for s in shapes]
    make = row.make or default_make
    xs = make(rng, shapes, dtype)
    arrays = []
    for i, x in enumerate(xs):
        x = np.asarray(x)
        if layout == "strided":  # transposed storage
            a = mx.array(np.ascontiguousarray(x.T)).T
        elif layout == "broadcast" and i == len(xs) - 1:
            a = mx.broadcast_to(mx.array(x[:1]), x.shape)  # stride 0 along axis 0
        else:
            a = mx.array(x)
        arrays.append(a)
    return arrays


@pytest.mark.parametrize("row,shapes,kw,dtype,layout", _elementwise_cases())
def test_elementwise_in_fused_chain(row, shapes, kw, dtype, layout):
    rng = np.random.default_rng(0)
    xs = _inputs(row, shapes, dtype, layout, rng)

    def f(*a):
        return _wrap(row.ember(*a, **kw))

    expected = f(*xs)
    cf = fresh(f)
    got = cf(*xs)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    steps = tape_steps(cf, *xs)
    # (real / imag of a real input are constants: nothing left to fuse)
    assert not steps or any(s.startswith("Compiled(") for s in steps), steps
    e, g = to_np(expected), to_np(got)
    if e.dtype.kind in "fc":
        # Same kernels on blocks: equal up to the last bit, except where a vectorized run
        # and the scalar loop differ on a short stretch.
        tol = 1e-6 if dtype == "float32" else 1e-2
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(g, e)


def _grad_rows():
    out = []
    for r in ALL_ROWS:
        if r.family not in ("unary", "binary") or not r.grad or "float32" not in r.dtypes:
            continue
        shapes, kw = next((s, k) for s, k in r.cases() if s and all(len(x) >= 1 for x in s))
        xs = (r.make or default_make)(np.random.default_rng(1), shapes, "float32")
        if all(np.asarray(x).dtype == np.float32 for x in xs):  # (not index or bool inputs)
            out.append(pytest.param(r, id=r.name))
    return out


@pytest.mark.parametrize("row", _grad_rows())
def test_gradients_through_fused_chain(row):
    rng = np.random.default_rng(1)
    shapes, kw = next((s, k) for s, k in row.cases() if s and all(len(x) >= 1 for x in s))
    xs = [mx.array(x) for x in (row.make or default_make)(rng, shapes, "float32")]

    def loss(*a):
        return mx.sum(mx.sin(row.ember(*a, **kw)) * 0.5)

    argnums = tuple(range(len(xs)))
    ref = mx.grad(loss, argnums=argnums)(*xs)
    for got in (mx.grad(fresh(loss), argnums=argnums)(*xs),      # grad of compiled
                fresh(mx.grad(loss, argnums=argnums))(*xs)):       # compiled grad
        for g, r in zip(got, ref):
            np.testing.assert_allclose(to_np(g), to_np(r), rtol=2e-5, atol=1e-6)


# ---- values against numpy, and the passes ------------------------------------------------
def test_chain_matches_numpy_and_fuses():
    x = np.random.default_rng(2).standard_normal((3, 4097)).astype(np.float32)
    f = fresh(lambda x: mx.sin(x) * 2 + mx.exp(-x))
    got = f(mx.array(x))
    np.testing.assert_allclose(np.array(got), np.sin(x) * 2 + np.exp(-x), rtol=1e-5, atol=1e-6)
    assert tape_steps(f, mx.array(x)) == ["Compiled(Sin, Multiply, Negative, Exp, Add)"]


def test_trailing_broadcast_and_cast_fuse():
    a = np.random.default_rng(3).standard_normal((6, 7)).astype(np.float32)
    b = np.random.default_rng(4).standard_normal((7,)).astype(np.float16)
    f = fresh(lambda a, b: mx.exp(a - b.astype(mx.float32)) * (a > 0))
    got = f(mx.array(a), mx.array(b))
    ref = np.exp(a - b.astype(np.float32)) * (a > 0)
    np.testing.assert_allclose(np.array(got), ref, rtol=1e-5, atol=1e-6)
    steps = tape_steps(f, mx.array(a), mx.array(b))
    # b's cast runs at b's own shape (7,), before the broadcast; the rest is one kernel
    assert steps == ["AsType", "Compiled(Subtract, Exp, Greater, AsType, Multiply)"], steps


def test_common_subexpressions_and_dead_code():
    def f(x):
        unused = mx.exp(x) * 3  # noqa: F841  (dead)
        return mx.sin(x) * mx.sin(x) + mx.sin(x)

    cf = fresh(f)
    x = mx.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(np.array(cf(x)), np.sin([0.1, 0.2, 0.3]) ** 2 + np.sin([0.1, 0.2, 0.3]),
                               rtol=1e-6)
    cf_nofuse = mx.compile(f)
    import ember._compile as C
    C._FUSE = False
    try:
        cf_nofuse(x)
    finally:
        C._FUSE = True
    steps = tape_steps(cf_nofuse, x)
    assert steps.count("Sin") == 1 and "Exp" not in steps, steps


def test_outputs_of_one_custom_function_are_not_merged():
    # Two outputs of one custom_function node have the same inputs and shape: CSE must
    # still keep them apart.
    @mx.custom_function
    def two(x):
        return mx.sin(x), mx.cos(x)

    def f(x):
        s, c = two(x)
        return s - c

    cf = fresh(f)
    x = mx.array([0.3, 0.7])
    np.testing.assert_allclose(np.array(cf(x)), np.sin([0.3, 0.7]) - np.cos([0.3, 0.7]), rtol=1e-6)


def test_constant_folding():
    def f(x):
        c = mx.exp(mx.array(1.0)) * mx.arange(3.0)  # no dependence on x: folded once
        return x + c

    cf = fresh(f)
    x = mx.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.array(cf(x)), [1.0, 2.0 + np.e, 3.0 + 2 * np.e], rtol=1e-6)
    entry = next(iter(cf._cache.values()))
    assert entry.tape.traced_steps == 1 and entry.tape.steps == ["Add"]


# ---- the cache: retracing --------------------------------------------------------------
def test_retrace_on_shape_dtype_structure_and_constants():
    calls = []

    def f(x, scale, extra=None):
        calls.append(1)
        y = x * scale
        return y if extra is None else (y, extra["a"] + 1)

    cf = fresh(f)
    x3 = mx.array([1.0, 2.0, 3.0])
    cf(x3, 2.0)
    cf(mx.array([4.0, 5.0, 6.0]), 2.0)
    assert len(calls) == 1  # same signature: replayed
    np.testing.assert_allclose(np.array(cf(x3, 3.0)), [3.0, 6.0, 9.0])  # new constant
    assert len(calls) == 2
    cf(mx.array([1.0, 2.0]), 3.0)  # new shape
    assert len(calls) == 3
    cf(mx.array([1, 2]), 3.0)  # new dtype
    assert len(calls) == 4
    y, z = cf(x3, 3.0, extra={"a": mx.array(1.0)})  # new structure
    assert len(calls) == 5 and float(z.item()) == 2.0
    cf(x3, 3.0)
    assert len(calls) == 5


def test_side_effects_run_at_trace_time_only():
    seen = []
    cf = fresh(lambda x: (seen.append("traced"), x + 1)[1])
    for _ in range(3):
        cf(mx.array(1.0))
    assert seen == ["traced"]


def test_shapeless_reuses_trace_across_shapes():
    calls = []

    def f(x, y):
        calls.append(1)
        return mx.exp(x) * y + 1.0

    cf = fresh(f, shapeless=True)
    rng = np.random.default_rng(5)
    for shape in ((3, 4), (5, 7), (1, 9)):
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.standard_normal(shape[-1:]).astype(np.float32)
        got = cf(mx.array(x), mx.array(y))
        np.testing.assert_allclose(np.array(got), np.exp(x) * y + 1.0, rtol=1e-5)
    assert len(calls) == 1
    cf(mx.array(np.ones(3, np.float32)), mx.array(np.ones(3, np.float32)))  # new rank: retrace
    assert len(calls) == 2


def test_shapeless_says_when_it_cannot():
    cf = fresh(lambda x: mx.reshape(x, (-1,)) * 2, shapeless=True)
    cf(mx.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\[compile\] shapeless=True .*Reshape"):
        cf(mx.ones((4, 3)))


# ---- state capture ---------------------------------------------------------------------
def _sgd_step(params, momentum, x, y):
    def loss_fn(p):
        return mx.mean(mx.square(x @ p["w"] + p["b"] - y))

    loss, g = mx.value_and_grad(loss_fn)(params)
    for k in params:
        momentum[k] = 0.9 * momentum[k] + g[k]
        params[k] = params[k] - 0.1 * momentum[k]
    return loss


def test_state_capture_training_loop_matches_eager():
    rng = np.random.default_rng(6)
    x = mx.array(rng.standard_normal((32, 5)).astype(np.float32))
    y = mx.array(rng.standard_normal((32, 1)).astype(np.float32))
    w0 = rng.standard_normal((5, 1)).astype(np.float32)

    def init():
        params = {"w": mx.array(w0), "b": mx.zeros((1,))}
        return params, {k: mx.zeros_like(v) for k, v in params.items()}

    params_e, mom_e = init()
    eager_losses = [float(_sgd_step(params_e, mom_e, x, y).item()) for _ in range(20)]

    params_c, mom_c = init()
    state = [params_c, mom_c]
    calls = []

    @functools.partial(mx.compile, inputs=state, outputs=state)
    def step(x, y):
        calls.append(1)
        return _sgd_step(params_c, mom_c, x, y)

    losses = []
    for _ in range(20):
        losses.append(float(step(x, y).item()))
        mx.eval(params_c, mom_c)
    assert len(calls) == 1
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)
    for k in ("w", "b"):
        np.testing.assert_allclose(np.array(params_c[k]), np.array(params_e[k]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.array(mom_c[k]), np.array(mom_e[k]), rtol=1e-5, atol=1e-6)


def test_captured_array_without_inputs_is_a_constant():
    w = [mx.array(2.0)]
    cf = fresh(lambda x: x * w[0])
    assert float(cf(mx.array(3.0)).item()) == 6.0
    w[0] = mx.array(5.0)
    assert float(cf(mx.array(3.0)).item()) == 6.0  # baked into the trace, as in MLX
    cf2 = mx.compile(lambda x: x * w[0], inputs=w)
    assert float(cf2(mx.array(3.0)).item()) == 15.0
    w[0] = mx.array(7.0)
    assert float(cf2(mx.array(3.0)).item()) == 21.0  # declared input: read each call


def test_outputs_in_a_tuple_is_a_clear_error():
    state = (mx.array(1.0),)
    cf = mx.compile(lambda x: x, outputs=state)
    with pytest.raises(TypeError, match=r"\[compile\] outputs= holds an array inside a tuple"):
        cf(mx.array(1.0))


# ---- transforms both ways --------------------------------------------------------------
def f_poly(x, y):
    return mx.sum(mx.sin(x) * y + mx.exp(-x * y))


def test_transforms_of_compiled_and_compiled_transforms():
    rng = np.random.default_rng(7)
    x = mx.array(rng.standard_normal((4, 3)).astype(np.float32))
    y = mx.array(rng.standard_normal((4, 3)).astype(np.float32))
    g_ref = mx.grad(f_poly, argnums=(0, 1))(x, y)
    g1 = mx.grad(fresh(f_poly), argnums=(0, 1))(x, y)
    g2 = fresh(mx.grad(f_poly, argnums=(0, 1)))(x, y)
    for a, b, c in zip(g_ref, g1, g2):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.array(c), np.array(a), rtol=1e-5, atol=1e-6)

    # per-sample gradients: vmap(compile(grad)), compile(vmap(grad)), vmap(grad(compile))
    per = mx.vmap(mx.grad(f_poly), in_axes=(0, 0))(x, y)
    for fn in (mx.vmap(fresh(mx.grad(f_poly)), in_axes=(0, 0)),
               fresh(mx.vmap(mx.grad(f_poly), in_axes=(0, 0))),
               mx.vmap(mx.grad(fresh(f_poly)), in_axes=(0, 0))):
        np.testing.assert_allclose(np.array(fn(x, y)), np.array(per), rtol=1e-5, atol=1e-6)

    # jvp / vjp of a compiled function; a Hessian-vector product through compile
    v = mx.ones_like(x)
    _, t_ref = mx.jvp(lambda a: mx.sin(a) * mx.exp(a), (x,), (v,))
    _, t = mx.jvp(fresh(lambda a: mx.sin(a) * mx.exp(a)), (x,), (v,))
    np.testing.assert_allclose(np.array(t[0]), np.array(t_ref[0]), rtol=1e-5, atol=1e-6)
    _, c_ref = mx.vjp(lambda a: mx.sin(a) * mx.exp(a), [x], [v])
    _, c = mx.vjp(fresh(lambda a: mx.sin(a) * mx.exp(a)), [x], [v])
    np.testing.assert_allclose(np.array(c[0]), np.array(c_ref[0]), rtol=1e-5, atol=1e-6)
    hvp_ref = mx.jvp(mx.grad(lambda a: f_poly(a, y)), (x,), (v,))[1][0]
    hvp = fresh(lambda a, t: mx.jvp(mx.grad(lambda b: f_poly(b, y)), (a,), (t,))[1][0])(x, v)
    np.testing.assert_allclose(np.array(hvp), np.array(hvp_ref), rtol=1e-5, atol=1e-5)


def test_vmap_of_fused_chain_with_broadcast_inputs():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    b = rng.standard_normal((6,)).astype(np.float32)
    cf = fresh(lambda x, b: mx.tanh(x * b) + b)
    got = mx.vmap(cf, in_axes=(1, None))(mx.array(x), mx.array(b))  # maps columns of x
    ref = np.stack([np.tanh(x[:, j] * b) + b for j in range(5)])
    np.testing.assert_allclose(np.array(got), ref, rtol=1e-5, atol=1e-6)


def test_checkpoint_and_custom_function_inside():
    @mx.custom_function
    def g(x):
        return mx.exp(x)

    @g.vjp
    def g_vjp(primals, cotangent, output):
        return (cotangent * 2.0,)  # a deliberately different rule, to see it is used

    def f(x):
        return mx.sum(g(x) + mx.checkpoint(lambda t: mx.sin(t) * t)(x))

    x = mx.array([0.1, 0.5, 1.0])
    ref = mx.grad(f)(x)
    np.testing.assert_allclose(np.array(ref), 2.0 + np.sin([0.1, 0.5, 1.0]) +
                               np.array([0.1, 0.5, 1.0]) * np.cos([0.1, 0.5, 1.0]), rtol=1e-5)
    np.testing.assert_allclose(np.array(fresh(mx.grad(f))(x)), np.array(ref), rtol=1e-6)
    np.testing.assert_allclose(np.array(mx.grad(fresh(f))(x)), np.array(ref), rtol=1e-6)


# ---- switches and errors ---------------------------------------------------------------
def test_disable_and_enable_compile():
    calls = []
    cf = fresh(lambda x: (calls.append(1), x * 2)[1])
    mx.disable_compile()
    try:
        cf(mx.array(1.0))
        cf(mx.array(1.0))
        assert len(calls) == 2  # runs the Python function every time
    finally:
        mx.enable_compile()
    cf(mx.array(1.0))
    cf(mx.array(1.0))
    assert len(calls) == 3


def test_environment_switch():
    code = ("import ember.core as mx\ncalls = []\n"
            "f = mx.compile(lambda x: (calls.append(1), x + 1)[1])\n"
            "f(mx.array(1.0)); f(mx.array(1.0))\nprint(len(calls))")
    env = dict(os.environ, EMBER_DISABLE_COMPILE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "2"


def test_reading_a_value_inside_is_a_clear_error():
    cf = fresh(lambda x: x * x.item())
    with pytest.raises(ValueError, match=r"\[compile\] Cannot read the value"):
        cf(mx.array(2.0))
    cf2 = fresh(lambda x: mx.array(np.array(x)) + 1)
    with pytest.raises(ValueError, match=r"\[compile\]"):
        cf2(mx.array(2.0))


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"\[compile\] fun must be callable"):
        mx.compile(3)
    with pytest.raises(TypeError, match=r"\[compile\]"):
        mx.compile(lambda x: x, inputs=mx.array(1.0))(mx.array(1.0))


# ---- memory ----------------------------------------------------------------------------
def test_memory_flat_over_many_compiled_steps():
    rng = np.random.default_rng(9)
    params = {"w": mx.array(rng.standard_normal((64, 64)).astype(np.float32))}
    mom = {"w": mx.zeros((64, 64))}
    x = mx.array(rng.standard_normal((16, 64)).astype(np.float32))
    state = [params, mom]

    @functools.partial(mx.compile, inputs=state, outputs=state)
    def step(x):
        loss, g = mx.value_and_grad(lambda p: mx.mean(mx.tanh(x @ p["w"]) ** 2))(params)
        mom["w"] = 0.9 * mom["w"] + g["w"]
        params["w"] = params["w"] - 0.01 * mom["w"]
        return loss

    def run(n):
        for _ in range(n):
            step(x)
            mx.eval(params, mom)

    run(50)
    gc.collect()
    before = mx.get_active_memory()
    run(1000)
    gc.collect()
    after = mx.get_active_memory()
    assert after <= before + 64 * 1024, (before, after)


def test_module_and_optimizer_state_training_loop():
    """The MLX pattern: partial(mx.compile, inputs=state, outputs=state) around a step that
    updates a Module and an optimizer (Adam) in place; same parameters as the eager loop."""
    import ember.nn as nn
    import ember.optimizers as optim
    from ember.utils import tree_flatten

    def make():
        mx.random.seed(0)

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.l1 = nn.Linear(8, 16)
                self.l2 = nn.Linear(16, 1)

            def __call__(self, x):
                return self.l2(mx.tanh(self.l1(x)))

        return MLP(), optim.Adam(learning_rate=1e-2)

    rng = np.random.default_rng(10)
    x = mx.array(rng.standard_normal((32, 8)).astype(np.float32))
    y = mx.array(rng.standard_normal((32, 1)).astype(np.float32))

    def loss_fn(m, x, y):
        return mx.mean(mx.square(m(x) - y))

    m1, o1 = make()
    vg1 = nn.value_and_grad(m1, loss_fn)
    eager = []
    for _ in range(10):
        loss, g = vg1(m1, x, y)
        o1.update(m1, g)
        mx.eval(m1.parameters(), o1.state)
        eager.append(float(loss.item()))

    m2, o2 = make()
    vg2 = nn.value_and_grad(m2, loss_fn)
    state = [m2, o2.state]
    traced = []

    @functools.partial(mx.compile, inputs=state, outputs=state)
    def step(x, y):
        traced.append(1)
        loss, g = vg2(m2, x, y)
        o2.update(m2, g)
        return loss

    compiled = []
    for _ in range(10):
        compiled.append(float(step(x, y).item()))
        mx.eval(m2.parameters(), o2.state)
    # the first update creates Adam's state (a new structure): one retrace, then replays
    assert len(traced) == 2
    np.testing.assert_allclose(compiled, eager, rtol=1e-5)
    for (_, p), (_, q) in zip(tree_flatten(m1.parameters()), tree_flatten(m2.parameters())):
        np.testing.assert_allclose(np.array(q), np.array(p), rtol=1e-5, atol=1e-6)


def _np_logsumexp(x):
    m = x.max(axis=-1, keepdims=True)
    return (np.log(np.exp(x - m).sum(axis=-1, keepdims=True)) + m)[..., 0]


def logsumexp_rows(x):
    m = mx.stop_gradient(mx.max(x, axis=-1, keepdims=True))
    return mx.log(mx.sum(mx.exp(x - m), axis=-1)) + mx.squeeze(m, -1)


@pytest.mark.parametrize("shape", [(7, 13), (3, 5000), (2, 3, 4099)])
def test_trailing_sum_fuses(shape):
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32) * 3
    cf = fresh(logsumexp_rows)
    np.testing.assert_allclose(np.array(cf(mx.array(x))), _np_logsumexp(x), rtol=1e-5, atol=1e-5)
    assert "Compiled(Subtract, Exp, Sum)" in tape_steps(cf, mx.array(x))
    # sum over every axis, as in a loss
    w, y = (np.random.default_rng(s).standard_normal(shape).astype(np.float32) for s in (12, 13))
    loss = fresh(lambda w, x, y: mx.sum(mx.square(w * x - y)))
    got = loss(mx.array(w), mx.array(x), mx.array(y))
    np.testing.assert_allclose(float(got.item()), float(np.sum((w.astype(np.float64) * x - y) ** 2)),
                               rtol=1e-5)
    assert tape_steps(loss, mx.array(w), mx.array(x), mx.array(y))[0].startswith(
        "Compiled(Multiply, Subtract, Square, Sum)")


def test_trailing_sum_transforms():
    x = mx.array(np.random.default_rng(14).standard_normal((4, 6)).astype(np.float32))
    ref = mx.grad(lambda a: mx.sum(logsumexp_rows(a)))(x)
    got = mx.grad(lambda a: mx.sum(fresh(logsumexp_rows)(a)))(x)
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-5, atol=1e-6)
    per = mx.vmap(fresh(logsumexp_rows), in_axes=1)(x)  # rows of x.T
    np.testing.assert_allclose(np.array(per), _np_logsumexp(np.array(x).T[:, None, :])[:, 0], rtol=1e-5)
    _, t = mx.jvp(fresh(logsumexp_rows), (x,), (mx.ones_like(x),))
    _, t_ref = mx.jvp(logsumexp_rows, (x,), (mx.ones_like(x),))
    np.testing.assert_allclose(np.array(t[0]), np.array(t_ref[0]), rtol=1e-5, atol=1e-6)


def test_random_state_capture():
    """inputs= / outputs= mx.random.state: each compiled call draws the numbers the eager
    calls would have drawn (the key is split inside the graph and written back)."""
    mx.random.seed(3)
    eager = [np.array(mx.random.uniform(shape=(3,)) * 2) for _ in range(3)]
    mx.random.seed(3)
    f = mx.compile(lambda: mx.random.uniform(shape=(3,)) * 2, inputs=mx.random.state,
                   outputs=mx.random.state)
    got = [np.array(f()) for _ in range(3)]
    for e, g in zip(eager, got):
        np.testing.assert_allclose(g, e, rtol=1e-6)
    assert not np.allclose(got[0], got[1])


def test_nested_compiled_functions_with_state_run_inline():
    # A compiled function called while another is traced joins the outer trace (MLX's
    # behaviour); before, it traced on its own and captured the outer placeholders.
    import ember.nn as nn
    import ember.optimizers as optim

    model, opt = nn.Linear(5, 3), optim.SGD(learning_rate=0.1)
    ref_model, ref_opt = nn.Linear(5, 3), optim.SGD(learning_rate=0.1)
    ref_model.update(model.parameters())
    x, y = mx.ones((4, 5)), mx.array([0, 1, 2, 1])
    loss = lambda m, a, b: nn.losses.cross_entropy(m(a), b, reduction="mean")
    lg, ref_lg = nn.value_and_grad(model, loss), nn.value_and_grad(ref_model, loss)

    @mx.compile
    def inner(a, b):
        l, g = lg(model, a, b)
        opt.update(model, g)
        return l

    state = [model.state, opt.state]
    step = mx.compile(lambda a, b: inner(a, b), inputs=state, outputs=state)
    for _ in range(3):
        got = step(x, y)
        want, g = ref_lg(ref_model, x, y)
        ref_opt.update(ref_model, g)
        np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-6)
    np.testing.assert_allclose(np.array(model.weight), np.array(ref_model.weight), rtol=1e-6)


def test_failed_trace_leaves_model_and_optimizer_state_as_they_were():
    import ember.nn as nn
    import ember.optimizers as optim

    model, opt = nn.Linear(5, 3), optim.Adam(learning_rate=0.1)
    w0, keys0 = model.weight, sorted(opt.state.keys())
    x, y = mx.ones((4, 5)), mx.array([0, 1, 2, 1])
    lg = nn.value_and_grad(model, lambda m, a, b: nn.losses.cross_entropy(m(a), b, reduction="mean"))

    def reads_a_value(a, b):
        l, g = lg(model, a, b)
        opt.update(model, g)
        l.item()  # not allowed while tracing
        return l

    state = [model.state, opt.state]
    with pytest.raises(ValueError, match="compile"):
        mx.compile(reads_a_value, inputs=state, outputs=state)(x, y)
    assert model.weight is w0 and sorted(opt.state.keys()) == keys0
    l, g = lg(model, x, y)  # the uncompiled step still works on the same objects
    opt.update(model, g)
    mx.eval(model.parameters(), opt.state)
    assert np.isfinite(l.item())
