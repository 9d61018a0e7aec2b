// W3C Trace Context level 2 and W3C Baggage: parsing, formatting, inject and extract.
//
// Every parser works on views of the input and copies only what it keeps, so the memory held per
// header is bounded by the format's limits (32 tracestate members of at most 513 characters,
// Baggage::kMaxBytes of baggage) whatever the size of the input.
#include "skein/propagation.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ids.hpp"
#include "propagation_internal.hpp"
#include "record.hpp"

namespace skein {
namespace {

// ---- characters
// ----------------------------------------------------------------------------------

constexpr char kHex[] = "0123456789abcdef";

// Lowercase hex only: the W3C grammar is HEXDIGLC.
inline int lc_hex(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Either case, for percent-encoding.
inline int any_hex(char c) noexcept {
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return lc_hex(c);
}

// Lowercase hex digit values; 0x80 marks every other byte.
constexpr auto kHexValue = [] {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0x80;
  for (int c = '0'; c <= '9'; ++c)
    t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c)
    t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'a' + 10);
  return t;
}();

// Branch-free: every digit is looked up, errors are OR-ed together and checked once.
bool parse_lc_hex(const char* p, std::size_t n, std::uint64_t& out) noexcept {
  std::uint64_t v = 0;
  std::uint8_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t d = kHexValue[static_cast<unsigned char>(p[i])];
    bad |= d;
    v = (v << 4) | (d & 0x0f);
  }
  out = v;
  return (bad & 0x80) == 0;
}

// Eight lowercase hex digits at once (SWAR): false when any byte is not [0-9a-f].
inline bool parse_hex8(const char* p, std::uint32_t& out) noexcept {
  constexpr std::uint64_t k01 = 0x0101010101010101ULL, k80 = 0x8080808080808080ULL;
  std::uint64_t x;
  std::memcpy(&x, p, 8);  // little-endian: the first digit is the low byte
  // For bytes below 0x80, adding (0x80 - b) sets a byte's high bit exactly when it is >= b.
  const std::uint64_t ge0 = x + k01 * (0x80 - '0'), ge_colon = x + k01 * (0x80 - ('9' + 1));
  const std::uint64_t ge_a = x + k01 * (0x80 - 'a'), ge_g = x + k01 * (0x80 - ('f' + 1));
  const std::uint64_t alpha = ge_a & ~ge_g & k80;
  const std::uint64_t digit = ge0 & ~ge_colon & k80;
  if (((x & k80) | ((digit | alpha) ^ k80)) != 0) return false;
  const std::uint64_t n = (x & (k01 * 0x0f)) + (alpha >> 7) * 9;  // digit values, one per byte
  // Pairs of digits into bytes, then the four bytes in reading order.
  const std::uint64_t b = ((n & 0x000f000f000f000fULL) << 4) | ((n & 0x0f000f000f000f00ULL) >> 8);
  out = static_cast<std::uint32_t>(((b & 0xff) << 24) | (((b >> 16) & 0xff) << 16) |
                                   (((b >> 32) & 0xff) << 8) | ((b >> 48) & 0xff));
  return true;
}

#if defined(__SSE2__)
// Sixteen lowercase hex digits in one SSE2 register (baseline on x86-64): ~20 instructions where
// two SWAR halves took ~60 (callgrind, BM_InjectExtract parses three ids per round trip).
inline bool parse_hex16(const char* p, std::uint64_t& out) noexcept {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i d = _mm_sub_epi8(x, _mm_set1_epi8('0'));  // a digit's value, as unsigned bytes
  const __m128i l = _mm_sub_epi8(x, _mm_set1_epi8('a'));  // a letter's value minus 10
  const __m128i is_digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
  const __m128i is_letter = _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(5)), l);
  if (_mm_movemask_epi8(_mm_or_si128(is_digit, is_letter)) != 0xffff) return false;
  // A letter's value is d - ('a' - '0' - 10).
  const __m128i n = _mm_sub_epi8(d, _mm_and_si128(is_letter, _mm_set1_epi8('a' - '0' - 10)));
  // Each 16-bit lane holds two digits, the first in its low byte: (first << 4) | second.
  const __m128i pairs = _mm_and_si128(_mm_or_si128(_mm_slli_epi16(n, 4), _mm_srli_epi16(n, 8)),
                                      _mm_set1_epi16(0x00ff));
  const auto bytes = static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_packus_epi16(pairs, pairs)));
  out = __builtin_bswap64(bytes);  // the first two digits are the most significant byte
  return true;
}
#else
inline bool parse_hex16(const char* p, std::uint64_t& out) noexcept {
  std::uint32_t hi, lo;
  if (!parse_hex8(p, hi) || !parse_hex8(p + 8, lo)) return false;
  out = (static_cast<std::uint64_t>(hi) << 32) | lo;
  return true;
}
#endif

// Eight lowercase hex digits of a 32-bit value (SWAR): nibbles spread to bytes, then to ASCII.
inline void put_hex8(std::uint32_t v, char* out) noexcept {
  std::uint64_t x = v;
  x = (x | (x << 16)) & 0x0000ffff0000ffffULL;
  x = (x | (x << 8)) & 0x00ff00ff00ff00ffULL;
  x = (x | (x << 4)) & 0x0f0f0f0f0f0f0f0fULL;  // one nibble per byte, most significant highest
  const std::uint64_t letter = ((x + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
  x += 0x3030303030303030ULL + letter * ('a' - '0' - 10);
  x = __builtin_bswap64(x);  // the first character is the most significant digit
  std::memcpy(out, &x, 8);
}

#if defined(__SSE2__)
// Sixteen lowercase hex digits of v with SSE2: the bytes in reading order, their nibbles
// interleaved, then to ASCII ('0' + n, plus 39 more for the letters).
inline void put_hex16(std::uint64_t v, char* out) noexcept {
  const __m128i x = _mm_cvtsi64_si128(static_cast<long long>(__builtin_bswap64(v)));
  const __m128i lo = _mm_and_si128(x, _mm_set1_epi8(0x0f));
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), _mm_set1_epi8(0x0f));
  const __m128i n = _mm_unpacklo_epi8(hi, lo);
  const __m128i letter = _mm_cmpgt_epi8(n, _mm_set1_epi8(9));
  const __m128i c = _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8('0')),
                                 _mm_and_si128(letter, _mm_set1_epi8('a' - '0' - 10)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), c);
}
#else
inline void put_hex16(std::uint64_t v, char* out) noexcept {
  put_hex8(static_cast<std::uint32_t>(v >> 32), out);
  put_hex8(static_cast<std::uint32_t>(v), out + 8);
}
#endif

inline bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// tracestate key characters after the first.
inline bool ts_keychar(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
         c == '/';
}
inline bool lcalpha(char c) noexcept {
  return c >= 'a' && c <= 'z';
}
inline bool digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// Character classes of the baggage grammar, one table lookup per byte.
enum : std::uint8_t { kTchar = 1, kBaggageOctet = 2 };
constexpr auto kBaggageClass = [] {
  std::array<std::uint8_t, 256> t{};
  // RFC 7230 tchar: the characters of a baggage key.
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] |= kTchar;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] |= kTchar;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] |= kTchar;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] |= kTchar;
  // baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
  for (int c = 0x21; c <= 0x7e; ++c) {
    if (c != 0x22 && c != 0x2c && c != 0x3b && c != 0x5c)
      t[static_cast<std::size_t>(c)] |= kBaggageOctet;
  }
  return t;
}();

inline bool baggage_octet(char c) noexcept {
  return (kBaggageClass[static_cast<unsigned char>(c)] & kBaggageOctet) != 0;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  std::uint8_t all = kTchar;
  for (char c : s) all &= kBaggageClass[static_cast<unsigned char>(c)];
  return all != 0;
}

bool all_baggage_octets(std::string_view s) noexcept {
  std::uint8_t all = kBaggageOctet;
  for (char c : s) all &= kBaggageClass[static_cast<unsigned char>(c)];
  return all != 0;
}

// Characters sent as they are in a baggage value; everything else is percent-encoded. '%' must
// be encoded to round-trip, and '+' too because some decoders (form encoding) read it as a space.
inline bool baggage_plain(char c) noexcept {
  return baggage_octet(c) && c != '%' && c != '+';
}

std::size_t encoded_size(std::string_view v) noexcept {
  std::size_t n = 0;
  for (char c : v) n += baggage_plain(c) ? 1 : 3;
  return n;
}

void percent_encode(std::string_view v, std::string& out) {
  for (char c : v) {
    if (baggage_plain(c)) {
      out.push_back(c);
    } else {
      auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back("0123456789ABCDEF"[u >> 4]);
      out.push_back("0123456789ABCDEF"[u & 15]);
    }
  }
}

bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static constexpr std::uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

// Decodes %XX sequences. False on a malformed escape or when the result is not UTF-8.
bool percent_decode(std::string_view in, std::string& out) {
  // Raw baggage octets are ASCII: without an escape the value is itself, and valid UTF-8.
  if (in.find('%') == std::string_view::npos) {
    out.assign(in);
    return true;
  }
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int h = any_hex(in[i + 1]);
    int l = any_hex(in[i + 2]);
    if (h < 0 || l < 0) return false;
    out.push_back(static_cast<char>(h * 16 + l));
    i += 2;
  }
  return valid_utf8(out);
}

// Validates a property list (";k=v;k2", OWS allowed around every part) and writes it without
// the optional whitespace. False when malformed.
bool normalize_properties(std::string_view props, std::string& out) {
  out.clear();
  while (!props.empty()) {
    // props starts with ';'
    props.remove_prefix(1);
    std::size_t semi = props.find(';');
    std::string_view prop = trim_ows(props.substr(0, semi));
    props = semi == std::string_view::npos ? std::string_view() : props.substr(semi);
    std::size_t eq = prop.find('=');
    std::string_view key = trim_ows(prop.substr(0, eq));
    if (!is_token(key)) return false;
    out.push_back(';');
    out.append(key);
    if (eq != std::string_view::npos) {
      std::string_view value = trim_ows(prop.substr(eq + 1));
      if (!all_baggage_octets(value)) return false;
      out.push_back('=');
      out.append(value);
    }
  }
  return true;
}

// ---- tracestate
// ----------------------------------------------------------------------------------

// Accumulates tracestate headers into canonical text, validating as it goes. Holds at most
// kMaxMembers members of at most 513 characters.
struct TraceStateBuilder {
  std::string out;
  std::uint16_t key_len[TraceState::kMaxMembers] = {};
  std::uint16_t member_off[TraceState::kMaxMembers] = {};
  std::size_t count = 0;
  bool invalid = false;

  void add(std::string_view header) {
    if (invalid) return;
    std::size_t i = 0;
    while (true) {
      std::size_t comma = header.find(',', i);
      std::string_view member = trim_ows(
          header.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i));
      if (!member.empty() && !add_member(member)) {
        invalid = true;
        out.clear();
        return;
      }
      if (comma == std::string_view::npos) return;
      i = comma + 1;
    }
  }

  bool add_member(std::string_view member) {
    std::size_t eq = member.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view key = member.substr(0, eq);
    std::string_view value = member.substr(eq + 1);
    if (!TraceState::valid_key(key) || !TraceState::valid_value(value)) return false;
    if (count == TraceState::kMaxMembers) return false;
    for (std::size_t m = 0; m < count; ++m) {
      if (std::string_view(out).substr(member_off[m], key_len[m]) == key) return false;
    }
    if (count > 0) out.push_back(',');
    member_off[count] = static_cast<std::uint16_t>(out.size());
    key_len[count] = static_cast<std::uint16_t>(key.size());
    ++count;
    out.append(member);
    return true;
  }
};

// Cuts a canonical tracestate to TraceState::kMaxLength by whole entries: entries longer than
// 128 characters go first (last one first), then entries from the end.
void truncate_tracestate(std::string& ts) {
  if (ts.size() <= TraceState::kMaxLength) return;
  std::vector<std::string_view> members;
  std::string_view rest = ts;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    members.push_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  std::size_t total = ts.size();
  for (std::size_t i = members.size(); i-- > 0 && total > TraceState::kMaxLength;) {
    if (members[i].size() > 128) {
      total -= members[i].size() + 1;
      members.erase(members.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  while (total > TraceState::kMaxLength && !members.empty()) {
    total -= members.back().size() + 1;
    members.pop_back();
  }
  std::string out;
  out.reserve(TraceState::kMaxLength);
  for (std::string_view m : members) {
    if (!out.empty()) out.push_back(',');
    out.append(m);
  }
  ts = std::move(out);
}

}  // namespace

// ---- traceparent
// ---------------------------------------------------------------------------------

std::optional<TraceParent> parse_traceparent(std::string_view v) noexcept {
  v = trim_ows(v);
  if (v.size() < kTraceparentLength) return std::nullopt;
  const char* p = v.data();
  int v_hi = lc_hex(p[0]), v_lo = lc_hex(p[1]);
  if (v_hi < 0 || v_lo < 0 || p[2] != '-') return std::nullopt;
  const int version = v_hi * 16 + v_lo;
  if (version == 0xff) return std::nullopt;
  // Version 00 is exactly 55 characters; a higher version may append fields after a dash.
  if (version == 0 ? v.size() != kTraceparentLength
                   : (v.size() > kTraceparentLength && p[kTraceparentLength] != '-')) {
    return std::nullopt;
  }
  if (p[35] != '-' || p[52] != '-') return std::nullopt;
  TraceParent tp;
  std::uint64_t flags = 0;
  if (!parse_hex16(p + 3, tp.trace_id.hi) || !parse_hex16(p + 19, tp.trace_id.lo) ||
      !parse_hex16(p + 36, tp.parent_id.value) || !parse_lc_hex(p + 53, 2, flags)) {
    return std::nullopt;
  }
  if (!tp.trace_id.valid() || !tp.parent_id.valid()) return std::nullopt;
  tp.flags = static_cast<std::uint8_t>(flags & (trace_flags::sampled | trace_flags::random));
  return tp;
}

void format_traceparent(TraceId trace, SpanId parent, std::uint8_t flags,
                        char (&out)[kTraceparentLength]) noexcept {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  put_hex16(trace.hi, out + 3);
  put_hex16(trace.lo, out + 19);
  out[35] = '-';
  put_hex16(parent.value, out + 36);
  out[52] = '-';
  // Flags this version does not define must be sent as zero.
  out[53] = '0';
  out[54] = kHex[flags & (trace_flags::sampled | trace_flags::random)];
}

std::string format_traceparent(const Context& ctx) {
  if (!ctx.valid()) return {};
  char buf[kTraceparentLength];
  format_traceparent(ctx.trace_id(), ctx.span_id(), ctx.flags(), buf);
  return std::string(buf, kTraceparentLength);
}

// ---- TraceState
// ----------------------------------------------------------------------------------

bool TraceState::valid_key(std::string_view key) noexcept {
  if (key.empty()) return false;
  std::size_t at = key.find('@');
  if (at == std::string_view::npos) {
    // simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
    if (key.size() > 256 || !lcalpha(key[0])) return false;
    return std::all_of(key.begin() + 1, key.end(), ts_keychar);
  }
  // multi-tenant-key = tenant-id "@" system-id
  // tenant-id = ( lcalpha / DIGIT ) 0*240( keychar ); system-id = lcalpha 0*13( keychar )
  std::string_view tenant = key.substr(0, at);
  std::string_view system = key.substr(at + 1);
  if (tenant.empty() || tenant.size() > 241 || !(lcalpha(tenant[0]) || digit(tenant[0]))) {
    return false;
  }
  if (system.empty() || system.size() > 14 || !lcalpha(system[0])) return false;
  return std::all_of(tenant.begin() + 1, tenant.end(), ts_keychar) &&
         std::all_of(system.begin() + 1, system.end(), ts_keychar);
}

bool TraceState::valid_value(std::string_view value) noexcept {
  // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E || c == ',' || c == '=') return false;
  }
  return true;
}

std::optional<TraceState> TraceState::parse(std::string_view value) {
  TraceStateBuilder b;
  b.add(value);
  if (b.invalid) return std::nullopt;
  truncate_tracestate(b.out);
  TraceState ts;
  ts.header_ = std::move(b.out);
  return ts;
}

TraceState TraceState::of(const Context& ctx) {
  TraceState ts;
  ts.header_ = std::string(ctx.trace_state());
  return ts;
}

std::optional<std::string> TraceState::get(std::string_view key) const&& {
  auto v = static_cast<const TraceState&>(*this).get(key);
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::optional<std::string_view> TraceState::get(std::string_view key) const& noexcept {
  std::optional<std::string_view> found;
  for_each([&](std::string_view k, std::string_view v) {
    if (!found && k == key) found = v;
  });
  return found;
}

bool TraceState::remove(std::string_view key) {
  std::string out;
  bool removed = false;
  for_each([&](std::string_view k, std::string_view v) {
    if (k == key) {
      removed = true;
      return;
    }
    if (!out.empty()) out.push_back(',');
    out.append(k).append("=").append(v);
  });
  if (removed) header_ = std::move(out);
  return removed;
}

bool TraceState::set(std::string_view key, std::string_view value) {
  if (!valid_key(key) || !valid_value(value)) return false;
  std::string out;
  out.reserve(header_.size() + key.size() + value.size() + 2);
  out.append(key).append("=").append(value);
  std::size_t n = 1;
  for_each([&](std::string_view k, std::string_view v) {
    if (k == key || n == kMaxMembers) return;  // the oldest entry makes room for a new one
    out.append(",").append(k).append("=").append(v);
    ++n;
  });
  truncate_tracestate(out);
  header_ = std::move(out);
  return true;
}

std::size_t TraceState::size() const noexcept {
  if (header_.empty()) return 0;
  return static_cast<std::size_t>(std::count(header_.begin(), header_.end(), ',')) + 1;
}

// ---- Baggage
// ---------------------------------------------------------------------------------------

struct BaggageParser {
  // Parses one header into `b`; `keys`, when not empty, is an allow-list.
  static void add(Baggage& b, std::string_view header, const std::vector<std::string>* keys) {
    std::string value, props;
    std::size_t i = 0;
    while (true) {
      std::size_t comma = header.find(',', i);
      std::string_view member = trim_ows(
          header.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i));
      if (!member.empty()) add_member(b, member, keys, value, props);
      if (comma == std::string_view::npos) return;
      i = comma + 1;
    }
  }

  static void add_member(Baggage& b, std::string_view member, const std::vector<std::string>* keys,
                         std::string& value, std::string& props) {
    // A member longer than the whole budget cannot be kept: drop it before copying anything.
    if (member.size() > Baggage::kMaxBytes) return;
    std::size_t semi = member.find(';');
    std::string_view kv = member.substr(0, semi);
    std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) return;
    std::string_view key = trim_ows(kv.substr(0, eq));
    std::string_view raw = trim_ows(kv.substr(eq + 1));
    if (!is_token(key) || !all_baggage_octets(raw)) return;
    if (keys != nullptr && !keys->empty() &&
        std::find(keys->begin(), keys->end(), key) == keys->end()) {
      return;
    }
    if (!percent_decode(raw, value)) return;
    if (semi != std::string_view::npos) {
      if (!normalize_properties(member.substr(semi), props)) return;
    } else {
      props.clear();
    }
    put(b, key, value, props);
  }

  // Adds or replaces; false when a limit would be exceeded.
  static bool put(Baggage& b, std::string_view key, std::string_view value,
                  std::string_view props) {
    const std::size_t size = key.size() + 1 + encoded_size(value) + props.size();
    for (auto& e : b.entries_) {
      if (e.key != key) continue;
      const std::size_t old = e.key.size() + 1 + encoded_size(e.value) + e.properties.size();
      if (b.bytes_ - old + size > Baggage::kMaxBytes) return false;
      e.value.assign(value);
      e.properties.assign(props);
      b.bytes_ = b.bytes_ - old + size;
      return true;
    }
    const std::size_t sep = b.entries_.empty() ? 0 : 1;
    if (b.entries_.size() >= Baggage::kMaxEntries || b.bytes_ + sep + size > Baggage::kMaxBytes) {
      return false;
    }
    Baggage::Entry& e = b.entries_.emplace_back();
    e.key.assign(key);
    e.value.assign(value);
    e.properties.assign(props);
    b.bytes_ += sep + size;
    return true;
  }
};

Baggage::Baggage(std::initializer_list<std::pair<std::string_view, std::string_view>> entries) {
  for (const auto& [k, v] : entries) set(k, v);
}

Baggage Baggage::parse(std::string_view header) {
  Baggage b;
  b.entries_.reserve(8);  // most headers have a handful of entries
  BaggageParser::add(b, header, nullptr);
  return b;
}

Baggage Baggage::of(const Context& ctx) {
  if (ctx.baggage().empty()) return {};
  return parse(ctx.baggage());
}

Baggage Baggage::current() {
  const detail::ContextState& s = detail::current_state();
  if (s.extras == nullptr || *s.extras == nullptr || (*s.extras)->baggage.empty()) return {};
  return parse((*s.extras)->baggage);
}

std::optional<std::string_view> Baggage::get(std::string_view key) const& noexcept {
  if (const Entry* e = find(key)) return std::string_view(e->value);
  return std::nullopt;
}

std::optional<std::string> Baggage::get(std::string_view key) const&& {
  if (const Entry* e = find(key)) return e->value;
  return std::nullopt;
}

const Baggage::Entry* Baggage::find(std::string_view key) const& noexcept {
  for (const Entry& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

bool Baggage::set(std::string_view key, std::string_view value, std::string_view properties) {
  if (!is_token(key) || !valid_utf8(value)) return false;
  std::string props;
  if (!properties.empty() &&
      (properties.front() != ';' || !normalize_properties(properties, props))) {
    return false;
  }
  return BaggageParser::put(*this, key, value, props);
}

bool Baggage::remove(std::string_view key) {
  auto it =
      std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
  if (it == entries_.end()) return false;
  const std::size_t size = it->key.size() + 1 + encoded_size(it->value) + it->properties.size();
  bytes_ -= size + (entries_.size() > 1 ? 1 : 0);
  entries_.erase(it);
  return true;
}

void Baggage::retain(const std::vector<std::string>& keys) {
  std::vector<Entry> kept;
  for (Entry& e : entries_) {
    if (std::find(keys.begin(), keys.end(), e.key) != keys.end()) kept.push_back(std::move(e));
  }
  entries_.clear();
  bytes_ = 0;
  for (Entry& e : kept) BaggageParser::put(*this, e.key, e.value, e.properties);
}

std::string Baggage::to_header() const {
  std::string out;
  out.reserve(bytes_);
  for (const Entry& e : entries_) {
    if (!out.empty()) out.push_back(',');
    out.append(e.key);
    out.push_back('=');
    percent_encode(e.value, out);
    out.append(e.properties);
  }
  return out;
}

Context with_baggage(const Context& ctx, const Baggage& baggage) {
  std::string header = baggage.to_header();
  std::string_view ts = ctx.trace_state();
  std::shared_ptr<const ContextExtras> extras;
  auto locals = ctx.extras() ? ctx.extras()->locals : nullptr;  // context-local values stay
  if (!header.empty() || !ts.empty() || locals) {
    extras = std::make_shared<const ContextExtras>(
        ContextExtras{std::string(ts), std::move(header), std::move(locals)});
  }
  return Context(ctx.trace_id(), ctx.span_id(), ctx.flags(), ctx.remote(), std::move(extras));
}

BaggageScope::BaggageScope(const Baggage& baggage) {
  detail::ContextState& cur = detail::current_state();
  saved_ = cur;
  std::string header = baggage.to_header();
  std::string ts;
  std::shared_ptr<const detail::LocalValues> locals;  // context-local values stay
  if (cur.extras != nullptr && *cur.extras != nullptr) {
    ts = (*cur.extras)->trace_state;
    locals = (*cur.extras)->locals;
  }
  if (!header.empty() || !ts.empty() || locals) {
    keep_ = std::make_shared<const ContextExtras>(
        ContextExtras{std::move(ts), std::move(header), std::move(locals)});
  }
  cur.extras = keep_ ? &keep_ : nullptr;
}

BaggageScope::~BaggageScope() {
  detail::current_state() = saved_;
}

// ---- inject / extract
// ------------------------------------------------------------------------------

namespace detail {

namespace {
// ASCII-case-insensitive equality with an all-letters lowercase name, 8 bytes at a time: for a
// letter target, (c | 0x20) == target holds exactly for its two cases. `lc` is 7 to 16 bytes.
inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline std::uint32_t load4(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline bool iequals_letters(std::string_view name, std::string_view lc) noexcept {
  const std::size_t n = lc.size();
  if (n >= 8) {
    constexpr std::uint64_t kCase = 0x2020202020202020ULL;
    return ((load8(name.data()) | kCase) == load8(lc.data())) &&
           ((load8(name.data() + n - 8) | kCase) == load8(lc.data() + n - 8));
  }
  constexpr std::uint32_t kCase4 = 0x20202020U;
  return ((load4(name.data()) | kCase4) == load4(lc.data())) &&
         ((load4(name.data() + n - 4) | kCase4) == load4(lc.data() + n - 4));
}
}  // namespace

int propagation_header(std::string_view name) noexcept {
  switch (name.size()) {
    case 11: return iequals_letters(name, kTraceparentHeader) ? 0 : -1;
    case 10: return iequals_letters(name, kTracestateHeader) ? 1 : -1;
    case 7: return iequals_letters(name, kBaggageHeader) ? 2 : -1;
    default: return -1;
  }
}

struct Extractor::Slow {
  TraceStateBuilder trace_state;
  bool has_trace_state = false;
  Baggage baggage;
};

Extractor::~Extractor() {
  delete slow_;
}

Extractor::Slow* Extractor::slow() noexcept {
  if (slow_ == nullptr) slow_ = new (std::nothrow) Slow();
  return slow_;
}

void Extractor::add(std::string_view name, std::string_view value) noexcept {
  switch (propagation_header(name)) {
    case 0:
      if (!options_.trace_context) return;
      if (++traceparent_count_ == 1) {
        if (auto tp = parse_traceparent(value)) {
          traceparent_ = *tp;
          traceparent_valid_ = true;
        }
      }
      return;
    case 1:
      if (!options_.trace_context) return;
      if (Slow* s = slow()) {
        try {
          s->has_trace_state = true;
          s->trace_state.add(value);
        } catch (...) {
          s->trace_state.invalid = true;
        }
      }
      return;
    case 2:
      if (!options_.baggage) return;
      if (Slow* s = slow()) {
        try {
          BaggageParser::add(s->baggage, value, &options_.baggage_keys);
        } catch (...) {
        }
      }
      return;
    default: return;
  }
}

Context Extractor::finish() noexcept {
  // Two traceparent headers are as invalid as a malformed one: restart the trace.
  const bool tp = traceparent_valid_ && traceparent_count_ == 1;
  if (slow_ == nullptr) {
    if (!tp) return {};
    return Context(traceparent_.trace_id, traceparent_.parent_id, traceparent_.flags, true);
  }
  std::shared_ptr<const ContextExtras> extras;
  try {
    std::string ts;
    // tracestate is read only with a valid traceparent, and discarded whole when invalid.
    if (tp && slow_->has_trace_state && !slow_->trace_state.invalid) {
      ts = std::move(slow_->trace_state.out);
      truncate_tracestate(ts);
    }
    std::string bg = slow_->baggage.to_header();
    if (!ts.empty() || !bg.empty()) {
      extras = std::make_shared<const ContextExtras>(ContextExtras{std::move(ts), std::move(bg)});
    }
  } catch (...) {
    extras.reset();
  }
  if (!tp) return Context(TraceId{}, SpanId{}, 0, false, std::move(extras));
  return Context(traceparent_.trace_id, traceparent_.parent_id, traceparent_.flags, true,
                 std::move(extras));
}

namespace {
void fill(TraceId trace, SpanId span, std::uint8_t flags, const ContextExtras* extras,
          Outgoing& out) noexcept {
  out.values[0] = out.values[1] = out.values[2] = std::string_view();
  if (trace.valid() && span.valid()) {
    format_traceparent(trace, span, flags, out.traceparent_buf);
    out.values[0] = std::string_view(out.traceparent_buf, kTraceparentLength);
    if (extras != nullptr) out.values[1] = extras->trace_state;
  }
  if (extras != nullptr) out.values[2] = extras->baggage;
}
}  // namespace

void prepare_outgoing(const Context& ctx, Outgoing& out) noexcept {
  fill(ctx.trace_id(), ctx.span_id(), ctx.flags(), ctx.extras().get(), out);
}

void prepare_outgoing_current(Outgoing& out) noexcept {
  const ContextState& s = current_state();
  fill(trace_id_of(s), span_id_of(s), s.flags, s.extras != nullptr ? s.extras->get() : nullptr,
       out);
}

void copy_baggage_attributes(SpanRecord& r, const std::vector<std::string>& keys) noexcept {
  if (!r.extras) return;
  // The header is canonical (skein wrote it): members split on ',', key before the first '=',
  // properties after the first ';'.
  std::string_view rest = r.extras->baggage;
  std::string value;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view member = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    std::size_t eq = member.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = member.substr(0, eq);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
    std::string_view raw = member.substr(eq + 1);
    raw = raw.substr(0, raw.find(';'));
    try {
      if (!percent_decode(raw, value)) continue;
    } catch (...) {
      continue;
    }
    r.set(AttrTarget::span, {}, key, Value(std::string_view(value)), true);
  }
}

}  // namespace detail
}  // namespace skein
