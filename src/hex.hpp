// Hex digits, for the id and tracestate parsers.
#pragma once

#include <cstdint>
#include <string_view>

namespace skein::detail {

/// The value of a hex digit, or -1. Uppercase only when `upper` (W3C headers are lowercase).
constexpr int hex_digit(char c, bool upper) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (upper && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Parses up to 16 hex digits into `out`; false on any other character.
constexpr bool parse_hex_u64(std::string_view s, std::uint64_t& out, bool upper) noexcept {
  std::uint64_t v = 0;
  for (char c : s) {
    int d = hex_digit(c, upper);
    if (d < 0) return false;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  out = v;
  return true;
}

}  // namespace skein::detail
