"""Op-table rows for the conv family (one Convolution primitive behind every op): conv1d/2d/3d,
conv_general, conv_transpose1d/2d/3d and convolve, against references written from the
definitions in numpy (float64)."""
import itertools

import numpy as np

import ember.core as mx

from . import FLOATS, OpRow, PROMOTE


def _per(v, nd):
    return [v] * nd if isinstance(v, int) else list(v)


def conv_ref(x, w, stride=1, padding=0, kernel_dilation=1, input_dilation=1, groups=1,
             flip=False):
    """out[n, o..., c] = sum_{k..., j} xp[n, o * s + k * kd ..., g * Cg + j] * w'[c, k..., j]

    xp: x with input_dilation - 1 zeros between neighbours, then padded (negative: cropped);
    w': w reversed along its spatial axes when flip; g: the group of output channel c."""
    nd = x.ndim - 2
    if isinstance(padding, tuple) and len(padding) == 2 and not isinstance(padding[0], int):
        lo, hi = _per(padding[0], nd), _per(padding[1], nd)
    else:
        lo = hi = _per(padding, nd)
    s, kd, idil = _per(stride, nd), _per(kernel_dilation, nd), _per(input_dilation, nd)
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    if flip:
        w = np.flip(w, axis=tuple(range(1, nd + 1)))
    shape = [x.shape[0]] + [(n - 1) * d + 1 if n else 0 for n, d in zip(x.shape[1:-1], idil)]
    xd = np.zeros(shape + [x.shape[-1]])
    xd[(slice(None),) + tuple(slice(None, None, d) for d in idil)] = x
    xp = np.pad(xd, [(0, 0)] + [(max(a, 0), max(b, 0)) for a, b in zip(lo, hi)] + [(0, 0)])
    xp = xp[(slice(None),) + tuple(slice(max(-a, 0), xp.shape[1 + i] - max(-b, 0))
                                   for i, (a, b) in enumerate(zip(lo, hi)))]
    ks = w.shape[1:-1]
    outs = [(xp.shape[1 + i] - (ks[i] - 1) * kd[i] - 1) // s[i] + 1 for i in range(nd)]
    co, cg = w.shape[0], w.shape[-1]
    og = co // groups
    out = np.zeros([x.shape[0]] + outs + [co])
    for k in itertools.product(*[range(v) for v in ks]):
        win = xp[(slice(None),) + tuple(slice(k[i] * kd[i], k[i] * kd[i] + (outs[i] - 1) * s[i] + 1,
                                              s[i]) for i in range(nd))]
        for g in range(groups):
            out[..., g * og:(g + 1) * og] += (win[..., g * cg:(g + 1) * cg]
                                              @ w[(slice(g * og, (g + 1) * og),) + k].T)
    return out


def conv_transpose_ref(x, w, stride=1, padding=0, dilation=1, output_padding=0, groups=1):
    """Scatters instead of gathering: each input position i adds x[n, i, j] * w[c, k, j] to
    output position i * stride + k * dilation - padding (the adjoint of conv with these
    arguments), over an output (L - 1) * stride - 2 * padding + dilation * (K - 1) +
    output_padding + 1 long."""
    nd = x.ndim - 2
    s, p, d, op = (_per(v, nd) for v in (stride, padding, dilation, output_padding))
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    ins, ks = x.shape[1:-1], w.shape[1:-1]
    full = [(ins[i] - 1) * s[i] + d[i] * (ks[i] - 1) + 1 + op[i] for i in range(nd)]
    outs = [full[i] - 2 * p[i] for i in range(nd)]
    co, cg = w.shape[0], w.shape[-1]
    og = co // groups
    y = np.zeros([x.shape[0]] + full + [co])
    for k in itertools.product(*[range(v) for v in ks]):
        at = (slice(None),) + tuple(slice(k[i] * d[i], k[i] * d[i] + (ins[i] - 1) * s[i] + 1, s[i])
                                    for i in range(nd))
        for g in range(groups):
            y[at + (slice(g * og, (g + 1) * og),)] += (x[..., g * cg:(g + 1) * cg]
                                                       @ w[(slice(g * og, (g + 1) * og),) + k].T)
    return y[(slice(None),) + tuple(slice(p[i], p[i] + outs[i]) for i in range(nd))]


def _fits(shapes, kw):
    """Channels and groups agree: C_in = groups * weight's last dim, C_out divisible."""
    (xs, ws), g = shapes, kw.get("groups", 1)
    return ws[-1] * g == xs[-1] and ws[0] % g == 0


def _lengths_fit(shapes, kw):
    """conv_general's per-axis lists have one value per spatial axis of the input."""
    nd = len(shapes[0]) - 2
    lists = [v for k, v in kw.items() if k != "padding" and not isinstance(v, (int, bool))]
    pad = kw.get("padding", 0)
    if isinstance(pad, tuple):
        lists += list(pad)
    return all(len(v) == nd for v in lists)


def _convnd(nd):
    conv = getattr(mx, f"conv{nd}d")

    def ref(x, w, stride=1, padding=0, dilation=1, groups=1):
        return conv_ref(x, w, stride, padding, dilation, 1, groups)

    return (lambda x, w, **k: conv(x, w, **k)), ref


def _transposend(nd):
    conv = getattr(mx, f"conv_transpose{nd}d")
    return (lambda x, w, **k: conv(x, w, **k)), conv_transpose_ref


ROWS = [
    OpRow("conv1d", *_convnd(1),
          shapes=[((2, 9, 4), (6, 3, 4)), ((2, 8, 4), (6, 3, 2)), ((1, 6, 1), (3, 4, 1))],
          kwargs=[dict(), dict(stride=2, padding=1), dict(dilation=2, padding=2), dict(groups=2),
                  dict(groups=2, stride=3, padding=2)],
          dtypes=FLOATS, valid=_fits, out_dtype=PROMOTE, rtol=1e-4, atol=1e-5),
    OpRow("conv2d", *_convnd(2),
          shapes=[((2, 6, 5, 3), (4, 3, 3, 3)), ((1, 5, 6, 4), (6, 2, 3, 2))],
          kwargs=[dict(), dict(stride=(2, 1), padding=(1, 2)), dict(dilation=2, padding=1),
                  dict(groups=2, padding=1)],
          dtypes=FLOATS, valid=_fits, out_dtype=PROMOTE, rtol=1e-4, atol=1e-5),
    # groups == channels: the depthwise kernel (with a channel multiplier of 2 in the second)
    OpRow("conv2d_depthwise", *_convnd(2),
          shapes=[((2, 6, 6, 4), (4, 3, 3, 1)), ((1, 7, 5, 3), (6, 3, 3, 1))],
          kwargs=[dict(groups=4, padding=1), dict(groups=3, stride=2, padding=(1, 0))],
          dtypes=FLOATS, valid=_fits, out_dtype=PROMOTE, rtol=1e-4, atol=1e-5),
    # 1x1 kernels: a plain matrix product (grouped in the second)
    OpRow("conv2d_pointwise", *_convnd(2),
          shapes=[((2, 4, 5, 6), (3, 1, 1, 6)), ((2, 4, 5, 6), (4, 1, 1, 3))],
          kwargs=[dict(), dict(groups=2), dict(stride=2)],
          dtypes=FLOATS, valid=_fits, out_dtype=PROMOTE, rtol=1e-4, atol=1e-5),
    OpRow("conv3d", *_convnd(3),
          shapes=[((1, 4, 5, 4, 2), (3, 2, 2, 3, 2)), ((2, 3, 4, 3, 4), (4, 2, 1, 2, 2))],
          kwargs=[dict(), dict(stride=2, padding=1), dict(dilation=(1, 2, 1), padding=(0, 1, 1)),
                  dict(groups=2)],
          dtypes=("float32", "float64"), valid=_fits, out_dtype=PROMOTE, rtol=1e-4, atol=1e-5),
    OpRow("conv_general", lambda x, w, **k: mx.conv_general(x, w, **k), conv_ref,
          shapes=[((2, 7, 3), (4, 3, 3)), ((1, 5, 6, 4), (4, 3, 2, 2)),
                  ((1, 3, 4, 3, 2), (2, 2, 2, 2, 2))],
          kwargs=[dict(stride=2, padding=([1], [2]), kernel_dilation=2),
                  dict(input_dilation=2, flip=True, padding=([-1], [1])),
                  dict(groups=2, flip=True, input_dilation=(2, 1), padding=([1, 0], [2, 1]),
                       stride=(1, 2)),
                  dict(input_dilation=2, kernel_dilation=(1, 2, 1), padding=1),
                  dict(stride=[2, 1, 1], input_dilation=[1, 1, 2], padding=([0, 1, 2], [1, 0, 0]),
                       flip=True)],
          dtypes=FLOATS,
          valid=lambda shapes, kw: _fits(shapes, kw) and _lengths_fit(shapes, kw),
          out_dtype=PROMOTE, rtol=1e-4, atol=1e-5),
    OpRow("conv_transpose1d", *_transposend(1),
          shapes=[((2, 5, 4), (3, 3, 4)), ((1, 6, 4), (4, 2, 2))],
          kwargs=[dict(), dict(stride=2, padding=1, output_padding=1), dict(dilation=2, stride=3),
                  dict(groups=2, stride=2)],
          dtypes=FLOATS, valid=_fits, out_dtype=PROMOTE, rtol=1e-4, atol=1e-5),
    OpRow("conv_transpose2d", *_transposend(2),
          shapes=[((1, 4, 3, 2), (3, 3, 2, 2)), ((2, 3, 3, 4), (2, 2, 2, 2))],
          kwargs=[dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0)),
                  dict(dilation=2, padding=1), dict(groups=2, stride=2)],
          dtypes=("float32", "float64"), valid=_fits, out_dtype=PROMOTE, rtol=1e-4, atol=1e-5),
    OpRow("conv_transpose3d", *_transposend(3),
          shapes=[((1, 3, 2, 3, 2), (2, 2, 2, 2, 2))],
          kwargs=[dict(stride=2), dict(padding=1, dilation=(1, 2, 1))],
          dtypes=("float32", "float64"), valid=_fits, out_dtype=PROMOTE, rtol=1e-4, atol=1e-5),
    OpRow("convolve", lambda a, v, **k: mx.convolve(a, v, **k),
          lambda a, v, **k: np.convolve(a, v, **k),
          shapes=[((7,), (3,)), ((3,), (5,)), ((4,), (4,))],
          kwargs=[dict(), dict(mode="same"), dict(mode="valid")],
          dtypes=("float32", "float64", "float16"), rtol=1e-4, atol=1e-5, out_dtype=PROMOTE),
]
