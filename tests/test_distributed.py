"""mx.distributed and nn.average_gradients: the group API and the collectives over one process
(identities; the op-table rows in op_table/distributed.py sweep their rules), then real groups
of 2, 3 and 4 processes started with `python -m ember.launch` (values against numpy, gradients,
a data-parallel training step), and the failure paths: a peer that exits or stalls becomes an
exception within EMBER_DISTRIBUTED_TIMEOUT, a bad hostfile or rank a clear ValueError."""
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
from ember import launch as ember_launch

TIMEOUT = "20"  # seconds: EMBER_DISTRIBUTED_TIMEOUT of the worker processes


@pytest.fixture
def no_launch_env(monkeypatch):
    for k in ("MLX_RANK", "MLX_HOSTFILE", "EMBER_DISTRIBUTED_TIMEOUT"):
        monkeypatch.delenv(k, raising=False)


# ---- one process ------------------------------------------------------------------------
def test_singleton_group(no_launch_env):
    g = mx.distributed.init()
    assert (g.rank(), g.size()) == (0, 1)
    assert mx.distributed.init().size() == 1
    assert repr(g) == "Group(rank=0, size=1)"
    sub = g.split(3)
    assert (sub.rank(), sub.size()) == (0, 1)


def test_backends(no_launch_env):
    assert mx.distributed.is_available()
    assert mx.distributed.is_available("ring")
    for name in ("mpi", "nccl", "jaccl"):
        assert not mx.distributed.is_available(name)
        assert mx.distributed.init(backend=name).size() == 1
        with pytest.raises(RuntimeError, match=f'\\[init\\] The "{name}" backend is not built'):
            mx.distributed.init(strict=True, backend=name)
    with pytest.raises(RuntimeError, match="MLX_RANK and MLX_HOSTFILE are not set"):
        mx.distributed.init(strict=True)
    with pytest.raises(ValueError, match=r"\[init\] all_gather_factory .* not supported"):
        mx.distributed.init(all_gather_factory=lambda rank, size: None)
    with pytest.raises(ValueError, match='Unknown backend "tcp"'):
        mx.distributed.init(backend="tcp")
    with pytest.raises(ValueError, match=r"\[is_available\] Unknown backend"):
        mx.distributed.is_available("gloo")


def test_singleton_collectives_are_identities(no_launch_env):
    x = mx.array(np.arange(12, dtype=np.float32).reshape(4, 3))
    d = mx.distributed
    for f in (d.all_sum, d.all_max, d.all_min, d.all_gather, d.sum_scatter):
        y = f(x)
        assert y.shape == x.shape and y.dtype == x.dtype
        np.testing.assert_array_equal(np.array(y), np.array(x))
    assert d.all_gather(mx.array(2.5)).shape == (1,)
    g = d.init()
    np.testing.assert_array_equal(np.array(d.all_sum(x, group=g, stream=mx.cpu)), np.array(x))


def test_singleton_gradients(no_launch_env):
    d = mx.distributed
    x = mx.array(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
    w = mx.array(np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32))
    for f in (d.all_sum, d.all_max, d.all_min, d.all_gather, d.sum_scatter):
        g = mx.grad(lambda a: mx.sum(f(a) * w))(x)
        np.testing.assert_allclose(np.array(g), np.array(w), rtol=1e-6)
        _, t = mx.jvp(lambda a: f(a), [x], [w])
        np.testing.assert_allclose(np.array(t[0]), np.array(w), rtol=1e-6)


def test_errors(no_launch_env):
    d = mx.distributed
    x = mx.ones((3, 2))
    with pytest.raises(ValueError, match=r"\[send\] The group has a single process"):
        d.send(x, 0)
    with pytest.raises(ValueError, match=r"\[recv\] The group has a single process"):
        d.recv((2,), mx.float32, 0)
    with pytest.raises(ValueError, match=r"\[recv_like\] The group has a single process"):
        d.recv_like(x, 0)
    with pytest.raises(ValueError, match=r"\[sum_scatter\] The input must have at least one"):
        d.sum_scatter(mx.array(1.0))
    with pytest.raises(TypeError, match=r"\[all_max\] complex64"):
        d.all_max(mx.array([1 + 2j]))
    with pytest.raises(TypeError):
        d.all_sum(x, group=3)


def test_sharded_layers_singleton(no_launch_env):
    lin = nn.Linear(4, 6)
    a = nn.AllToShardedLinear.from_linear(lin)
    b = nn.ShardedToAllLinear.from_linear(lin)
    x = mx.ones((2, 4))
    for layer in (a, b, nn.shard_linear(lin, "all-to-sharded")):
        np.testing.assert_allclose(np.array(layer(x)), np.array(lin(x)), rtol=1e-6)
    assert nn.AllToShardedLinear(3, 5, bias=False).weight.shape == (5, 3)
    with pytest.raises(TypeError, match=r"\[shard_linear\] Expected an nn.Linear"):
        nn.shard_linear(nn.ReLU(), "all-to-sharded")
    with pytest.raises(ValueError, match="sharding must be"):
        nn.shard_linear(lin, "rows")
    with pytest.raises(ValueError, match="cannot be cut into 4 equal segments"):
        nn.AllToShardedLinear.from_linear(lin, segments=4)


def test_average_gradients_singleton(no_launch_env):
    grads = {"w": mx.ones((2, 2)), "b": [mx.zeros((3,))]}
    assert nn.average_gradients(grads) is grads


# ---- the launch environment, checked before any connection -------------------------------
def test_bad_hostfile_and_rank(tmp_path, monkeypatch):
    hf = tmp_path / "hosts.json"
    monkeypatch.setenv("MLX_HOSTFILE", str(hf))
    monkeypatch.setenv("MLX_RANK", "0")
    with pytest.raises(ValueError, match=r"\[init\] Cannot read MLX_HOSTFILE"):
        mx.distributed.init()
    hf.write_text("{not json")
    with pytest.raises(ValueError,
                       match=r"\[init\] MLX_HOSTFILE .*not valid JSON \(.* at byte 1\)"):
        mx.distributed.init()
    for text, what in (('{"a": 1}', "not a JSON list"), ("[]", "the list is empty"),
                       ('[["127.0.0.1:1"], 5]', "rank 1 is neither"),
                       ('[["127.0.0.1:1"], []]', "rank 1 has no address"),
                       ('[["127.0.0.1:1", 2]]', "rank 0 has an address that is not")):
        hf.write_text(text)
        with pytest.raises(ValueError, match=r"\[init\] MLX_HOSTFILE .*" + what):
            mx.distributed.init()
    hf.write_text('[["127.0.0.1:1"], ["localhost"]]')
    with pytest.raises(ValueError, match="is not of the form ip:port"):
        mx.distributed.init()
    hf.write_text('[["127.0.0.1:1"], ["127.0.0.1:2"]]')
    monkeypatch.setenv("MLX_RANK", "2")
    with pytest.raises(ValueError, match=r"MLX_RANK must be an integer in \[0, 2\)"):
        mx.distributed.init()
    monkeypatch.setenv("MLX_RANK", "one")
    with pytest.raises(ValueError, match="got \"one\""):
        mx.distributed.init()
    monkeypatch.setenv("MLX_RANK", "0")
    monkeypatch.setenv("EMBER_DISTRIBUTED_TIMEOUT", "-1")
    with pytest.raises(ValueError, match="EMBER_DISTRIBUTED_TIMEOUT must be a positive"):
        mx.distributed.init()
    # A hostfile of one rank is a group of one.
    hf.write_text('[["127.0.0.1:1"]]')
    monkeypatch.setenv("EMBER_DISTRIBUTED_TIMEOUT", "5")
    assert mx.distributed.init(strict=True).size() == 1


# ---- several processes -------------------------------------------------------------------
def _run_launch(tmp_path, n, body, *args, timeout=120):
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(body))
    env = dict(os.environ, EMBER_DISTRIBUTED_TIMEOUT=TIMEOUT)
    return subprocess.run([sys.executable, "-m", "ember.launch", "-n", str(n), str(script),
                           *args], capture_output=True, text=True, timeout=timeout, env=env)


COLLECTIVES = """
import numpy as np
import ember.core as mx
import ember.nn as nn
import ember.optimizers as optim

g = mx.distributed.init(strict=True)
r, n = g.rank(), g.size()
assert mx.distributed.init() is not None and mx.distributed.init().size() == n

def data(rank, shape, dtype, seed=0):
    rng = np.random.default_rng(seed * 100 + rank)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith(("int", "uint")):
        return rng.integers(0, 50, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)

def check(got, want, tol=1e-5):
    got = np.array(got.astype(mx.float32) if got.dtype == mx.bfloat16 else got)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)

shapes = [(), (0,), (7,), (3, 5), (2, 3, 4), (1000,)]
for dtype in ("float32", "float64", "int32", "uint8", "int64", "float16", "bool"):
    for shape in shapes:
        xs = [data(q, shape, dtype) for q in range(n)]
        x = mx.array(xs[r], dtype=getattr(mx, "bool_" if dtype == "bool" else dtype))
        assert mx.distributed.all_sum(x).dtype == x.dtype
        tol = 1e-2 if dtype == "float16" else 1e-5
        if dtype == "bool":
            check(mx.distributed.all_sum(x), np.logical_or.reduce(xs))
        else:
            check(mx.distributed.all_sum(x), np.sum(xs, axis=0).astype(dtype), tol)
        check(mx.distributed.all_max(x), np.max(xs, axis=0))
        check(mx.distributed.all_min(x), np.min(xs, axis=0))
        check(mx.distributed.all_gather(x),
              np.concatenate([np.reshape(v, (1,)) if v.ndim == 0 else v for v in xs]))
# several collectives in one eval, and a lazy chain through them
a, b = mx.array(data(r, (4,), "float32")), mx.array(data(r, (6,), "float32", 1))
s1, s2 = mx.distributed.all_sum(a), mx.distributed.all_max(b * 2)
mx.eval(s1, s2)
check(s1, np.sum([data(q, (4,), "float32") for q in range(n)], axis=0))
check(s2, np.max([data(q, (6,), "float32", 1) * 2 for q in range(n)], axis=0))

# sum_scatter: rank r keeps the r-th slice of the sum
for shape in [(n,), (2 * n, 3), (n * 5, 2, 2)]:
    xs = [data(q, shape, "float32") for q in range(n)]
    total = np.sum(xs, axis=0)
    m = shape[0] // n
    check(mx.distributed.sum_scatter(mx.array(xs[r])), total[r * m:(r + 1) * m])
try:
    mx.distributed.sum_scatter(mx.ones((n + 1,)))
    raise AssertionError("sum_scatter accepted a first dimension not divisible by the size")
except ValueError as e:
    assert "divisible by the group size" in str(e), e

# send / recv around the ring, then between ranks that are not ring neighbours
dst, src = (r + 1) % n, (r - 1) % n
payload = mx.array(data(r, (3, 4), "float32", 7))
if r % 2 == 0:
    mx.eval(mx.distributed.send(payload, dst))
    got = mx.distributed.recv((3, 4), mx.float32, src)
else:
    got = mx.distributed.recv_like(payload, src)
    mx.eval(got)
    mx.eval(mx.distributed.send(payload, dst))
check(got, data(src, (3, 4), "float32", 7))
far = n // 2 if n >= 4 else n - 1  # with 4 ranks, 0 and 2 are not ring neighbours
if r == 0:
    mx.eval(mx.distributed.send(mx.arange(5, dtype=mx.int64) * 3, far))
if r == far:
    check(mx.distributed.recv((5,), mx.int64, 0), np.arange(5) * 3)
# 0-d and 0-size messages
if r == 0:
    mx.eval(mx.distributed.send(mx.array(7, dtype=mx.int16), 1),
            mx.distributed.send(mx.zeros((0, 3)), 1))
if r == 1:
    zero_d, empty = mx.distributed.recv((), mx.int16, 0), mx.distributed.recv((0, 3), mx.float32, 0)
    mx.eval(zero_d, empty)  # both: an unevaluated recv leaves its message for the next call
    assert zero_d.item() == 7 and zero_d.dtype == mx.int16 and empty.shape == (0, 3)
for bad in (-1, n):
    try:
        mx.distributed.send(payload, bad)
        raise AssertionError("send accepted a bad rank")
    except ValueError as e:
        assert "is not a rank of this group" in str(e), e

# gradients across processes
xs = [data(q, (3,), "float32", 2) for q in range(n)]
x = mx.array(xs[r])
S = np.sum(xs, axis=0)
# MLX's convention: the loss, computed from the reduced value, is the same in every process,
# so d/dx_r sum(all_sum(x)^2) = 2 S (the cotangent passes through all_sum's vjp as is)
check(mx.grad(lambda v: mx.sum(mx.distributed.all_sum(v) ** 2))(x), 2 * S, 1e-4)
# and the jvp sums every process's tangent: d all_sum(x)[t] = sum of the t_r
ts = [data(q, (3,), "float32", 14) for q in range(n)]
check(mx.jvp(mx.distributed.all_sum, [x], [mx.array(ts[r])])[1][0], np.sum(ts, axis=0))
w = data(0, (3 * n,), "float32", 3)
check(mx.grad(lambda v: mx.sum(mx.distributed.all_gather(v) * mx.array(w)))(x), w[3 * r:3 * r + 3])
vs = [data(q, (1,), "float32", 4) for q in range(n)]
check(mx.grad(lambda v: mx.sum(mx.distributed.sum_scatter(v) * mx.array(vs[r])))(
    mx.array(data(r, (n,), "float32", 5))), np.concatenate(vs))
M = np.max(xs, axis=0)
check(mx.grad(lambda v: mx.sum(mx.distributed.all_max(v)))(x), (xs[r] == M).astype(np.float32))

# vmap of a collective: per-example all_sum
xb = [data(q, (4, 3), "float32", 6) for q in range(n)]
check(mx.vmap(mx.distributed.all_sum)(mx.array(xb[r])), np.sum(xb, axis=0))
check(mx.vmap(mx.distributed.all_gather, in_axes=1, out_axes=1)(mx.array(xb[r])),
      np.concatenate(xb, axis=0))

# split: even and odd ranks; key reverses the order inside each
sub = g.split(r % 2, key=n - r)
members = [q for q in range(n) if q % 2 == r % 2]
assert sub.size() == len(members), (sub.size(), members)
assert sub.rank() == sorted(members, key=lambda q: n - q).index(r)
check(mx.distributed.all_sum(mx.array(float(r)), group=sub), np.array(float(sum(members))))
order = sorted(members, key=lambda q: n - q)
check(mx.distributed.all_gather(mx.array([r]), group=sub), np.array(order))

# average_gradients: small arrays packed, a large one alone, two dtypes
grads = {"a": mx.array(data(r, (3,), "float32", 8)),
         "b": [mx.array(data(r, (2, 2), "float32", 9)),
               mx.array(data(r, (5,), "float64", 10), dtype=mx.float64)],
         "c": mx.array(data(r, (300,), "float32", 11))}
for size in (0, 64, 32 * 1024**2):
    avg = nn.average_gradients(grads, all_reduce_size=size)
    check(avg["a"], np.mean([data(q, (3,), "float32", 8) for q in range(n)], axis=0))
    check(avg["b"][0], np.mean([data(q, (2, 2), "float32", 9) for q in range(n)], axis=0))
    check(avg["b"][1], np.mean([data(q, (5,), "float64", 10) for q in range(n)], axis=0))
    assert avg["b"][1].dtype == mx.float64
    check(avg["c"], np.mean([data(q, (300,), "float32", 11) for q in range(n)], axis=0))
comm = mx.new_stream(mx.cpu)
avg = nn.average_gradients(grads, communication_stream=comm)
check(avg["a"], np.mean([data(q, (3,), "float32", 8) for q in range(n)], axis=0))
# how many all_sums it makes: 10 arrays of 40 bytes go in one, in two of at most 200 bytes,
# one each with all_reduce_size=0
real_all_sum, calls = mx.distributed.all_sum, []
mx.distributed.all_sum = lambda x, **kw: calls.append(x.shape) or real_all_sum(x, **kw)
try:
    ones = [mx.ones(10) for _ in range(10)]
    for size, want in ((32 * 1024**2, 1), (4 * 50, 2), (0, 10)):
        calls.clear()
        avg = nn.average_gradients(ones, all_reduce_size=size)
        mx.eval(avg)
        assert len(calls) == want, (size, calls)
        assert all(float(mx.max(mx.abs(a - 1))) == 0 for a in avg)
finally:
    mx.distributed.all_sum = real_all_sum

# tensor parallelism: a sharded pair computes what the whole pair computes, with its gradients
mx.random.seed(1)
m = 4
up, down = nn.Linear(5, m * n), nn.Linear(m * n, 3)
mx.eval(up.parameters(), down.parameters())
full = nn.Sequential(up, nn.ReLU(), down)
shard = nn.Sequential(nn.AllToShardedLinear.from_linear(up), nn.ReLU(),
                      nn.shard_linear(down, "sharded-to-all"))
assert shard.layers[0].weight.shape == (m, 5) and shard.layers[2].weight.shape == (3, m)
xin = mx.array(data(0, (2, 5), "float32", 15))
check(shard(xin), np.array(full(xin)))
gx_full = mx.grad(lambda v: mx.sum(full(v) ** 2))(xin)
check(mx.grad(lambda v: mx.sum(shard(v) ** 2))(xin), np.array(gx_full), 1e-4)
_, gf = nn.value_and_grad(full, lambda v: mx.sum(full(v) ** 2))(xin)
_, gs = nn.value_and_grad(shard, lambda v: mx.sum(shard(v) ** 2))(xin)
rows = slice(r * m, (r + 1) * m)
check(gs["layers"][0]["weight"], np.array(gf["layers"][0]["weight"])[rows], 1e-4)
check(gs["layers"][0]["bias"], np.array(gf["layers"][0]["bias"])[rows], 1e-4)
check(gs["layers"][2]["weight"], np.array(gf["layers"][2]["weight"])[:, rows], 1e-4)
check(gs["layers"][2]["bias"], np.array(gf["layers"][2]["bias"]), 1e-4)
seg = nn.AllToShardedLinear.from_linear(up, segments=2)
W = np.array(up.weight)
half = m * n // 2
check(seg.weight, np.concatenate([W[a + r * (half // n):a + (r + 1) * (half // n)]
                                  for a in (0, half)]))

# a data-parallel training step equals the single-process step on the whole batch
def make_model():
    mx.random.seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    mx.eval(m.parameters())
    return m

X = data(0, (6 * n, 4), "float32", 12)
Y = data(0, (6 * n, 2), "float32", 13)
def loss_fn(m, xb, yb):
    return nn.losses.mse_loss(m(xb), yb)
local = make_model()
opt = optim.SGD(learning_rate=0.1)
lg = nn.value_and_grad(local, lambda xb, yb: loss_fn(local, xb, yb))
_, grads = lg(mx.array(X[6 * r:6 * r + 6]), mx.array(Y[6 * r:6 * r + 6]))
opt.update(local, nn.average_gradients(grads))
full = make_model()
fg = nn.value_and_grad(full, lambda xb, yb: loss_fn(full, xb, yb))
_, grads_full = fg(mx.array(X), mx.array(Y))
optim.SGD(learning_rate=0.1).update(full, grads_full)
from ember.utils import tree_flatten
for (k1, p1), (k2, p2) in zip(tree_flatten(local.parameters()), tree_flatten(full.parameters())):
    assert k1 == k2
    check(p1, np.array(p2), 1e-5)
print("collectives ok", r, n)
"""


@pytest.mark.parametrize("n", [2, 4])
def test_collectives_across_processes(tmp_path, n):
    out = _run_launch(tmp_path, n, COLLECTIVES)
    assert out.returncode == 0, out.stdout + out.stderr
    for r in range(n):
        assert f"[{r}] collectives ok {r} {n}" in out.stdout, out.stdout + out.stderr


def test_large_all_sum_and_bandwidth_path(tmp_path):
    body = """
    import numpy as np, ember.core as mx
    g = mx.distributed.init(strict=True)
    n, r = g.size(), g.rank()
    x = mx.full((1 << 20,), float(r + 1))  # 4 MiB: several ring segments per process
    y = mx.distributed.all_sum(x)
    np.testing.assert_array_equal(np.array(y), np.full(1 << 20, n * (n + 1) / 2, np.float32))
    print("big ok")
    """
    out = _run_launch(tmp_path, 3, body)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("big ok") == 3


def test_launch_of_one_process(tmp_path):
    body = """
    import os, ember.core as mx
    g = mx.distributed.init(strict=True)  # a hostfile of one rank: a group of one
    print("size", g.size(), "rank", os.environ["MLX_RANK"])
    """
    script = tmp_path / "one.py"
    script.write_text(textwrap.dedent(body))
    out = subprocess.run([sys.executable, "-m", "ember.launch", "-n", "1", "--no-prefix",
                          str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "size 1 rank 0"


def test_launcher_stops_everyone_when_a_rank_fails(tmp_path):
    body = """
    import sys, time
    import ember.core as mx
    g = mx.distributed.init(strict=True)
    if g.rank() == 1:
        print("rank 1 failing", flush=True)
        sys.exit(3)
    time.sleep(60)  # the launcher must not wait for this
    """
    t0 = time.monotonic()
    out = _run_launch(tmp_path, 2, body)
    assert out.returncode == 3, out.stdout + out.stderr
    assert time.monotonic() - t0 < 30
    assert "[1] rank 1 failing" in out.stdout
    assert "rank 1 exited with code 3" in out.stderr


def _spawn_pair(tmp_path, body, timeout_s="3", args=()):
    """Two ranks started directly (not through the launcher, which would stop the survivor)."""
    script = tmp_path / "pair.py"
    script.write_text(textwrap.dedent(body))
    hostfile = str(tmp_path / "hosts.json")
    ember_launch.write_hostfile(hostfile, 2)
    procs = [subprocess.Popen([sys.executable, str(script), *args],
                              env=dict(os.environ, MLX_RANK=str(r), MLX_HOSTFILE=hostfile,
                                       EMBER_DISTRIBUTED_TIMEOUT=timeout_s),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(2)]
    outs = []
    for p in procs:
        try:
            o, e = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            o, e = p.communicate()
        outs.append((p.returncode, o, e))
    return outs


def test_dead_peer_becomes_an_exception(tmp_path):
    body = """
    import os, sys, time
    import ember.core as mx
    g = mx.distributed.init(strict=True)
    if g.rank() == 1:
        os._exit(0)  # leaves without taking part
    t0 = time.monotonic()
    try:
        mx.eval(mx.distributed.all_sum(mx.ones((1000,))))
        print("no error")
    except RuntimeError as e:
        print("error after %.1f s: %s" % (time.monotonic() - t0, e))
    try:  # the group is unusable from now on, and says so at once
        mx.eval(mx.distributed.all_sum(mx.ones((3,))))
    except RuntimeError as e:
        print("then:", e)
    """
    (c0, o0, e0), (c1, _, _) = _spawn_pair(tmp_path, body)
    assert c0 == 0 and c1 == 0, e0
    assert re.search(r"\[all_sum\] (Rank 1 closed its connection|Lost the connection to rank 1)",
                     o0), o0 + e0
    assert float(o0.split("error after ")[1].split(" s")[0]) < 3
    assert "then: [all_sum] The group's connections failed earlier" in o0, o0


def test_stalled_peer_times_out(tmp_path):
    body = """
    import time
    import ember.core as mx
    g = mx.distributed.init(strict=True)
    if g.rank() == 1:
        time.sleep(6)  # alive, but never joins the all_sum
    else:
        t0 = time.monotonic()
        try:
            mx.eval(mx.distributed.all_sum(mx.ones((4,))))
        except RuntimeError as e:
            print("after %.1f s: %s" % (time.monotonic() - t0, e))
    """
    (c0, o0, e0), _ = _spawn_pair(tmp_path, body, timeout_s="1.5")
    assert c0 == 0, e0
    assert "Timed out after 1.5 s waiting for rank 1" in o0, o0 + e0
    assert 1.0 < float(o0.split("after ")[1].split(" s")[0]) < 5


@pytest.mark.parametrize("case,expected", [
    ("all_sum", "must pass arrays of the same shape and dtype"),
    ("recv", "sent 12 bytes but this rank (1) expects 16"),
])
def test_mismatched_calls_are_reported(tmp_path, case, expected):
    body = """
    import sys
    import ember.core as mx
    g = mx.distributed.init(strict=True)
    try:
        if sys.argv[1] == "all_sum":
            mx.eval(mx.distributed.all_sum(mx.ones((3 + g.rank(),))))
        elif g.rank() == 0:
            mx.eval(mx.distributed.send(mx.ones((3,)), 1))
        else:
            mx.eval(mx.distributed.recv((4,), mx.float32, 0))
    except RuntimeError as e:
        print("error:", e)
    """
    (c0, o0, e0), (c1, o1, e1) = _spawn_pair(tmp_path, body, args=(case,))
    assert c0 == 0 and c1 == 0, e0 + e1
    assert expected in o0 + o1, o0 + o1 + e0 + e1


def test_stray_connections_are_ignored(tmp_path):
    import json
    import socket

    script = tmp_path / "sum.py"
    script.write_text(textwrap.dedent("""
    import ember.core as mx
    g = mx.distributed.init(strict=True)
    print("sum", mx.distributed.all_sum(mx.array(1.0)).item())
    """))
    hostfile = str(tmp_path / "hosts.json")
    ember_launch.write_hostfile(hostfile, 2)
    host, port = json.load(open(hostfile))[0][0].split(":")

    def start(rank):
        return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, MLX_RANK=str(rank), MLX_HOSTFILE=hostfile,
                                         EMBER_DISTRIBUTED_TIMEOUT="20"))

    p0 = start(0)
    # Before rank 1 comes, two clients that are not ember processes connect to rank 0: one
    # sends a line of text, one closes at once.
    for payload in (b"GET / HTTP/1.0\r\n\r\n", b""):
        for _ in range(200):
            try:
                c = socket.create_connection((host, int(port)), timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        c.sendall(payload)
        c.close()
    p1 = start(1)
    for p in (p0, p1):
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and out.strip() == "sum 2.0", out + err


def test_unreachable_peer_fails_init_in_time(tmp_path):
    body = """
    import time
    import ember.core as mx
    t0 = time.monotonic()
    try:
        mx.distributed.init(strict=True)
    except RuntimeError as e:
        print("after %.1f s: %s" % (time.monotonic() - t0, e))
    """
    script = tmp_path / "alone.py"
    script.write_text(textwrap.dedent(body))
    hostfile = str(tmp_path / "hosts.json")
    ember_launch.write_hostfile(hostfile, 2)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, MLX_RANK="1", MLX_HOSTFILE=hostfile,
                                  EMBER_DISTRIBUTED_TIMEOUT="1"))
    assert "[init] Rank 1 could not connect to rank 0" in out.stdout, out.stdout + out.stderr
