"""Op-table rows of mx.linalg (LAPACK-backed): inv, tri_inv, pinv, solve,
solve_triangular, cholesky, cholesky_inv, svd (values), eigvalsh, eigvals, det, norm and
cross, against numpy.linalg, batched over leading axes. Inputs come from `make` functions
that keep the matrices well conditioned (and symmetric / positive definite where the op
needs it), so finite differences are meaningful."""
import numpy as np

import ember.core as mx

from . import OpRow, default_make, np_dtype

DT = ("float32", "float64")


def _eye_like(s):
    return np.broadcast_to(np.eye(s[-1]), s) if len(s) >= 2 else 0


def _general(rng, shapes, dtype):
    """Square inputs: random plus 3 I (well conditioned); other inputs random."""
    out = []
    for s in shapes:
        x = rng.standard_normal(s)
        if len(s) >= 2 and s[-1] == s[-2]:
            x = x + 3 * _eye_like(s)
        out.append(x.astype(np_dtype(dtype)))
    return out


def _spd(rng, shapes, dtype):
    s = shapes[0]
    m = rng.standard_normal(s)
    a = m @ np.swapaxes(m, -1, -2) + s[-1] * _eye_like(s)
    return [a.astype(np_dtype(dtype))] + _general(rng, shapes[1:], dtype)


def _symmetric(rng, shapes, dtype):
    m = rng.standard_normal(shapes[0])
    return [((m + np.swapaxes(m, -1, -2)) / 2).astype(np_dtype(dtype))]


def _lower_factor(rng, shapes, dtype):
    """A well-conditioned lower factor (positive diagonal) with noise above it (ignored)."""
    s = shapes[0]
    x = rng.standard_normal(s) * 0.3 + 2 * _eye_like(s)
    return [x.astype(np_dtype(dtype))]


def _tri(x, upper):
    return np.triu(x) if upper else np.tril(x)


def _np_solve(a, b):
    if b.ndim == 1:
        return np.linalg.solve(a, b)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    return np.linalg.solve(a, b)


def _np_solve_tri(a, b, upper=False):
    return _np_solve(_tri(a, upper), b)


def _np_cholesky(a, upper=False):
    # numpy reads the lower triangle; ember reads the one asked for.
    full = np.triu(a) + np.swapaxes(np.triu(a, 1), -1, -2) if upper else \
        np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)
    l = np.linalg.cholesky(full)
    return np.swapaxes(l, -1, -2) if upper else l


def _np_cholesky_inv(f, upper=False):
    t = _tri(f, upper)
    a = np.swapaxes(t, -1, -2) @ t if upper else t @ np.swapaxes(t, -1, -2)
    return np.linalg.inv(a)


def _np_eigvalsh(a, UPLO="L"):
    return np.linalg.eigvalsh(a, UPLO=UPLO)


def _sorted_real_eigvals(x):
    return mx.sort(mx.real(mx.linalg.eigvals(x)), axis=-1)


def _row(name, ember, numpy, shapes, make=_general, **kw):
    kw.setdefault("rtol", 1e-4)
    kw.setdefault("atol", 1e-5)
    return OpRow(name=name, ember=ember, numpy=numpy, shapes=shapes, make=make, dtypes=DT, **kw)


SQUARE = [((3, 3),), ((2, 4, 4),), ((1, 1),), ((2, 1, 2, 2),)]

ROWS = [
    _row("linalg.inv", lambda a: mx.linalg.inv(a), np.linalg.inv, SQUARE),
    _row("linalg.tri_inv", lambda a, **k: mx.linalg.tri_inv(a, **k),
         lambda a, upper=False: np.linalg.inv(_tri(a, upper)), SQUARE[:3],
         kwargs=[dict(), dict(upper=True)], make=_lower_factor),
    _row("linalg.pinv", lambda a: mx.linalg.pinv(a), np.linalg.pinv,
         [((4, 3),), ((3, 5),), ((2, 3, 3),), ((2, 4, 2),)]),
    _row("linalg.solve", lambda a, b: mx.linalg.solve(a, b), _np_solve,
         [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 4, 4), (2, 4, 3)), ((2, 3, 3), (3, 1)),
          ((3, 3), (2, 3, 2))]),
    _row("linalg.solve_triangular", lambda a, b, **k: mx.linalg.solve_triangular(a, b, **k),
         _np_solve_tri, [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 4, 4), (2, 4, 1))],
         kwargs=[dict(), dict(upper=True)],
         make=lambda rng, shapes, dtype: _lower_factor(rng, shapes[:1], dtype)
         + _general(rng, shapes[1:], dtype)),
    _row("linalg.cholesky", lambda a, **k: mx.linalg.cholesky(a, **k), _np_cholesky, SQUARE[:3],
         kwargs=[dict(), dict(upper=True)], make=_spd),
    _row("linalg.cholesky_inv", lambda f, **k: mx.linalg.cholesky_inv(f, **k), _np_cholesky_inv,
         SQUARE[:3], kwargs=[dict(), dict(upper=True)], make=_lower_factor),
    _row("linalg.svd_values", lambda a: mx.linalg.svd(a, compute_uv=False),
         lambda a: np.linalg.svd(a, compute_uv=False),
         [((4, 3),), ((3, 5),), ((2, 3, 3),), ((1, 1),)]),
    _row("linalg.eigvalsh", lambda a, **k: mx.linalg.eigvalsh(a, **k), _np_eigvalsh,
         SQUARE[:3], kwargs=[dict(), dict(UPLO="U")], make=_symmetric),
    _row("linalg.eigvals", _sorted_real_eigvals,
         lambda a: np.sort(np.linalg.eigvals(a).real, axis=-1), SQUARE[:3], make=_symmetric,
         out_dtype=lambda d, k: "float32", grad=False, smooth=False),
    _row("linalg.det", lambda a: mx.linalg.det(a), np.linalg.det, SQUARE),
    _row("linalg.norm", lambda a, **k: mx.linalg.norm(a, **k),
         lambda a, **k: np.linalg.norm(a, **k),
         [((5,),), ((3, 4),), ((2, 3, 4),)],
         kwargs=[dict(), dict(ord=1), dict(ord=3.5), dict(ord=np.inf), dict(ord=-np.inf),
                 dict(ord=0), dict(axis=0), dict(axis=-1, keepdims=True),
                 dict(ord="fro"), dict(ord="nuc"), dict(ord=2), dict(ord=-2),
                 dict(ord=-1), dict(axis=(0, 1), ord=np.inf), dict(axis=(1, 0), ord=1),
                 dict(axis=(-1, 0), ord="nuc", keepdims=True)],
         valid=lambda s, k: _norm_ok(s[0], k),
         make=lambda rng, shapes, dtype: [rng.uniform(0.5, 2, shapes[0]).astype(np_dtype(dtype))
                                          * rng.choice([-1, 1], shapes[0])]),
    _row("linalg.cross", lambda a, b, **k: mx.linalg.cross(a, b, **k),
         lambda a, b, axis=-1: np.cross(a, b, axis=axis),
         [((3,), (3,)), ((2, 3), (3,)), ((3, 4), (3, 4))],
         kwargs=[dict(), dict(axis=0)],
         valid=lambda s, k: all(x[k.get("axis", -1)] == 3 for x in s),
         make=lambda rng, shapes, dtype: default_make(rng, shapes, dtype)),
]


def _norm_ok(shape, kw):
    ax = kw.get("axis")
    ord_ = kw.get("ord")
    n_ax = len(shape) if ax is None else (len(ax) if isinstance(ax, tuple) else 1)
    if ax is None and ord_ is not None and len(shape) > 2:
        return False
    if isinstance(ax, tuple) and (any(not -len(shape) <= a < len(shape) for a in ax)
                                  or len({a % len(shape) for a in ax}) != len(ax)):
        return False
    if isinstance(ax, int) and not -len(shape) <= ax < len(shape):
        return False
    if ord_ is None:
        return True
    if n_ax == 1:
        return not isinstance(ord_, str)
    if n_ax == 2:
        return ord_ in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)
    return False
