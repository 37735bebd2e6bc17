// C++ tests of the ops, a few per family: unary, binary (broadcasting, promotion), shape
// (views and copies), creation, matmul, convolution. Expected values are computed here with <cmath>.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <ember/ember.h>

#include "helpers.h"

using namespace ember;
using ember_test::values;

namespace {
// Checks every element against the expected values, to a relative tolerance.
void check_close(const array& a, const std::vector<double>& expected, double rtol = 1e-6) {
  auto got = values<double>(a);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i] == doctest::Approx(expected[i]).epsilon(rtol));
  }
}
}  // namespace

TEST_CASE("unary ops match <cmath>") {
  std::vector<float> xs = {0.25f, 0.5f, 1.0f, 2.0f, 3.5f};
  array x(xs, {5});
  auto expect = [&](double (*f)(double)) {
    std::vector<double> out;
    for (float v : xs) out.push_back(f(v));
    return out;
  };
  check_close(exp(x), expect([](double v) { return std::exp(v); }));
  check_close(log(x), expect([](double v) { return std::log(v); }));
  check_close(sqrt(x), expect([](double v) { return std::sqrt(v); }));
  check_close(sin(x), expect([](double v) { return std::sin(v); }));
  check_close(tanh(x), expect([](double v) { return std::tanh(v); }));
  check_close(sigmoid(x), expect([](double v) { return 1.0 / (1.0 + std::exp(-v)); }));
  check_close(negative(x), expect([](double v) { return -v; }));

  // Integer inputs: abs/square keep the dtype, exp promotes to float32.
  array i{-3, 0, 4};
  CHECK(abs(i).dtype() == Dtype::int32);
  CHECK(values<int>(abs(i)) == std::vector<int>{3, 0, 4});
  CHECK(values<int>(square(i)) == std::vector<int>{9, 0, 16});
  CHECK(exp(i).dtype() == Dtype::float32);
  // floor keeps ints; round is half to even.
  CHECK(floor(i).dtype() == Dtype::int32);
  CHECK(values<float>(round(array{0.5f, 1.5f, 2.5f, -0.5f})) ==
        std::vector<float>{0.0f, 2.0f, 2.0f, -0.0f});
  CHECK(values<bool>(isnan(array{1.0f, NAN})) == std::vector<bool>{false, true});
}

TEST_CASE("binary ops broadcast and promote") {
  array col({1, 2}, {2, 1}, Dtype::float32);
  array row({10, 20, 30}, {1, 3}, Dtype::float32);
  array s = add(col, row);
  CHECK(s.shape() == Shape{2, 3});
  check_close(s, {11, 21, 31, 12, 22, 32});
  check_close(subtract(row, col), {9, 19, 29, 8, 18, 28});
  check_close(multiply(col, row), {10, 20, 30, 20, 40, 60});
  check_close(col * row + array(1.0f), {11, 21, 31, 21, 41, 61});

  // True division of ints gives float32; floor_divide and remainder follow Python's signs.
  array a{7, -7};
  array b{2, 2};
  CHECK(divide(a, b).dtype() == Dtype::float32);
  check_close(divide(a, b), {3.5, -3.5});
  CHECK(values<int>(floor_divide(a, b)) == std::vector<int>{3, -4});
  CHECK(values<int>(remainder(a, b)) == std::vector<int>{1, 1});
  CHECK(values<int>(maximum(a, b)) == std::vector<int>{7, 2});
  check_close(power(array{2.0f, 3.0f}, array(2.0f)), {4, 9});

  array cmp = greater(a, array(0));
  CHECK(cmp.dtype() == Dtype::bool_);
  CHECK(values<bool>(cmp) == std::vector<bool>{true, false});
  CHECK(values<int>(where(cmp, a, array(0))) == std::vector<int>{7, 0});
  check_close(clip(array{-1.0f, 0.5f, 3.0f}, array(0.0f), array(1.0f)), {0, 0.5, 1});
  CHECK_THROWS_AS(add(zeros({2, 3}), zeros({3, 2})), std::invalid_argument);
}

TEST_CASE("shape ops: views keep values, inferred dims, errors") {
  array x = arange(0, 6, 1, Dtype::int32);
  array m = reshape(x, {2, -1});
  CHECK(m.shape() == Shape{2, 3});
  CHECK(values<int>(transpose(m)) == std::vector<int>{0, 3, 1, 4, 2, 5});
  CHECK(values<int>(swapaxes(m, 0, 1)) == std::vector<int>{0, 3, 1, 4, 2, 5});
  CHECK(expand_dims(m, {0, 3}).shape() == Shape{1, 2, 3, 1});
  CHECK(squeeze(expand_dims(m, {0, 3})).shape() == Shape{2, 3});
  CHECK(flatten(m).shape() == Shape{6});
  CHECK(moveaxis(zeros({2, 3, 4}), 0, -1).shape() == Shape{3, 4, 2});
  array b = broadcast_to(array{1, 2, 3}, {2, 3});
  CHECK(values<int>(b) == std::vector<int>{1, 2, 3, 1, 2, 3});
  // An op over a view computes from the right elements.
  CHECK(values<int>(add(transpose(m), array(1))) == std::vector<int>{1, 4, 2, 5, 3, 6});
  auto both = broadcast_arrays({zeros({3, 1}), zeros({1, 4})});
  CHECK(both[0].shape() == Shape{3, 4});
  CHECK(both[1].shape() == Shape{3, 4});
  CHECK_THROWS_AS(reshape(x, {4, -1}), std::invalid_argument);
  CHECK_THROWS_AS(reshape(x, {-1, -1}), std::invalid_argument);
  CHECK_THROWS_AS(broadcast_to(array{1, 2, 3}, {2, 2}), std::invalid_argument);
}

TEST_CASE("creation ops") {
  CHECK(values<float>(zeros({2, 2})) == std::vector<float>(4, 0.0f));
  CHECK(ones({3}, Dtype::int64).dtype() == Dtype::int64);
  CHECK(values<int64_t>(ones({3}, Dtype::int64)) == std::vector<int64_t>{1, 1, 1});
  CHECK(values<float>(full({2}, array(1.5f))) == std::vector<float>{1.5f, 1.5f});
  CHECK(full({2}, array(1.5f), Dtype::float64).dtype() == Dtype::float64);
  // numpy's length rule for arange.
  CHECK(arange(0, 1, 0.25, Dtype::float32).shape() == Shape{4});
  CHECK(values<int>(arange(5, 0, -2, Dtype::int32)) == std::vector<int>{5, 3, 1});
  check_close(linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1});
  CHECK(values<float>(eye(2, 3, 1)) == std::vector<float>{0, 1, 0, 0, 0, 1});
  CHECK(values<float>(tri(3)) == std::vector<float>{1, 0, 0, 1, 1, 0, 1, 1, 1});
  array m = reshape(arange(1, 10, 1, Dtype::float32), {3, 3});
  CHECK(values<float>(triu(m)) == std::vector<float>{1, 2, 3, 0, 5, 6, 0, 0, 9});
  CHECK(values<int>(astype(array{1.7f, -1.7f}, Dtype::int32)) == std::vector<int>{1, -1});
  CHECK(values<float>(zeros_like(m)) == std::vector<float>(9, 0.0f));
  CHECK_THROWS_AS(zeros({-1}), std::invalid_argument);
}

TEST_CASE("matmul against a triple loop, with batching and broadcasting") {
  const int M = 3, K = 4, N = 5;
  std::vector<float> av(2 * M * K), bv(K * N);
  for (size_t i = 0; i < av.size(); ++i) av[i] = float(i % 7) - 3.0f;
  for (size_t i = 0; i < bv.size(); ++i) bv[i] = float(i % 5) * 0.5f;
  array a(av, {2, M, K});
  array b(bv, {K, N});
  array c = matmul(a, b);  // b broadcasts over a's batch
  CHECK(c.shape() == Shape{2, M, N});
  std::vector<double> expected;
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) {
        double s = 0;
        for (int k = 0; k < K; ++k) s += av[(t * M + i) * K + k] * bv[k * N + j];
        expected.push_back(s);
      }
  check_close(c, expected, 1e-5);
  // Transposed (strided) inputs and float64 give the same values.
  check_close(matmul(astype(a, Dtype::float64), transpose(transpose(b))), expected, 1e-12);
  // Integers take the non-BLAS path.
  CHECK(values<int>(matmul(array({1, 2, 3, 4}, {2, 2}), array({5, 6, 7, 8}, {2, 2}))) ==
        std::vector<int>{19, 22, 43, 50});
  // 1-d operands follow numpy: (K,) @ (K, N) -> (N,).
  CHECK(matmul(ones({K}), b).shape() == Shape{N});
  CHECK_THROWS_WITH_AS(matmul(a, ones({K + 1, N})), doctest::Contains("[matmul]"),
                       std::invalid_argument);
  CHECK_THROWS_AS(matmul(array(1.0f), b), std::invalid_argument);
}

TEST_CASE("convolutions: conv1d against a direct loop, its gradients are convolutions") {
  // x (1, 5, 2), w (3, 2, 2): out[o, c] = sum_{k, j} xpad[o + k, j] w[c, k, j], padding 1
  std::vector<float> xv(10), wv(12);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = float(i % 4) - 1.5f;
  for (size_t i = 0; i < wv.size(); ++i) wv[i] = float(i % 3) * 0.5f - 0.25f;
  array x(xv, {1, 5, 2}), w(wv, {3, 2, 2});
  array y = conv1d(x, w, /*stride=*/1, /*padding=*/1);
  CHECK(y.shape() == Shape{1, 6, 3});
  std::vector<double> expected;
  for (int o = 0; o < 6; ++o)
    for (int c = 0; c < 3; ++c) {
      double s = 0;
      for (int k = 0; k < 2; ++k)
        for (int j = 0; j < 2; ++j) {
          const int i = o + k - 1;
          if (i >= 0 && i < 5) s += xv[i * 2 + j] * wv[(c * 2 + k) * 2 + j];
        }
      expected.push_back(s);
    }
  check_close(y, expected, 1e-6);
  // conv_general with the same padding as (low, high) lists gives the same values
  check_close(conv_general(x, w, {}, {1}, {1}), expected, 1e-6);
  auto [outs, grads] = vjp([&](const std::vector<array>& a) { return std::vector<array>{
                               conv1d(a[0], a[1], 1, 1)}; },
                           {x, w}, {ones_like(y)});
  CHECK(grads[0].shape() == x.shape());
  CHECK(grads[1].shape() == w.shape());
  CHECK(grads[0].primitive().name() == std::string("Convolution"));
  CHECK_THROWS_WITH_AS(conv1d(x, ones({3, 2, 3})), doctest::Contains("[conv1d]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(conv1d(astype(x, Dtype::int32), astype(w, Dtype::int32)),
                       doctest::Contains("floating-point"), std::invalid_argument);
}

TEST_CASE("random: keys make draws reproducible and split keys differ") {
  array key = random::key(42);
  array u1 = random::uniform({1000}, Dtype::float32, array(-2.0f), array(3.0f), key);
  array u2 = random::uniform({1000}, Dtype::float32, array(-2.0f), array(3.0f), key);
  auto v1 = values<float>(u1);
  CHECK(v1 == values<float>(u2));
  double mean = 0;
  for (float v : v1) {
    CHECK(v >= -2.0f);
    CHECK(v < 3.0f);
    mean += v / 1000.0;
  }
  CHECK(mean == doctest::Approx(0.5).epsilon(0.2));  // 5 / sqrt(12 * 1000) = 0.05 std
  array keys = random::split(key, 2);
  CHECK(keys.shape() == Shape{2, 2});
  auto k = values<uint32_t>(keys);
  CHECK((k[0] != k[2] || k[1] != k[3]));
}

TEST_CASE("fast: fused kernels match their compositions, and differentiate through C++") {
  array x = random::normal({3, 70}, Dtype::float64, 0.0f, 1.0f, random::key(1));
  array w = random::normal({70}, Dtype::float64, 0.0f, 1.0f, random::key(2));
  check_close(fast::rms_norm(x, w, 1e-5f), values<double>(fast::reference::rms_norm(x, w, 1e-5f)), 1e-12);
  check_close(fast::layer_norm(x, w, std::nullopt, 1e-5f),
              values<double>(fast::reference::layer_norm(x, w, std::nullopt, 1e-5f)), 1e-12);
  // Attention over several key blocks, grouped-query heads, causal.
  array q = random::normal({1, 4, 70, 8}, Dtype::float64, 0.0f, 1.0f, random::key(3));
  array k = random::normal({1, 2, 150, 8}, Dtype::float64, 0.0f, 1.0f, random::key(4));
  array v = random::normal({1, 2, 150, 8}, Dtype::float64, 0.0f, 1.0f, random::key(5));
  array fused = fast::scaled_dot_product_attention(q, k, v, 0.35, "causal");
  array plain = fast::reference::scaled_dot_product_attention(q, k, v, 0.35, true, std::nullopt, std::nullopt);
  check_close(fused, values<double>(plain), 1e-10);
  // grad through the fused backward primitive equals grad through the composition
  auto loss = [&](bool use_fast) {
    return [&, use_fast](const std::vector<array>& in) {
      array o = use_fast ? fast::scaled_dot_product_attention(in[0], k, v, 0.35, "causal")
                         : fast::reference::scaled_dot_product_attention(in[0], k, v, 0.35, true,
                                                                         std::nullopt, std::nullopt);
      return std::vector<array>{sum(square(o))};
    };
  };
  array g1 = grad(loss(true))({q})[0];
  array g2 = grad(loss(false))({q})[0];
  check_close(g1, values<double>(g2), 1e-9);
  CHECK_THROWS_WITH_AS(fast::scaled_dot_product_attention(q, k, v, 1.0, "foo"),
                       doctest::Contains("[scaled_dot_product_attention]"), std::invalid_argument);
}

TEST_CASE("distributed collectives over a group of one are identities") {
  // No MLX_RANK / MLX_HOSTFILE in the test environment: the global group has one process.
  auto g = distributed::init();
  CHECK(g.size() == 1);
  CHECK(g.rank() == 0);
  CHECK(distributed::is_available("ring"));
  CHECK_FALSE(distributed::is_available("mpi"));
  CHECK_THROWS_AS(distributed::init(true, "nccl"), std::runtime_error);
  array x({1.0f, -2.0f, 3.0f}, {3});
  check_close(distributed::all_sum(x), {1, -2, 3});
  check_close(distributed::all_max(x, g), {1, -2, 3});
  check_close(distributed::sum_scatter(x), {1, -2, 3});
  CHECK(distributed::all_gather(array(2.0f)).shape() == Shape{1});
  CHECK_THROWS_WITH_AS(distributed::send(x, 0), doctest::Contains("[send] The group has a single"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(distributed::sum_scatter(array(1.0f)), doctest::Contains("[sum_scatter]"),
                       std::invalid_argument);
}
