"""Op-table rows of the quantized family (quantize, dequantize, quantized_matmul, gather_qmm,
qqmm, to_fp8, from_fp8) and of the gathered / masked / segmented products (gather_mm,
block_masked_mm, segmented_mm), with the numpy reference of the packed formats that
tests/test_quantized.py uses too.

The reference is written from the formats' definitions (MLX's documentation and the OCP
microscaling spec), not from any implementation: each row of K elements is a little-endian
bit stream of `bits`-bit fields packed into uint32 words; affine groups are scale * q + bias;
the float formats are E2M1 / E4M3 elements times a per-group scale.
"""
import numpy as np

import ember.core as mx

from . import OpRow, np_dtype

FP4 = np.array([0, .5, 1, 1.5, 2, 3, 4, 6, -0., -.5, -1, -1.5, -2, -3, -4, -6], np.float64)
MODES = {"affine": (64, 4), "mxfp4": (32, 4), "mxfp8": (32, 8), "nvfp4": (16, 4)}


# ---- the formats, in numpy ------------------------------------------------------------------
def e4m3_decode(b):
    """E4M3 bytes to float64 (bias 7, no infinities, 0x7F / 0xFF NaN)."""
    b = np.asarray(b, np.uint8).astype(np.int64)
    e, m = (b >> 3) & 15, b & 7
    v = np.where(e == 0, m / 8 * 2.0 ** -6, (1 + m / 8) * 2.0 ** (e - 7))
    v = np.where((b & 0x7F) == 0x7F, np.nan, v)
    return np.where(b & 0x80, -v, v)


_E4M3_VALUES = e4m3_decode(np.arange(0x7F))


def e4m3_encode(x):
    """Nearest E4M3 byte (ties to the even code); |x| >= 464, inf and NaN saturate to 448."""
    x = np.asarray(x, np.float64)
    a = np.abs(x).reshape(-1)
    d = np.abs(a[:, None] - _E4M3_VALUES[None, :])
    best = d.min(1, keepdims=True)
    ties = d == best
    # among the (at most two) nearest codes, the even one
    code = np.where(ties[:, ::2].any(1), np.argmax(np.pad(ties, ((0, 0), (0, 1)))[:, ::2], 1) * 2,
                    np.argmax(ties, 1))
    code = np.where(~(a < 464), 0x7E, code).astype(np.uint8)
    return (code | (np.signbit(x).reshape(-1).astype(np.uint8) << 7)).reshape(x.shape)


def fp4_encode(v):
    """Index of the nearest E2M1 value, the first of equally near ones (so ties go to the
    smaller magnitude and zero is +0); NaN and infinities give 0."""
    v = np.asarray(v, np.float64)
    d = np.abs(v[..., None] - FP4)
    d = np.where(np.isnan(d), np.inf, d)
    idx = np.argmin(d, -1)
    return np.where(np.isfinite(v), idx, 0).astype(np.uint64)


def pack(q, bits):
    """Fields q (..., K) of `bits` bits into uint32 words (..., K * bits / 32)."""
    q = np.asarray(q, np.uint64)
    lead, K = q.shape[:-1], q.shape[-1]
    flat = q.reshape(-1, K)
    words = np.zeros((flat.shape[0], K * bits // 32), np.uint64)
    for k in range(K):
        bit = k * bits
        i, off = bit // 32, bit % 32
        words[:, i] |= (flat[:, k] << np.uint64(off)) & np.uint64(0xFFFFFFFF)
        if off + bits > 32:
            words[:, i + 1] |= flat[:, k] >> np.uint64(32 - off)
    return words.astype(np.uint32).reshape(lead + (K * bits // 32,))


def unpack(words, bits):
    """The fields of packed uint32 words (..., W): (..., W * 32 / bits) integers."""
    w = np.asarray(words, np.uint64)
    lead, W = w.shape[:-1], w.shape[-1]
    flat = w.reshape(-1, W)
    K = W * 32 // bits
    out = np.zeros((flat.shape[0], K), np.uint64)
    mask = np.uint64(2 ** bits - 1)
    for k in range(K):
        bit = k * bits
        i, off = bit // 32, bit % 32
        v = flat[:, i] >> np.uint64(off)
        if off + bits > 32:
            v |= flat[:, i + 1] << np.uint64(32 - off)
        out[:, k] = v & mask
    return out.reshape(lead + (K,))


def _in(x, dtype):
    """x rounded to dtype's precision, as float32 (the arithmetic MLX does in dtype)."""
    return np.asarray(x, np.float32).astype(np_dtype(dtype)).astype(np.float32)


def ref_quantize(w, group_size=None, bits=None, mode="affine", global_scale=None):
    """quantize in numpy: (w_q, scales[, biases]) as numpy arrays, bit for bit."""
    gs, b = MODES[mode]
    gs, bits = group_size or gs, bits or b
    dt = str(w.dtype) if str(w.dtype) != "bfloat16" else "bfloat16"
    f = np.float64 if dt == "float64" else np.float32
    lead, K = w.shape[:-1], w.shape[-1]
    g = np.asarray(w, f).reshape(-1, K // gs, gs)
    if mode == "affine":
        n_bins, eps = f(2 ** bits - 1), f(1e-7)
        hi, lo = g.max(-1), g.min(-1)
        scale = np.maximum((hi - lo) / n_bins, eps).astype(f)
        if bits == 1:
            bias = lo
        else:
            mask = np.abs(lo) > np.abs(hi)
            scale = np.where(mask, scale, -scale)
            edge = np.where(mask, lo, hi)
            q0 = np.rint(edge / scale).astype(f)
            nz = q0 != 0
            scale = np.where(nz, edge / np.where(nz, q0, 1), scale).astype(f)
            bias = np.where(nz, edge, 0).astype(f)
        q = np.clip(np.rint((g - bias[..., None]) / scale[..., None]), 0, n_bins)
        out_dt = np_dtype(dt)
        return (pack(q.reshape(lead + (K,)), bits), scale.reshape(lead + (-1,)).astype(out_dt),
                bias.reshape(lead + (-1,)).astype(out_dt))
    rnd = (lambda x: np.asarray(x, f)) if dt == "float64" else (lambda x: _in(x, dt))
    amax = np.abs(g).max(-1, keepdims=True)
    with np.errstate(all="ignore"):
        if mode == "nvfp4":
            if global_scale is not None:
                gsv = np.float32(global_scale)
                byte = e4m3_encode(np.float32(rnd(amax / f(6))) * (np.float32(2688) / gsv))
                div = (e4m3_decode(byte).astype(np.float32) * (gsv / np.float32(2688))).astype(f)
                v = g / div
            else:
                byte = e4m3_encode(rnd(amax / f(6)))
                v = rnd(g / rnd(e4m3_decode(byte)))
        else:
            s = rnd(amax / f(6 if bits == 4 else 448))
            e = np.where(s == 0, 0, np.ceil(np.log2(np.where(s == 0, 1, s).astype(np.float32))))
            e = e.astype(np.int64)
            byte = (e + 127).astype(np.uint8)
            v = rnd(g / rnd(np.exp2(e.astype(np.float32))))
    codes = fp4_encode(v) if bits == 4 else e4m3_encode(v).astype(np.uint64)
    return pack(codes.reshape(lead + (K,)), bits), byte.reshape(lead + (-1,))


def ref_dequantize(w_q, scales, biases=None, group_size=None, bits=None, mode="affine",
                   global_scale=None):
    """The float64 matrix (w_q, scales, biases) stands for."""
    gs, b = MODES[mode]
    gs, bits = group_size or gs, bits or b
    q = unpack(w_q, bits).astype(np.float64)
    lead, K = q.shape[:-1], q.shape[-1]
    q = q.reshape(lead + (K // gs, gs))
    if mode == "affine":
        out = q * np.asarray(scales, np.float64)[..., None] + np.asarray(biases, np.float64)[..., None]
    else:
        vals = FP4[q.astype(np.int64)] if bits == 4 else e4m3_decode(q.astype(np.uint8))
        s = np.asarray(scales).astype(np.int64)
        if mode == "nvfp4":
            f = e4m3_decode(s.astype(np.uint8))
            if global_scale is not None:
                f = f * float(global_scale) / (448 * 6)
        else:
            f = np.exp2(s - 127.0)
        out = vals * f[..., None]
    return out.reshape(lead + (K,))


# ---- rows -----------------------------------------------------------------------------------
def _packed_make(gs, bits, mode="affine", x_first=True, extra=None):
    """Inputs (x?, w_q, scales[, biases]) with random words and sane scales; shapes give
    them all (x (.., M, K), w_q, scales, biases)."""

    def make(rng, shapes, dtype):
        out = []
        i = 0
        if x_first:
            out.append(rng.standard_normal(shapes[0]).astype(np_dtype(dtype)))
            i = 1
        if mode == "mxfp8":  # E4M3 bytes without the NaN codes 0x7F / 0xFF
            b = rng.integers(0, 0x7F, size=shapes[i] + (4,)) | (rng.integers(0, 2, size=shapes[i] + (4,)) << 7)
            out.append(b.astype(np.uint8).view(np.uint32).reshape(shapes[i]))
        else:
            out.append(rng.integers(0, 2 ** 32, size=shapes[i], dtype=np.uint64).astype(np.uint32))
        if mode == "affine":
            out.append((rng.random(shapes[i + 1]) * 0.2 + 0.05).astype(np_dtype(dtype)))
            out.append(rng.standard_normal(shapes[i + 2]).astype(np_dtype(dtype)) * 0.5)
        else:
            lo, hi = (118, 126) if mode != "nvfp4" else (40, 56)
            out.append(rng.integers(lo, hi, size=shapes[i + 1]).astype(np.uint8))
        if extra:
            out += extra(rng, shapes)
        return out

    return make


def _np_qmm(x, w, scales, biases=None, transpose=True, group_size=64, bits=4, mode="affine"):
    W = ref_dequantize(w, scales, biases, group_size, bits, mode)
    return np.matmul(x, np.swapaxes(W, -1, -2) if transpose else W)


def _qmm_row(name, shapes, gs, bits, mode="affine", transpose=True, dtypes=("float32", "float64")):
    kw = dict(transpose=transpose, group_size=gs, bits=bits, mode=mode)
    if mode == "affine":
        ember = lambda x, w, s, b, **k: mx.quantized_matmul(x, w, s, b, **k)  # noqa: E731
        numpy = lambda x, w, s, b, **k: _np_qmm(x, w, s, b, **k)  # noqa: E731
        grad_args = [0, 2, 3]
    else:
        ember = lambda x, w, s, **k: mx.quantized_matmul(x, w, s, **k)  # noqa: E731
        numpy = lambda x, w, s, **k: _np_qmm(x, w, s, None, **k)  # noqa: E731
        grad_args = [0]
    return OpRow(name=name, ember=ember, numpy=numpy, shapes=shapes, kwargs=[kw], dtypes=dtypes,
                 make=_packed_make(gs, bits, mode), grad_args=grad_args, smooth=False,
                 rtol=1e-4, atol=1e-4)


def _np_gather_qmm(x, w, s, b, li, ri, **k):
    li, ri = np.broadcast_arrays(li, ri)
    xs = x.reshape((-1,) + x.shape[-2:])[li.reshape(-1)]
    ws = w.reshape((-1,) + w.shape[-2:])[ri.reshape(-1)]
    ss = s.reshape((-1,) + s.shape[-2:])[ri.reshape(-1)]
    bs = b.reshape((-1,) + b.shape[-2:])[ri.reshape(-1)]
    out = _np_qmm(xs, ws, ss, bs, **k)
    return out.reshape(li.shape + out.shape[-2:])


def _gather_indices(nl, nr, shape):
    def extra(rng, shapes):
        return [rng.integers(-nl, nl, size=shape).astype(np.int32),
                np.sort(rng.integers(0, nr, size=shape)).astype(np.int32)]
    return extra


def _np_dequantize_row(w, s, b, **k):
    return ref_dequantize(w, s, b, **k)


def _np_gather_mm(a, b, li, ri):
    li, ri = np.broadcast_arrays(li, ri)
    A = a.reshape((-1,) + a.shape[-2:])[li.reshape(-1)]
    B = b.reshape((-1,) + b.shape[-2:])[ri.reshape(-1)]
    out = A @ B
    return out.reshape(np.broadcast_shapes(li.shape, ri.shape) + out.shape[-2:])


def _gmm_make(rng, shapes, dtype):
    (sa, sb, si, sj) = shapes
    na, nb = int(np.prod(sa[:-2])), int(np.prod(sb[:-2]))
    return [rng.standard_normal(sa).astype(np_dtype(dtype)),
            rng.standard_normal(sb).astype(np_dtype(dtype)),
            rng.integers(-na, na, size=si).astype(np.int32),
            rng.integers(0, nb, size=sj).astype(np.uint32)]


def _spread(m, bs, r, c):
    return np.repeat(np.repeat(m, bs, -2), bs, -1)[..., :r, :c]


def _np_block_masked(a, b, mo, ml, mr, block_size=32):
    def masked(x, m):
        e = _spread(m, block_size, x.shape[-2], x.shape[-1])
        return np.where(e, x, 0) if m.dtype == np.bool_ else x * e
    return masked(masked(a, ml) @ masked(b, mr), mo)


def _bmm_make(float_masks):
    def make(rng, shapes, dtype):
        sa, sb, so, sl, sr = shapes
        out = [rng.standard_normal(sa).astype(np_dtype(dtype)),
               rng.standard_normal(sb).astype(np_dtype(dtype))]
        for s in (so, sl, sr):
            out.append(rng.standard_normal(s).astype(np_dtype(dtype)) if float_masks
                       else rng.random(s) > 0.3)
        return out
    return make


def _np_segmented(a, b, seg):
    K = a.shape[1]
    out = []
    for s in seg.reshape(-1, 2):
        k0, k1 = np.clip(s[0], 0, K), np.clip(s[1], 0, K)
        out.append(a[:, k0:k1] @ b[k0:k1] if k1 > k0 else np.zeros((a.shape[0], b.shape[1])))
    return np.stack(out).reshape(seg.shape[:-1] + (a.shape[0], b.shape[1]))


def _seg_make(rng, shapes, dtype):
    sa, sb, ss = shapes
    K = sa[1]
    bounds = np.sort(rng.integers(0, K + 1, size=ss), -1)
    bounds[..., 0] -= (rng.random(ss[:-1]) < 0.2) * 3  # some start before 0 (clipped)
    return [rng.standard_normal(sa).astype(np_dtype(dtype)),
            rng.standard_normal(sb).astype(np_dtype(dtype)), bounds.astype(np.int32)]


def _np_qqmm(x, w, mode="nvfp4"):
    def rt(a):
        return ref_dequantize(*ref_quantize(np.asarray(a, np.float32), mode=mode), mode=mode)
    return rt(x) @ np.swapaxes(rt(w), -1, -2)


ROWS = [
    _qmm_row("quantized_matmul", [((3, 64), (5, 8), (5, 2), (5, 2)),
                                  ((2, 1, 64), (5, 8), (5, 2), (5, 2)),
                                  ((2, 3, 64), (2, 6, 8), (2, 6, 2), (2, 6, 2))], 32, 4,
             dtypes=("float32", "float64", "float16", "bfloat16")),
    _qmm_row("quantized_matmul[no transpose]", [((3, 8), (8, 8), (8, 2), (8, 2))], 32, 4,
             transpose=False),
    _qmm_row("quantized_matmul[3 bits]", [((2, 64), (4, 6), (4, 2), (4, 2))], 32, 3),
    _qmm_row("quantized_matmul[6 bits, 128]", [((2, 128), (3, 24), (3, 1), (3, 1))], 128, 6),
    _qmm_row("quantized_matmul[many rows]", [((40, 64), (5, 16), (5, 1), (5, 1))], 64, 8),
    _qmm_row("quantized_matmul[mxfp4]", [((3, 64), (5, 8), (5, 2))], 32, 4, "mxfp4"),
    _qmm_row("quantized_matmul[nvfp4]", [((3, 32), (32, 4), (32, 2))], 16, 4, "nvfp4",
             transpose=False),
    _qmm_row("quantized_matmul[mxfp8]", [((3, 64), (5, 16), (5, 2))], 32, 8, "mxfp8"),
    OpRow(
        name="gather_qmm",
        ember=lambda x, w, s, b, li, ri, **k: mx.gather_qmm(x, w, s, b, li, ri, **k),
        numpy=_np_gather_qmm,
        shapes=[((4, 2, 64), (3, 5, 8), (3, 5, 2), (3, 5, 2), (6,), (6,))],
        kwargs=[dict(group_size=32, bits=4), dict(group_size=32, bits=4, transpose=False)],
        valid=lambda shapes, kw: kw.get("transpose", True),
        make=_packed_make(32, 4, extra=_gather_indices(4, 3, (6,))),
        grad_args=[0, 2, 3], smooth=False, rtol=1e-4, atol=1e-4,
    ),
    OpRow(
        name="dequantize",
        ember=lambda w, s, b, **k: mx.dequantize(w, s, b, **k),
        numpy=_np_dequantize_row,
        shapes=[((4, 8), (4, 2), (4, 2)), ((2, 3, 12), (2, 3, 3), (2, 3, 3))],
        kwargs=[dict(group_size=32, bits=4), dict(group_size=32, bits=3)],
        valid=lambda shapes, kw: shapes[0][-1] * 32 // kw["bits"] == shapes[1][-1] * 32,
        make=_packed_make(32, 4, x_first=False), grad_args=[1, 2], smooth=False,
        dtypes=("float32", "float64", "float16", "bfloat16"),
    ),
    OpRow(
        name="quantize[scales]",
        ember=lambda w, **k: mx.quantize(w, **k)[1],
        numpy=lambda w, **k: ref_quantize(np.asarray(w, np.float32), **k)[1],
        shapes=[((3, 64),), ((2, 2, 32),)],
        kwargs=[dict(group_size=32, bits=4), dict(group_size=32, bits=2)],
        dtypes=("float32",), smooth=False,
    ),
    OpRow(
        name="quantize[biases]",
        ember=lambda w, **k: mx.quantize(w, **k)[2],
        numpy=lambda w, **k: ref_quantize(np.asarray(w, np.float32), **k)[2],
        shapes=[((3, 64),)],
        kwargs=[dict(group_size=32, bits=4), dict(group_size=32, bits=1)],
        dtypes=("float32",), smooth=False,
    ),
    OpRow(
        name="to_fp8",
        ember=lambda x: mx.to_fp8(x),
        numpy=lambda x: e4m3_encode(np.asarray(x, np.float32)),
        shapes=[((3, 5),)], dtypes=("float32", "float16", "bfloat16"), grad=False,
    ),
    OpRow(
        name="from_fp8",
        ember=lambda x, **k: mx.from_fp8(x, **k),
        numpy=lambda x, **k: e4m3_decode(x),
        shapes=[((4, 6),)], kwargs=[dict(dtype=mx.float32)], dtypes=("uint8",),
        make=lambda rng, shapes, dtype: [rng.integers(0, 256, size=shapes[0]).astype(np.uint8)],
        grad=False,
    ),
    OpRow(
        name="qqmm",
        ember=lambda x, w, **k: mx.qqmm(x, w, **k),
        numpy=_np_qqmm,
        shapes=[((3, 32), (4, 32)), ((2, 1, 64), (5, 64))],
        kwargs=[dict(mode="nvfp4"), dict(mode="mxfp8")],
        dtypes=("float32",), grad=False, rtol=1e-4, atol=1e-4,
    ),
    OpRow(
        name="gather_mm",
        ember=lambda a, b, li, ri: mx.gather_mm(a, b, li, ri),
        numpy=_np_gather_mm,
        shapes=[((4, 3, 5), (2, 5, 6), (7,), (7,)), ((2, 2, 3, 5), (3, 5, 2), (2, 1), (1, 3))],
        make=_gmm_make, grad_args=[0, 1], dtypes=("float32", "float64", "float16"),
        rtol=1e-4, atol=1e-5,
    ),
    OpRow(
        name="block_masked_mm",
        ember=lambda a, b, mo, ml, mr: mx.block_masked_mm(a, b, 32, mo, ml, mr),
        numpy=lambda a, b, mo, ml, mr: _np_block_masked(a, b, mo, ml, mr, 32),
        shapes=[((40, 70), (70, 33), (2, 2), (2, 3), (3, 2)),
                ((2, 33, 40), (40, 20), (2, 2, 1), (2, 2, 2), (2, 1))],
        make=_bmm_make(False), grad_args=[0, 1], dtypes=("float32", "float64"),
        rtol=1e-4, atol=1e-4,
    ),
    OpRow(
        name="block_masked_mm[float masks]",
        ember=lambda a, b, mo, ml, mr: mx.block_masked_mm(a, b, 32, mo, ml, mr),
        numpy=lambda a, b, mo, ml, mr: _np_block_masked(a, b, mo, ml, mr, 32),
        shapes=[((40, 36), (36, 33), (2, 2), (2, 2), (2, 2))],
        make=_bmm_make(True), dtypes=("float32", "float64"), smooth=False,
        rtol=1e-4, atol=1e-4,
    ),
    OpRow(
        name="segmented_mm",
        ember=lambda a, b, s: mx.segmented_mm(a, b, s),
        numpy=_np_segmented,
        shapes=[((3, 10), (10, 4), (5, 2)), ((2, 7), (7, 3), (2, 3, 2))],
        make=_seg_make, grad_args=[0, 1], dtypes=("float32", "float64", "bfloat16"),
        rtol=1e-4, atol=1e-5,
    ),
]
