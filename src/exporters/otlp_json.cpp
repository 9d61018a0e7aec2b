// The OTLP JSON mapping of ExportTraceServiceRequest (opentelemetry-proto, "JSON Protobuf
// Encoding"): lowerCamelCase field names, trace and span ids as lowercase hex, enums as integers,
// 64-bit integers (times, intValue) as decimal strings, default values omitted.
#include <charconv>
#include <cmath>
#include <cstdio>

#include "otlp_encode.hpp"
#include "skein/exporter.hpp"

namespace skein {
namespace detail::otlp {

// ---- UTF-8 -------------------------------------------------------------------------------------

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
std::size_t utf8_sequence(const unsigned char* s, std::size_t i, std::size_t n) noexcept {
  unsigned char c = s[i];
  if (c < 0x80) return 1;
  auto cont = [&](std::size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && s[i + 1] < 0xA0) return 0;   // overlong
    if (c == 0xED && s[i + 1] >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && s[i + 1] < 0x90) return 0;   // overlong
    if (c == 0xF4 && s[i + 1] >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

bool utf8_valid(std::string_view sv) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  const std::size_t n = sv.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII fast path, eight bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      __builtin_memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    std::size_t k = utf8_sequence(s, i, n);
    if (k == 0) return false;
    i += k;
  }
  return true;
}

std::string_view utf8_clean(std::string_view sv, std::string& scratch) {
  if (utf8_valid(sv)) return sv;
  scratch.clear();
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  for (std::size_t i = 0; i < sv.size();) {
    std::size_t k = utf8_sequence(s, i, sv.size());
    if (k == 0) {
      scratch += "\xEF\xBF\xBD";
      ++i;
    } else {
      scratch.append(sv.data() + i, k);
      i += k;
    }
  }
  return scratch;
}

// ---- JSON --------------------------------------------------------------------------------------

namespace {

bool needs_escape(unsigned char c) {
  return c == '"' || c == '\\' || c < 0x20;
}

// Whether any of 8 bytes needs escaping (a control character, '"' or '\\'), without a branch
// per byte.
bool word_needs_escape(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  auto has_zero = [&](std::uint64_t x) { return (x - ones) & ~x & highs; };
  const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
  return (below_space | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) != 0;
}

void json_string(std::string& out, std::string_view raw) {
  thread_local std::string scratch;
  std::string_view s = utf8_clean(raw, scratch);
  out += '"';
  std::size_t run = 0;  // start of the bytes copied as they are
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (std::uint64_t w;
        i + 8 <= s.size() && (__builtin_memcpy(&w, s.data() + i, 8), !word_needs_escape(w))) {
      i += 7;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

template <class Int>
void json_int(std::string& out, Int v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void json_u64_string(std::string& out, std::uint64_t v) {
  out += '"';
  json_int(out, v);
  out += '"';
}

void json_double(std::string& out, double d) {
  // proto3 JSON: non-finite doubles are the strings "NaN", "Infinity", "-Infinity".
  if (std::isnan(d)) {
    out += "\"NaN\"";
  } else if (std::isinf(d)) {
    out += d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    char buf[32];  // the shortest text that reads back as exactly `d`
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
  }
}

void hex64(std::string& out, std::uint64_t v) {
  static constexpr char hex[] = "0123456789abcdef";
  char buf[16];
  for (int i = 15; i >= 0; --i, v >>= 4) buf[i] = hex[v & 15];
  out.append(buf, 16);
}

void any_value(std::string& out, const AttrValue& v) {
  using T = AttrValue::Type;
  switch (v.type()) {
    case T::empty: out += "{}"; return;
    case T::boolean: out += v.as_bool() ? "{\"boolValue\":true}" : "{\"boolValue\":false}"; return;
    case T::int64:
      out += "{\"intValue\":\"";
      json_int(out, v.as_int());
      out += "\"}";
      return;
    case T::float64:
      out += "{\"doubleValue\":";
      json_double(out, v.as_double());
      out += '}';
      return;
    case T::string:
      out += "{\"stringValue\":";
      json_string(out, v.as_string());
      out += '}';
      return;
    default: break;
  }
  out += "{\"arrayValue\":{\"values\":[";
  bool first = true;
  auto sep = [&] {
    if (!first) out += ',';
    first = false;
  };
  switch (v.type()) {
    case T::bool_array:
      for (bool b : v.bools()) {
        sep();
        any_value(out, AttrValue(b));
      }
      break;
    case T::int64_array:
      for (std::int64_t i : v.ints()) {
        sep();
        any_value(out, AttrValue(i));
      }
      break;
    case T::float64_array:
      for (double d : v.doubles()) {
        sep();
        any_value(out, AttrValue(d));
      }
      break;
    case T::string_array:
      for (std::string_view s : v.strings()) {
        sep();
        any_value(out, AttrValue(s));
      }
      break;
    default: break;
  }
  out += "]}}";
}

void attributes(std::string& out, std::span<const Attribute> core,
                std::span<const Attribute> user) {
  out += "\"attributes\":[";
  bool first = true;
  for (auto list : {core, user}) {
    for (const Attribute& a : list) {
      if (!first) out += ',';
      first = false;
      out += "{\"key\":";
      json_string(out, a.key);
      out += ",\"value\":";
      any_value(out, a.value);
      out += '}';
    }
  }
  out += ']';
}

void span_id(std::string& out, const char* field, SpanId id) {
  out += ",\"";
  out += field;
  out += "\":\"";
  hex64(out, id.value);
  out += '"';
}

void trace_id(std::string& out, TraceId id) {
  out += "{\"traceId\":\"";
  hex64(out, id.hi);
  hex64(out, id.lo);
  out += '"';
}

}  // namespace

void json_append_span(std::string& out, const SpanView& s) {
  trace_id(out, s.trace_id);
  span_id(out, "spanId", s.span_id);
  if (!s.trace_state.empty()) {
    out += ",\"traceState\":";
    json_string(out, s.trace_state);
  }
  if (s.parent_span_id.valid()) span_id(out, "parentSpanId", s.parent_span_id);
  out += ",\"flags\":";
  json_int(out, span_flags(s));
  out += ",\"name\":";
  json_string(out, s.name);
  out += ",\"kind\":";
  json_int(out, static_cast<int>(s.kind) + 1);  // SPAN_KIND_INTERNAL = 1 ...
  out += ",\"startTimeUnixNano\":";
  json_u64_string(out, s.start_unix_nano);
  out += ",\"endTimeUnixNano\":";
  json_u64_string(out, s.end_unix_nano);
  out += ',';
  CoreAttributes core = core_attributes(s);
  attributes(out, core.view(), s.attributes);
  if (s.dropped_attributes > 0) {
    out += ",\"droppedAttributesCount\":";
    json_int(out, s.dropped_attributes);
  }
  if (!s.events.empty()) {
    out += ",\"events\":[";
    for (std::size_t i = 0; i < s.events.size(); ++i) {
      const EventView& e = s.events[i];
      if (i > 0) out += ',';
      out += "{\"timeUnixNano\":";
      json_u64_string(out, e.time_unix_nano);
      out += ",\"name\":";
      json_string(out, e.name);
      out += ',';
      attributes(out, {}, e.attributes);
      out += '}';
    }
    out += ']';
  }
  if (s.dropped_events > 0) {
    out += ",\"droppedEventsCount\":";
    json_int(out, s.dropped_events);
  }
  if (!s.links.empty()) {
    out += ",\"links\":[";
    for (std::size_t i = 0; i < s.links.size(); ++i) {
      const LinkView& l = s.links[i];
      if (i > 0) out += ',';
      trace_id(out, l.trace_id);
      span_id(out, "spanId", l.span_id);
      if (!l.trace_state.empty()) {
        out += ",\"traceState\":";
        json_string(out, l.trace_state);
      }
      out += ',';
      attributes(out, {}, l.attributes);
      out += ",\"flags\":";
      json_int(out, link_flags(l));
      out += '}';
    }
    out += ']';
  }
  if (s.dropped_links > 0) {
    out += ",\"droppedLinksCount\":";
    json_int(out, s.dropped_links);
  }
  out += ",\"status\":{";
  if (s.status != StatusCode::unset) {
    if (!s.status_message.empty()) {
      out += "\"message\":";
      json_string(out, s.status_message);
      out += ',';
    }
    out += "\"code\":";
    json_int(out, static_cast<int>(s.status));  // UNSET 0, OK 1, ERROR 2
  }
  out += "}}";
}

void json_append_head(std::string& out, const Resource* res) {
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  if (res != nullptr) {
    for (std::size_t k = 0; k < res->attributes.size(); ++k) {
      if (k > 0) out += ',';
      out += "{\"key\":";
      json_string(out, res->attributes[k].first);
      out += ",\"value\":{\"stringValue\":";
      json_string(out, res->attributes[k].second);
      out += "}}";
    }
  }
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"";
  out += kScopeName;
  out += "\",\"version\":\"";
  out += kScopeVersion;
  out += "\"},\"spans\":[";
}

void json_append_tail(std::string& out) {
  out += "]}]}]}";
}

void json_append_request(std::string& out, const Resource* res, std::string_view spans) {
  json_append_head(out, res);
  out += spans;
  json_append_tail(out);
}

}  // namespace detail::otlp

void encode_otlp_json(std::span<const SpanView> batch, std::string& out) {
  // Spans of one batch share a resource unless they come from several tracers: one request per
  // run of spans with the same resource would not be one line, so group runs as ResourceSpans.
  out += "{\"resourceSpans\":[";
  std::string spans, one;
  std::size_t i = 0;
  bool first_rs = true;
  while (i < batch.size()) {
    const Resource* res = batch[i].resource;
    spans.clear();
    for (; i < batch.size() && batch[i].resource == res; ++i) {
      if (!spans.empty()) spans += ',';
      detail::otlp::json_append_span(spans, batch[i]);
    }
    one.clear();
    detail::otlp::json_append_request(one, res, spans);
    // Strip the request envelope `{"resourceSpans":[` ... `]}` to keep only the ResourceSpans.
    constexpr std::size_t kHead = sizeof("{\"resourceSpans\":[") - 1;
    if (!first_rs) out += ',';
    first_rs = false;
    out.append(one, kHead, one.size() - kHead - 2);
  }
  out += "]}";
}

}  // namespace skein
