"""Op-table rows of the index family: take, take_along_axis, put_along_axis, getitem and
setitem (basic, advanced, masks), sort, argsort, partition, argpartition and topk.

Index inputs come from `make` functions (integer arrays in range, some negative); rows that
write (put_along_axis, setitem) use indices without repeats, so their gradients are the
finite-difference ones. Partition results are only defined up to the order of the elements
on either side of kth, so those rows compare sorted or kth values.
"""
import numpy as np

import ember.core as mx

from . import FLOATS, INTS, OpRow, default_make, np_dtype

# Element sizes 1, 2, 4, 8 (gather moves bits) plus the float kinds.
MOVE_DTYPES = ("float32", "float64", "float16", "bfloat16", "int8", "int16", "int64", "uint32",
               "bool", "complex64")
SORT_DTYPES = FLOATS + ("int8", "int32", "int64", "uint8", "uint32", "bool")


def _values(rng, shape, dtype):
    return default_make(rng, [shape], dtype)[0]


def _indices(rng, shape, n, dtype="int32"):
    """Indices into an axis of size n, half of them written negatively."""
    i = rng.integers(0, n, size=shape)
    return np.where(rng.random(shape) < 0.5, i - n, i).astype(dtype)


def _take_make(rng, shapes, dtype):
    a_shape, i_shape = shapes
    n = min(a_shape) if a_shape else 1
    return [_values(rng, a_shape, dtype), _indices(rng, i_shape, n)]


def _along_make(axis, unique=False, with_values=False, idx_dtype="int32"):
    """Inputs of the along-axis ops for a fixed axis; `unique`: no index repeats along the
    axis (a permutation prefix per line), so writes do not collide."""

    def make(rng, shapes, dtype):
        a_shape, i_shape = shapes[0], shapes[1]
        n = a_shape[axis]
        if unique:
            k = i_shape[axis]
            lines = np.moveaxis(np.empty(i_shape, np.int64), axis, -1)
            flat = lines.reshape(-1, k)
            for r in range(flat.shape[0]):
                flat[r] = rng.permutation(n)[:k]
            idx = np.moveaxis(flat.reshape(lines.shape), -1, axis)
            idx = np.where(rng.random(i_shape) < 0.5, idx - n, idx).astype(idx_dtype)
        else:
            idx = _indices(rng, i_shape, n, idx_dtype)
        out = [_values(rng, a_shape, dtype), idx]
        if with_values:
            out.append(_values(rng, shapes[2], dtype))
        return out

    return make


def _np_put(a, i, v, axis):
    b = np.array(a, copy=True)
    np.put_along_axis(b, i, v, axis)
    return b


def _along_rows():
    rows = []
    for axis, a_shape, i_shape in [(0, (4, 5), (3, 5)), (1, (4, 5), (4, 2)), (-1, (3, 4, 5), (3, 4, 6)),
                                   (1, (3, 4, 5), (3, 2, 5)), (1, (4, 5), (1, 3)), (0, (6,), (4,))]:
        name = f"take_along_axis[axis={axis},{a_shape},{i_shape}]"
        rows.append(OpRow(
            name=name,
            ember=lambda a, i, axis=axis: mx.take_along_axis(a, i, axis=axis),
            numpy=lambda a, i, axis=axis: np.take_along_axis(a, i.astype(np.int64), axis=axis),
            shapes=[(a_shape, i_shape)],
            dtypes=MOVE_DTYPES,
            make=_along_make(axis),
            grad_args=[0],
            smooth=True,
        ))
    for axis, a_shape, i_shape in [(0, (4, 5), (3, 5)), (1, (4, 5), (4, 2)), (-1, (3, 4, 5), (3, 4, 5)),
                                   (1, (3, 4, 5), (3, 2, 5))]:
        rows.append(OpRow(
            name=f"put_along_axis[axis={axis},{a_shape},{i_shape}]",
            ember=lambda a, i, v, axis=axis: mx.put_along_axis(a, i, v, axis=axis),
            numpy=lambda a, i, v, axis=axis: _np_put(a, i.astype(np.int64), v, axis),
            shapes=[(a_shape, i_shape, i_shape)],
            dtypes=MOVE_DTYPES,
            make=_along_make(axis, unique=True, with_values=True),
            grad_args=[0, 2],
        ))
    # Broadcast values: one value per line written at unique positions.
    rows.append(OpRow(
        name="put_along_axis[broadcast values]",
        ember=lambda a, i, v: mx.put_along_axis(a, i, v, axis=1),
        numpy=lambda a, i, v: _np_put(a, i.astype(np.int64), v, 1),
        shapes=[((4, 5), (4, 3), (4, 1))],
        make=_along_make(1, unique=True, with_values=True),
        grad_args=[0, 2],
    ))
    return rows


# ---- getitem / setitem --------------------------------------------------------------------
# (name, index) pairs applied to an input of shape (4, 5, 6).
GETITEM = [
    ("int", 1),
    ("neg_int", (-1, 2)),
    ("slices", (slice(1, 3), slice(None, None, -2))),
    ("ellipsis_newaxis", (None, Ellipsis, 0)),
    ("int_array_dups", [0, 2, 2, -1]),
    ("array_axis1", (slice(None), [4, 0, 1])),
    ("adjacent", (slice(1, 3), [0, 1], [[2], [-1]])),
    ("separated", ([0, 3], slice(None), [1, 5])),
    ("int_and_array", (0, slice(None, None, 2), [1, 2])),
    ("mask", np.array([True, False, True, True])),
]

SETITEM = [
    ("int", 1, (5, 6)),
    ("slices", (slice(1, 3), slice(None, None, -2)), (2, 3, 6)),
    ("broadcast_value", (Ellipsis, 2), (1, 5)),
    ("newaxis", (None, 0, slice(1, 4)), (1, 3, 6)),
    ("array", [3, 0], (2, 5, 6)),
    ("array_axis1_broadcast", (slice(None), [4, 0, 1]), (3, 6)),
    ("separated", ([0, 3], slice(1, 4), [1, 5]), (2, 3)),
    ("mask", (slice(None), np.array([True, False, True, False, True])), (4, 3, 6)),
]


def _copy_setitem(x, v, index):
    y = mx.array(x)  # a new Python object: rebinding it leaves x alone
    y[index] = v
    return y


def _np_setitem(x, v, index):
    y = np.array(x, copy=True)
    y[index] = v
    return y


def _getitem_rows():
    rows = []
    for name, index in GETITEM:
        rows.append(OpRow(
            name=f"getitem[{name}]",
            ember=lambda x, index=index: x[index],
            numpy=lambda x, index=index: x[index],
            shapes=[((4, 5, 6),)],
            dtypes=MOVE_DTYPES,
        ))
    for name, index, v_shape in SETITEM:
        rows.append(OpRow(
            name=f"setitem[{name}]",
            ember=lambda x, v, index=index: _copy_setitem(x, v, index),
            numpy=lambda x, v, index=index: _np_setitem(x, v, index),
            shapes=[((4, 5, 6), v_shape)],
            dtypes=MOVE_DTYPES,
        ))

    # The index is an input too (batched under vmap: Gather with batched indices).
    def make_xi(rng, shapes, dtype):
        return [_values(rng, shapes[0], dtype), _indices(rng, shapes[1], shapes[0][0])]

    rows.append(OpRow(
        name="getitem[index_input]",
        ember=lambda x, i: x[i],
        numpy=lambda x, i: x[i],
        shapes=[((5, 3), (4,)), ((4, 2, 3), (2, 3))],
        dtypes=MOVE_DTYPES,
        make=make_xi,
        grad_args=[0],
    ))
    rows.append(OpRow(
        name="getitem[index_input_axis1]",
        ember=lambda x, i: x[:, i, 1:],
        numpy=lambda x, i: x[:, i, 1:],
        shapes=[((2, 5, 3), (2, 2))],
        make=lambda rng, shapes, dtype: [_values(rng, shapes[0], dtype),
                                         _indices(rng, shapes[1], shapes[0][1])],
        grad_args=[0],
    ))
    return rows


# ---- take ---------------------------------------------------------------------------------
def _take_row():
    def valid(shapes, kw):
        axis = kw.get("axis")
        return axis is None or -len(shapes[0]) <= axis < len(shapes[0])

    return OpRow(
        name="take",
        ember=lambda a, i, **k: mx.take(a, i, **k),
        numpy=lambda a, i, **k: np.take(a, i, **k),
        shapes=[((5, 4), (3,)), ((4, 3, 5), (2, 2)), ((6,), (4,)), ((3, 4), ()), ((3, 4), (0,))],
        kwargs=[dict(axis=None), dict(axis=0), dict(axis=1), dict(axis=-1)],
        dtypes=MOVE_DTYPES,
        make=_take_make,
        grad_args=[0],
        valid=valid,
    )


# ---- sort family ----------------------------------------------------------------------------
SORT_SHAPES = [((7,),), ((3, 5),), ((2, 3, 4),), ((0, 3),), ((3, 1),)]
SORT_AXES = [dict(), dict(axis=0), dict(axis=1), dict(axis=None)]


def _axis_ok(shapes, kw):
    axis = kw.get("axis", -1)
    return axis is None or -len(shapes[0]) <= axis < len(shapes[0])


def _np_kw(kw):
    return dict(axis=kw.get("axis", -1))


def _kth_ok(kth):
    def valid(shapes, kw):
        if not _axis_ok(shapes, kw):
            return False
        axis = kw.get("axis", -1)
        n = int(np.prod(shapes[0])) if axis is None else shapes[0][axis]
        return -n <= kth < n

    return valid


def _sort_rows():
    rows = [
        OpRow(
            name="sort",
            ember=lambda a, **k: mx.sort(a, **k),
            numpy=lambda a, **k: np.sort(a, **_np_kw(k)),
            shapes=SORT_SHAPES,
            kwargs=SORT_AXES,
            dtypes=SORT_DTYPES,
            valid=_axis_ok,
            smooth=True,
        ),
        OpRow(
            name="argsort",
            ember=lambda a, **k: mx.argsort(a, **k),
            numpy=lambda a, **k: np.argsort(a, kind="stable", **_np_kw(k)),
            shapes=SORT_SHAPES,
            kwargs=SORT_AXES,
            dtypes=SORT_DTYPES,
            valid=_axis_ok,
            grad=False,
            out_dtype=lambda dtypes, kw: "uint32",
        ),
    ]
    for kth in (0, 2, -1):
        rows.append(OpRow(
            # The values at kth are the sorted ones; the rest is checked as a multiset.
            name=f"partition[kth={kth}]",
            ember=lambda a, kth=kth, **k: mx.take(mx.partition(a, kth, **k), kth,
                                                  axis=k.get("axis", -1)),
            numpy=lambda a, kth=kth, **k: np.take(np.sort(a, **_np_kw(k)), kth,
                                                  axis=k.get("axis", -1)),
            shapes=SORT_SHAPES[:3],
            kwargs=SORT_AXES,
            dtypes=SORT_DTYPES,
            valid=_kth_ok(kth),
        ))
    rows.append(OpRow(
        name="partition[multiset]",
        ember=lambda a, **k: mx.sort(mx.partition(a, 1, **k), **k),
        numpy=lambda a, **k: np.sort(a, **_np_kw(k)),
        shapes=SORT_SHAPES[:3],
        kwargs=SORT_AXES,
        dtypes=SORT_DTYPES,
        valid=_kth_ok(1),
    ))
    rows.append(OpRow(
        name="argpartition",
        ember=_argpartition_kth,
        numpy=lambda a, **k: np.take(np.sort(a, **_np_kw(k)), 1, axis=k.get("axis", -1)),
        shapes=SORT_SHAPES[:3],
        kwargs=SORT_AXES,
        dtypes=SORT_DTYPES,
        valid=_kth_ok(1),
    ))
    for k_ in (1, 3):
        rows.append(OpRow(
            name=f"topk[k={k_}]",
            ember=lambda a, k_=k_, **k: mx.topk(a, k_, **k),
            numpy=lambda a, k_=k_, **k: _np_topk(a, k_, k.get("axis", -1)),
            shapes=SORT_SHAPES[:3],
            kwargs=SORT_AXES,
            dtypes=SORT_DTYPES,
            valid=lambda shapes, kw, k_=k_: _kth_ok(0)(shapes, kw) and k_ <= (
                int(np.prod(shapes[0])) if kw.get("axis", -1) is None
                else shapes[0][kw.get("axis", -1)]),
        ))
    return rows


def _argpartition_kth(a, **k):
    """The value argpartition(a, 1) puts at position 1: the second smallest."""
    axis = k.get("axis", -1)
    if axis is None:
        a, axis = mx.reshape(a, (-1,)), 0
    idx = mx.argpartition(a, 1, axis=axis)
    return mx.take(mx.take_along_axis(a, idx, axis=axis), 1, axis=axis)


def _np_topk(a, k, axis):
    if axis is None:
        a, axis = a.reshape(-1), 0
    s = np.sort(a, axis=axis)
    n = s.shape[axis]
    return np.take(s, np.arange(n - k, n), axis=axis)


ROWS = [_take_row()] + _along_rows() + _getitem_rows() + _sort_rows()


# ---- issue 9: array.at[...] updates (repeated indices accumulate) and searchsorted ----
AT_IDX = np.array([0, 2, 0, -1, 2, 0])  # repeats: 0 three times, 2 twice


def _np_at(ufunc, idx):
    def ref(x, u):
        out = np.array(x, copy=True)
        ufunc.at(out, idx, u)
        return out

    return ref


def _at_make(rng, shapes, dtype):
    # Updates of magnitude 0.5 .. 1.5 (multiply's rules divide by them) and distinct
    # values everywhere (maximum / minimum: no ties).
    out = []
    for s in shapes:
        n = int(np.prod(s))
        v = (rng.permutation(n) + 1 + rng.random(n) * 0.5) / max(n, 1) + 0.5
        out.append((v * rng.choice([-1, 1], size=n)).reshape(s).astype(np_dtype(dtype)))
    return out


def _at_row(name, method, ufunc, idx=AT_IDX, shapes=None, make=_at_make):
    if isinstance(idx, np.ndarray):
        mx_idx = mx.array(idx)
    elif isinstance(idx, tuple):
        mx_idx = tuple(mx.array(i) for i in idx)
    else:
        mx_idx = idx
    return OpRow(
        name=f"at_{name}",
        ember=lambda x, u: getattr(x.at[mx_idx], method)(u),
        numpy=_np_at(ufunc, idx),
        shapes=shapes or [((4,), (6,)), ((4, 3), (6, 3)), ((4, 3), (3,))],
        dtypes=("float32", "float64"),
        make=make,
        smooth=False,
    )


def _searchsorted_make(rng, shapes, dtype):
    seq = np.sort(default_make(rng, [shapes[0]], dtype)[0], axis=-1)
    values = default_make(rng, [shapes[1]], dtype)[0]
    if values.size and seq.size:  # some values equal to sequence entries (side matters)
        values.reshape(-1)[0] = seq.reshape(-1)[0]
    return [seq, values]


def _np_searchsorted(seq, values, side="left"):
    if seq.ndim == 1:
        return np.searchsorted(seq, values, side=side)
    lead = seq.shape[:-1]
    out = np.empty(values.shape, np.int64)
    for i in np.ndindex(*lead):
        out[i] = np.searchsorted(seq[i], values[i], side=side)
    return out


ROWS += [
    _at_row("add", "add", np.add),
    _at_row("subtract", "subtract", np.subtract),
    _at_row("multiply", "multiply", np.multiply),
    _at_row("divide", "divide", np.divide),
    _at_row("maximum", "maximum", np.maximum),
    _at_row("minimum", "minimum", np.minimum),
    _at_row("add_2d", "add", np.add, idx=(np.array([0, 1, 0]), np.array([2, 2, 2])),
            shapes=[((3, 4), (3,))]),
    _at_row("add_slice", "add", np.add, idx=slice(1, 3), shapes=[((4, 3), (2, 3)), ((4,), ())]),
    _at_row("maximum_slice", "maximum", np.maximum, idx=slice(None, None, 2),
            shapes=[((5, 2), (3, 2))]),
    OpRow(
        name="searchsorted",
        ember=lambda s, v, **k: mx.searchsorted(s, v, **k),
        numpy=_np_searchsorted,
        shapes=[((6,), (4,)), ((6,), (2, 3)), ((2, 5), (2, 3))],
        kwargs=[dict(), dict(side="right")],
        dtypes=("float32", "int32"),
        make=_searchsorted_make,
        out_dtype=lambda d, k: "uint32",
        grad=False,
        smooth=False,
    ),
]
