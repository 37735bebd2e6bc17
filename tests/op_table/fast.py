"""Op-table rows of mx.fast: rms_norm, layer_norm, rope, scaled_dot_product_attention,
cross_entropy and gated_delta_update against plain numpy formulas, so the generic sweeps
check their values (all float dtypes), their fused gradients against finite differences,
jvp against vjp, second order, and vmap against a loop."""
import numpy as np

import ember.core as mx

from . import OpRow, np_dtype

EPS = 1e-5
F = ("float32", "float64", "float16", "bfloat16")
HALF_TOLS = {"float16": (5e-3, 5e-3), "bfloat16": (3e-2, 3e-2)}


# ---- normalizations -----------------------------------------------------------------
def _rms_ref(x, w=None):
    y = x / np.sqrt(np.mean(x * x, -1, keepdims=True) + EPS)
    return y if w is None else y * w


def _ln_ref(x, w=None, b=None):
    mu = x.mean(-1, keepdims=True)
    y = (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + EPS)
    if w is not None:
        y = y * w
    return y if b is None else y + b


NORM_SHAPES = [((3, 8), (8,)), ((2, 3, 5), (5,)), ((4, 33), (33,))]


# ---- rope ----------------------------------------------------------------------------
def _rope_ref(x, dims, traditional, base=10000.0, scale=1.0, offset=0, freqs=None):
    x = np.asarray(x, np.float64)
    T = x.shape[-2]
    off = np.asarray(offset, np.float64)
    if off.ndim == 1:  # per-example offsets along axis 0
        off = off.reshape((-1,) + (1,) * (x.ndim - 3))
    pos = (np.arange(T) + off[..., None]) * scale  # (..., T)
    inv = base ** (-np.arange(0, dims, 2) / dims) if freqs is None else 1.0 / np.asarray(freqs, np.float64)
    th = pos[..., None] * inv  # (..., T, dims / 2)
    c, s = np.cos(th), np.sin(th)
    out = x.copy()
    if traditional:
        a, b = x[..., 0:dims:2], x[..., 1:dims:2]
        out[..., 0:dims:2], out[..., 1:dims:2] = a * c - b * s, a * s + b * c
    else:
        h = dims // 2
        a, b = x[..., :h], x[..., h:dims]
        out[..., :h], out[..., h:dims] = a * c - b * s, a * s + b * c
    return out


def _freqs_make(rng, shapes, dtype):
    x = rng.standard_normal(shapes[0]).astype(np_dtype(dtype))
    f = (rng.random(shapes[1]) * 4 + 1).astype(np_dtype(dtype))
    return [x, f]


# ---- attention -----------------------------------------------------------------------
def _sdpa_ref(q, k, v, scale, mask=None, causal=False, sinks=None):
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    r = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, r, 1), np.repeat(v, r, 1)
    s = q @ np.swapaxes(k, -1, -2) * scale
    L, S = s.shape[-2:]
    low = np.finfo(np.float64).min
    if causal:
        s = np.where(np.arange(L)[:, None] + (S - L) >= np.arange(S)[None], s, low)
    if mask is not None:
        s = np.where(mask, s, low) if mask.dtype == bool else s + mask
    if sinks is not None:
        s = np.concatenate([np.broadcast_to(np.asarray(sinks, np.float64)[None, :, None, None],
                                            s.shape[:-1] + (1,)), s], -1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    if sinks is not None:
        p = p[..., 1:]
    return p @ v


def _bool_mask_make(rng, shapes, dtype):
    q, k, v = (rng.standard_normal(s).astype(np_dtype(dtype)) for s in shapes[:3])
    m = rng.random(shapes[3]) > 0.3
    m[..., 0] = True  # every query sees a key
    return [q, k, v, m]


def _split(extra, mask, sinks):
    """(mask, sinks) from a row's extra inputs: [mask array] [sinks array]."""
    extra = list(extra)
    s = extra.pop() if sinks else None
    return (extra.pop() if extra else mask), s


def _sdpa(q, k, v, *extra, scale=0.35, mask=None, sinks=False):
    m, s = _split(extra, mask, sinks)
    return mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=m, sinks=s)


def _sdpa_np(q, k, v, *extra, scale=0.35, mask=None, sinks=False):
    m, s = _split(extra, mask, sinks)
    causal = isinstance(m, str)
    return _sdpa_ref(q, k, v, scale, None if causal or m is None else np.asarray(m), causal=causal,
                     sinks=None if s is None else np.asarray(s))


ATT = [((2, 4, 5, 8), (2, 2, 7, 8), (2, 2, 7, 6)), ((1, 3, 6, 4), (1, 1, 6, 4), (1, 1, 6, 4))]


# ---- cross entropy ---------------------------------------------------------------------
def _ce_make(rng, shapes, dtype):
    logits = rng.standard_normal(shapes[0]).astype(np_dtype(dtype))
    c = shapes[0][-1]
    targets = rng.integers(-c, c, size=shapes[1]).astype(np.int32)
    return [logits, targets]


def _ce_ref(logits, targets):
    x = np.asarray(logits, np.float64)
    m = x.max(-1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))[..., 0]
    t = np.where(targets < 0, targets + x.shape[-1], targets)
    return lse - np.take_along_axis(x, t[..., None].astype(np.int64), -1)[..., 0]


# ---- gated delta rule ------------------------------------------------------------------
def _gdu_ref(q, k, v, g, beta, s0=None, mask=None):
    q, k, v, g, beta = (np.asarray(a, np.float64) for a in (q, k, v, g, beta))
    B, T, Hk, Dk = q.shape
    Hv, Dv = v.shape[2:]
    r = Hv // Hk
    S = np.zeros((B, Hv, Dv, Dk)) if s0 is None else np.array(s0, np.float64)
    y = np.zeros((B, T, Hv, Dv))
    for b in range(B):
        for t in range(T):
            if mask is not None and not mask[b, t]:
                continue
            for h in range(Hv):
                kk, qq = k[b, t, h // r], q[b, t, h // r]
                S[b, h] = S[b, h] * g[b, t, h]  # a scalar or a (Dk,) row scale
                u = S[b, h] @ kk
                S[b, h] += beta[b, t, h] * np.outer(v[b, t, h] - u, kk)
                y[b, t, h] = S[b, h] @ qq
    return y, S


def _gdu_make(vector_gamma=False, with_mask=False):
    def make(rng, shapes, dtype):
        q, k, v = (rng.standard_normal(s).astype(np_dtype(dtype)) * 0.5 for s in shapes[:3])
        g = (rng.random(shapes[3]) * 0.5 + 0.5).astype(np_dtype(dtype))
        beta = rng.random(shapes[4]).astype(np_dtype(dtype))
        s0 = rng.standard_normal(shapes[5]).astype(np_dtype(dtype))
        out = [q, k, v, g, beta, s0]
        if with_mask:
            out.append(rng.random(shapes[6]) > 0.3)
        return out
    return make


def _gdu(i):
    def f(q, k, v, g, beta, s0, *m):
        return mx.fast.gated_delta_update(q, k, v, g, beta, s0, m[0] if m else None)[i]
    return f


def _gdu_np(i):
    def f(q, k, v, g, beta, s0, *m):
        return _gdu_ref(q, k, v, g, beta, s0, np.asarray(m[0]) if m else None)[i]
    return f


# (B, T, Hk, Dk), v (B, T, Hv, Dv), gamma, beta, state, [mask]
GDU = [((2, 4, 1, 3), (2, 4, 1, 3), (2, 4, 2, 5), (2, 4, 2), (2, 4, 2), (2, 2, 5, 3))]
GDU_VEC = [((1, 3, 2, 4), (1, 3, 2, 4), (1, 3, 2, 3), (1, 3, 2, 4), (1, 3, 2), (1, 2, 3, 4))]
GDU_MASK = [GDU[0] + ((2, 4),)]


def _row(name, ember, numpy, shapes, **kw):
    kw.setdefault("dtypes", F)
    kw.setdefault("rtol", 1e-4)
    kw.setdefault("atol", 1e-5)
    kw.setdefault("tols", HALF_TOLS)
    return OpRow(name, ember, numpy, shapes, **kw)


ROWS = [
    _row("fast.rms_norm", lambda x, w: mx.fast.rms_norm(x, w, EPS), _rms_ref, NORM_SHAPES),
    _row("fast.rms_norm.no_weight", lambda x: mx.fast.rms_norm(x, None, EPS), _rms_ref,
         [((3, 8),), ((2, 1, 6),)]),
    _row("fast.layer_norm", lambda x, w, b: mx.fast.layer_norm(x, w, b, EPS), _ln_ref,
         [s + ((s[1][0],),) for s in NORM_SHAPES]),
    _row("fast.layer_norm.weight_only", lambda x, w: mx.fast.layer_norm(x, w, None, EPS), _ln_ref,
         NORM_SHAPES[:2]),
    _row("fast.layer_norm.bias_only", lambda x, b: mx.fast.layer_norm(x, None, b, EPS),
         lambda x, b: _ln_ref(x, None, b), NORM_SHAPES[:2]),
    _row("fast.layer_norm.plain", lambda x: mx.fast.layer_norm(x, None, None, EPS), _ln_ref,
         [((3, 8),), ((2, 2, 7),)]),
    _row("fast.rope",
         lambda x, **k: mx.fast.rope(x, k["dims"], traditional=k["traditional"], base=k["base"],
                                     scale=k["scale"], offset=k["offset"]),
         lambda x, **k: _rope_ref(x, k["dims"], k["traditional"], k["base"], k["scale"], k["offset"]),
         [((2, 3, 5, 8),), ((1, 4, 10),)],
         kwargs=[dict(dims=8, traditional=False, base=10000.0, scale=1.0, offset=0),
                 dict(dims=6, traditional=True, base=500.0, scale=0.5, offset=3),
                 dict(dims=4, traditional=False, base=100.0, scale=2.0, offset=-2)],
         valid=lambda s, k: k["dims"] <= s[0][-1]),
    _row("fast.rope.freqs",
         lambda x, f: mx.fast.rope(x, 6, traditional=False, base=None, scale=1.0, offset=2, freqs=f),
         lambda x, f: _rope_ref(x, 6, False, offset=2, freqs=f), [((2, 3, 4, 8), (3,))],
         make=_freqs_make, smooth=False),
    _row("fast.rope.offsets",
         lambda x, o: mx.fast.rope(x, 8, traditional=True, base=1e4, scale=1.0, offset=o),
         lambda x, o: _rope_ref(x, 8, True, offset=o), [((3, 2, 4, 8), (3,))],
         make=lambda rng, s, d: [rng.standard_normal(s[0]).astype(np_dtype(d)),
                                 rng.integers(0, 9, size=s[1]).astype(np.int32)],
         grad_args=(0,)),
    _row("fast.sdpa", lambda q, k, v, **kw: _sdpa(q, k, v, **kw),
         lambda q, k, v, **kw: _sdpa_np(q, k, v, **kw), ATT,
         kwargs=[dict(), dict(mask="causal"), dict(scale=1.0)]),
    _row("fast.sdpa.causal_long_queries", lambda q, k, v: _sdpa(q, k, v, mask="causal"),
         lambda q, k, v: _sdpa_np(q, k, v, mask="causal"), [((1, 2, 7, 4), (1, 2, 4, 4), (1, 2, 4, 3))]),
    _row("fast.sdpa.additive_mask", lambda q, k, v, m: _sdpa(q, k, v, m),
         lambda q, k, v, m: _sdpa_np(q, k, v, m),
         [ATT[0] + ((2, 1, 5, 7),), ATT[1] + ((6, 6),)]),
    _row("fast.sdpa.bool_mask", lambda q, k, v, m: _sdpa(q, k, v, m),
         lambda q, k, v, m: _sdpa_np(q, k, v, m), [ATT[0] + ((5, 7),), ATT[1] + ((1, 3, 6, 6),)],
         make=_bool_mask_make, grad_args=(0, 1, 2)),
    _row("fast.sdpa.sinks", lambda q, k, v, s: _sdpa(q, k, v, s, sinks=True),
         lambda q, k, v, s: _sdpa_np(q, k, v, s, sinks=True),
         [ATT[0] + ((4,),), ATT[1] + ((3,),)]),
    _row("fast.sdpa.causal_sinks", lambda q, k, v, s: _sdpa(q, k, v, s, mask="causal", sinks=True),
         lambda q, k, v, s: _sdpa_np(q, k, v, s, mask="causal", sinks=True), [ATT[1] + ((3,),)]),
    _row("fast.cross_entropy", lambda l, t: mx.fast.cross_entropy(l, t), _ce_ref,
         [((4, 7), (4,)), ((2, 3, 5), (2, 3))], make=_ce_make, grad_args=(0,),
         out_dtype=lambda d, k: "float64" if d[0] == "float64" else "float32"),
    _row("fast.gated_delta_update.y", _gdu(0), _gdu_np(0), GDU, make=_gdu_make(), rtol=2e-4,
         atol=2e-4),
    _row("fast.gated_delta_update.state", _gdu(1), _gdu_np(1), GDU, make=_gdu_make(), rtol=2e-4,
         atol=2e-4, out_dtype=lambda d, k: "float64" if d[0] == "float64" else "float32"),
    _row("fast.gated_delta_update.vector_gamma", _gdu(0), _gdu_np(0), GDU_VEC,
         make=_gdu_make(vector_gamma=True), rtol=2e-4, atol=2e-4),
    _row("fast.gated_delta_update.mask", _gdu(1), _gdu_np(1), GDU_MASK, make=_gdu_make(with_mask=True),
         rtol=2e-4, atol=2e-4, grad_args=(0, 1, 2, 3, 4, 5),
         out_dtype=lambda d, k: "float64" if d[0] == "float64" else "float32"),
]
