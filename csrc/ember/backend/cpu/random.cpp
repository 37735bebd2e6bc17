// CPU kernel of the random family: Threefry blocks computed by index, so any
// split of the work among threads writes the same bits.
#include <algorithm>
#include <vector>

#include "ember/backend/cpu/threadpool.h"
#include "ember/primitives/random.h"

namespace ember {

namespace {

// Threefry over kLanes counters at once: the same rounds as
// detail::threefry2x32, written lane-wise with constant rotations so the
// compiler turns each round into SIMD instructions.
constexpr int kLanes = 16;
using Lanes = uint32_t[kLanes];

template <int R>
inline void mix(Lanes& x0, Lanes& x1) {
  for (int l = 0; l < kLanes; ++l) {
    x0[l] += x1[l];
    x1[l] = (x1[l] << R) | (x1[l] >> (32 - R));
    x1[l] ^= x0[l];
  }
}

inline void inject(Lanes& x0, Lanes& x1, uint32_t a, uint32_t b) {
  for (int l = 0; l < kLanes; ++l) {
    x0[l] += a;
    x1[l] += b;
  }
}

inline void threefry_lanes(uint32_t k0, uint32_t k1, Lanes& x0, Lanes& x1) {
  const uint32_t ks[3] = {k0, k1, 0x1BD11BDAu ^ k0 ^ k1};
  inject(x0, x1, ks[0], ks[1]);
  for (uint32_t s = 1; s <= 5; s += 2) {
    mix<13>(x0, x1), mix<15>(x0, x1), mix<26>(x0, x1), mix<6>(x0, x1);
    inject(x0, x1, ks[s % 3], ks[(s + 1) % 3] + s);
    if (s == 5) break;
    mix<17>(x0, x1), mix<29>(x0, x1), mix<16>(x0, x1), mix<24>(x0, x1);
    inject(x0, x1, ks[(s + 1) % 3], ks[(s + 2) % 3] + s + 1);
  }
}

// Block c of a key's stream (counter (lo, hi) of c) holds its elements
// [c * E, (c + 1) * E), E = 8 / sizeof(T): the bytes of x0 | x1 << 32.
template <typename T>
void fill_blocks(uint32_t k0, uint32_t k1, int64_t c_begin, int64_t c_end, int64_t per_key, T* dst) {
  constexpr int64_t E = 8 / int64_t(sizeof(T));
  for (int64_t c0 = c_begin; c0 < c_end; c0 += kLanes) {
    Lanes x0, x1;
    for (int l = 0; l < kLanes; ++l) {
      const uint64_t c = uint64_t(c0 + l);
      x0[l] = uint32_t(c);
      x1[l] = uint32_t(c >> 32);
    }
    threefry_lanes(k0, k1, x0, x1);
    const int64_t n = std::min<int64_t>(kLanes, c_end - c0);
    for (int64_t l = 0; l < n; ++l) {
      const uint64_t v = uint64_t(x0[l]) | (uint64_t(x1[l]) << 32);
      const int64_t first = (c0 + l) * E;
      const int64_t last = std::min(first + E, per_key);
      for (int64_t j = first; j < last; ++j) {
        if constexpr (sizeof(T) == 8) dst[j] = T(v);
        else dst[j] = T(v >> (8 * sizeof(T) * (j - first)));
      }
    }
  }
}

template <typename T>
void fill_bits(const std::vector<uint32_t>& keys, int64_t per_key, T* out) {
  constexpr int64_t E = 8 / int64_t(sizeof(T));
  const int64_t num_keys = int64_t(keys.size() / 2);
  const int64_t blocks = (per_key + E - 1) / E;
  // Work items are (key, block) pairs; a chunk may span keys. Each block
  // costs ~10 ns, so threads pay off above ~16k blocks.
  cpu::parallel_for(num_keys * blocks, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end;) {
      const int64_t k = idx / blocks;
      const int64_t c = idx - k * blocks;
      const int64_t c_end = std::min(blocks, c + (end - idx));
      fill_blocks(keys[2 * k], keys[2 * k + 1], c, c_end, per_key, out + k * per_key);
      idx += c_end - c;
    }
  });
}

}  // namespace

void RandomBits::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  const array& key = inputs[0];
  // Keys are few (one, or one per vmap lane): read them through their strides.
  std::vector<uint32_t> keys(size_t(key.size()));
  for (int64_t i = 0; i < key.size(); ++i) keys[i] = element_as<uint32_t>(key, i);
  const int64_t per_key = shape_size(shape_);
  if (per_key == 0 || keys.empty()) return;
  switch (width_) {
    case 1: fill_bits(keys, per_key, out.data<uint8_t>()); break;
    case 2: fill_bits(keys, per_key, out.data<uint16_t>()); break;
    case 4: fill_bits(keys, per_key, out.data<uint32_t>()); break;
    default: fill_bits(keys, per_key, out.data<uint64_t>()); break;
  }
}

}  // namespace ember
