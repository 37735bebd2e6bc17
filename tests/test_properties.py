"""Property and differential tests (hypothesis) over the op table.

* Values: every row of tests/op_table with inputs, on random valid inputs (shapes drawn for
  the elementwise families, including 0-d and 0-size; the row's own cases otherwise), every
  dtype the row lists, and each input in a random layout (contiguous, transposed, negative
  strides, a strided slice with an offset, a stride-0 broadcast), compared with numpy through
  test_op_values.check_row.
* One-mutation invalid inputs: shapes that cannot broadcast, an axis out of range, a
  non-array argument; each must raise the right exception type, naming the op.
* Transforms over random compositions of smooth ops: grad against central differences,
  jvp against vjp, vmap against a loop.
* Dangerous calls (huge, negative or overflowing sizes and axes) run in a child process, so
  a crash fails the test instead of ending the run.

Budget: the "ci" profile (default) keeps the whole file to well under a minute on 2 cores;
EMBER_HYPOTHESIS_PROFILE=dev or =long runs more examples.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember.core as mx
from op_table import ALL_ROWS, to_mx
from test_op_values import broadcast_rows, check_row, sliced, transposed

settings.register_profile("ci", max_examples=6, deadline=None, derandomize=True,
                          suppress_health_check=list(HealthCheck), database=None)
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("long", max_examples=1000, deadline=None,
                          suppress_health_check=list(HealthCheck))
PROFILE = settings.get_profile(os.environ.get("EMBER_HYPOTHESIS_PROFILE", "ci"))


def reversed_view(i, x):
    """An ember view with negative strides on every axis holding x's values."""
    x = np.asarray(x)
    if x.ndim == 0:
        return to_mx(x), x
    flip = (slice(None, None, -1),) * x.ndim
    return to_mx(np.ascontiguousarray(x[flip]))[flip], x


def contiguous(i, x):
    return to_mx(np.asarray(x)), np.asarray(x)


LAYOUTS = {"contiguous": contiguous, "T": transposed, "reversed": reversed_view,
           "sliced": sliced, "bcast": broadcast_rows}
ELEMENTWISE = ("unary", "binary")
# Rows whose inputs are not freely shaped even in the elementwise families.
FIXED_SHAPES = {"allclose", "array_equal", "clip_scalar", "round_smooth"}

shape_st = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)


def _input_rows():
    return [r for r in ALL_ROWS if any(len(s) for s, _ in r.cases())]


@pytest.mark.parametrize("row", _input_rows(), ids=lambda r: r.name)
@PROFILE
@given(data=st.data())
def test_random_valid_inputs_match_numpy(row, data):
    cases = list(row.cases())
    shapes, kw = data.draw(st.sampled_from(cases), label="case")
    free = row.family in ELEMENTWISE and row.name not in FIXED_SHAPES and row.valid is None
    if free:
        n = len(shapes)
        if n == 1:
            shapes = (data.draw(shape_st, label="shape"),)
        else:
            bs = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=4,
                                                             min_side=0, max_side=4), label="shapes")
            shapes = tuple(bs.input_shapes)
    dtype = data.draw(st.sampled_from(list(row.dtypes)), label="dtype")
    layouts = [data.draw(st.sampled_from(sorted(LAYOUTS)), label=f"layout{i}") for i in range(len(shapes))]
    # Every layout keeps x's values except bcast (rows repeat row 0): that one only where
    # test_op_values uses it too (inputs with constraints, such as permutations, elsewhere).
    if row.family not in ("unary", "binary", "creation", "reduce"):
        layouts = ["contiguous" if l == "bcast" else l for l in layouts]

    def to_ember(i, x):
        return LAYOUTS[layouts[i]](i, x)

    check_row(row, shapes, kw, dtype, to_ember=to_ember)


# ---- one-mutation invalid inputs ---------------------------------------------------------
BINARY = [r for r in ALL_ROWS if r.family == "binary" and r.shapes and len(r.shapes[0]) == 2
          and r.name not in ("array_equal", "clip_scalar")]


@st.composite
def unbroadcastable(draw):
    """Two shapes equal except one axis whose sizes are both > 1 and differ."""
    s = list(draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=2, max_side=4)))
    t = list(s)
    ax = draw(st.integers(0, len(s) - 1))
    t[ax] = draw(st.sampled_from([d for d in (2, 3, 5) if d != s[ax]]))
    lead = draw(st.integers(0, 2))
    return tuple(s), tuple([1] * lead + t)


@pytest.mark.parametrize("row", BINARY, ids=lambda r: r.name)
@PROFILE
@given(shapes=unbroadcastable())
def test_unbroadcastable_shapes_are_a_value_error_naming_the_op(row, shapes):
    a, b = (mx.zeros(s, dtype=mx.int32) for s in shapes)
    with pytest.raises(ValueError) as e:
        mx.eval(row.ember(a, b))
    text = str(e.value)
    assert f"[{row.name}]" in text, text
    assert str(shapes[0]) in text and str(shapes[1]).replace(",)", ",)") in text, text


AXIS_OPS = ["sum", "prod", "mean", "max", "min", "all", "any", "argmax", "argmin", "logsumexp",
            "softmax", "cumsum", "cumprod", "cummax", "cummin", "var", "std", "sort", "argsort",
            "squeeze", "expand_dims", "flatten", "take", "concatenate", "stack", "split",
            "repeat", "moveaxis", "swapaxes"]


def _call_with_axis(name, x, axis):
    f = getattr(mx, name)
    if name in ("take",):
        return f(x, mx.array([0]), axis=axis)
    if name in ("concatenate", "stack"):
        return f([x, x], axis=axis)
    if name == "split":
        return f(x, 1, axis=axis)
    if name == "repeat":
        return f(x, 2, axis=axis)
    if name == "flatten":
        return f(x, start_axis=axis)
    if name in ("moveaxis", "swapaxes"):
        return f(x, 0, axis)
    return f(x, axis=axis)


@pytest.mark.parametrize("name", AXIS_OPS)
@PROFILE
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3),
       beyond=st.integers(0, 2**31 - 8), negative=st.booleans())
def test_axis_out_of_range_names_the_op(name, shape, beyond, negative):
    x = mx.zeros(shape)
    ndim = len(shape) + (1 if name in ("stack", "expand_dims") else 0)
    axis = -(ndim + 1 + beyond) if negative else ndim + beyond
    assume(abs(axis) < 2**31)  # beyond C int: test_axis_beyond_int_is_an_error
    with pytest.raises((IndexError, ValueError)) as e:
        mx.eval(_call_with_axis(name, x, axis))
    text = str(e.value)
    assert "std::" not in text, text
    if abs(axis) < 2**31:
        assert f"[{name}]" in text, text


@pytest.mark.parametrize("name", AXIS_OPS)
def test_axis_beyond_int_is_an_error(name):
    # Bindings that take a C int axis leave 2**31 to nanobind: a TypeError listing the
    # signature (MLX does the same); the reduce family says IndexError. Neither crashes.
    with pytest.raises((IndexError, ValueError, TypeError)) as e:
        mx.eval(_call_with_axis(name, mx.zeros((2, 2)), 2**31))
    assert "std::" not in str(e.value)


UNARY = [r for r in ALL_ROWS if r.family in ("unary", "binary") and r.ember is getattr(mx, r.name, None)]


@pytest.mark.parametrize("row", UNARY, ids=lambda r: r.name)
@PROFILE
@given(bad=st.sampled_from([object(), "text", None, {"a": 1}, [1, [2]]]),  # bytes: uint8 (MLX)
       pos=st.integers(0, 2))
def test_non_array_argument_is_a_type_error(row, bad, pos):
    n = len(row.shapes[0])
    assume(not (row.name == "clip" and bad is None))  # clip's None bound means "no bound"
    args = [mx.ones((2,)) for _ in range(n)]
    args[pos % n] = bad
    with pytest.raises((TypeError, ValueError)) as e:
        mx.eval(row.ember(*args))
    text = str(e.value)
    assert "std::" not in text, text
    if bad is not None and not isinstance(bad, list):
        assert e.type is TypeError, text


# ---- transforms over random compositions ---------------------------------------------------
STEPS = {
    "sin": mx.sin, "tanh": mx.tanh, "square": mx.square, "sigmoid": mx.sigmoid,
    "exp_small": lambda x: mx.exp(0.3 * x), "scale": lambda x: 1.7 * x - 0.2,
    "mul_self_T": lambda x: x * mx.flip(x, axis=-1) if x.ndim else x * x,
    "T": lambda x: x.T, "flip": lambda x: x[::-1] if x.ndim else x,
    "sum_keep": lambda x: mx.sum(x, axis=-1, keepdims=True) + x if x.ndim else x,
    "softmax": lambda x: mx.softmax(x, axis=-1) if x.ndim else x,
    "cumsum": lambda x: mx.cumsum(x, axis=-1) if x.ndim else x,
    "reshape": lambda x: mx.reshape(x, (-1,)),
    "logsumexp": lambda x: mx.logsumexp(x, axis=-1, keepdims=True) * x if x.ndim else x,
}
if not hasattr(mx, "flip"):
    STEPS["mul_self_T"] = lambda x: x * x[::-1] if x.ndim else x * x


def compose(names):
    def f(x):
        for n in names:
            x = STEPS[n](x)
        return x
    return f


composition = st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=4)
small = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


@PROFILE
@given(names=composition, shape=small, seed=st.integers(0, 2**16))
def test_grad_of_random_compositions_matches_central_differences(names, shape, seed):
    f = compose(names)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    v = rng.standard_normal(shape)
    loss = lambda t: mx.sum(f(t))
    g = np.asarray(mx.grad(loss)(to_mx(x)))
    eps = 1e-6
    fd = (loss(to_mx(x + eps * v)).item() - loss(to_mx(x - eps * v)).item()) / (2 * eps)
    assert np.isclose(np.sum(g * v), fd, rtol=1e-5, atol=1e-6), (names, np.sum(g * v), fd)


@PROFILE
@given(names=composition, shape=small, seed=st.integers(0, 2**16))
def test_jvp_and_vjp_of_random_compositions_agree(names, shape, seed):
    f = compose(names)
    rng = np.random.default_rng(seed)
    x, v = to_mx(rng.standard_normal(shape)), to_mx(rng.standard_normal(shape))
    (out,), (jv,) = mx.jvp(f, [x], [v])
    u = to_mx(rng.standard_normal(out.shape))
    _, (ju,) = mx.vjp(f, [x], [u])
    lhs = np.sum(np.asarray(u) * np.asarray(jv))
    rhs = np.sum(np.asarray(ju) * np.asarray(v))
    assert np.isclose(lhs, rhs, rtol=1e-9, atol=1e-9), (names, lhs, rhs)


@PROFILE
@given(names=composition, shape=small, batch=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_vmap_of_random_compositions_matches_a_loop(names, shape, batch, seed):
    f = compose(names)
    xs = np.random.default_rng(seed).standard_normal((batch,) + shape)
    got = mx.vmap(f)(to_mx(xs))
    want = [np.asarray(f(to_mx(xs[i]))) for i in range(batch)]
    if batch:
        np.testing.assert_allclose(np.asarray(got), np.stack(want), rtol=1e-12, atol=1e-12)
    else:
        assert got.shape[0] == 0


# ---- dangerous calls, in a child process ------------------------------------------------------
DANGEROUS = r'''
import sys, random, traceback
import ember.core as mx
BIG = [-(2**63), -(2**31) - 1, -3, -1, 0, 1, 3, 2**31 - 1, 2**31, 2**32 + 1, 2**40, 2**62, 2**63 - 1]
OK = (ValueError, TypeError, IndexError, MemoryError, OverflowError)
def pick(): return random.choice(BIG)
def shape(): return tuple(pick() if random.random() < 0.5 else random.randint(0, 3) for _ in range(random.randint(0, 4)))
x = mx.ones((2, 3))
calls = [
    lambda: mx.zeros(shape()), lambda: mx.ones(shape(), dtype=mx.int8), lambda: mx.full(shape(), 2),
    lambda: mx.eye(pick()), lambda: mx.eye(3, pick(), pick()), lambda: mx.tri(pick()),
    lambda: mx.arange(pick()), lambda: mx.arange(0, pick(), pick() or 1), lambda: mx.linspace(0, 1, pick()),
    lambda: mx.reshape(x, shape()), lambda: mx.broadcast_to(x, shape()), lambda: mx.tile(x, shape()),
    lambda: mx.repeat(x, pick(), axis=random.choice([0, 1, pick()])),
    lambda: mx.pad(x, [(pick(), pick()), (0, 0)]), lambda: mx.sum(x, axis=pick()),
    lambda: mx.expand_dims(x, pick()), lambda: mx.transpose(x, [pick(), 0]),
    lambda: mx.split(x, pick(), axis=0), lambda: x[pick():pick():pick() or 1], lambda: x[pick()],
    lambda: mx.take(x, mx.array([pick() % 2**31]), axis=0), lambda: mx.random.normal(shape()),
    lambda: mx.random.randint(pick(), pick(), shape()), lambda: mx.random.key(pick()),
    lambda: mx.array([pick()], dtype=random.choice([mx.int8, mx.uint32, mx.int64, mx.uint64])),
    lambda: x.astype(mx.int8) + pick(), lambda: mx.concatenate([x, x], axis=pick()),
    lambda: mx.topk(x, pick()), lambda: mx.partition(x, pick()),
    lambda: mx.random.split(mx.random.key(0), pick()), lambda: mx.flatten(x, pick(), pick()),
]
random.seed(int(sys.argv[1]))
n = int(sys.argv[2])
bad = 0
for i in range(n):
    k = random.randrange(len(calls))
    state = random.getstate()
    print("CASE", i, k, flush=True)
    try:
        r = calls[k]()
        if isinstance(r, mx.array) and r.size < 2**20:
            mx.eval(r)
    except OK as e:
        if "std::" in str(e) or "bad_alloc" in str(e) or "bad_cast" in str(e):
            print("BADMSG", k, type(e).__name__, e, flush=True); bad += 1
    except Exception as e:
        print("BADTYPE", k, type(e).__name__, e, flush=True); bad += 1
print("DONE", n, "bad", bad, flush=True)
'''


def test_dangerous_calls_in_a_child_process():
    n = int(os.environ.get("EMBER_DANGEROUS_CASES", "600"))
    p = subprocess.run([sys.executable, "-c", DANGEROUS, "1234", str(n)], capture_output=True,
                       text=True, timeout=600)
    lines = p.stdout.strip().splitlines()
    assert p.returncode == 0, f"child crashed (rc={p.returncode}) after {lines[-1:]}: {p.stderr[-2000:]}"
    problems = [l for l in lines if l.startswith(("BADMSG", "BADTYPE"))]
    assert not problems, problems[:20]
    assert lines[-1].startswith(f"DONE {n}")
