// The FFT primitive: the unnormalized discrete Fourier transform along one axis
// (kernel in backend/cpu/fft.cpp). Everything in ember::fft is built on it.
#pragma once

#include "ember/primitives/primitive.h"

namespace ember {

/// out_k = sum_j x_j exp(-+2 pi i j k / n) along axis_ (the sign is + when inverse_),
/// complex64 in and out, no scaling. Linear, and its matrix is symmetric, so the
/// vjp (the transpose) is the same transform of the cotangent.
class EMBER_API FFT : public Primitive {
 public:
  FFT(int axis, bool inverse) : axis_(axis), inverse_(inverse) {}
  const char* name() const override { return inverse_ ? "IFFT" : "FFT"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  int axis_;
  bool inverse_;
};

}  // namespace ember
