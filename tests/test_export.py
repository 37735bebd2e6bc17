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
