// Small helpers shared by the C++ tests: reading an array back as a std::vector.
#pragma once

#include <vector>

#include <ember/ember.h>

namespace ember_test {

/// Evaluates `a` and returns its elements in row-major order, converted to T.
template <typename T>
std::vector<T> values(ember::array a) {
  a.eval();
  std::vector<T> out;
  out.reserve(size_t(a.size()));
  for (int64_t i = 0; i < a.size(); ++i) out.push_back(ember::element_as<T>(a, i));
  return out;
}

}  // namespace ember_test
