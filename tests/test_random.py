"""ember.core.random: Threefry bits against a numpy reference, keys and the global
state, distribution moments against theory, ranges, dtypes, errors, and the
transform rules (vmap over keys, no gradient into keys)."""
import math

import numpy as np
import pytest

import ember.core as mx

N = 100_000  # samples for moment checks: standard errors of ~0.3%


def key(seed):
    return mx.random.key(seed)


def np_keys(k, num):
    """num split keys, as a numpy (num, 2) array (rows can be wrapped by mx.array)."""
    return np.array(mx.random.split(k, num))


# ---- a numpy Threefry-2x32 reference ----------------------------------------

ROT = [13, 15, 26, 6, 17, 29, 16, 24]


def threefry_ref(k0, k1, x0, x1):
    """Threefry-2x32, 20 rounds, vectorized over counter arrays (uint32)."""
    x0 = np.array(x0, dtype=np.uint32)
    x1 = np.array(x1, dtype=np.uint32)
    ks = [np.uint32(k0), np.uint32(k1), np.uint32(0x1BD11BDA ^ k0 ^ k1)]
    x0 = x0 + ks[0]
    x1 = x1 + ks[1]
    for r in range(20):
        x0 = x0 + x1
        rot = ROT[r % 8]
        x1 = (x1 << np.uint32(rot)) | (x1 >> np.uint32(32 - rot))
        x1 = x1 ^ x0
        if r % 4 == 3:
            s = r // 4 + 1
            x0 = x0 + ks[s % 3]
            x1 = x1 + ks[(s + 1) % 3] + np.uint32(s)
    return x0, x1


def bits_ref(k0, k1, n, width):
    """A key's stream: blocks threefry(key, c), c = 0, 1, ...; elements are its bytes."""
    blocks = -(-n * width // 8)
    c = np.arange(blocks, dtype=np.uint64)
    x0, x1 = threefry_ref(k0, k1, (c & 0xFFFFFFFF).astype(np.uint32), (c >> 32).astype(np.uint32))
    words = np.stack([x0, x1], -1).reshape(-1).astype("<u4")
    return words.view(np.uint8).view(f"<u{width}")[:n]


def test_threefry_reference_known_answers():
    # Known-answer vectors of Threefry-2x32-20 (Random123's kat_vectors).
    cases = [
        ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ]
    for (k0, k1), (c0, c1), expected in cases:
        y0, y1 = threefry_ref(k0, k1, [c0], [c1])
        assert (int(y0[0]), int(y1[0])) == expected


def test_bits_match_reference():
    k = mx.array(np.array([0, 0], dtype=np.uint32))
    got = np.array(mx.random.bits((2,), key=k))
    assert got.tolist() == [0x6B200159, 0x99BA4EFE]
    for seed in [0, 1, 2**40 + 7]:
        k = key(seed)
        k0, k1 = (int(v) for v in np.array(k))
        for width, dtype in [(1, np.uint8), (2, np.uint16), (4, np.uint32), (8, np.uint64)]:
            for n in [1, 7, 33, 1000]:
                got = np.array(mx.random.bits((n,), width=width, key=k))
                assert got.dtype == dtype
                np.testing.assert_array_equal(got, bits_ref(k0, k1, n, width))


def test_bits_shape_and_default():
    b = mx.random.bits((2, 3), key=key(0))
    assert b.shape == (2, 3) and b.dtype == mx.uint32
    assert mx.random.bits().shape == ()
    assert mx.random.bits((0, 4)).shape == (0, 4)


# ---- keys, split, the global key -------------------------------------------------

def test_key_and_split():
    k = key(5)
    assert k.dtype == mx.uint32 and k.shape == (2,)
    assert np.array(key(2**33 + 3)).tolist() == [2, 3]
    ks = mx.random.split(k)
    assert ks.shape == (2, 2) and ks.dtype == mx.uint32
    assert mx.random.split(k, 5).shape == (5, 2)
    # split is the first bits of the key's stream: deterministic.
    np.testing.assert_array_equal(np.array(ks).reshape(-1), bits_ref(0, 5, 4, 4))
    rows = np_keys(k, 100)
    assert len({tuple(r) for r in rows}) == 100


def test_same_key_same_numbers():
    k = key(42)
    a = np.array(mx.random.normal((1000,), key=k))
    b = np.array(mx.random.normal((1000,), key=k))
    np.testing.assert_array_equal(a, b)
    # A prefix of a larger draw is the smaller draw: numbers are a function of (key, index).
    c = np.array(mx.random.uniform(shape=(3000,), key=k))
    d = np.array(mx.random.uniform(shape=(3, 1000), key=k))
    np.testing.assert_array_equal(c, d.reshape(-1))


def test_independent_of_threads():
    k = key(7)
    n = 1_000_003  # several parallel chunks, not a multiple of anything
    old = mx.get_num_threads()
    try:
        mx.set_num_threads(1)
        one = np.array(mx.random.bits((n,), key=k))
        mx.set_num_threads(4)
        many = np.array(mx.random.bits((n,), key=k))
    finally:
        mx.set_num_threads(old)
    np.testing.assert_array_equal(one, many)
    k0, k1 = (int(v) for v in np.array(k))
    np.testing.assert_array_equal(one[-1000:], bits_ref(k0, k1, n, 4)[-1000:])
    # A batch of keys (vmap) whose parallel chunks span key boundaries.
    keys = np_keys(k, 3)
    f = lambda kk: mx.random.bits((50_001,), width=2, key=kk)
    try:
        mx.set_num_threads(4)
        batched = np.array(mx.vmap(f)(mx.array(keys)))
    finally:
        mx.set_num_threads(old)
    for i in range(3):
        np.testing.assert_array_equal(batched[i], np.array(f(mx.array(keys[i]))))
    assert mx.vmap(f)(mx.zeros((0, 2), dtype=mx.uint32)).shape == (0, 50_001)


def test_different_keys_differ():
    a = np.array(mx.random.uniform(shape=(100,), key=key(0)))
    b = np.array(mx.random.uniform(shape=(100,), key=key(1)))
    assert not np.any(a == b)


def test_split_keys_uncorrelated():
    k1, k2 = np_keys(key(3), 2)
    a = np.array(mx.random.normal((N,), key=mx.array(k1)))
    b = np.array(mx.random.normal((N,), key=mx.array(k2)))
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / math.sqrt(N)
    # Neighbouring elements of one stream are uncorrelated too.
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 5 / math.sqrt(N)


def test_global_seed():
    mx.random.seed(11)
    a = np.array(mx.random.uniform(shape=(10,)))
    b = np.array(mx.random.uniform(shape=(10,)))
    assert not np.array_equal(a, b)  # successive calls draw fresh keys
    mx.random.seed(11)
    np.testing.assert_array_equal(np.array(mx.random.uniform(shape=(10,))), a)
    np.testing.assert_array_equal(np.array(mx.random.uniform(shape=(10,))), b)
    # Each call splits the global key: the state becomes the first half, the call gets the second.
    state = key(11)
    s1 = np_keys(state, 2)
    np.testing.assert_array_equal(a, np.array(mx.random.uniform(shape=(10,), key=mx.array(s1[1]))))
    s2 = np_keys(mx.array(s1[0]), 2)
    np.testing.assert_array_equal(b, np.array(mx.random.uniform(shape=(10,), key=mx.array(s2[1]))))
    mx.random.seed(-1)  # negative seeds are accepted (wrapped to 64 bits)


# ---- moments -------------------------------------------------------------------

def check_moments(x, mean, var, z=5.0):
    """Sample mean and variance within z standard errors of the theory."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n = x.size
    m = x.mean()
    v = x.var()
    mu4 = np.mean((x - m) ** 4)
    assert abs(m - mean) < z * math.sqrt(var / n), (m, mean)
    assert abs(v - var) < z * math.sqrt(max(mu4 - v * v, 1e-12) / n), (v, var)


def check_cdf(x, cdf, points, z=5.0):
    """Empirical CDF at points within z binomial standard errors of cdf."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    for t in points:
        p = cdf(t)
        assert abs(np.mean(x < t) - p) < z * math.sqrt(p * (1 - p) / x.size) + 1e-12, t


def normal_cdf(t):
    return 0.5 * (1 + math.erf(t / math.sqrt(2)))


def test_uniform_moments():
    x = np.array(mx.random.uniform(-2.0, 3.0, (N,), key=key(0)))
    assert x.dtype == np.float32
    check_moments(x, 0.5, 25 / 12)
    check_cdf(x, lambda t: (t + 2) / 5, [-1.5, 0.0, 1.0, 2.9])
    u = np.array(mx.random.uniform(shape=(N,), key=key(1)))
    check_moments(u, 0.5, 1 / 12)


def test_normal_moments():
    x = np.array(mx.random.normal((N,), key=key(0)))
    check_moments(x, 0.0, 1.0)
    check_cdf(x, normal_cdf, [-3, -2, -1, -0.3, 0, 0.5, 1, 2, 3])
    y = np.array(mx.random.normal((N,), loc=2.0, scale=3.0, key=key(1)))
    check_moments(y, 2.0, 9.0)
    # Array loc / scale broadcast against the shape.
    loc = mx.array([[0.0], [10.0]])
    z = np.array(mx.random.normal((2, N // 2), loc=loc, scale=mx.array(0.5), key=key(2)))
    check_moments(z[0], 0.0, 0.25)
    check_moments(z[1], 10.0, 0.25)


def test_bernoulli_moments():
    x = np.array(mx.random.bernoulli(0.3, (N,), key=key(0)))
    assert x.dtype == np.bool_
    check_moments(x, 0.3, 0.21)
    assert mx.random.bernoulli().shape == ()
    p = mx.array([0.0, 0.25, 1.0])
    y = np.array(mx.random.bernoulli(p, (N, 3), key=key(1)))
    assert not y[:, 0].any() and y[:, 2].all()
    check_moments(y[:, 1], 0.25, 0.1875)
    assert mx.random.bernoulli(p).shape == (3,)  # default shape: p's shape


def test_gumbel_moments():
    x = np.array(mx.random.gumbel((N,), key=key(0)))
    check_moments(x, 0.5772156649, math.pi**2 / 6)
    check_cdf(x, lambda t: math.exp(-math.exp(-t)), [-1, 0, 1, 3])


def test_laplace_moments():
    x = np.array(mx.random.laplace((N,), loc=1.0, scale=2.0, key=key(0)))
    check_moments(x, 1.0, 8.0)
    check_cdf(x, lambda t: 0.5 * math.exp((t - 1) / 2) if t < 1 else 1 - 0.5 * math.exp(-(t - 1) / 2),
              [-3, 0, 1, 2, 5])


def truncnorm_moments(a, b):
    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    z = normal_cdf(b) - normal_cdf(a)
    mean = (phi(a) - phi(b)) / z
    var = 1 + (a * phi(a) - b * phi(b)) / z - mean**2
    return mean, var


def test_truncated_normal_moments():
    for lo, hi in [(-1.0, 2.0), (0.5, 3.0), (-2.0, -1.5)]:
        x = np.array(mx.random.truncated_normal(lo, hi, (N,), key=key(0)))
        assert x.min() >= lo and x.max() <= hi
        check_moments(x, *truncnorm_moments(lo, hi))
    # Default shape: the bounds' broadcast shape; array bounds per column.
    lo = mx.array([-1.0, 0.0])
    y = mx.random.truncated_normal(lo, 1.0, key=key(1))
    assert y.shape == (2,)
    z = np.array(mx.random.truncated_normal(lo, mx.array([[1.0], [2.0]]), (2, 2), key=key(1)))
    assert z.shape == (2, 2)


# ---- ranges and dtypes -------------------------------------------------------------

@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16, mx.float32, mx.float64])
def test_uniform_range_and_dtype(dtype):
    x = mx.random.uniform(shape=(N,), dtype=dtype, key=key(0))
    assert x.dtype == dtype
    a = np.array(x).astype(np.float64)
    assert a.min() >= 0.0 and a.max() < 1.0
    check_moments(a, 0.5, 1 / 12)
    b = np.array(mx.random.uniform(-3, -1, (1000,), dtype=dtype, key=key(1))).astype(np.float64)
    assert b.min() >= -3 and b.max() < -1


def test_uniform_never_reaches_high():
    # In float16, 1000 + u rounds to 1001 for u >= 0.75; those samples must not equal high.
    x = np.array(mx.random.uniform(1000, 1001, (10_000,), dtype=mx.float16, key=key(0)))
    assert x.max() < 1001 and x.min() >= 1000
    # Inverted bounds give values in (high, low].
    y = np.array(mx.random.uniform(1.0, 0.0, (1000,), key=key(1)))
    assert y.min() > 0.0 and y.max() <= 1.0


def test_uniform_float64_resolution():
    # float64 samples use 53 bits: far more distinct values than float32 could hold.
    x = np.array(mx.random.uniform(shape=(1000,), dtype=mx.float64, key=key(0)))
    assert x.dtype == np.float64
    assert np.any(x.astype(np.float32).astype(np.float64) != x)


def test_uniform_array_bounds():
    lo = mx.array([0.0, 10.0, 100.0])
    x = np.array(mx.random.uniform(lo, lo + 1, (500, 3), key=key(0)))
    for j, v in enumerate([0.0, 10.0, 100.0]):
        assert x[:, j].min() >= v and x[:, j].max() < v + 1


@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16, mx.float32, mx.float64])
def test_continuous_dtypes(dtype):
    for f in [lambda: mx.random.normal((N // 4,), dtype=dtype, key=key(0)),
              lambda: mx.random.gumbel((N // 4,), dtype=dtype, key=key(0)),
              lambda: mx.random.laplace((N // 4,), dtype=dtype, key=key(0)),
              lambda: mx.random.truncated_normal(-1, 1, (N // 4,), dtype=dtype, key=key(0))]:
        x = f()
        assert x.dtype == dtype
        assert np.all(np.isfinite(np.array(x).astype(np.float64)))
    check_moments(np.array(mx.random.normal((N,), dtype=dtype, key=key(1))), 0.0, 1.0)


@pytest.mark.parametrize("dtype", [mx.int8, mx.uint8, mx.int16, mx.int32, mx.uint32, mx.int64])
def test_randint_range_and_dtype(dtype):
    x = mx.random.randint(-3 if dtype not in (mx.uint8, mx.uint32) else 2, 9, (N,), dtype=dtype,
                          key=key(0))
    assert x.dtype == dtype
    a = np.array(x)
    lo = -3 if dtype not in (mx.uint8, mx.uint32) else 2
    assert set(np.unique(a).tolist()) == set(range(lo, 9))
    # Each value about equally often.
    counts = np.bincount(a.astype(np.int64) - lo)
    p = 1 / (9 - lo)
    assert np.all(np.abs(counts / N - p) < 5 * math.sqrt(p * (1 - p) / N))


def test_randint_bounds():
    lo = mx.array([0, 100, -50])
    hi = mx.array([1, 103, 50])
    a = np.array(mx.random.randint(lo, hi, (1000, 3), key=key(0)))
    assert (a[:, 0] == 0).all()
    assert a[:, 1].min() == 100 and a[:, 1].max() == 102
    assert a[:, 2].min() >= -50 and a[:, 2].max() < 50
    # Large int64 ranges are covered (no float32 rounding).
    big = np.array(mx.random.randint(0, 2**40, (1000,), dtype=mx.int64, key=key(1)))
    assert big.min() >= 0 and big.max() < 2**40 and big.max() > 2**39
    assert len(np.unique(big)) == 1000
    # Empty or inverted ranges give low.
    e = np.array(mx.random.randint(5, 5, (10,), key=key(2)))
    assert (e == 5).all()
    assert mx.random.randint(0, 10).shape == ()


@pytest.mark.parametrize("lo,hi,positive", [
    (-3, 2**63 - 1, 1.0), (-(2**63), 2**63 - 1, 0.5), (-(2**62), 2**62 + 5, 0.5)])
def test_randint_ranges_wider_than_int64_max(lo, hi, positive):
    # high - low > 2**63 - 1 overflowed in int64 (undefined behaviour, found by UBSan through
    # tools/asan_python.sh); the range came out negative and every draw was `low`.
    a = np.array(mx.random.randint(lo, hi, (2000,), dtype=mx.int64, key=key(3)))
    assert a.min() >= lo and a.max() < hi
    assert len(np.unique(a)) == 2000
    assert abs((a > 0).mean() - positive) < 0.05


# ---- categorical, permutation --------------------------------------------------

def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_categorical_frequencies():
    logits = np.array([0.0, 1.0, -1.0, 2.0], dtype=np.float32)
    s = np.array(mx.random.categorical(mx.array(logits), num_samples=N, key=key(0)))
    assert s.shape == (N,) and s.dtype == np.uint32
    p = softmax(logits)
    freq = np.bincount(s, minlength=4) / N
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / N))


def test_categorical_shapes_and_axis():
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32))
    assert mx.random.categorical(mx.array(logits), key=key(0)).shape == (2,)
    s = np.array(mx.random.categorical(mx.array(logits), shape=(20_000, 2), key=key(0)))
    for row in range(2):
        freq = np.bincount(s[:, row], minlength=3) / s.shape[0]
        np.testing.assert_allclose(freq, np.exp(logits[row]), atol=0.02)
    t = np.array(mx.random.categorical(mx.array(logits.T), axis=0, num_samples=20_000, key=key(1)))
    assert t.shape == (2, 20_000)
    np.testing.assert_allclose(np.bincount(t[1], minlength=3) / 20_000, np.exp(logits[1]), atol=0.02)
    # -inf logits are never drawn.
    masked = mx.array([0.0, -np.inf, 0.0])
    assert 1 not in np.array(mx.random.categorical(masked, num_samples=1000, key=key(2)))


def test_permutation():
    p = np.array(mx.random.permutation(100, key=key(0)))
    assert sorted(p.tolist()) == list(range(100))
    assert not np.array_equal(p, np.arange(100))
    q = np.array(mx.random.permutation(100, key=key(0)))
    np.testing.assert_array_equal(p, q)
    x = np.arange(20).reshape(4, 5)
    y = np.array(mx.random.permutation(mx.array(x), axis=1, key=key(1)))
    assert y.shape == (4, 5)
    # Columns are moved together: every row is the same reordering.
    np.testing.assert_array_equal(y - y[0], x - x[0])
    assert sorted(y[0].tolist()) == list(range(5))
    z = np.array(mx.random.permutation(mx.array(x), key=key(1)))
    assert sorted(z[:, 0].tolist()) == [0, 5, 10, 15]
    # Under vmap over keys, each lane is the permutation its key gives.
    keys = np_keys(key(2), 3)
    v = np.array(mx.vmap(lambda k: mx.random.permutation(6, key=k))(mx.array(keys)))
    for i in range(3):
        np.testing.assert_array_equal(v[i], np.array(mx.random.permutation(6, key=mx.array(keys[i]))))


# ---- errors -------------------------------------------------------------------------

def test_errors():
    with pytest.raises(ValueError, match=r"\[uniform\] A key must have shape \(2,\)"):
        mx.random.uniform(key=mx.array([1, 2, 3], dtype=mx.uint32))
    with pytest.raises(TypeError, match=r"\[normal\] A key must have dtype uint32"):
        mx.random.normal(key=mx.array([1.0, 2.0]))
    # a wrong dtype is a ValueError, as in MLX and JAX
    with pytest.raises(ValueError, match=r"\[uniform\] dtype must be a real floating type"):
        mx.random.uniform(shape=(2,), dtype=mx.int32)
    with pytest.raises(ValueError, match=r"\[normal\] dtype must be a real floating type"):
        mx.random.normal((2,), dtype=mx.complex64)
    with pytest.raises(ValueError, match=r"\[randint\] dtype must be an integer type"):
        mx.random.randint(0, 5, (2,), dtype=mx.float32)
    with pytest.raises(ValueError, match=r"\[uniform\] Cannot generate random values of shape \(3,\)"):
        mx.random.uniform(mx.zeros((2, 3)), 1.0, (3,))
    with pytest.raises(ValueError, match=r"\[bernoulli\] Cannot generate random values of shape \(2,\)"):
        mx.random.bernoulli(mx.full((3,), 0.5), (2,))
    with pytest.raises(ValueError, match=r"\[normal\] Negative dimension"):
        mx.random.normal((2, -1))
    with pytest.raises(ValueError, match=r"\[split\] num must be non-negative"):
        mx.random.split(key(0), -1)
    with pytest.raises(ValueError, match=r"\[bits\] width must be 1, 2, 4 or 8"):
        mx.random.bits((2,), width=3)
    with pytest.raises(ValueError, match=r"\[categorical\] Give at most one of shape and num_samples"):
        mx.random.categorical(mx.zeros((3,)), shape=(2,), num_samples=2)
    with pytest.raises(ValueError, match=r"\[categorical\] There are no categories"):
        mx.random.categorical(mx.zeros((2, 0)))
    with pytest.raises(IndexError, match=r"\[categorical\]"):
        mx.random.categorical(mx.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match=r"\[permutation\] n must be non-negative"):
        mx.random.permutation(-1)


# ---- transforms -----------------------------------------------------------------------

def test_vmap_over_keys_matches_loop():
    keys = np_keys(key(3), 4)
    f = lambda k: mx.random.normal((3, 2), key=k)
    loop = np.stack([np.array(f(mx.array(k))) for k in keys])
    np.testing.assert_array_equal(np.array(mx.vmap(f)(mx.array(keys))), loop)
    np.testing.assert_array_equal(np.array(mx.vmap(f, in_axes=1)(mx.array(keys.T.copy()))), loop)
    np.testing.assert_array_equal(np.array(mx.vmap(f, out_axes=2)(mx.array(keys))),
                                  np.moveaxis(loop, 0, 2))
    # Nested vmap over a (2, 3) grid of keys.
    grid = np_keys(key(4), 6).reshape(2, 3, 2)
    g = lambda k: mx.random.uniform(shape=(5,), key=k)
    out = np.array(mx.vmap(mx.vmap(g))(mx.array(grid)))
    assert out.shape == (2, 3, 5)
    np.testing.assert_array_equal(out[1, 2], np.array(g(mx.array(grid[1, 2]))))
    # split, randint and bits batch the same way.
    sp = np.array(mx.vmap(lambda k: mx.random.split(k, 3))(mx.array(keys)))
    np.testing.assert_array_equal(sp[2], np_keys(mx.array(keys[2]), 3))
    ri = np.array(mx.vmap(lambda k: mx.random.randint(0, 100, (4,), key=k))(mx.array(keys)))
    np.testing.assert_array_equal(ri[1], np.array(mx.random.randint(0, 100, (4,), key=mx.array(keys[1]))))


def test_vmap_over_parameters_with_fixed_key():
    k = key(0)
    lows = mx.array([0.0, 10.0])
    out = np.array(mx.vmap(lambda lo: mx.random.uniform(lo, lo + 1, (3,), key=k))(lows))
    u = np.array(mx.random.uniform(shape=(3,), key=k))
    np.testing.assert_allclose(out, np.stack([u, 10 + u]), rtol=1e-6)


def test_vjp_into_parameters_not_key():
    k = key(1)
    u = np.array(mx.random.uniform(shape=(4,), key=k))
    lo, hi = mx.full((4,), 1.0), mx.full((4,), 3.0)
    _, (g_lo, g_hi) = mx.vjp(lambda a, b: mx.random.uniform(a, b, (4,), key=k), [lo, hi],
                              [mx.ones((4,))])
    # d/dlow (low + (high - low) u) = 1 - u, d/dhigh = u.
    np.testing.assert_allclose(np.array(g_lo), 1 - u, rtol=1e-6)
    np.testing.assert_allclose(np.array(g_hi), u, rtol=1e-6)
    n = np.array(mx.random.normal((4,), key=k))
    _, (g_scale,) = mx.vjp(lambda s: mx.random.normal((4,), loc=mx.zeros((4,)), scale=s, key=k),
                           [mx.ones((4,))], [mx.ones((4,))])
    np.testing.assert_allclose(np.array(g_scale), n, rtol=1e-6)
    # The key gets a zero cotangent and contributes a zero tangent.
    bits = lambda kk: mx.random.bits((3,), key=kk)
    _, (g_key,) = mx.vjp(bits, [k], [mx.ones((3,), dtype=mx.uint32)])
    assert np.array(g_key).tolist() == [0, 0]
    _, (t,) = mx.jvp(bits, [k], [k])
    assert np.array(t).tolist() == [0, 0, 0]


def test_reproducible_inside_transforms():
    k = key(9)
    ref = np.array(mx.random.normal((3,), key=k))
    (out,), _ = mx.vjp(lambda x: x * mx.random.normal((3,), key=k), [mx.ones((3,))], [mx.ones((3,))])
    np.testing.assert_array_equal(np.array(out), ref)
    _, (g,) = mx.vjp(lambda x: x * mx.random.normal((3,), key=k), [mx.ones((3,))], [mx.ones((3,))])
    np.testing.assert_array_equal(np.array(g), ref)
    v = np.array(mx.vmap(lambda x: x * mx.random.normal((3,), key=k))(mx.ones((2, 3))))
    np.testing.assert_array_equal(v, np.stack([ref, ref]))


def test_grad_of_sampling_function():
    k = key(5)
    u = np.array(mx.random.uniform(shape=(6,), key=k))
    # Scalar bounds broadcast to the shape: their gradients sum over the samples.
    g_lo, g_hi = mx.grad(lambda a, b: mx.sum(mx.random.uniform(a, b, (6,), key=k)), argnums=(0, 1))(
        mx.array(0.0), mx.array(2.0))
    np.testing.assert_allclose(g_lo.item(), np.sum(1 - u), rtol=1e-5)
    np.testing.assert_allclose(g_hi.item(), np.sum(u), rtol=1e-5)
    # Reparameterized normal: d/dloc sum(loc + scale n) = 6, d/dscale = sum(n).
    n = np.array(mx.random.normal((6,), key=k))
    f = lambda loc, scale: mx.sum(mx.random.normal((6,), loc=loc, scale=scale, key=k))
    g_loc, g_scale = mx.grad(f, argnums=(0, 1))(mx.array(1.0), mx.array(2.0))
    np.testing.assert_allclose(g_loc.item(), 6.0, rtol=1e-6)
    np.testing.assert_allclose(g_scale.item(), n.sum(), rtol=1e-5)


def test_vmap_categorical_over_keys():
    keys = np_keys(key(6), 3)
    logits = mx.array([0.0, 1.0, 2.0])
    f = lambda k: mx.random.categorical(logits, num_samples=5, key=k)
    v = np.array(mx.vmap(f)(mx.array(keys)))
    for i in range(3):
        np.testing.assert_array_equal(v[i], np.array(f(mx.array(keys[i]))))
