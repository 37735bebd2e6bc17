// C++ tests of the function transforms on small functions with known derivatives:
// grad, value_and_grad, vjp, jvp and vmap, and one nesting (grad of grad).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <ember/ember.h>

#include "helpers.h"

using namespace ember;
using ember_test::values;

namespace {
// f(x) = x^3 + sin(x), on a scalar: f'(x) = 3x^2 + cos(x), f''(x) = 6x - sin(x).
std::vector<array> cubic(const std::vector<array>& in) {
  const array& x = in[0];
  return {add(multiply(multiply(x, x), x), sin(x))};
}
}  // namespace

TEST_CASE("grad and value_and_grad of a scalar function") {
  array x(1.5f);
  auto g = grad(cubic)({x});
  REQUIRE(g.size() == 1);
  CHECK(g[0].item<float>() == doctest::Approx(3 * 1.5 * 1.5 + std::cos(1.5)).epsilon(1e-5));

  auto [vals, grads] = value_and_grad(cubic)({x});
  CHECK(vals[0].item<float>() == doctest::Approx(1.5 * 1.5 * 1.5 + std::sin(1.5)).epsilon(1e-5));
  CHECK(grads[0].item<float>() == doctest::Approx(g[0].item<float>()));

  // Rules are written with ops, so the gradient can be differentiated again.
  auto gg = grad(grad(cubic))({x});
  CHECK(gg[0].item<float>() == doctest::Approx(6 * 1.5 - std::sin(1.5)).epsilon(1e-5));
}

TEST_CASE("vjp and jvp of an elementwise function") {
  array x{0.0f, 1.0f, 2.0f};
  auto f = [](const std::vector<array>& in) { return std::vector<array>{multiply(in[0], exp(in[0]))}; };
  // d/dx x e^x = (1 + x) e^x
  auto [outs, cts] = vjp(f, {x}, {ones({3})});
  auto [outs2, tans] = jvp(f, {x}, {ones({3})});
  for (int i = 0; i < 3; ++i) {
    double d = (1.0 + i) * std::exp(double(i));
    CHECK(values<float>(cts[0])[i] == doctest::Approx(d).epsilon(1e-5));
    CHECK(values<float>(tans[0])[i] == doctest::Approx(d).epsilon(1e-5));
    CHECK(values<float>(outs[0])[i] == doctest::Approx(i * std::exp(double(i))).epsilon(1e-5));
  }
  CHECK(values<float>(outs2[0]) == values<float>(outs[0]));
}

TEST_CASE("vmap maps over the requested axis and broadcasts unmapped inputs") {
  array xs = reshape(arange(0, 6, 1, Dtype::float32), {3, 2});
  array w{1.0f, 10.0f, 100.0f};
  auto f = [](const std::vector<array>& in) { return std::vector<array>{multiply(in[0], in[1])}; };
  // Map over the columns of xs (axis 1), w unmapped, batch axis of the output first.
  auto out = vmap(f, {1, std::nullopt}, {0})({xs, w});
  REQUIRE(out.size() == 1);
  CHECK(out[0].shape() == Shape{2, 3});
  // out[j, i] = xs[i, j] * w[i]
  CHECK(values<float>(out[0]) == std::vector<float>{0, 20, 400, 1, 30, 500});
  // The same with the batch axis of the output last.
  auto out_last = vmap(f, {1, std::nullopt}, {1})({xs, w});
  CHECK(out_last[0].shape() == Shape{3, 2});
  CHECK(values<float>(out_last[0]) == std::vector<float>{0, 1, 20, 30, 400, 500});
}
