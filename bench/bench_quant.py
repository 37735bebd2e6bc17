"""Quantized matmul side by side: y = x @ W.T with W 4096 x 4096 packed 4-bit (affine, group
64) for x of 1..32 rows (decoding) and more (prefill), in ember (quantized_matmul on the
packed words), ember's dequantize + matmul, MLX's quantized_matmul (CPU wheel, the same packed
arrays), and torch / numpy float32 matmul with the dequantized W. Also 8 bits, mxfp4, and a
gather_qmm mixture of experts. Ratios are ember quantized_matmul time / other time (below 1:
ember faster).

    python bench/bench_quant.py [--quick]
"""
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import NA, fmt_ratio, fmt_time, script_main, settle, table, timeit  # noqa: E402

N = K = 4096
ROWS = (1, 4, 8, 16, 32, 64, 128, 512)


def _peers():
    import ember.core as mx
    out = {"ember": mx}
    try:
        import mlx.core as mlx
        mlx.set_default_device(mlx.cpu)
        out["mlx"] = mlx
    except Exception:
        pass
    try:
        import torch
        torch.set_grad_enabled(False)
        out["torch"] = torch
    except Exception:
        pass
    return out


def _time(fn, repeat=5):
    settle()
    return timeit(fn, repeat=repeat, min_time=0.05)


def run_case(P, w, x_rows, mode="affine", bits=4, group_size=64, quick=False):
    mx = P["ember"]
    wq, s, *b = mx.quantize(mx.array(w), group_size, bits, mode=mode)
    b = b[0] if b else None
    mx.eval(wq, s, *( [b] if b is not None else []))
    Wd = np.asarray(mx.dequantize(wq, s, b, group_size, bits, mode=mode, dtype=mx.float32))
    rows = []
    summary = {}
    for M in x_rows:
        x = np.random.default_rng(M).standard_normal((M, K)).astype(np.float32)
        xe = mx.array(x)
        res = {}
        res["qmm"] = _time(lambda: mx.eval(mx.quantized_matmul(xe, wq, s, b, True, group_size, bits, mode)))
        res["deq+mm"] = _time(lambda: mx.eval(
            xe @ mx.dequantize(wq, s, b, group_size, bits, mode=mode, dtype=mx.float32).T))
        if "mlx" in P:
            mlx = P["mlx"]
            mw = [mlx.array(np.asarray(t)) for t in (wq, s) + ((b,) if b is not None else ())]
            xm = mlx.array(x)
            mlx.eval(*mw, xm)
            res["mlx qmm"] = _time(lambda: mlx.eval(mlx.quantized_matmul(xm, *mw, transpose=True,
                                                                         group_size=group_size,
                                                                         bits=bits, mode=mode)))
        if "torch" in P:
            torch = P["torch"]
            xt, Wt = torch.from_numpy(x), torch.from_numpy(np.array(Wd))
            res["torch f32"] = _time(lambda: xt @ Wt.T)
        Wn = Wd
        res["numpy f32"] = _time(lambda: x @ Wn.T)
        te = res["qmm"]
        rows.append([M, fmt_time(te)] + [f"{fmt_time(res.get(k))} ({fmt_ratio(te, res.get(k))})"
                                          if res.get(k) else NA
                                          for k in ("deq+mm", "mlx qmm", "torch f32", "numpy f32")])
        summary[M] = {k: v for k, v in res.items()}
    md = table(["rows of x", "ember qmm", "ember dequantize + matmul", "mlx qmm",
                "torch f32 matmul", "numpy f32 matmul"], rows)
    return md, summary


def run_moe(P, quick=False):
    """gather_qmm over 8 experts (1024 x 1024, 4-bit) for 64 tokens sorted by expert (top-1)."""
    mx = P["ember"]
    E, D = 8, 1024
    rng = np.random.default_rng(0)
    w = rng.standard_normal((E, D, D)).astype(np.float32)
    wq, s, b = mx.quantize(mx.array(w))
    x = rng.standard_normal((64, 1, D)).astype(np.float32)
    idx = np.sort(rng.integers(0, E, size=64)).astype(np.uint32)
    xe, ie = mx.array(x), mx.array(idx)
    mx.eval(wq, s, b, xe, ie)
    res = {"gather_qmm": _time(lambda: mx.eval(mx.gather_qmm(xe, wq, s, b, rhs_indices=ie,
                                                             sorted_indices=True)))}
    res["deq+gather_mm"] = _time(lambda: mx.eval(
        mx.gather_mm(xe, mx.swapaxes(mx.dequantize(wq, s, b), -1, -2), rhs_indices=ie)))
    if "mlx" in P:
        mlx = P["mlx"]
        mw = [mlx.array(np.asarray(t)) for t in (wq, s, b)]
        xm, im = mlx.array(x), mlx.array(idx)
        mlx.eval(*mw, xm, im)
        res["mlx gather_qmm"] = _time(lambda: mlx.eval(mlx.gather_qmm(xm, *mw, rhs_indices=im,
                                                                      sorted_indices=True)))
    te = res["gather_qmm"]
    row = [fmt_time(te), f"{fmt_time(res['deq+gather_mm'])} ({fmt_ratio(te, res['deq+gather_mm'])})",
           f"{fmt_time(res.get('mlx gather_qmm'))} ({fmt_ratio(te, res.get('mlx gather_qmm'))})"
           if res.get("mlx gather_qmm") else NA]
    return table(["ember gather_qmm", "ember dequantize + gather_mm", "mlx gather_qmm"],
                 [row]), res


def run(quick=False):
    P = _peers()
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((N, K)) * 0.02).astype(np.float32)
    rows = ROWS[:4] if quick else ROWS
    out = ["### affine, 4 bits, group 64 (W 4096 x 4096)", ""]
    md, summary = run_case(P, w, rows)
    out += [md, ""]
    for mode, bits, gs in (("affine", 8, 64), ("mxfp4", 4, 32)):
        md2, s2 = run_case(P, w, (1, 32) if not quick else (1,), mode, bits, gs)
        out += [f"### {mode}, {bits} bits, group {gs}", "", md2, ""]
        summary[f"{mode}-{bits}"] = s2
    md3, s3 = run_moe(P, quick)
    out += ["### gather_qmm: 64 tokens over 8 experts (1024 x 1024, affine 4-bit), sorted", "", md3]
    summary["moe"] = s3
    out.append("\n(x) = ember quantized_matmul time / that time: below 1, ember's fused kernel is faster.")
    return "\n".join(out), summary


if __name__ == "__main__":
    script_main(run)
