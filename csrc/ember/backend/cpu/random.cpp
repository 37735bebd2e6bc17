// CPU kernel of the random family: Threefry blocks computed by index, so any
// split of the work among threads writes the same bits.
#include <algorithm>
#include <vector>

#include "ember/backend/cpu/threadpool.h"
#include "ember/primitives/random.h"

namespace ember {

namespace {

// Each 64-bit block (counter c) yields 8 / sizeof(T) elements of one key's stream.
template <typename T>
void fill_bits(const std::vector<uint32_t>& keys, int64_t per_key, T* out) {
  constexpr int64_t kPerBlock = 8 / int64_t(sizeof(T));
  const int64_t num_keys = int64_t(keys.size() / 2);
  const int64_t blocks = (per_key + kPerBlock - 1) / kPerBlock;
  // About 1 ns per output byte: threads pay off above ~16k blocks.
  cpu::parallel_for(num_keys * blocks, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t k = idx / blocks;
      const int64_t c = idx - k * blocks;
      uint32_t x0 = uint32_t(uint64_t(c)), x1 = uint32_t(uint64_t(c) >> 32);
      detail::threefry2x32(keys[2 * k], keys[2 * k + 1], x0, x1);
      const uint64_t v = uint64_t(x0) | (uint64_t(x1) << 32);
      T* dst = out + k * per_key;
      const int64_t first = c * kPerBlock;
      const int64_t last = std::min(first + kPerBlock, per_key);
      for (int64_t j = first; j < last; ++j) {
        if constexpr (sizeof(T) == 8) dst[j] = T(v);
        else dst[j] = T(v >> (8 * sizeof(T) * (j - first)));
      }
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
