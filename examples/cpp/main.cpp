// Uses ember from C++: builds a lazy expression, evaluates it, and takes a gradient.
#include <iostream>

#include <ember/ember.h>

namespace em = ember;

int main() {
  em::array x{1.0f, 2.0f, 3.0f};
  em::array y = em::add(em::multiply(x, x), em::array(1.0f));  // lazy: nothing computed yet
  y.eval();
  std::cout << "ember " << EMBER_VERSION << "\n";
  std::cout << "x*x + 1 =";
  for (int i = 0; i < y.size(); ++i) std::cout << " " << em::element_as<float>(y, i);
  std::cout << "\n";

  // d/dx (x^3) = 3 x^2, at x = 2.
  auto cube = [](const std::vector<em::array>& in) {
    return std::vector<em::array>{em::multiply(em::multiply(in[0], in[0]), in[0])};
  };
  float g = em::grad(cube)({em::array(2.0f)})[0].item<float>();
  std::cout << "grad(x^3) at 2 = " << g << "\n";
  return 0;
}
