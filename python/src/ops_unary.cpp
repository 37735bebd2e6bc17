// Bindings of the unary family.
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

#define UNARY(name, doc) \
  m.def(#name, [](nb::handle a) { return name(to_array(a)); }, "a"_a, doc)

void init_ops_unary(nb::module_& m) {
  UNARY(abs, "Elementwise absolute value.");
  UNARY(negative, "Elementwise negation.");
  UNARY(sign, "Elementwise sign: -1, 0 or 1.");
  UNARY(square, "Elementwise x * x.");
  UNARY(sqrt, "Elementwise square root.");
  UNARY(rsqrt, "Elementwise 1 / sqrt(x).");
  UNARY(reciprocal, "Elementwise 1 / x.");
  UNARY(exp, "Elementwise e^x.");
  UNARY(expm1, "Elementwise e^x - 1, accurate for small x.");
  UNARY(log, "Elementwise natural logarithm.");
  UNARY(log1p, "Elementwise log(1 + x), accurate for small x.");
  UNARY(log2, "Elementwise base-2 logarithm.");
  UNARY(log10, "Elementwise base-10 logarithm.");
  UNARY(sin, "Elementwise sine.");
  UNARY(cos, "Elementwise cosine.");
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
  m.def("round", [](nb::handle a, int decimals) { return round(to_array(a), decimals); }, "a"_a,
        "decimals"_a = 0, "Rounds to the given number of decimals (half to even).");
  m.def("isfinite", [](nb::handle a) {
    array x = to_array(a);
    return logical_not(logical_or(isnan(x), isinf(x)));
  }, "a"_a, "True where the value is neither NaN nor infinite.");
}
