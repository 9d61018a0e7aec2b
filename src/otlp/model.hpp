// An owned model of OTLP trace data (ExportTraceServiceRequest), as decoded from protobuf or
// JSON by otlp/decode.hpp. Values keep everything the wire can say: AnyValue of every kind
// (arrays and key-value lists nested to any depth, bytes), dropped counts, flags, schema URLs.
// Internal (namespace skein::otlp): used by the tests and the collector, not installed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "skein/context.hpp"

namespace skein::otlp {

struct KeyValue;

/// common.proto AnyValue.
struct AnyValue {
  enum class Type : std::uint8_t { empty, string, boolean, int64, float64, array, kvlist, bytes };
  Type type = Type::empty;
  std::string string_value;  ///< string, or bytes for Type::bytes
  bool bool_value = false;
  std::int64_t int_value = 0;
  double double_value = 0;
  std::vector<AnyValue> array_value;
  std::vector<KeyValue> kvlist_value;  // KeyValue is incomplete here: special members below

  AnyValue();
  AnyValue(const AnyValue&);
  AnyValue(AnyValue&&) noexcept;
  AnyValue& operator=(const AnyValue&);
  AnyValue& operator=(AnyValue&&) noexcept;
  ~AnyValue();

  static AnyValue of(std::string_view s);
  static AnyValue of(const char* s);
  static AnyValue of(bool b);
  static AnyValue of(std::int64_t i);
  static AnyValue of(int i);
  static AnyValue of(double d);
  static AnyValue bytes(std::string_view b);
  static AnyValue array(std::vector<AnyValue> values);

  friend bool operator==(const AnyValue&, const AnyValue&);
};

struct KeyValue {
  std::string key;
  AnyValue value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

inline AnyValue::AnyValue() = default;
inline AnyValue::AnyValue(const AnyValue&) = default;
inline AnyValue::AnyValue(AnyValue&&) noexcept = default;
inline AnyValue& AnyValue::operator=(const AnyValue&) = default;
inline AnyValue& AnyValue::operator=(AnyValue&&) noexcept = default;
inline AnyValue::~AnyValue() = default;
inline AnyValue AnyValue::of(const char* s) {
  return of(std::string_view(s));
}
inline AnyValue AnyValue::of(int i) {
  return of(static_cast<std::int64_t>(i));
}

using Attributes = std::vector<KeyValue>;

/// The value of `key` (the last one when repeated), or null.
const AnyValue* find(const Attributes& attributes, std::string_view key) noexcept;

struct Status {
  enum Code : std::int32_t { unset = 0, ok = 1, error = 2 };
  std::int32_t code = unset;
  std::string message;
  friend bool operator==(const Status&, const Status&) = default;
};

struct Event {
  std::uint64_t time_unix_nano = 0;
  std::string name;
  Attributes attributes;
  std::uint32_t dropped_attributes_count = 0;
  friend bool operator==(const Event&, const Event&) = default;
};

struct Link {
  TraceId trace_id;
  SpanId span_id;
  std::string trace_state;
  Attributes attributes;
  std::uint32_t dropped_attributes_count = 0;
  std::uint32_t flags = 0;
  friend bool operator==(const Link&, const Link&) = default;
};

/// trace.proto Span. `kind` is the wire enum: 0 unspecified, 1 internal, 2 server, 3 client,
/// 4 producer, 5 consumer.
struct Span {
  TraceId trace_id;
  SpanId span_id;
  std::string trace_state;
  SpanId parent_span_id;  ///< invalid for a root
  std::uint32_t flags = 0;
  std::string name;
  std::int32_t kind = 0;
  std::uint64_t start_time_unix_nano = 0;
  std::uint64_t end_time_unix_nano = 0;
  Attributes attributes;
  std::uint32_t dropped_attributes_count = 0;
  std::vector<Event> events;
  std::uint32_t dropped_events_count = 0;
  std::vector<Link> links;
  std::uint32_t dropped_links_count = 0;
  Status status;

  [[nodiscard]] const AnyValue* attribute(std::string_view key) const noexcept {
    return find(attributes, key);
  }
  friend bool operator==(const Span&, const Span&) = default;
};

struct Scope {
  std::string name, version;
  Attributes attributes;
  std::uint32_t dropped_attributes_count = 0;
  friend bool operator==(const Scope&, const Scope&) = default;
};

struct Resource {
  Attributes attributes;
  std::uint32_t dropped_attributes_count = 0;
  friend bool operator==(const Resource&, const Resource&) = default;
};

struct ScopeSpans {
  Scope scope;
  std::vector<Span> spans;
  std::string schema_url;
  friend bool operator==(const ScopeSpans&, const ScopeSpans&) = default;
};

struct ResourceSpans {
  Resource resource;
  std::vector<ScopeSpans> scope_spans;
  std::string schema_url;
  friend bool operator==(const ResourceSpans&, const ResourceSpans&) = default;
};

/// collector/trace/v1 ExportTraceServiceRequest.
struct TracesRequest {
  std::vector<ResourceSpans> resource_spans;
  [[nodiscard]] std::size_t span_count() const noexcept;
  friend bool operator==(const TracesRequest&, const TracesRequest&) = default;
};

/// Readable dump of a value, for test failure messages and tools.
std::string to_string(const AnyValue& v);

}  // namespace skein::otlp
