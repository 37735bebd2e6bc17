// The ember.core.fft submodule (mlx.core.fft's names and signatures).
#include <deque>
#include <string>

#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

std::optional<std::vector<int64_t>> opt_sizes(nb::handle s) {
  if (s.is_none()) return std::nullopt;
  if (nb::isinstance<nb::int_>(s)) return std::vector<int64_t>{nb::cast<int64_t>(s)};
  return nb::cast<std::vector<int64_t>>(s);
}

std::optional<std::vector<int>> opt_axes(nb::handle a) {
  if (a.is_none()) return std::nullopt;
  if (nb::isinstance<nb::int_>(a)) return std::vector<int>{nb::cast<int>(a)};
  return nb::cast<std::vector<int>>(a);
}

constexpr const char* kNorm =
    "    norm: \"backward\" (the inverse scales by 1/n), \"ortho\" (both by 1/sqrt(n)) or\n"
    "        \"forward\" (the forward transform scales by 1/n).\n";

}  // namespace

void init_fft(nb::module_& parent) {
  // Docstrings built at run time must outlive the module (a deque never moves them).
  static std::deque<std::string> docs;
  auto keep = [](std::string s) {
    docs.push_back(std::move(s));
    return docs.back().c_str();
  };
  nb::module_ m = parent.def_submodule("fft", "Discrete Fourier transforms (mlx.core.fft).");
  static std::string one_doc =
      std::string("Args:\n    a: Input array.\n    n: Points along axis (crops or zero-pads; "
                  "the input's size when None).\n    axis: The axis to transform.\n") + kNorm;
  static std::string many_doc =
      std::string("Args:\n    a: Input array.\n    s: Sizes along the axes (crop or zero-pad).\n"
                  "    axes: The axes (the last len(s), or all, when None).\n") + kNorm;
#define ONE(name, what)                                                                       \
  def_op(m, #name, [](ArrayArg a, std::optional<int64_t> n, AxisArg axis, const std::string& norm) { \
    return fft::name(to_array(a), n, to_axis(#name, axis), norm);                             \
  }, "a"_a, "n"_a = nb::none(), "axis"_a = -1, "norm"_a = "backward",                        \
        keep(std::string(what "\n\n") + one_doc))
  ONE(fft, "One-dimensional discrete Fourier transform (complex64).");
  ONE(ifft, "One-dimensional inverse discrete Fourier transform (complex64).");
  ONE(rfft, "Transform of a real input: the n // 2 + 1 non-negative frequencies.");
  ONE(irfft, "Inverse of rfft: n real values (2 * (m - 1) when n is None).");
#undef ONE
#define MANY(name, fn, default_axes, what)                                                    \
  def_op(m, #name, [](ArrayArg a, ShapeArg s, AxesArg axes, const std::string& norm) {    \
    auto ax = opt_axes(axes);                                                                \
    return fft::fn(to_array(a), opt_sizes(s), ax, norm);                                     \
  }, "a"_a, "s"_a = nb::none(), "axes"_a = default_axes, "norm"_a = "backward",              \
        keep(std::string(what "\n\n") + many_doc))
  auto last2 = nb::make_tuple(-2, -1);
  MANY(fft2, fftn, last2, "Two-dimensional discrete Fourier transform.");
  MANY(ifft2, ifftn, last2, "Two-dimensional inverse discrete Fourier transform.");
  MANY(rfft2, rfftn, last2, "Two-dimensional transform of a real input.");
  MANY(irfft2, irfftn, last2, "Inverse of rfft2 (real output).");
  MANY(fftn, fftn, nb::none(), "N-dimensional discrete Fourier transform.");
  MANY(ifftn, ifftn, nb::none(), "N-dimensional inverse discrete Fourier transform.");
  MANY(rfftn, rfftn, nb::none(), "N-dimensional transform of a real input (rfft on the last axis).");
  MANY(irfftn, irfftn, nb::none(), "Inverse of rfftn (real output).");
#undef MANY
  def_op(m, "fftshift", [](ArrayArg a, AxesArg axes) {
    return fft::fftshift(to_array(a), opt_axes(axes));
  }, "a"_a, "axes"_a = nb::none(),
        "Moves the zero-frequency term to the center (over axes, all when None).");
  def_op(m, "ifftshift", [](ArrayArg a, AxesArg axes) {
    return fft::ifftshift(to_array(a), opt_axes(axes));
  }, "a"_a, "axes"_a = nb::none(), "The inverse of fftshift.");
  def_op(m, "fftfreq", [](int64_t n, double d) { return fft::fftfreq(n, d); }, "n"_a, "d"_a = 1.0,
        "Sample frequencies of an n-point transform with sample spacing d.");
  def_op(m, "rfftfreq", [](int64_t n, double d) { return fft::rfftfreq(n, d); }, "n"_a, "d"_a = 1.0,
        "Sample frequencies of rfft's output (n // 2 + 1 of them).");
}
