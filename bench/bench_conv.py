"""Convolutions side by side with torch (CPU), float32, in one process: the forward pass, and
forward + backward (the vjp with respect to input and weight, for a given cotangent), of

  * the ResNet 3x3 convolution: batch 32, 64 -> 64 channels, 56x56, stride 1, padding 1;
  * a 1x1 convolution: the same input, 64 -> 256 channels;
  * a depthwise 3x3 convolution (groups = 64) on the same input;
  * conv1d: batch 8, 512 -> 512 channels, length 1024, kernel 3, padding 1.

torch runs torch.nn.functional.conv{1,2}d twice: on channels_last tensors (the layout ember
and MLX use) and on its default NCHW layout. With --mlx, MLX's CPU build joins (its CPU
convolution is about 30x slower than ember's here, so it is left out by default).
Peers take turns call by call (ember, torch channels_last, torch NCHW, ...) and each figure
is the median of its turns, so load from other processes falls on all of them alike.
(x) = ember time / peer time: below 1 means ember is faster.

    python bench/bench_conv.py [--quick] [--repeat N] [--threads N] [--mlx]

--threads N runs every peer on N threads (default: each its own default, the core count);
one thread each is far less sensitive to other load on the machine.
"""
import os
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fmt_ratio, free_cores, machine_info, table  # noqa: E402

# name, x shape (channels last), w shape (C_out, kernel..., C_in / groups), stride, padding, groups
CASES = [
    ("ResNet 3x3, 32x56x56, 64->64", (32, 56, 56, 64), (64, 3, 3, 64), 1, 1, 1),
    ("1x1, 32x56x56, 64->256", (32, 56, 56, 64), (256, 1, 1, 64), 1, 0, 1),
    ("depthwise 3x3, 32x56x56x64", (32, 56, 56, 64), (64, 3, 3, 1), 1, 1, 64),
    ("conv1d k3, 8x1024, 512->512", (8, 1024, 512), (512, 3, 512), 1, 1, 1),
]


def ember_fns(mx, x, w, ct, stride, padding, groups):
    conv = mx.conv2d if x.ndim == 4 else mx.conv1d
    f = lambda a, b: conv(a, b, stride=stride, padding=padding, groups=groups)  # noqa: E731
    fwd = lambda: mx.eval(f(x, w))  # noqa: E731
    bwd = lambda: mx.eval(mx.vjp(f, [x, w], [ct]))  # noqa: E731
    return fwd, bwd


def torch_fns(torch, x, w, ct, stride, padding, groups, channels_last):
    F = torch.nn.functional
    nd = x.ndim - 2
    conv = F.conv2d if nd == 2 else F.conv1d

    def nc(a):  # (N, *sp, C) -> torch's (N, C, *sp), in the asked memory layout
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(0, a.ndim - 1, *range(1, a.ndim - 1))
        if channels_last and nd == 2:
            return t.contiguous(memory_format=torch.channels_last)
        return t.contiguous()

    tx, tw, tct = nc(x), nc(w), nc(ct)
    if channels_last and nd == 1:
        # conv1d has no channels_last format: give it the (N, C, L) view of (N, L, C) data
        tx = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 2, 1)
        tct = torch.from_numpy(np.ascontiguousarray(ct)).permute(0, 2, 1)
    tx.requires_grad_(True)
    tw.requires_grad_(True)

    def fwd():
        with torch.no_grad():
            conv(tx, tw, stride=stride, padding=padding, groups=groups)

    def bwd():
        y = conv(tx, tw, stride=stride, padding=padding, groups=groups)
        torch.autograd.grad(y, [tx, tw], tct)

    return fwd, bwd


def interleaved(fns, repeat, warmup=2):
    """Median wall seconds and median process CPU seconds per call of each callable, the
    callables taking turns. (CPU time counts every thread's work, spinning included; on a
    loaded machine it moves less than wall time.)"""
    for f in fns:
        for _ in range(warmup):
            f()
    wall, cpu = [[] for _ in fns], [[] for _ in fns]
    for _ in range(repeat):
        for i, f in enumerate(fns):
            t, c = time.perf_counter(), time.process_time()
            f()
            wall[i].append(time.perf_counter() - t)
            cpu[i].append(time.process_time() - c)
    return [statistics.median(t) for t in wall], [statistics.median(c) for c in cpu]


def run(quick=False, repeat=7, with_mlx=False, threads=None):
    import ember.core as mx
    import torch

    if threads:
        mx.set_num_threads(threads)
        torch.set_num_threads(threads)
    peers = ["ember", "torch channels_last", "torch NCHW"]
    mlx = None
    if with_mlx:
        import mlx.core as mlx

        mlx.set_default_device(mlx.cpu)
        peers.append("mlx")
    rng = np.random.default_rng(0)
    rows, summary = [], {}
    for name, xs, ws, stride, padding, groups in CASES[:2] if quick else CASES:
        x = rng.standard_normal(xs).astype(np.float32)
        w = (rng.standard_normal(ws) / np.sqrt(np.prod(ws[1:]))).astype(np.float32)
        out_sp = [(n + 2 * padding - k) // stride + 1 for n, k in zip(xs[1:-1], ws[1:-1])]
        ct = rng.standard_normal([xs[0]] + out_sp + [ws[0]]).astype(np.float32)
        flops = 2 * np.prod([xs[0]] + out_sp + [ws[0]]) * np.prod(ws[1:])
        ex, ew, ect = mx.array(x), mx.array(w), mx.array(ct)
        fns = [ember_fns(mx, ex, ew, ect, stride, padding, groups),
               torch_fns(torch, x, w, ct, stride, padding, groups, True),
               torch_fns(torch, x, w, ct, stride, padding, groups, False)]
        if mlx is not None:
            fns.append(ember_fns(mlx, mlx.array(x), mlx.array(w), mlx.array(ct), stride, padding,
                                 groups))
        for kind, (label, factor) in enumerate([("forward", 1), ("forward + backward", 3)]):
            t, c = interleaved([f[kind] for f in fns], repeat)
            gflops = flops * factor / t[0] / 1e9
            cells = [f"{t[0] * 1e3:.1f} ({gflops:.0f} GFLOP/s)"]
            cells += [f"{ti * 1e3:.1f} ({fmt_ratio(t[0], ti)})" for ti in t[1:]]
            cells += [f"{c[0] * 1e3:.0f} / {c[1] * 1e3:.0f} ({fmt_ratio(c[0], c[1])})"]
            rows.append([name, label] + cells)
            summary[f"{name} {label}"] = dict(zip(peers, t))
    header = ["convolution", "pass", "ember ms"]
    header += [f"{p} ms (ember/{p.split()[0]})" for p in peers[1:]]
    header += ["CPU ms ember / torch channels_last"]
    md = table(header, rows)
    notes = (f"\nMachine: {machine_info()}; ember threads {mx.get_num_threads()}, torch threads "
             f"{torch.get_num_threads()}; torch {torch.__version__}"
             + (f", mlx {mlx.__version__}" if mlx is not None else "")
             + f". Load average {os.getloadavg()[0]:.1f}, cores free {free_cores()} of "
             f"{os.cpu_count()}. Median of {repeat} turns.")
    return md + "\n" + notes, summary


if __name__ == "__main__":
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 7
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else None
    md, _ = run(quick="--quick" in sys.argv, repeat=repeat, with_mlx="--mlx" in sys.argv,
                threads=threads)
    print(md)
