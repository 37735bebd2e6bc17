// CPU kernels of Sort, ArgSort and ArgPartition: each row along the axis is
// copied to a scratch buffer, ordered there, and written out. The order puts
// NaNs last (as numpy); argsort breaks ties by position, so it is stable.
#include <algorithm>
#include <cmath>
#include <complex>
#include <type_traits>

#include "ember/backend/cpu/index.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/primitives/index.h"

namespace ember {

namespace {

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

// A strict weak order with NaNs after everything; complex numbers compare
// by real part, then imaginary part (numpy's order).
template <typename K>
bool less(const K& x, const K& y) {
  if constexpr (std::is_floating_point_v<K> || std::is_same_v<K, complex64_t>) {
    bool xn = is_nan(x), yn = is_nan(y);
    if (xn || yn) return !xn && yn;
    if constexpr (std::is_same_v<K, complex64_t>) {
      return x.real() < y.real() || (x.real() == y.real() && x.imag() < y.imag());
    } else {
      return x < y;
    }
  } else {
    return x < y;
  }
}

// Calls row(in_offset, out_offset) for every row along `axis`, in parallel.
template <typename F>
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
                      for (int64_t r = b; r < e; ++r) row(in_off[r], out_off[r]);
                    });
}

// Writes, for every row, the positions of the row's elements in the order
// `arrange` leaves a (key, position) buffer in.
template <typename Arrange>
void index_kernel(const array& in, array& out, int axis, Arrange&& arrange) {
  out.allocate_row_contiguous();
  if (out.size() == 0) return;
  const int64_t n = in.shape(axis);
  const int64_t in_step = in.strides()[axis], out_step = out.strides()[axis];
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using K = Key<T>;
    const T* x = in.data<T>();
    uint32_t* y = out.data<uint32_t>();
    for_each_axis_row(in, out, axis, [&](int64_t io, int64_t oo) {
      std::vector<std::pair<K, uint32_t>> buf(n);
      for (int64_t i = 0; i < n; ++i) buf[i] = {K(x[io + i * in_step]), uint32_t(i)};
      // Ties go by position: a total order, so results do not depend on the algorithm.
      arrange(buf, [](const std::pair<K, uint32_t>& p, const std::pair<K, uint32_t>& q) {
        if (less(p.first, q.first)) return true;
        if (less(q.first, p.first)) return false;
        return p.second < q.second;
      });
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
    for_each_axis_row(in, out, axis_, [&](int64_t io, int64_t oo) {
      std::vector<K> buf(n);
      for (int64_t i = 0; i < n; ++i) buf[i] = K(x[io + i * in_step]);
      std::sort(buf.begin(), buf.end(), [](const K& p, const K& q) { return less(p, q); });
      for (int64_t i = 0; i < n; ++i) y[oo + i * out_step] = T(buf[i]);
    });
  });
}

void ArgSort::eval_cpu(const std::vector<array>& inputs, array& out) {
  index_kernel(inputs[0], out, axis_,
               [](auto& buf, auto cmp) { std::sort(buf.begin(), buf.end(), cmp); });
}

void ArgPartition::eval_cpu(const std::vector<array>& inputs, array& out) {
  int64_t kth = kth_;
  index_kernel(inputs[0], out, axis_, [kth](auto& buf, auto cmp) {
    std::nth_element(buf.begin(), buf.begin() + kth, buf.end(), cmp);
  });
}

}  // namespace ember
