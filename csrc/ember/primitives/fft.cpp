// Transform rules of FFT: a linear map with a symmetric matrix.
#include "ember/primitives/fft.h"

#include "ember/export/fields.h"
#include "ember/ops.h"

namespace ember {

bool FFT::is_equivalent(const Primitive& other) const {
  auto& o = static_cast<const FFT&>(other);
  return Primitive::is_equivalent(other) && o.axis_ == axis_ && o.inverse_ == inverse_;
}
// d out = F t
array FFT::jvp(const std::vector<array>&, const std::vector<array>& tangents,
               const std::vector<int>&, const array&) {
  return fft::dft(tangents[0], axis_, inverse_);
}
// dx = F^T c = F c (the DFT matrix is symmetric)
std::vector<array> FFT::vjp(const std::vector<array>&, const array& cotangent,
                            const std::vector<int>&, const array&) {
  return {fft::dft(cotangent, axis_, inverse_)};
}
std::pair<array, int> FFT::vmap(const std::vector<array>& inputs,
                                const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  return {fft::dft(inputs[0], axis_ >= b ? axis_ + 1 : axis_, inverse_), b};
}


// ---- export ----
void FFT::serialize(ExportFields& f) const {
  f.add_int(axis_);
  f.add_bool(inverse_);
}

namespace {
std::vector<array> load_fft(ExportFields::Reader& f, const std::vector<array>& in,
                            const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 1);
  int axis = f.axis("axis");
  return {fft::dft(in[0], axis, f.boolean("inverse"))};
}
const detail::RegisterLoaders kLoaders{{"FFT", load_fft}, {"IFFT", load_fft}};
}  // namespace

}  // namespace ember
