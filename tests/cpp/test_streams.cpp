// C++ tests of devices, streams and the scheduler: StreamScope routing, async_eval with
// cross-stream dependencies, eval from several threads on a shared graph, and a
// multi-output node (custom_function with two outputs, its vjp rule called once).
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include <ember/ember.h>

#include "helpers.h"

using namespace ember;
using ember_test::values;

TEST_CASE("devices: the CPU is there, a GPU only with a backend") {
  CHECK(is_available(cpu_device));
  CHECK(device_count(DeviceType::cpu) == 1);
  CHECK(is_available(gpu_device) == (device_count(DeviceType::gpu) > 0));
  CHECK(default_device() == cpu_device);
  CHECK(device_str(cpu_device) == "Device(cpu, 0)");
  if (!is_available(gpu_device)) {
    CHECK_THROWS_AS(check_available(gpu_device, "test"), std::invalid_argument);
    CHECK_THROWS_AS(set_default_device(gpu_device), std::invalid_argument);
  }
}

TEST_CASE("streams: a scope routes new nodes and restores on exit") {
  Stream s = new_stream(cpu_device);
  Stream base = default_stream(cpu_device);
  array x = ones({4});
  array y;
  {
    StreamScope scope(s);
    CHECK(default_stream(cpu_device) == s);
    y = add(x, x);
  }
  CHECK(default_stream(cpu_device) == base);
  CHECK(y.stream() == s);
  CHECK(add(x, x).stream() == base);
  CHECK(values<float>(y) == std::vector<float>{2, 2, 2, 2});
}

TEST_CASE("async_eval: cross-stream dependencies give the serial values") {
  Stream s1 = new_stream(cpu_device), s2 = new_stream(cpu_device);
  array a = arange(0.0, 1000.0, 1.0, Dtype::float32);
  array b, c, d;
  {
    StreamScope scope(s1);
    b = exp(multiply(a, array(1e-3f)));
  }
  {
    StreamScope scope(s2);
    c = multiply(b, b);
  }
  {
    StreamScope scope(s1);
    d = add(c, b);
  }
  async_eval({d});
  synchronize();
  CHECK(d.is_evaluated());
  auto got = values<float>(d);
  for (int i = 0; i < 1000; ++i) {
    double e = std::exp(i * 1e-3);
    CHECK(got[i] == doctest::Approx(e * e + e).epsilon(1e-5));
  }
}

TEST_CASE("eval from four threads on one shared graph computes it once") {
  array x = ones({256, 256});
  array y = x;
  for (int i = 0; i < 10; ++i) y = tanh(add(matmul(y, x), array(-255.0f)));
  std::vector<array> outs;
  for (int t = 0; t < 4; ++t) outs.push_back(multiply(y, array(float(t + 1))));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        eval(outs[t]);
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  float ref = values<float>(y)[0];
  for (int t = 0; t < 4; ++t) CHECK(values<float>(outs[t])[7] == doctest::Approx(ref * (t + 1)));
}

TEST_CASE("multi-output: custom_function with two outputs calls its vjp once") {
  int calls = 0;
  auto f = custom_function(
      [](const std::vector<array>& in) {
        return std::vector<array>{sin(in[0]), cos(in[0])};
      },
      [&calls](const std::vector<array>& primals, const std::vector<array>& cts,
               const std::vector<array>&) {
        ++calls;
        return std::vector<array>{
            subtract(multiply(cts[0], cos(primals[0])), multiply(cts[1], sin(primals[0])))};
      });
  array x = array({0.5f, 1.0f});
  auto outs = f({x});
  CHECK(outs.size() == 2);
  CHECK(outs[0].num_siblings() == 2);
  CHECK(outs[1].sibling_position() == 1);
  auto g = grad([&](const std::vector<array>& in) {
    auto o = f(in);
    return std::vector<array>{sum(add(o[0], o[1]))};
  })({x});
  CHECK(calls == 1);
  auto gv = values<float>(g[0]);
  CHECK(gv[0] == doctest::Approx(std::cos(0.5) - std::sin(0.5)));
  CHECK(gv[1] == doctest::Approx(std::cos(1.0) - std::sin(1.0)));
}
