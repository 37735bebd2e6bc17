// A small JSON reader (objects, arrays, strings, integers, true / false / null), shared by
// the safetensors header and the distributed backend's hostfile. Internal to libember.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ember::io::detail {

struct Json {
  enum Kind { null, boolean, number, string, list, object } kind = null;
  bool b = false;
  bool integral = false;
  int64_t i = 0;
  std::string s;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;
};

/// What parse_json throws for malformed text: what is wrong and at which byte; callers add
/// which file it was.
struct JsonError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// The one JSON value that text holds (nesting up to 32 deep; numbers of up to 18 digits
/// without fraction or exponent are `integral`, others only checked for their characters).
Json parse_json(const std::string& text);

}  // namespace ember::io::detail
