"""Generic gradient checks over the op table (every row with grad=True).

For each op and case, in float64:
  * vjp against central finite differences along a random direction v:
    <u, (f(x + eps v) - f(x - eps v)) / 2 eps>  ==  sum_i <vjp_i(u), v_i>
  * jvp against vjp: <u, J v> computed both ways;
  * second order for smooth ops: the jvp of the gradient of h(x) = <u, f(x)> against
    finite differences of that gradient (forward-over-reverse, so the rules' own rules
    are exercised).
"""
import numpy as np
import pytest

import ember.core as mx
from op_table import ALL_ROWS, default_make, to_mx

MAX_CASES = 3
EPS = 1e-6


def _cases(flag):
    out = []
    for row in ALL_ROWS:
        if not getattr(row, flag) or (flag == "smooth" and not row.grad):
            continue
        if "float64" not in row.dtypes and "float32" not in row.dtypes:
            continue
        n = 0
        for shapes, kw in row.cases():
            if n >= MAX_CASES:
                break
            # Cases whose output is not float64 for float64 inputs (astype to another
            # dtype) have nothing to compare finite differences against in float64.
            od = getattr(row, "out_dtype", None)
            if od is not None and od(("float64",) * len(shapes), kw) != "float64":
                continue
            n += 1
            out.append(pytest.param(row, shapes, kw, id=f"{row.name}-{shapes}-{kw}"))
    return out


def _setup(row, shapes, kw, seed=0):
    rng = np.random.default_rng(seed)
    make = row.make or default_make
    inputs = make(rng, shapes, "float64")
    diff = list(row.grad_args) if row.grad_args is not None else [
        i for i, x in enumerate(inputs) if np.asarray(x).dtype.kind == "f"]
    consts = [to_mx(x) for x in inputs]

    def f(*xs):
        args = list(consts)
        for i, x in zip(diff, xs):
            args[i] = x
        return row.ember(*args, **kw)

    x = [to_mx(np.asarray(inputs[i], dtype=np.float64)) for i in diff]
    out = f(*x)
    if not isinstance(out, mx.array) or out.dtype != mx.float64:
        pytest.skip(f"{row.name} does not give a float64 output for float64 inputs")
    u = to_mx(rng.standard_normal(out.shape))
    v = [to_mx(rng.standard_normal(xi.shape)) for xi in x]
    return f, x, u, v, out


def _dot(a, b):
    return float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))


def _fd(f, x, v):
    plus = f(*[xi + EPS * vi for xi, vi in zip(x, v)])
    minus = f(*[xi - EPS * vi for xi, vi in zip(x, v)])
    return (np.asarray(plus, np.float64) - np.asarray(minus, np.float64)) / (2 * EPS)


def _close(a, b, tol=1e-5):
    assert abs(a - b) <= tol * (1 + abs(a) + abs(b)), f"{a} != {b}"


@pytest.mark.parametrize("row,shapes,kw", _cases("grad"))
def test_vjp_matches_finite_differences(row, shapes, kw, device):
    with mx.stream(device):
        _test_vjp_matches_finite_differences(row, shapes, kw)


def _test_vjp_matches_finite_differences(row, shapes, kw):
    f, x, u, v, _ = _setup(row, shapes, kw)
    _, grads = mx.vjp(f, x, [u])
    for g, xi in zip(grads, x):
        assert g.shape == xi.shape and g.dtype == xi.dtype
    _close(_dot(u, _fd(f, x, v)), sum(_dot(g, vi) for g, vi in zip(grads, v)))


@pytest.mark.parametrize("row,shapes,kw", _cases("grad"))
def test_jvp_matches_vjp(row, shapes, kw, device):
    with mx.stream(device):
        _test_jvp_matches_vjp(row, shapes, kw)


def _test_jvp_matches_vjp(row, shapes, kw):
    f, x, u, v, out = _setup(row, shapes, kw)
    outs, tangents = mx.jvp(f, x, v)
    assert tangents[0].shape == out.shape
    np.testing.assert_allclose(np.asarray(outs[0]), np.asarray(out), rtol=1e-12, atol=1e-12)
    _, grads = mx.vjp(f, x, [u])
    _close(_dot(u, tangents[0]), sum(_dot(g, vi) for g, vi in zip(grads, v)), tol=1e-9)


@pytest.mark.parametrize("row,shapes,kw", _cases("smooth"))
def test_second_order(row, shapes, kw, device):
    with mx.stream(device):
        _test_second_order(row, shapes, kw)


def _test_second_order(row, shapes, kw):
    f, x, u, v, _ = _setup(row, shapes, kw)

    def h_grad(*xs):
        h = lambda *ys: mx.sum(f(*ys) * u)
        g = mx.grad(h, argnums=tuple(range(len(xs))))(*xs)
        return list(g)

    _, tangents = mx.jvp(h_grad, x, v)
    plus = h_grad(*[xi + EPS * vi for xi, vi in zip(x, v)])
    minus = h_grad(*[xi - EPS * vi for xi, vi in zip(x, v)])
    w = [to_mx(np.random.default_rng(1).standard_normal(xi.shape)) for xi in x]
    fd = sum(_dot(wi, (np.asarray(p) - np.asarray(m)) / (2 * EPS)) for wi, p, m in zip(w, plus, minus))
    _close(sum(_dot(wi, t) for wi, t in zip(w, tangents)), fd, tol=1e-4)


@pytest.mark.parametrize("row,shapes,kw", _cases("grad"))
def test_stop_gradient_blocks(row, shapes, kw, device):
    with mx.stream(device):
        _test_stop_gradient_blocks(row, shapes, kw)


def _test_stop_gradient_blocks(row, shapes, kw):
    f, x, u, v, _ = _setup(row, shapes, kw)
    g = lambda *xs: f(*[mx.stop_gradient(xi) for xi in xs]) * 1.0
    _, grads = mx.vjp(g, x, [u])
    for gi in grads:
        assert not np.any(np.asarray(gi))
    _, tangents = mx.jvp(g, x, v)
    assert not np.any(np.asarray(tangents[0]))
