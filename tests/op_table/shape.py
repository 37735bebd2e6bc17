"""Op-table rows of the shape family: views (reshape, transpose, broadcast, slices with any
step), copies (concatenate, stack, pad, slice_update) and compositions (split, repeat,
tile). Rows whose name ends in _strided first transpose or slice the input, so the op
sees a non-contiguous (or negative-stride) view."""
import numpy as np

import ember.core as mx

from . import SAME, OpRow, default_make

DTYPES = ("float32", "float64", "float16", "bfloat16", "int32", "int64", "uint8", "bool",
          "complex64")


def _size(shape):
    return int(np.prod(shape)) if len(shape) else 1


def _bounds(idx, shape):
    """(start, stop, step) lists for ember's slice from Python slices (slice.indices)."""
    idx = tuple(idx) + (slice(None),) * (len(shape) - len(idx))
    parts = [s.indices(d) for s, d in zip(idx, shape)]
    return [p[0] for p in parts], [p[1] for p in parts], [p[2] for p in parts]


def _slice(x, idx):
    return mx._slice(x, *_bounds(idx, x.shape))


def _slice_update(x, u, idx):
    return mx._slice_update(x, u, *_bounds(idx, x.shape))


def _np_slice_update(x, u, idx):
    out = np.array(x, copy=True)
    out[idx] = u
    return out


def _np_flatten(x, start_axis=0, end_axis=-1):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_axis % x.ndim, end_axis % x.ndim
    return x.reshape(x.shape[:s] + (_size(x.shape[s:e + 1]),) + x.shape[e + 1:])


def _reshape_ok(shapes, kw):
    known = [d for d in kw["shape"] if d != -1]
    if len(known) == len(kw["shape"]):
        return _size(shapes[0]) == _size(known)
    return _size(known) > 0 and _size(shapes[0]) % _size(known) == 0


def _squeeze_ok(shapes, kw):
    n = len(shapes[0])
    axes = np.atleast_1d(kw.get("axis", ()))
    return all(-n <= a < n and shapes[0][a] == 1 for a in axes)


def _update_ok(shapes, kw):
    window = np.empty(shapes[0])[kw["idx"]].shape
    try:
        return np.broadcast_shapes(shapes[1], window) == window
    except ValueError:
        return False


def _valid_axis(key="axis", extra=0):
    """Cases whose axis (or axes) fit the first input's rank (+extra for new axes)."""

    def ok(shapes, kw):
        ax = kw.get(key)
        if ax is None:
            return True
        n = len(shapes[0]) + extra
        axes = ax if isinstance(ax, (tuple, list)) else (ax,)
        return all(-n <= a < n for a in axes) and len(set(a % n for a in axes)) == len(axes)

    return ok


SLICES = [
    (slice(1, 3),),
    (slice(None, None, -1),),
    (slice(None), slice(None, None, 2)),
    (slice(-1, 0, -2), slice(3, None, -1)),
    (slice(2, 2),),
    (slice(10, -10, -3), slice(-2, None)),
]

ROWS = [
    OpRow(
        name="reshape",
        ember=lambda x, shape: mx.reshape(x, shape),
        numpy=lambda x, shape: np.reshape(x, shape),
        shapes=[((2, 3, 4),), ((24,),), ((0, 3),), ((),)],
        kwargs=[dict(shape=(6, 4)), dict(shape=(-1,)), dict(shape=(2, -1, 3)), dict(shape=(0, 1, 3)),
                dict(shape=(1,))],
        valid=_reshape_ok,
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="reshape_strided",
        ember=lambda x: mx.reshape(mx.transpose(x, (1, 0, 2)), (-1,)),
        numpy=lambda x: np.reshape(np.transpose(x, (1, 0, 2)), (-1,)),
        shapes=[((2, 3, 4),), ((3, 1, 2),)],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="method_reshape",
        ember=lambda x: x.reshape(4, -1) + x.reshape((4, -1)),
        numpy=lambda x: x.reshape(4, -1) * 2,
        shapes=[((2, 2, 3),)],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="flatten",
        ember=lambda x, **k: mx.flatten(x, **k),
        numpy=_np_flatten,
        shapes=[((2, 3, 4),), ((5,),), ((2, 0, 3),), ((),)],
        kwargs=[dict(), dict(start_axis=1), dict(start_axis=0, end_axis=1), dict(end_axis=-2)],
        valid=lambda s, kw: len(s[0]) >= 2 or not kw,
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="squeeze",
        ember=lambda x, **k: mx.squeeze(x, **k),
        numpy=lambda x, **k: np.squeeze(x, **k),
        shapes=[((1, 3, 1, 2),), ((1,),), ((1, 0, 1),)],
        kwargs=[dict(), dict(axis=0), dict(axis=(0, 2)), dict(axis=-2)],
        valid=_squeeze_ok,
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="expand_dims",
        ember=lambda x, axis: mx.expand_dims(x, axis),
        numpy=lambda x, axis: np.expand_dims(x, axis),
        shapes=[((2, 3),), ((),), ((4,),)],
        kwargs=[dict(axis=0), dict(axis=-1), dict(axis=(0, 2)), dict(axis=1)],
        valid=lambda s, kw: _valid_axis(extra=len(np.atleast_1d(kw["axis"])))(s, kw),
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="transpose",
        ember=lambda x, **k: mx.transpose(x, **k),
        numpy=lambda x, **k: np.transpose(x, **k),
        shapes=[((2, 3, 4),), ((3, 5),), ((5,),), ((2, 0, 3),)],
        kwargs=[dict(), dict(axes=(1, 0, 2)), dict(axes=(2, 0, 1)), dict(axes=(-1, 0))],
        valid=lambda s, kw: "axes" not in kw or len(kw["axes"]) == len(s[0]),
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="swapaxes",
        ember=lambda x, a1, a2: mx.swapaxes(x, a1, a2),
        numpy=lambda x, a1, a2: np.swapaxes(x, a1, a2),
        shapes=[((2, 3, 4),), ((3, 5),)],
        kwargs=[dict(a1=0, a2=1), dict(a1=-1, a2=0), dict(a1=1, a2=1)],
        dtypes=("float32", "float64", "int32", "bool"),
        out_dtype=SAME,
    ),
    OpRow(
        name="moveaxis",
        ember=lambda x, source, destination: mx.moveaxis(x, source, destination),
        numpy=lambda x, source, destination: np.moveaxis(x, source, destination),
        shapes=[((2, 3, 4),), ((2, 3, 4, 5),)],
        kwargs=[dict(source=0, destination=-1), dict(source=-1, destination=1),
                dict(source=1, destination=0)],
        dtypes=("float32", "float64", "int32", "bool"),
        out_dtype=SAME,
    ),
    OpRow(
        name="broadcast_to",
        ember=lambda x, shape: mx.broadcast_to(x, shape),
        numpy=lambda x, shape: np.broadcast_to(x, shape),
        shapes=[((3, 1),), ((1,),), ((),), ((2, 1, 4),)],
        kwargs=[dict(shape=(2, 3, 4)), dict(shape=(3, 5)), dict(shape=(2, 2, 3, 4)),
                dict(shape=(0, 3, 1))],
        valid=lambda s, kw: all(d in (1, t) for d, t in zip(s[0][::-1], kw["shape"][::-1]))
        and len(s[0]) <= len(kw["shape"]),
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="broadcast_arrays",
        ember=lambda a, b: mx.stack(mx.broadcast_arrays(a, b)),
        numpy=lambda a, b: np.stack(np.broadcast_arrays(a, b)),
        shapes=[((3, 1), (4,)), ((2, 1, 3), (5, 1)), ((), (2,))],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="slice",
        ember=lambda x, idx: _slice(x, idx),
        numpy=lambda x, idx: x[idx],
        shapes=[((5, 6),), ((4, 7, 2),), ((0, 4),)],
        kwargs=[dict(idx=i) for i in SLICES],
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="slice_strided",
        ember=lambda x, idx: _slice(_slice(mx.transpose(x), (slice(None, None, -1),)), idx),
        numpy=lambda x, idx: x.T[::-1][idx],
        shapes=[((6, 5),), ((2, 7, 4),)],
        kwargs=[dict(idx=i) for i in SLICES[:4]],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="slice_update",
        ember=lambda x, u, idx: _slice_update(x, u, idx),
        numpy=_np_slice_update,
        shapes=[((5, 6), (2, 6)), ((5, 6), (6,)), ((5, 6), ())],
        kwargs=[dict(idx=(slice(1, 3),)), dict(idx=(slice(4, None, -2),)),
                dict(idx=(slice(None, None, -1), slice(2, 4)))],
        valid=_update_ok,
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="slice_update_strided",
        ember=lambda x, u: _slice_update(mx.transpose(x), mx.transpose(u), (slice(None, None, -2),)),
        numpy=lambda x, u: _np_slice_update(x.T, u.T, (slice(None, None, -2),)),
        shapes=[((4, 5), (4, 3)), ((2, 3), (2, 2))],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="concatenate",
        ember=lambda *xs, axis: mx.concatenate(xs, axis=axis),
        numpy=lambda *xs, axis: np.concatenate(xs, axis=axis),
        shapes=[((2, 3), (4, 3)), ((2, 3), (2, 5), (2, 1)), ((3,), (0,), (2,)),
                ((2, 3, 4), (2, 3, 1))],
        kwargs=[dict(axis=0), dict(axis=1), dict(axis=-1), dict(axis=None)],
        valid=lambda s, kw: kw["axis"] is None or (
            -len(s[0]) <= kw["axis"] < len(s[0])
            and all(len(t) == len(s[0]) and all(a == b for i, (a, b) in enumerate(zip(t, s[0]))
                                                if i != kw["axis"] % len(s[0])) for t in s)),
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="concatenate_strided",
        ember=lambda a, b: mx.concatenate([mx.transpose(a), _slice(b, (slice(None, None, -1),))],
                                          axis=0),
        numpy=lambda a, b: np.concatenate([a.T, b[::-1]], axis=0),
        shapes=[((3, 2), (4, 3)), ((5, 4), (1, 5))],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="stack",
        ember=lambda *xs, axis: mx.stack(xs, axis=axis),
        numpy=lambda *xs, axis: np.stack(xs, axis=axis),
        shapes=[((2, 3), (2, 3)), ((4,), (4,), (4,)), ((), ())],
        kwargs=[dict(axis=0), dict(axis=-1), dict(axis=1)],
        valid=lambda s, kw: -len(s[0]) - 1 <= kw["axis"] <= len(s[0]),
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="split_sections",
        ember=lambda x, n, axis: mx.stack(mx.split(x, n, axis=axis)),
        numpy=lambda x, n, axis: np.stack(np.split(x, n, axis=axis)),
        shapes=[((6, 4),), ((2, 6, 3),)],
        kwargs=[dict(n=2, axis=0), dict(n=3, axis=1), dict(n=1, axis=-1), dict(n=2, axis=-2)],
        valid=lambda s, kw: -len(s[0]) <= kw["axis"] < len(s[0])
        and s[0][kw["axis"]] % kw["n"] == 0,
        dtypes=("float32", "float64", "int32", "bool"),
        out_dtype=SAME,
    ),
    OpRow(
        name="split_indices",
        # Reverse the parts before joining, so each part's position matters.
        ember=lambda x, idx, axis: mx.concatenate(mx.split(x, idx, axis=axis)[::-1], axis=axis),
        numpy=lambda x, idx, axis: np.concatenate(np.split(x, idx, axis=axis)[::-1], axis=axis),
        shapes=[((7, 3),), ((2, 8),)],
        kwargs=[dict(idx=[2, 5], axis=0), dict(idx=[1, -2, 20], axis=-1), dict(idx=[3, 1], axis=1),
                dict(idx=[], axis=0)],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="repeat",
        ember=lambda x, **k: mx.repeat(x, **k),
        numpy=lambda x, **k: np.repeat(x, **k),
        shapes=[((2, 3),), ((4,),), ((2, 0),)],
        kwargs=[dict(repeats=3), dict(repeats=2, axis=0), dict(repeats=2, axis=-1),
                dict(repeats=0, axis=1)],
        valid=_valid_axis(),
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="tile",
        ember=lambda x, reps: mx.tile(x, reps),
        numpy=lambda x, reps: np.tile(x, reps),
        shapes=[((2, 3),), ((3,),), ((),)],
        kwargs=[dict(reps=2), dict(reps=(2, 1)), dict(reps=(2, 1, 3)), dict(reps=(0, 2))],
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="pad",
        ember=lambda x, **k: mx.pad(x, **k),
        numpy=lambda x, **k: np.pad(x, **k),
        shapes=[((3, 4),), ((5,),), ((2, 0, 3),)],
        kwargs=[dict(pad_width=1), dict(pad_width=(2, 1)), dict(pad_width=((0, 1),)),
                dict(pad_width=[(1, 0), (0, 2)], constant_values=2),
                dict(pad_width=[(1, 0), (0, 2), (3, 3)])],
        valid=lambda s, kw: not isinstance(kw["pad_width"], list) or len(kw["pad_width"]) == len(s[0]),
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="pad_value",
        # The pad value is an input too, so its gradient (the border's cotangent) is checked.
        ember=lambda x, v: mx.pad(x, ((1, 2), (0, 1)), constant_values=v),
        numpy=lambda x, v: np.pad(x, ((1, 2), (0, 1)), constant_values=v),
        shapes=[((3, 4), ()), ((1, 2), ())],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="pad_strided",
        ember=lambda x: mx.pad(_slice(mx.transpose(x), (slice(None, None, -1),)), 2,
                               constant_values=-1),
        numpy=lambda x: np.pad(x.T[::-1], 2, constant_values=-1),
        shapes=[((3, 4),), ((2, 1),)],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
]


# ---- issue 9: flip, roll, diagonal, diag, atleast_nd, unflatten, unstack, meshgrid, diff,
# as_strided, view, contiguous, dynamic slice / slice_update, depends ----
def _dyn_make(start):
    """Inputs of the dynamic slice rows: the array, then its start indices (int32)."""

    def make(rng, shapes, dtype):
        return [default_make(rng, [shapes[0]], dtype)[0], np.array(start, np.int32)] + \
            [default_make(rng, [s], dtype)[0] for s in shapes[2:]]

    return make


def _np_dyn_slice(x, start, axes, size):
    idx = [slice(None)] * x.ndim
    for s, a, n in zip(np.asarray(start).tolist(), axes, size):
        s = min(max(s, 0), x.shape[a] - n)
        idx[a] = slice(s, s + n)
    return x[tuple(idx)]


def _np_dyn_update(x, u, start, axes):
    out = np.array(x, copy=True)
    idx = [slice(None)] * x.ndim
    for s, a in zip(np.asarray(start).tolist(), axes):
        n = u.shape[a - x.ndim + u.ndim] if a - x.ndim + u.ndim >= 0 else 1
        s = min(max(s, 0), x.shape[a] - n)
        idx[a] = slice(s, s + n)
    out[tuple(idx)] = u
    return out


def _np_as_strided(x, shape, strides, offset=0):
    flat = np.ascontiguousarray(x).reshape(-1)[offset:]
    return np.lib.stride_tricks.as_strided(flat, shape, [s * flat.itemsize for s in strides]).copy()


def _np_unflatten(x, axis, shape):
    axis = axis % x.ndim
    return x.reshape(x.shape[:axis] + tuple(shape) + x.shape[axis + 1:])


ROWS += [
    OpRow(
        name="flip",
        ember=lambda x, **k: mx.flip(x, **k),
        numpy=lambda x, **k: np.flip(x, **k),
        shapes=[((2, 3, 4),), ((5,),), ((2, 0),)],
        kwargs=[dict(), dict(axis=0), dict(axis=-1), dict(axis=(0, 1))],
        valid=_valid_axis(),
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="roll",
        ember=lambda x, **k: mx.roll(x, **k),
        numpy=lambda x, **k: np.roll(x, **k),
        shapes=[((3, 4),), ((2, 3, 4),), ((5,),)],
        kwargs=[dict(shift=2), dict(shift=-1, axis=0), dict(shift=(1, -2), axis=(0, 1)),
                dict(shift=7, axis=-1), dict(shift=0, axis=0)],
        valid=lambda s, kw: _valid_axis()(s, kw) if not isinstance(kw.get("axis"), tuple)
        else len(s[0]) >= 2,
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="diagonal",
        ember=lambda x, **k: mx.diagonal(x, **k),
        numpy=lambda x, **k: np.diagonal(x, **k).copy(),
        shapes=[((3, 4),), ((4, 3),), ((2, 3, 4),)],
        kwargs=[dict(), dict(offset=1), dict(offset=-2), dict(axis1=1, axis2=0),
                dict(offset=1, axis1=-1, axis2=-2), dict(offset=5)],
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="method_diagonal",
        ember=lambda x: x.diagonal(1),
        numpy=lambda x: np.diagonal(x, 1).copy(),
        shapes=[((3, 4),)],
        out_dtype=SAME,
    ),
    OpRow(
        name="diag",
        ember=lambda x, **k: mx.diag(x, **k),
        numpy=lambda x, **k: np.diag(x, **k),
        shapes=[((4,),), ((3, 4),), ((1,),)],
        kwargs=[dict(), dict(k=1), dict(k=-2)],
        dtypes=DTYPES,
        out_dtype=SAME,
    ),
    OpRow(
        name="atleast_1d",
        ember=lambda x: mx.atleast_1d(x),
        numpy=np.atleast_1d,
        shapes=[((),), ((3,),), ((2, 3),)],
        out_dtype=SAME,
    ),
    OpRow(
        name="atleast_2d",
        ember=lambda x: mx.atleast_2d(x),
        numpy=np.atleast_2d,
        shapes=[((),), ((3,),), ((2, 3),), ((2, 1, 3),)],
        out_dtype=SAME,
    ),
    OpRow(
        name="atleast_3d",
        ember=lambda x: mx.atleast_3d(x),
        numpy=np.atleast_3d,
        shapes=[((),), ((3,),), ((2, 3),), ((2, 1, 3, 2),)],
        out_dtype=SAME,
    ),
    OpRow(
        name="unflatten",
        ember=lambda x, **k: mx.unflatten(x, **k),
        numpy=_np_unflatten,
        shapes=[((2, 6, 3),)],
        kwargs=[dict(axis=1, shape=(2, 3)), dict(axis=-1, shape=(3, 1)), dict(axis=1, shape=(-1, 2))],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="unstack",
        ember=lambda x, axis: mx.stack(mx.unstack(x, axis=axis), axis=0),
        numpy=lambda x, axis: np.moveaxis(x, axis, 0),
        shapes=[((2, 3, 4),), ((3, 2),)],
        kwargs=[dict(axis=0), dict(axis=1), dict(axis=-1)],
        out_dtype=SAME,
    ),
    OpRow(
        name="meshgrid",
        ember=lambda a, b, **k: mx.stack(mx.meshgrid(a, b, **k)),
        numpy=lambda a, b, **k: np.stack(np.meshgrid(a, b, **k)),
        shapes=[((3,), (4,)), ((1,), (2,))],
        kwargs=[dict(), dict(indexing="ij")],
        out_dtype=SAME,
    ),
    OpRow(
        name="meshgrid3",
        ember=lambda a, b, c, **k: mx.stack(mx.meshgrid(a, b, c, **k)),
        numpy=lambda a, b, c, **k: np.stack(np.meshgrid(a, b, c, **k)),
        shapes=[((3,), (4,), (2,))],
        kwargs=[dict(), dict(indexing="ij")],
        out_dtype=SAME,
    ),
    OpRow(
        name="diff",
        ember=lambda x, **k: mx.diff(x, **k),
        numpy=lambda x, **k: np.diff(x, **k),
        shapes=[((6,),), ((3, 5),), ((2, 3, 4),)],
        kwargs=[dict(), dict(n=2), dict(axis=0), dict(n=3, axis=-1), dict(n=0)],
        dtypes=("float32", "float64", "int32", "bool"),
        out_dtype=SAME,
    ),
    OpRow(
        name="as_strided",
        ember=lambda x, **k: mx.as_strided(x, **k),
        numpy=_np_as_strided,
        shapes=[((12,),), ((3, 4),)],
        kwargs=[dict(shape=(3, 3), strides=(1, 1)), dict(shape=(2, 3), strides=(4, 2), offset=1),
                dict(shape=(4, 3), strides=(-3, 1), offset=9), dict(shape=(2, 2), strides=(0, 1))],
        dtypes=("float32", "float64", "int32"),
        out_dtype=SAME,
    ),
    OpRow(
        name="view",
        ember=lambda x, dtype: mx.view(x, getattr(mx, dtype)),
        numpy=lambda x, dtype: x.astype(np.float32).view(dtype),
        shapes=[((3, 4),), ((2,),)],
        kwargs=[dict(dtype="int32"), dict(dtype="uint8"), dict(dtype="float16")],
        dtypes=("float32",),
        out_dtype=lambda d, k: k["dtype"],
        grad=False,
        smooth=False,
    ),
    OpRow(
        name="contiguous",
        ember=lambda x: mx.contiguous(mx.transpose(x)),
        numpy=lambda x: np.ascontiguousarray(x.T),
        shapes=[((3, 4),), ((2, 3, 4),)],
        out_dtype=SAME,
    ),
    OpRow(
        name="slice_dynamic",
        ember=lambda x, s, axes, size: mx.slice(x, s, axes, size),
        numpy=_np_dyn_slice,
        shapes=[((4, 5), (2,))],
        kwargs=[dict(axes=(0, 1), size=(2, 3))],
        make=_dyn_make([1, 3]),
        grad_args=[0],
    ),
    OpRow(
        name="slice_dynamic_axis",
        ember=lambda x, s, axes, size: mx.slice(x, s, axes, size),
        numpy=_np_dyn_slice,
        shapes=[((3, 6, 2), (1,))],
        kwargs=[dict(axes=(1,), size=(2,))],
        make=_dyn_make([5]),  # clamped to 4
        grad_args=[0],
    ),
    OpRow(
        name="slice_update_dynamic",
        ember=lambda x, s, u, axes: mx.slice_update(x, u, s, axes),
        numpy=lambda x, s, u, axes: _np_dyn_update(x, u, s, axes),
        shapes=[((4, 5), (2,), (2, 3))],
        kwargs=[dict(axes=(0, 1))],
        make=_dyn_make([2, -1]),
        grad_args=[0, 2],
    ),
    OpRow(
        name="depends",
        ember=lambda x, y: mx.depends(x, y) * 2,
        numpy=lambda x, y: x * 2,
        shapes=[((3,), (2, 2))],
    ),
]
