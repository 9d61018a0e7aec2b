// A minimal JSON writer: escaping and OTLP values, shared by the store and the collector.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "otlp/model.hpp"

namespace skein::store {

using otlp::AnyValue;
using otlp::Attributes;

/// Appends `s` as a JSON string literal. Invalid UTF-8 bytes become U+FFFD; `<`, `>` and `&` are
/// escaped too so that the text is inert wherever it is pasted.
namespace json_internal {
// The bytes that json_string does not copy as they are: controls, non-ASCII, `"`, `\\`, `<`, `>`,
// `&`.
struct JsonSpecial {
  bool special[256] = {};
  constexpr JsonSpecial() {
    for (int c = 0; c < 256; ++c)
      special[c] =
          c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&';
  }
};
inline constexpr JsonSpecial kJsonSpecial{};
}  // namespace json_internal

inline void json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    // A run of characters that need no escaping, in one append.
    std::size_t j = i;
    while (j < n && !json_internal::kJsonSpecial.special[p[j]]) ++j;
    if (j > i) {
      out.append(s.data() + i, j - i);
      i = j;
      if (i == n) break;
    }
    unsigned char c = p[i];
    if (c >= 0x80) {
      // Copy one valid UTF-8 sequence, or write U+FFFD for one bad byte.
      std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
      bool ok = len != 0 && len <= 4 && i + len <= n;
      for (std::size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
      if (ok && len == 3 && c == 0xE0 && p[i + 1] < 0xA0) ok = false;
      if (ok && len == 3 && c == 0xED && p[i + 1] >= 0xA0) ok = false;
      if (ok && len == 4 && c == 0xF0 && p[i + 1] < 0x90) ok = false;
      if (ok && len == 4 && c == 0xF4 && p[i + 1] >= 0x90) ok = false;
      if (ok) {
        out.append(s.data() + i, len);
        i += len;
      } else {
        out += "\\ufffd";
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

inline void json_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));  // (pointer, length): not a replace
}
inline void json_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));  // (pointer, length): not a replace
}
inline void json_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    json_string(out, std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

/// An AnyValue as plain JSON: integers beyond 2^53 become strings (so JavaScript keeps every
/// digit), bytes become lowercase hex, kvlists objects.
inline void json_value(std::string& out, const AnyValue& v) {
  using K = AnyValue::Type;
  switch (v.type) {
    case K::empty: out += "null"; break;
    case K::boolean: out += v.bool_value ? "true" : "false"; break;
    case K::int64:
      if (v.int_value > (std::int64_t{1} << 53) || v.int_value < -(std::int64_t{1} << 53)) {
        out += '"';
        json_int(out, v.int_value);
        out += '"';
      } else {
        json_int(out, v.int_value);
      }
      break;
    case K::float64: json_double(out, v.double_value); break;
    case K::string: json_string(out, v.string_value); break;
    case K::bytes: {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string hex;
      for (unsigned char c : v.string_value) {
        hex += kHex[c >> 4];
        hex += kHex[c & 15];
      }
      json_string(out, hex);
      break;
    }
    case K::array: {
      out += '[';
      for (std::size_t i = 0; i < v.array_value.size(); ++i) {
        if (i) out += ',';
        json_value(out, v.array_value[i]);
      }
      out += ']';
      break;
    }
    case K::kvlist: {
      out += '{';
      for (std::size_t i = 0; i < v.kvlist_value.size(); ++i) {
        if (i) out += ',';
        json_string(out, v.kvlist_value[i].key);
        out += ':';
        json_value(out, v.kvlist_value[i].value);
      }
      out += '}';
      break;
    }
  }
}

/// Attributes as one JSON object (last value wins when a key repeats, as readers expect).
inline void json_attributes(std::string& out, const Attributes& attrs) {
  out += '{';
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    if (i) out += ',';
    json_string(out, attrs[i].key);
    out += ':';
    json_value(out, attrs[i].value);
  }
  out += '}';
}

}  // namespace skein::store
