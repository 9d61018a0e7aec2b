// Limits: attribute, event and link counts, value length (cut at a UTF-8 boundary and marked),
// duplicate keys (the last value wins), and core attributes that user attributes never evict.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fakes/collecting.hpp"
#include "skein/skein.hpp"

namespace {

using skein::fakes::by_name;
using skein::fakes::Collecting;
using skein::fakes::count_key;

std::size_t user_attributes(const skein::SpanData& d) {
  std::size_t n = 0;
  for (const auto& [k, v] : d.attributes) n += k.starts_with("user.") ? 1 : 0;
  return n;
}

TEST(Limits, AttributeCount) {
  Collecting c({.limits = {.max_attributes = 4}});
  {
    auto s = c.tracer.span("s");
    for (int i = 0; i < 7; ++i) s.set("user." + std::to_string(i), i);
  }
  auto d = c.only();
  EXPECT_EQ(user_attributes(d), 4u);
  EXPECT_EQ(d.dropped_attributes, 3u);
  // The first ones are kept.
  EXPECT_EQ(d.int_attribute("user.0"), 0);
  EXPECT_EQ(d.int_attribute("user.3"), 3);
  EXPECT_EQ(d.attribute("user.4"), nullptr);
  EXPECT_EQ(c.tracer.stats().attributes_dropped, 3u);
}

TEST(Limits, AttributeCountAppliesToEnrichmentAndArrays) {
  Collecting c({.limits = {.max_attributes = 3}});
  {
    auto s = c.tracer.span("s");
    s.set("user.array", std::vector<int>{1, 2, 3});
    skein::enrich_span({.metadata = {{"a", 1}, {"b", 2}, {"c", 3}}});
    s.set("user.late_array", std::vector<int>{4});
  }
  auto d = c.only();
  EXPECT_NE(d.attribute("user.array"), nullptr);
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.a"), 1);
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.b"), 2);
  EXPECT_EQ(d.attribute("honeyhive_metadata.c"), nullptr);
  EXPECT_EQ(d.attribute("user.late_array"), nullptr);
  EXPECT_EQ(d.dropped_attributes, 2u);
}

TEST(Limits, DuplicateKeysLastValueWins) {
  Collecting c;
  {
    auto s = c.tracer.span("s");
    s.set("user.k", 1);
    s.set("user.other", "x");
    s.set("user.k", "two");
    s.set("user.k", 3.5);
  }
  auto d = c.only();
  EXPECT_EQ(count_key(d, "user.k"), 1u);
  EXPECT_EQ(d.double_attribute("user.k"), 3.5);
  EXPECT_EQ(d.string_attribute("user.other"), "x");
  EXPECT_EQ(d.dropped_attributes, 0u);
}

// Many keys, many of them repeated (past the size where duplicates are found through a hash
// table): one attribute per key, with its last value, in the order of the last sets.
TEST(Limits, ManyRepeatedKeysKeepTheirLastValueInOrder) {
  Collecting c;
  {
    auto s = c.tracer.span("s");
    for (int round = 0; round < 3; ++round) {
      for (int k = 0; k < 40; ++k) {
        if (round == 2 && k % 2 == 1) continue;  // odd keys last set in round 1
        s.set("user." + std::to_string(k), round * 100 + k);
      }
    }
    for (int i = 0; i < 100; ++i) skein::enrich_span({.metadata = {{"n", i}}});
  }
  auto d = c.only();
  EXPECT_EQ(d.dropped_attributes, 0u);
  EXPECT_EQ(user_attributes(d), 40u);
  EXPECT_EQ(count_key(d, "honeyhive_metadata.n"), 1u);
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.n"), 99);
  std::vector<std::string> order;
  for (const auto& [k, v] : d.attributes) {
    if (!k.starts_with("user.")) continue;
    const int key = std::stoi(k.substr(5));
    EXPECT_EQ(d.int_attribute(k), (key % 2 == 1 ? 100 : 200) + key) << k;
    order.push_back(k);
  }
  // Last sets: the odd keys in round 1, then the even keys in round 2.
  std::vector<std::string> expected;
  for (int k = 1; k < 40; k += 2) expected.push_back("user." + std::to_string(k));
  for (int k = 0; k < 40; k += 2) expected.push_back("user." + std::to_string(k));
  EXPECT_EQ(order, expected);
}

TEST(Limits, DuplicatesDoNotCountAgainstTheLimit) {
  Collecting c({.limits = {.max_attributes = 2}});
  {
    auto s = c.tracer.span("s");
    for (int i = 0; i < 10; ++i) s.set("user.a", i);
    s.set("user.b", 1);
  }
  auto d = c.only();
  EXPECT_EQ(d.int_attribute("user.a"), 9);
  EXPECT_EQ(d.int_attribute("user.b"), 1);
  EXPECT_EQ(d.dropped_attributes, 0u);
}

TEST(Limits, AtTheLimitAnExistingKeyIsStillReplaced) {
  Collecting c({.limits = {.max_attributes = 2}});
  {
    auto s = c.tracer.span("s");
    s.set("user.a", 1);
    s.set("user.b", 1);
    s.set("user.a", 2);  // not a new attribute: last value wins
    s.set("user.c", 1);  // a new one: dropped
    s.set("user.b", std::vector<int>{5, 6});
  }
  auto d = c.only();
  EXPECT_EQ(d.int_attribute("user.a"), 2);
  ASSERT_NE(d.attribute("user.b"), nullptr);
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(*d.attribute("user.b")),
            (std::vector<std::int64_t>{5, 6}));
  EXPECT_EQ(d.attribute("user.c"), nullptr);
  EXPECT_EQ(d.dropped_attributes, 1u);
  EXPECT_EQ(user_attributes(d), 2u);
}

TEST(Limits, CoreAttributesAreNeverEvicted) {
  Collecting c({.project = "core-project", .limits = {.max_attributes = 1}});
  {
    auto s = c.tracer.span("s", {.type = skein::EventType::model});
    for (int i = 0; i < 50; ++i) s.set("user." + std::to_string(i), i);
    skein::enrich_span({.metadata = {{"m", 1}}});
  }
  auto d = c.only();
  EXPECT_EQ(user_attributes(d), 1u);
  EXPECT_EQ(d.string_attribute("honeyhive_event_type"), "model");
  EXPECT_EQ(d.string_attribute("honeyhive_event_name"), "s");
  EXPECT_EQ(d.string_attribute("honeyhive.project"), "core-project");
  EXPECT_EQ(d.string_attribute("honeyhive.session_id"), c.tracer.options().session_id);
  EXPECT_EQ(d.string_attribute("session.id"), c.tracer.options().session_id);
  EXPECT_TRUE(d.double_attribute("honeyhive_duration_ms").has_value());
  EXPECT_EQ(d.dropped_attributes, 50u);
}

// OTLP requires unique attribute keys: a user attribute named like a core one must not produce
// a second attribute with that key.
// The user's value wins (a per-request session id overrides the tracer's).
TEST(Limits, UserAttributesCannotDuplicateCoreKeys) {
  Collecting c({.project = "p"});
  {
    auto s = c.tracer.span("real-name", {.type = skein::EventType::tool});
    s.set("honeyhive_event_type", "bogus");
    s.set("honeyhive.session_id", "bogus");
    s.set("honeyhive_event_name", "bogus");
  }
  auto d = c.only();
  EXPECT_EQ(count_key(d, "honeyhive_event_type"), 1u);
  EXPECT_EQ(count_key(d, "honeyhive.session_id"), 1u);
  EXPECT_EQ(count_key(d, "honeyhive_event_name"), 1u);
  EXPECT_EQ(d.string_attribute("honeyhive.session_id"), "bogus");
}

TEST(Limits, EventCount) {
  Collecting c({.limits = {.max_events = 2}});
  {
    auto s = c.tracer.span("s");
    for (int i = 0; i < 5; ++i) s.add_event("e" + std::to_string(i));
    s.record_exception(std::runtime_error("late"));  // its event is dropped, not its status
  }
  auto d = c.only();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].name, "e0");
  EXPECT_EQ(d.events[1].name, "e1");
  EXPECT_EQ(d.dropped_events, 4u);
  EXPECT_EQ(d.status, skein::StatusCode::error);
  EXPECT_EQ(d.string_attribute("honeyhive_error"), "late");
  EXPECT_EQ(c.tracer.stats().events_dropped, 4u);
}

TEST(Limits, ZeroEventsAndLinksAllowed) {
  Collecting c({.limits = {.max_events = 0, .max_links = 0}});
  {
    auto s = c.tracer.span("s");
    s.add_event("e");
    s.add_link(skein::Context(skein::TraceId{1, 1}, skein::SpanId{1}, 1));
  }
  auto d = c.only();
  EXPECT_TRUE(d.events.empty());
  EXPECT_TRUE(d.links.empty());
  EXPECT_EQ(d.dropped_events, 1u);
  EXPECT_EQ(d.dropped_links, 1u);
}

TEST(Limits, LinkCount) {
  Collecting c({.limits = {.max_links = 1}});
  {
    auto s = c.tracer.span("s");
    for (std::uint64_t i = 1; i <= 3; ++i) {
      s.add_link(skein::Context(skein::TraceId{i, i}, skein::SpanId{i}, 1));
    }
  }
  auto d = c.only();
  ASSERT_EQ(d.links.size(), 1u);
  EXPECT_EQ(d.links[0].span_id, skein::SpanId{1});
  EXPECT_EQ(d.dropped_links, 2u);
  EXPECT_EQ(c.tracer.stats().links_dropped, 2u);
}

// The attribute limit applies to each event (and link) on its own, as OpenTelemetry defines it.
TEST(Limits, AttributeLimitIsPerEvent) {
  Collecting c({.limits = {.max_attributes = 2}});
  {
    auto s = c.tracer.span("s");
    s.add_event("e1", {{"a", 1}, {"b", 2}, {"c", 3}});
    s.add_event("e2", {{"a", 1}, {"b", 2}});
    s.add_link(skein::Context(skein::TraceId{1, 1}, skein::SpanId{1}, 1), {{"x", 1}, {"y", 2}});
    s.add_link(skein::Context(skein::TraceId{2, 2}, skein::SpanId{2}, 1), {{"x", 1}, {"y", 2}});
  }
  auto d = c.only();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].attributes.size(), 2u);
  EXPECT_EQ(d.events[1].attributes.size(), 2u);
  ASSERT_EQ(d.links.size(), 2u);
  EXPECT_EQ(d.links[0].attributes.size(), 2u);
  EXPECT_EQ(d.links[1].attributes.size(), 2u);
}

TEST(Limits, ValueLengthCutsAtAUtf8Boundary) {
  Collecting c({.limits = {.max_value_length = 5}});
  {
    auto s = c.tracer.span("s");
    s.set("user.ascii", "abcdefgh");                // cut to 5 bytes
    s.set("user.two_byte", "aaaa\xC3\xA9zz");       // 'é' would straddle byte 5
    s.set("user.four_byte", "ab\xF0\x9F\x98\x80");  // an emoji from byte 2 to 6
    s.set("user.exact", "12345");                   // not cut
    s.set("user.short", "ok");
  }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("user.ascii"), "abcde");
  EXPECT_EQ(d.string_attribute("user.two_byte"), "aaaa");
  EXPECT_EQ(d.string_attribute("user.four_byte"), "ab");
  EXPECT_EQ(d.string_attribute("user.exact"), "12345");
  EXPECT_EQ(d.string_attribute("user.short"), "ok");
  EXPECT_EQ(d.int_attribute("skein.truncated_values"), 3);
  EXPECT_EQ(c.tracer.stats().values_truncated, 3u);
}

TEST(Limits, ValueLengthAppliesToArraysEnrichmentAndEvents) {
  Collecting c({.limits = {.max_value_length = 3}});
  {
    auto s = c.tracer.span("s");
    s.set("user.list", std::vector<std::string>{"abcdef", "xy"});
    skein::enrich_span({.outputs = {{"answer", "long answer"}}});
    s.add_event("e", {{"detail", "abcdef"}});
  }
  auto d = c.only();
  ASSERT_NE(d.attribute("user.list"), nullptr);
  EXPECT_EQ(std::get<std::vector<std::string>>(*d.attribute("user.list")),
            (std::vector<std::string>{"abc", "xy"}));
  EXPECT_EQ(d.string_attribute("honeyhive_outputs.answer"), "lon");
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(std::get<std::string>(*skein::fakes::event_attribute(d.events[0], "detail")), "abc");
  EXPECT_EQ(d.int_attribute("skein.truncated_values"), 3);
  EXPECT_EQ(c.tracer.stats().values_truncated, 3u);
}

TEST(Limits, NoTruncationMarkWhenNothingWasCut) {
  Collecting c;
  {
    auto s = c.tracer.span("s");
    s.set("user.text", std::string(1000, 'x'));
  }
  auto d = c.only();
  EXPECT_EQ(d.attribute("skein.truncated_values"), nullptr);
  EXPECT_EQ(d.string_attribute("user.text")->size(), 1000u);
}

TEST(Limits, RecordsAreCleanWhenReused) {
  // One record, used again and again: nothing of one span may leak into the next.
  Collecting c({.limits = {.max_attributes = 2, .max_events = 1}, .thread_buffer_spans = 1});
  {
    auto s = c.tracer.span("first", {.type = skein::EventType::tool});
    s.set("user.a", 1).set("user.b", 2).set("user.c", 3);
    s.add_event("e1").add_event("e2");
    s.set_status(skein::StatusCode::error, "bad");
  }
  ASSERT_TRUE(c.tracer.force_flush());
  { auto s = c.tracer.span("second"); }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 2u);
  const auto& second = by_name(spans, "second");
  EXPECT_EQ(user_attributes(second), 0u);
  EXPECT_TRUE(second.events.empty());
  EXPECT_EQ(second.dropped_attributes, 0u);
  EXPECT_EQ(second.dropped_events, 0u);
  EXPECT_EQ(second.status, skein::StatusCode::unset);
  EXPECT_EQ(second.event_type, skein::EventType::generic);
}

}  // namespace
