// A small, strict JSON parser for tests (RFC 8259): enough to check that what skein writes is
// valid JSON and to look inside it. Not for production use: recursive, and it keeps everything.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mini_json {

struct Value;
using Object = std::vector<std::pair<std::string, Value>>;  // in document order
using Array = std::vector<Value>;

struct Number {
  std::string text;  // as written
  double value = 0;
};

struct Value {
  std::variant<std::nullptr_t, bool, Number, std::string, std::shared_ptr<Array>,
               std::shared_ptr<Object>>
      v;

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
  bool is_bool() const { return std::holds_alternative<bool>(v); }
  bool is_number() const { return std::holds_alternative<Number>(v); }
  bool is_string() const { return std::holds_alternative<std::string>(v); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(v); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(v); }

  bool as_bool() const { return std::get<bool>(v); }
  const Number& as_number() const { return std::get<Number>(v); }
  const std::string& as_string() const { return std::get<std::string>(v); }
  const Array& as_array() const { return *std::get<std::shared_ptr<Array>>(v); }
  const Object& as_object() const { return *std::get<std::shared_ptr<Object>>(v); }

  /// The member `key` of an object, or nullptr (also when this is not an object).
  const Value* get(std::string_view key) const {
    if (!is_object()) return nullptr;
    for (const auto& [k, val] : as_object()) {
      if (k == key) return &val;
    }
    return nullptr;
  }
  /// How many members called `key` (JSON allows duplicates; OTLP attributes must not have them).
  std::size_t count(std::string_view key) const {
    std::size_t n = 0;
    if (is_object()) {
      for (const auto& [k, val] : as_object()) n += k == key ? 1 : 0;
    }
    return n;
  }
};

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  /// The document, or nullopt with `error()` set.
  std::optional<Value> parse() {
    ws();
    auto v = value(0);
    if (!v) return std::nullopt;
    ws();
    if (i_ != s_.size()) return fail("trailing characters");
    return v;
  }
  const std::string& error() const { return error_; }

 private:
  std::nullopt_t fail(const std::string& why) {
    if (error_.empty()) error_ = why + " at offset " + std::to_string(i_);
    return std::nullopt;
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  std::optional<Value> value(int depth) {
    if (depth > 64) return fail("too deep");
    if (i_ >= s_.size()) return fail("unexpected end");
    char c = s_[i_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      auto str = string();
      if (!str) return std::nullopt;
      return Value{std::move(*str)};
    }
    if (literal("true")) return Value{true};
    if (literal("false")) return Value{false};
    if (literal("null")) return Value{nullptr};
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    return fail(std::string("unexpected character '") + c + "'");
  }

  std::optional<Value> object(int depth) {
    ++i_;
    auto obj = std::make_shared<Object>();
    ws();
    if (eat('}')) return Value{obj};
    for (;;) {
      ws();
      if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a key");
      auto key = string();
      if (!key) return std::nullopt;
      ws();
      if (!eat(':')) return fail("expected ':'");
      ws();
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      obj->emplace_back(std::move(*key), std::move(*v));
      ws();
      if (eat(',')) continue;
      if (eat('}')) return Value{obj};
      return fail("expected ',' or '}'");
    }
  }

  std::optional<Value> array(int depth) {
    ++i_;
    auto arr = std::make_shared<Array>();
    ws();
    if (eat(']')) return Value{arr};
    for (;;) {
      ws();
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      arr->push_back(std::move(*v));
      ws();
      if (eat(',')) continue;
      if (eat(']')) return Value{arr};
      return fail("expected ',' or ']'");
    }
  }

  static void utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::optional<std::uint32_t> hex4() {
    if (i_ + 4 > s_.size()) return std::nullopt;
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return std::nullopt;
    }
    return v;
  }

  std::optional<std::string> string() {
    ++i_;  // the opening quote
    std::string out;
    while (i_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return out;
      if (c < 0x20) return fail("control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (i_ >= s_.size()) break;
      char e = s_[i_++];
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
          auto cp = hex4();
          if (!cp) return fail("bad \\u escape");
          if (*cp >= 0xD800 && *cp < 0xDC00) {
            if (!literal("\\u")) return fail("lone high surrogate");
            auto lo = hex4();
            if (!lo || *lo < 0xDC00 || *lo >= 0xE000) return fail("bad low surrogate");
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
          } else if (*cp >= 0xDC00 && *cp < 0xE000) {
            return fail("lone low surrogate");
          }
          utf8(out, *cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  std::optional<Value> number() {
    std::size_t start = i_;
    eat('-');
    if (eat('0')) {
      // no leading zeros
    } else if (i_ < s_.size() && s_[i_] >= '1' && s_[i_] <= '9') {
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    } else {
      return fail("bad number");
    }
    if (eat('.')) {
      if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return fail("bad fraction");
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (!eat('+')) eat('-');
      if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return fail("bad exponent");
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    Number n;
    n.text = std::string(s_.substr(start, i_ - start));
    n.value = std::strtod(n.text.c_str(), nullptr);
    return Value{std::move(n)};
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
};

/// Parses `text`; on failure returns nullopt and sets `*error` when given.
inline std::optional<Value> parse(std::string_view text, std::string* error = nullptr) {
  Parser p(text);
  auto v = p.parse();
  if (!v && error != nullptr) *error = p.error();
  return v;
}

}  // namespace mini_json
