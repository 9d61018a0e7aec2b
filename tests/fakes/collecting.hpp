// Test helpers around skein::InMemoryExporter: a tracer wired to one, and lookups over the
// collected spans.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "skein/skein.hpp"

namespace skein::fakes {

/// A tracer that exports only to an in-memory exporter and is not the process default.
struct Collecting {
  std::shared_ptr<InMemoryExporter> mem = std::make_shared<InMemoryExporter>();
  Tracer tracer;

  explicit Collecting(Options options = {}) {
    if (!options.exporter) options.exporter = ExporterKind::none;
    options.exporters.push_back(mem);
    if (!options.make_default) options.make_default = false;
    if (!options.project) options.project = "test";
    tracer = Tracer::init(options);
  }

  /// Flushes and returns every span exported so far.
  std::vector<SpanData> spans() {
    EXPECT_TRUE(tracer.force_flush());
    return mem->spans();
  }

  /// Flushes and returns the only span; fails the test when there is not exactly one.
  SpanData only() {
    auto all = spans();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? SpanData{} : all.front();
  }
};

/// The span called `name` (the first one); fails the test when there is none.
inline const SpanData& by_name(const std::vector<SpanData>& spans, std::string_view name) {
  auto it =
      std::find_if(spans.begin(), spans.end(), [&](const SpanData& s) { return s.name == name; });
  if (it == spans.end()) {
    ADD_FAILURE() << "no span named " << name;
    static const SpanData none{};
    return none;
  }
  return *it;
}

/// How many attributes of `span` have `key`.
inline std::size_t count_key(const SpanData& span, std::string_view key) {
  return static_cast<std::size_t>(std::count_if(span.attributes.begin(), span.attributes.end(),
                                                [&](const auto& kv) { return kv.first == key; }));
}

/// Whether `span` has an attribute whose key starts with `prefix`.
inline bool has_prefix(const SpanData& span, std::string_view prefix) {
  return std::any_of(span.attributes.begin(), span.attributes.end(),
                     [&](const auto& kv) { return kv.first.starts_with(prefix); });
}

/// The attribute's value in an event, or nullptr.
inline const OwnedValue* event_attribute(const SpanData::Event& e, std::string_view key) {
  for (const auto& [k, v] : e.attributes) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace skein::fakes
