// Random primitives: RandomBits turns a key into raw bits with Threefry-2x32
// (20 rounds), computed by element index so results never depend on threads.
#pragma once

#include <cstdint>

#include "ember/primitives/primitive.h"

namespace ember {

namespace detail {

/// Threefry-2x32 with 20 rounds (Salmon et al. 2011, "Parallel random
/// numbers: as easy as 1, 2, 3"): encrypts the counter (x0, x1) under the key
/// (k0, k1). In place; the result is two independent-looking 32-bit words.
inline void threefry2x32(uint32_t k0, uint32_t k1, uint32_t& x0, uint32_t& x1) {
  constexpr int kRot[8] = {13, 15, 26, 6, 17, 29, 16, 24};
  // The third key word makes the schedule's parity constant (Skein's C240 for 32 bits).
  const uint32_t ks[3] = {k0, k1, 0x1BD11BDAu ^ k0 ^ k1};
  x0 += ks[0];
  x1 += ks[1];
  for (int r = 0; r < 20; ++r) {
    x0 += x1;
    x1 = (x1 << kRot[r % 8]) | (x1 >> (32 - kRot[r % 8]));
    x1 ^= x0;
    if (r % 4 == 3) {
      // Key injection s = r/4 + 1, with the injection number added so rounds differ.
      const uint32_t s = uint32_t(r / 4 + 1);
      x0 += ks[s % 3];
      x1 += ks[(s + 1) % 3] + s;
    }
  }
}

}  // namespace detail

/// Raw random bits. Input: keys of shape K + (2,) (uint32); output: shape
/// K + shape_, one unsigned integer of `width` bytes (1, 2, 4 or 8) per element.
/// Each key's elements are the bytes of the little-endian stream
/// threefry(key, 0), threefry(key, 1), ... (64-bit counter c as (lo, hi)).
/// The leading K lets vmap run over a batch of keys in one kernel.
class EMBER_API RandomBits : public Primitive {
 public:
  RandomBits(Shape shape, int width) : shape_(std::move(shape)), width_(width) {}
  const char* name() const override { return "RandomBits"; }
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
  bool is_equivalent(const Primitive& other) const override;
  void print(std::ostream& os) const override;
  void serialize(ExportFields& fields) const override;

  const Shape& shape() const { return shape_; }
  int width() const { return width_; }

 private:
  Shape shape_;  // per-key output shape
  int width_;    // bytes per element
};

/// The unsigned dtype of `width` bytes (1, 2, 4, 8).
EMBER_API Dtype bits_dtype(int width);

}  // namespace ember
