"""ember.core.fft.stft / istft: compositions of the compiled transforms (framing is a
gather, overlap-add a scatter-add), so they differentiate and vmap like the rest."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ember import core as _c
from ember._extras import on_stream

if TYPE_CHECKING:
    from ember._extras import ArrayLike, StreamLike


def _window(window, win_length, n_fft, op):
    if window is None:
        w = _c.ones((win_length,))
    else:
        w = _c.asarray(window)
        if w.ndim != 1 or w.shape[0] != win_length:
            raise ValueError(f"[{op}] window must be 1-D of length win_length={win_length}, "
                             f"got shape {tuple(w.shape)}.")
    if win_length > n_fft:
        raise ValueError(f"[{op}] win_length ({win_length}) must be at most n_fft ({n_fft}).")
    left = (n_fft - win_length) // 2
    return _c.pad(w, [(left, n_fft - win_length - left)])


def _pad_last(x, p, mode):
    if p == 0:
        return x
    n = x.shape[-1]
    if mode == "constant":
        return _c.pad(x, [(0, 0)] * (x.ndim - 1) + [(p, p)])
    if mode == "edge":
        first = _c.repeat(x[..., :1], p, axis=-1)
        last = _c.repeat(x[..., n - 1:], p, axis=-1)
        return _c.concatenate([first, x, last], axis=-1)
    if mode == "reflect":
        if p >= n:
            raise ValueError(f"[stft] reflect padding of {p} needs more than {p} samples, got {n}.")
        left = _c.flip(x[..., 1:p + 1], axis=-1)
        right = _c.flip(x[..., n - p - 1:n - 1], axis=-1)
        return _c.concatenate([left, x, right], axis=-1)
    raise ValueError(f"[stft] pad_mode must be \"reflect\", \"constant\" or \"edge\", got {mode!r}.")


def _frame_indices(n_frames, n_fft, hop):
    return (_c.arange(n_frames)[:, None] * hop + _c.arange(n_fft)[None, :]).astype(_c.int32)


def stft(x: ArrayLike, n_fft: int = 2048, hop_length: int | None = None,
         win_length: int | None = None, window: ArrayLike | None = None, center: bool = True,
         pad_mode: str = "reflect",
         norm: str = "backward",
         onesided: bool | None = None, *, stream: StreamLike = None) -> _c.array:
    """Short-time Fourier transform of the last axis: frames of n_fft samples every
    hop_length (n_fft // 4), windowed (a rectangular window of win_length = n_fft by
    default, centered and zero-padded to n_fft), each transformed. center pads n_fft // 2
    samples at both ends (pad_mode "reflect", "constant" or "edge"). onesided (default:
    True for real input) keeps the n_fft // 2 + 1 non-negative frequencies.

    Returns a complex64 array of shape (..., n_freq, n_frames)."""
    with on_stream(stream):
        return _stft(_c.asarray(x), n_fft, hop_length, win_length, window, center, pad_mode,
                     norm, onesided)


def _stft(x, n_fft, hop_length, win_length, window, center, pad_mode, norm, onesided):
    if x.ndim == 0:
        raise ValueError("[stft] Input must have at least one dimension.")
    hop = hop_length or n_fft // 4
    if n_fft <= 0 or hop <= 0:
        raise ValueError(f"[stft] n_fft and hop_length must be positive, got {n_fft} and {hop}.")
    w = _window(window, win_length or n_fft, n_fft, "stft")
    if onesided is None:
        onesided = x.dtype != _c.complex64
    if center:
        x = _pad_last(x, n_fft // 2, pad_mode)
    length = x.shape[-1]
    if length < n_fft:
        raise ValueError(f"[stft] The (padded) input has {length} samples, fewer than n_fft={n_fft}.")
    n_frames = 1 + (length - n_fft) // hop
    frames = _c.take(x, _frame_indices(n_frames, n_fft, hop), axis=-1) * w
    spec = (_c.fft.rfft if onesided else _c.fft.fft)(frames, norm=norm)
    return _c.swapaxes(spec, -1, -2)


def istft(stft_matrix: ArrayLike, n_fft: int | None = None, hop_length: int | None = None,
          win_length: int | None = None, window: ArrayLike | None = None, center: bool = True,
          norm: str = "backward",
          onesided: bool | None = None, length: int | None = None, *,
          stream: StreamLike = None) -> _c.array:
    """Inverse of stft: the inverse transform of each frame, windowed, overlap-added and
    divided by the overlap-added squared window. onesided defaults to True (an even n_fft
    is inferred from n_freq; pass n_fft for an odd one); length crops or zero-pads the
    result.

    Returns an array of shape (..., samples): float32 for a one-sided input."""
    with on_stream(stream):
        return _istft(_c.asarray(stft_matrix), n_fft, hop_length, win_length, window, center,
                      norm, onesided, length)


def _istft(s, n_fft, hop_length, win_length, window, center, norm, onesided, length):
    if s.ndim < 2:
        raise ValueError("[istft] stft_matrix must have shape (..., n_freq, n_frames).")
    if onesided is None:
        onesided = True
    n_freq, n_frames = s.shape[-2], s.shape[-1]
    if n_fft is None:
        n_fft = 2 * (n_freq - 1) if onesided else n_freq
    hop = hop_length or n_fft // 4
    w = _window(window, win_length or n_fft, n_fft, "istft")
    spec = _c.swapaxes(s, -1, -2)
    frames = _c.fft.irfft(spec, n=n_fft, norm=norm) if onesided else \
        _c.fft.ifft(spec, n=n_fft, norm=norm)
    frames = frames * w
    total = n_fft + hop * (n_frames - 1)
    idx = _frame_indices(n_frames, n_fft, hop).reshape(-1)
    lead = tuple(frames.shape[:-2])
    out = _c.zeros(lead + (total,), dtype=frames.dtype)
    out = out.at[..., idx].add(frames.reshape(lead + (-1,)))
    env = _c.zeros((total,)).at[idx].add(_c.broadcast_to(w * w, (n_frames, n_fft)).reshape(-1))
    out = out / _c.where(env > 1e-11, env, 1.0)
    if center:
        out = out[..., n_fft // 2: total - n_fft // 2]
    if length is not None:
        n = out.shape[-1]
        out = out[..., :length] if n >= length else \
            _c.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - n)])
    return out


def install() -> None:
    # (Their __module__ stays ember._fft: the stubs import them from this annotated file.)
    for f in (stft, istft):
        setattr(_c.fft, f.__name__, f)
