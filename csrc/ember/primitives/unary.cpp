// Transform rules of the unary family. The base class derives jvp, vjp and
// vmap from each primitive's derivative; below it, one formula per primitive.
#include "ember/primitives/unary.h"

#include <cmath>

#include "ember/export/fields.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"

namespace ember {

using detail::scalar_like;

array UnaryElementwise::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                            const std::vector<int>&, const array& out) {
  return multiply(tangents[0], derivative(primals[0], out));
}

std::vector<array> UnaryElementwise::vjp(const std::vector<array>& primals, const array& cotangent,
                                         const std::vector<int>&, const array& out) {
  // Real-valued rules; a complex cotangent would need conj(f'(x)).
  return {multiply(cotangent, derivative(primals[0], out))};
}

std::pair<array, int> UnaryElementwise::vmap(const std::vector<array>& inputs,
                                             const std::vector<BatchAxis>& axes) {
  return {apply(inputs[0]), *axes[0]};
}

// Constant-derivative rules return a 0-d array: multiply broadcasts it.
#define EMBER_ZERO_DERIVATIVE(Name) \
  array Name::derivative(const array& x, const array&) const { return scalar_like(0.0, x); }

// d|x| = sign(x)
array Abs::derivative(const array& x, const array&) const { return sign(x); }
array Abs::apply(const array& x) const { return abs(x); }
// d(-x) = -1
array Negative::derivative(const array& x, const array&) const { return scalar_like(-1.0, x); }
array Negative::apply(const array& x) const { return negative(x); }
EMBER_ZERO_DERIVATIVE(Sign)
array Sign::apply(const array& x) const { return sign(x); }
// d x^2 = 2x
array Square::derivative(const array& x, const array&) const {
  return multiply(x, scalar_like(2.0, x));
}
array Square::apply(const array& x) const { return square(x); }
// d sqrt(x) = 1 / (2 sqrt(x))
array Sqrt::derivative(const array&, const array& y) const {
  return divide(scalar_like(0.5, y), y);
}
array Sqrt::apply(const array& x) const { return sqrt(x); }
// d x^-1/2 = -1/2 x^-3/2 = -0.5 y / x
array Rsqrt::derivative(const array& x, const array& y) const {
  return multiply(scalar_like(-0.5, y), divide(y, x));
}
array Rsqrt::apply(const array& x) const { return rsqrt(x); }
// d 1/x = -1/x^2
array Reciprocal::derivative(const array&, const array& y) const { return negative(square(y)); }
array Reciprocal::apply(const array& x) const { return reciprocal(x); }
// d e^x = e^x
array Exp::derivative(const array&, const array& y) const { return y; }
array Exp::apply(const array& x) const { return exp(x); }
// d (e^x - 1) = e^x
array Expm1::derivative(const array&, const array& y) const { return add(y, scalar_like(1.0, y)); }
array Expm1::apply(const array& x) const { return expm1(x); }
// d log x = 1/x
array Log::derivative(const array& x, const array&) const { return reciprocal(x); }
array Log::apply(const array& x) const { return log(x); }
// d log(1 + x) = 1/(1 + x)
array Log1p::derivative(const array& x, const array&) const {
  return reciprocal(add(x, scalar_like(1.0, x)));
}
array Log1p::apply(const array& x) const { return log1p(x); }
// d log2 x = 1/(x ln 2)
array Log2::derivative(const array& x, const array&) const {
  return reciprocal(multiply(x, scalar_like(M_LN2, x)));
}
array Log2::apply(const array& x) const { return log2(x); }
// d log10 x = 1/(x ln 10)
array Log10::derivative(const array& x, const array&) const {
  return reciprocal(multiply(x, scalar_like(M_LN10, x)));
}
array Log10::apply(const array& x) const { return log10(x); }
// d sin = cos
array Sin::derivative(const array& x, const array&) const { return cos(x); }
array Sin::apply(const array& x) const { return sin(x); }
// d cos = -sin
array Cos::derivative(const array& x, const array&) const { return negative(sin(x)); }
array Cos::apply(const array& x) const { return cos(x); }
// d tan = 1 + tan^2
array Tan::derivative(const array&, const array& y) const {
  return add(scalar_like(1.0, y), square(y));
}
array Tan::apply(const array& x) const { return tan(x); }
// d arcsin = 1/sqrt(1 - x^2)
array ArcSin::derivative(const array& x, const array&) const {
  return rsqrt(subtract(scalar_like(1.0, x), square(x)));
}
array ArcSin::apply(const array& x) const { return arcsin(x); }
// d arccos = -1/sqrt(1 - x^2)
array ArcCos::derivative(const array& x, const array&) const {
  return negative(rsqrt(subtract(scalar_like(1.0, x), square(x))));
}
array ArcCos::apply(const array& x) const { return arccos(x); }
// d arctan = 1/(1 + x^2)
array ArcTan::derivative(const array& x, const array&) const {
  return reciprocal(add(scalar_like(1.0, x), square(x)));
}
array ArcTan::apply(const array& x) const { return arctan(x); }
// d sinh = cosh
array Sinh::derivative(const array& x, const array&) const { return cosh(x); }
array Sinh::apply(const array& x) const { return sinh(x); }
// d cosh = sinh
array Cosh::derivative(const array& x, const array&) const { return sinh(x); }
array Cosh::apply(const array& x) const { return cosh(x); }
// d tanh = 1 - tanh^2
array Tanh::derivative(const array&, const array& y) const {
  return subtract(scalar_like(1.0, y), square(y));
}
array Tanh::apply(const array& x) const { return tanh(x); }
// d arcsinh = 1/sqrt(x^2 + 1)
array ArcSinh::derivative(const array& x, const array&) const {
  return rsqrt(add(square(x), scalar_like(1.0, x)));
}
array ArcSinh::apply(const array& x) const { return arcsinh(x); }
// d arccosh = 1/sqrt(x^2 - 1)
array ArcCosh::derivative(const array& x, const array&) const {
  return rsqrt(subtract(square(x), scalar_like(1.0, x)));
}
array ArcCosh::apply(const array& x) const { return arccosh(x); }
// d arctanh = 1/(1 - x^2)
array ArcTanh::derivative(const array& x, const array&) const {
  return reciprocal(subtract(scalar_like(1.0, x), square(x)));
}
array ArcTanh::apply(const array& x) const { return arctanh(x); }
// d sigmoid = s (1 - s)
array Sigmoid::derivative(const array&, const array& y) const {
  return multiply(y, subtract(scalar_like(1.0, y), y));
}
array Sigmoid::apply(const array& x) const { return sigmoid(x); }
// d erf = 2/sqrt(pi) exp(-x^2)
array Erf::derivative(const array& x, const array&) const {
  return multiply(scalar_like(M_2_SQRTPI, x), exp(negative(square(x))));
}
array Erf::apply(const array& x) const { return erf(x); }
// d erfinv = sqrt(pi)/2 exp(erfinv(x)^2)
array ErfInv::derivative(const array&, const array& y) const {
  return multiply(scalar_like(0.886226925452758, y), exp(square(y)));
}
array ErfInv::apply(const array& x) const { return erfinv(x); }
EMBER_ZERO_DERIVATIVE(Floor)
array Floor::apply(const array& x) const { return floor(x); }
EMBER_ZERO_DERIVATIVE(Ceil)
array Ceil::apply(const array& x) const { return ceil(x); }
EMBER_ZERO_DERIVATIVE(Round)
array Round::apply(const array& x) const { return round(x); }
EMBER_ZERO_DERIVATIVE(LogicalNot)
array LogicalNot::apply(const array& x) const { return logical_not(x); }
EMBER_ZERO_DERIVATIVE(IsNan)
array IsNan::apply(const array& x) const { return isnan(x); }
EMBER_ZERO_DERIVATIVE(IsInf)
array IsInf::apply(const array& x) const { return isinf(x); }
EMBER_ZERO_DERIVATIVE(BitwiseInvert)
array BitwiseInvert::apply(const array& x) const { return bitwise_invert(x); }
#undef EMBER_ZERO_DERIVATIVE

// StopGradient: identity forward, zero in both directions.
array StopGradient::jvp(const std::vector<array>& primals, const std::vector<array>&,
                        const std::vector<int>&, const array&) {
  return zeros_like(primals[0]);
}
std::vector<array> StopGradient::vjp(const std::vector<array>& primals, const array&,
                                     const std::vector<int>&, const array&) {
  return {zeros_like(primals[0])};
}
std::pair<array, int> StopGradient::vmap(const std::vector<array>& inputs,
                                         const std::vector<BatchAxis>& axes) {
  return {stop_gradient(inputs[0]), *axes[0]};
}

// AsType: the cotangent is cast back to the input's dtype.
array AsType::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                  const std::vector<int>&, const array&) {
  return astype(tangents[0], dtype_);
}
std::vector<array> AsType::vjp(const std::vector<array>& primals, const array& cotangent,
                               const std::vector<int>&, const array&) {
  return {astype(cotangent, primals[0].dtype())};
}
array AsType::derivative(const array& x, const array&) const { return scalar_like(1.0, x); }
array AsType::apply(const array& x) const { return astype(x, dtype_); }
bool AsType::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const AsType&>(other).dtype_ == dtype_;
}

// ---- export: loaders rebuild each node through its op ----
void AsType::serialize(ExportFields& f) const { f.add_dtype(dtype_); }

namespace {
template <typename P>
std::vector<array> load_unary(ExportFields::Reader&, const std::vector<array>& in,
                              const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 1);
  return {P().apply(in[0])};
}

#define EMBER_UNARY_LOADER(Name) {#Name, load_unary<Name>},
const detail::RegisterLoaders kLoaders{
    EMBER_UNARY_PRIMITIVES(EMBER_UNARY_LOADER)
    {"StopGradient", [](ExportFields::Reader&, const std::vector<array>& in,
                        const std::vector<ExportSpec>&) {
       detail::expect_inputs(in, 1);
       return std::vector<array>{stop_gradient(in[0])};
     }},
    {"AsType", [](ExportFields::Reader& f, const std::vector<array>& in,
                  const std::vector<ExportSpec>&) {
       detail::expect_inputs(in, 1);
       return std::vector<array>{astype(in[0], f.dtype("dtype"))};
     }},
};
#undef EMBER_UNARY_LOADER
}  // namespace

}  // namespace ember
