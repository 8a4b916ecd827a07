#include "tests/support/test_vectors.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "absl/types/span.h"
#include "common/hex.h"

namespace drasyl::testing {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read '" + path + "'");
  return out.str();
}

std::string TestVectorPath(const std::string& name) {
#ifdef DRASYL_TEST_VECTORS_DIR
  return std::string(DRASYL_TEST_VECTORS_DIR) + "/" + name;
#else
  return name;
#endif
}

// ---------------------------------------------------------------------------
// JsonValue accessors.

namespace {

const char* TypeName(JsonValue::Type t) {
  switch (t) {
    case JsonValue::Type::kNull:
      return "null";
    case JsonValue::Type::kBool:
      return "bool";
    case JsonValue::Type::kInt:
      return "integer";
    case JsonValue::Type::kDouble:
      return "number";
    case JsonValue::Type::kString:
      return "string";
    case JsonValue::Type::kArray:
      return "array";
    case JsonValue::Type::kObject:
      return "object";
  }
  return "?";
}

[[noreturn]] void TypeError(JsonValue::Type want, JsonValue::Type have) {
  throw std::runtime_error(std::string("JSON: expected ") + TypeName(want) + ", got " +
                           TypeName(have));
}

}  // namespace

bool JsonValue::AsBool() const {
  if (!is_bool()) TypeError(Type::kBool, type());
  return std::get<bool>(v_);
}

int64_t JsonValue::AsInt() const {
  if (!is_int()) TypeError(Type::kInt, type());
  return std::get<int64_t>(v_);
}

uint64_t JsonValue::AsUint64() const {
  if (is_int()) {
    const int64_t i = std::get<int64_t>(v_);
    if (i < 0) throw std::runtime_error("JSON: negative integer where unsigned expected");
    return static_cast<uint64_t>(i);
  }
  if (type() == Type::kDouble) {
    uint64_t u = 0;
    const char* b = number_text_.data();
    const char* e = b + number_text_.size();
    const auto [p, ec] = std::from_chars(b, e, u);
    if (ec == std::errc() && p == e) return u;
    throw std::runtime_error("JSON: '" + number_text_ + "' is not an unsigned 64-bit integer");
  }
  TypeError(Type::kInt, type());
}

double JsonValue::AsDouble() const {
  if (is_int()) return static_cast<double>(std::get<int64_t>(v_));
  if (type() != Type::kDouble) TypeError(Type::kDouble, type());
  return std::get<double>(v_);
}

const std::string& JsonValue::AsString() const {
  if (!is_string()) TypeError(Type::kString, type());
  return std::get<std::string>(v_);
}

const JsonValue::Array& JsonValue::AsArray() const {
  if (!is_array()) TypeError(Type::kArray, type());
  return std::get<Array>(v_);
}

const JsonValue::Object& JsonValue::AsObject() const {
  if (!is_object()) TypeError(Type::kObject, type());
  return std::get<Object>(v_);
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : std::get<Object>(v_)) {
    if (k == key) return &v;
  }
  return nullptr;
}

const JsonValue& JsonValue::operator[](std::string_view key) const {
  if (!is_object()) TypeError(Type::kObject, type());
  const JsonValue* v = Find(key);
  if (v == nullptr) throw std::runtime_error("JSON: no member '" + std::string(key) + "'");
  return *v;
}

const JsonValue& JsonValue::operator[](size_t index) const {
  const Array& a = AsArray();
  if (index >= a.size()) {
    throw std::runtime_error("JSON: index " + std::to_string(index) + " out of range (size " +
                             std::to_string(a.size()) + ")");
  }
  return a[index];
}

size_t JsonValue::size() const {
  if (is_array()) return std::get<Array>(v_).size();
  if (is_object()) return std::get<Object>(v_).size();
  return 0;
}

// ---------------------------------------------------------------------------
// Parser (recursive descent).

namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  JsonValue ParseDocument() {
    SkipSpace();
    JsonValue v = ParseValue(0);
    SkipSpace();
    if (pos_ != s_.size()) Fail("trailing characters");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 256;

  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error("JSON parse error at offset " + std::to_string(pos_) + ": " + what);
  }

  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }

  void SkipSpace() {
    while (!AtEnd() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                        s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void Expect(char c) {
    if (Peek() != c) Fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  void ExpectWord(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) Fail("expected '" + std::string(w) + "'");
    pos_ += w.size();
  }

  JsonValue ParseValue(int depth) {
    if (depth > kMaxDepth) Fail("nesting too deep");
    switch (Peek()) {
      case '{':
        return ParseObject(depth);
      case '[':
        return ParseArray(depth);
      case '"':
        return JsonValue(ParseString());
      case 't':
        ExpectWord("true");
        return JsonValue(true);
      case 'f':
        ExpectWord("false");
        return JsonValue(false);
      case 'n':
        ExpectWord("null");
        return JsonValue();
      default:
        return ParseNumber();
    }
  }

  JsonValue ParseObject(int depth) {
    Expect('{');
    JsonValue::Object members;
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      return JsonValue(std::move(members));
    }
    for (;;) {
      SkipSpace();
      if (Peek() != '"') Fail("expected a member name");
      std::string key = ParseString();
      SkipSpace();
      Expect(':');
      SkipSpace();
      JsonValue v = ParseValue(depth + 1);
      members.emplace_back(std::move(key), std::move(v));
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      Expect('}');
      return JsonValue(std::move(members));
    }
  }

  JsonValue ParseArray(int depth) {
    Expect('[');
    JsonValue::Array elements;
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
      return JsonValue(std::move(elements));
    }
    for (;;) {
      SkipSpace();
      elements.push_back(ParseValue(depth + 1));
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      Expect(']');
      return JsonValue(std::move(elements));
    }
  }

  unsigned ParseHex4() {
    if (s_.size() - pos_ < 4) Fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        Fail("bad hex digit in \\u escape");
      }
    }
    return v;
  }

  static void AppendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string ParseString() {
    Expect('"');
    std::string out;
    for (;;) {
      if (AtEnd()) Fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) Fail("control character in string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (AtEnd()) Fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          unsigned cp = ParseHex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // high surrogate: needs a low one
            if (s_.substr(pos_, 2) != "\\u") Fail("lone high surrogate");
            pos_ += 2;
            const unsigned lo = ParseHex4();
            if (lo < 0xDC00 || lo >= 0xE000) Fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            Fail("lone low surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          Fail(std::string("bad escape '\\") + e + "'");
      }
    }
  }

  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  JsonValue ParseNumber() {
    const size_t start = pos_;
    bool integral = true;
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
    } else {
      Fail("unexpected character");
    }
    if (Peek() == '.') {
      integral = false;
      ++pos_;
      if (!IsDigit(Peek())) Fail("digit expected after '.'");
      while (IsDigit(Peek())) ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      integral = false;
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!IsDigit(Peek())) Fail("digit expected in exponent");
      while (IsDigit(Peek())) ++pos_;
    }
    const std::string text(s_.substr(start, pos_ - start));
    JsonValue v;
    if (integral) {
      int64_t i = 0;
      const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec == std::errc() && p == text.data() + text.size()) v = JsonValue(i);
    }
    if (v.is_null()) {
      // Fractions, exponents and integers beyond int64_t.
      char* end = nullptr;
      errno = 0;
      const double d = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) Fail("bad number");
      v = JsonValue(d);
    }
    v.set_number_text(text);
    return v;
  }

  std::string_view s_;
  size_t pos_ = 0;
};


}  // namespace

JsonValue ParseJson(std::string_view text) { return Parser(text).ParseDocument(); }

JsonValue ReadJsonFile(const std::string& path) {
  try {
    return ParseJson(ReadFile(path));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

std::vector<uint8_t> HexToBytes(std::string_view hex) {
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(hex);
  if (!bytes.ok()) {
    throw std::runtime_error("hex '" + std::string(hex) + "': " + std::string(bytes.status().message()));
  }
  return *std::move(bytes);
}

std::string BytesToHex(const uint8_t* data, size_t len) {
  return HexEncode(absl::MakeConstSpan(data, len));
}

}  // namespace drasyl::testing
