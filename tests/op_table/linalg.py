"""Op-table rows of the linalg family: matmul (2-D, batched, 1-D operands, broadcast
batches), outer, inner, tensordot and einsum."""
import numpy as np

import ember.core as mx

from . import SAME, OpRow

# Integer cases keep K * 5 * 5 within int8 / uint8 so numpy's float64 reference casts
# back exactly. Products accumulate in float32 for float32: looser tolerance.
MM_DTYPES = ("float32", "float64", "float16", "bfloat16", "int32", "int64", "int8", "uint8",
             "complex64")


def _mm(a, b):
    return mx.matmul(a, b)


def _einsum_row(subscripts, shapes, name=None, **kw):
    return OpRow(
        name=name or f"einsum[{subscripts}]",
        ember=lambda *xs: mx.einsum(subscripts, *xs),
        numpy=lambda *xs: np.einsum(subscripts, *xs),
        shapes=shapes,
        dtypes=("float32", "float64", "int32"),
        rtol=1e-4,
        atol=1e-5,
        out_dtype=SAME,
        **kw,
    )


def _tensordot_row(name, axes, shapes):
    return OpRow(
        name=name,
        ember=lambda a, b: mx.tensordot(a, b, axes=axes),
        numpy=lambda a, b: np.tensordot(a, b, axes=axes),
        shapes=shapes,
        dtypes=("float32", "float64", "int32"),
        rtol=1e-4,
        atol=1e-5,
        out_dtype=SAME,
    )


ROWS = [
    OpRow(
        name="matmul",
        ember=_mm,
        numpy=np.matmul,
        shapes=[((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)),
                ((3, 4), (2, 4, 5)), ((1, 1), (1, 1)), ((0, 4), (4, 3)), ((3, 0), (0, 2)),
                ((2, 0, 4), (2, 4, 3)), ((40, 5), (5, 30)), ((3, 40, 5), (5, 30))],
        dtypes=MM_DTYPES,
        rtol=1e-4,
        atol=1e-5,
        out_dtype=SAME,
    ),
    OpRow(
        name="matmul_vec",
        ember=_mm,
        numpy=np.matmul,
        shapes=[((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4,)),
                ((4,), (2, 4, 3)), ((0,), (0,))],
        dtypes=MM_DTYPES,
        rtol=1e-4,
        atol=1e-5,
        out_dtype=SAME,
    ),
    OpRow(
        name="matmul_broadcast",
        ember=_mm,
        numpy=np.matmul,
        shapes=[((2, 1, 3, 4), (5, 4, 2)), ((1, 3, 4), (2, 4, 5)), ((2, 3, 4), (1, 4, 5)),
                ((3, 1, 2, 3), (1, 4, 3, 2))],
        dtypes=("float32", "float64", "int32"),
        rtol=1e-4,
        atol=1e-5,
    ),
    OpRow(
        name="outer",
        ember=lambda a, b: mx.outer(a, b),
        numpy=np.outer,
        shapes=[((3,), (4,)), ((2, 3), (4,)), ((), (3,))],
        dtypes=("float32", "float64", "int32"),
    ),
    OpRow(
        name="inner",
        ember=lambda a, b: mx.inner(a, b),
        numpy=np.inner,
        shapes=[((2, 3), (4, 3)), ((3,), (2, 5, 3)), ((3,), (3,)), ((), (2, 3))],
        dtypes=("float32", "float64", "int32"),
        rtol=1e-4,
        atol=1e-5,
    ),
    _tensordot_row("tensordot", 2, [((2, 3, 4), (3, 4, 5)), ((4, 2, 3), (2, 3)), ((3, 4), (3, 4))]),
    _tensordot_row("tensordot_1", 1, [((2, 3), (3, 4)), ((2, 3, 4), (4, 5))]),
    _tensordot_row("tensordot_0", 0, [((2, 3), (4,)), ((3,), (2,))]),
    _tensordot_row("tensordot_pairs", ([1, 0], [0, 2]), [((2, 3, 4), (3, 5, 2)),
                                                          ((3, 2), (2, 4, 3))]),
    _einsum_row("ij,jk->ik", [((3, 4), (4, 5)), ((1, 4), (4, 1))]),
    _einsum_row("bij,bjk->bik", [((2, 3, 4), (2, 4, 5))]),
    _einsum_row("ij,kj", [((3, 4), (5, 4))]),
    _einsum_row("ij->ji", [((3, 4),)]),
    _einsum_row("ij->j", [((3, 4),)]),
    _einsum_row("ij,ij->", [((3, 4), (3, 4))]),
    _einsum_row("i,j->ij", [((3,), (4,))]),
    _einsum_row("ij,j->i", [((3, 4), (4,))]),
    _einsum_row("ii->i", [((4, 4),)]),
    _einsum_row("ii", [((4, 4),)]),
    _einsum_row("ijk,kj,l->il", [((2, 3, 4), (4, 3), (5,))]),
    _einsum_row("abc,cd,bd->ad", [((2, 3, 4), (4, 5), (3, 5))]),
    _einsum_row("...ij,...jk->...ik", [((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5))]),
]


# ---- issue 9: addmm, kron, vecdot, trace, hadamard_transform ----
def _hadamard(n):
    """Sylvester's construction: H_1 = [1], H_2n = [[H, H], [H, -H]]."""
    h = np.ones((1, 1))
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


def _np_hadamard(x, scale=None):
    n = x.shape[-1]
    s = 1 / np.sqrt(n) if scale is None else scale
    return (np.asarray(x, np.float64) @ _hadamard(n).T) * s


ROWS += [
    OpRow(
        name="addmm",
        ember=lambda c, a, b, **k: mx.addmm(c, a, b, **k),
        numpy=lambda c, a, b, alpha=1.0, beta=1.0: alpha * (a @ b) + beta * c,
        shapes=[((3, 5), (3, 4), (4, 5)), ((5,), (2, 3, 4), (4, 5))],
        kwargs=[dict(), dict(alpha=0.5, beta=2.0)],
        rtol=1e-4, atol=1e-5,
        out_dtype=SAME,
    ),
    OpRow(
        name="kron",
        ember=lambda a, b: mx.kron(a, b),
        numpy=np.kron,
        shapes=[((2, 3), (4, 2)), ((3,), (2,)), ((2, 1, 2), (3, 2)), ((2,), (2, 3))],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="vecdot",
        ember=lambda a, b, **k: mx.vecdot(a, b, **k),
        numpy=lambda a, b, axis=-1: np.sum(np.conj(a) * b, axis=axis),
        shapes=[((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((5,), (5,))],
        kwargs=[dict(), dict(axis=0)],
        valid=lambda s, k: k.get("axis", -1) == -1 or len(s[1]) == len(s[0]),
        dtypes=("float32", "float64", "int32", "complex64"),
        rtol=1e-4, atol=1e-5,
    ),
    OpRow(
        name="trace",
        ember=lambda x, **k: mx.trace(x, **k),
        numpy=lambda x, **k: np.trace(x, **k),
        shapes=[((3, 4),), ((2, 3, 4),), ((4, 4),)],
        kwargs=[dict(), dict(offset=1), dict(offset=-1, axis1=1, axis2=0), dict(axis1=-2, axis2=-1)],
        dtypes=("float32", "float64", "int32"),
    ),
    OpRow(
        name="hadamard_transform",
        ember=lambda x, **k: mx.hadamard_transform(x, **k),
        numpy=_np_hadamard,
        shapes=[((8,),), ((3, 4),), ((2, 16),), ((1,),)],
        kwargs=[dict(), dict(scale=1.0)],
        dtypes=("float32", "float64"),
        rtol=1e-4, atol=1e-5,
        out_dtype=SAME,
    ),
    OpRow(
        name="method_mT",
        ember=lambda x: x.mT,
        numpy=lambda x: np.swapaxes(x, -1, -2),
        shapes=[((3, 4),), ((2, 3, 4),)],
        out_dtype=SAME,
    ),
]
