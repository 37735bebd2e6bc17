"""ember.nn layers side by side with mlx.nn and torch.nn: one forward + backward
(value_and_grad of the summed output with respect to the parameters, or to the input for
a layer without parameters) of the same layer on
the same float32 input, in one process.

    python bench/bench_nn.py            # prints a markdown table (milliseconds per step)

ember's convolutions are one primitive (bench/bench_conv.py measures them alone); pooling is
a composition of ops, while MLX and torch call native kernels, so that row shows the cost.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import settle, timeit  # noqa: E402

CASES = [
    # name, builder(nn) -> layer, input shape (channels last), torch builder, torch layout
    ("Linear 512->512, batch 256", lambda nn: nn.Linear(512, 512), (256, 512),
     lambda tn: tn.Linear(512, 512), None),
    ("Conv2d 16->32 k3 p1, 16x32x32", lambda nn: nn.Conv2d(16, 32, 3, padding=1), (16, 32, 32, 16),
     lambda tn: tn.Conv2d(16, 32, 3, padding=1), "nchw"),
    ("ConvTranspose2d 32->16 k4 s2 p1, 16x16x16", lambda nn: nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),
     (16, 16, 16, 32), lambda tn: tn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), "nchw"),
    ("MaxPool2d 2, 16x32x32x32", lambda nn: nn.MaxPool2d(2), (16, 32, 32, 32), lambda tn: tn.MaxPool2d(2), "nchw"),
    ("BatchNorm 64, 32x16x16", lambda nn: nn.BatchNorm(64), (32, 16, 16, 64),
     lambda tn: tn.BatchNorm2d(64), "nchw"),
    ("LayerNorm 512, 64x128", lambda nn: nn.LayerNorm(512), (64, 128, 512), lambda tn: tn.LayerNorm(512), None),
    ("TransformerEncoderLayer d128 h4, 8x64", lambda nn: nn.TransformerEncoderLayer(128, 4), (8, 64, 128),
     lambda tn: tn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, batch_first=True, norm_first=True), "mask"),
    ("LSTM 64->128, 16x32", lambda nn: nn.LSTM(64, 128), (16, 32, 64), lambda tn: tn.LSTM(64, 128, batch_first=True), "lstm"),
]


def mlx_like(mx, nn, build, shape, extra):
    layer = build(nn)
    x = mx.array(np.random.default_rng(0).standard_normal(shape).astype(np.float32))

    def loss(m, x):
        out = m(x, None) if extra == "mask" else m(x)
        out = out[0] if isinstance(out, tuple) else out
        return mx.sum(out)

    if layer.parameters():
        vg = nn.value_and_grad(layer, lambda x: loss(layer, x))
    else:  # a layer without parameters: the gradient with respect to its input
        vg = mx.value_and_grad(lambda x: loss(layer, x))
    mx.eval(layer.parameters())
    return lambda: mx.eval(vg(x))


def torch_step(torch, build, shape, layout):
    layer = build(torch.nn)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if layout == "nchw":
        x = np.moveaxis(x, -1, 1).copy()
    xt = torch.from_numpy(x)
    if not list(layer.parameters()):
        xt.requires_grad_(True)

    def step():
        layer.zero_grad()
        out = layer(xt)
        out = out[0] if isinstance(out, tuple) else out
        out.sum().backward()

    return step


def main():
    rows = []
    peers = []
    import ember.core as emx
    import ember.nn as enn

    peers.append(("ember", lambda b, s, t, l: mlx_like(emx, enn, b, s, l)))
    try:
        import mlx.core as mmx
        import mlx.nn as mnn

        peers.append(("mlx", lambda b, s, t, l: mlx_like(mmx, mnn, b, s, l)))
    except ImportError:
        pass
    try:
        import torch

        peers.append(("torch", lambda b, s, t, l: torch_step(torch, t, s, l)))
    except ImportError:
        pass
    names = [p for p, _ in peers]
    print("| layer (forward + backward) | " + " | ".join(f"{n} ms" for n in names) +
          " | " + " | ".join(f"ember / {n}" for n in names[1:]) + " |")
    print("|---|" + "---|" * (2 * len(names) - 1))
    for name, build, shape, tbuild, layout in CASES:
        times = []
        for pname, make in peers:
            settle()
            try:
                times.append(timeit(make(build, shape, tbuild, layout), repeat=5, warmup=2, min_time=0.05))
            except Exception as e:  # a layer a peer lacks
                print(f"  ({pname} {name}: {type(e).__name__}: {e})", file=sys.stderr)
                times.append(None)
        cells = [f"{t * 1e3:.2f}" if t else "n/a" for t in times]
        ratios = [f"{times[0] / t:.2f}x" if t and times[0] else "n/a" for t in times[1:]]
        print(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
        rows.append((name, times))
    return rows


if __name__ == "__main__":
    main()
