// Helpers that build "[op] what is wrong ..." messages, and the exception types
// the Python layer maps: std::invalid_argument -> ValueError,
// std::out_of_range -> IndexError, ember::type_error -> TypeError,
// ember::memory_error (a std::bad_alloc) -> MemoryError.
#pragma once

#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ember/api.h"
#include "ember/shape.h"  // operator<< for shapes, found by msg()

namespace ember {

/// Thrown for a wrong dtype or argument type; Python sees TypeError.
class EMBER_API type_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// An allocation that failed or could never succeed; its message names the op and the
/// size (std::bad_alloc's own text says neither). Python sees MemoryError.
class EMBER_API memory_error : public std::bad_alloc {
 public:
  explicit memory_error(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

namespace detail {

inline void stream_all(std::ostringstream&) {}
template <typename T, typename... Rest>
void stream_all(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  stream_all(os, rest...);
}

}  // namespace detail

/// Concatenates the pieces with operator<<; shapes print as (2, 3).
template <typename... Args>
std::string msg(const Args&... args) {
  std::ostringstream os;
  detail::stream_all(os, args...);
  return os.str();
}

}  // namespace ember
