"""Values, layouts, dtypes, errors and transform rules of the linalg family
(matmul, outer, inner, tensordot, einsum), checked against numpy."""
import numpy as np
import pytest

import ember.core as mx
from op_table import np_dtype, to_mx

RNG = np.random.default_rng(0)


def rand(shape, dtype="float32"):
    if dtype.startswith(("int", "uint")):
        lo = 0 if dtype.startswith("uint") else -5
        return RNG.integers(lo, 6, size=shape).astype(dtype)
    if dtype == "bool":
        return RNG.random(shape) > 0.5
    if dtype == "complex64":
        return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(np.complex64)
    return RNG.standard_normal(shape).astype(np_dtype(dtype))


def check(got, expected, rtol=1e-5, atol=1e-5):
    got = np.asarray(got)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


# (a, b) shape pairs: 1-D x 1-D, 1-D x N-D, N-D x 1-D, batched, broadcast
# batches, and zero-size batch / M / N / K.
MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4,)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (2, 4, 5)),
    ((3, 1, 2, 3), (1, 4, 3, 2)),
    ((1, 1), (1, 1)),
    ((1, 4), (4, 1)),
    ((0, 4), (4, 3)),
    ((3, 4), (4, 0)),
    ((3, 0), (0, 2)),
    ((0,), (0,)),
    ((2, 0, 4), (2, 4, 3)),
    ((0, 3, 4), (4, 5)),
    ((64, 70), (70, 50)),
    ((5, 40, 30), (30, 20)),
    ((300, 3, 3), (300, 3, 2)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_values(shapes, dtype):
    a, b = rand(shapes[0], dtype), rand(shapes[1], dtype)
    out = mx.matmul(to_mx(a), to_mx(b))
    assert out.dtype == getattr(mx, dtype)
    tol = 1e-4 if dtype == "float32" else 1e-12
    check(out, np.matmul(a, b), rtol=tol, atol=tol)
    check(to_mx(a) @ to_mx(b), np.matmul(a, b), rtol=tol, atol=tol)


@pytest.mark.parametrize("shapes", MATMUL_SHAPES[:12], ids=str)
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint16",
                                   "uint32", "uint64"])
def test_matmul_integers(shapes, dtype):
    a, b = rand(shapes[0], dtype), rand(shapes[1], dtype)
    out = np.asarray(mx.matmul(mx.array(a), mx.array(b)))
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, np.matmul(a, b))


@pytest.mark.parametrize("dtype", ["int8", "int32", "uint8", "int64"])
def test_matmul_integer_overflow_wraps_like_numpy(dtype):
    info = np.iinfo(dtype)
    a = RNG.integers(info.max // 2, info.max, size=(3, 7), dtype=dtype)
    b = RNG.integers(info.max // 2, info.max, size=(7, 2), dtype=dtype)
    np.testing.assert_array_equal(np.asarray(mx.array(a) @ mx.array(b)), a @ b)


def test_matmul_bool_follows_numpy():
    # numpy's rule: bool @ bool is bool (an "or" of "and"s).
    a, b = rand((5, 6), "bool"), rand((6, 4), "bool")
    out = np.asarray(mx.array(a) @ mx.array(b))
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out, a @ b)
    v = rand((6,), "bool")
    np.testing.assert_array_equal(np.asarray(mx.array(v) @ mx.array(v)), v @ v)


@pytest.mark.parametrize("dtype,tol", [("float16", 2e-2), ("bfloat16", 8e-2)])
@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 30, 40), (40, 20)), ((8,), (8,)),
                                    ((200, 3, 3), (3, 3))], ids=str)
def test_matmul_halves(dtype, tol, shapes):
    a, b = rand(shapes[0], dtype), rand(shapes[1], dtype)
    out = mx.matmul(mx.array(a), mx.array(b))
    assert out.dtype == getattr(mx, dtype)
    # Computed in float32 and rounded once: compare with the float32 product of the same inputs.
    expected = a.astype(np.float32) @ b.astype(np.float32)
    check(np.asarray(out.astype(mx.float32)), expected, rtol=tol, atol=tol * np.sqrt(shapes[0][-1]))


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 30, 40), (40, 20)), ((6,), (6,)),
                                    ((100, 2, 3), (100, 3, 2)), ((0, 3), (3, 2))], ids=str)
def test_matmul_complex(shapes):
    a, b = rand(shapes[0], "complex64"), rand(shapes[1], "complex64")
    out = mx.matmul(mx.array(a), mx.array(b))
    assert out.dtype == mx.complex64
    check(out, a @ b, rtol=1e-4, atol=1e-4)


def test_matmul_promotes_dtypes():
    a, b = rand((3, 4), "int32"), rand((4, 2), "float32")
    out = mx.array(a) @ mx.array(b)
    assert out.dtype == mx.float32
    check(out, a.astype(np.float32) @ b)
    out = mx.array(rand((3, 4), "float16")) @ mx.array(b)
    assert out.dtype == mx.float32


def test_matmul_accepts_lists():
    check(mx.matmul([[1.0, 2.0]], [[3.0], [4.0]]), np.array([[11.0]], np.float32))


# ---- layouts: transposed, strided and broadcast views reach BLAS in place or are copied ----

def test_matmul_transposed_2d():
    # .T gives column-major matrices: BLAS reads them with a trans flag, no copy.
    a, b, c = rand((5, 4)), rand((5, 6)), rand((6, 4))
    check(mx.array(a).T @ mx.array(b), a.T @ b, 1e-4, 1e-4)
    check(mx.array(b).T @ mx.array(a), b.T @ a, 1e-4, 1e-4)
    check(mx.array(a) @ mx.array(c).T, a @ c.T, 1e-4, 1e-4)
    check(mx.array(c).T.T.T @ mx.array(b).T.T.T, c.T @ b.T, 1e-4, 1e-4)
    d = rand((3, 5))
    check(mx.array(a).T @ mx.array(d).T, a.T @ d.T, 1e-4, 1e-4)


def test_matmul_transposed_vectors_and_batches():
    v, m = rand((4, 1)), rand((3, 4))
    check(mx.array(m) @ mx.array(v.T).T, m @ v, 1e-4, 1e-4)
    check(mx.array(v).T @ mx.array(m).T, v.T @ m.T, 1e-4, 1e-4)
    # (4, 3, 2).T has strides that are neither row- nor column-major in its last
    # two axes: the kernel copies it.
    x, w = rand((4, 3, 2)), rand((4, 5))
    check(mx.array(x).T @ mx.array(w), x.T @ w, 1e-4, 1e-4)
    y = rand((5, 4, 2))
    check(mx.array(x).T @ mx.array(y).T, x.T @ y.T, 1e-4, 1e-4)


@pytest.mark.parametrize("m,k,n", [(3, 4, 5), (24, 32, 20)], ids=["loop", "blas"])
def test_matmul_strided_views_through_vmap(m, k, n):
    # vmap hands the kernel views: column-major matrices with a batch stride
    # (x.T per sample), rows spread out by the mapped axis (in_axes=1), and a
    # batch axis that is not the leading one (in_axes=2).
    w = rand((k, n))
    xb = rand((7, k, m))
    got = mx.vmap(lambda x: mx.matmul(x.T, mx.array(w)))(mx.array(xb))
    check(got, np.stack([x.T @ w for x in xb]), 1e-4, 1e-4)
    xm = rand((m, 7, k))
    got = mx.vmap(lambda x: mx.matmul(x, mx.array(w)), in_axes=1)(mx.array(xm))
    check(got, np.stack([xm[:, i] @ w for i in range(7)]), 1e-4, 1e-4)
    wb = rand((k, n, 7))
    x0 = rand((m, k))
    got = mx.vmap(lambda v: mx.matmul(mx.array(x0), v), in_axes=2)(mx.array(wb))
    check(got, np.stack([x0 @ wb[..., i] for i in range(7)]), 1e-4, 1e-4)
    got = mx.vmap(lambda v: mx.matmul(v.T, mx.array(x0).T), in_axes=2)(mx.array(wb))
    check(got, np.stack([wb[..., i].T @ x0.T for i in range(7)]), 1e-4, 1e-4)


@pytest.mark.parametrize("m,k,n", [(3, 4, 5), (24, 32, 20)], ids=["loop", "blas"])
def test_matmul_views(m, k, n):
    # swapaxes: column-major matrices in a batch (trans flag); split: row-major
    # matrices whose rows are further apart than K (lda > K) at an offset;
    # broadcast_to: stride-0 batch dims (b the same for every matrix) and
    # stride-0 matrix dims (copied).
    x, w = rand((6, k, m)), rand((k, n))
    check(mx.swapaxes(mx.array(x), -1, -2) @ mx.array(w), np.swapaxes(x, -1, -2) @ w, 1e-4, 1e-4)
    y = rand((6, n, k))
    check(mx.swapaxes(mx.array(x), -1, -2) @ mx.swapaxes(mx.array(y), 1, 2),
          np.swapaxes(x, -1, -2) @ np.swapaxes(y, 1, 2), 1e-4, 1e-4)
    wide = rand((m, 3 * k))
    parts = mx.split(mx.array(wide), 3, axis=1)
    for i, p in enumerate(parts):
        check(p @ mx.array(w), wide[:, i * k:(i + 1) * k] @ w, 1e-4, 1e-4)
        check(mx.array(w).T @ p.T, w.T @ wide[:, i * k:(i + 1) * k].T, 1e-4, 1e-4)
    xb = rand((6, m, k))
    wb = mx.broadcast_to(mx.array(w), (6, k, n))
    check(mx.array(xb) @ wb, xb @ w, 1e-4, 1e-4)
    row = rand((1, k))
    flat = mx.broadcast_to(mx.array(row), (m, k))
    check(flat @ mx.array(w), np.broadcast_to(row, (m, k)) @ w, 1e-4, 1e-4)
    col = rand((k, 1))
    check(mx.array(w).T @ mx.broadcast_to(mx.array(col), (k, m)),
          w.T @ np.broadcast_to(col, (k, m)), 1e-4, 1e-4)
    mv = rand((m, 2, k))
    check(mx.moveaxis(mx.array(mv), 1, 0) @ mx.array(w), np.moveaxis(mv, 1, 0) @ w, 1e-4, 1e-4)


@pytest.mark.parametrize("m,k,n", [(3, 4, 5), (24, 32, 20)], ids=["loop", "blas"])
def test_matmul_slices(m, k, n):
    # Sliced operands: rows skipped (lda = 2K), an offset window, reversed rows
    # (negative stride: copied) and a column step (not unit stride: copied).
    a, b = rand((2 * m, k + 3)), rand((k, 2 * n))
    A, B = mx.array(a), mx.array(b)
    check(A[::2, 1:k + 1] @ B[:, :n], a[::2, 1:k + 1] @ b[:, :n], 1e-4, 1e-4)
    check(A[::-2, :k] @ B[:, ::2], a[::-2, :k] @ b[:, ::2], 1e-4, 1e-4)
    check(B[:, ::2].T @ A[:m, :k].T, b[:, ::2].T @ a[:m, :k].T, 1e-4, 1e-4)
    x = rand((5, 2 * m, k))
    check(mx.array(x)[1:4, ::2] @ B[:, n:], x[1:4, ::2] @ b[:, n:], 1e-4, 1e-4)
    X = mx.array(x)
    check(X[::2, :m] @ mx.swapaxes(X[::2, m:], 1, 2),
          x[::2, :m] @ np.swapaxes(x[::2, m:], 1, 2), 1e-4, 1e-4)


def test_matmul_large_paths():
    # One gemm for a batch folded into M, a gemm per matrix, and the small-matrix loop.
    x, w = rand((8, 64, 96)), rand((96, 80))
    check(mx.array(x) @ mx.array(w), x @ w, 1e-4, 1e-4)
    y = rand((8, 96, 80))
    check(mx.array(x) @ mx.array(y), x @ y, 1e-4, 1e-4)
    s, t = rand((2000, 3, 4)), rand((2000, 4, 2))
    check(mx.array(s) @ mx.array(t), s @ t, 1e-4, 1e-4)
    i, j = rand((50, 40, 30), "int32"), rand((30, 60), "int32")
    np.testing.assert_array_equal(np.asarray(mx.array(i) @ mx.array(j)), i @ j)


# ---- errors ----

def test_matmul_errors():
    with pytest.raises(ValueError, match=r"\[matmul\] Last dimension of a \(shape \(2, 3\)\) must "
                       r"match second-to-last dimension of b \(shape \(4, 5\)\)\."):
        mx.matmul(mx.ones((2, 3)), mx.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\[matmul\] Length of a \(shape \(3,\)\)"):
        mx.matmul(mx.ones((3,)), mx.ones((4, 5)))
    with pytest.raises(ValueError, match=r"must match length of b \(shape \(4,\)\)"):
        mx.matmul(mx.ones((2, 3)), mx.ones((4,)))
    with pytest.raises(ValueError, match=r"\[matmul\] Batch dimensions of a \(shape \(2, 3, 4\)\) "
                       r"and b \(shape \(3, 4, 5\)\) cannot be broadcast"):
        mx.matmul(mx.ones((2, 3, 4)), mx.ones((3, 4, 5)))
    with pytest.raises(ValueError, match=r"\[matmul\] Inputs must have at least one dimension"):
        mx.matmul(mx.array(1.0), mx.ones((3,)))
    with pytest.raises(ValueError, match=r"\[matmul\]"):
        mx.ones((2, 3)) @ mx.ones((2, 3))


# ---- transform rules ----

def test_matmul_vjp_and_jvp_values():
    for sa, sb in [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((4,), (4, 5)),
                   ((3, 4), (4,))]:
        a, b = rand(sa, "float64"), rand(sb, "float64")
        out = np.matmul(a, b)
        u = rand(out.shape, "float64")
        _, (ga, gb) = mx.vjp(lambda x, y: mx.matmul(x, y), [to_mx(a), to_mx(b)],
                             [to_mx(u)])
        # Reference: the gradient of <u, a @ b> through numpy with 1-D operands as matrices.
        a2 = a[None] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        u2 = u.reshape(np.matmul(a2, b2).shape)
        ga_ref = np.matmul(u2, np.swapaxes(b2, -1, -2))
        gb_ref = np.matmul(np.swapaxes(a2, -1, -2), u2)
        while ga_ref.ndim > a2.ndim:
            ga_ref = ga_ref.sum(0)
        while gb_ref.ndim > b2.ndim:
            gb_ref = gb_ref.sum(0)
        check(ga, ga_ref.reshape(a.shape), 1e-10, 1e-10)
        check(gb, gb_ref.reshape(b.shape), 1e-10, 1e-10)
        ta, tb = rand(sa, "float64"), rand(sb, "float64")
        _, (t,) = mx.jvp(lambda x, y: mx.matmul(x, y), [to_mx(a), to_mx(b)],
                         [to_mx(ta), to_mx(tb)])
        check(t, np.matmul(ta, b) + np.matmul(a, tb), 1e-10, 1e-10)


def test_matmul_vjp_broadcast_batches_sum_back():
    a, b = rand((2, 1, 3, 4), "float64"), rand((5, 4, 2), "float64")
    u = rand((2, 5, 3, 2), "float64")
    _, (ga, gb) = mx.vjp(lambda x, y: mx.matmul(x, y), [to_mx(a), to_mx(b)], [to_mx(u)])
    check(ga, np.matmul(u, np.swapaxes(b, -1, -2)).sum(1, keepdims=True), 1e-10, 1e-10)
    check(gb, np.matmul(np.swapaxes(a, -1, -2), u).sum(0), 1e-10, 1e-10)


VMAP_SHAPES = [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((4,), (4, 5)),
               ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (2, 4, 5))]
VMAP_AXES = [(0, None), (None, 0), (0, 0), (1, None), (None, 2), (2, 1), (-1, -1)]


@pytest.mark.parametrize("shapes,in_axes", [
    pytest.param(s, ax, id=f"{s}-{ax}") for s in VMAP_SHAPES for ax in VMAP_AXES
    if all(a is None or (-len(x) - 1 <= a <= len(x)) for a, x in zip(ax, s))])
def test_matmul_vmap(shapes, in_axes):
    n = 3
    args = []
    for ax, s in zip(in_axes, shapes):
        if ax is None:
            args.append(rand(s))
        else:
            args.append(np.stack([rand(s) for _ in range(n)], axis=ax))
    got = mx.vmap(mx.matmul, in_axes=in_axes)(*[mx.array(x) for x in args])
    slices = lambda x, ax, i: x if ax is None else np.take(x, i, axis=ax)
    expected = np.stack([np.matmul(*[slices(x, ax, i) for x, ax in zip(args, in_axes)])
                         for i in range(n)])
    check(got, expected, 1e-4, 1e-4)


# ---- outer, inner, tensordot ----

@pytest.mark.parametrize("shapes", [((3,), (4,)), ((2, 3), (4,)), ((), (3,)), ((0,), (3,))],
                         ids=str)
def test_outer(shapes):
    a, b = rand(shapes[0]), rand(shapes[1])
    check(mx.outer(mx.array(a), mx.array(b)), np.outer(a, b))


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (4, 3)), ((3,), (2, 5, 3)),
                                    ((), (2, 3)), ((2, 0), (3, 0))], ids=str)
def test_inner(shapes):
    a, b = rand(shapes[0]), rand(shapes[1])
    check(mx.inner(mx.array(a), mx.array(b)), np.inner(a, b), 1e-4, 1e-4)


def test_inner_error():
    with pytest.raises(ValueError, match=r"\[inner\] Last dimensions of a \(shape \(2, 3\)\) and "
                       r"b \(shape \(4,\)\) must match\."):
        mx.inner(mx.ones((2, 3)), mx.ones((4,)))


@pytest.mark.parametrize("shapes,axes", [
    (((2, 3, 4), (3, 4, 5)), 2),
    (((2, 3), (3, 4)), 1),
    (((2, 3), (4, 5)), 0),
    (((3, 4), (3, 4)), 2),
    (((2, 3, 4), (3, 5, 2)), ([1, 0], [0, 2])),
    (((2, 3, 4), (4, 3)), ((2, 1), (0, 1))),
    (((2, 3, 4), (4, 3)), ([-1], [0])),
    (((2, 3, 4), (5, 4)), (2, 1)),
    (((2, 0), (0, 3)), 1),
], ids=str)
def test_tensordot(shapes, axes):
    a, b = rand(shapes[0]), rand(shapes[1])
    check(mx.tensordot(mx.array(a), mx.array(b), axes=axes), np.tensordot(a, b, axes=axes),
          1e-4, 1e-4)


def test_tensordot_default_and_ints():
    a, b = rand((2, 3, 4), "int32"), rand((3, 4, 2), "int32")
    np.testing.assert_array_equal(np.asarray(mx.tensordot(mx.array(a), mx.array(b))),
                                  np.tensordot(a, b))


def test_tensordot_errors():
    a, b = mx.ones((2, 3)), mx.ones((3, 4))
    with pytest.raises(ValueError, match=r"\[tensordot\] Axis 1 of a \(shape \(2, 3\)\) has size 3 "
                       r"but axis 1 of b \(shape \(3, 4\)\) has size 4\."):
        mx.tensordot(a, b, axes=([1], [1]))
    with pytest.raises(ValueError, match=r"\[tensordot\] Cannot contract 3 axes"):
        mx.tensordot(a, b, axes=3)
    with pytest.raises(ValueError, match=r"\[tensordot\] axes must be >= 0"):
        mx.tensordot(a, b, axes=-1)
    with pytest.raises(ValueError, match=r"same length"):
        mx.tensordot(a, b, axes=([0, 1], [0]))
    with pytest.raises(IndexError, match=r"tensordot"):
        mx.tensordot(a, b, axes=([5], [0]))
    with pytest.raises(TypeError, match=r"\[tensordot\] axes must be an int or a pair"):
        mx.tensordot(a, b, axes=([0], [0], [1]))


# ---- einsum ----

EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("ij,kj", [(3, 4), (5, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,jk->bik", [(2, 3, 4), (4, 5)]),
    ("ij->ji", [(3, 4)]),
    ("ji", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ijk->", [(2, 3, 4)]),
    ("ijk->kj", [(2, 3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("i,i", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,j", [(3,), (4,)]),
    ("ij,j->i", [(3, 4), (4,)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("iij->ji", [(3, 3, 2)]),
    ("iji->j", [(3, 2, 3)]),
    ("ijk,kj,l->il", [(2, 3, 4), (4, 3), (5,)]),
    ("abc,cd,bd->ad", [(2, 3, 4), (4, 5), (3, 5)]),
    ("Ba,aC", [(2, 3), (3, 4)]),
    ("bA,AC", [(2, 3), (3, 4)]),
    ("ij,ij->ij", [(3, 1), (3, 4)]),
    (" i j , j k -> i k ", [(3, 4), (4, 5)]),
    (",i->i", [(), (3,)]),
    ("ij,jk->ik", [(0, 4), (4, 5)]),
    ("ij,jk->ik", [(3, 0), (0, 5)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk", [(5, 2, 3), (5, 3, 4)]),
    ("i...->...", [(2, 3, 4)]),
    ("...", [(2, 3, 4)]),
    ("ij...,j...->i...", [(2, 3, 4), (3, 1)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("i...->i", [(3,)]),
    ("i...,i...", [(3, 2), (3, 2)]),
    ("...i,...i->...", [(2, 3, 4), (3, 4)]),
]


@pytest.mark.parametrize("subscripts,shapes", EINSUM_CASES, ids=lambda x: str(x))
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_einsum(subscripts, shapes, dtype):
    xs = [rand(s, dtype) for s in shapes]
    got = mx.einsum(subscripts, *[mx.array(x) for x in xs])
    expected = np.einsum(subscripts, *xs)
    assert got.dtype == getattr(mx, dtype)
    check(got, expected, 1e-4, 1e-4)


def test_einsum_errors():
    a = mx.ones((2, 3))
    with pytest.raises(ValueError, match=r"\[einsum\] The inputs of '...ij->ij' have '...' axes"):
        mx.einsum("...ij->ij", mx.ones((4, 2, 3)))
    with pytest.raises(ValueError, match=r"\[einsum\] '.' may only appear as one '...' per term"):
        mx.einsum("..i", a)
    with pytest.raises(ValueError, match=r"\[einsum\] An axis of '...' has size 4 in one operand "
                       r"but size 5 in operand 1"):
        mx.einsum("...i,...i", mx.ones((4, 3)), mx.ones((5, 3)))
    with pytest.raises(ValueError,
                       match=r"\[einsum\] Subscripts 'ij,jk' name 2 operand\(s\) but 1"):
        mx.einsum("ij,jk", a)
    with pytest.raises(ValueError, match=r"\[einsum\] Operand 0 has shape \(2, 3\) \(2 "
                       r"dimensions\) but its subscripts 'ijk' name 3\."):
        mx.einsum("ijk", a)
    with pytest.raises(ValueError, match=r"\[einsum\] Index 'j' has size 3 in one operand but size "
                       r"4 in operand 1"):
        mx.einsum("ij,jk", a, mx.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\[einsum\] Output index 'k' does not appear"):
        mx.einsum("ij->k", a)
    with pytest.raises(ValueError, match=r"\[einsum\] Output index 'i' appears more than once"):
        mx.einsum("ij->ii", a)
    with pytest.raises(ValueError, match=r"\[einsum\] Invalid character '1'"):
        mx.einsum("i1", a)
    with pytest.raises(ValueError, match=r"\[einsum\] Needs at least one operand"):
        mx.einsum("ij")


def test_einsum_grad_matches_matmul():
    a, b = rand((3, 4), "float64"), rand((4, 5), "float64")
    u = rand((3, 5), "float64")
    f = lambda x, y: mx.einsum("ij,jk->ik", x, y)
    _, (ga, gb) = mx.vjp(f, [to_mx(a), to_mx(b)], [to_mx(u)])
    check(ga, u @ b.T, 1e-10, 1e-10)
    check(gb, a.T @ u, 1e-10, 1e-10)


def test_matmul_sizes_beyond_32bit_blas_raise_eagerly():
    # scipy-openblas32 takes int sizes: the op refuses before anything is computed.
    big = mx.zeros((2**31, 1))
    with pytest.raises(ValueError, match=r"\[matmul\] Matrix sizes M=2147483648, N=2, K=1 exceed"):
        mx.matmul(big, mx.zeros((1, 2)))
