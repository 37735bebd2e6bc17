// CPU kernels of the binary family (and where): dtype dispatch, then the
// shared elementwise loops with the op's functor from binary_ops.h.
#include "ember/backend/cpu/binary_ops.h"
#include "ember/backend/common/convert.h"
#include "ember/backend/cpu/elementwise.h"
#include "ember/backend/cpu/simd.h"
#include "ember/backend/cpu/simd_half.h"
#include "ember/errors.h"
#include "ember/primitives/binary.h"

namespace ember {

namespace {

// The vectorized float32 loops of each op that has them (simd.h).
template <typename Op>
constexpr int kSimdBinary = -1;
#define EMBER_SIMD_BINARY(Name) \
  template <>               \
  constexpr int kSimdBinary<cpu::ops::Name> = int(cpu::simd::Binary::Name);
EMBER_SIMD_BINARY(Add)
EMBER_SIMD_BINARY(Subtract)
EMBER_SIMD_BINARY(Multiply)
EMBER_SIMD_BINARY(Divide)
EMBER_SIMD_BINARY(Maximum)
EMBER_SIMD_BINARY(Minimum)
#undef EMBER_SIMD_BINARY

// Ops that call the math library per element are worth threads on fewer elements.
template <typename Op>
constexpr bool kCostlyBinary = std::is_same_v<Op, cpu::ops::Power> ||
                               std::is_same_v<Op, cpu::ops::ArcTan2> ||
                               std::is_same_v<Op, cpu::ops::LogAddExp> ||
                               std::is_same_v<Op, cpu::ops::Remainder>;
template <typename Op>
constexpr int64_t kBinaryGrain = kCostlyBinary<Op> ? cpu::kParallelGrainLibm : cpu::kParallelGrain;

// Both inputs share one dtype. The output type is the functor's result
// (bool for comparisons); halves compute through float.
template <typename Op>
void binary_eval(const char* name, const array& a, const array& b, array& out, Op op = Op{}) {
  dispatch_dtype(a.dtype(), [&](auto v) {
    using T = decltype(v);
    if constexpr (detail::is_half_v<T>) {
      if constexpr (std::is_invocable_v<Op, float, float>) {
        using R = std::invoke_result_t<Op, float, float>;
        using Out = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
        auto scalar = [op](T x, T y) { return Out(op(float(x), float(y))); };
        if constexpr (std::is_same_v<R, float> && kSimdBinary<Op> >= 0) {
          // Through the float kernels, a block at a time (simd_half.h).
          using cpu::simd::Layout;
          using Run = cpu::simd::HalfBinary<T>;
          const auto id = cpu::simd::Binary(kSimdBinary<Op>);
          const cpu::BinaryRuns<Run> runs{
              Run{cpu::simd::binary_fn(id, Layout::VV), Layout::VV},
              Run{cpu::simd::binary_fn(id, Layout::VS), Layout::VS},
              Run{cpu::simd::binary_fn(id, Layout::SV), Layout::SV}};
          cpu::binary_kernel<T, T, Out>(a, b, out, scalar, runs, kBinaryGrain<Op>);
        } else {
          cpu::binary_kernel<T, T, Out>(a, b, out, scalar, cpu::BinaryRuns<std::nullptr_t>{},
                                        kBinaryGrain<Op>);
        }
        return;
      }
    } else if constexpr (std::is_invocable_v<Op, T, T>) {
      using R = std::invoke_result_t<Op, T, T>;
      cpu::BinaryRuns<cpu::BinaryRun<T, T, R>> runs;
      if constexpr (std::is_same_v<T, float> && std::is_same_v<R, float> &&
                    kSimdBinary<Op> >= 0) {
        using cpu::simd::Layout;
        const auto id = cpu::simd::Binary(kSimdBinary<Op>);
        runs = {cpu::simd::binary_fn(id, Layout::VV), cpu::simd::binary_fn(id, Layout::VS),
                cpu::simd::binary_fn(id, Layout::SV)};
      }
      cpu::binary_kernel<T, T, R>(a, b, out, op, runs, kBinaryGrain<Op>);
      return;
    }
    throw type_error(msg("[", name, "] Not supported for dtype ", dtype_name(a.dtype()), "."));
  });
}

// The block loop of a fused kernel (compile): same functors and vectorized runs as
// binary_eval, on raw contiguous blocks; a stride-0 operand is one value repeated.
template <typename Op>
BinaryBlockFn binary_block(Dtype in) {
  return dispatch_dtype(in, [](auto v) -> BinaryBlockFn {
    using T = decltype(v);
    if constexpr (detail::is_half_v<T>) {
      if constexpr (std::is_invocable_v<Op, float, float>) {
        return [](const void* av, int64_t sa, const void* bv, int64_t sb, void* yv, int64_t n) {
          using R = std::invoke_result_t<Op, float, float>;
          using Out = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
          const T* a = static_cast<const T*>(av);
          const T* b = static_cast<const T*>(bv);
          Out* y = static_cast<Out*>(yv);
          Op op;
          if (sa == 0 && sb == 0) {
            std::fill_n(y, n, Out(op(float(a[0]), float(b[0]))));
            return;
          }
          if constexpr (std::is_same_v<R, float> && kSimdBinary<Op> >= 0) {
            using cpu::simd::Layout;
            const Layout l = sa == 0 ? Layout::SV : sb == 0 ? Layout::VS : Layout::VV;
            const auto id = cpu::simd::Binary(kSimdBinary<Op>);
            return cpu::simd::HalfBinary<T>{cpu::simd::binary_fn(id, l), l}(a, b, y, n);
          }
          for (int64_t i = 0; i < n; ++i) y[i] = Out(op(float(a[i * sa]), float(b[i * sb])));
        };
      }
    } else if constexpr (std::is_invocable_v<Op, T, T>) {
      return [](const void* av, int64_t sa, const void* bv, int64_t sb, void* yv, int64_t n) {
        using R = std::invoke_result_t<Op, T, T>;
        const T* a = static_cast<const T*>(av);
        const T* b = static_cast<const T*>(bv);
        R* y = static_cast<R*>(yv);
        Op op;
        if (sa == 0 && sb == 0) {
            std::fill_n(y, n, R(op(a[0], b[0])));
            return;
          }
        if constexpr (std::is_same_v<T, float> && std::is_same_v<R, float> && kSimdBinary<Op> >= 0) {
          using cpu::simd::Layout;
          const Layout l = sa == 0 ? Layout::SV : sb == 0 ? Layout::VS : Layout::VV;
          return cpu::simd::binary_fn(cpu::simd::Binary(kSimdBinary<Op>), l)(a, b, y, n);
        }
        if (sb == 0) {
          const T vb = b[0];
          for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], vb);
        } else if (sa == 0) {
          const T va = a[0];
          for (int64_t i = 0; i < n; ++i) y[i] = op(va, b[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], b[i]);
        }
      };
    }
    return nullptr;
  });
}

}  // namespace

#define EMBER_BINARY_EVAL(Name)                                        \
  void Name::eval_cpu(const std::vector<array>& inputs, array& out) {  \
    binary_eval<cpu::ops::Name>(#Name, inputs[0], inputs[1], out);     \
  }                                                                    \
  BinaryBlockFn Name::block_fn(Dtype in) const { return binary_block<cpu::ops::Name>(in); }

EMBER_BINARY_EVAL(Add)
EMBER_BINARY_EVAL(Subtract)
EMBER_BINARY_EVAL(Multiply)
EMBER_BINARY_EVAL(Divide)
EMBER_BINARY_EVAL(FloorDivide)
EMBER_BINARY_EVAL(Remainder)
EMBER_BINARY_EVAL(Power)
EMBER_BINARY_EVAL(Maximum)
EMBER_BINARY_EVAL(Minimum)
EMBER_BINARY_EVAL(ArcTan2)
EMBER_BINARY_EVAL(LogAddExp)
EMBER_BINARY_EVAL(Equal)
EMBER_BINARY_EVAL(NotEqual)
EMBER_BINARY_EVAL(Less)
EMBER_BINARY_EVAL(LessEqual)
EMBER_BINARY_EVAL(Greater)
EMBER_BINARY_EVAL(GreaterEqual)
EMBER_BINARY_EVAL(LogicalAnd)
EMBER_BINARY_EVAL(LogicalOr)
EMBER_BINARY_EVAL(BitwiseAnd)
EMBER_BINARY_EVAL(BitwiseOr)
EMBER_BINARY_EVAL(BitwiseXor)
EMBER_BINARY_EVAL(LeftShift)
EMBER_BINARY_EVAL(RightShift)
#undef EMBER_BINARY_EVAL

void Select::eval_cpu(const std::vector<array>& inputs, array& out) {
  dispatch_dtype(out.dtype(), [&](auto v) {
    using T = decltype(v);
    cpu::ternary_kernel<bool, T, T, T>(inputs[0], inputs[1], inputs[2], out,
                                       [](bool c, T x, T y) { return c ? x : y; });
  });
}

}  // namespace ember
