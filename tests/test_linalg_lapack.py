"""mx.linalg beyond the op table: errors for singular / non-square / indefinite inputs
(where numpy raises LinAlgError, ember raises ValueError when the result is evaluated),
complex eigenvalues, float64 accuracy on larger matrices, batches with a zero-size
axis, vmap of the composite ops, and gradients at known closed forms."""
import numpy as np
import pytest

import ember.core as mx


def f64(x):
    """An ember float64 array (mx.array of a float64 numpy array gives float32, as in MLX)."""
    return mx.array(x, dtype=mx.float64)

RNG = np.random.default_rng(1)
LA = mx.linalg


def test_singular_matrix_is_a_value_error():
    a = mx.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ValueError, match=r"linalg.inv.*singular"):
        mx.eval(LA.inv(a))
    with pytest.raises(ValueError, match=r"linalg.solve.*singular"):
        mx.eval(LA.solve(a, mx.array([1.0, 2.0])))
    assert float(LA.det(a)) == 0.0  # numpy: 0.0 as well
    with pytest.raises(ValueError, match=r"linalg.tri_inv.*singular"):
        mx.eval(LA.tri_inv(mx.array([[1.0, 0.0], [3.0, 0.0]])))


def test_not_positive_definite_is_a_value_error():
    with pytest.raises(ValueError, match=r"linalg.cholesky.*not positive definite"):
        mx.eval(LA.cholesky(mx.array([[1.0, 2.0], [2.0, 1.0]])))


def test_shape_and_argument_errors_name_the_op():
    with pytest.raises(ValueError, match=r"\[linalg.inv\] Expected square matrices, got shape \(2, 3\)"):
        LA.inv(mx.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\[linalg.det\].*at least 2-D"):
        LA.det(mx.zeros((3,)))
    with pytest.raises(ValueError, match=r"\[linalg.solve\].*b needs 3 rows"):
        LA.solve(mx.eye(3), mx.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"UPLO"):
        LA.eigvalsh(mx.eye(3), UPLO="X")
    with pytest.raises(TypeError, match=r"linalg.inv.*complex64"):
        LA.inv(mx.array([[1 + 1j]]))
    with pytest.raises(ValueError, match=r"linalg.norm.*matrix norm"):
        LA.norm(mx.zeros((3,)), ord="fro")
    with pytest.raises(ValueError, match=r"linalg.cross.*size 3"):
        LA.cross(mx.zeros((4,)), mx.zeros((4,)))


def test_eigvals_complex_match_numpy():
    a = RNG.standard_normal((3, 5, 5))
    got = np.asarray(LA.eigvals(mx.array(a)))
    assert got.dtype == np.complex64
    ref = np.linalg.eigvals(a)
    key = lambda v: np.lexsort((v.imag.round(4), v.real.round(4)))
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g[key(g)], r[key(r)], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [64, 200])
def test_float64_accuracy(n):
    a = RNG.standard_normal((n, n)) + n ** 0.5 * np.eye(n)
    np.testing.assert_allclose(LA.inv(mx.array(a, dtype=mx.float64)), np.linalg.inv(a), rtol=1e-9, atol=1e-11)
    s = a @ a.T
    np.testing.assert_allclose(LA.eigvalsh(mx.array(s, dtype=mx.float64)), np.linalg.eigvalsh(s), rtol=1e-9)
    np.testing.assert_allclose(LA.svd(mx.array(a, dtype=mx.float64), compute_uv=False),
                               np.linalg.svd(a, compute_uv=False), rtol=1e-9)
    np.testing.assert_allclose(LA.det(mx.array(a / n ** 0.5, dtype=mx.float64)), np.linalg.det(a / n ** 0.5),
                               rtol=1e-8)


def test_zero_size_batches_and_matrices():
    assert LA.inv(mx.zeros((0, 3, 3))).shape == (0, 3, 3)
    np.testing.assert_array_equal(LA.det(mx.zeros((2, 0, 0))), [1.0, 1.0])
    assert LA.svd(mx.zeros((4, 0)), compute_uv=False).shape == (0,)


def test_strided_input_is_read_correctly():
    a = RNG.standard_normal((4, 4)) + 4 * np.eye(4)
    x = mx.array(a).T  # a transposed view
    np.testing.assert_allclose(LA.inv(x), np.linalg.inv(a.T), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(LA.det(x[::-1]), np.linalg.det(a.T[::-1]), rtol=1e-5)


def test_int_input_is_computed_in_float32():
    out = LA.inv(mx.array([[2, 0], [0, 4]]))
    assert out.dtype == mx.float32
    np.testing.assert_allclose(out, [[0.5, 0], [0, 0.25]])


def test_grad_of_logdet_is_inverse_transpose():
    a = RNG.standard_normal((4, 4)) + 4 * np.eye(4)
    g = mx.grad(lambda x: mx.log(mx.abs(LA.det(x))))(mx.array(a))
    np.testing.assert_allclose(g, np.linalg.inv(a).T, rtol=1e-4, atol=1e-5)


def test_grad_of_nuclear_norm_is_u_vt():
    a = RNG.standard_normal((5, 3))
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    g = mx.grad(lambda x: mx.sum(LA.svd(x, compute_uv=False)))(mx.array(a, dtype=mx.float64))
    np.testing.assert_allclose(g, u @ vt, rtol=1e-6, atol=1e-8)


def test_vmap_of_grad_of_solve():
    a = RNG.standard_normal((3, 4, 4)) + 4 * np.eye(4)
    b = RNG.standard_normal((3, 4))
    f = lambda a, b: mx.sum(LA.solve(a, b))
    batched = mx.vmap(mx.grad(f))(mx.array(a), mx.array(b))
    for i in range(3):
        ref = mx.grad(f)(mx.array(a[i]), mx.array(b[i]))
        np.testing.assert_allclose(batched[i], ref, rtol=1e-5, atol=1e-6)


# ---- multi-output factorizations ----
def test_svd_full_reconstructs_and_is_orthogonal():
    for shape in [(4, 3), (3, 5), (2, 4, 4)]:
        a = RNG.standard_normal(shape)
        u, s, vt = (np.asarray(x) for x in LA.svd(mx.array(a, dtype=mx.float64)))
        m, n = shape[-2:]
        k = min(m, n)
        assert u.shape[-2:] == (m, m) and vt.shape[-2:] == (n, n)
        np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), rtol=1e-10)
        rebuilt = (u[..., :, :k] * s[..., None, :]) @ vt[..., :k, :]
        np.testing.assert_allclose(rebuilt, a, atol=1e-10)
        np.testing.assert_allclose(np.swapaxes(u, -1, -2) @ u, np.broadcast_to(np.eye(m), u.shape), atol=1e-10)
        np.testing.assert_allclose(vt @ np.swapaxes(vt, -1, -2), np.broadcast_to(np.eye(n), vt.shape), atol=1e-10)


def test_svd_gradient_through_values_only():
    a = f64(RNG.standard_normal((4, 3)))
    g1 = mx.grad(lambda x: mx.sum(LA.svd(x)[1]))(a)
    g2 = mx.grad(lambda x: mx.sum(LA.svd(x, compute_uv=False)))(a)
    np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match=r"linalg.svd.*singular vectors"):
        mx.grad(lambda x: mx.sum(LA.svd(x)[0]))(a)


def test_eig_satisfies_the_eigen_equation():
    a = RNG.standard_normal((3, 4, 4))
    w, v = (np.asarray(x) for x in LA.eig(mx.array(a)))
    assert w.dtype == np.complex64 and v.dtype == np.complex64
    np.testing.assert_allclose(a @ v, v * w[..., None, :], atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1, rtol=1e-5)
    ref = np.linalg.eigvals(a)
    for g, r in zip(w, ref):
        np.testing.assert_allclose(np.sort_complex(g), np.sort_complex(r.astype(np.complex64)), atol=1e-4)


def test_lu_and_lu_factor_match_scipy():
    import scipy.linalg
    a = RNG.standard_normal((5, 5))
    p, l, u = (np.asarray(x) for x in LA.lu(mx.array(a, dtype=mx.float64)))
    np.testing.assert_allclose(l[p] @ u, a, atol=1e-12)  # mlx's convention
    np.testing.assert_allclose(np.diag(l), 1)
    assert np.allclose(np.triu(l, 1), 0) and np.allclose(np.tril(u, -1), 0)
    lu_ref, piv_ref = scipy.linalg.lu_factor(a)
    lu_, piv = (np.asarray(x) for x in LA.lu_factor(mx.array(a, dtype=mx.float64)))
    np.testing.assert_allclose(lu_, lu_ref, atol=1e-12)
    np.testing.assert_array_equal(piv, piv_ref)
    assert piv.dtype == np.uint32
    # batched, under vmap too
    b = RNG.standard_normal((3, 4, 4))
    pb = np.asarray(mx.vmap(lambda x: LA.lu(x)[0])(mx.array(b)))
    for i in range(3):
        np.testing.assert_array_equal(pb[i], np.asarray(LA.lu(mx.array(b[i]))[0]))


def test_slogdet_matches_numpy_including_singular():
    a = RNG.standard_normal((3, 4, 4))
    s, l = LA.slogdet(mx.array(a, dtype=mx.float64))
    rs, rl = np.linalg.slogdet(a)
    np.testing.assert_allclose(s, rs)
    np.testing.assert_allclose(l, rl, rtol=1e-10)
    s0, l0 = LA.slogdet(mx.array([[1.0, 2.0], [2.0, 4.0]]))
    assert float(s0) == 0.0 and float(l0) == -np.inf


def test_eigh_gradient_of_the_top_eigenvector_against_finite_differences():
    m = RNG.standard_normal((4, 4))
    a = (m + m.T) / 2
    v0 = RNG.standard_normal(4)

    def f(x):
        w, v = LA.eigh(x)
        top = v[:, -1] * mx.sign(v[0, -1])  # sign-fixed eigenvector
        return mx.sum(top * f64(v0)) + w[0]

    g = np.asarray(mx.grad(f)(f64(a)))
    d = RNG.standard_normal((4, 4))
    d = np.tril(d)  # only the lower triangle is read
    eps = 1e-6
    fd = (float(f(f64(a + eps * d))) - float(f(f64(a - eps * d)))) / (2 * eps)
    assert abs(fd - np.sum(g * d)) < 1e-6 * (1 + abs(fd))
