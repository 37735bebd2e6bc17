"""mx.fft beyond the op table: gradients (vjp against finite differences of real-valued
wrappers, jvp against vjp, vmap of grad), round trips, long and awkward lengths against
numpy, and argument errors."""
import numpy as np
import pytest

import ember.core as mx

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("n", [1, 2, 3, 16, 17, 100, 1024, 1000, 4099, 2 ** 16])
def test_lengths_match_numpy(n):
    x = (RNG.standard_normal(n) + 1j * RNG.standard_normal(n)).astype(np.complex64)
    ref = np.fft.fft(x.astype(np.complex128))
    got = np.asarray(mx.fft.fft(mx.array(x)))
    scale = np.abs(ref).max() + 1
    assert np.abs(got - ref).max() / scale < 1e-5 * max(1, np.log2(n))
    back = np.asarray(mx.fft.ifft(mx.fft.fft(mx.array(x))))
    np.testing.assert_allclose(back, x, rtol=1e-4, atol=1e-4)


def test_real_round_trips():
    x = RNG.standard_normal((3, 10)).astype(np.float32)
    np.testing.assert_allclose(mx.fft.irfft(mx.fft.rfft(mx.array(x)), n=10), x, atol=1e-5)
    y = RNG.standard_normal((4, 6, 5)).astype(np.float32)
    np.testing.assert_allclose(mx.fft.irfftn(mx.fft.rfftn(mx.array(y)), s=y.shape), y, atol=1e-5)


def _real_wrapper(op, w):
    """A real-valued function of x: <w, [re(op(x)), im(op(x))]> (imag 0 for real outputs)."""
    def f(x):
        y = op(x)
        if y.dtype == mx.complex64:
            return mx.sum(mx.real(y) * w[0] + mx.imag(y) * w[1])
        return mx.sum(y * w[0])
    return f


CASES = [
    ("fft", lambda x: mx.fft.fft(x), (6,), "float32"),
    ("fft_n", lambda x: mx.fft.fft(x, n=9), (6,), "float32"),
    ("ifft", lambda x: mx.fft.ifft(x, norm="ortho"), (5,), "float32"),
    ("rfft", lambda x: mx.fft.rfft(x), (7,), "float32"),
    ("fft2", lambda x: mx.fft.fft2(x), (3, 4), "float32"),
    ("rfftn", lambda x: mx.fft.rfftn(x, norm="forward"), (4, 6), "float32"),
    ("irfft", lambda x: mx.fft.irfft(x, n=8), (5,), "complex64"),
]


def _input(shape, dtype):
    x = RNG.standard_normal(shape)
    if dtype == "complex64":
        x = x + 1j * RNG.standard_normal(shape)
    return mx.array(x.astype(dtype))


@pytest.mark.parametrize("name,op,shape,dtype", CASES, ids=[c[0] for c in CASES])
def test_vjp_matches_finite_differences(name, op, shape, dtype):
    x = _input(shape, dtype)
    out = op(x)
    w = (mx.array(RNG.standard_normal(out.shape).astype(np.float32)),
         mx.array(RNG.standard_normal(out.shape).astype(np.float32)))
    f = _real_wrapper(op, w)
    if dtype == "complex64":
        # differentiate with respect to the real and imaginary parts separately
        re, im = mx.real(x), mx.imag(x)
        g = lambda a, b: f(a + 1j * b)  # noqa: E731
        ga, gb = mx.grad(g, argnums=(0, 1))(re, im)
        args, grads = [re, im], [ga, gb]
        fn = g
    else:
        args, grads, fn = [x], [mx.grad(f)(x)], f
    eps = 1e-2
    for i, (a, gi) in enumerate(zip(args, grads)):
        v = mx.array(RNG.standard_normal(a.shape).astype(np.float32))
        plus = [b + eps * v if j == i else b for j, b in enumerate(args)]
        minus = [b - eps * v if j == i else b for j, b in enumerate(args)]
        fd = (float(fn(*plus)) - float(fn(*minus))) / (2 * eps)
        assert abs(fd - float(mx.sum(gi * v))) < 1e-3 * (1 + abs(fd))


def test_jvp_matches_vjp_and_vmap_of_grad():
    x = _input((8,), "float32")
    f = lambda t: mx.sum(mx.real(mx.fft.rfft(t)) * mx.imag(mx.fft.rfft(t)))  # noqa: E731
    v = mx.array(RNG.standard_normal(8).astype(np.float32))
    _, (tangent,) = mx.jvp(f, (x,), (v,))
    np.testing.assert_allclose(float(tangent), float(mx.sum(mx.grad(f)(x) * v)), rtol=1e-4)
    xs = mx.array(RNG.standard_normal((4, 8)).astype(np.float32))
    batched = mx.vmap(mx.grad(f))(xs)
    for i in range(4):
        np.testing.assert_allclose(batched[i], mx.grad(f)(xs[i]), rtol=1e-5, atol=1e-5)
    # Parseval: sum |fft(x)|^2 = n sum x^2, so the gradient is 2 n x (written with real and
    # imag, whose rules follow the same transpose convention as FFT's)
    g = mx.grad(lambda t: mx.sum(mx.real(mx.fft.fft(t)) ** 2 + mx.imag(mx.fft.fft(t)) ** 2))(x)
    np.testing.assert_allclose(g, 2 * 8 * np.asarray(x), rtol=1e-4, atol=1e-4)


def test_errors():
    with pytest.raises(ValueError, match=r"\[fft.fft\] norm"):
        mx.fft.fft(mx.zeros((4,)), norm="sideways")
    with pytest.raises(ValueError, match=r"\[fft.fft\] Invalid number of points"):
        mx.fft.fft(mx.zeros((4,)), n=0)
    with pytest.raises(TypeError, match=r"\[fft.rfft\].*real input"):
        mx.fft.rfft(mx.zeros((4,), dtype=mx.complex64))
    with pytest.raises(ValueError, match=r"\[fft.fftn\] s and axes"):
        mx.fft.fftn(mx.zeros((4, 4)), s=(4,), axes=(0, 1))


def _np_stft(x, n_fft, hop, window, center, pad_mode):
    if center:
        p = n_fft // 2
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(p, p)], mode=pad_mode)
    n_frames = 1 + (x.shape[-1] - n_fft) // hop
    frames = np.stack([x[..., t * hop: t * hop + n_fft] for t in range(n_frames)], axis=-2)
    return np.swapaxes(np.fft.rfft(frames * window, axis=-1), -1, -2)


@pytest.mark.parametrize("pad_mode", ["reflect", "constant", "edge"])
def test_stft_matches_definition(pad_mode):
    x = RNG.standard_normal((2, 50)).astype(np.float32)
    win = np.hanning(16).astype(np.float32)
    got = mx.fft.stft(mx.array(x), n_fft=16, hop_length=4, window=mx.array(win),
                      pad_mode=pad_mode)
    ref = _np_stft(x, 16, 4, win, True, pad_mode)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    # a shorter window is centered inside the frame
    got = mx.fft.stft(mx.array(x), n_fft=16, hop_length=5, win_length=8, center=False)
    ref = _np_stft(x, 16, 5, np.pad(np.ones(8), (4, 4)), False, None)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_istft_inverts_stft():
    x = RNG.standard_normal((3, 64)).astype(np.float32)
    win = mx.array(np.hanning(32).astype(np.float32) + 0.1)
    s = mx.fft.stft(mx.array(x), n_fft=32, hop_length=8, window=win)
    back = mx.fft.istft(s, n_fft=32, hop_length=8, window=win, length=64)
    np.testing.assert_allclose(back, x, rtol=1e-4, atol=1e-4)
    g = mx.grad(lambda t: mx.sum(mx.abs(mx.fft.stft(t, n_fft=8)) ** 2))(mx.array(x[0]))
    assert g.shape == (64,) and np.all(np.isfinite(np.asarray(g)))
