"""mx.export_function / import_function / exporter / export_to_dot: round trips of many
functions (every primitive family, an MLP, a training step, trees and several outputs),
a run in another process, shapeless exports, several traces in one file, metadata, and
files that are truncated, corrupt or hostile."""
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
from ember.utils import tree_flatten


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=tol, atol=tol)


def round_trip(tmp_path, fun, *args, **kwargs):
    """Exports fun on the arguments, imports it, calls it the same way: (imported, eager)."""
    path = str(tmp_path / "fun.mlxfn")
    mx.export_function(path, fun, *args, **kwargs)
    imported = mx.import_function(path)
    out = imported(*args, **kwargs)
    assert isinstance(out, tuple)
    eager = fun(*args, **kwargs)
    return out, eager


# ---- one function per primitive family -------------------------------------------------
K = mx.random.key(3)
A = mx.random.normal((4, 4), key=K)
SPD = A @ A.T + 4 * mx.eye(4)
V = mx.random.normal((3, 5), key=mx.random.key(1))
IDX = mx.array([2, 0, 1])

FAMILIES = {
    "unary": (lambda x: [mx.exp(x), mx.sin(x), mx.abs(x), mx.sigmoid(x), mx.erf(x),
                         mx.floor(x), mx.isnan(x), mx.logical_not(x > 0)], (V,)),
    "binary": (lambda x, y: [x + y, x * y, x / (mx.abs(y) + 1), mx.maximum(x, y), x < y,
                             mx.arctan2(x, y), mx.logaddexp(x, y), mx.power(mx.abs(x), y)],
               (V, V * 2)),
    "integer": (lambda i: [i // 2, i % 3, i & 6, i | 1, i ^ 5, i << 1, i >> 1, ~i],
                (mx.array([[1, 7, -4], [9, 0, 3]]),)),
    "reduce": (lambda x: [x.sum(), x.max(axis=1), x.min(axis=0, keepdims=True),
                          mx.prod(x, axis=1), (x > 0).all(axis=1), (x > 0).any(),
                          mx.argmax(x, axis=1), mx.argmin(x, axis=0), x.mean(), x.var()],
               (V,)),
    "scan": (lambda x: [mx.cumsum(x, axis=1), mx.cumprod(x, axis=0, reverse=True),
                        mx.cummax(x, axis=1), mx.cummin(x, axis=1, inclusive=False),
                        mx.logcumsumexp(x, axis=1)], (V,)),
    "shape": (lambda x: [x.reshape(5, 3), x.T, x[1:, ::2], x[::-1], *mx.split(x, [1, 3], axis=1),
                         mx.concatenate([x, x], axis=0), mx.pad(x, [(1, 0), (0, 2)]),
                         mx.broadcast_to(x[:1], (4, 5)), x.view(mx.int32),
                         mx.stop_gradient(x), x.astype(mx.float16), mx.where(x > 0, x, -x)],
              (V,)),
    "index": (lambda x, i: [x[i], mx.take(x, i, axis=1), mx.take_along_axis(x, mx.argsort(x, axis=1), axis=1),
                            x.at[i].add(1.0), x.at[i].multiply(2.0), x.at[i].maximum(0.5),
                            mx.sort(x, axis=1), mx.argpartition(x, 2, axis=1),
                            mx.searchsorted(mx.sort(x[0]), x[1])], (V, IDX)),
    "random": (lambda k: [mx.random.normal((3, 2), key=k), mx.random.uniform(shape=(4,), key=k),
                          mx.random.bits((2, 2), key=k), mx.random.split(k)],
               (K,)),
    "matmul": (lambda a, b: [a @ b, mx.matmul(a[None], b), mx.inner(a, a), mx.outer(a[0], b[:, 0])],
               (V.T, V)),
    "linalg": (lambda a, s: [mx.linalg.inv(s), mx.linalg.cholesky(s), *mx.linalg.qr(a),
                             *mx.linalg.svd(a), mx.linalg.svd(a, compute_uv=False),
                             *mx.linalg.eigh(s), mx.linalg.eigvalsh(s), mx.linalg.det(s),
                             *mx.linalg.slogdet(s), *mx.linalg.lu_factor(s),
                             mx.linalg.solve(s, a), mx.linalg.solve_triangular(s, a, upper=True),
                             mx.linalg.pinv(a), mx.linalg.tri_inv(s), mx.linalg.eigvals(s),
                             *mx.linalg.eig(s)],
               (A, SPD)),
    "fft": (lambda x: [mx.fft.fft(x), mx.fft.ifft(x), mx.fft.rfft(x), mx.fft.irfft(mx.fft.rfft(x))],
            (V,)),
    "fused": (lambda x, y: [mx.exp(x - y) * 2.0 + mx.tanh(y), mx.sum(mx.exp(x - 1.0), axis=-1)],
              (V, V + 1)),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_round_trip_of_every_primitive_family(tmp_path, family):
    fun, args = FAMILIES[family]
    out, eager = round_trip(tmp_path, fun, *args)
    assert len(out) == len(eager)
    for o, e in zip(out, eager):
        assert o.shape == e.shape and o.dtype == e.dtype
        if o.dtype == mx.complex64:
            close(mx.abs(o), mx.abs(e), 1e-4)  # eig's vectors: same up to phase, unit norm
        else:
            close(o.astype(mx.float32) if o.dtype == mx.bfloat16 else o, e, 1e-4)


def test_fused_chains_are_exported_as_fused_nodes(tmp_path):
    path = str(tmp_path / "f.mlxfn")
    mx.export_function(path, lambda x: mx.exp(x) * 2.0 + mx.sin(x), V)
    data = open(path, "rb").read()
    assert b"Compiled" in data and b"Exp" in data and b"Sin" in data
    close(mx.import_function(path)(V)[0], mx.exp(V) * 2.0 + mx.sin(V))


# ---- models, trees, several outputs ----------------------------------------------------
def mlp():
    mx.random.seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    mx.eval(model.parameters())
    return model


def test_mlp_forward_round_trip(tmp_path):
    model = mlp()
    x = mx.random.normal((5, 6))
    out, eager = round_trip(tmp_path, lambda x: model(x), x)
    close(out[0], eager)
    # The parameters are in the file: changing the model now does not change the import.
    path = str(tmp_path / "fun.mlxfn")
    model.layers[0].weight = mx.zeros((16, 6))
    assert not np.allclose(np.array(model(x)), np.array(eager))  # the model did change
    close(mx.import_function(path)(x)[0], eager)


def test_training_step_loss_and_grads_round_trip(tmp_path):
    model = mlp()
    x, y = mx.random.normal((8, 6)), mx.array([0, 1, 2, 0, 1, 2, 0, 1])

    def loss_fn(m, x, y):
        return nn.losses.cross_entropy(m(x), y, reduction="mean")

    step = nn.value_and_grad(model, loss_fn)

    def train_step(x, y):
        loss, grads = step(model, x, y)
        return loss, grads  # a tree: comes back flattened

    out, (loss, grads) = round_trip(tmp_path, train_step, x, y)
    expected = [loss]
    _ = [expected.append(g) for g in _sorted_leaves(grads)]
    assert len(out) == len(expected)
    for o, e in zip(out, expected):
        close(o, e, 1e-5)


def _sorted_leaves(tree):
    """Leaves in the order export flattens outputs (dict keys sorted)."""
    if isinstance(tree, dict):
        return [l for k in sorted(tree) for l in _sorted_leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [l for v in tree for l in _sorted_leaves(v)]
    return [tree]


def test_trees_of_inputs_and_several_outputs(tmp_path):
    def fun(params, xs, scale=None):
        h = xs[0] @ params["w"] + params["b"]
        return h * scale, [mx.sum(h), xs[1] - 1]

    params = {"w": mx.ones((3, 2)), "b": mx.array([1.0, 2.0])}
    xs = [mx.arange(6.0).reshape(2, 3), mx.array(5.0)]
    scale = mx.array(3.0)
    out, eager = round_trip(tmp_path, fun, params, xs, scale=scale)
    assert len(out) == 3
    for o, e in zip(out, _sorted_leaves(eager)):
        close(o, e)
    imported = mx.import_function(str(tmp_path / "fun.mlxfn"))
    # Another tree structure, or a keyword given positionally: no trace matches.
    with pytest.raises(ValueError, match="No exported trace matches"):
        imported(params, xs[0], scale=scale)
    with pytest.raises(ValueError, match="No exported trace matches"):
        imported(params, xs, scale)
    with pytest.raises(TypeError, match="argument 1"):
        imported(params, [xs[0], 2.0], scale=scale)


def test_mlx_calling_conventions(tmp_path):
    def fun(x, y):
        return x + y

    x, y = mx.array(1.0), mx.array([1.0, 2.0])
    path = str(tmp_path / "add.mlxfn")
    mx.export_function(path, fun, (x, y))
    f = mx.import_function(path)
    close(f(x, y)[0], x + y)
    close(f((x, y))[0], x + y)
    close(f([x, y])[0], x + y)
    mx.export_function(path, fun, x, y=y)
    f = mx.import_function(path)
    close(f(x, y=y)[0], x + y)
    close(f((x,), {"y": y})[0], x + y)
    with pytest.raises(ValueError, match="No exported trace matches"):
        f(x, y)
    with pytest.raises(ValueError, match="No exported trace matches"):
        f(x, z=y)
    mx.export_function(path, fun, {"x": x, "y": y})
    close(mx.import_function(path)(x=x, y=y)[0], x + y)


def test_shape_and_dtype_must_match(tmp_path):
    path = str(tmp_path / "f.mlxfn")
    mx.export_function(path, lambda x, y: x + y, mx.array(1.0), mx.array(1.0))
    f = mx.import_function(path)
    close(f(mx.array(1.0), mx.array(2.0))[0], 3.0)
    with pytest.raises(ValueError, match=r"\(\) float32, \(\) float32"):
        f(mx.array(1), mx.array(3.0))
    with pytest.raises(ValueError, match="No exported trace matches"):
        f(mx.array([1.0, 2.0]), mx.array(3.0))


def test_imported_functions_compose_with_transforms(tmp_path):
    path = str(tmp_path / "f.mlxfn")
    fun = lambda x: mx.sin(x) * x
    mx.export_function(path, fun, mx.array([0.5, 1.0]))
    f = mx.import_function(path)
    x = mx.array([0.5, 1.0])
    close(mx.grad(lambda x: f(x)[0].sum())(x), mx.grad(lambda x: fun(x).sum())(x))
    close(mx.vmap(lambda x: f(x)[0])(mx.stack([x, 2 * x])), mx.stack([fun(x), fun(2 * x)]))
    close(mx.compile(lambda x: f(x)[0])(x), fun(x))


def test_import_in_another_process(tmp_path):
    model = mlp()
    x = mx.random.normal((2, 6))
    path = str(tmp_path / "model.mlxfn")
    mx.export_function(path, lambda x: (model(x), mx.softmax(model(x), axis=-1)), x)
    np.save(tmp_path / "x.npy", np.array(x))
    code = (
        "import sys, numpy as np, ember.core as mx\n"
        "f = mx.import_function(sys.argv[1])\n"
        "logits, probs = f(mx.array(np.load(sys.argv[2])))\n"
        "np.save(sys.argv[3], np.stack([np.array(logits), np.array(probs)]))\n"
    )
    out = tmp_path / "out.npy"
    subprocess.run([sys.executable, "-c", code, path, str(tmp_path / "x.npy"), str(out)],
                   check=True, cwd=tmp_path, timeout=120)
    got = np.load(out)
    close(got[0], model(x))
    close(got[1], mx.softmax(model(x), axis=-1))


# ---- shapeless ----------------------------------------------------------------------------
def test_shapeless_elementwise_graphs_take_other_shapes(tmp_path):
    path = str(tmp_path / "f.mlxfn")
    fun = lambda x, y: mx.abs(x) * 2.0 + y
    mx.export_function(path, fun, mx.array([0.0]), mx.array([1.0]), shapeless=True)
    f = mx.import_function(path)
    for shape in [(1,), (5,), (0,)]:
        x, y = mx.random.normal(shape), mx.random.normal(shape)
        close(f(x, y)[0], fun(x, y))
    close(f(mx.ones((3,)), mx.ones((1,)))[0], fun(mx.ones((3,)), mx.ones((1,))))
    with pytest.raises(ValueError, match="ranks must match"):
        f(mx.ones((2, 2)), mx.ones((2, 2)))
    # Without shapeless, another shape is no match.
    mx.export_function(path, fun, mx.array([0.0]), mx.array([1.0]))
    with pytest.raises(ValueError, match="No exported trace matches"):
        mx.import_function(path)(mx.ones((2,)), mx.ones((2,)))


def test_shapeless_graph_that_fixes_shapes_says_which_op(tmp_path):
    path = str(tmp_path / "f.mlxfn")
    mx.export_function(path, lambda x: x.reshape(-1, 2) * 2, mx.ones((4,)), shapeless=True)
    f = mx.import_function(path)
    close(f(mx.ones((4,)))[0], mx.ones((2, 2)) * 2)  # the exported shape still works
    with pytest.raises(ValueError, match="its Reshape .* cannot take the new input shapes"):
        f(mx.ones((6,)))


def test_shapeless_reductions_matmuls_and_squeezes(tmp_path):
    def fun(x, w):
        return (mx.sum(mx.exp(x - 1.0), axis=-1), mx.max(x @ w, axis=0), mx.softmax(x, axis=-1),
                mx.argmax(x, axis=1), mx.cumsum(x, axis=0)[None], mx.transpose(x) * 2)

    path = str(tmp_path / "f.mlxfn")
    mx.export_function(path, fun, mx.ones((2, 3)), mx.ones((3, 4)), shapeless=True)
    f = mx.import_function(path)
    for xs, ws in [((2, 3), (3, 4)), ((5, 7), (7, 2)), ((1, 1), (1, 6))]:
        x, w = mx.random.normal(xs), mx.random.normal(ws)
        out = f(x, w)
        for o, e in zip(out, fun(x, w)):
            assert o.shape == e.shape
            close(o, e, 1e-5)
    with pytest.raises(ValueError, match=r"\[matmul\]"):
        f(mx.ones((2, 3)), mx.ones((4, 4)))


# ---- convolutions, mx.fast, quantized products: their gradients' nodes too ---------------
def _arrays(*shapes, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [mx.array(rng.standard_normal(s).astype(dtype)) for s in shapes]


_CX, _CW = _arrays((2, 7, 7, 3), (4, 3, 3, 3))
_CX1, _CW1 = _arrays((2, 9, 4), (6, 3, 2))
_NX, _NW, _NB = _arrays((3, 4, 8), (8,), (8,))
_RA = _arrays((2, 3, 5, 8))[0]
_Q, _K, _VV = _arrays((2, 4, 5, 8), (2, 2, 6, 8), (2, 2, 6, 3))
_SINKS = _arrays((4,))[0]
_BOOL_MASK = mx.array(np.random.default_rng(1).random((5, 6)) > 0.3)
_LOGITS = _arrays((4, 3, 10))[0]
_TARGETS = mx.array(np.random.default_rng(2).integers(-10, 10, (4, 3)).astype(np.int32))
_GQ, _GK, _GV, _GS = _arrays((2, 3, 2, 4), (2, 3, 2, 4), (2, 3, 4, 5), (2, 4, 5, 4))
_GAMMA = mx.array(np.random.default_rng(3).uniform(0.5, 1.0, (2, 3, 4)).astype(np.float32))
_BETA = mx.array(np.random.default_rng(4).uniform(0.1, 0.9, (2, 3, 4)).astype(np.float32))
_GMASK = mx.array([[True, False, True], [True, True, True]])

# name: (function, arguments, argnums, {primitive name: how many nodes of it the gradient has
# at least}). Each VJP primitive is in some gradient: the test fails if one is not exported.
GRADIENT_CASES = {
    "conv2d": (lambda x, w: mx.conv2d(x, w, stride=2, padding=1), (_CX, _CW), (0, 1),
               {"Convolution": 3}),
    "conv1d_groups": (lambda x, w: mx.conv1d(x, w, stride=2, padding=2, dilation=2, groups=2),
                      (_CX1, _CW1), (0, 1), {"Convolution": 3}),
    "conv_transpose2d": (lambda x, w: mx.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
                         (_CX, _CW), (0, 1), {"Convolution": 3}),
    "rms_norm": (lambda x, w: mx.fast.rms_norm(x, w, 1e-5), (_NX, _NW), (0, 1), {"RMSNormVJP": 1}),
    "layer_norm": (lambda x, w, b: mx.fast.layer_norm(x, w, b, 1e-5), (_NX, _NW, _NB), (0, 1, 2),
                   {"LayerNormVJP": 1}),
    "layer_norm_bias_only": (lambda x, b: mx.fast.layer_norm(x, None, b, 1e-5), (_NX, _NB), (0, 1),
                             {"LayerNormVJP": 1}),
    "rope": (lambda a: mx.fast.rope(a, 6, traditional=False, base=1e4, scale=0.5, offset=3), (_RA,),
             (0,), {"RoPE": 2}),
    "rope_traditional_freqs": (lambda a: mx.fast.rope(a, 8, traditional=True, base=None, scale=1.0,
                                                      offset=mx.array([1, 4]),
                                                      freqs=mx.array([1.0, 2.0, 4.0, 8.0])),
                               (_RA,), (0,), {"RoPE": 2}),
    "attention_mask": (lambda q, k, v: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.3,
                                                                             mask=_BOOL_MASK),
                       (_Q, _K, _VV), (0, 1, 2), {"ScaledDotProductAttentionVJP": 1}),
    "attention_causal_sinks": (lambda q, k, v, s: mx.fast.scaled_dot_product_attention(
                                   q, k, v, scale=0.3, mask="causal", sinks=s),
                               (_Q, _K, _VV, _SINKS), (0, 1, 2, 3),
                               {"ScaledDotProductAttentionVJP": 1}),
    "cross_entropy": (lambda x: mx.fast.cross_entropy(x, _TARGETS), (_LOGITS,), (0,),
                      {"CrossEntropyVJP": 1}),
    "gated_delta_update": (lambda q, k, v, g, b, s: mx.fast.gated_delta_update(q, k, v, g, b, s,
                                                                                 mask=_GMASK),
                           (_GQ, _GK, _GV, _GAMMA, _BETA, _GS), (0, 1, 2, 3, 4, 5),
                           {"GatedDeltaUpdateVJP": 1}),
}


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_gradients_of_convolutions_and_fast_ops_round_trip(tmp_path, case):
    fun, args, argnums, nodes = GRADIENT_CASES[case]

    def loss(*a):
        out = fun(*a)
        return sum(mx.sum(mx.sin(o)) for o in (out if isinstance(out, (list, tuple)) else [out]))

    grad = mx.grad(loss, argnums=argnums)
    path = str(tmp_path / "grad.mlxfn")
    mx.export_function(path, grad, *args)
    data = open(path, "rb").read()
    for name, count in nodes.items():
        assert data.count(struct.pack("<I", len(name)) + name.encode()) >= count, name
    out = mx.import_function(path)(*args)
    eager = grad(*args)
    assert len(out) == len(eager) == len(argnums)
    for o, e in zip(out, eager):
        assert o.shape == e.shape and o.dtype == e.dtype
        close(o, e, 1e-5)


def test_nodes_that_only_rules_or_casts_make_round_trip(tmp_path):
    # vmap over per-example weights: RMSNorm / LayerNorm nodes with a group axis, which the ops
    # (one (D,) weight) cannot make; rope over a vmapped offset: per-row offsets.
    xs, ws = _arrays((3, 4, 8), (3, 8))
    fns = [
        lambda x, w: mx.vmap(lambda a, b: mx.fast.rms_norm(a, b, 1e-5))(x, w),
        lambda x, w: mx.vmap(lambda a, b: mx.fast.layer_norm(a, b, b, 1e-5))(x, w),
        lambda x, w: mx.vmap(lambda a, o: mx.fast.rope(a[None], 4, traditional=False, base=1e4,
                                                       scale=1.0, offset=o))(x, mx.array([0, 5, 9])),
    ]
    for fun, name, made_by_rule in zip(fns, ["RMSNorm", "LayerNorm", "RoPE"], [
            lambda args, inputs: args[-1] == 1,  # groups: one weight per example
            lambda args, inputs: args[-1] == 1,
            lambda args, inputs: inputs[1][1] == (3, 1)]):  # one offset per row
        events = []
        mx.export_function(events.append, fun, xs, ws)
        (node,) = [e for e in events[4:] if e["name"] == name]
        assert made_by_rule(node["arguments"], node["inputs"]), node
        out, eager = round_trip(tmp_path, fun, xs, ws)
        close(out[0], eager, 1e-5)
    # float16 attention with an additive mask: the node's mask is float32 (the kernels'
    # accumulation dtype), which the op does not take for float16 q, k, v.
    q, k, v = (a.astype(mx.float16) for a in (_Q, _K, _VV))
    mask = mx.array(np.random.default_rng(5).standard_normal((5, 6)).astype(np.float16))
    fun = lambda q, k, v: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.3, mask=mask)  # noqa: E731
    events = []
    mx.export_function(events.append, fun, q, k, v)
    (node,) = [e for e in events[4:] if e["name"] == "ScaledDotProductAttention"]
    assert node["inputs"][3][1:] == ((2, 4, 5, 6), mx.float32)
    out, eager = round_trip(tmp_path, fun, q, k, v)
    assert out[0].dtype == mx.float16
    close(out[0].astype(mx.float32), eager.astype(mx.float32), 1e-3)


def test_quantized_nodes_of_every_mode_round_trip(tmp_path):
    x, w = _arrays((3, 64), (5, 64))
    gs = mx.array(3.5)
    for mode in ["affine", "mxfp4", "mxfp8", "nvfp4"]:
        glob = gs if mode == "nvfp4" else None

        def fun(x, w):
            q = mx.quantize(w, mode=mode, global_scale=glob)
            biases = q[2] if mode == "affine" else None
            return [*q, mx.dequantize(q[0], q[1], biases, mode=mode, global_scale=glob,
                                      dtype=mx.float32),
                    mx.quantized_matmul(x, q[0], q[1], biases, mode=mode),
                    mx.gather_qmm(x[None], q[0][None], q[1][None], biases if biases is None else biases[None],
                                  mx.array([0, 0]), mx.array([0, 0]), mode=mode, global_scale=glob)]

        out, eager = round_trip(tmp_path, fun, x, w)
        assert len(out) == len(eager)
        for o, e in zip(out, eager):
            assert o.shape == e.shape and o.dtype == e.dtype
            close(o, e, 1e-5)
    # Both operands quantized, with global scales and gathered.
    fun = lambda x, w: [mx.qqmm(x, w, mode="nvfp4", global_scale_x=gs, global_scale_w=gs),  # noqa: E731
                        mx.gather_qqmm(x[None], w[None], lhs_indices=mx.array([0]),
                                       rhs_indices=mx.array([0]), mode="mxfp8")]
    out, eager = round_trip(tmp_path, fun, x, w)
    for o, e in zip(out, eager):
        close(o, e, 1e-5)


def test_custom_kernels_cannot_be_exported(tmp_path):
    kernel = mx.fast.cuda_kernel(name="myexp", input_names=["inp"], output_names=["out"],
                                 source="out[0] = exp(inp[0]);")
    fun = lambda a: kernel(inputs=[a], grid=(4, 1, 1), threadgroup=(4, 1, 1),  # noqa: E731
                           output_shapes=[a.shape], output_dtypes=[a.dtype])
    with pytest.raises(ValueError, match=r"\[export_function\] The custom kernel 'myexp' \(cuda_kernel\) "
                                         r"cannot be exported: a function file holds no code"):
        mx.export_function(str(tmp_path / "k.mlxfn"), fun, mx.ones((4,)))


def test_shapeless_convolution_and_rms_norm_take_another_batch(tmp_path):
    fun = lambda x, w, g: mx.fast.rms_norm(mx.conv2d(x, w, padding=1), g, 1e-5)  # noqa: E731
    path = str(tmp_path / "f.mlxfn")
    mx.export_function(path, fun, _CX, _CW, _NB[:4], shapeless=True)
    f = mx.import_function(path)
    for n, size in [(2, 7), (5, 7), (1, 4)]:
        x = _arrays((n, size, size, 3), seed=n)[0]
        out = f(x, _CW, _NB[:4])[0]
        assert out.shape == (n, size, size, 4)
        close(out, fun(x, _CW, _NB[:4]), 1e-5)
    with pytest.raises(ValueError, match=r"Convolution .* cannot take the new input shapes: "
                                         r"\[conv_general\] The input has 5 channels"):
        f(mx.ones((2, 7, 7, 5)), _CW, _NB[:4])


def _parameters(data, name):
    """The (tag, offset) of each stored parameter of the first node named `name` (the file
    format's parameter list: a u32 count, then a tag byte and the value each)."""
    i = data.index(struct.pack("<I", len(name)) + name.encode()) + 4 + len(name)
    (count,) = struct.unpack_from("<I", data, i)
    i += 4
    found = []
    for _ in range(count):
        tag = data[i]
        i += 1
        found.append((tag, i))
        if tag in (1, 2):  # an i64, an f64
            i += 8
        elif tag == 3:  # a string
            i += 4 + struct.unpack_from("<I", data, i)[0]
        elif tag == 4:  # a list of i64
            i += 4 + 8 * struct.unpack_from("<I", data, i)[0]
        elif tag == 5:  # a dtype
            i += 1
        else:
            raise AssertionError(f"unexpected tag {tag}")
    return found


def _tampered(data, name, index, value, element=0):
    """data with parameter `index` of node `name` replaced (an integer, the element of a list
    of integers, or a string of the same length)."""
    tag, at = _parameters(data, name)[index]
    if tag == 4:
        at += 4 + 8 * element
    if tag == 3:
        n = struct.unpack_from("<I", data, at)[0]
        assert len(value) == n
        return data[:at + 4] + value + data[at + 4 + n:]
    assert tag == 1 or tag == 4, tag
    return data[:at] + struct.pack("<q", value) + data[at + 8:]


def test_extreme_parameters_are_refused_or_consistent(tmp_path):
    """Every integer (or list element) and float parameter of the new primitives' nodes set to
    extreme values: the import refuses the file (ValueError) or the graph it rebuilds runs."""
    x, w = _arrays((3, 64), (5, 64))
    q = mx.quantize(w)

    def fun(cx, cw, nx, nw, qq, kk, vv, x):
        conv = mx.grad(lambda a, b: mx.sum(mx.conv2d(a, b, stride=2, padding=1) ** 2), argnums=(0, 1))
        norm = mx.grad(lambda a, b: mx.sum(mx.fast.rms_norm(a, b, 1e-5) ** 2), argnums=(0, 1))
        att = mx.grad(lambda a, b, c: mx.sum(mx.fast.scaled_dot_product_attention(
            a, b, c, scale=0.3, mask=_BOOL_MASK) ** 2), argnums=(0, 1, 2))
        return [*conv(cx, cw), *norm(nx, nw), *att(qq, kk, vv), mx.quantized_matmul(x, *q),
                mx.gather_qmm(x[None], *[a[None] for a in q], mx.array([0]), mx.array([0])),
                mx.block_masked_mm(x[:, :32], w[:, :32].T, 32, mx.array([[True]]))]

    args = (_CX, _CW, _NX, _NW, _Q, _K, _VV, x)
    path = str(tmp_path / "src.mlxfn")
    mx.export_function(path, fun, *args)
    data = open(path, "rb").read()
    names = ["Convolution", "RMSNormVJP", "ScaledDotProductAttentionVJP", "QuantizedMatmul",
             "GatherQMM", "BlockMaskedMM"]
    variants = []
    for name in names:
        for tag, at in _parameters(data, name):
            if tag == 2:
                variants += [data[:at] + struct.pack("<d", v) + data[at + 8:] for v in (np.nan, -np.inf, 1e300)]
                continue
            n = struct.unpack_from("<I", data, at)[0] if tag == 4 else 1
            for e in range(n if tag in (1, 4) else 0):
                o = at + 4 + 8 * e if tag == 4 else at
                variants += [data[:o] + struct.pack("<q", v) + data[o + 8:] for v in (-2**63, -1, 0, 3, 2**62)]
    assert len(variants) > 100
    refused = 0
    for v in variants:
        try:
            f = mx.import_function(write(tmp_path, v))
        except ValueError as e:
            assert "cannot be rebuilt" in str(e), str(e)
            refused += 1
            continue
        mx.eval(f(*args))
    assert refused > len(variants) // 2


def test_tampered_parameters_are_value_errors(tmp_path):
    def exported(fun, *args):
        path = str(tmp_path / "src.mlxfn")
        mx.export_function(path, fun, *args)
        data = open(path, "rb").read()
        mx.import_function(write(tmp_path, data))  # the untouched file loads
        return data

    def refused(data, match):
        with pytest.raises(ValueError, match=r"\[import_function\] .*cannot be rebuilt: .*" + match):
            mx.import_function(write(tmp_path, data))

    # Convolution: stride, padding_lo, padding_hi, kernel_dilation, input_dilation, groups, flip.
    conv = exported(lambda x, w: mx.conv2d(x, w, stride=2, padding=1), _CX, _CW)
    refused(_tampered(conv, "Convolution", 0, 0), r"\[conv_general\] stride must be positive")
    refused(_tampered(conv, "Convolution", 1, 2**62, 1), r"The padding 4611686018427387904 is out of range")
    refused(_tampered(conv, "Convolution", 2, -9), r"smaller than the dilated kernel")
    refused(_tampered(conv, "Convolution", 5, 2), r"takes 3 per group, times groups=2 is 6")
    refused(_tampered(conv, "Convolution", 5, 2**62), r"out of range")
    refused(_tampered(conv, "Convolution", 6, 2), r"parameter 'flip' is 2, outside \[0, 1\]")
    # A quantized product: mode, group_size, bits, transpose.
    x, w = _arrays((3, 64), (5, 64))
    q = mx.quantize(w)
    qmm = exported(lambda x, a, b, c: mx.quantized_matmul(x, a, b, c), x, *q)
    refused(_tampered(qmm, "QuantizedMatmul", 0, b"affinf"), r"Invalid quantization mode 'affinf'")
    refused(_tampered(qmm, "QuantizedMatmul", 2, 7), r"The number of bits 7 is not supported")
    refused(_tampered(qmm, "QuantizedMatmul", 1, 32), r"do not match the packed matrix")
    refused(_tampered(qmm, "QuantizedMatmul", 0, b"mxfp4 "), r"Invalid quantization mode")
    # A node made only by a rule, through its builder: RMSNormVJP (eps, weight, bias, groups).
    grad = exported(mx.grad(lambda x, w: mx.sum(mx.fast.rms_norm(x, w, 1e-5)), argnums=(0, 1)), _NX, _NW)
    refused(_tampered(grad, "RMSNormVJP", 3, 1), r"\[rms_norm\] weight must have 2 dimensions but has shape \(8,\)")
    refused(_tampered(grad, "RMSNormVJP", 3, 3), r"\[rms_norm\] groups must be in \[0, 2\]")
    refused(_tampered(grad, "RMSNormVJP", 2, 1), r"An RMS normalization has no bias")
    refused(_tampered(grad, "RMSNormVJP", 1, 0), r"takes 2 inputs with these parameters, got 3")
    rope = exported(lambda a: mx.fast.rope(a, 6, traditional=False, base=1e4, scale=1.0, offset=0), _RA)
    refused(_tampered(rope, "RoPE", 0, 7), r"\[rope\] dims must be positive and even, got 7")
    refused(_tampered(rope, "RoPE", 0, 10), r"dims \(10\) must not exceed")
    refused(_tampered(rope, "RoPE", 2, 0), r"Exactly one of base and freqs must be given, got neither")


# ---- exporter: several traces, constants once, metadata ---------------------------------
def test_exporter_writes_several_traces_and_constants_once(tmp_path):
    big = mx.random.normal((256, 256))
    mx.eval(big)

    def fun(x, y=None):
        out = x @ big
        return out if y is None else out + y

    path = str(tmp_path / "multi.mlxfn")
    with mx.exporter(path, fun) as exporter:
        assert isinstance(exporter, mx.FunctionExporter)
        exporter(mx.ones((1, 256)))
        exporter(mx.ones((2, 256)), y=mx.ones((2, 256)))
        with pytest.raises(ValueError, match="already exported"):
            exporter(mx.zeros((1, 256)))
    with pytest.raises(ValueError, match="closed"):
        exporter(mx.ones((3, 256)))
    # Two traces share the 256 KiB constant.
    assert os.path.getsize(path) < 1.5 * big.nbytes
    f = mx.import_function(path)
    close(f(mx.ones((1, 256)))[0], fun(mx.ones((1, 256))), 1e-4)
    close(f(mx.ones((2, 256)), y=mx.ones((2, 256)))[0],
          fun(mx.ones((2, 256)), mx.ones((2, 256))), 1e-4)


def test_metadata_round_trip(tmp_path):
    path = str(tmp_path / "f.mlxfn")
    config = '{"layers": 2, "name": "café"}'
    mx.export_function(path, mx.exp, mx.array(1.0), metadata=config)
    f, meta = mx.import_function(path, return_metadata=True)
    assert meta == config
    close(f(mx.array(0.0))[0], 1.0)
    mx.export_function(path, mx.exp, mx.array(1.0))
    assert mx.import_function(path, return_metadata=True)[1] == ""
    with pytest.raises(TypeError, match="metadata"):
        mx.export_function(path, mx.exp, mx.array(1.0), metadata=3)


# ---- errors ------------------------------------------------------------------------------
def test_export_errors(tmp_path):
    path = str(tmp_path / "f.mlxfn")
    with pytest.raises(ValueError, match="files only"):
        mx.export_function(lambda d: None, mx.exp, mx.array(1.0), metadata="m")
    with pytest.raises(TypeError, match="must return an array"):
        mx.export_function(path, lambda x: "no", mx.array(1.0))
    with pytest.raises(TypeError, match="argument 0"):
        mx.export_function(path, lambda x: x, 1.0)

    @mx.custom_function
    def f(x):
        return mx.sin(x)

    with pytest.raises(ValueError, match=r"\[export_function\] CustomTransforms cannot be exported yet"):
        mx.export_function(path, f, mx.array(1.0))
    with pytest.raises(ValueError, match="Cannot read the value|Cannot evaluate"):
        mx.export_function(path, lambda x: x * x.item(), mx.array(1.0))


def exported_bytes(tmp_path):
    path = str(tmp_path / "src.mlxfn")
    mx.export_function(path, lambda x, y: (mx.exp(x) @ y, mx.sum(x, axis=0) + 1.0),
                       mx.ones((3, 7919)), mx.ones((7919, 2)), metadata="m")
    return open(path, "rb").read()


def write(tmp_path, data):
    path = tmp_path / "bad.mlxfn"
    path.write_bytes(data)
    return str(path)


def test_truncated_files_are_value_errors(tmp_path):
    data = exported_bytes(tmp_path)
    for n in list(range(0, 200)) + list(range(200, len(data), 97)) + [len(data) - 1]:
        with pytest.raises(ValueError, match=r"\[import_function\]"):
            mx.import_function(write(tmp_path, data[:n]))
    with pytest.raises(ValueError, match="after its last trace"):
        mx.import_function(write(tmp_path, data + b"x"))


def test_corrupt_files_never_crash(tmp_path):
    data = exported_bytes(tmp_path)
    rng = np.random.default_rng(0)
    for _ in range(300):
        b = bytearray(data)
        for _ in range(rng.integers(1, 4)):
            pos = int(rng.integers(0, len(b)))
            b[pos] = int(rng.integers(0, 256))
        try:
            f = mx.import_function(write(tmp_path, bytes(b)))
        except ValueError:
            continue
        # A corruption that still makes a valid graph (a constant's bytes, say) computes.
        try:
            mx.eval(f(mx.ones((3, 7919)), mx.ones((7919, 2))))
        except ValueError:
            pass


def test_hostile_files_are_value_errors(tmp_path):
    data = exported_bytes(tmp_path)
    with pytest.raises(ValueError, match="not an ember function file"):
        mx.import_function(write(tmp_path, b"x" * 100))
    with pytest.raises(ValueError, match="format version 99"):
        mx.import_function(write(tmp_path, data[:8] + struct.pack("<I", 99) + data[12:]))
    # A node whose stored output shape is not what its op gives for its inputs.
    needle = struct.pack("<q", 7919)
    last = data.rfind(needle)
    with pytest.raises(ValueError, match="cannot be rebuilt"):
        mx.import_function(write(tmp_path, data[:last] + struct.pack("<q", 7918) + data[last + 8:]))
    # An unknown primitive.
    assert data.count(b"Exp") >= 1
    with pytest.raises(ValueError, match="no primitive of that name"):
        mx.import_function(write(tmp_path, data.replace(b"Exp", b"Exq")))
    # A count far beyond the file's size is refused before anything is allocated.
    header = 8 + 4 + 1 + 8 + 1  # magic, version, shapeless, metadata length + "m"
    huge = data[:header] + struct.pack("<I", 2**31) + data[header + 4:]
    with pytest.raises(ValueError, match="more than its remaining"):
        mx.import_function(write(tmp_path, huge))
    with pytest.raises(ValueError, match="Cannot open"):
        mx.import_function(str(tmp_path / "missing.mlxfn"))


def test_export_to_a_callback():
    events = []

    def fun(x, y):
        return mx.exp(x) * y + 2.0, x.sum(axis=0)

    mx.export_function(events.append, fun, mx.ones((2, 3)), y=mx.ones((3,)))
    kinds = [e["type"] for e in events]
    assert kinds[:4] == ["inputs", "keyword_inputs", "outputs", "constants"]
    assert set(kinds[4:]) == {"primitive"}
    assert events[0]["inputs"] == [("A", (2, 3), mx.float32), ("B", (3,), mx.float32)]
    assert events[1]["keywords"] == [("y", "B")]
    assert [o[1] for o in events[2]["outputs"]] == [(2, 3), (3,)]
    names = {e["name"]: e for e in events[4:]}
    assert names["Sum"]["arguments"] == [0, [0], mx.float32]  # kind, axes, dtype
    assert names["Sum"]["inputs"] == [("A", (2, 3), mx.float32)]
    fused = [e for e in events[4:] if e["name"] == "Compiled"]
    assert fused and any(isinstance(a, dict) and a["name"] == "Exp" for a in fused[0]["arguments"])
    # Every value a node reads was defined before it.
    defined = {v[0] for v in events[0]["inputs"]} | {c[0] for c in events[3]["constants"]}
    for e in events[4:]:
        assert {v[0] for v in e["inputs"]} <= defined
        defined |= {v[0] for v in e["outputs"]}


# ---- export_to_dot -----------------------------------------------------------------------
def parse_dot(text):
    """Checks the dot text's shape and returns (boxes, ellipses, edges) by id."""
    lines = text.strip().splitlines()
    assert lines[0] == "digraph ember {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        line = line.strip()
        if m := re.fullmatch(r'(\w+) \[label="((?:[^"\\]|\\.)*)", shape=(box|ellipse)\];', line):
            nodes[m.group(1)] = (m.group(3), m.group(2))
        elif m := re.fullmatch(r"(\w+) -> (\w+);", line):
            edges.append((m.group(1), m.group(2)))
        else:
            assert re.fullmatch(r"(rankdir=TB;|\{ rank=(source|sink);( \w+;)+ \})", line), line
    for a, b in edges:
        assert a in nodes and b in nodes
        assert {nodes[a][0], nodes[b][0]} == {"box", "ellipse"}
    boxes = [v[1] for v in nodes.values() if v[0] == "box"]
    ellipses = [v[1] for v in nodes.values() if v[0] == "ellipse"]
    return boxes, ellipses, edges


def test_export_to_dot(tmp_path):
    x, y = mx.array([1.0, 2.0]), mx.array(2.0)
    z = mx.exp(x) * y + x
    path = tmp_path / "g.dot"
    mx.export_to_dot(str(path), z, x=x, y=y)
    boxes, ellipses, edges = parse_dot(path.read_text())
    # exp, the broadcast of y, multiply, add; x, y and the four results.
    assert sorted(b.split("(")[0].split(" ")[0] for b in boxes) == ["Add", "BroadcastTo", "Exp",
                                                                    "Multiply"]
    assert len(ellipses) == 6 and len(edges) == 10
    assert any(e.startswith("x\\n(2) float32") or e.startswith("x\\n(2,) float32") for e in ellipses)

    class Sink:
        text = ""

        def write(self, s):
            self.text += s

    sink = Sink()
    q, r = mx.linalg.qr(mx.ones((3, 3)) + mx.eye(3))
    mx.export_to_dot(sink, [q, r])
    boxes, ellipses, _ = parse_dot(sink.text)
    assert [b for b in boxes if b.startswith("QR")] == ["QR"]  # one node, two outputs
    with pytest.raises(TypeError, match="file must be"):
        mx.export_to_dot(3, z)


# ---- the op table: every op exported on its first case ----------------------------------
from op_table import ALL_ROWS, default_make  # noqa: E402


def _outputs(out):
    if isinstance(out, mx.array):
        return [out]
    return [leaf for o in out for leaf in _outputs(o)]


@pytest.mark.parametrize("row", [pytest.param(r, id=f"{r.family}-{r.name}") for r in ALL_ROWS])
def test_every_op_table_row_round_trips(tmp_path, row):
    shapes, kw = next(iter(row.cases()))
    dtype = row.dtypes[0]
    xs = [mx.array(x) for x in (row.make or default_make)(np.random.default_rng(0), shapes, dtype)]
    fun = lambda *a: row.ember(*a, **kw)  # noqa: E731
    eager = _outputs(fun(*xs))
    path = str(tmp_path / "row.mlxfn")
    try:
        mx.export_function(path, fun, *xs)
    except ValueError as e:
        # Ops whose result's shape depends on values (nonzero, boolean masks) read their input,
        # which a trace cannot do; nothing else may fail.
        assert "Cannot" in str(e) and "value" in str(e), str(e)
        return
    out = mx.import_function(path)(*xs)
    assert len(out) == len(eager)
    for o, e in zip(out, eager):
        assert o.shape == e.shape and o.dtype == e.dtype
        a = np.array(o.astype(mx.float32) if o.dtype == mx.bfloat16 else o)
        b = np.array(e.astype(mx.float32) if e.dtype == mx.bfloat16 else e)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
