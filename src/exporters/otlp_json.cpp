// The OTLP JSON mapping of ExportTraceServiceRequest (opentelemetry-proto, "JSON Protobuf
// Encoding"): lowerCamelCase field names, trace and span ids as lowercase hex, enums as integers,
// 64-bit integers (times, intValue) as decimal strings, default values omitted.
#include <cmath>
#include <cstdio>

#include "skein/exporter.hpp"

namespace skein {
namespace {

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void json_u64_string(std::string& out, std::uint64_t v) {
  out += '"';
  out += std::to_string(v);
  out += '"';
}

void json_double(std::string& out, double d) {
  // proto3 JSON: non-finite doubles are the strings "NaN", "Infinity", "-Infinity".
  if (std::isnan(d)) out += "\"NaN\"";
  else if (std::isinf(d)) out += d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    out += buf;
  }
}

void any_value(std::string& out, const AttrValue& v) {
  using T = AttrValue::Type;
  switch (v.type()) {
    case T::empty: out += "{}"; return;
    case T::boolean: out += v.as_bool() ? "{\"boolValue\":true}" : "{\"boolValue\":false}"; return;
    case T::int64: out += "{\"intValue\":\""; out += std::to_string(v.as_int()); out += "\"}"; return;
    case T::float64: out += "{\"doubleValue\":"; json_double(out, v.as_double()); out += '}'; return;
    case T::string: out += "{\"stringValue\":"; json_string(out, v.as_string()); out += '}'; return;
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
      for (bool b : v.bools()) { sep(); any_value(out, AttrValue(b)); }
      break;
    case T::int64_array:
      for (std::int64_t i : v.ints()) { sep(); any_value(out, AttrValue(i)); }
      break;
    case T::float64_array:
      for (double d : v.doubles()) { sep(); any_value(out, AttrValue(d)); }
      break;
    case T::string_array:
      for (std::string_view s : v.strings()) { sep(); any_value(out, AttrValue(s)); }
      break;
    default: break;
  }
  out += "]}}";
}

void attributes(std::string& out, std::span<const Attribute> core, std::span<const Attribute> user) {
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

void span_json(std::string& out, const SpanView& s) {
  out += "{\"traceId\":\"";
  out += s.trace_id.to_hex();
  out += "\",\"spanId\":\"";
  out += s.span_id.to_hex();
  out += '"';
  if (!s.trace_state.empty()) {
    out += ",\"traceState\":";
    json_string(out, s.trace_state);
  }
  if (s.parent_span_id.valid()) {
    out += ",\"parentSpanId\":\"";
    out += s.parent_span_id.to_hex();
    out += '"';
  }
  // flags: W3C trace flags in bits 0-7; bit 8 says whether the parent's remoteness is known,
  // bit 9 that the parent is remote (SpanFlags in trace.proto).
  std::uint32_t flags = s.flags | 0x100u | (s.parent_remote ? 0x200u : 0u);
  out += ",\"flags\":";
  out += std::to_string(flags);
  out += ",\"name\":";
  json_string(out, s.name);
  out += ",\"kind\":";
  out += std::to_string(static_cast<int>(s.kind) + 1);  // SPAN_KIND_INTERNAL = 1 ...
  out += ",\"startTimeUnixNano\":";
  json_u64_string(out, s.start_unix_nano);
  out += ",\"endTimeUnixNano\":";
  json_u64_string(out, s.end_unix_nano);
  out += ',';
  CoreAttributes core = core_attributes(s);
  attributes(out, core.view(), s.attributes);
  if (s.dropped_attributes > 0) {
    out += ",\"droppedAttributesCount\":";
    out += std::to_string(s.dropped_attributes);
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
    out += std::to_string(s.dropped_events);
  }
  if (!s.links.empty()) {
    out += ",\"links\":[";
    for (std::size_t i = 0; i < s.links.size(); ++i) {
      const LinkView& l = s.links[i];
      if (i > 0) out += ',';
      out += "{\"traceId\":\"";
      out += l.trace_id.to_hex();
      out += "\",\"spanId\":\"";
      out += l.span_id.to_hex();
      out += "\",";
      attributes(out, {}, l.attributes);
      out += ",\"flags\":";
      out += std::to_string(l.flags | 0x100u);
      out += '}';
    }
    out += ']';
  }
  if (s.dropped_links > 0) {
    out += ",\"droppedLinksCount\":";
    out += std::to_string(s.dropped_links);
  }
  out += ",\"status\":{";
  if (s.status != StatusCode::unset) {
    if (!s.status_message.empty()) {
      out += "\"message\":";
      json_string(out, s.status_message);
      out += ',';
    }
    out += "\"code\":";
    out += std::to_string(static_cast<int>(s.status));  // UNSET 0, OK 1, ERROR 2
  }
  out += "}}";
}

}  // namespace

void encode_otlp_json(std::span<const SpanView> batch, std::string& out) {
  out += "{\"resourceSpans\":[";
  // Spans of one batch share a resource unless they come from several tracers; group by it.
  std::size_t i = 0;
  bool first_rs = true;
  while (i < batch.size()) {
    const Resource* res = batch[i].resource;
    if (!first_rs) out += ',';
    first_rs = false;
    out += "{\"resource\":{\"attributes\":[";
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
    out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"skein\",\"version\":\"0.1.0\"},\"spans\":[";
    bool first = true;
    for (; i < batch.size() && batch[i].resource == res; ++i) {
      if (!first) out += ',';
      first = false;
      span_json(out, batch[i]);
    }
    out += "]}]}";
  }
  out += "]}";
}

}  // namespace skein
