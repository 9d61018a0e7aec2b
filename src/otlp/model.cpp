#include <cmath>
#include <cstdio>

#include "otlp/model.hpp"

namespace skein::otlp {

AnyValue AnyValue::of(std::string_view s) {
  AnyValue v;
  v.type = Type::string;
  v.string_value = std::string(s);
  return v;
}
AnyValue AnyValue::of(bool b) {
  AnyValue v;
  v.type = Type::boolean;
  v.bool_value = b;
  return v;
}
AnyValue AnyValue::of(std::int64_t i) {
  AnyValue v;
  v.type = Type::int64;
  v.int_value = i;
  return v;
}
AnyValue AnyValue::of(double d) {
  AnyValue v;
  v.type = Type::float64;
  v.double_value = d;
  return v;
}
AnyValue AnyValue::bytes(std::string_view b) {
  AnyValue v;
  v.type = Type::bytes;
  v.string_value = std::string(b);
  return v;
}
AnyValue AnyValue::array(std::vector<AnyValue> values) {
  AnyValue v;
  v.type = Type::array;
  v.array_value = std::move(values);
  return v;
}

bool operator==(const AnyValue& a, const AnyValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case AnyValue::Type::empty: return true;
    case AnyValue::Type::string:
    case AnyValue::Type::bytes: return a.string_value == b.string_value;
    case AnyValue::Type::boolean: return a.bool_value == b.bool_value;
    case AnyValue::Type::int64: return a.int_value == b.int_value;
    case AnyValue::Type::float64:
      return a.double_value == b.double_value ||
             (std::isnan(a.double_value) && std::isnan(b.double_value));
    case AnyValue::Type::array: return a.array_value == b.array_value;
    case AnyValue::Type::kvlist: return a.kvlist_value == b.kvlist_value;
  }
  return false;
}

const AnyValue* find(const Attributes& attributes, std::string_view key) noexcept {
  for (auto it = attributes.rbegin(); it != attributes.rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

std::size_t TracesRequest::span_count() const noexcept {
  std::size_t n = 0;
  for (const auto& rs : resource_spans) {
    for (const auto& ss : rs.scope_spans) n += ss.spans.size();
  }
  return n;
}

std::string to_string(const AnyValue& v) {
  switch (v.type) {
    case AnyValue::Type::empty: return "<empty>";
    case AnyValue::Type::string: return '"' + v.string_value + '"';
    case AnyValue::Type::bytes: return "bytes(" + std::to_string(v.string_value.size()) + ")";
    case AnyValue::Type::boolean: return v.bool_value ? "true" : "false";
    case AnyValue::Type::int64: return std::to_string(v.int_value);
    case AnyValue::Type::float64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.double_value);
      return buf;
    }
    case AnyValue::Type::array: {
      std::string s = "[";
      for (std::size_t i = 0; i < v.array_value.size(); ++i) {
        if (i > 0) s += ", ";
        s += to_string(v.array_value[i]);
      }
      return s + "]";
    }
    case AnyValue::Type::kvlist: {
      std::string s = "{";
      for (std::size_t i = 0; i < v.kvlist_value.size(); ++i) {
        if (i > 0) s += ", ";
        s += v.kvlist_value[i].key + ": " + to_string(v.kvlist_value[i].value);
      }
      return s + "}";
    }
  }
  return "?";
}

}  // namespace skein::otlp
