// Loading of the test vectors in tests/vectors/: file reading, a small JSON parser and
// hex decoding. Errors throw std::runtime_error (GoogleTest reports them as a
// failure of the test that called).
#ifndef DRASYL_TESTS_SUPPORT_TEST_VECTORS_H_
#define DRASYL_TESTS_SUPPORT_TEST_VECTORS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace drasyl::testing {

// Whole file as bytes; throws when it cannot be read.
std::string ReadFile(const std::string& path);

// Path of a file in the test-vector folder tests/vectors/ (DRASYL_TEST_VECTORS_DIR).
std::string TestVectorPath(const std::string& name);

// A parsed JSON value: null, bool, integer, floating-point number, string,
// array or object. Numbers without fraction or exponent that fit in int64_t
// are integers; the others are doubles. Object members keep their order.
class JsonValue {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Array = std::vector<JsonValue>;
  using Object = std::vector<std::pair<std::string, JsonValue>>;

  JsonValue() = default;  // null
  explicit JsonValue(bool b) : v_(b) {}
  explicit JsonValue(int64_t i) : v_(i) {}
  explicit JsonValue(double d) : v_(d) {}
  explicit JsonValue(std::string s) : v_(std::move(s)) {}
  explicit JsonValue(Array a) : v_(std::move(a)) {}
  explicit JsonValue(Object o) : v_(std::move(o)) {}

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_number() const { return is_int() || type() == Type::kDouble; }
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  // Typed access; throws std::runtime_error on a type mismatch.
  bool AsBool() const;
  int64_t AsInt() const;
  // Integers that are >= 0 (also accepts integers above INT64_MAX, which are
  // otherwise stored as doubles, by re-reading the original text).
  uint64_t AsUint64() const;
  double AsDouble() const;  // integers convert
  const std::string& AsString() const;
  const Array& AsArray() const;
  const Object& AsObject() const;

  // Object member or nullptr (also when this is not an object).
  const JsonValue* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  // Object member; throws when missing.
  const JsonValue& operator[](std::string_view key) const;
  const JsonValue& operator[](const char* key) const { return (*this)[std::string_view(key)]; }
  // Array element; throws when out of range.
  const JsonValue& operator[](size_t index) const;
  // Elements of an array or members of an object; 0 otherwise.
  size_t size() const;

  // The number's source text (empty for non-numbers).
  const std::string& number_text() const { return number_text_; }
  void set_number_text(std::string text) { number_text_ = std::move(text); }

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> v_;
  std::string number_text_;
};

// Parses one JSON document (RFC 8259; surrounding whitespace allowed). Throws
// std::runtime_error with the byte offset on malformed input.
JsonValue ParseJson(std::string_view text);

// ParseJson(ReadFile(path)).
JsonValue ReadJsonFile(const std::string& path);

// Hex (either case, even length) to bytes; throws on bad input.
std::vector<uint8_t> HexToBytes(std::string_view hex);
// Bytes to lowercase hex.
std::string BytesToHex(const uint8_t* data, size_t len);
inline std::string BytesToHex(const std::vector<uint8_t>& v) {
  return BytesToHex(v.data(), v.size());
}

}  // namespace drasyl::testing

#endif  // DRASYL_TESTS_SUPPORT_TEST_VECTORS_H_
