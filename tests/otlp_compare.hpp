// Comparing what a span held (SpanData, from an in-memory exporter) with what arrived over OTLP
// (the decoded model), field by field.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "otlp/model.hpp"
#include "skein/exporter.hpp"

namespace skein::otlp_test {

struct ToAny {
  otlp::AnyValue operator()(std::monostate) const { return {}; }
  otlp::AnyValue operator()(bool b) const { return otlp::AnyValue::of(b); }
  otlp::AnyValue operator()(std::int64_t i) const { return otlp::AnyValue::of(i); }
  otlp::AnyValue operator()(double d) const { return otlp::AnyValue::of(d); }
  otlp::AnyValue operator()(const std::string& s) const {
    return otlp::AnyValue::of(std::string_view(s));
  }
  template <class T>
  otlp::AnyValue operator()(const std::vector<T>& list) const {
    std::vector<otlp::AnyValue> items;
    for (const auto& e : list) {
      if constexpr (std::is_same_v<T, std::string>)
        items.push_back(otlp::AnyValue::of(std::string_view(e)));
      else
        items.push_back(otlp::AnyValue::of(static_cast<T>(e)));
    }
    return otlp::AnyValue::array(std::move(items));
  }
};

inline otlp::AnyValue to_any(const OwnedValue& v) {
  return std::visit(ToAny{}, v);
}

inline void expect_attributes(const std::vector<std::pair<std::string, OwnedValue>>& want,
                              const otlp::Attributes& got, const std::string& where) {
  ASSERT_EQ(want.size(), got.size()) << where;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].first, got[i].key) << where << " #" << i;
    otlp::AnyValue w = to_any(want[i].second);
    EXPECT_TRUE(w == got[i].value)
        << where << " " << want[i].first << ": want " << otlp::to_string(w) << ", got "
        << otlp::to_string(got[i].value);
  }
}

/// Every field of `d` against the decoded span `s`.
inline void expect_same_span(const SpanData& d, const otlp::Span& s) {
  const std::string where = "span " + d.name;
  EXPECT_EQ(d.trace_id, s.trace_id) << where;
  EXPECT_EQ(d.span_id, s.span_id) << where;
  EXPECT_EQ(d.parent_span_id, s.parent_span_id) << where;
  EXPECT_EQ(d.trace_state, s.trace_state) << where;
  EXPECT_EQ(std::uint32_t{d.flags} | 0x100u | (d.parent_remote ? 0x200u : 0u), s.flags) << where;
  EXPECT_EQ(d.name, s.name) << where;
  EXPECT_EQ(static_cast<int>(d.kind) + 1, s.kind) << where;
  EXPECT_EQ(d.start_unix_nano, s.start_time_unix_nano) << where;
  EXPECT_EQ(d.end_unix_nano, s.end_time_unix_nano) << where;
  expect_attributes(d.attributes, s.attributes, where);
  EXPECT_EQ(d.dropped_attributes, s.dropped_attributes_count) << where;
  ASSERT_EQ(d.events.size(), s.events.size()) << where;
  for (std::size_t i = 0; i < d.events.size(); ++i) {
    EXPECT_EQ(d.events[i].name, s.events[i].name) << where;
    EXPECT_EQ(d.events[i].time_unix_nano, s.events[i].time_unix_nano) << where;
    expect_attributes(d.events[i].attributes, s.events[i].attributes,
                      where + " event " + d.events[i].name);
  }
  EXPECT_EQ(d.dropped_events, s.dropped_events_count) << where;
  ASSERT_EQ(d.links.size(), s.links.size()) << where;
  for (std::size_t i = 0; i < d.links.size(); ++i) {
    EXPECT_EQ(d.links[i].trace_id, s.links[i].trace_id) << where;
    EXPECT_EQ(d.links[i].span_id, s.links[i].span_id) << where;
    EXPECT_EQ(d.links[i].trace_state, s.links[i].trace_state) << where;
    expect_attributes(d.links[i].attributes, s.links[i].attributes, where + " link");
    EXPECT_NE(s.links[i].flags & 0x100u, 0u) << where << ": link flags say whether remote is known";
  }
  EXPECT_EQ(d.dropped_links, s.dropped_links_count) << where;
  EXPECT_EQ(static_cast<int>(d.status), s.status.code) << where;
  EXPECT_EQ(d.status_message, s.status.message) << where;
}

/// The resource attributes of `request` as key -> string value.
inline std::vector<std::pair<std::string, std::string>> resource_strings(
    const otlp::ResourceSpans& rs) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : rs.resource.attributes) out.emplace_back(kv.key, kv.value.string_value);
  return out;
}

}  // namespace skein::otlp_test
