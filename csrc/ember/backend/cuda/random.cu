// CUDA kernel of RandomBits: one thread per Threefry block (key, counter), the same rounds and
// byte order as the CPU (primitives/random.h), so a key gives bit-identical values on both.
#include "ember/backend/cuda/elementwise.cuh"
#include "ember/primitives/random.h"

namespace ember::cuda {

namespace {

__device__ __forceinline__ void threefry2x32(uint32_t k0, uint32_t k1, uint32_t& x0, uint32_t& x1) {
  const uint32_t ks[3] = {k0, k1, 0x1BD11BDAu ^ k0 ^ k1};
  constexpr int kRot[8] = {13, 15, 26, 6, 17, 29, 16, 24};
  x0 += ks[0];
  x1 += ks[1];
#pragma unroll
  for (int r = 0; r < 20; ++r) {
    x0 += x1;
    x1 = (x1 << kRot[r % 8]) | (x1 >> (32 - kRot[r % 8]));
    x1 ^= x0;
    if (r % 4 == 3) {
      const uint32_t s = uint32_t(r / 4 + 1);
      x0 += ks[s % 3];
      x1 += ks[(s + 1) % 3] + s;
    }
  }
}

// Block c of key k holds elements [c * E, (c + 1) * E) of that key's output, E = 8 / sizeof(U):
// the bytes of x0 | x1 << 32, little-endian.
template <typename U>
__global__ void random_bits(const uint32_t* __restrict__ keys, long long num_keys,
                            long long per_key, long long blocks, U* __restrict__ out) {
  constexpr long long E = 8 / (long long)sizeof(U);
  for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < num_keys * blocks;
       t += (long long)gridDim.x * blockDim.x) {
    const long long k = t / blocks, c = t - k * blocks;
    uint32_t x0 = uint32_t(c), x1 = uint32_t((unsigned long long)c >> 32);
    threefry2x32(keys[2 * k], keys[2 * k + 1], x0, x1);
    const unsigned long long v = (unsigned long long)x0 | ((unsigned long long)x1 << 32);
    const long long first = c * E;
    U* dst = out + k * per_key;
#pragma unroll
    for (long long j = 0; j < E; ++j) {
      if (first + j < per_key) {
        if constexpr (sizeof(U) == 8) dst[first + j] = U(v);
        else dst[first + j] = U(v >> (8 * sizeof(U) * j));
      }
    }
  }
}

}  // namespace

}  // namespace ember::cuda

namespace ember {

using namespace ember::cuda;

void RandomBits::eval_gpu(const std::vector<array>& inputs, array& out) {
  const Stream s = out.stream();
  void* y = output_ptr(out);
  const array& key = inputs[0];
  const int64_t per_key = shape_size(shape_);
  const int64_t num_keys = key.size() / 2;
  if (per_key == 0 || num_keys == 0) return;
  array k = key.flags().row_contiguous ? key : contiguous_copy(key, s);
  const uint32_t* kp = in<uint32_t>(k, s);
  const int64_t E = 8 / width_;
  const int64_t blocks = (per_key + E - 1) / E;
  cudaStream_t cs = stream_of(s);
  const unsigned grid = strided_grid(num_keys * blocks);
  switch (width_) {
    case 1: random_bits<uint8_t><<<grid, kBlock, 0, cs>>>(kp, num_keys, per_key, blocks, static_cast<uint8_t*>(y)); break;
    case 2: random_bits<uint16_t><<<grid, kBlock, 0, cs>>>(kp, num_keys, per_key, blocks, static_cast<uint16_t*>(y)); break;
    case 4: random_bits<uint32_t><<<grid, kBlock, 0, cs>>>(kp, num_keys, per_key, blocks, static_cast<uint32_t*>(y)); break;
    default: random_bits<unsigned long long><<<grid, kBlock, 0, cs>>>(kp, num_keys, per_key, blocks, static_cast<unsigned long long*>(y)); break;
  }
  check_launch("random_bits");
}

}  // namespace ember
