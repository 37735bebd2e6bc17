"""mx.linalg beyond the op table: errors for singular / non-square / indefinite inputs
(where numpy raises LinAlgError, ember raises ValueError when the result is evaluated),
complex eigenvalues, float64 accuracy on larger matrices, batches with a zero-size
axis, vmap of the composite ops, and gradients at known closed forms."""
import numpy as np
import pytest

import ember.core as mx

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
    with pytest.raises(ValueError, match=r"compute_uv=True"):
        LA.svd(mx.eye(3))
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
