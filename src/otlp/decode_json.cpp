// OTLP JSON decoding of ExportTraceServiceRequest with simdjson (DOM). See decode.hpp for what
// is accepted. 64-bit integers never go through a double: strings are parsed with from_chars,
// numbers come from simdjson as int64/uint64 when they are integers.
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "otlp/decode.hpp"

namespace skein::otlp {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

struct Failure {
  std::string message;
};

[[noreturn]] void fail(std::string_view where, std::string_view what) {
  throw Failure{std::string(where) + ": " + std::string(what)};
}

// Matches the lowerCamelCase JSON name or the original proto field name.
bool is(std::string_view key, std::string_view camel, std::string_view snake) {
  return key == camel || key == snake;
}

object as_object(element e, std::string_view where) {
  object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) fail(where, "expected an object");
  return o;
}

// Absent arrays are written as null by some encoders.
template <class Fn>
void each(element e, std::string_view where, Fn fn) {
  if (e.is_null()) return;
  array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) fail(where, "expected an array");
  for (element item : a) fn(item);
}

std::string str(element e, std::string_view where) {
  if (e.is_null()) return {};
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) fail(where, "expected a string");
  return std::string(s);
}

template <class Int>
Int integer(element e, std::string_view where) {
  switch (e.type()) {
    case element_type::INT64: {
      std::int64_t v = 0;
      if (e.get_int64().get(v) != simdjson::SUCCESS) fail(where, "unreadable value");
      if (v < static_cast<std::int64_t>(std::numeric_limits<Int>::min()) ||
          (v > 0 && static_cast<std::uint64_t>(v) >
                        static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))) {
        fail(where, "integer out of range");
      }
      return static_cast<Int>(v);
    }
    case element_type::UINT64: {
      std::uint64_t v = 0;
      if (e.get_uint64().get(v) != simdjson::SUCCESS) fail(where, "unreadable value");
      if (v > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
        fail(where, "integer out of range");
      return static_cast<Int>(v);
    }
    case element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s) != simdjson::SUCCESS) fail(where, "unreadable value");
      Int v{};
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
        fail(where, "expected an integer, got \"" + std::string(s.substr(0, 40)) + "\"");
      }
      return v;
    }
    case element_type::NULL_VALUE: return Int{};
    default: fail(where, "expected an integer");
  }
}

double floating(element e, std::string_view where) {
  switch (e.type()) {
    case element_type::DOUBLE:
    case element_type::INT64:
    case element_type::UINT64: {
      double d = 0;
      if (e.get_double().get(d) != simdjson::SUCCESS) fail(where, "unreadable value");
      return d;
    }
    case element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s) != simdjson::SUCCESS) fail(where, "unreadable value");
      if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
      if (s == "Infinity") return std::numeric_limits<double>::infinity();
      if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
      double d = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (s.empty() || ec != std::errc() || ptr != s.data() + s.size())
        fail(where, "expected a number");
      return d;
    }
    default: fail(where, "expected a number");
  }
}

bool boolean(element e, std::string_view where) {
  bool b = false;
  if (e.is_null()) return false;
  if (e.get_bool().get(b) != simdjson::SUCCESS) fail(where, "expected true or false");
  return b;
}

// An enum as its number or its name.
std::int32_t enumeration(element e, std::string_view where,
                         std::initializer_list<std::pair<std::string_view, std::int32_t>> names) {
  if (e.type() == element_type::STRING) {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) fail(where, "unreadable value");
    for (const auto& [name, value] : names) {
      if (s == name) return value;
    }
  }
  return integer<std::int32_t>(e, where);
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::uint64_t hex64(std::string_view s, std::string_view where) {
  std::uint64_t v = 0;
  for (char c : s) {
    int d = hex(c);
    if (d < 0) fail(where, "not a hex id");
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return v;
}

TraceId trace_id(element e, std::string_view where) {
  std::string s = str(e, where);
  if (s.empty()) return {};
  if (s.size() != 32) fail(where, "expected 32 hex digits, got \"" + s.substr(0, 40) + "\"");
  return TraceId{hex64(std::string_view(s).substr(0, 16), where),
                 hex64(std::string_view(s).substr(16), where)};
}

SpanId span_id(element e, std::string_view where) {
  std::string s = str(e, where);
  if (s.empty()) return {};
  if (s.size() != 16) fail(where, "expected 16 hex digits, got \"" + s.substr(0, 40) + "\"");
  return SpanId{hex64(s, where)};
}

std::string base64(std::string_view in, std::string_view where) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    int v = val(in[i]);
    if (v < 0) fail(where, "invalid base64");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=') fail(where, "invalid base64");
  }
  return out;
}

KeyValue key_value(element e, std::size_t depth);

AnyValue any_value(element e, std::size_t depth) {
  if (depth > kMaxValueDepth)
    fail("AnyValue", "nested deeper than " + std::to_string(kMaxValueDepth));
  AnyValue v;
  if (e.is_null()) return v;
  for (auto [key, value] : as_object(e, "AnyValue")) {
    if (value.is_null()) continue;
    if (is(key, "stringValue", "string_value")) {
      v = AnyValue::of(std::string_view(str(value, "AnyValue.stringValue")));
    } else if (is(key, "boolValue", "bool_value")) {
      v = AnyValue::of(boolean(value, "AnyValue.boolValue"));
    } else if (is(key, "intValue", "int_value")) {
      v = AnyValue::of(integer<std::int64_t>(value, "AnyValue.intValue"));
    } else if (is(key, "doubleValue", "double_value")) {
      v = AnyValue::of(floating(value, "AnyValue.doubleValue"));
    } else if (is(key, "bytesValue", "bytes_value")) {
      v = AnyValue::bytes(base64(str(value, "AnyValue.bytesValue"), "AnyValue.bytesValue"));
    } else if (is(key, "arrayValue", "array_value")) {
      v = AnyValue{};
      v.type = AnyValue::Type::array;
      for (auto [k, values] : as_object(value, "AnyValue.arrayValue")) {
        if (k != "values") continue;
        each(values, "ArrayValue.values",
             [&](element item) { v.array_value.push_back(any_value(item, depth + 1)); });
      }
    } else if (is(key, "kvlistValue", "kvlist_value")) {
      v = AnyValue{};
      v.type = AnyValue::Type::kvlist;
      for (auto [k, values] : as_object(value, "AnyValue.kvlistValue")) {
        if (k != "values") continue;
        each(values, "KeyValueList.values",
             [&](element item) { v.kvlist_value.push_back(key_value(item, depth + 1)); });
      }
    }
  }
  return v;
}

KeyValue key_value(element e, std::size_t depth) {
  KeyValue kv;
  for (auto [key, value] : as_object(e, "KeyValue")) {
    if (key == "key")
      kv.key = str(value, "KeyValue.key");
    else if (key == "value")
      kv.value = any_value(value, depth);
  }
  return kv;
}

void attributes(element e, Attributes& out, std::string_view where) {
  each(e, where, [&](element item) { out.push_back(key_value(item, 0)); });
}

Event event(element e) {
  Event ev;
  for (auto [key, value] : as_object(e, "Event")) {
    if (is(key, "timeUnixNano", "time_unix_nano"))
      ev.time_unix_nano = integer<std::uint64_t>(value, "Event.timeUnixNano");
    else if (key == "name")
      ev.name = str(value, "Event.name");
    else if (key == "attributes")
      attributes(value, ev.attributes, "Event.attributes");
    else if (is(key, "droppedAttributesCount", "dropped_attributes_count"))
      ev.dropped_attributes_count = integer<std::uint32_t>(value, "Event.droppedAttributesCount");
  }
  return ev;
}

Link link(element e) {
  Link l;
  for (auto [key, value] : as_object(e, "Link")) {
    if (is(key, "traceId", "trace_id"))
      l.trace_id = trace_id(value, "Link.traceId");
    else if (is(key, "spanId", "span_id"))
      l.span_id = span_id(value, "Link.spanId");
    else if (is(key, "traceState", "trace_state"))
      l.trace_state = str(value, "Link.traceState");
    else if (key == "attributes")
      attributes(value, l.attributes, "Link.attributes");
    else if (is(key, "droppedAttributesCount", "dropped_attributes_count"))
      l.dropped_attributes_count = integer<std::uint32_t>(value, "Link.droppedAttributesCount");
    else if (key == "flags")
      l.flags = integer<std::uint32_t>(value, "Link.flags");
  }
  return l;
}

Status status(element e) {
  Status s;
  if (e.is_null()) return s;
  for (auto [key, value] : as_object(e, "Status")) {
    if (key == "message")
      s.message = str(value, "Status.message");
    else if (key == "code")
      s.code =
          enumeration(value, "Status.code",
                      {{"STATUS_CODE_UNSET", 0}, {"STATUS_CODE_OK", 1}, {"STATUS_CODE_ERROR", 2}});
  }
  return s;
}

Span span(element e) {
  Span s;
  for (auto [key, value] : as_object(e, "Span")) {
    if (is(key, "traceId", "trace_id"))
      s.trace_id = trace_id(value, "Span.traceId");
    else if (is(key, "spanId", "span_id"))
      s.span_id = span_id(value, "Span.spanId");
    else if (is(key, "traceState", "trace_state"))
      s.trace_state = str(value, "Span.traceState");
    else if (is(key, "parentSpanId", "parent_span_id"))
      s.parent_span_id = span_id(value, "Span.parentSpanId");
    else if (key == "flags")
      s.flags = integer<std::uint32_t>(value, "Span.flags");
    else if (key == "name")
      s.name = str(value, "Span.name");
    else if (key == "kind")
      s.kind = enumeration(value, "Span.kind",
                           {{"SPAN_KIND_UNSPECIFIED", 0},
                            {"SPAN_KIND_INTERNAL", 1},
                            {"SPAN_KIND_SERVER", 2},
                            {"SPAN_KIND_CLIENT", 3},
                            {"SPAN_KIND_PRODUCER", 4},
                            {"SPAN_KIND_CONSUMER", 5}});
    else if (is(key, "startTimeUnixNano", "start_time_unix_nano"))
      s.start_time_unix_nano = integer<std::uint64_t>(value, "Span.startTimeUnixNano");
    else if (is(key, "endTimeUnixNano", "end_time_unix_nano"))
      s.end_time_unix_nano = integer<std::uint64_t>(value, "Span.endTimeUnixNano");
    else if (key == "attributes")
      attributes(value, s.attributes, "Span.attributes");
    else if (is(key, "droppedAttributesCount", "dropped_attributes_count"))
      s.dropped_attributes_count = integer<std::uint32_t>(value, "Span.droppedAttributesCount");
    else if (key == "events")
      each(value, "Span.events", [&](element item) { s.events.push_back(event(item)); });
    else if (is(key, "droppedEventsCount", "dropped_events_count"))
      s.dropped_events_count = integer<std::uint32_t>(value, "Span.droppedEventsCount");
    else if (key == "links")
      each(value, "Span.links", [&](element item) { s.links.push_back(link(item)); });
    else if (is(key, "droppedLinksCount", "dropped_links_count"))
      s.dropped_links_count = integer<std::uint32_t>(value, "Span.droppedLinksCount");
    else if (key == "status")
      s.status = status(value);
  }
  return s;
}

Scope scope(element e) {
  Scope s;
  if (e.is_null()) return s;
  for (auto [key, value] : as_object(e, "InstrumentationScope")) {
    if (key == "name")
      s.name = str(value, "InstrumentationScope.name");
    else if (key == "version")
      s.version = str(value, "InstrumentationScope.version");
    else if (key == "attributes")
      attributes(value, s.attributes, "InstrumentationScope.attributes");
    else if (is(key, "droppedAttributesCount", "dropped_attributes_count"))
      s.dropped_attributes_count =
          integer<std::uint32_t>(value, "InstrumentationScope.droppedAttributesCount");
  }
  return s;
}

Resource resource(element e) {
  Resource r;
  if (e.is_null()) return r;
  for (auto [key, value] : as_object(e, "Resource")) {
    if (key == "attributes")
      attributes(value, r.attributes, "Resource.attributes");
    else if (is(key, "droppedAttributesCount", "dropped_attributes_count"))
      r.dropped_attributes_count = integer<std::uint32_t>(value, "Resource.droppedAttributesCount");
  }
  return r;
}

ScopeSpans scope_spans(element e) {
  ScopeSpans ss;
  for (auto [key, value] : as_object(e, "ScopeSpans")) {
    if (key == "scope")
      ss.scope = scope(value);
    else if (key == "spans")
      each(value, "ScopeSpans.spans", [&](element item) { ss.spans.push_back(span(item)); });
    else if (is(key, "schemaUrl", "schema_url"))
      ss.schema_url = str(value, "ScopeSpans.schemaUrl");
  }
  return ss;
}

ResourceSpans resource_spans(element e) {
  ResourceSpans rs;
  for (auto [key, value] : as_object(e, "ResourceSpans")) {
    if (key == "resource")
      rs.resource = resource(value);
    else if (is(key, "scopeSpans", "scope_spans"))
      each(value, "ResourceSpans.scopeSpans",
           [&](element item) { rs.scope_spans.push_back(scope_spans(item)); });
    else if (is(key, "schemaUrl", "schema_url"))
      rs.schema_url = str(value, "ResourceSpans.schemaUrl");
  }
  return rs;
}

}  // namespace

DecodeError decode_json(std::string_view body, TracesRequest& out) {
  out = TracesRequest{};
  try {
    simdjson::dom::parser parser;
    element doc;
    if (auto err = parser.parse(body.data(), body.size()).get(doc); err != simdjson::SUCCESS) {
      return DecodeError{std::string("json: ") + simdjson::error_message(err)};
    }
    for (auto [key, value] : as_object(doc, "ExportTraceServiceRequest")) {
      if (is(key, "resourceSpans", "resource_spans")) {
        each(value, "ExportTraceServiceRequest.resourceSpans",
             [&](element item) { out.resource_spans.push_back(resource_spans(item)); });
      }
    }
    return {};
  } catch (const Failure& f) {
    out = TracesRequest{};
    return DecodeError{"json: " + f.message};
  } catch (const std::bad_alloc&) {
    out = TracesRequest{};
    return DecodeError{"json: out of memory"};
  } catch (const std::exception& e) {
    out = TracesRequest{};
    return DecodeError{std::string("json: ") + e.what()};
  }
}

}  // namespace skein::otlp
