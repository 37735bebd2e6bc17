// The JSON reader shared by the safetensors header and the distributed hostfile.
#include "ember/io/json.h"

#include <cctype>

#include "ember/errors.h"

namespace ember::io::detail {

namespace {

struct JsonParser {
  const std::string& t;
  size_t p = 0;

  [[noreturn]] void bad(const char* what) { throw JsonError(msg(what, " at byte ", p)); }
  void ws() {
    while (p < t.size() && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t')) ++p;
  }
  void append_utf8(std::string& out, uint32_t c) {
    if (c < 0x80) {
      out += char(c);
    } else if (c < 0x800) {
      out += char(0xC0 | (c >> 6));
      out += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += char(0xE0 | (c >> 12));
      out += char(0x80 | ((c >> 6) & 0x3F));
      out += char(0x80 | (c & 0x3F));
    } else {
      out += char(0xF0 | (c >> 18));
      out += char(0x80 | ((c >> 12) & 0x3F));
      out += char(0x80 | ((c >> 6) & 0x3F));
      out += char(0x80 | (c & 0x3F));
    }
  }
  uint32_t hex4() {
    if (p + 4 > t.size()) bad("a short \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = t[p++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else bad("a bad \\u escape");
    }
    return v;
  }
  std::string str() {
    if (p >= t.size() || t[p] != '"') bad("a missing string");
    ++p;
    std::string out;
    while (true) {
      if (p >= t.size()) bad("an unterminated string");
      char c = t[p++];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) bad("a control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p >= t.size()) bad("an unterminated escape");
      char e = t[p++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t c1 = hex4();
          if (c1 >= 0xD800 && c1 < 0xDC00 && p + 1 < t.size() && t[p] == '\\' && t[p + 1] == 'u') {
            p += 2;
            uint32_t c2 = hex4();
            if (c2 < 0xDC00 || c2 >= 0xE000) bad("a bad surrogate pair");
            c1 = 0x10000 + ((c1 - 0xD800) << 10) + (c2 - 0xDC00);
          }
          append_utf8(out, c1);
          break;
        }
        default: bad("an unknown escape");
      }
    }
    return out;
  }
  Json value(int depth) {
    if (depth > 32) bad("nesting deeper than 32");
    ws();
    if (p >= t.size()) bad("an unexpected end");
    Json v;
    char c = t[p];
    if (c == '{') {
      v.kind = Json::object;
      ++p;
      ws();
      if (p < t.size() && t[p] == '}') {
        ++p;
        return v;
      }
      while (true) {
        ws();
        std::string k = str();
        ws();
        if (p >= t.size() || t[p] != ':') bad("a missing ':'");
        ++p;
        v.members.emplace_back(std::move(k), value(depth + 1));
        ws();
        if (p < t.size() && t[p] == ',') {
          ++p;
          continue;
        }
        if (p < t.size() && t[p] == '}') {
          ++p;
          return v;
        }
        bad("a missing ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = Json::list;
      ++p;
      ws();
      if (p < t.size() && t[p] == ']') {
        ++p;
        return v;
      }
      while (true) {
        v.items.push_back(value(depth + 1));
        ws();
        if (p < t.size() && t[p] == ',') {
          ++p;
          continue;
        }
        if (p < t.size() && t[p] == ']') {
          ++p;
          return v;
        }
        bad("a missing ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = Json::string;
      v.s = str();
      return v;
    }
    if (t.compare(p, 4, "true") == 0 || t.compare(p, 5, "false") == 0) {
      v.kind = Json::boolean;
      v.b = t[p] == 't';
      p += v.b ? 4 : 5;
      return v;
    }
    if (t.compare(p, 4, "null") == 0) {
      p += 4;
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Json::number;
      size_t start = p;
      if (t[p] == '-') ++p;
      while (p < t.size() && std::isdigit(static_cast<unsigned char>(t[p]))) ++p;
      bool frac = false;
      while (p < t.size() && (t[p] == '.' || t[p] == 'e' || t[p] == 'E' || t[p] == '+' ||
                              t[p] == '-' || std::isdigit(static_cast<unsigned char>(t[p])))) {
        frac = true;
        ++p;
      }
      const std::string digits = t.substr(start, p - start);
      const size_t len = digits.size() - (digits[0] == '-' ? 1 : 0);
      v.integral = !frac && len > 0 && len <= 18;  // 18 digits fit in int64
      if (v.integral) v.i = std::stoll(digits);
      return v;
    }
    bad("an unexpected character");
  }
};

}  // namespace

Json parse_json(const std::string& text) {
  JsonParser parser{text};
  Json root = parser.value(0);
  parser.ws();
  if (parser.p != text.size()) parser.bad("trailing characters");
  return root;
}

}  // namespace ember::io::detail
