"""mx.fast against torch (CPU), in one process on the same inputs (float32):

* scaled_dot_product_attention against torch.nn.functional.scaled_dot_product_attention:
  batch 1, 8 heads, sequence 512 and 2048, head dim 64 and 128, causal and not; the forward
  pass, and forward + backward (gradients of q, k and v).
* rms_norm and layer_norm against torch.nn.functional.rms_norm / layer_norm, forward and
  forward + backward (gradients of x and the weight).
* rope against the same rotation written with ops (ember's composition, and torch's).
* cross_entropy against torch.nn.functional.cross_entropy(reduction="none").

(x) = ember time / peer time; below 1 is faster.

    python bench/bench_fast.py [--quick] [--cpu-time]

--cpu-time runs both frameworks on one thread and measures process CPU time
(time.process_time) instead of wall time: on a shared, loaded machine it compares the
kernels without the noise of waiting for a core (run it with OPENBLAS_NUM_THREADS=1 so idle
BLAS threads do not spin into the count).
"""
import math
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import fmt_ratio, fmt_time, import_optional, script_main, settle, table, try_time  # noqa: E402


def cpu_time(make, repeat=5, min_time=0.05, **_):
    """Like common.try_time, in process CPU seconds per call (median of repeats)."""
    import statistics
    import time
    settle()
    try:
        fn = make()
        fn()
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"[:80]
    number, times = 1, []
    while True:
        t = time.process_time()
        for _ in range(number):
            fn()
        if time.process_time() - t >= min_time or number >= 1000:
            break
        number *= 2
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(number):
            fn()
        times.append((time.process_time() - t) / number)
    return statistics.median(times), None


def _rope_ops(m, x, dims, base, offset, f32, cat):
    """The non-traditional rotation with plain ops of module m (ember or torch)."""
    T = x.shape[-2]
    inv = base ** (-(m.arange(0, dims, 2) * 1.0) / dims)
    theta = (m.arange(T) + offset)[:, None] * inv[None, :]
    c, s = m.cos(theta).to(f32) if hasattr(theta, "to") else m.cos(theta), \
        m.sin(theta).to(f32) if hasattr(theta, "to") else m.sin(theta)
    h = dims // 2
    a, b = x[..., :h], x[..., h:dims]
    return cat([a * c - b * s, a * s + b * c], -1)


def run(quick=False):
    import ember.core as mx
    torch = import_optional("torch")
    if torch is None:
        return "torch is not installed: nothing to compare against.", {}
    F = torch.nn.functional
    try_time = globals()["try_time"]
    if "--cpu-time" in sys.argv:
        mx.set_num_threads(1)
        try_time = cpu_time
    torch.set_num_threads(mx.get_num_threads())
    rng = np.random.default_rng(0)
    rows, summary = [], {}
    kw = dict(repeat=3 if quick else 5, min_time=0.05)

    # ---- attention ----
    seqs = (512,) if quick else (512, 2048)
    for L in seqs:
        for D in (64, 128):
            for causal in (False, True):
                q, k, v, w = (rng.standard_normal((1, 8, L, D)).astype(np.float32) for _ in range(4))
                qe, ke, ve, we = (mx.array(a) for a in (q, k, v, w))
                mx.eval(qe, ke, ve, we)
                tq, tk, tv, tw = (torch.from_numpy(a) for a in (q, k, v, w))
                scale = 1 / math.sqrt(D)
                mask = "causal" if causal else None
                att = lambda q, k, v: mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=mask)
                grad = mx.grad(lambda q, k, v: mx.sum(att(q, k, v) * we), argnums=(0, 1, 2))
                te, _ = try_time(lambda: (lambda: mx.eval(att(qe, ke, ve))), **kw)

                def torch_fwd():
                    with torch.no_grad():
                        return F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal, scale=scale)
                tt, _ = try_time(lambda: torch_fwd, **kw)
                teb, _ = try_time(lambda: (lambda: mx.eval(grad(qe, ke, ve))), **kw)
                gq, gk, gv = (a.clone().requires_grad_() for a in (tq, tk, tv))

                def torch_fb():
                    o = F.scaled_dot_product_attention(gq, gk, gv, is_causal=causal, scale=scale)
                    return torch.autograd.grad((o * tw).sum(), (gq, gk, gv))
                ttb, _ = try_time(lambda: torch_fb, **kw)
                label = f"L={L} D={D}{' causal' if causal else ''}"
                rows.append(["sdpa", label, fmt_time(te), f"{fmt_time(tt)} ({fmt_ratio(te, tt)})",
                             fmt_time(teb), f"{fmt_time(ttb)} ({fmt_ratio(teb, ttb)})"])
                summary[f"sdpa {label}"] = {"ember": te, "torch": tt, "ember_fwd_bwd": teb, "torch_fwd_bwd": ttb}

    # ---- normalizations ----
    for N, Dn in ((4096, 1024),) if quick else ((4096, 1024), (1024, 4096)):
        x, wn, bn, c = (rng.standard_normal(s).astype(np.float32) for s in ((N, Dn), (Dn,), (Dn,), (N, Dn)))
        xe, wne, bne, ce = (mx.array(a) for a in (x, wn, bn, c))
        mx.eval(xe, wne, bne, ce)
        tx, twn, tbn, tc = (torch.from_numpy(a) for a in (x, wn, bn, c))
        for name, fe, ft in (
            ("rms_norm", lambda x, w: mx.fast.rms_norm(x, w, 1e-5),
             lambda x, w: F.rms_norm(x, (Dn,), w, eps=1e-5)),
            ("layer_norm", lambda x, w: mx.fast.layer_norm(x, w, bne, 1e-5),
             lambda x, w: F.layer_norm(x, (Dn,), w, tbn, eps=1e-5)),
        ):
            te, _ = try_time(lambda: (lambda: mx.eval(fe(xe, wne))), **kw)

            def torch_fwd(ft=ft):
                with torch.no_grad():
                    return ft(tx, twn)
            tt, _ = try_time(lambda: torch_fwd, **kw)
            ge = mx.grad(lambda x, w, fe=fe: mx.sum(fe(x, w) * ce), argnums=(0, 1))
            teb, _ = try_time(lambda: (lambda: mx.eval(ge(xe, wne))), **kw)
            gx, gw = tx.clone().requires_grad_(), twn.clone().requires_grad_()
            ttb, _ = try_time(lambda: (lambda ft=ft: torch.autograd.grad((ft(gx, gw) * tc).sum(), (gx, gw))), **kw)
            label = f"{N}x{Dn}"
            rows.append([name, label, fmt_time(te), f"{fmt_time(tt)} ({fmt_ratio(te, tt)})",
                         fmt_time(teb), f"{fmt_time(ttb)} ({fmt_ratio(teb, ttb)})"])
            summary[f"{name} {label}"] = {"ember": te, "torch": tt, "ember_fwd_bwd": teb, "torch_fwd_bwd": ttb}

    # ---- rope: fused against the composition (ember's ops and torch's) ----
    shape = (1, 32, 1024, 128) if not quick else (1, 8, 512, 128)
    x = rng.standard_normal(shape).astype(np.float32)
    xe, tx = mx.array(x), torch.from_numpy(x)
    mx.eval(xe)
    te, _ = try_time(lambda: (lambda: mx.eval(mx.fast.rope(xe, 128, traditional=False, base=1e4, scale=1.0,
                                                          offset=7))), **kw)
    tc_, _ = try_time(lambda: (lambda: mx.eval(_rope_ops(mx, xe, 128, 1e4, 7, mx.float32, mx.concatenate))), **kw)
    with torch.no_grad():
        tt, _ = try_time(lambda: (lambda: _rope_ops(torch, tx, 128, 1e4, 7, torch.float32, torch.cat)), **kw)
    label = "x".join(map(str, shape))
    rows.append(["rope", label, fmt_time(te), f"{fmt_time(tt)} ({fmt_ratio(te, tt)}) [torch ops]",
                 f"{fmt_time(tc_)} ({fmt_ratio(te, tc_)}) [ember ops]", ""])
    summary[f"rope {label}"] = {"ember": te, "torch_ops": tt, "ember_ops": tc_}

    # ---- cross entropy ----
    logits = rng.standard_normal((2048, 8192)).astype(np.float32)
    targets = rng.integers(0, 8192, size=2048).astype(np.int32)
    le, tge = mx.array(logits), mx.array(targets)
    mx.eval(le, tge)
    tl, tt_ = torch.from_numpy(logits), torch.from_numpy(targets).long()
    te, _ = try_time(lambda: (lambda: mx.eval(mx.fast.cross_entropy(le, tge))), **kw)
    with torch.no_grad():
        tt, _ = try_time(lambda: (lambda: F.cross_entropy(tl, tt_, reduction="none")), **kw)
    ge = mx.grad(lambda l: mx.sum(mx.fast.cross_entropy(l, tge)))
    teb, _ = try_time(lambda: (lambda: mx.eval(ge(le))), **kw)
    gl = tl.clone().requires_grad_()
    ttb, _ = try_time(lambda: (lambda: torch.autograd.grad(F.cross_entropy(gl, tt_, reduction="none").sum(),
                                                           (gl,))), **kw)
    rows.append(["cross_entropy", "2048x8192", fmt_time(te), f"{fmt_time(tt)} ({fmt_ratio(te, tt)})",
                 fmt_time(teb), f"{fmt_time(ttb)} ({fmt_ratio(teb, ttb)})"])
    summary["cross_entropy 2048x8192"] = {"ember": te, "torch": tt, "ember_fwd_bwd": teb, "torch_fwd_bwd": ttb}
    header = ["op", "shape", "ember", "torch (ember/torch)", "ember fwd+bwd", "torch fwd+bwd (ember/torch)"]
    return table(header, rows), summary


if __name__ == "__main__":
    script_main(run)
