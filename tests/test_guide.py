"""Every example of the function-transforms guide (shared/seed/function-transforms.md),
in the working form that SPEC-NOTES gives, with its mathematically right answer."""
import numpy as np
import pytest

import ember.core as mx


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


w = mx.array(0.5)
x = mx.array([1.0, 2.0, 3.0])
y = mx.array([1.0, 1.5, 2.0])


def loss_fn(w, x, y):
    return mx.mean(mx.square(w * x - y))


def test_basic_gradient():
    dloss_dw = mx.grad(loss_fn)(w, x, y)
    xn, yn = np.asarray(x), np.asarray(y)
    close(dloss_dw, np.mean(2 * (0.5 * xn - yn) * xn))


def test_higher_order():
    d2fdx2 = mx.grad(mx.grad(mx.sin))
    d3fdx3 = mx.grad(mx.grad(mx.grad(mx.sin)))
    close(d2fdx2(mx.array(0.0)), 0.0)
    close(d3fdx3(mx.array(0.0)), -1.0)


def test_multiple_arguments():
    xn, yn = np.asarray(x), np.asarray(y)
    r = 0.5 * xn - yn
    dloss_dx = mx.grad(loss_fn, argnums=1)(w, x, y)
    close(dloss_dx, 2 * r * 0.5 / 3)
    dloss_dw, dloss_dx = mx.grad(loss_fn, argnums=[0, 1])(w, x, y)
    close(dloss_dw, np.mean(2 * r * xn))
    close(dloss_dx, 2 * r * 0.5 / 3)


def test_value_and_grad():
    loss, gradient = mx.value_and_grad(loss_fn)(w, x, y)
    assert isinstance(loss.item(), float)
    close(loss, loss_fn(w, x, y))
    close(gradient, mx.grad(loss_fn)(w, x, y))
    assert "array(" in f"{gradient}"


def test_complex_parameter_structures():
    def loss_fn(params, x, y):
        return mx.mean(mx.square(params["weight"] * x - y))

    params = {"weight": mx.array(1.0), "bias": mx.array(0.0)}
    grads = mx.grad(loss_fn)(params, x, y)
    assert set(grads) == {"weight", "bias"}
    close(grads["bias"], 0.0)  # SPEC-NOTES 2: zeros for an unused array leaf
    close(grads["weight"], np.mean(2 * (np.asarray(x) - np.asarray(y)) * np.asarray(x)))


def test_stop_gradient():
    def loss_fn(x, y):
        y_stopped = mx.stop_gradient(y)
        return mx.mean(mx.square(x - y_stopped))

    dx, dy = mx.grad(loss_fn, argnums=(0, 1))(x, y)  # SPEC-NOTES 1
    close(dx, 2 * (np.asarray(x) - np.asarray(y)) / 3)
    close(dy, np.zeros(3))


def test_vmap_add():
    vmap_add = mx.vmap(lambda x, y: x + y, in_axes=(0, 1))
    x_batch = mx.random.normal((32, 10))
    y_batch = mx.random.normal((10, 32))
    result = vmap_add(x_batch, y_batch)
    assert result.shape == (32, 10)
    close(result, np.asarray(x_batch) + np.asarray(y_batch).T)


def test_vmap_outer_product_sizes_differ():
    vmap_fn = mx.vmap(lambda x, y: mx.outer(x, y), in_axes=(0, 1), out_axes=0)
    x_batch = mx.random.normal((32, 10))
    y_batch = mx.random.normal((20, 10))
    with pytest.raises(ValueError, match=r"size 32.*size 10"):  # SPEC-NOTES 4
        vmap_fn(x_batch, y_batch)
    # With matching sizes it is a batch of outer products.
    y_ok = mx.random.normal((20, 32))
    r = vmap_fn(x_batch, y_ok)
    assert r.shape == (32, 10, 20)
    close(r[3], np.outer(np.asarray(x_batch)[3], np.asarray(y_ok)[:, 3]), tol=1e-4)


def test_vmap_broadcasting():
    vmap_fn = mx.vmap(lambda x, scale, bias: scale * x + bias, in_axes=(0, None, None))
    x_batch = mx.random.normal((32, 10))
    result = vmap_fn(x_batch, mx.array(2.0), mx.array(1.0))
    close(result, 2 * np.asarray(x_batch) + 1)


def test_jvp():
    def f(x):
        return mx.array([mx.sin(x[0]), mx.cos(x[1])])

    result = mx.jvp(f, (mx.array([1.0, 2.0]),), (mx.array([1.0, 0.0]),))
    outputs, tangents = result
    close(tangents[0], [np.cos(1.0), 0.0])


def test_vjp():
    def f(x):
        return mx.array([mx.sum(x ** 2), mx.sum(mx.sin(x))])

    x = mx.array([1.0, 2.0, 3.0])
    v = mx.array([1.0, 0.0])
    primals, vjp_fn = mx.vjp(f, x)
    close(vjp_fn(v), 2 * np.asarray(x))


def test_composition_per_sample_and_hvp():
    rng = np.random.default_rng(0)
    model_params = {"w": mx.array(rng.standard_normal((3, 2)).astype(np.float32))}

    def model(p, x):
        return mx.tanh(x @ p["w"])

    def batch_loss(model_params, x_batch, y_batch):
        logits = model(model_params, x_batch)
        return mx.mean(mx.square(logits - y_batch))

    xb = mx.array(rng.standard_normal((6, 3)).astype(np.float32))
    yb = mx.array(rng.standard_normal((6, 2)).astype(np.float32))
    grad_per_sample = mx.vmap(mx.grad(batch_loss), in_axes=(None, 0, 0))
    per = grad_per_sample(model_params, xb, yb)
    assert per["w"].shape == (6, 3, 2)
    for i in range(6):
        close(per["w"][i], mx.grad(batch_loss)(model_params, xb[i], yb[i])["w"])

    # Hessian-vector products (SPEC-NOTES 8): jvp of grad, vmapped over several v.
    wv = model_params["w"]
    f = lambda w: batch_loss({"w": w}, xb, yb)
    hvp = lambda v: mx.jvp(mx.grad(f), (wv,), (v,))[1][0]
    vs = mx.array(rng.standard_normal((4, 3, 2)).astype(np.float32))
    batched = mx.vmap(hvp)(vs)
    for i in range(4):
        close(batched[i], hvp(vs[i]), tol=1e-4)


def test_training_example():
    import ember.nn as nn
    import ember.optimizers as optim
    from ember.utils import tree_map

    class SimpleNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(10, 20)
            self.fc2 = nn.Linear(20, 1)

        def __call__(self, x):
            x = mx.relu(self.fc1(x))
            return self.fc2(x)

    mx.random.seed(0)
    model = SimpleNet()

    def loss_fn(model, x, y):
        pred = model(x)
        return mx.mean(mx.square(pred - y))

    loss_and_grad = mx.value_and_grad(model, loss_fn)  # SPEC-NOTES 9
    xb = mx.random.normal((32, 10))
    yb = mx.sum(xb[:, :3], axis=1, keepdims=True)
    first = loss_fn(model, xb, yb).item()
    optimizer = optim.SGD(learning_rate=0.05)
    for step in range(60):
        loss, grads = loss_and_grad(model, xb, yb)
        if step % 2:
            optimizer.update(model, grads)
        else:  # the by-hand form
            model.update(tree_map(lambda p, g: p - 0.05 * g, model.parameters(), grads))
        mx.eval(model.parameters())
    assert loss_fn(model, xb, yb).item() < 0.5 * first
