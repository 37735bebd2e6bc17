// C++ tests of the array handle: construction, laziness and eval, dtype promotion, element
// access on views, and argument errors surfacing as C++ exceptions.
#include <doctest/doctest.h>

#include <stdexcept>
#include <vector>

#include <ember/ember.h>
#include <ember/errors.h>

#include "helpers.h"

using namespace ember;
using ember_test::values;

TEST_CASE("scalars become 0-d arrays with the matching dtype") {
  array f(2.5f);
  CHECK(f.ndim() == 0);
  CHECK(f.size() == 1);
  CHECK(f.shape() == Shape{});
  CHECK(f.dtype() == Dtype::float32);
  CHECK(f.item<float>() == 2.5f);

  CHECK(array(7).dtype() == Dtype::int32);
  CHECK(array(int64_t(7)).dtype() == Dtype::int64);
  CHECK(array(true).dtype() == Dtype::bool_);
  CHECK(array(1.0).dtype() == Dtype::float64);
  CHECK(array(uint8_t(200)).item<int>() == 200);
  // The (value, dtype) form converts right away.
  array h(3, Dtype::float16);
  CHECK(h.dtype() == Dtype::float16);
  CHECK(h.item<float>() == 3.0f);
}

TEST_CASE("lists and vectors build n-d arrays in row-major order") {
  array v{1, 2, 3};
  CHECK(v.shape() == Shape{3});
  CHECK(v.dtype() == Dtype::int32);
  CHECK(values<int>(v) == std::vector<int>{1, 2, 3});

  array m({1, 2, 3, 4, 5, 6}, {2, 3}, Dtype::float32);
  CHECK(m.shape() == Shape{2, 3});
  CHECK(m.dtype() == Dtype::float32);
  CHECK(m.nbytes() == 6 * sizeof(float));
  CHECK(element_as<float>(m, 4) == 5.0f);

  std::vector<double> data = {0.5, 1.5, 2.5, 3.5};
  array d(data, {2, 2});
  CHECK(d.dtype() == Dtype::float64);
  CHECK(values<double>(d) == data);

  float raw[3] = {1.0f, -2.0f, 4.0f};
  array r(raw, {3}, Dtype::float32);
  raw[0] = 99.0f;  // the array copied the data
  CHECK(values<float>(r) == std::vector<float>{1.0f, -2.0f, 4.0f});
}

TEST_CASE("a value count that does not match the shape is rejected") {
  CHECK_THROWS_AS(array({1, 2, 3}, {2, 2}), std::invalid_argument);
}

TEST_CASE("ops are lazy until eval") {
  array a{1.0f, 2.0f, 3.0f};
  array b{10.0f, 20.0f, 30.0f};
  array c = add(a, b);
  CHECK(c.has_primitive());
  CHECK_FALSE(c.is_evaluated());
  CHECK(c.shape() == Shape{3});  // shape and dtype are known before eval
  CHECK(c.dtype() == Dtype::float32);
  c.eval();
  CHECK(c.is_evaluated());
  CHECK(values<float>(c) == std::vector<float>{11.0f, 22.0f, 33.0f});

  // Copies of a handle share one node; eval through either is seen by both.
  array d = multiply(c, c);
  array d2 = d;
  CHECK(d2.is_same(d));
  eval(d2);
  CHECK(d.is_evaluated());
}

TEST_CASE("eval of several outputs computes a shared input once and gives every result") {
  array x{1.0f, 2.0f};
  array shared = exp(x);
  array y1 = add(shared, array(1.0f));
  array y2 = multiply(shared, array(2.0f));
  eval(std::vector<array>{y1, y2});
  CHECK(y1.is_evaluated());
  CHECK(y2.is_evaluated());
  auto s = values<float>(shared);
  CHECK(values<float>(y1)[1] == doctest::Approx(s[1] + 1.0f));
  CHECK(values<float>(y2)[0] == doctest::Approx(s[0] * 2.0f));
}

TEST_CASE("dtype promotion follows numpy's table, with mlx's float32 choices") {
  CHECK(promote_types(Dtype::int8, Dtype::uint8) == Dtype::int16);
  CHECK(promote_types(Dtype::uint8, Dtype::int32) == Dtype::int32);
  CHECK(promote_types(Dtype::bool_, Dtype::int16) == Dtype::int16);
  CHECK(promote_types(Dtype::int32, Dtype::float32) == Dtype::float32);
  CHECK(promote_types(Dtype::float32, Dtype::float64) == Dtype::float64);
  CHECK(promote_types(Dtype::float16, Dtype::bfloat16) == Dtype::float32);
  CHECK(promote_types(Dtype::int64, Dtype::uint64) == Dtype::float32);
  CHECK(promote_types(Dtype::float32, Dtype::complex64) == Dtype::complex64);
  // Promotion is symmetric.
  for (int i = 0; i < kNumDtypes; ++i) {
    for (int j = 0; j < kNumDtypes; ++j) {
      CHECK(promote_types(Dtype(i), Dtype(j)) == promote_types(Dtype(j), Dtype(i)));
    }
  }
  // Ops apply it.
  CHECK(add(array{1, 2}, array{0.5f, 0.5f}).dtype() == Dtype::float32);
  CHECK(add(array{int8_t(1)}, array{uint8_t(1)}).dtype() == Dtype::int16);
  CHECK(exp(array{1, 2}).dtype() == Dtype::float32);
  CHECK(less(array{1, 2}, array{2, 1}).dtype() == Dtype::bool_);
  CHECK(std::string(dtype_name(Dtype::bfloat16)) == "bfloat16");
}

TEST_CASE("element_as reads views through their strides") {
  array m({1, 2, 3, 4, 5, 6}, {2, 3}, Dtype::int32);
  array t = transpose(m);  // (3, 2), a strided view
  CHECK(t.shape() == Shape{3, 2});
  CHECK(values<int>(t) == std::vector<int>{1, 4, 2, 5, 3, 6});
  CHECK(element_as<double>(t, 5) == 6.0);

  array row = broadcast_to(array{7, 8, 9}, {2, 3});
  CHECK(values<int>(row) == std::vector<int>{7, 8, 9, 7, 8, 9});
  // Conversions on read: bool and half types.
  CHECK(element_as<int>(array{true, false}, 0) == 1);
  CHECK(values<float>(astype(array{1.5f, -2.0f}, Dtype::bfloat16)) ==
        std::vector<float>{1.5f, -2.0f});
}

TEST_CASE("argument errors throw the mapped C++ exception types with [op] messages") {
  array a = zeros({2, 3});
  array b = zeros({4});
  CHECK_THROWS_AS(add(a, b), std::invalid_argument);
  CHECK_THROWS_WITH(add(a, b), doctest::Contains("[add]"));
  CHECK_THROWS_WITH(add(a, b), doctest::Contains("(2, 3)"));
  // Errors come when the op is called, not at eval.
  CHECK_THROWS_AS(reshape(a, {4, 2}), std::invalid_argument);
  CHECK_THROWS_AS(transpose(a, {0, 5}), std::out_of_range);
  CHECK_THROWS_AS(squeeze(a, {0}), std::invalid_argument);
  CHECK_THROWS_AS(bitwise_and(a, a), type_error);
  // type_error is an invalid_argument too, so generic handlers still catch it.
  CHECK_THROWS_AS(bitwise_and(a, a), std::invalid_argument);
  CHECK_THROWS_AS(a.item<float>(), std::invalid_argument);
  CHECK_THROWS_AS(normalize_axis("test", 3, 2), std::out_of_range);
  CHECK_THROWS_WITH(normalize_axis("test", -3, 2), doctest::Contains("[test]"));
}

// Built only where this test itself is instrumented with ASan, which is where libember is too
// (the sanitizer leg of tools/test.sh builds both with EMBER_SANITIZE=ON): the allocator
// must show ASan each block's exact size, also when the block comes from its cache.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>

TEST_CASE("under ASan, bytes past a buffer's size and cached blocks are poisoned") {
  clear_cache();
  char* first;
  {
    Buffer b(10);  // a 64-byte block
    first = static_cast<char*>(b.data());
    CHECK_FALSE(__asan_address_is_poisoned(first));
    CHECK_FALSE(__asan_address_is_poisoned(first + 9));
    CHECK(__asan_address_is_poisoned(first + 10));
    CHECK(__asan_address_is_poisoned(first + 63));
  }
  // Freed into the cache: every byte is poisoned until the block is handed out again.
  CHECK(__asan_address_is_poisoned(first));
  CHECK(__asan_address_is_poisoned(first + 9));
  Buffer again(20);  // the same size class: the cached block comes back
  REQUIRE(static_cast<char*>(again.data()) == first);
  CHECK_FALSE(__asan_address_is_poisoned(first + 19));
  CHECK(__asan_address_is_poisoned(first + 20));
  clear_cache();
}
#endif
