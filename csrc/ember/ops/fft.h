// mlx.core.fft: discrete Fourier transforms of any length over one or more axes,
// real-input and real-output variants, shifts and sample frequencies. All are
// compositions of the one FFT primitive with pads, slices and scales, so they
// differentiate and vmap through its rules. Results are complex64 (real-output
// transforms float32); norm is "backward" (default), "ortho" or "forward".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ember/array.h"

namespace ember::fft {

/// The unnormalized DFT of a (cast to complex64) along axis; inverse flips the sign.
EMBER_API array dft(const array& a, int axis, bool inverse);
/// numpy.fft.fft / ifft: n pads with zeros or crops axis first.
EMBER_API array fft(const array& a, std::optional<int64_t> n = std::nullopt, int axis = -1,
                    const std::string& norm = "backward");
EMBER_API array ifft(const array& a, std::optional<int64_t> n = std::nullopt, int axis = -1,
                     const std::string& norm = "backward");
/// Real input: the n // 2 + 1 non-negative frequencies.
EMBER_API array rfft(const array& a, std::optional<int64_t> n = std::nullopt, int axis = -1,
                     const std::string& norm = "backward");
/// Inverse of rfft: n real outputs (default 2 * (m - 1) for m input frequencies).
EMBER_API array irfft(const array& a, std::optional<int64_t> n = std::nullopt, int axis = -1,
                      const std::string& norm = "backward");
/// Transforms over several axes (all when both are nullopt; the last len(s) when
/// only s is given), s the lengths used along them.
EMBER_API array fftn(const array& a, const std::optional<std::vector<int64_t>>& s = std::nullopt,
                     const std::optional<std::vector<int>>& axes = std::nullopt,
                     const std::string& norm = "backward");
EMBER_API array ifftn(const array& a, const std::optional<std::vector<int64_t>>& s = std::nullopt,
                      const std::optional<std::vector<int>>& axes = std::nullopt,
                      const std::string& norm = "backward");
/// rfft over the last of axes, fft over the others (irfftn: the inverse).
EMBER_API array rfftn(const array& a, const std::optional<std::vector<int64_t>>& s = std::nullopt,
                      const std::optional<std::vector<int>>& axes = std::nullopt,
                      const std::string& norm = "backward");
EMBER_API array irfftn(const array& a, const std::optional<std::vector<int64_t>>& s = std::nullopt,
                       const std::optional<std::vector<int>>& axes = std::nullopt,
                       const std::string& norm = "backward");
/// Moves the zero frequency to the center (ifftshift undoes it), over axes (all when nullopt).
EMBER_API array fftshift(const array& a, const std::optional<std::vector<int>>& axes = std::nullopt);
EMBER_API array ifftshift(const array& a, const std::optional<std::vector<int>>& axes = std::nullopt);
/// Sample frequencies of an n-point transform with sample spacing d (float32).
EMBER_API array fftfreq(int64_t n, double d = 1.0);
EMBER_API array rfftfreq(int64_t n, double d = 1.0);

}  // namespace ember::fft
