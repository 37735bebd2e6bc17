"""ember.nn layers against torch (the oracle) or published equations, in float32 and
float64, with gradients: convolutions and transposed convolutions, pooling, norms,
recurrent layers, attention and the Transformer, positional encodings, Upsample,
Bilinear, dropout and quantized layers."""
import math

import numpy as np
import pytest

import ember.core as mx
import ember.nn as nn
from ember.utils import tree_flatten

torch = pytest.importorskip("torch")
F = torch.nn.functional


def to_mx(a):
    """mx.array keeping a numpy array's float64 (mx.array alone gives float32, as MLX)."""
    if isinstance(a, np.ndarray) and a.dtype == np.float64:
        return mx.array(a, dtype=mx.float64)
    return mx.array(a)

DTYPES = [(mx.float32, np.float32, 2e-5), (mx.float64, np.float64, 1e-10)]
IDS = ["f32", "f64"]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def t(a, nd, grad=True):
    return torch.tensor(np.asarray(a, nd), requires_grad=grad)


def cast_module(m, md):
    m.set_dtype(md)
    return m


def grads_vs_torch(f_ember, f_torch, arrays, nd, tol):
    """Value and gradients (of sum(out * r)) of f_ember(*mx arrays) vs f_torch(*tensors)."""
    xs = [to_mx(np.asarray(a, nd)) for a in arrays]
    ts = [t(a, nd) for a in arrays]
    ref = f_torch(*ts)
    out = f_ember(*xs)
    np.testing.assert_allclose(np.asarray(out), ref.detach().numpy(), rtol=tol, atol=tol)
    r = rand(*ref.shape, seed=9).astype(nd)
    (ref * torch.tensor(r)).sum().backward()
    gs = mx.grad(lambda *a: mx.sum(f_ember(*a) * to_mx(r)), argnums=tuple(range(len(xs))))(*xs)
    for g, tt in zip(gs, ts):
        np.testing.assert_allclose(np.asarray(g), tt.grad.numpy(), rtol=tol * 10, atol=tol * 10)


# -- convolutions ---------------------------------------------------------------------------
def _to_torch_layout(x):  # (N, *sp, C) -> (N, C, *sp)
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def _from_torch_layout(y):
    return y.permute(0, *range(2, y.ndim), 1)


CONVS = [  # nd, kwargs
    (1, dict(kernel_size=3, stride=2, padding=1, dilation=1, groups=1)),
    (1, dict(kernel_size=2, stride=1, padding=0, dilation=2, groups=2)),
    (2, dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0), dilation=1, groups=1)),
    (2, dict(kernel_size=3, stride=2, padding=2, dilation=2, groups=2)),
    (3, dict(kernel_size=2, stride=1, padding=1, dilation=1, groups=1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("nd,kw", CONVS)
def test_conv_against_torch(nd, kw, dtype):
    md, npd, tol = dtype
    cls = [nn.Conv1d, nn.Conv2d, nn.Conv3d][nd - 1]
    tf = [F.conv1d, F.conv2d, F.conv3d][nd - 1]
    layer = cast_module(cls(4, 6, **kw), md)
    assert layer.weight.shape[-1] == 4 // kw["groups"] and layer.bias.shape == (6,)
    x = rand(2, *([7] * nd), 4)
    w, b = np.asarray(layer.weight), np.asarray(layer.bias)

    def ember_f(x, w, b):
        layer.update({"weight": w, "bias": b})
        return layer(x)

    def torch_f(x, w, b):
        tw = w.permute(0, w.ndim - 1, *range(1, w.ndim - 1))
        y = tf(_to_torch_layout(x), tw, b, stride=kw["stride"], padding=kw["padding"],
               dilation=kw["dilation"], groups=kw["groups"])
        return _from_torch_layout(y)

    grads_vs_torch(ember_f, torch_f, [x, w, b], npd, tol * 5)


CONV_TS = [
    (1, dict(kernel_size=3, stride=2, padding=1, dilation=1, output_padding=1, groups=1)),
    (1, dict(kernel_size=2, stride=3, padding=0, dilation=2, output_padding=0, groups=2)),
    (2, dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=1, output_padding=(1, 0), groups=1)),
    (2, dict(kernel_size=3, stride=2, padding=1, dilation=1, output_padding=0, groups=2)),
    (3, dict(kernel_size=2, stride=2, padding=0, dilation=1, output_padding=0, groups=1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("nd,kw", CONV_TS)
def test_conv_transpose_against_torch(nd, kw, dtype):
    md, npd, tol = dtype
    cls = [nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d][nd - 1]
    tf = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][nd - 1]
    g = kw["groups"]
    layer = cast_module(cls(4, 6, **kw), md)
    assert layer.weight.shape[0] == 6 and layer.weight.shape[-1] == 4 // g
    x = rand(2, *([5] * nd), 4)
    w, b = np.asarray(layer.weight), np.asarray(layer.bias)

    def ember_f(x, w, b):
        layer.update({"weight": w, "bias": b})
        return layer(x)

    def torch_f(x, w, b):
        # ours (C_out, *k, C_in/g) -> torch's (C_in, C_out/g, *k), group by group
        o, ig = w.shape[0], w.shape[-1]
        og = o // g
        parts = [w[i * og:(i + 1) * og].permute(w.ndim - 1, 0, *range(1, w.ndim - 1)) for i in range(g)]
        tw = torch.cat(parts, 0)
        y = tf(_to_torch_layout(x), tw, b, stride=kw["stride"], padding=kw["padding"],
               output_padding=kw["output_padding"], dilation=kw["dilation"], groups=g)
        return _from_torch_layout(y)

    grads_vs_torch(ember_f, torch_f, [x, w, b], npd, tol * 5)


def test_conv_errors_name_shapes():
    with pytest.raises(ValueError, match=r"3 channels.*\(2, 5, 3\)"):
        nn.Conv1d(4, 2, 3)(mx.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        nn.Conv1d(1, 1, 5)(mx.zeros((1, 3, 1)))


# -- pooling --------------------------------------------------------------------------------
POOLS = [(1, 3, 2, 1), (2, 2, None, 0), (2, (3, 2), (2, 1), (1, 0)), (3, 2, 1, 0)]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("nd,k,s,p", POOLS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_against_torch(kind, nd, k, s, p, dtype):
    md, npd, tol = dtype
    cls = getattr(nn, f"{'Max' if kind == 'max' else 'Avg'}Pool{nd}d")
    tf = getattr(F, f"{kind}_pool{nd}d")
    layer = cls(k, s, p)
    x = rand(2, *([6] * nd), 3)

    def torch_f(x):
        kw = {"count_include_pad": True} if kind == "avg" else {}
        return _from_torch_layout(tf(_to_torch_layout(x), k, s if s is not None else k, p, **kw))

    grads_vs_torch(layer, torch_f, [x], npd, tol)


# -- normalization --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_norms_against_torch(dtype):
    md, npd, tol = dtype
    x = rand(3, 4, 5, 6)
    w, b = rand(6, seed=1), rand(6, seed=2)

    def with_affine(layer):
        def f(x, w, b):
            layer.update({"weight": w, "bias": b})
            return layer(x)
        return f

    grads_vs_torch(with_affine(cast_module(nn.LayerNorm(6), md)),
                   lambda x, w, b: F.layer_norm(x, (6,), w, b, 1e-5), [x, w, b], npd, tol)
    gn = cast_module(nn.GroupNorm(3, 6, pytorch_compatible=True), md)
    grads_vs_torch(with_affine(gn),
                   lambda x, w, b: _from_torch_layout(F.group_norm(_to_torch_layout(x), 3, w, b, 1e-5)),
                   [x, w, b], npd, tol)
    inorm = cast_module(nn.InstanceNorm(6, affine=True), md)
    grads_vs_torch(with_affine(inorm),
                   lambda x, w, b: _from_torch_layout(F.instance_norm(_to_torch_layout(x), weight=w, bias=b, eps=1e-5)),
                   [x, w, b], npd, tol)
    rms = cast_module(nn.RMSNorm(6), md)

    def rms_f(x, w):
        rms.update({"weight": w})
        return rms(x)

    grads_vs_torch(rms_f, lambda x, w: x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * w, [x, w], npd, tol)


def test_group_norm_default_groups_are_interleaved_channels():
    x = rand(2, 5, 6)
    gn = nn.GroupNorm(2, 6, affine=False, eps=0.0)
    out = np.asarray(gn(to_mx(x.astype(np.float64))))
    for g in range(2):  # group g = channels g, g + 2, g + 4
        part = x[:, :, g::2]
        ref = (part - part.mean((1, 2), keepdims=True)) / part.std((1, 2), keepdims=True)
        np.testing.assert_allclose(out[:, :, g::2], ref, atol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_batch_norm_train_and_eval(dtype):
    md, npd, tol = dtype
    bn = cast_module(nn.BatchNorm(4, momentum=0.2), md)
    x = rand(8, 3, 4).astype(npd)
    y = bn(to_mx(x))
    ref = F.batch_norm(torch.tensor(x).permute(0, 2, 1), None, None, training=True, eps=1e-5).permute(0, 2, 1)
    np.testing.assert_allclose(np.asarray(y), ref.numpy(), rtol=tol, atol=tol)
    # running statistics: momentum average with the unbiased batch variance
    np.testing.assert_allclose(np.asarray(bn.running_mean), 0.2 * x.mean((0, 1)), rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(bn.running_var), 0.8 + 0.2 * x.var((0, 1), ddof=1), rtol=tol, atol=tol)
    assert "running_mean" not in bn.trainable_parameters()
    bn.unfreeze()
    assert "running_mean" not in bn.trainable_parameters() and "weight" in bn.trainable_parameters()
    bn.eval()
    ye = np.asarray(bn(to_mx(x)))
    rm, rv = np.asarray(bn.running_mean), np.asarray(bn.running_var)
    np.testing.assert_allclose(ye, (x - rm) / np.sqrt(rv + 1e-5), rtol=tol, atol=tol)
    with pytest.raises(ValueError, match="features"):
        bn(mx.zeros((2, 3)))


# -- recurrent -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_rnn_gru_lstm_against_torch(dtype):
    md, npd, tol = dtype
    x = rand(2, 5, 3).astype(npd)
    h0 = rand(2, 4, seed=1).astype(npd)
    c0 = rand(2, 4, seed=2).astype(npd)
    tx, th, tc = (torch.tensor(a) for a in (x, h0, c0))
    P = lambda a: torch.nn.Parameter(torch.tensor(np.asarray(a)))  # noqa: E731

    rnn = cast_module(nn.RNN(3, 4), md)
    ref = torch.nn.RNN(3, 4, batch_first=True).to(torch.float64 if npd == np.float64 else torch.float32)
    ref.weight_ih_l0, ref.weight_hh_l0 = P(rnn.Wxh), P(rnn.Whh)
    ref.bias_ih_l0, ref.bias_hh_l0 = P(rnn.bias), P(np.zeros(4, npd))
    np.testing.assert_allclose(np.asarray(rnn(to_mx(x), to_mx(h0))), ref(tx, th[None])[0].detach().numpy(),
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(rnn(to_mx(x))), ref(tx)[0].detach().numpy(), rtol=tol, atol=tol)

    gru = cast_module(nn.GRU(3, 4), md)
    ref = torch.nn.GRU(3, 4, batch_first=True).to(torch.float64 if npd == np.float64 else torch.float32)
    ref.weight_ih_l0, ref.weight_hh_l0 = P(gru.Wx), P(gru.Wh)
    ref.bias_ih_l0 = P(gru.b)
    ref.bias_hh_l0 = P(np.concatenate([np.zeros(8, npd), np.asarray(gru.bhn)]))
    np.testing.assert_allclose(np.asarray(gru(to_mx(x), to_mx(h0))), ref(tx, th[None])[0].detach().numpy(),
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(gru(to_mx(x))), ref(tx)[0].detach().numpy(), rtol=tol, atol=tol)

    lstm = cast_module(nn.LSTM(3, 4), md)
    ref = torch.nn.LSTM(3, 4, batch_first=True).to(torch.float64 if npd == np.float64 else torch.float32)
    ref.weight_ih_l0, ref.weight_hh_l0 = P(lstm.Wx), P(lstm.Wh)
    ref.bias_ih_l0, ref.bias_hh_l0 = P(lstm.bias), P(np.zeros(16, npd))
    hs, cs = lstm(to_mx(x), to_mx(h0), to_mx(c0))
    rh, _ = ref(tx, (th[None], tc[None]))
    np.testing.assert_allclose(np.asarray(hs), rh.detach().numpy(), rtol=tol, atol=tol)
    hs, cs = lstm(to_mx(x))
    np.testing.assert_allclose(np.asarray(hs), ref(tx)[0].detach().numpy(), rtol=tol, atol=tol)
    # gradients flow through time
    g = mx.grad(lambda m: mx.sum(m(to_mx(x))[0]))(lstm)
    assert set(g) == {"Wx", "Wh", "bias"} and float(mx.sum(mx.abs(g["Wh"])).item()) > 0


# -- attention and transformers --------------------------------------------------------------
def _torch_mha_weights(mha, npd):
    q, k, v, o = (np.asarray(getattr(mha, n).weight) for n in ("query_proj", "key_proj", "value_proj", "out_proj"))
    return np.concatenate([q, k, v]), o


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_encoder_layer_against_torch(norm_first, dtype):
    md, npd, tol = dtype
    layer = cast_module(nn.TransformerEncoderLayer(8, 2, mlp_dims=16, norm_first=norm_first), md)
    ref = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=norm_first)
    ref = ref.to(torch.float64 if npd == np.float64 else torch.float32)
    P = lambda a: torch.nn.Parameter(torch.tensor(np.asarray(a)))  # noqa: E731
    in_w, out_w = _torch_mha_weights(layer.attention, npd)
    sa = ref.self_attn
    sa.in_proj_weight, sa.in_proj_bias = P(in_w), P(np.zeros(24, npd))
    sa.out_proj.weight, sa.out_proj.bias = P(out_w), P(np.zeros(8, npd))
    ref.linear1.weight, ref.linear1.bias = P(layer.linear1.weight), P(layer.linear1.bias)
    ref.linear2.weight, ref.linear2.bias = P(layer.linear2.weight), P(layer.linear2.bias)
    ref.norm1.weight, ref.norm1.bias = P(layer.ln1.weight), P(layer.ln1.bias)
    ref.norm2.weight, ref.norm2.bias = P(layer.ln2.weight), P(layer.ln2.bias)
    x = rand(2, 5, 8).astype(npd)
    mask = nn.MultiHeadAttention.create_additive_causal_mask(5, md)
    out = layer(to_mx(x), mask)
    tmask = torch.tensor(np.asarray(mask))
    np.testing.assert_allclose(np.asarray(out), ref(torch.tensor(x), src_mask=tmask).detach().numpy(),
                               rtol=tol * 10, atol=tol * 10)
    # a boolean mask (True = attend) gives the same result
    keep = mx.arange(5)[:, None] >= mx.arange(5)[None, :]
    np.testing.assert_allclose(np.asarray(layer(to_mx(x), keep)), np.asarray(out), rtol=tol * 10, atol=tol * 10)


def test_transformer_family_shapes_and_parameter_names():
    model = nn.Transformer(dims=16, num_heads=4, num_encoder_layers=2, num_decoder_layers=1, mlp_dims=32)
    names = [k for k, _ in tree_flatten(model.parameters())]
    assert "encoder.layers.1.attention.query_proj.weight" in names
    assert "decoder.layers.0.cross_attention.out_proj.weight" in names and "decoder.ln.bias" in names
    src, tgt = mx.random.normal((2, 6, 16)), mx.random.normal((2, 4, 16))
    mask = nn.MultiHeadAttention.create_additive_causal_mask(4)
    assert model(src, tgt, None, mask, None).shape == (2, 4, 16)
    ck = nn.TransformerEncoder(2, 16, 4, checkpoint=True)
    plain = nn.TransformerEncoder(2, 16, 4)
    plain.update(ck.parameters())
    np.testing.assert_allclose(np.asarray(ck(src, None)), np.asarray(plain(src, None)), atol=1e-5)
    g1 = mx.grad(lambda m: mx.sum(m(src, None) ** 2))(ck)
    g2 = mx.grad(lambda m: mx.sum(m(src, None) ** 2))(plain)
    for (_, a), (_, b) in zip(tree_flatten(g1), tree_flatten(g2)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    mha = nn.MultiHeadAttention(16, 4, query_input_dims=8, key_input_dims=6, value_dims=12, value_output_dims=10)
    assert mha(mx.zeros((1, 3, 8)), mx.zeros((1, 5, 6)), mx.zeros((1, 5, 6))).shape == (1, 3, 10)


# -- positional encodings ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("traditional", [False, True])
def test_rope_against_its_equation(traditional, dtype):
    md, npd, tol = dtype
    x = rand(2, 3, 5, 10).astype(npd)
    dims, base, scale, offset = 8, 500.0, 0.5, 3
    out = np.asarray(nn.RoPE(dims, traditional, base, scale)(to_mx(x), offset=offset))
    pos = (np.arange(5) + offset) * scale
    freq = base ** (-np.arange(0, dims, 2) / dims)
    th = pos[:, None] * freq[None]
    ref = x.copy()
    if traditional:
        a, b = x[..., 0:dims:2], x[..., 1:dims:2]
        ref[..., 0:dims:2] = a * np.cos(th) - b * np.sin(th)
        ref[..., 1:dims:2] = a * np.sin(th) + b * np.cos(th)
    else:
        a, b = x[..., : dims // 2], x[..., dims // 2: dims]
        ref[..., : dims // 2] = a * np.cos(th) - b * np.sin(th)
        ref[..., dims // 2: dims] = a * np.sin(th) + b * np.cos(th)
    np.testing.assert_allclose(out, ref, rtol=tol * 20, atol=tol * 20)


def test_sinusoidal_and_alibi_against_their_equations():
    pe = nn.SinusoidalPositionalEncoding(8, min_freq=1e-3, max_freq=2.0, cos_first=True)
    x = np.arange(6.0)
    freqs = np.exp(np.linspace(math.log(2.0), math.log(1e-3), 4))
    ref = np.concatenate([np.cos(x[:, None] * freqs), np.sin(x[:, None] * freqs)], -1) * math.sqrt(2 / 8)
    np.testing.assert_allclose(np.asarray(pe(to_mx(x))), ref, rtol=1e-5, atol=1e-6)
    assert pe.parameters() == {}
    scores = rand(1, 4, 3, 5).astype(np.float32)
    out = np.asarray(nn.ALiBi()(to_mx(scores), offset=2))
    slopes = 2.0 ** (-8.0 * np.arange(1, 5) / 4)
    qi, kj = np.arange(2, 5), np.arange(5)
    ref = scores - slopes[None, :, None, None] * np.abs(qi[:, None] - kj[None])[None, None]
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


# -- upsample, bilinear, dropout ---------------------------------------------------------------
UPS = [("nearest", False, 2, 1), ("nearest", False, 3, 2), ("linear", False, 2, 1), ("linear", True, 2, 2),
       ("linear", True, 1.5, 2), ("cubic", False, 2, 2), ("cubic", True, 3, 2)]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("mode,align,scale,nd", UPS)
def test_upsample_against_torch(mode, align, scale, nd, dtype):
    md, npd, tol = dtype
    x = rand(2, *([5] * nd), 3)
    tmode = {"nearest": "nearest", "linear": ["linear", "bilinear"][nd - 1], "cubic": "bicubic"}[mode]
    kw = {} if mode == "nearest" else {"align_corners": align}
    layer = nn.Upsample(scale, mode, align_corners=align)
    grads_vs_torch(layer, lambda x: _from_torch_layout(F.interpolate(_to_torch_layout(x), scale_factor=scale,
                                                                       mode=tmode, **kw)), [x], npd, tol * 5)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_upsample_non_integer_scale_positions(mode):
    """For a non-integer scale the M = floor(N s) samples are centred on the input:
    src_i = i / s - ((M - 1) / s - (N - 1)) / 2 (PyTorch places them differently); nearest
    rounds (i + 0.5) N / M - 0.5, the same for the realized scale M / N, ties to even."""
    n, s = (8, 1.3) if mode == "nearest" else (5, 1.7)  # (8, 1.3) has ties at 1.5 and 5.5
    m = int(n * s)
    sig = np.arange(n, dtype=np.float64) ** 2
    src = np.arange(m) / s - ((m - 1) / s - (n - 1)) / 2
    if mode == "nearest":
        from fractions import Fraction

        pos = [Fraction(2 * i + 1, 2) * Fraction(n, m) - Fraction(1, 2) for i in range(m)]
        ref = sig[[min(max(round(p), 0), n - 1) for p in pos]]  # Fraction rounds ties to even
    elif mode == "linear":
        src = np.clip(src, 0, n - 1)
        ref = np.interp(src, np.arange(n), sig)
    else:
        a = -0.75

        def w(d):
            d = abs(d)
            return ((a + 2) * d - (a + 3)) * d * d + 1 if d <= 1 else ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

        base = np.floor(src)
        ref = np.array([sum(sig[int(np.clip(b + k, 0, n - 1))] * w(sv - (b + k)) for k in (-1, 0, 1, 2))
                        for sv, b in zip(src, base)])
    out = nn.Upsample((s, 1), mode)(to_mx(sig.reshape(1, n, 1, 1)))
    np.testing.assert_allclose(np.asarray(out).ravel(), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_bilinear_against_torch(dtype):
    md, npd, tol = dtype
    layer = cast_module(nn.Bilinear(3, 4, 5), md)
    x1, x2 = rand(2, 6, 3), rand(2, 6, 4, seed=1)

    def ember_f(a, b, w):
        layer.update({"weight": w})
        return layer(a, b)

    grads_vs_torch(ember_f, lambda a, b, w: F.bilinear(a, b, w.permute(0, 2, 1), torch.tensor(np.asarray(layer.bias))),
                   [x1, x2, np.asarray(layer.weight)], npd, tol)


def test_dropout_variants():
    mx.random.seed(0)
    x = mx.ones((200, 50))
    y = np.asarray(nn.Dropout(0.25)(x))
    assert np.isclose(y, 0).sum() + np.isclose(y, 1 / 0.75).sum() == y.size
    assert abs((y == 0).mean() - 0.25) < 0.02
    img = mx.ones((8, 4, 4, 64))
    y2 = np.asarray(nn.Dropout2d(0.5)(img))
    per_channel = y2.reshape(8, 16, 64)
    assert (per_channel == per_channel[:, :1]).all()  # whole channels kept or dropped
    assert 0.3 < (per_channel[:, 0] == 0).mean() < 0.7
    y3 = np.asarray(nn.Dropout3d(0.5)(mx.ones((2, 3, 3, 3, 16)))).reshape(2, 27, 16)
    assert (y3 == y3[:, :1]).all()
    d = nn.Dropout2d(0.5)
    d.eval()
    np.testing.assert_array_equal(np.asarray(d(img)), np.asarray(img))
    with pytest.raises(ValueError, match="Dropout2d"):
        nn.Dropout2d()(mx.ones((3, 4)))


# -- quantized --------------------------------------------------------------------------------
def test_quantized_linear_embedding_and_quantize():
    lin = nn.Linear(128, 16)
    q = nn.QuantizedLinear.from_linear(lin, group_size=64, bits=8)
    x = mx.random.normal((3, 128))
    np.testing.assert_allclose(np.asarray(q(x)), np.asarray(lin(x)), atol=0.05)
    assert q.trainable_parameters() == {}
    q.unfreeze()
    assert q.trainable_parameters() == {}
    model = nn.Sequential(nn.Embedding(10, 64), nn.Linear(64, 32), nn.LayerNorm(32))
    ids = to_mx([1, 3, 5])
    before = np.asarray(model(ids))
    nn.quantize(model, group_size=32, bits=8, class_predicate=lambda p, m: isinstance(m, (nn.Linear, nn.Embedding)))
    assert isinstance(model.layers[0], nn.QuantizedEmbedding) and isinstance(model.layers[1], nn.QuantizedLinear)
    assert isinstance(model.layers[2], nn.LayerNorm)
    np.testing.assert_allclose(np.asarray(model(ids)), before, atol=0.1)
    names = [k for k, _ in tree_flatten(model.parameters())]
    assert "layers.1.scales" in names and "layers.0.biases" in names
    with pytest.raises(ValueError, match="bits 7"):
        nn.QuantizedLinear(64, 8, bits=7)
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        nn.QuantizedLinear(64, 8, mode="int4")


def test_max_pool_pads_integers_with_their_minimum():
    x = mx.array([[[-5], [-7], [-2]]], dtype=mx.int32)
    assert nn.MaxPool1d(2, 1, 1)(x).tolist() == [[[-5], [-5], [-2], [-2]]]
    u = mx.array([[[3], [1]]], dtype=mx.uint8)
    assert nn.MaxPool1d(2, 1, 1)(u).tolist() == [[[3], [3], [1]]]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_recurrent_and_attention_gradients_against_torch(dtype):
    """Gradients with respect to the input and the weights, through time and attention."""
    md, npd, tol = dtype
    tdt = torch.float64 if npd == np.float64 else torch.float32
    x = rand(2, 4, 3)
    lstm = cast_module(nn.LSTM(3, 5), md)
    ref = torch.nn.LSTM(3, 5, batch_first=True).to(tdt)

    def ember_lstm(x, wx, wh):
        lstm.update({"Wx": wx, "Wh": wh})
        return lstm(x)[0]

    def torch_lstm(x, wx, wh):
        out, _ = torch.func.functional_call(ref, {"weight_ih_l0": wx, "weight_hh_l0": wh,
                                                  "bias_ih_l0": torch.tensor(np.asarray(lstm.bias)),
                                                  "bias_hh_l0": torch.zeros(20, dtype=tdt)}, (x,))
        return out

    grads_vs_torch(ember_lstm, torch_lstm, [x, np.asarray(lstm.Wx), np.asarray(lstm.Wh)], npd, tol * 10)

    gru = cast_module(nn.GRU(3, 5), md)
    gref = torch.nn.GRU(3, 5, batch_first=True).to(tdt)

    def ember_gru(x, wh):
        gru.update({"Wh": wh})
        return gru(x)

    def torch_gru(x, wh):
        out, _ = torch.func.functional_call(gref, {"weight_ih_l0": torch.tensor(np.asarray(gru.Wx)), "weight_hh_l0": wh,
                                                   "bias_ih_l0": torch.tensor(np.asarray(gru.b)),
                                                   "bias_hh_l0": torch.cat([torch.zeros(10, dtype=tdt), torch.tensor(np.asarray(gru.bhn))])},
                                            (x,))
        return out

    grads_vs_torch(ember_gru, torch_gru, [x, np.asarray(gru.Wh)], npd, tol * 10)

    layer = cast_module(nn.TransformerEncoderLayer(8, 2, mlp_dims=16), md)
    tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True).to(tdt)
    P = lambda a: torch.nn.Parameter(torch.tensor(np.asarray(a)))  # noqa: E731
    in_w, out_w = _torch_mha_weights(layer.attention, npd)
    tl.self_attn.in_proj_weight, tl.self_attn.in_proj_bias = P(in_w), P(np.zeros(24, npd))
    tl.self_attn.out_proj.weight, tl.self_attn.out_proj.bias = P(out_w), P(np.zeros(8, npd))
    for a, b in (("linear1", "linear1"), ("linear2", "linear2"), ("ln1", "norm1"), ("ln2", "norm2")):
        getattr(tl, b).weight, getattr(tl, b).bias = P(getattr(layer, a).weight), P(getattr(layer, a).bias)
    grads_vs_torch(lambda v: layer(v, None), lambda v: tl(v), [rand(2, 5, 8)], npd, tol * 10)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_rope_gradient_against_torch_equation(dtype):
    md, npd, tol = dtype
    dims, base = 6, 10000.0

    def torch_rope(x):
        L = x.shape[-2]
        th = torch.arange(L, dtype=x.dtype)[:, None] * base ** (-torch.arange(0, dims, 2, dtype=x.dtype) / dims)[None]
        a, b = x[..., : dims // 2], x[..., dims // 2: dims]
        return torch.cat([a * torch.cos(th) - b * torch.sin(th), a * torch.sin(th) + b * torch.cos(th), x[..., dims:]], -1)

    grads_vs_torch(nn.RoPE(dims), torch_rope, [rand(2, 5, 8)], npd, tol * 10)
