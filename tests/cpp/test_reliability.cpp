// C++ tests of the size checks (shape_size, checked_add / checked_mul, checked_nbytes) and of
// the file formats through in-memory writers and readers: round trips, and every truncation
// of a valid file rejected with std::invalid_argument. Under EMBER_SANITIZE=ON these run the
// parsers over hostile bytes with ASan and UBSan watching.
#include <doctest/doctest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <ember/ember.h>
#include <ember/errors.h>

#include "helpers.h"

using namespace ember;
using ember_test::values;

TEST_CASE("sizes beyond 2^60 elements are a ValueError naming the op") {
  CHECK(shape_size({2, 3}, "t") == 6);
  CHECK(shape_size({0, int64_t(1) << 62}, "t") == 0);  // empty: fine
  CHECK(shape_size({int64_t(1) << 30, (int64_t(1) << 30) - 1}, "t") == kMaxArraySize - ((int64_t(1) << 30) - 1));
  CHECK_THROWS_AS(shape_size({int64_t(1) << 30, int64_t(1) << 30}, "t"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(shape_size({int64_t(1) << 31, int64_t(1) << 31}, "ones"),
                       doctest::Contains("[ones]"), std::invalid_argument);
  CHECK_THROWS_AS(shape_size({-1}, "t"), std::invalid_argument);
  CHECK(checked_mul("tile", 3, 4) == 12);
  CHECK_THROWS_AS(checked_mul("tile", int64_t(1) << 40, int64_t(1) << 40), std::invalid_argument);
  CHECK_THROWS_AS(checked_add("pad", kMaxArraySize, 1), std::invalid_argument);
  CHECK_THROWS_AS(ones({int64_t(1) << 31, int64_t(1) << 31}), std::invalid_argument);
}

TEST_CASE("an array larger than the machine is a memory_error at the call") {
  CHECK_THROWS_AS(zeros({int64_t(1) << 50}), memory_error);
  try {
    zeros({int64_t(1) << 50});
  } catch (const memory_error& e) {
    CHECK(std::string(e.what()).find("[zeros]") != std::string::npos);
  }
}

namespace {
std::string saved(void (*save)(io::Writer&, const NamedArrays&), const NamedArrays& arrays) {
  std::string bytes;
  save(*io::memory_writer(bytes), arrays);
  return bytes;
}
void st_save(io::Writer& w, const NamedArrays& a) { io::save_safetensors(w, a, {{"k", "v"}}); }
void gguf_save(io::Writer& w, const NamedArrays& a) { io::save_gguf(w, a, {}); }
void npz_save(io::Writer& w, const NamedArrays& a) { io::save_npz(w, a, false); }
void npzc_save(io::Writer& w, const NamedArrays& a) { io::save_npz(w, a, io::has_deflate()); }
void npy_save(io::Writer& w, const NamedArrays& a) { io::save_npy(w, a[0].second); }
}  // namespace

TEST_CASE("formats round-trip in memory and reject every truncation") {
  NamedArrays arrays = {{"w", array({1.5f, -2.0f, 3.25f, 4.0f, 5.0f, 6.0f}, {2, 3})},
                        {"b", array({int32_t(7), int32_t(-8)}, {2})}};
  struct Format {
    const char* name;
    void (*save)(io::Writer&, const NamedArrays&);
    NamedArrays (*load)(const io::Reader&);
  };
  const Format formats[] = {
      {"npy", npy_save, [](const io::Reader& r) { return NamedArrays{{"w", io::load_npy(r)}}; }},
      {"npz", npz_save, io::load_npz},
      {"npz-deflate", npzc_save, io::load_npz},
      {"safetensors", st_save, [](const io::Reader& r) { return io::load_safetensors(r).first; }},
      {"gguf", gguf_save, [](const io::Reader& r) { return io::load_gguf(r).first; }},
  };
  for (const auto& f : formats) {
    CAPTURE(f.name);
    std::string bytes = saved(f.save, arrays);
    auto back = f.load(*io::memory_reader(bytes.data(), bytes.size(), f.name));
    REQUIRE(back.size() >= 1);
    CHECK(back[0].first == "w");
    CHECK(values<float>(back[0].second) == values<float>(arrays[0].second));
    CHECK(back[0].second.shape() == Shape{2, 3});
    // GGUF pads its data section to 32 bytes: a cut inside that padding still loads.
    const size_t keep = std::string(f.name) == "gguf" ? bytes.size() - 31 : bytes.size();
    for (size_t n = 0; n < keep; ++n) {
      std::string cut = bytes.substr(0, n);
      CAPTURE(n);
      CHECK_THROWS_AS(f.load(*io::memory_reader(cut.data(), cut.size(), f.name)),
                      std::invalid_argument);
    }
    // Random multi-byte mutations (extreme 8-byte values at random places, cuts, random
    // bytes): each loads or is rejected with std::invalid_argument, nothing else.
    std::mt19937_64 rng(42);
    const uint64_t extremes[] = {0, ~uint64_t(0), uint64_t(1) << 63, (uint64_t(1) << 63) - 1,
                                 uint64_t(1) << 32, 0xFFFFFFFFu, 0x8000000000000001ull};
    for (int it = 0; it < 3000; ++it) {
      std::string m = bytes;
      const int k = 1 + int(rng() % 4);
      for (int j = 0; j < k && !m.empty(); ++j) {
        const size_t at = rng() % m.size();
        switch (rng() % 3) {
          case 0: m[at] = char(rng()); break;
          case 1: {
            uint64_t v = extremes[rng() % 7];
            std::memcpy(m.data() + at, &v, std::min<size_t>(8, m.size() - at));
            break;
          }
          default: m.resize(at); break;
        }
      }
      try {
        f.load(*io::memory_reader(m.data(), m.size(), f.name));
      } catch (const std::invalid_argument&) {
      }
    }
    // Every single-byte change either loads or is rejected cleanly.
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::string flip = bytes;
      flip[i] = char(flip[i] ^ 0x5A);
      try {
        f.load(*io::memory_reader(flip.data(), flip.size(), f.name));
      } catch (const std::invalid_argument&) {
      }
    }
  }
}
