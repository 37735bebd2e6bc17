// The .npy format: a magic string, a version, a header that is a Python dict literal
// ({'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }), then the raw data.
// bfloat16, which numpy lacks, is written as '<V2' (what numpy writes for ml_dtypes'
// bfloat16) and read back as bfloat16.
#include <algorithm>
#include <cctype>

#include "ember/io/internal.h"
#include "ember/ops.h"

namespace ember::io {

namespace {

constexpr char kMagic[] = "\x93NUMPY";

const char* descr_of(Dtype t) {
  switch (t) {
    case Dtype::bool_: return "|b1";
    case Dtype::uint8: return "|u1";
    case Dtype::uint16: return "<u2";
    case Dtype::uint32: return "<u4";
    case Dtype::uint64: return "<u8";
    case Dtype::int8: return "|i1";
    case Dtype::int16: return "<i2";
    case Dtype::int32: return "<i4";
    case Dtype::int64: return "<i8";
    case Dtype::float16: return "<f2";
    case Dtype::bfloat16: return "<V2";
    case Dtype::float32: return "<f4";
    case Dtype::float64: return "<f8";
    case Dtype::complex64: return "<c8";
  }
  return "";
}

// The dtype of a descr, and whether its bytes are big-endian.
bool parse_descr(const std::string& d, Dtype& t, bool& big) {
  if (d.size() < 3) return false;
  char order = d[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') return false;
  big = order == '>';
  std::string code = d.substr(1);
  static const std::pair<const char*, Dtype> table[] = {
      {"b1", Dtype::bool_},    {"u1", Dtype::uint8},     {"u2", Dtype::uint16},
      {"u4", Dtype::uint32},   {"u8", Dtype::uint64},    {"i1", Dtype::int8},
      {"i2", Dtype::int16},    {"i4", Dtype::int32},     {"i8", Dtype::int64},
      {"f2", Dtype::float16},  {"V2", Dtype::bfloat16},  {"f4", Dtype::float32},
      {"f8", Dtype::float64},  {"c8", Dtype::complex64},
  };
  for (auto& [c, dt] : table) {
    if (code == c) {
      t = dt;
      if (size_of(dt) == 1) big = false;
      return true;
    }
  }
  return false;
}

// A tiny reader of the header's dict literal: string keys; string, bool and tuple-of-int
// values. Anything else makes the header invalid.
struct HeaderParser {
  const std::string& s;
  size_t i = 0;
  void skip() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool eat(char c) {
    skip();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool string(std::string& out) {
    skip();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) return false;
    char q = s[i++];
    size_t end = s.find(q, i);
    if (end == std::string::npos) return false;
    out = s.substr(i, end - i);
    i = end + 1;
    return true;
  }
  bool word(const char* w) {
    skip();
    size_t n = std::strlen(w);
    if (s.compare(i, n, w) != 0) return false;
    i += n;
    return true;
  }
  bool integer(int64_t& v) {
    skip();
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start || i - start > 18) return false;  // at most 18 digits: no overflow
    v = std::stoll(s.substr(start, i - start));
    return true;
  }
};

}  // namespace

namespace detail {

std::string npy_header_bytes(const array& c) {
  std::string shape = "(";
  for (int i = 0; i < c.ndim(); ++i) {
    shape += std::to_string(c.shape(i));
    shape += (c.ndim() == 1 || i + 1 < c.ndim()) ? "," : "";
    if (i + 1 < c.ndim()) shape += " ";
  }
  shape += ")";
  std::string header = msg("{'descr': '", descr_of(c.dtype()),
                           "', 'fortran_order': False, 'shape': ", shape, ", }");
  // Version 1.0 (2-byte length) unless the header is too long for it; the data starts at a
  // multiple of 64 bytes.
  const bool v2 = header.size() + 1 + 10 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += char(v2 ? 2 : 1);
  out += char(0);
  if (v2) put_le<uint32_t>(out, uint32_t(header.size()));
  else put_le<uint16_t>(out, uint16_t(header.size()));
  out += header;
  return out;
}

}  // namespace detail

void save_npy(Writer& w, const array& a) {
  array c = detail::contiguous(a);
  std::string head = detail::npy_header_bytes(c);
  w.write(head.data(), head.size());
  if (c.nbytes() > 0) w.write(c.raw_data(), c.nbytes());
  w.commit();
}

namespace detail {

// Parses the header at offset 0 of r; returns the data offset.
uint64_t npy_header(const Reader& r, Shape& shape, Dtype& dtype, bool& big, bool& fortran) {
  const char* op = "load";
  char magic[8];
  if (r.size() < 10) fail(op, r, "not a .npy file (too short for its header).");
  r.read(0, magic, 8);
  if (std::memcmp(magic, kMagic, 6) != 0) fail(op, r, "not a .npy file (bad magic string).");
  const int major = magic[6];
  uint64_t len, start;
  if (major == 1) {
    len = read_le<uint16_t>(r, 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    len = read_le<uint32_t>(r, 8);
    start = 12;
  } else {
    fail(op, r, msg(".npy version ", major, " is not supported."));
  }
  check_region(op, r, start, len, "The .npy header");
  std::string text(len, '\0');
  r.read(start, text.data(), len);
  HeaderParser p{text};
  bool have_descr = false, have_order = false, have_shape = false;
  if (!p.eat('{')) fail(op, r, "the .npy header is not a dict.");
  while (!p.eat('}')) {
    std::string key;
    if (!p.string(key) || !p.eat(':')) fail(op, r, "the .npy header is malformed.");
    if (key == "descr") {
      std::string d;
      if (!p.string(d)) fail(op, r, "the .npy header's 'descr' is not a simple dtype string.");
      if (!parse_descr(d, dtype, big)) {
        fail(op, r, msg("the .npy dtype '", printable(d), "' is not supported (ember reads bool, ints, ",
                        "float16/32/64, bfloat16 as '<V2', complex64)."));
      }
      have_descr = true;
    } else if (key == "fortran_order") {
      if (p.word("True")) fortran = true;
      else if (p.word("False")) fortran = false;
      else fail(op, r, "the .npy header's 'fortran_order' is not True or False.");
      have_order = true;
    } else if (key == "shape") {
      if (!p.eat('(')) fail(op, r, "the .npy header's 'shape' is not a tuple.");
      shape.clear();
      while (!p.eat(')')) {
        int64_t d;
        if (!p.integer(d)) fail(op, r, "the .npy header's 'shape' holds a non-integer.");
        if (shape.size() >= 64) fail(op, r, "the .npy header's 'shape' has too many dimensions.");
        shape.push_back(d);
        if (!p.eat(',')) {
          if (!p.eat(')')) fail(op, r, "the .npy header's 'shape' is malformed.");
          break;
        }
      }
      have_shape = true;
    } else {
      fail(op, r, msg("the .npy header has an unknown key '", printable(key), "'."));
    }
    if (!p.eat(',')) {
      if (!p.eat('}')) fail(op, r, "the .npy header is malformed.");
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape) {
    fail(op, r, "the .npy header lacks 'descr', 'fortran_order' or 'shape'.");
  }
  return start + len;
}

}  // namespace detail

array load_npy(const Reader& r) {
  Shape shape;
  Dtype dtype = Dtype::float32;
  bool big = false, fortran = false;
  uint64_t offset = detail::npy_header(r, shape, dtype, big, fortran);
  // Fortran order: the data is the row-major array of the reversed shape, transposed.
  Shape stored = shape;
  if (fortran) std::reverse(stored.begin(), stored.end());
  array a = detail::read_array("load", r, offset, stored, dtype, "the .npy array");
  if (big) {
    char* p = static_cast<char*>(a.raw_data());
    const size_t k = a.itemsize(), n = size_t(a.size());
    // complex64 is two float32: swap each half.
    const size_t unit = a.dtype() == Dtype::complex64 ? 4 : k;
    for (size_t i = 0; i < n * k; i += unit) std::reverse(p + i, p + i + unit);
  }
  if (fortran && a.ndim() > 1) {
    array t = transpose(a);
    t.eval();
    a = copy(t);
    a.eval();
  }
  return a;
}

}  // namespace ember::io
