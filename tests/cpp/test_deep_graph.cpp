// C++ tests that graph walks never recurse: a 1,000,000-node chain evaluates, and dropping an
// unevaluated chain that long frees it without overflowing the stack.
#include <doctest/doctest.h>

#include <ember/ember.h>

using namespace ember;

namespace {
constexpr int kDepth = 1'000'000;
}  // namespace

TEST_CASE("a 1,000,000-node chain evaluates") {
  array one(1.0f);
  array x(0.0f);
  for (int i = 0; i < kDepth; ++i) x = add(x, one);
  CHECK_FALSE(x.is_evaluated());
  x.eval();
  // Every partial sum is an integer below 2^24, so float32 adds it exactly.
  CHECK(x.item<float>() == float(kDepth));
}

TEST_CASE("destroying an unevaluated 1,000,000-node chain does not overflow the stack") {
  {
    array x = ones({2});
    for (int i = 0; i < kDepth; ++i) x = negative(x);
    CHECK(x.has_primitive());
  }  // x and its whole chain are released here
  {
    // A chain through views (reshape/transposes) and binary nodes with a shared leaf.
    array leaf = ones({2, 2});
    array x = leaf;
    for (int i = 0; i < kDepth / 2; ++i) x = add(transpose(x), leaf);
  }
}

TEST_CASE("a chain kept alive by an intermediate handle is still freed iteratively") {
  array mid;
  {
    array x(0.0f);
    for (int i = 0; i < kDepth; ++i) {
      x = add(x, array(1.0f));
      if (i == kDepth / 2) mid = x;
    }
  }
  // The top half is gone; the bottom half lives on through `mid` and still evaluates.
  CHECK(mid.item<float>() == float(kDepth / 2 + 1));
}
