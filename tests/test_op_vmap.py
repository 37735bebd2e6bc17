"""Generic vmap checks over the op table: vmap(op) equals stacking the op applied to
each slice, for several in_axes (0, -1, None for some inputs) and out_axes, and for a
batch of size 0."""
import itertools

import numpy as np
import pytest

import ember.core as mx
from op_table import ALL_ROWS, default_make, to_mx

MAX_CASES = 2
B = 3


def _configs(n_inputs, ndims):
    """(in_axes, out_axes) pairs to test for inputs of the given ranks (after batching)."""
    configs = [(tuple([0] * n_inputs), 0), (tuple([-1] * n_inputs), -1)]
    if n_inputs > 1:
        configs.append(((None,) + tuple([0] * (n_inputs - 1)), 0))
        configs.append((tuple([0] * (n_inputs - 1)) + (None,), 1))
    if all(d >= 1 for d in ndims):
        configs.append((tuple([1] * n_inputs), 0))
    return configs


def _cases():
    out = []
    for row in ALL_ROWS:
        if not row.vmap:
            continue
        dtype = "float32" if "float32" in row.dtypes else row.dtypes[0]
        for n, (shapes, kw) in enumerate(row.cases()):
            if n >= MAX_CASES:
                break
            for in_axes, out_axes in _configs(len(shapes), [len(s) for s in shapes]):
                out.append(pytest.param(row, shapes, kw, dtype, in_axes, out_axes,
                                        id=f"{row.name}-{shapes}-{kw}-in{in_axes}-out{out_axes}"))
    return out


@pytest.mark.parametrize("row,shapes,kw,dtype,in_axes,out_axes", _cases())
def test_vmap_matches_loop(row, shapes, kw, dtype, in_axes, out_axes, device):
    with mx.stream(device):
        _vmap_matches_loop(row, shapes, kw, dtype, in_axes, out_axes)


def _vmap_matches_loop(row, shapes, kw, dtype, in_axes, out_axes):
    make = row.make or default_make
    samples = [make(np.random.default_rng(b), shapes, dtype) for b in range(B)]
    batched = []
    for i, ax in enumerate(in_axes):
        if ax is None:
            batched.append(to_mx(samples[0][i]))
        else:
            batched.append(to_mx(np.stack([np.asarray(s[i]) for s in samples], axis=ax)))
    fn = lambda *xs: row.ember(*xs, **kw)
    expected = []
    for b in range(B):
        args = [to_mx(samples[0][i] if ax is None else samples[b][i]) for i, ax in enumerate(in_axes)]
        expected.append(np.asarray(fn(*args)))
    if all(ax is None for ax in in_axes):
        pytest.skip("nothing mapped")
    out_axes = min(out_axes, expected[0].ndim)  # a 0-d output has one place for the batch
    expected = np.stack(expected, axis=out_axes)
    got = mx.vmap(fn, in_axes=in_axes, out_axes=out_axes)(*batched)
    assert got.shape == expected.shape
    wide = np.complex128 if np.iscomplexobj(expected) else np.float64  # keep imaginary parts
    np.testing.assert_allclose(np.asarray(got).astype(wide), expected.astype(wide),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("row", [r for r in ALL_ROWS if r.vmap], ids=lambda r: r.name)
def test_vmap_empty_batch(row):
    shapes, kw = next(iter(row.cases()))
    dtype = "float32" if "float32" in row.dtypes else row.dtypes[0]
    make = row.make or default_make
    sample = make(np.random.default_rng(0), shapes, dtype)
    one = np.asarray(row.ember(*[to_mx(s) for s in sample], **kw))
    empty = [to_mx(np.zeros((0,) + np.asarray(s).shape, np.asarray(s).dtype)) for s in sample]
    got = mx.vmap(lambda *xs: row.ember(*xs, **kw))(*empty)
    assert got.shape == (0,) + one.shape
