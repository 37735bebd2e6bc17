// Shape helpers shared by every op.
#include "ember/shape.h"

#include <algorithm>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "ember/errors.h"

namespace ember {

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) {
    os << s[i];
    if (i + 1 < s.size() || s.size() == 1) os << ",";
    if (i + 1 < s.size()) os << " ";
  }
  return os << ")";
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

int64_t shape_size(const Shape& s, const char* op) {
  int64_t n = 1;
  for (auto d : s) {
    if (d < 0) throw std::invalid_argument(msg("[", op, "] Negative dimension in shape ", s, "."));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      throw std::invalid_argument(msg("[", op, "] Shape ", s, " has too many elements."));
    }
    n *= d;
  }
  return n;
}

Strides row_major_strides(const Shape& s) {
  Strides st(s.size());
  int64_t acc = 1;
  for (int i = int(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

int normalize_axis(const char* op, int axis, int ndim) {
  if (axis < -ndim || axis >= ndim) {
    throw std::out_of_range(
        msg("[", op, "] Axis ", axis, " is out of bounds for an array with ", ndim,
            " dimension", ndim == 1 ? "" : "s", "."));
  }
  return axis < 0 ? axis + ndim : axis;
}

std::vector<int> normalize_axes(const char* op, const std::vector<int>& axes, int ndim) {
  std::vector<int> out;
  out.reserve(axes.size());
  for (int a : axes) {
    int n = normalize_axis(op, a, ndim);
    if (std::find(out.begin(), out.end(), n) != out.end()) {
      throw std::invalid_argument(msg("[", op, "] Axis ", a, " is repeated."));
    }
    out.push_back(n);
  }
  return out;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw std::invalid_argument(msg("[", op, "] Shapes ", a, " and ", b,
                                      " cannot be broadcast together."));
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace ember
