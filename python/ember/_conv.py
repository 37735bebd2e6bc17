"""mlx.core's convolutions (conv1d/2d/3d, conv_transpose1d/2d/3d, conv_general) as
compositions: the input is dilated and padded, its patches gathered (one take per spatial
axis) and multiplied with the weight (one matmul per group). Gradients and vmap come from
the ops' rules: the vjp of the gather is a scatter-add, so the input gradient is the
transposed convolution. Layout as in MLX: input (N, *spatial, C_in), weight
(C_out, *kernel, C_in / groups), output (N, *out_spatial, C_out).

Not yet a primitive with its own kernel (TODO(#9)): the patches are materialized, so a
large convolution costs kernel-size times the input's memory.
"""
from ember import core as _c
from ember._extras import on_stream


def _per_dim(name, value, nd, op):
    if isinstance(value, int):
        return [value] * nd
    value = list(value)
    if len(value) != nd:
        raise ValueError(f"[{op}] {name} needs {nd} values (one per spatial dimension), "
                         f"got {len(value)}.")
    return value


def _padding(padding, nd, op):
    """(lo, hi) per spatial dimension from an int, a list, or a pair of lists."""
    if isinstance(padding, int):
        return [padding] * nd, [padding] * nd
    padding = list(padding)
    if len(padding) == 2 and not isinstance(padding[0], int):
        return _per_dim("padding", padding[0], nd, op), _per_dim("padding", padding[1], nd, op)
    p = _per_dim("padding", padding, nd, op)
    return p, list(p)


def _conv(x, w, stride, lo, hi, kdil, idil, groups, flip, op):
    nd = x.ndim - 2
    n, ci, co = x.shape[0], x.shape[-1], w.shape[0]
    if ci % groups or co % groups or w.shape[-1] * groups != ci:
        raise ValueError(f"[{op}] With groups={groups}, the input's {ci} channels (input shape "
                         f"{tuple(x.shape)}) and the weight (shape {tuple(w.shape)}) do not "
                         f"match: the weight needs "
                         f"C_in / groups channels and C_out divisible by groups.")
    if any(s < 1 for s in stride) or any(d < 1 for d in kdil) or any(d < 1 for d in idil):
        raise ValueError(f"[{op}] stride and dilations must be positive.")
    dtype = _c.result_type(x, w)
    x, w = x.astype(dtype), w.astype(dtype)
    if flip:
        w = _c.flip(w, axis=list(range(1, nd + 1)))
    # input dilation: d - 1 zeros between neighbours along each spatial axis
    if any(d > 1 for d in idil):
        shape = [n] + [(s - 1) * d + 1 for s, d in zip(x.shape[1:-1], idil)] + [ci]
        z = _c.zeros(shape, dtype=dtype)
        z[(slice(None),) + tuple(slice(None, None, d) for d in idil)] = x
        x = z
    # padding: positive pads with zeros, negative crops
    x = _c.pad(x, [(0, 0)] + [(max(a, 0), max(b, 0)) for a, b in zip(lo, hi)] + [(0, 0)])
    crop = (slice(None),) + tuple(slice(max(-a, 0), x.shape[1 + i] - max(-b, 0))
                                  for i, (a, b) in enumerate(zip(lo, hi)))
    x = x[crop]
    # gather the patches: axis i becomes (out_i, k_i) with index o * stride + k * dilation
    out_sizes, ks = [], list(w.shape[1:-1])
    for i in range(nd):
        size, k = x.shape[1 + 2 * i], ks[i]
        span = (k - 1) * kdil[i] + 1
        o = (size - span) // stride[i] + 1 if size >= span else 0
        if o <= 0:
            raise ValueError(f"[{op}] The (dilated, padded) input has size {size} along spatial "
                             f"axis {i}, smaller than the dilated kernel ({span}).")
        out_sizes.append(o)
        idx = (_c.arange(o)[:, None] * stride[i] + _c.arange(k)[None, :] * kdil[i]).astype(_c.int32)
        x = _c.take(x, idx, axis=1 + 2 * i)
    # (N, O1, K1, ..., On, Kn, C) -> (N, O..., K..., C)
    perm = [0] + [1 + 2 * i for i in range(nd)] + [2 + 2 * i for i in range(nd)] + [x.ndim - 1]
    x = _c.transpose(x, perm)
    rows = n * _prod(out_sizes)
    kk = _prod(ks)
    cg, og = ci // groups, co // groups
    x = x.reshape(rows, kk, groups, cg)
    w = w.reshape(groups, og, kk * cg)
    outs = [x[:, :, g, :].reshape(rows, kk * cg) @ w[g].T for g in range(groups)]
    out = outs[0] if groups == 1 else _c.concatenate(outs, axis=-1)
    return out.reshape([n] + out_sizes + [co])


def _prod(xs):
    p = 1
    for v in xs:
        p *= v
    return p


def _check(x, w, nd, op):
    x, w = _c.asarray(x), _c.asarray(w)
    if nd is not None and (x.ndim != nd + 2 or w.ndim != nd + 2):
        raise ValueError(f"[{op}] Expected input (N, {'*' * 0}{nd} spatial dims, C_in) and weight "
                         f"(C_out, {nd} kernel dims, C_in): {nd + 2}-D arrays, got shapes "
                         f"{tuple(x.shape)} and {tuple(w.shape)}.")
    if x.ndim < 3 or w.ndim != x.ndim:
        raise ValueError(f"[{op}] input (shape {tuple(x.shape)}) and weight (shape "
                         f"{tuple(w.shape)}) must have the same rank, at least 3.")
    return x, w


def conv_general(input, weight, /, stride=1, padding=0, kernel_dilation=1, input_dilation=1,
                 groups=1, flip=False, *, stream=None):
    """General N-d convolution (cross-correlation unless flip): input (N, ..., C_in),
    weight (C_out, ..., C_in / groups); padding an int, a list, or (lo list, hi list)."""
    op = "conv_general"
    with on_stream(stream):
        x, w = _check(input, weight, None, op)
        nd = x.ndim - 2
        lo, hi = _padding(padding, nd, op)
        return _conv(x, w, _per_dim("stride", stride, nd, op), lo, hi,
                     _per_dim("kernel_dilation", kernel_dilation, nd, op),
                     _per_dim("input_dilation", input_dilation, nd, op), groups, flip, op)


def _convnd(nd):
    name = f"conv{nd}d"

    def conv(input, weight, /, stride=1, padding=0, dilation=1, groups=1, *, stream=None):
        with on_stream(stream):
            x, w = _check(input, weight, nd, name)
            p = _per_dim("padding", padding, nd, name)
            return _conv(x, w, _per_dim("stride", stride, nd, name), p, p,
                         _per_dim("dilation", dilation, nd, name), [1] * nd, groups, False, name)

    conv.__name__ = conv.__qualname__ = name
    conv.__doc__ = (f"{nd}-D convolution (cross-correlation): input (N, {nd} spatial dims, "
                    f"C_in), weight (C_out, {nd} kernel dims, C_in / groups).")
    return conv


def _conv_transposend(nd):
    name = f"conv_transpose{nd}d"

    def conv_transpose(input, weight, /, stride=1, padding=0, dilation=1, output_padding=0,
                       groups=1, *, stream=None):
        # The gradient of a convolution with respect to its input: stride becomes input
        # dilation, the kernel is flipped, and the padding is dilation * (k - 1) - padding
        # (plus output_padding at the end).
        with on_stream(stream):
            x, w = _check(input, weight, nd, name)
            s = _per_dim("stride", stride, nd, name)
            p = _per_dim("padding", padding, nd, name)
            d = _per_dim("dilation", dilation, nd, name)
            op_ = _per_dim("output_padding", output_padding, nd, name)
            k = list(w.shape[1:-1])
            lo = [di * (ki - 1) - pi for di, ki, pi in zip(d, k, p)]
            hi = [l + o for l, o in zip(lo, op_)]
            return _conv(x, w, [1] * nd, lo, hi, d, s, groups, True, name)

    conv_transpose.__name__ = conv_transpose.__qualname__ = name
    conv_transpose.__doc__ = (f"{nd}-D transposed convolution: input (N, {nd} spatial dims, "
                              f"C_in), weight (C_out, {nd} kernel dims, C_in / groups).")
    return conv_transpose


def install():
    fns = [conv_general] + [_convnd(n) for n in (1, 2, 3)] + [_conv_transposend(n) for n in (1, 2, 3)]
    for f in fns:
        f.__module__ = "ember.core"
        setattr(_c, f.__name__, f)
