"""Convolutions (conv1d/2d/3d, conv_general, conv_transpose*) against direct numpy loops
written from the definitions, plus gradients (finite differences in float64) and vmap."""
import itertools

import numpy as np
import pytest

import ember.core as mx


def f64(x):
    """An ember float64 array (mx.array of a float64 numpy array gives float32, as in MLX)."""
    return mx.array(x, dtype=mx.float64)

RNG = np.random.default_rng(5)


def np_conv(x, w, stride, lo, hi, kdil, idil, groups=1, flip=False):
    """out[n, o..., c] = sum_{k..., j} xp[n, o*s + k*kd, ..., g*cg + j] w[c, k..., j]."""
    nd = x.ndim - 2
    if flip:
        w = np.flip(w, axis=tuple(range(1, nd + 1)))
    shape = [x.shape[0]] + [(s - 1) * d + 1 for s, d in zip(x.shape[1:-1], idil)] + [x.shape[-1]]
    xd = np.zeros(shape, x.dtype)
    xd[(slice(None),) + tuple(slice(None, None, d) for d in idil)] = x
    pads = [(0, 0)] + [(max(a, 0), max(b, 0)) for a, b in zip(lo, hi)] + [(0, 0)]
    xp = np.pad(xd, pads)
    xp = xp[(slice(None),) + tuple(slice(max(-a, 0), xp.shape[1 + i] - max(-b, 0))
                                   for i, (a, b) in enumerate(zip(lo, hi)))]
    ks = w.shape[1:-1]
    outs = [(xp.shape[1 + i] - ((ks[i] - 1) * kdil[i] + 1)) // stride[i] + 1 for i in range(nd)]
    co, cg = w.shape[0], w.shape[-1]
    og = co // groups
    out = np.zeros([x.shape[0]] + outs + [co])
    for o in itertools.product(*[range(v) for v in outs]):
        for k in itertools.product(*[range(v) for v in ks]):
            pos = tuple(o[i] * stride[i] + k[i] * kdil[i] for i in range(nd))
            patch = xp[(slice(None),) + pos]  # (N, C_in)
            for g in range(groups):
                out[(slice(None),) + o + (slice(g * og, (g + 1) * og),)] += \
                    patch[:, g * cg:(g + 1) * cg] @ w[(slice(g * og, (g + 1) * og),) + k].T
    return out


CASES = [
    # (x shape, w shape, kwargs for conv_general)
    ((2, 9, 4), (6, 3, 4), dict()),
    ((2, 9, 4), (6, 3, 2), dict(groups=2, stride=2, padding=1)),
    ((1, 7, 8, 3), (5, 3, 2, 3), dict(stride=(2, 1), padding=([1, 0], [2, 1]), kernel_dilation=(1, 2))),
    ((1, 5, 6, 2), (3, 2, 3, 2), dict(input_dilation=2, flip=True, padding=1)),
    ((1, 4, 5, 4, 2), (3, 2, 2, 2, 2), dict(padding=1)),
]


def _args(xs, ws, kw):
    nd = len(xs) - 2
    per = lambda v: [v] * nd if isinstance(v, int) else list(v)  # noqa: E731
    pad = kw.get("padding", 0)
    lo, hi = (per(pad[0]), per(pad[1])) if isinstance(pad, tuple) else (per(pad), per(pad))
    return (per(kw.get("stride", 1)), lo, hi, per(kw.get("kernel_dilation", 1)),
            per(kw.get("input_dilation", 1)), kw.get("groups", 1), kw.get("flip", False))


@pytest.mark.parametrize("xs,ws,kw", CASES)
def test_conv_general_matches_definition(xs, ws, kw):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    got = mx.conv_general(f64(x), f64(w), **kw)
    np.testing.assert_allclose(got, np_conv(x, w, *_args(xs, ws, kw)), rtol=1e-10, atol=1e-10)


def test_convnd_and_transpose_match_definition():
    x, w = RNG.standard_normal((2, 8, 3)), RNG.standard_normal((4, 3, 3))
    np.testing.assert_allclose(mx.conv1d(f64(x), f64(w), stride=2, padding=1, dilation=2),
                               np_conv(x, w, [2], [1], [1], [2], [1]), atol=1e-10)
    x2, w2 = RNG.standard_normal((1, 5, 6, 2)), RNG.standard_normal((3, 2, 2, 2))
    np.testing.assert_allclose(mx.conv2d(f64(x2), f64(w2), padding=(1, 0)),
                               np_conv(x2, w2, [1, 1], [1, 0], [1, 0], [1, 1], [1, 1]), atol=1e-10)
    # transposed: each input element scatters w (flipped) at stride s
    y = mx.conv_transpose1d(f64(x), f64(w), stride=2, padding=1, output_padding=1)
    ref = np_conv(x, w, [1], [2 - 1], [2 - 1 + 1], [1], [2], flip=True)
    np.testing.assert_allclose(y, ref, atol=1e-10)


def test_conv_transpose_is_the_adjoint_of_conv():
    # <conv(x, w), y> = <x, conv_transpose(y, w^T)> with w^T swapping C_in and C_out
    x, w = RNG.standard_normal((2, 9, 3)), RNG.standard_normal((4, 3, 3))
    y = RNG.standard_normal((2, 4, 4))
    lhs = np.sum(np.asarray(mx.conv1d(f64(x), f64(w), stride=2)) * y)
    wt = np.transpose(w, (2, 1, 0))
    back = mx.conv_transpose1d(f64(y), f64(wt), stride=2, output_padding=0)
    rhs = np.sum(np.asarray(back)[:, :9] * x)
    assert abs(lhs - rhs) < 1e-9 * (1 + abs(lhs))


def test_conv_gradients_match_finite_differences():
    x, w = RNG.standard_normal((1, 6, 5, 2)), RNG.standard_normal((3, 3, 2, 2))
    u = RNG.standard_normal((1, 3, 2, 3))
    f = lambda a, b: mx.sum(mx.conv2d(a, b, stride=2, padding=(1, 0)) * f64(u))  # noqa: E731
    gx, gw = mx.grad(f, argnums=(0, 1))(f64(x), f64(w))
    for g, i in ((gx, 0), (gw, 1)):
        v = RNG.standard_normal(g.shape)
        eps = 1e-6
        args_p = [f64(x), f64(w)]
        args_m = [f64(x), f64(w)]
        args_p[i] = args_p[i] + eps * f64(v)
        args_m[i] = args_m[i] - eps * f64(v)
        fd = (float(f(*args_p)) - float(f(*args_m))) / (2 * eps)
        assert abs(fd - float(np.sum(np.asarray(g) * v))) < 1e-6 * (1 + abs(fd))


def test_conv_vmap_matches_loop():
    xs = RNG.standard_normal((3, 1, 7, 2)).astype(np.float32)
    w = f64(RNG.standard_normal((4, 3, 2)).astype(np.float32))
    got = mx.vmap(lambda a: mx.conv1d(a, w, padding=1))(f64(xs))
    for i in range(3):
        np.testing.assert_allclose(got[i], mx.conv1d(f64(xs[i]), w, padding=1), rtol=1e-5, atol=1e-5)


def test_conv_errors():
    with pytest.raises(ValueError, match=r"\[conv2d\] Expected input"):
        mx.conv2d(mx.zeros((1, 4, 3)), mx.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"\[conv1d\] With groups=2"):
        mx.conv1d(mx.zeros((1, 5, 3)), mx.zeros((4, 2, 3)), groups=2)
    with pytest.raises(ValueError, match=r"\[conv1d\].*smaller than the dilated kernel"):
        mx.conv1d(mx.zeros((1, 2, 3)), mx.zeros((4, 5, 3)))
