// CPU kernels of the reduce family. Reductions pick one of three loops:
// a contiguous inner run (vectorized, several accumulators), rows summed
// into the output when the reduced axes are outer ones, or a general strided
// walk. Floats accumulate in double and ints in 64 bits, so float32 sums of
// millions of elements stay accurate to about 1e-7.
#include <cmath>
#include <complex>
#include <limits>
#include <vector>

#include "ember/backend/common/convert.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/errors.h"
#include "ember/primitives/reduce.h"

namespace ember {

namespace {

template <typename T>
struct AccOf {
  using type = std::conditional_t<std::is_unsigned_v<T>, uint64_t, int64_t>;
};
template <> struct AccOf<bool> { using type = int64_t; };
template <> struct AccOf<float> { using type = double; };
template <> struct AccOf<double> { using type = double; };
template <> struct AccOf<float16_t> { using type = double; };
template <> struct AccOf<bfloat16_t> { using type = double; };
template <> struct AccOf<complex64_t> { using type = std::complex<double>; };

template <typename A>
A to_acc(auto x) {
  if constexpr (std::is_same_v<A, std::complex<double>>) {
    if constexpr (std::is_same_v<decltype(x), complex64_t>) return A(x.real(), x.imag());
    else return A(detail::convert<double>(x), 0.0);
  } else {
    return detail::convert<A>(x);
  }
}

template <ReduceKind K, typename A>
struct Combine;
template <typename A>
struct Combine<ReduceKind::sum, A> {
  static A init() { return A(0); }
  static A apply(A a, A x) { return a + x; }
};
template <typename A>
struct Combine<ReduceKind::prod, A> {
  static A init() { return A(1); }
  static A apply(A a, A x) { return a * x; }
};
template <typename A>
struct Combine<ReduceKind::max, A> {
  static A init() {
    if constexpr (std::is_floating_point_v<A>) return -std::numeric_limits<A>::infinity();
    else return std::numeric_limits<A>::lowest();
  }
  static A apply(A a, A x) {
    if constexpr (std::is_floating_point_v<A>) {
      if (std::isnan(a) || std::isnan(x)) return std::numeric_limits<A>::quiet_NaN();
    }
    return x > a ? x : a;
  }
};
template <typename A>
struct Combine<ReduceKind::min, A> {
  static A init() {
    if constexpr (std::is_floating_point_v<A>) return std::numeric_limits<A>::infinity();
    else return std::numeric_limits<A>::max();
  }
  static A apply(A a, A x) {
    if constexpr (std::is_floating_point_v<A>) {
      if (std::isnan(a) || std::isnan(x)) return std::numeric_limits<A>::quiet_NaN();
    }
    return x < a ? x : a;
  }
};
template <typename A>
struct Combine<ReduceKind::all, A> {
  static A init() { return A(1); }
  static A apply(A a, A x) { return A(a != A(0) && x != A(0)); }
};
template <typename A>
struct Combine<ReduceKind::any, A> {
  static A init() { return A(0); }
  static A apply(A a, A x) { return A(a != A(0) || x != A(0)); }
};

// Dimensions (size, stride) with size-1 dims dropped and mergeable neighbours merged.
struct Dims {
  std::vector<int64_t> shape, strides;
  int64_t size() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  void push(int64_t n, int64_t st) {
    if (n == 1) return;
    if (!shape.empty() && strides.back() == st * n) {
      shape.back() *= n;
      strides.back() = st;
      return;
    }
    shape.push_back(n);
    strides.push_back(st);
  }
  // Offset of the k-th element in row-major order of these dims.
  int64_t offset(int64_t k) const {
    int64_t off = 0;
    for (int i = int(shape.size()) - 1; i >= 0; --i) {
      off += (k % shape[i]) * strides[i];
      k /= shape[i];
    }
    return off;
  }
};

// Calls f(offset) for every element of `d`, incrementally (no divisions).
template <typename F>
void walk(const Dims& d, F&& f) {
  int nd = int(d.shape.size());
  if (nd == 0) {
    f(int64_t(0));
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  int64_t off = 0;
  int64_t inner = d.shape[nd - 1], inner_stride = d.strides[nd - 1];
  for (;;) {
    for (int64_t i = 0; i < inner; ++i) f(off + i * inner_stride);
    int k = nd - 2;
    for (; k >= 0; --k) {
      off += d.strides[k];
      if (++idx[k] < d.shape[k]) break;
      off -= d.strides[k] * d.shape[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

// Contiguous run: several independent accumulators so the loop vectorizes.
template <ReduceKind K, typename A, typename T>
A reduce_run(const T* x, int64_t n) {
  using C = Combine<K, A>;
  if constexpr (K == ReduceKind::sum && std::is_same_v<A, double> && std::is_same_v<T, float>) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      for (int j = 0; j < 8; ++j) acc[j] += double(x[i + j]);
    }
    double s = 0;
    for (; i < n; ++i) s += double(x[i]);
    return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  } else {
    A a = C::init();
    for (int64_t i = 0; i < n; ++i) a = C::apply(a, to_acc<A>(x[i]));
    return a;
  }
}

template <ReduceKind K, typename T, typename Out>
void reduce_typed(const array& in, array& out, const std::vector<int>& axes) {
  using A = typename AccOf<T>::type;
  using C = Combine<K, A>;
  Dims kept, red;
  for (int i = 0; i < in.ndim(); ++i) {
    bool r = std::find(axes.begin(), axes.end(), i) != axes.end();
    (r ? red : kept).push(in.shape(i), in.strides()[i]);
  }
  const T* x = in.data<T>();
  Out* y = out.data<Out>();
  const int64_t n_out = out.size();
  const int64_t n_red = red.size();
  auto store = [](A a) -> Out {
    if constexpr (std::is_same_v<A, std::complex<double>>) {
      if constexpr (std::is_same_v<Out, complex64_t>) return complex64_t(float(a.real()), float(a.imag()));
      else if constexpr (std::is_same_v<Out, bool>) return a != A(0);
      else return detail::convert<Out>(a.real());
    } else {
      return detail::convert<Out>(a);
    }
  };
  if (n_out == 0) return;
  if (n_red == 0) {
    for (int64_t o = 0; o < n_out; ++o) y[o] = store(C::init());
    return;
  }
  const bool inner_run = red.shape.size() == 1 && red.strides[0] == 1;
  if (inner_run) {
    const int64_t R = red.shape[0];
    if (n_out == 1 && R >= (1 << 16)) {
      // One output: split the run among threads and combine the partials.
      int chunks = get_num_threads();
      std::vector<A> part(chunks, C::init());
      int64_t per = (R + chunks - 1) / chunks;
      cpu::parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
          int64_t s = c * per, t = std::min(R, s + per);
          if (s < t) part[c] = reduce_run<K, A>(x + s, t - s);
        }
      });
      A a = C::init();
      for (auto& p : part) a = C::apply(a, p);
      y[0] = store(a);
      return;
    }
    cpu::parallel_for(n_out, std::max<int64_t>(1, (1 << 15) / R), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) y[o] = store(reduce_run<K, A>(x + kept.offset(o), R));
    });
    return;
  }
  const bool rows = !kept.shape.empty() && kept.strides.back() == 1;
  if (rows) {
    // Reduced axes are outer: accumulate whole contiguous rows of length L.
    const int64_t L = kept.shape.back();
    Dims outer;
    for (size_t i = 0; i + 1 < kept.shape.size(); ++i) outer.push(kept.shape[i], kept.strides[i]);
    const int64_t n_outer = n_out / L;
    cpu::parallel_for(n_outer, 1, [&](int64_t b, int64_t e) {
      std::vector<A> acc(L);
      for (int64_t o = b; o < e; ++o) {
        std::fill(acc.begin(), acc.end(), C::init());
        const T* base = x + outer.offset(o);
        walk(red, [&](int64_t r) {
          const T* row = base + r;
          for (int64_t l = 0; l < L; ++l) acc[l] = C::apply(acc[l], to_acc<A>(row[l]));
        });
        for (int64_t l = 0; l < L; ++l) y[o * L + l] = store(acc[l]);
      }
    });
    return;
  }
  cpu::parallel_for(n_out, std::max<int64_t>(1, (1 << 15) / n_red), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* base = x + kept.offset(o);
      A a = C::init();
      walk(red, [&](int64_t r) { a = C::apply(a, to_acc<A>(base[r])); });
      y[o] = store(a);
    }
  });
}

// The output type each reduction produces for input type T (the op sets the
// output dtype by the same rule): sums and products widen small integers to
// 32 bits, all / any give bool, max / min keep T.
template <ReduceKind K, typename T>
using OutOf = std::conditional_t<
    K == ReduceKind::all || K == ReduceKind::any, bool,
    std::conditional_t<(K == ReduceKind::sum || K == ReduceKind::prod) &&
                           (std::is_integral_v<T> && sizeof(T) < 8),
                       std::conditional_t<std::is_unsigned_v<T> && !std::is_same_v<T, bool>, uint32_t,
                                          int32_t>,
                       T>>;

template <ReduceKind K>
void reduce_dispatch(const array& in, array& out, const std::vector<int>& axes) {
  dispatch_dtype(in.dtype(), [&](auto v) {
    using T = decltype(v);
    constexpr bool ordered = K == ReduceKind::max || K == ReduceKind::min;
    if constexpr (ordered && std::is_same_v<T, complex64_t>) {
      throw type_error("[max] Not supported for complex64.");
    } else {
      reduce_typed<K, T, OutOf<K, T>>(in, out, axes);
    }
  });
}

}  // namespace

void Reduce::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  const array& in = inputs[0];
  switch (kind_) {
    case ReduceKind::sum: reduce_dispatch<ReduceKind::sum>(in, out, axes_); break;
    case ReduceKind::prod: reduce_dispatch<ReduceKind::prod>(in, out, axes_); break;
    case ReduceKind::max: reduce_dispatch<ReduceKind::max>(in, out, axes_); break;
    case ReduceKind::min: reduce_dispatch<ReduceKind::min>(in, out, axes_); break;
    case ReduceKind::all: reduce_dispatch<ReduceKind::all>(in, out, axes_); break;
    case ReduceKind::any: reduce_dispatch<ReduceKind::any>(in, out, axes_); break;
  }
}

void ArgReduce::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  const array& in = inputs[0];
  Dims kept;
  for (int i = 0; i < in.ndim(); ++i) {
    if (i != axis_) kept.push(in.shape(i), in.strides()[i]);
  }
  const int64_t n = in.shape(axis_), st = in.strides()[axis_];
  uint32_t* y = out.data<uint32_t>();
  dispatch_dtype(in.dtype(), [&](auto v) {
    using T = decltype(v);
    if constexpr (std::is_same_v<T, complex64_t>) {
      throw type_error("[argmax] Not supported for complex64.");
    } else {
      const T* x = in.data<T>();
      cpu::parallel_for(out.size(), 256, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          const T* p = x + kept.offset(o);
          int64_t best = 0;
          double bv = detail::convert<double>(p[0]);
          for (int64_t i = 1; i < n && !std::isnan(bv); ++i) {
            double c = detail::convert<double>(p[i * st]);
            // NaN wins (first one), like numpy.
            if (std::isnan(c) || (is_max_ ? c > bv : c < bv)) {
              best = i;
              bv = c;
            }
          }
          y[o] = uint32_t(best);
        }
      });
    }
  });
}

void Scan::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  const array& in = inputs[0];
  Dims kept_in, kept_out;
  Strides out_strides = row_major_strides(out.shape());
  for (int i = 0; i < in.ndim(); ++i) {
    if (i == axis_) continue;
    kept_in.shape.push_back(in.shape(i));
    kept_in.strides.push_back(in.strides()[i]);
    kept_out.shape.push_back(out.shape(i));
    kept_out.strides.push_back(out_strides[i]);
  }
  const int64_t n = in.shape(axis_), sx = in.strides()[axis_], sy = out_strides[axis_];
  int64_t lines = 1;
  for (auto d : kept_in.shape) lines *= d;
  dispatch_dtype(in.dtype(), [&](auto v) {
    using T = decltype(v);
    using A = typename AccOf<T>::type;
    const T* x = in.data<T>();
    T* y = out.data<T>();
    cpu::parallel_for(lines, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
      for (int64_t l = b; l < e; ++l) {
        const T* px = x + kept_in.offset(l);
        T* py = y + kept_out.offset(l);
        A acc = is_sum_ ? A(0) : A(1);
        for (int64_t k = 0; k < n; ++k) {
          int64_t i = reverse_ ? n - 1 - k : k;
          A xi = to_acc<A>(px[i * sx]);
          if (inclusive_) acc = is_sum_ ? acc + xi : acc * xi;
          if constexpr (std::is_same_v<A, std::complex<double>>) {
            py[i * sy] = complex64_t(float(acc.real()), float(acc.imag()));
          } else {
            py[i * sy] = detail::convert<T>(acc);
          }
          if (!inclusive_) acc = is_sum_ ? acc + xi : acc * xi;
        }
      }
    });
  });
}

}  // namespace ember
