"""atheris fuzz harness over ember's op, transform and file-loading surface.

Each input is decoded (atheris.FuzzedDataProvider) into one call: an op from OPS with arrays
of random shapes (0-d, 0-size, huge declared sizes), dtypes, layouts (transposed, reversed,
broadcast) and random ints for axes / sizes; or a transform (grad, vjp, jvp, vmap) of an op;
or mx.load of random bytes in one of the four formats; or mx.import_function of a mutated
(or truncated) exported function, then a call of it. The call may succeed or raise
ValueError / TypeError / IndexError / MemoryError / OverflowError with a message that carries
no C++ internals; anything else (another exception, a crash, a hang) is a finding.

    python tools/fuzz.py -max_total_time=60          # what tools/test.sh runs when CI=true
    python tools/fuzz.py crash-<hash>                # replays one input
A finding is saved by atheris as crash-<hash>; copy it to tests/fuzz/corpus/ and
tests/test_fuzz_regressions.py replays it on every run. With EMBER_FUZZ_FINDINGS=DIR the
harness keeps going instead: each new kind of finding (exception type, op, message shape) is
written once to DIR and listed at exit.
"""
import atexit
import hashlib
import io
import os
import re
import sys

import numpy as np

import ember.core as mx

OK = (ValueError, TypeError, IndexError, MemoryError, OverflowError)
DTYPES = [mx.bool_, mx.uint8, mx.uint16, mx.uint32, mx.uint64, mx.int8, mx.int16, mx.int32,
          mx.int64, mx.float16, mx.bfloat16, mx.float32, mx.float64, mx.complex64]
INTS = [0, 1, 2, 3, -1, -2, -3, 5, 7, 2**31 - 1, 2**31, -(2**31) - 1, 2**32, 2**40, 2**62,
        2**63 - 1, -(2**63), 2**63, 2**64]

UNARY = ["abs", "negative", "sign", "square", "floor", "ceil", "round", "sqrt", "rsqrt",
         "reciprocal", "exp", "expm1", "log", "log1p", "log2", "sin", "cos", "tan", "arcsin",
         "arctanh", "tanh", "sigmoid", "erf", "erfinv", "logical_not", "isnan", "isinf",
         "nan_to_num", "real", "imag", "conj", "bitwise_invert", "stop_gradient", "copy"]
BINARY = ["add", "subtract", "multiply", "divide", "floor_divide", "remainder", "power",
          "maximum", "minimum", "arctan2", "logaddexp", "equal", "less", "greater_equal",
          "logical_and", "logical_xor", "isclose", "allclose", "array_equal", "bitwise_and",
          "bitwise_xor", "left_shift", "right_shift", "matmul", "outer", "inner"]
AXIS = ["sum", "prod", "mean", "var", "std", "max", "min", "all", "any", "argmax", "argmin",
        "logsumexp", "softmax", "cumsum", "cumprod", "cummax", "sort", "argsort", "squeeze",
        "expand_dims"]


class Decoder:
    def __init__(self, data):
        import atheris

        self.p = atheris.FuzzedDataProvider(data)
        self.trace = []

    def pick(self, values):
        v = self.p.PickValueInList(values)
        self.trace.append(v if isinstance(v, str) else type(v).__name__)
        return v

    def int(self):
        if self.p.ConsumeBool():
            return self.p.PickValueInList(INTS)
        return self.p.ConsumeIntInRange(-4, 6)

    def small(self, lo=0, hi=4):
        return self.p.ConsumeIntInRange(lo, hi)

    def shape(self):
        return tuple(self.small(0, 4) for _ in range(self.small(0, 4)))

    def wild_shape(self):
        return tuple(self.int() if self.p.ConsumeProbability() < 0.3 else self.small()
                     for _ in range(self.small(0, 4)))

    def dtype(self):
        return self.p.PickValueInList(DTYPES)

    def array(self, shape=None):
        shape = self.shape() if shape is None else shape
        dtype = self.dtype()
        n = int(np.prod(shape)) if shape else 1
        vals = np.array([self.p.ConsumeFloatInRange(-1e4, 1e4) if self.p.ConsumeBool()
                         else self.p.PickValueInList([0.0, -0.0, 1.0, np.inf, -np.inf, np.nan, 1e38])
                         for _ in range(n)], dtype=np.float64).reshape(shape)
        with np.errstate(all="ignore"):
            x = mx.array(vals, dtype=mx.float64)
            x = x.astype(dtype)
        layout = self.small(0, 3)
        if layout == 1 and x.ndim >= 2:
            x = mx.array(np.ascontiguousarray(np.asarray(x.astype(mx.float64)).T), dtype=mx.float64).astype(dtype).T
        elif layout == 2 and x.ndim >= 1:
            x = x[::-1]
        elif layout == 3 and x.ndim >= 1 and x.shape[0] > 0:
            x = mx.broadcast_to(x[:1], x.shape)
        return x


def call_op(d):
    kind = d.small(0, 7)
    if kind == 0:
        return getattr(mx, d.pick(UNARY))(d.array())
    if kind == 1:
        a = d.array()
        b = d.array(a.shape if d.p.ConsumeBool() else None)
        if d.p.ConsumeBool():
            b = d.p.PickValueInList([d.int(), 1.5, True, -0.0])
        return getattr(mx, d.pick(BINARY))(a, b)
    if kind == 2:
        name = d.pick(AXIS)
        return getattr(mx, name)(d.array(), axis=d.int())
    if kind == 3:
        name = d.pick(["zeros", "ones", "full", "eye", "arange", "linspace", "tri",
                                    "normal", "uniform", "randint", "bernoulli"])
        s = d.wild_shape()
        t = d.dtype()
        return {
            "zeros": lambda: mx.zeros(s, dtype=t), "ones": lambda: mx.ones(s, dtype=t),
            "full": lambda: mx.full(s, d.int(), dtype=t), "eye": lambda: mx.eye(d.int(), dtype=t),
            "arange": lambda: mx.arange(d.int(), d.int(), d.int() or 1),
            "linspace": lambda: mx.linspace(0, 1, d.int()), "tri": lambda: mx.tri(d.int(), d.int()),
            "normal": lambda: mx.random.normal(s), "uniform": lambda: mx.random.uniform(shape=s),
            "randint": lambda: mx.random.randint(d.int(), d.int(), s),
            "bernoulli": lambda: mx.random.bernoulli(0.5, s),
        }[name]()
    if kind == 4:
        x = d.array()
        name = d.pick(["reshape", "broadcast_to", "tile", "repeat", "pad", "transpose",
                                    "concatenate", "split", "take", "getitem", "setitem", "flatten"])
        return {
            "reshape": lambda: mx.reshape(x, d.wild_shape()),
            "broadcast_to": lambda: mx.broadcast_to(x, d.wild_shape()),
            "tile": lambda: mx.tile(x, list(d.wild_shape())),
            "repeat": lambda: mx.repeat(x, d.int(), axis=d.small(-2, 2)),
            "pad": lambda: mx.pad(x, [(d.int(), d.small()) for _ in range(x.ndim)]),
            "transpose": lambda: mx.transpose(x, [d.small(-3, 3) for _ in range(x.ndim)]),
            "concatenate": lambda: mx.concatenate([x, d.array()], axis=d.small(-2, 2)),
            "split": lambda: mx.split(x, d.int(), axis=d.small(-2, 2)),
            "take": lambda: mx.take(x, mx.array([d.small(-3, 3)]), axis=d.small(-1, 1)),
            "getitem": lambda: x[d.int():d.int():(d.int() or 1)] if x.ndim else x[...],
            "setitem": lambda: x.__setitem__(d.small(-2, 2) if x.ndim else ..., d.int()),
            "flatten": lambda: mx.flatten(x, d.small(-3, 3), d.small(-3, 3)),
        }[name]()
    if kind == 5:
        x = d.array()
        x = x.astype(mx.float32) if d.p.ConsumeBool() else x
        f = getattr(mx, d.pick(["sin", "tanh", "exp", "square", "sigmoid", "cumsum", "softmax"]))
        which = d.small(0, 3)
        if which == 0:
            return mx.grad(lambda t: mx.sum(f(t)))(x)
        if which == 1:
            return mx.vmap(f, in_axes=d.small(-2, 2))(x)
        if which == 2:
            return mx.jvp(f, [x], [d.array(x.shape)])
        return mx.vjp(f, [x], [d.array(x.shape)])
    if kind == 6:
        fmt = d.pick(["npy", "npz", "safetensors", "gguf", "mlxfn"])
        if fmt == "mlxfn":
            return call_imported(d)
        return mx.load(io.BytesIO(d.p.ConsumeBytes(d.small(0, 4096))), format=fmt)
    x = d.array()
    return mx.array(d.p.PickValueInList([d.int(), [d.int(), d.int()]]), dtype=d.dtype()) + x


_SEED = []


def call_imported(d):
    """Imports a mutated copy of one exported function (a fused chain, a reduction, a matmul
    and a gather) and calls it."""
    import tempfile

    if not _SEED:
        path = os.path.join(tempfile.mkdtemp(), "seed.mlxfn")
        mx.export_function(path, lambda x, i: (mx.sum(mx.exp(x) * 2 - x, axis=-1), x @ x.T, x[i]),
                           mx.ones((3, 4)), mx.array([0, 2]))
        _SEED.append(open(path, "rb").read())
    data = bytearray(_SEED[0])
    for _ in range(d.small(1, 8)):
        data[d.p.ConsumeIntInRange(0, len(data) - 1)] = d.p.ConsumeIntInRange(0, 255)
    if d.p.ConsumeBool():
        data = data[:d.p.ConsumeIntInRange(0, len(data))]
    with tempfile.NamedTemporaryFile(suffix=".mlxfn", delete=False) as f:
        f.write(bytes(data))
    try:
        fn = mx.import_function(f.name)
    finally:
        os.unlink(f.name)
    return fn(mx.ones((3, 4)), mx.array([0, 2]))


def run(data):
    """Runs one input; raises AssertionError (or whatever escaped) for a finding."""
    d = Decoder(data)
    try:
        out = call_op(d)
        outs = out if isinstance(out, (list, tuple)) else [out]
        flat = []
        for o in outs:
            flat.extend(o if isinstance(o, (list, tuple)) else [o])
        arrays = [o for o in flat if isinstance(o, mx.array) and o.size < 2**22]
        mx.eval(arrays)
        for a in arrays:
            np.asarray(a.astype(mx.float32) if a.dtype == mx.bfloat16 else a)
    except OK as e:
        text = str(e)
        if "std::" in text or "bad_alloc" in text or "bad_cast" in text:
            raise AssertionError(f"C++ internals in a {type(e).__name__} from {d.trace}: {text}") from e
    except Exception as e:
        raise AssertionError(f"{type(e).__name__} from {d.trace}: {e}") from e


FINDINGS = os.environ.get("EMBER_FUZZ_FINDINGS")
SEEN = {}
COUNT = [0]


def one_input(data):
    COUNT[0] += 1
    _count_line()
    if not FINDINGS:
        return run(data)
    try:
        run(data)
    except AssertionError as e:
        kind = re.sub(r"\d+", "N", str(e))[:160]
        if kind not in SEEN:
            os.makedirs(FINDINGS, exist_ok=True)
            name = hashlib.sha1(data).hexdigest()[:16]
            with open(os.path.join(FINDINGS, name), "wb") as f:
                f.write(data)
            SEEN[kind] = name
            print(f"FINDING {name}: {e}", flush=True)


@atexit.register
def _summary():
    if FINDINGS:
        print(f"fuzz: {COUNT[0]} inputs, {len(SEEN)} kinds of findings", flush=True)


def _count_line():
    if FINDINGS and COUNT[0] % 5000 == 0:
        print(f"fuzz: {COUNT[0]} inputs, {len(SEEN)} kinds of findings", flush=True)


def main():
    import atheris
    import resource

    # A 3 GiB address-space cap: an op that allocates far more than its inputs warrant fails
    # with MemoryError (which must name the op) instead of taking the machine down.
    cap = int(os.environ.get("EMBER_FUZZ_AS_LIMIT", 3 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    # Coverage of the harness's own branches (which op, which argument form) guides
    # libFuzzer; ember's C++ is not instrumented.
    global call_op, run
    call_op = atheris.instrument_func(call_op)
    run = atheris.instrument_func(run)
    for name in ("array", "shape", "wild_shape", "int"):
        setattr(Decoder, name, atheris.instrument_func(getattr(Decoder, name)))

    # Without a corpus, start from random 64-512 byte inputs (each decodes to a call with
    # real arrays) and keep lengths free: libFuzzer alone would stay at a few bytes, since
    # only the harness's branches are instrumented.
    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):
        seeds = os.path.abspath("fuzz-seeds")
        os.makedirs(seeds, exist_ok=True)
        rng = np.random.default_rng(0)
        for i in range(64):
            with open(os.path.join(seeds, f"seed{i}"), "wb") as f:
                f.write(rng.integers(0, 256, int(rng.integers(64, 512)), dtype=np.uint8).tobytes())
        argv.append(seeds)
    for flag in ("-len_control=0", "-reduce_inputs=0"):
        if not any(a.startswith(flag.split("=")[0]) for a in argv):
            argv.append(flag)
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
