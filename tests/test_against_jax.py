"""ember's transforms against JAX's on the same functions: grads, jvps, vjps, vmaps of
grads, Hessians and jacobians. JAX (CPU) is an optional test dependency; .ci/run
installs it so these run in CI."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy
jax.config.update("jax_enable_x64", True)

import ember.core as mx  # noqa: E402


def close(a, b, tol=1e-9):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


# Each function is written once against a namespace `m` that is either ember or jnp.
def f_mlp(m, w1, w2, x):
    return m.sum(m.tanh(m.tanh(x @ w1) @ w2) ** 2)


def f_elementwise(m, x):
    return m.sum(m.sin(x) * m.exp(-x * x) + m.log1p(x * x) / (1 + m.sqrt(x * x + 1)))


def f_reductions(m, x):
    return m.sum(m.logaddexp(x, 0.5 * x)) + m.max(x, axis=0).sum() + m.mean(x ** 3) - m.prod(x[0])


def f_shapes(m, x):
    y = m.transpose(m.reshape(x, (2, 6)), (1, 0))
    z = m.concatenate([y[::2], y[1::2] * 2.0], axis=1)
    return m.sum(m.cumsum(z, axis=0) * m.softmax(z, axis=-1) if m is mx else
                 jnp.cumsum(z, axis=0) * jax.nn.softmax(z, axis=-1))


rng = np.random.default_rng(0)
W1 = rng.standard_normal((4, 5)) * 0.5
W2 = rng.standard_normal((5, 3)) * 0.5
X = rng.standard_normal((6, 4))
V = rng.standard_normal(12).reshape(3, 4)


def em(a):
    return mx.array(np.asarray(a, np.float64), dtype=mx.float64)


def test_grads_match():
    g = mx.grad(lambda a, b, c: f_mlp(mx, a, b, c), argnums=(0, 1))(em(W1), em(W2), em(X))
    gj = jax.grad(lambda a, b, c: f_mlp(jnp, a, b, c), argnums=(0, 1))(W1, W2, X)
    for a, b in zip(g, gj):
        close(a, b)
    close(mx.grad(lambda x: f_elementwise(mx, x))(em(V)), jax.grad(lambda x: f_elementwise(jnp, x))(V))
    close(mx.grad(lambda x: f_reductions(mx, x))(em(V)), jax.grad(lambda x: f_reductions(jnp, x))(V))
    close(mx.grad(lambda x: f_shapes(mx, x))(em(V)), jax.grad(lambda x: f_shapes(jnp, x))(V))


def test_jvp_and_vjp_match():
    t = rng.standard_normal(V.shape)
    _, te = mx.jvp(lambda x: mx.sin(x) * mx.cumsum(x, axis=1), [em(V)], [em(t)])
    _, tj = jax.jvp(lambda x: jnp.sin(x) * jnp.cumsum(x, axis=1), (V,), (t,))
    close(te[0], tj)
    ct = rng.standard_normal((3, 4))
    _, ve = mx.vjp(lambda x: mx.tanh(x) @ mx.transpose(x), [em(V)], [em(ct[:, :3])])
    _, fj = jax.vjp(lambda x: jnp.tanh(x) @ x.T, V)
    close(ve[0], fj(ct[:, :3])[0])


def test_per_sample_grads_match():
    xs = rng.standard_normal((7, 4))
    ys = rng.standard_normal((7, 3))

    def loss(m, w1, w2, x, y):
        return m.sum((m.tanh(x @ w1) @ w2 - y) ** 2)

    pe = mx.vmap(mx.grad(lambda a, b, x, y: loss(mx, a, b, x, y), argnums=(0, 1)),
                 in_axes=(None, None, 0, 0))(em(W1), em(W2), em(xs), em(ys))
    pj = jax.vmap(jax.grad(lambda a, b, x, y: loss(jnp, a, b, x, y), argnums=(0, 1)),
                  in_axes=(None, None, 0, 0))(W1, W2, xs, ys)
    for a, b in zip(pe, pj):
        close(a, b)


def test_hessian_and_jacobians_match():
    x = rng.standard_normal(5)
    h = lambda m: (lambda x: m.sum(m.sin(x) * m.cos(x[::-1]) * x ** 2))
    close(mx.hessian(h(mx))(em(x)), jax.hessian(h(jnp))(x))
    g = lambda m: (lambda x: m.tanh(x[:3] * x[2:]) ** 2)
    close(mx.jacrev(g(mx))(em(x)), jax.jacrev(g(jnp))(x))
    close(mx.jacfwd(g(mx))(em(x)), jax.jacfwd(g(jnp))(x))


def test_hvp_of_mlp_matches():
    v1, v2 = rng.standard_normal(W1.shape), rng.standard_normal(W2.shape)
    fe = lambda a, b: f_mlp(mx, a, b, em(X))
    fj = lambda a, b: f_mlp(jnp, a, b, X)
    _, te = mx.jvp(mx.grad(fe, argnums=(0, 1)), [em(W1), em(W2)], [em(v1), em(v2)])
    _, tj = jax.jvp(jax.grad(fj, argnums=(0, 1)), (W1, W2), (v1, v2))
    close(te[0][0] if isinstance(te[0], (tuple, list)) else te[0], tj[0])
