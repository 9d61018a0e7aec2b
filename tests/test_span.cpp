// Spans: nesting through the implicit context, out-of-order ends, move semantics, no-op spans,
// lazily evaluated values, status, events, links, exceptions.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "fakes/collecting.hpp"
#include "skein/skein.hpp"

namespace {

using skein::fakes::by_name;
using skein::fakes::Collecting;
using skein::fakes::event_attribute;

// Every test starts and ends with no current context on this thread, so that a test that
// leaves a stale one (a bug) does not make the following ones fail.
class SpanTest : public ::testing::Test {
 protected:
  void SetUp() override { skein::detail::current_state() = {}; }
  void TearDown() override {
    EXPECT_FALSE(skein::Context::current().valid()) << "the test left a current context";
    skein::detail::current_state() = {};
  }
};

TEST_F(SpanTest, RecordsNameTypeKindAndTimes) {
  Collecting c;
  {
    auto s =
        c.tracer.span("work", {.type = skein::EventType::tool, .kind = skein::SpanKind::client});
    EXPECT_TRUE(s.recording());
    EXPECT_TRUE(static_cast<bool>(s));
  }
  auto d = c.only();
  EXPECT_EQ(d.name, "work");
  EXPECT_EQ(d.event_type, skein::EventType::tool);
  EXPECT_EQ(d.kind, skein::SpanKind::client);
  EXPECT_TRUE(d.trace_id.valid());
  EXPECT_TRUE(d.span_id.valid());
  EXPECT_FALSE(d.parent_span_id.valid());
  EXPECT_NE(d.flags & skein::trace_flags::sampled, 0);
  EXPECT_GT(d.start_unix_nano, 0u);
  EXPECT_GE(d.end_unix_nano, d.start_unix_nano);
  EXPECT_EQ(d.status, skein::StatusCode::unset);
  EXPECT_EQ(d.string_attribute("honeyhive_event_type"), "tool");
  EXPECT_EQ(d.string_attribute("honeyhive_event_name"), "work");
  EXPECT_EQ(d.string_attribute("honeyhive.project"), "test");
  EXPECT_TRUE(d.double_attribute("honeyhive_duration_ms").has_value());
  EXPECT_EQ(d.string_attribute("openinference.span.kind"), "TOOL");
}

TEST_F(SpanTest, NestingMakesParentAndChildWithoutPassingAnything) {
  Collecting c;
  skein::TraceId trace;
  {
    auto root = c.tracer.span("root");
    trace = root.context().trace_id();
    {
      auto child = c.tracer.span("child");
      EXPECT_EQ(skein::Context::current().span_id(), child.context().span_id());
      { auto grandchild = c.tracer.span("grandchild"); }
    }
    auto sibling = c.tracer.span("sibling");
  }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 4u);
  const auto& root = by_name(spans, "root");
  const auto& child = by_name(spans, "child");
  const auto& grandchild = by_name(spans, "grandchild");
  const auto& sibling = by_name(spans, "sibling");
  for (const auto& s : spans) EXPECT_EQ(s.trace_id, trace) << s.name;
  EXPECT_FALSE(root.parent_span_id.valid());
  EXPECT_EQ(child.parent_span_id, root.span_id);
  EXPECT_EQ(grandchild.parent_span_id, child.span_id);
  EXPECT_EQ(sibling.parent_span_id, root.span_id);
  // Child ends before its parent, so it is exported first.
  EXPECT_EQ(spans.front().name, "grandchild");
  EXPECT_LE(root.start_unix_nano, child.start_unix_nano);
  EXPECT_GE(root.end_unix_nano, child.end_unix_nano);
}

TEST_F(SpanTest, CurrentContextIsRestoredAfterEachSpan) {
  Collecting c;
  EXPECT_FALSE(skein::Context::current().valid());
  {
    auto root = c.tracer.span("root");
    auto root_ctx = root.context();
    EXPECT_EQ(skein::Context::current().span_id(), root_ctx.span_id());
    {
      auto child = c.tracer.span("child");
      EXPECT_NE(skein::Context::current().span_id(), root_ctx.span_id());
    }
    EXPECT_EQ(skein::Context::current().span_id(), root_ctx.span_id());
  }
  EXPECT_FALSE(skein::Context::current().valid());
}

TEST_F(SpanTest, NewRootStartsAnotherTrace) {
  Collecting c;
  {
    auto a = c.tracer.span("a");
    auto b = c.tracer.span("b", {.new_root = true});
    EXPECT_NE(a.context().trace_id(), b.context().trace_id());
  }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_FALSE(by_name(spans, "b").parent_span_id.valid());
}

TEST_F(SpanTest, ExplicitParentIsUsed) {
  Collecting c;
  skein::Context parent(skein::TraceId{0x1234, 0x5678}, skein::SpanId{0x9abc},
                        skein::trace_flags::sampled, /*remote=*/true);
  {
    auto other = c.tracer.span("unrelated");
    auto s = c.tracer.span("s", {.parent = &parent});
  }
  auto spans = c.spans();
  const auto& s = by_name(spans, "s");
  EXPECT_EQ(s.trace_id, parent.trace_id());
  EXPECT_EQ(s.parent_span_id, parent.span_id());
  EXPECT_TRUE(s.parent_remote);
}

TEST_F(SpanTest, OutOfOrderEndKeepsTheInnerSpanCurrent) {
  Collecting c;
  auto a = c.tracer.span("a");
  auto b = c.tracer.span("b");
  a.end();  // out of order: b is still the current span
  EXPECT_EQ(skein::Context::current().span_id(), b.context().span_id());
  { auto inner = c.tracer.span("inner"); }
  b.end();
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(by_name(spans, "b").parent_span_id, by_name(spans, "a").span_id);
  EXPECT_EQ(by_name(spans, "inner").parent_span_id, by_name(spans, "b").span_id);
}

// After a parent ended before its child, the child's end must not make the ended parent's record
// current again: enrich_span() would write into a record the pipeline owns (or that a later span
// reuses).
TEST_F(SpanTest, OutOfOrderEndNeverEnrichesAnEndedSpan) {
  Collecting c({.thread_buffer_spans = 2});  // two records: the ended one is reused below
  {
    auto a = c.tracer.span("a");
    auto b = c.tracer.span("b");
    a.end();
    b.end();
  }
  ASSERT_TRUE(c.tracer.force_flush());
  EXPECT_FALSE(skein::enrich_span({{"stale", 1}}));
  { auto d = c.tracer.span("d"); }
  { auto e = c.tracer.span("e"); }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 4u);
  for (const auto& s : spans) {
    EXPECT_EQ(s.attribute("honeyhive_metadata.stale"), nullptr) << s.name;
  }
}

TEST_F(SpanTest, MoveAssigningANewSpanOverALiveOneNeverEnrichesTheEndedOne) {
  Collecting c({.thread_buffer_spans = 2});
  {
    auto s = c.tracer.span("first");
    s = c.tracer.span("second");  // ends "first"; "second" was started as its child
    EXPECT_TRUE(s.recording());
  }
  ASSERT_TRUE(c.tracer.force_flush());
  EXPECT_FALSE(skein::enrich_span({{"stale", 1}}));
  { auto d = c.tracer.span("d"); }
  { auto e = c.tracer.span("e"); }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(by_name(spans, "second").parent_span_id, by_name(spans, "first").span_id);
  for (const auto& s : spans) {
    EXPECT_EQ(s.attribute("honeyhive_metadata.stale"), nullptr) << s.name;
  }
}

TEST_F(SpanTest, OutOfOrderEndsOverSeveralLevels) {
  Collecting c;
  auto a = c.tracer.span("a");
  auto b = c.tracer.span("b");
  auto cc = c.tracer.span("c");
  a.end();
  b.end();
  EXPECT_EQ(skein::Context::current().span_id(), cc.context().span_id());
  { auto inner = c.tracer.span("inner"); }
  cc.end();
  EXPECT_FALSE(skein::Context::current().valid());
  { auto next = c.tracer.span("next"); }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_EQ(by_name(spans, "inner").parent_span_id, by_name(spans, "c").span_id);
  EXPECT_FALSE(by_name(spans, "next").parent_span_id.valid());
}

TEST_F(SpanTest, SpanEndedInsideAScopeIsNotRestoredByIt) {
  Collecting c;
  skein::Context foreign(skein::TraceId{5, 6}, skein::SpanId{7}, skein::trace_flags::sampled);
  auto a = c.tracer.span("a");
  {
    skein::Scope scope(foreign);
    a.end();
    EXPECT_EQ(skein::Context::current().span_id(), foreign.span_id());
  }
  EXPECT_FALSE(skein::Context::current().valid());
  EXPECT_FALSE(skein::enrich_span({{"stale", 1}}));
  EXPECT_EQ(c.spans().size(), 1u);
}

TEST_F(SpanTest, MoveConstructionTransfersTheSpan) {
  Collecting c;
  {
    auto a = c.tracer.span("moved");
    a.set("k", 1);
    skein::Span b(std::move(a));
    EXPECT_FALSE(a.recording());  // NOLINT(bugprone-use-after-move): moved-from is a no-op
    EXPECT_TRUE(b.recording());
    a.set("ignored", 2);  // NOLINT(bugprone-use-after-move)
    a.end();              // NOLINT(bugprone-use-after-move): does nothing
    EXPECT_EQ(skein::Context::current().span_id(), b.context().span_id());
    b.set("k2", 3);
  }
  EXPECT_FALSE(skein::Context::current().valid());
  auto d = c.only();
  EXPECT_EQ(d.int_attribute("k"), 1);
  EXPECT_EQ(d.int_attribute("k2"), 3);
  EXPECT_EQ(d.attribute("ignored"), nullptr);
}

TEST_F(SpanTest, MoveAssignmentEndsTheTargetFirst) {
  Collecting c;
  {
    skein::Span a = c.tracer.span("a", {.new_root = true});
    a.end();
    skein::Span holder;
    EXPECT_FALSE(holder.recording());
    holder = c.tracer.span("b");
    EXPECT_TRUE(holder.recording());
    skein::Span other = c.tracer.span("c", {.new_root = true});
    holder = std::move(other);  // ends b
    EXPECT_TRUE(holder.recording());
    EXPECT_EQ(c.spans().size(), 2u);  // a and b
  }
  EXPECT_EQ(c.spans().size(), 3u);
}

TEST_F(SpanTest, EndIsIdempotent) {
  Collecting c;
  {
    auto s = c.tracer.span("once");
    s.end();
    EXPECT_FALSE(s.recording());
    s.end();
    s.set("after_end", 1);
  }
  auto d = c.only();
  EXPECT_EQ(d.attribute("after_end"), nullptr);
  EXPECT_EQ(c.tracer.stats().spans_ended, 1u);
}

TEST_F(SpanTest, DefaultConstructedSpanIsANoOp) {
  skein::Span s;
  EXPECT_FALSE(s.recording());
  EXPECT_FALSE(s.context().valid());
  s.set("k", 1).add_event("e").set_status(skein::StatusCode::error, "x");
  s.end();
}

TEST_F(SpanTest, NoOpTracerMakesNoOpSpans) {
  skein::Tracer t;
  EXPECT_FALSE(t.enabled());
  auto s = t.span("nothing");
  EXPECT_FALSE(s.recording());
  EXPECT_FALSE(s.context().valid());
  EXPECT_FALSE(skein::Context::current().valid());
}

TEST_F(SpanTest, UnsampledRootPropagatesContextButRecordsNothing) {
  Collecting c({.sampler = skein::always_off()});
  {
    auto root = c.tracer.span("root");
    EXPECT_FALSE(root.recording());
    auto ctx = root.context();
    EXPECT_TRUE(ctx.valid());
    EXPECT_FALSE(ctx.sampled());
    EXPECT_EQ(skein::Context::current().trace_id(), ctx.trace_id());
    auto child = c.tracer.span("child");
    EXPECT_FALSE(child.recording());
    EXPECT_EQ(skein::Context::current().trace_id(), ctx.trace_id());
    EXPECT_FALSE(skein::enrich_span({{"k", 1}}));
  }
  EXPECT_FALSE(skein::Context::current().valid());
  EXPECT_TRUE(c.spans().empty());
  auto st = c.tracer.stats();
  EXPECT_EQ(st.spans_sampled, 0u);
  EXPECT_EQ(st.spans_unsampled, 1u);
}

TEST_F(SpanTest, UnsampledRemoteParentIsHonoured) {
  Collecting c;
  skein::Context parent(skein::TraceId{1, 2}, skein::SpanId{3}, 0, true);
  {
    auto s = c.tracer.span("s", {.parent = &parent});
    EXPECT_FALSE(s.recording());
    EXPECT_EQ(s.context().trace_id(), parent.trace_id());
  }
  EXPECT_TRUE(c.spans().empty());
}

TEST_F(SpanTest, LazyValuesAreEvaluatedOnlyWhenRecording) {
  int calls = 0;
  auto value = [&] {
    ++calls;
    return 42;
  };
  {
    skein::Span noop;
    noop.set("lazy", value);
  }
  {
    Collecting off({.sampler = skein::always_off()});
    auto s = off.tracer.span("unsampled");
    s.set("lazy", value);
  }
  {
    Collecting disabled({.disabled = true});
    auto s = disabled.tracer.span("disabled");
    s.set("lazy", value);
  }
  EXPECT_EQ(calls, 0);

  Collecting c;
  {
    auto s = c.tracer.span("recording");
    s.set("lazy", value);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(c.only().int_attribute("lazy"), 42);
}

TEST_F(SpanTest, LazyValueThatThrowsIsCountedNotPropagated) {
  Collecting c;
  {
    auto s = c.tracer.span("s");
    s.set("bad", []() -> int { throw std::runtime_error("no"); });
    s.set("good", [] { return std::string("yes"); });
  }
  auto d = c.only();
  EXPECT_EQ(d.attribute("bad"), nullptr);
  EXPECT_EQ(d.string_attribute("good"), "yes");
  EXPECT_EQ(c.tracer.stats().callback_failures, 1u);
}

TEST_F(SpanTest, AttributeTypes) {
  Collecting c;
  {
    auto s = c.tracer.span("s");
    s.set("b", true)
        .set("i", 7)
        .set("neg", std::int64_t{-9'000'000'000})
        .set("d", 2.5)
        .set("s", "text")
        .set("str", std::string("owned"))
        .set("ints", std::vector<int>{1, 2, 3})
        .set("strs", std::vector<std::string>{"x", "y"})
        .set("bools", skein::List{true, false})
        .set("doubles", skein::List{1.5, 2.5})
        .set("mixed", skein::List{1, "two"})
        .set({{"m1", 1}, {"m2", "two"}});
  }
  auto d = c.only();
  EXPECT_EQ(d.bool_attribute("b"), true);
  EXPECT_EQ(d.int_attribute("i"), 7);
  EXPECT_EQ(d.int_attribute("neg"), -9'000'000'000);
  EXPECT_EQ(d.double_attribute("d"), 2.5);
  EXPECT_EQ(d.string_attribute("s"), "text");
  EXPECT_EQ(d.string_attribute("str"), "owned");
  ASSERT_NE(d.attribute("ints"), nullptr);
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(*d.attribute("ints")),
            (std::vector<std::int64_t>{1, 2, 3}));
  ASSERT_NE(d.attribute("strs"), nullptr);
  EXPECT_EQ(std::get<std::vector<std::string>>(*d.attribute("strs")),
            (std::vector<std::string>{"x", "y"}));
  ASSERT_NE(d.attribute("bools"), nullptr);
  EXPECT_EQ(std::get<std::vector<bool>>(*d.attribute("bools")), (std::vector<bool>{true, false}));
  ASSERT_NE(d.attribute("doubles"), nullptr);
  EXPECT_EQ(std::get<std::vector<double>>(*d.attribute("doubles")),
            (std::vector<double>{1.5, 2.5}));
  // A list of mixed types flattens to indexed keys.
  EXPECT_EQ(d.int_attribute("mixed.0"), 1);
  EXPECT_EQ(d.string_attribute("mixed.1"), "two");
  EXPECT_EQ(d.int_attribute("m1"), 1);
  EXPECT_EQ(d.string_attribute("m2"), "two");
}

// Span::set writes a scalar under a key and value of at most 32 bytes inline, and everything
// else through the general path: both must record the same, around every size boundary of the
// inline copy, past the first block of the span's arena and past the attribute list's first
// capacity (16).
TEST_F(SpanTest, AttributesOfEverySizeAreRecordedExactly) {
  Collecting c;
  const std::size_t sizes[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 40, 64, 100};
  auto text = [](std::size_t n, char seed) {
    std::string s(n, ' ');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (seed + i * 7) % 26);
    return s;
  };
  std::vector<std::pair<std::string, std::string>> expected;
  {
    auto s = c.tracer.span("s");
    for (std::size_t k : sizes) {
      for (std::size_t v : sizes) {
        std::string key = "k" + std::to_string(k) + "_" + std::to_string(v) + "_";
        key += text(k > key.size() ? k - key.size() : 0, static_cast<char>(k));
        std::string value = text(v, static_cast<char>(v + k));
        s.set(key, value);
        expected.emplace_back(key, value);
      }
    }
    s.set("null", nullptr).set("t", true).set("i", -5).set("d", 0.125);
    s.set({{"list.a", 1}, {std::string(40, 'x'), "long key in a list"}});
  }
  auto d = c.only();
  ASSERT_EQ(expected.size(), std::size(sizes) * std::size(sizes));
  for (const auto& [key, value] : expected) {
    EXPECT_EQ(d.string_attribute(key), value) << key;
  }
  ASSERT_NE(d.attribute("null"), nullptr);
  EXPECT_EQ(d.bool_attribute("t"), true);
  EXPECT_EQ(d.int_attribute("i"), -5);
  EXPECT_EQ(d.double_attribute("d"), 0.125);
  EXPECT_EQ(d.int_attribute("list.a"), 1);
  EXPECT_EQ(d.string_attribute(std::string(40, 'x')), "long key in a list");
  EXPECT_EQ(d.dropped_attributes, 0u);
}

// The user's attributes of an exported span, in order (without the core ones the exporter adds).
std::vector<std::pair<std::string, skein::OwnedValue>> user_attributes(const skein::SpanData& d) {
  std::vector<std::pair<std::string, skein::OwnedValue>> out;
  for (const auto& a : d.attributes) {
    if (!skein::is_core_attribute_key(a.first)) out.push_back(a);
  }
  return out;
}

// A span's first attributes are packed beside its name (SpanRecord::compact) until they no longer
// fit or one takes the general path; from then on they are in the attribute list. Whatever the
// mix, the exported attributes are the ones set, in the order set, with their types.
TEST_F(SpanTest, PackedAndListedAttributesKeepTheirOrderAndTypes) {
  Collecting c;
  // Each case: the attributes set, by kind: 's' a short string, 'i' an integer, 'd' a double,
  // 'b' a boolean, 'n' null, 'L' a long string (the general path), 'a' an array (general path).
  const std::string cases[] = {"sidb",       "ssssssssssssssssssss",
                               "iiLii",      "Lsss",
                               "sssa",       "dbdbdbdbdbdbdbdbdbdb",
                               "n",          "",
                               "siLdbasiLd", "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"};
  for (const std::string& kinds : cases) {
    for (const bool long_name : {false, true}) {
      const std::string name = (long_name ? std::string(40, 'n') : "span-") + kinds;
      {
        auto s = c.tracer.span(name);
        for (std::size_t i = 0; i < kinds.size(); ++i) {
          const std::string key = "key." + std::to_string(i);
          switch (kinds[i]) {
            case 's': s.set(key, "v" + std::to_string(i)); break;
            case 'i': s.set(key, static_cast<std::int64_t>(i) * -1'000'000'007); break;
            case 'd': s.set(key, 0.5 + static_cast<double>(i)); break;
            case 'b': s.set(key, i % 2 == 0); break;
            case 'n': s.set(key, nullptr); break;
            case 'L': s.set(key, std::string(50, static_cast<char>('a' + i % 26))); break;
            case 'a': s.set(key, std::vector<int>{static_cast<int>(i), 2}); break;
          }
        }
      }
      ASSERT_TRUE(c.tracer.force_flush());
      auto spans = c.spans();
      ASSERT_EQ(spans.back().name, name);
      const auto attributes = user_attributes(spans.back());
      ASSERT_EQ(attributes.size(), kinds.size()) << kinds;
      for (std::size_t i = 0; i < kinds.size(); ++i) {
        const auto& [key, value] = attributes[i];
        ASSERT_EQ(key, "key." + std::to_string(i)) << kinds << " at " << i;
        switch (kinds[i]) {
          case 's':
            EXPECT_EQ(std::get<std::string>(value), "v" + std::to_string(i)) << kinds;
            break;
          case 'i':
            EXPECT_EQ(std::get<std::int64_t>(value), static_cast<std::int64_t>(i) * -1'000'000'007)
                << kinds;
            break;
          case 'd':
            EXPECT_EQ(std::get<double>(value), 0.5 + static_cast<double>(i)) << kinds;
            break;
          case 'b': EXPECT_EQ(std::get<bool>(value), i % 2 == 0) << kinds; break;
          case 'n': EXPECT_TRUE(std::holds_alternative<std::monostate>(value)) << kinds; break;
          case 'L':
            EXPECT_EQ(std::get<std::string>(value),
                      std::string(50, static_cast<char>('a' + i % 26)))
                << kinds;
            break;
          case 'a':
            EXPECT_EQ(std::get<std::vector<std::int64_t>>(value),
                      (std::vector<std::int64_t>{static_cast<std::int64_t>(i), 2}))
                << kinds;
            break;
        }
      }
    }
  }
}

// A key set twice keeps its last value, in the last one's place, whether both are packed, the
// first is packed and the second listed, or the span is renamed in between.
TEST_F(SpanTest, RepeatedKeysKeepTheLastValueAcrossPackedAndListed) {
  Collecting c;
  {
    auto s = c.tracer.span("dups");
    s.set("a", 1).set("b", 2).set("a", 3);
  }
  {
    auto s = c.tracer.span("spilled");
    s.set("a", 1).set("b", "x").set("long", std::string(64, 'l')).set("a", "last");
  }
  {
    auto s = c.tracer.span("renamed");
    s.set("k", 1);
    s.set_name(std::string(48, 'r'));
    s.set("k", 2).set("j", true);
  }
  ASSERT_TRUE(c.tracer.force_flush());
  const auto dups = by_name(c.spans(), "dups");
  ASSERT_EQ(user_attributes(dups).size(), 2u);
  EXPECT_EQ(user_attributes(dups)[0].first, "b");
  EXPECT_EQ(user_attributes(dups)[1].first, "a");
  EXPECT_EQ(dups.int_attribute("a"), 3);
  const auto spilled = by_name(c.spans(), "spilled");
  ASSERT_EQ(user_attributes(spilled).size(), 3u);
  EXPECT_EQ(user_attributes(spilled)[2].first, "a");
  EXPECT_EQ(spilled.string_attribute("a"), "last");
  EXPECT_EQ(spilled.string_attribute("b"), "x");
  const auto renamed = by_name(c.spans(), std::string(48, 'r'));
  ASSERT_EQ(user_attributes(renamed).size(), 2u);
  EXPECT_EQ(renamed.int_attribute("k"), 2);
  EXPECT_EQ(renamed.bool_attribute("j"), true);
}

// The attribute limit counts packed attributes too.
TEST_F(SpanTest, AttributeLimitCountsPackedAttributes) {
  Collecting c({.limits = {.max_attributes = 3}});
  {
    auto s = c.tracer.span("limited");
    s.set("a", 1).set("b", 2).set("c", 3).set("d", 4).set("e", 5).set("a", 6);
  }
  auto d = c.only();
  ASSERT_EQ(user_attributes(d).size(), 3u);
  EXPECT_EQ(d.int_attribute("a"), 6);  // replacing an attribute is not a new one
  EXPECT_EQ(d.int_attribute("b"), 2);
  EXPECT_EQ(d.int_attribute("c"), 3);
  EXPECT_EQ(d.dropped_attributes, 2u);
}

TEST_F(SpanTest, StartAttributesAreRecorded) {
  Collecting c;
  { auto s = c.tracer.span("s", {.attributes = {{"user.id", "u-1"}, {"n", 3}}}); }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("user.id"), "u-1");
  EXPECT_EQ(d.int_attribute("n"), 3);
}

TEST_F(SpanTest, ValuesAreCopiedAtTheCall) {
  Collecting c;
  {
    auto s = c.tracer.span("s");
    std::string temp = "before";
    s.set("v", temp);
    temp = "after!";
    std::string name = "renamed";
    s.set_name(name);
    name = "garbage";
  }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("v"), "before");
  EXPECT_EQ(d.name, "renamed");
}

TEST_F(SpanTest, SetNameAndEventType) {
  Collecting c;
  {
    auto s = c.tracer.span("old");
    s.set_name("new").set_event_type(skein::EventType::model);
  }
  auto d = c.only();
  EXPECT_EQ(d.name, "new");
  EXPECT_EQ(d.event_type, skein::EventType::model);
  EXPECT_EQ(d.string_attribute("honeyhive_event_type"), "model");
  EXPECT_EQ(d.string_attribute("honeyhive_event_name"), "new");
}

TEST_F(SpanTest, Status) {
  Collecting c;
  {
    auto ok = c.tracer.span("ok");
    ok.set_status(skein::StatusCode::ok, "ignored for ok");
  }
  {
    auto err = c.tracer.span("err");
    err.set_status(skein::StatusCode::error, "it broke");
  }
  { auto unset = c.tracer.span("unset"); }
  auto spans = c.spans();
  EXPECT_EQ(by_name(spans, "ok").status, skein::StatusCode::ok);
  EXPECT_EQ(by_name(spans, "ok").status_message, "");
  EXPECT_EQ(by_name(spans, "err").status, skein::StatusCode::error);
  EXPECT_EQ(by_name(spans, "err").status_message, "it broke");
  EXPECT_EQ(by_name(spans, "unset").status, skein::StatusCode::unset);
}

TEST_F(SpanTest, EventsWithAttributes) {
  Collecting c;
  {
    auto s = c.tracer.span("s");
    s.add_event("first");
    s.add_event("second", {{"n", 2}, {"what", "x"}});
  }
  auto d = c.only();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].name, "first");
  EXPECT_TRUE(d.events[0].attributes.empty());
  EXPECT_EQ(d.events[1].name, "second");
  ASSERT_NE(event_attribute(d.events[1], "n"), nullptr);
  EXPECT_EQ(std::get<std::int64_t>(*event_attribute(d.events[1], "n")), 2);
  EXPECT_EQ(std::get<std::string>(*event_attribute(d.events[1], "what")), "x");
  EXPECT_GE(d.events[0].time_unix_nano, d.start_unix_nano);
  EXPECT_LE(d.events[0].time_unix_nano, d.events[1].time_unix_nano);
  EXPECT_LE(d.events[1].time_unix_nano, d.end_unix_nano);
}

TEST_F(SpanTest, Links) {
  Collecting c;
  skein::Context linked(skein::TraceId{0xaa, 0xbb}, skein::SpanId{0xcc},
                        skein::trace_flags::sampled);
  {
    auto s = c.tracer.span("consumer", {.kind = skein::SpanKind::consumer});
    s.add_link(linked, {{"messaging.id", "m-1"}});
    s.add_link(skein::Context{});  // invalid: ignored
  }
  auto d = c.only();
  ASSERT_EQ(d.links.size(), 1u);
  EXPECT_EQ(d.links[0].trace_id, linked.trace_id());
  EXPECT_EQ(d.links[0].span_id, linked.span_id());
  ASSERT_EQ(d.links[0].attributes.size(), 1u);
  EXPECT_EQ(d.links[0].attributes[0].first, "messaging.id");
  EXPECT_EQ(std::get<std::string>(d.links[0].attributes[0].second), "m-1");
}

TEST_F(SpanTest, RecordException) {
  Collecting c;
  {
    auto s = c.tracer.span("s");
    s.record_exception(std::invalid_argument("bad input"));
  }
  auto d = c.only();
  EXPECT_EQ(d.status, skein::StatusCode::error);
  EXPECT_EQ(d.status_message, "bad input");
  EXPECT_EQ(d.string_attribute("honeyhive_error"), "bad input");
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].name, "exception");
  ASSERT_NE(event_attribute(d.events[0], "exception.type"), nullptr);
  EXPECT_EQ(std::get<std::string>(*event_attribute(d.events[0], "exception.type")),
            "std::invalid_argument");
  EXPECT_EQ(std::get<std::string>(*event_attribute(d.events[0], "exception.message")), "bad input");
}

TEST_F(SpanTest, RecordExceptionPtrOfAnyType) {
  Collecting c;
  {
    auto s = c.tracer.span("std");
    s.record_exception(std::make_exception_ptr(std::out_of_range("range")));
  }
  {
    auto s = c.tracer.span("other");
    s.record_exception(std::make_exception_ptr(42));
  }
  {
    auto s = c.tracer.span("null");
    s.record_exception(std::exception_ptr());
  }
  auto spans = c.spans();
  const auto& std_span = by_name(spans, "std");
  ASSERT_EQ(std_span.events.size(), 1u);
  EXPECT_EQ(std::get<std::string>(*event_attribute(std_span.events[0], "exception.type")),
            "std::out_of_range");
  const auto& other = by_name(spans, "other");
  EXPECT_EQ(other.status, skein::StatusCode::error);
  EXPECT_EQ(other.string_attribute("honeyhive_error"), "unknown exception");
  const auto& null = by_name(spans, "null");
  EXPECT_EQ(null.status, skein::StatusCode::unset);
  EXPECT_TRUE(null.events.empty());
}

TEST_F(SpanTest, ScopeMakesACapturedContextCurrent) {
  Collecting c;
  skein::Context captured;
  {
    auto root = c.tracer.span("root");
    captured = skein::Context::current();
  }
  EXPECT_FALSE(skein::Context::current().valid());
  {
    skein::Scope scope(captured);
    EXPECT_EQ(skein::Context::current().span_id(), captured.span_id());
    // A scope's context is not a span: enrichment has nothing to write to.
    EXPECT_FALSE(skein::enrich_span({{"k", 1}}));
    auto late = c.tracer.span("late_child");
  }
  EXPECT_FALSE(skein::Context::current().valid());
  auto spans = c.spans();
  EXPECT_EQ(by_name(spans, "late_child").parent_span_id, captured.span_id());
}

TEST_F(SpanTest, DefaultTracerFreeFunction) {
  // skein::span() uses the default tracer; with none made default by this test binary it is
  // a no-op (every other tracer here is created with make_default = false).
  auto s = skein::span("x");
  EXPECT_FALSE(s.recording());
}

TEST_F(SpanTest, EnumNames) {
  EXPECT_EQ(skein::to_string(skein::EventType::model), "model");
  EXPECT_EQ(skein::to_string(skein::EventType::tool), "tool");
  EXPECT_EQ(skein::to_string(skein::EventType::chain), "chain");
  EXPECT_EQ(skein::to_string(skein::EventType::session), "session");
  EXPECT_EQ(skein::to_string(skein::EventType::generic), "generic");
  EXPECT_EQ(skein::to_string(skein::SpanKind::internal), "internal");
  EXPECT_EQ(skein::to_string(skein::SpanKind::server), "server");
  EXPECT_EQ(skein::to_string(skein::SpanKind::client), "client");
  EXPECT_EQ(skein::to_string(skein::SpanKind::producer), "producer");
  EXPECT_EQ(skein::to_string(skein::SpanKind::consumer), "consumer");
}

TEST_F(SpanTest, StatsCountStartedSampledEndedExported) {
  Collecting c;
  for (int i = 0; i < 5; ++i) {
    auto root = c.tracer.span("root");
    auto child = c.tracer.span("child");
  }
  EXPECT_EQ(c.spans().size(), 10u);
  auto st = c.tracer.stats();
  EXPECT_EQ(st.spans_started, 10u);
  EXPECT_EQ(st.spans_sampled, 10u);
  EXPECT_EQ(st.spans_ended, 10u);
  EXPECT_EQ(st.spans_exported, 10u);
  EXPECT_EQ(st.spans_dropped, 0u);
  EXPECT_EQ(st.export_failures, 0u);
}

}  // namespace

namespace {

// Records are reused; the fields only a few spans use (events, links, trace state and baggage,
// drop counts) are cleared only for records that had them. A span after one that had them all
// must carry none of them, however many times the pool goes round.
TEST_F(SpanTest, ARecycledRecordCarriesNothingOfItsPreviousSpan) {
  Collecting c({.limits = {.max_events = 1}, .thread_buffer_spans = 16});
  const skein::Context linked(
      skein::TraceId{7, 7}, skein::SpanId{7}, 1, true,
      std::make_shared<skein::ContextExtras>(skein::ContextExtras{"vendor=x", "tenant=acme"}));
  for (int round = 0; round < 40; ++round) {
    {
      auto busy = c.tracer.span("busy", {.parent = &linked});
      busy.add_event("one", {{"k", 1}});
      busy.add_event("two");  // over max_events: a dropped event
      busy.add_link(linked, {{"why", "batch"}});
      busy.set("x", 1);
    }
    ASSERT_TRUE(c.tracer.force_flush());  // the record goes back to the pool
    for (int i = 0; i < 12; ++i) {        // fewer than the pool holds: nothing dropped
      auto plain = c.tracer.span("plain", {.new_root = true});
      plain.set("y", 2);
    }
    ASSERT_TRUE(c.tracer.force_flush());
  }
  auto spans = c.spans();
  std::size_t plain = 0, busy = 0;
  for (const auto& s : spans) {
    if (s.name == "busy") {
      ++busy;
      EXPECT_EQ(s.events.size(), 1u);
      EXPECT_EQ(s.dropped_events, 1u);
      EXPECT_EQ(s.links.size(), 1u);
      EXPECT_EQ(s.trace_state, "vendor=x");
      continue;
    }
    ++plain;
    EXPECT_TRUE(s.events.empty());
    EXPECT_TRUE(s.links.empty());
    EXPECT_EQ(s.dropped_events, 0u);
    EXPECT_EQ(s.trace_state, "");
    EXPECT_EQ(s.attribute("x"), nullptr);
    ASSERT_NE(s.attribute("y"), nullptr);
  }
  EXPECT_EQ(busy, 40u);
  EXPECT_EQ(plain, 480u);
  EXPECT_EQ(c.tracer.stats().spans_dropped, 0u);
}

}  // namespace
