// Bindings of the unary family.
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

#define UNARY(name, doc) \
  def_op(m, #name, [](ArrayArg a) { return name(to_array(a)); }, "a"_a, doc)
// The same, also as a method of array (x.exp() is mx.exp(x)), for the names mlx's array has.
#define UNARY_METHOD(name, doc) \
  def_op_and_method(m, #name, [](ArrayArg a) { return name(to_array(a)); }, doc)

void init_ops_unary(nb::module_& m) {
  UNARY_METHOD(abs, "Elementwise absolute value.");
  UNARY(trunc, "Elementwise rounding toward zero (integers unchanged).");
  def_op(m, "positive", [](ArrayArg a) { return to_array(a); }, "a"_a,
        "Elementwise +a: the input itself.");
  UNARY(negative, "Elementwise negation.");
  UNARY(sign, "Elementwise sign: -1, 0 or 1.");
  UNARY_METHOD(square, "Elementwise x * x.");
  UNARY_METHOD(sqrt, "Elementwise square root.");
  UNARY_METHOD(rsqrt, "Elementwise 1 / sqrt(x).");
  UNARY_METHOD(reciprocal, "Elementwise 1 / x.");
  UNARY_METHOD(exp, "Elementwise e^x.");
  UNARY(expm1, "Elementwise e^x - 1, accurate for small x.");
  UNARY_METHOD(log, "Elementwise natural logarithm.");
  UNARY_METHOD(log1p, "Elementwise log(1 + x), accurate for small x.");
  UNARY_METHOD(log2, "Elementwise base-2 logarithm.");
  UNARY_METHOD(log10, "Elementwise base-10 logarithm.");
  UNARY_METHOD(sin, "Elementwise sine.");
  UNARY_METHOD(cos, "Elementwise cosine.");
  UNARY(tan, "Elementwise tangent.");
  UNARY(arcsin, "Elementwise inverse sine.");
  UNARY(arccos, "Elementwise inverse cosine.");
  UNARY(arctan, "Elementwise inverse tangent.");
  UNARY(sinh, "Elementwise hyperbolic sine.");
  UNARY(cosh, "Elementwise hyperbolic cosine.");
  UNARY(tanh, "Elementwise hyperbolic tangent.");
  UNARY(arcsinh, "Elementwise inverse hyperbolic sine.");
  UNARY(arccosh, "Elementwise inverse hyperbolic cosine.");
  UNARY(arctanh, "Elementwise inverse hyperbolic tangent.");
  UNARY(sigmoid, "Elementwise logistic sigmoid 1 / (1 + e^-x).");
  UNARY(erf, "Elementwise error function.");
  UNARY(erfinv, "Elementwise inverse of erf.");
  UNARY(floor, "Elementwise floor.");
  UNARY(ceil, "Elementwise ceiling.");
  UNARY(logical_not, "Elementwise logical not; returns bool.");
  UNARY(isnan, "True where the value is NaN.");
  UNARY(isinf, "True where the value is +inf or -inf.");
  UNARY(bitwise_invert, "Elementwise bitwise not of integers.");
  UNARY(relu, "Elementwise max(x, 0).");
  UNARY(stop_gradient, "Returns x unchanged, but blocks gradients through it at every order.");
  def_op_and_method(m, "round", [](ArrayArg a, int decimals) { return round(to_array(a), decimals); },
                    "Rounds to the given number of decimals (half to even).", "decimals"_a = 0);
  UNARY(isfinite, "True where the value is neither NaN nor infinite.");
  UNARY(isposinf, "True where the value is +inf.");
  UNARY(isneginf, "True where the value is -inf.");
  UNARY(degrees, "Converts angles from radians to degrees.");
  UNARY(radians, "Converts angles from degrees to radians.");
  UNARY(real, "The real part (float32 for complex64 input; the input itself otherwise).");
  UNARY(imag, "The imaginary part (float32 for complex64 input; zeros otherwise).");
  UNARY(conjugate, "Elementwise complex conjugate (the identity for real dtypes).");
  def_op_and_method(m, "conj", [](ArrayArg a) { return conjugate(to_array(a)); },
                    "Elementwise complex conjugate; same as conjugate.");
  def_op(m, "nan_to_num",
        [](ArrayArg a, double nan, std::optional<double> posinf, std::optional<double> neginf) {
          return nan_to_num(to_array(a), nan, posinf, neginf);
        },
        "a"_a, "nan"_a = 0.0, "posinf"_a = nb::none(), "neginf"_a = nb::none(),
        "Replaces NaN, +inf and -inf with finite numbers.\n\n"
        "Args:\n  a: input array.\n  nan: value for NaN.\n"
        "  posinf, neginf: values for +inf / -inf (default: the dtype's largest and lowest).\n\n"
        "Returns:\n  An array of a's dtype; integer and bool arrays are returned unchanged.");
}
