// C++ tests of exporting functions: export_function and import_function round trips with
// positional and keyword arguments, several traces through an exporter, metadata, and a
// truncated file (a std::invalid_argument, not a crash).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <ember/ember.h>

#include "helpers.h"

using namespace ember;
using ember_test::values;

namespace {
std::string temp_path(const char* name) { return std::string("ember_test_") + name + ".mlxfn"; }
}  // namespace

TEST_CASE("export_function and import_function round trip") {
  const std::string path = temp_path("roundtrip");
  array w = array({1.0f, 2.0f, 3.0f});
  KwargsFn fun = [w](const Args& args, const Kwargs& kwargs) {
    return std::vector<array>{add(multiply(args[0], w), kwargs.at("b")), sum(exp(args[0]))};
  };
  export_function(path, fun, {zeros({3})}, {{"b", array(0.5f)}}, false, "config");
  ImportedFunction f = import_function(path);
  CHECK(f.metadata() == "config");
  array x = array({1.0f, 0.0f, -1.0f});
  auto out = f({x}, {{"b", array(2.0f)}});
  REQUIRE(out.size() == 2);
  CHECK(values<float>(out[0]) == std::vector<float>{3.0f, 2.0f, -1.0f});
  CHECK(out[1].item<float>() == doctest::Approx(std::exp(1.0) + 1.0 + std::exp(-1.0)));
  CHECK_THROWS_AS(f({x}), std::invalid_argument);           // the keyword is missing
  CHECK_THROWS_AS(f({zeros({4})}, {{"b", array(2.0f)}}), std::invalid_argument);  // shape
  std::remove(path.c_str());
}

TEST_CASE("an exporter writes several traces to one file") {
  const std::string path = temp_path("traces");
  auto e = exporter(path, [](const Args& args, const Kwargs&) {
    array s = args[0];
    for (size_t i = 1; i < args.size(); ++i) s = add(s, args[i]);
    return std::vector<array>{s};
  });
  e({array(1.0f)});
  e({array(1.0f), array(2.0f)});
  CHECK_THROWS_AS(e({array(5.0f)}), std::invalid_argument);  // that signature is there
  e.close();
  CHECK_THROWS_AS(e({array(1.0f), array(2.0f), array(3.0f)}), std::invalid_argument);
  ImportedFunction f = import_function(path);
  CHECK(f({array(4.0f)})[0].item<float>() == 4.0f);
  CHECK(f({array(4.0f), array(5.0f)})[0].item<float>() == 9.0f);

  // Every truncation of the file is refused with std::invalid_argument.
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t n = 0; n < bytes.size(); n += 7) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(n));
    CHECK_THROWS_AS(import_function(path), std::invalid_argument);
  }
  std::remove(path.c_str());
}
