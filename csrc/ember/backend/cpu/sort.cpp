// CPU kernels of Sort, ArgSort and ArgPartition: each row along the axis is
// copied to a scratch buffer, its NaNs moved to the back (numpy's order),
// the rest ordered there, and the row written out. argsort is stable. Long
// rows of real numbers use an LSD radix sort on order-preserving unsigned
// keys (several times faster than comparison sorting, and stable for free).
#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstring>
#include <type_traits>

#include "ember/backend/cpu/index.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/primitives/index.h"

namespace ember {

namespace {

// Rows shorter than this use std::sort: a radix sort's fixed cost (histograms
// of 256 buckets per byte) does not pay for them.
constexpr int64_t kRadixMin = 256;

// The type rows are compared in: halves as float, bool as a byte (so no
// std::vector<bool> proxies), everything else as itself.
template <typename T>
using Key = std::conditional_t<
    std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>, float,
    std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>>;

template <typename K>
bool is_nan(const K& x) {
  if constexpr (std::is_floating_point_v<K>) {
    return std::isnan(x);
  } else if constexpr (std::is_same_v<K, complex64_t>) {
    return std::isnan(x.real()) || std::isnan(x.imag());
  } else {
    return false;
  }
}

// The order of non-NaN keys (the kernels move NaNs out of the way first):
// complex numbers compare by real part, then imaginary part, as numpy does.
template <typename K>
bool less(const K& x, const K& y) {
  if constexpr (std::is_same_v<K, complex64_t>) {
    return x.real() < y.real() || (x.real() == y.real() && x.imag() < y.imag());
  } else {
    return x < y;
  }
}

// ---- radix keys: unsigned integers ordered like the values ----
template <typename K>
constexpr bool kRadixable = std::is_arithmetic_v<K>;  // not complex
template <typename K>
using Radix = std::conditional_t<sizeof(K) == 8, uint64_t, uint32_t>;

template <typename K>
Radix<K> to_radix(K v) {
  using U = Radix<K>;
  constexpr U top = U(1) << (8 * sizeof(U) - 1);
  if constexpr (std::is_floating_point_v<K>) {
    // Negative floats: flip all bits (larger magnitude sorts first); others: set the sign bit.
    U b;
    std::memcpy(&b, &v, sizeof(U));
    return (b & top) ? ~b : (b | top);
  } else if constexpr (std::is_signed_v<K>) {
    return U(v) ^ top;  // sign-extended, then offset by 2^(bits-1)
  } else {
    return U(v);
  }
}

template <typename K>
K from_radix(Radix<K> u) {
  using U = Radix<K>;
  constexpr U top = U(1) << (8 * sizeof(U) - 1);
  if constexpr (std::is_floating_point_v<K>) {
    U b = (u & top) ? (u ^ top) : ~u;
    K v;
    std::memcpy(&v, &b, sizeof(U));
    return v;
  } else if constexpr (std::is_signed_v<K>) {
    return K(std::make_signed_t<U>(u ^ top));
  } else {
    return K(u);
  }
}

// Stable LSD radix sort of keys[0, n), carrying idx along when given. Bytes
// on which all keys agree are skipped (small ints widened to 32 bits cost
// one or two passes, not four).
template <typename U>
void radix_sort(U* keys, U* keys_tmp, uint32_t* idx, uint32_t* idx_tmp, int64_t n) {
  constexpr int kPasses = int(sizeof(U));
  std::array<std::array<int64_t, 256>, kPasses> counts{};
  for (int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < kPasses; ++p) ++counts[p][(keys[i] >> (8 * p)) & 255];
  }
  U *src = keys, *dst = keys_tmp;
  uint32_t *isrc = idx, *idst = idx_tmp;
  for (int p = 0; p < kPasses; ++p) {
    auto& c = counts[p];
    const int shift = 8 * p;
    if (c[(src[0] >> shift) & 255] == n) continue;
    int64_t sum = 0;
    for (auto& x : c) {
      int64_t t = x;
      x = sum;
      sum += t;
    }
    for (int64_t i = 0; i < n; ++i) {
      int64_t pos = c[(src[i] >> shift) & 255]++;
      dst[pos] = src[i];
      if (idx) idst[pos] = isrc[i];
    }
    std::swap(src, dst);
    std::swap(isrc, idst);
  }
  if (src != keys) {
    std::copy(src, src + n, keys);
    if (idx) std::copy(isrc, isrc + n, idx);
  }
}

// Per-thread scratch buffers, reused across the rows of one chunk.
template <typename K>
struct Scratch {
  std::vector<K> values;
  std::vector<std::pair<K, uint32_t>> entries;
  std::vector<Radix<K>> keys, keys_tmp;
  std::vector<uint32_t> idx, idx_tmp;
};

// Calls row(in_offset, out_offset, scratch) for every row along `axis`, in parallel.
template <typename S, typename F>
void for_each_axis_row(const array& in, const array& out, int axis, F&& row) {
  Shape outer = in.shape();
  Strides in_strides = in.strides(), out_strides = out.strides();
  outer.erase(outer.begin() + axis);
  in_strides.erase(in_strides.begin() + axis);
  out_strides.erase(out_strides.begin() + axis);
  std::vector<int64_t> in_off = cpu::offset_table(outer, in_strides);
  std::vector<int64_t> out_off = cpu::offset_table(outer, out_strides);
  const int64_t n = in.shape(axis);
  cpu::parallel_for(int64_t(in_off.size()), std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n, 1)),
                    [&](int64_t b, int64_t e) {
                      S scratch;
                      for (int64_t r = b; r < e; ++r) row(in_off[r], out_off[r], scratch);
                    });
}

// Writes the row's positions in sorted order (stable; NaNs last, by position).
// With `kth` >= 0, only partitions around kth (nth_element on the numbers).
void index_kernel(const array& in, array& out, int axis, int64_t kth) {
  out.allocate_row_contiguous();
  if (out.size() == 0) return;
  const int64_t n = in.shape(axis);
  const int64_t in_step = in.strides()[axis], out_step = out.strides()[axis];
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using K = Key<T>;
    using Entry = std::pair<K, uint32_t>;
    const T* x = in.data<T>();
    uint32_t* y = out.data<uint32_t>();
    for_each_axis_row<Scratch<K>>(in, out, axis, [&](int64_t io, int64_t oo, Scratch<K>& s) {
      // Numbers first in position order, NaNs collected from the back.
      auto& buf = s.entries;
      buf.resize(n);
      int64_t valid = 0, nans = n;
      for (int64_t i = 0; i < n; ++i) {
        K v = K(x[io + i * in_step]);
        if (is_nan(v)) buf[--nans] = {v, uint32_t(i)};
        else buf[valid++] = {v, uint32_t(i)};
      }
      std::reverse(buf.begin() + valid, buf.end());
      if constexpr (kRadixable<K>) {
        if (kth < 0 && valid >= kRadixMin) {
          s.keys.resize(valid);
          s.keys_tmp.resize(valid);
          s.idx.resize(valid);
          s.idx_tmp.resize(valid);
          for (int64_t i = 0; i < valid; ++i) {
            K v = buf[i].first;
            if constexpr (std::is_floating_point_v<K>) {
              if (v == 0) v = 0;  // -0.0 == 0.0: one key, so ties keep positions
            }
            s.keys[i] = to_radix(v);
            s.idx[i] = buf[i].second;
          }
          radix_sort(s.keys.data(), s.keys_tmp.data(), s.idx.data(), s.idx_tmp.data(), valid);
          for (int64_t i = 0; i < valid; ++i) y[oo + i * out_step] = s.idx[i];
          for (int64_t i = valid; i < n; ++i) y[oo + i * out_step] = buf[i].second;
          return;
        }
      }
      // Ties go by position: a total order, so results do not depend on the algorithm.
      auto cmp = [](const Entry& p, const Entry& q) {
        if (less(p.first, q.first)) return true;
        if (less(q.first, p.first)) return false;
        return p.second < q.second;
      };
      if (kth < 0) {
        std::sort(buf.begin(), buf.begin() + valid, cmp);
      } else if (kth < valid) {
        // With kth among the NaNs, every number already sits before it. Ties
        // need no order here (the arrangement is still deterministic).
        std::nth_element(buf.begin(), buf.begin() + kth, buf.begin() + valid,
                         [](const Entry& p, const Entry& q) { return less(p.first, q.first); });
      }
      for (int64_t i = 0; i < n; ++i) y[oo + i * out_step] = buf[i].second;
    });
  });
}

}  // namespace

void Sort::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  out.allocate_row_contiguous();
  if (out.size() == 0) return;
  const int64_t n = in.shape(axis_);
  const int64_t in_step = in.strides()[axis_], out_step = out.strides()[axis_];
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using K = Key<T>;
    const T* x = in.data<T>();
    T* y = out.data<T>();
    for_each_axis_row<Scratch<K>>(in, out, axis_, [&](int64_t io, int64_t oo, Scratch<K>& s) {
      auto& buf = s.values;
      buf.resize(n);
      for (int64_t i = 0; i < n; ++i) buf[i] = K(x[io + i * in_step]);
      // NaNs to the back first, so the sort itself never meets one.
      auto end = buf.end();
      if constexpr (std::is_floating_point_v<K> || std::is_same_v<K, complex64_t>) {
        end = std::partition(buf.begin(), buf.end(), [](const K& v) { return !is_nan(v); });
      }
      const int64_t valid = end - buf.begin();
      if constexpr (kRadixable<K>) {
        if (valid >= kRadixMin) {
          s.keys.resize(valid);
          s.keys_tmp.resize(valid);
          for (int64_t i = 0; i < valid; ++i) s.keys[i] = to_radix(buf[i]);
          radix_sort<Radix<K>>(s.keys.data(), s.keys_tmp.data(), nullptr, nullptr, valid);
          for (int64_t i = 0; i < valid; ++i) buf[i] = from_radix<K>(s.keys[i]);
        } else {
          std::sort(buf.begin(), end);
        }
      } else {
        std::sort(buf.begin(), end, [](const K& p, const K& q) { return less(p, q); });
      }
      for (int64_t i = 0; i < n; ++i) y[oo + i * out_step] = T(buf[i]);
    });
  });
}

void ArgSort::eval_cpu(const std::vector<array>& inputs, array& out) {
  index_kernel(inputs[0], out, axis_, -1);
}

void ArgPartition::eval_cpu(const std::vector<array>& inputs, array& out) {
  index_kernel(inputs[0], out, axis_, kth_);
}

}  // namespace ember
