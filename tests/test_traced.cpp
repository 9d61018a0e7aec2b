// traced() and SKEIN_TRACE: inputs, output, duration, nesting, and exceptions recorded and then
// rethrown unchanged.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fakes/collecting.hpp"
#include "skein/skein.hpp"

namespace app {

struct Query {
  std::string text;
  int k = 0;
};
int g_query_visits = 0;
void skein_value(skein::ValueWriter& w, const Query& q) {
  ++g_query_visits;
  w.field("text", q.text);
  w.field("k", q.k);
}

struct NotAValue {
  int x = 0;
};

// The same object must reach the caller: its address is remembered where it is thrown.
struct TracedError : std::runtime_error {
  using std::runtime_error::runtime_error;
  int payload = 7;
};
const void* g_thrown_at = nullptr;

}  // namespace app

namespace {
// The process default tracer of this test binary (made once; it stays the default).
skein::fakes::Collecting& default_collecting() {
  static auto* c = new skein::fakes::Collecting({.make_default = true});
  return *c;
}
}  // namespace

int retrieve_documents(int k) {
  SKEIN_TRACE({.type = skein::EventType::tool});
  skein::enrich_span({.metrics = {{"k", k}}});
  return k * 2;
}

void plain_traced_function() {
  SKEIN_TRACE();
}

namespace {

using skein::fakes::by_name;
using skein::fakes::Collecting;
using skein::fakes::event_attribute;
using skein::fakes::has_prefix;

class TracedTest : public ::testing::Test {
 protected:
  void SetUp() override { skein::detail::current_state() = {}; }
  void TearDown() override { skein::detail::current_state() = {}; }
  Collecting c;
};

TEST_F(TracedTest, RecordsPositionalInputsAndOutput) {
  auto add = skein::traced(c.tracer, "add", [](int a, double b) { return a + b; });
  EXPECT_EQ(add(2, 0.5), 2.5);
  auto d = c.only();
  EXPECT_EQ(d.name, "add");
  EXPECT_EQ(d.int_attribute("honeyhive_inputs._params_.0"), 2);
  EXPECT_EQ(d.double_attribute("honeyhive_inputs._params_.1"), 0.5);
  EXPECT_EQ(d.double_attribute("honeyhive_outputs.result"), 2.5);
  EXPECT_EQ(d.status, skein::StatusCode::unset);
  EXPECT_TRUE(d.double_attribute("honeyhive_duration_ms").has_value());
}

TEST_F(TracedTest, NamedInputsTypeAndKind) {
  auto f = skein::traced(c.tracer, "retrieve",
                         [](const std::string& query, int k, bool flag) {
                           return query + std::to_string(k) + (flag ? "!" : "");
                         },
                         {.type = skein::EventType::tool,
                          .kind = skein::SpanKind::client,
                          .arg_names = {"query", "k"}});
  EXPECT_EQ(f(std::string("q"), 3, true), "q3!");
  auto d = c.only();
  EXPECT_EQ(d.event_type, skein::EventType::tool);
  EXPECT_EQ(d.kind, skein::SpanKind::client);
  EXPECT_EQ(d.string_attribute("honeyhive_inputs.query"), "q");
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.k"), 3);
  // Unnamed ones keep their position.
  EXPECT_EQ(d.bool_attribute("honeyhive_inputs._params_.2"), true);
  EXPECT_EQ(d.string_attribute("honeyhive_outputs.result"), "q3!");
}

TEST_F(TracedTest, StructuredInputsAndOutputsAreFlattened) {
  auto f = skein::traced(c.tracer, "search",
                         [](const app::Query& q, std::vector<std::string> /*tags*/) {
                           return std::vector<int>(static_cast<std::size_t>(q.k), 1);
                         },
                         {.arg_names = {"query", "tags"}});
  f(app::Query{"hello", 2}, std::vector<std::string>{"a", "b"});
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("honeyhive_inputs.query.text"), "hello");
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.query.k"), 2);
  EXPECT_EQ(d.string_attribute("honeyhive_inputs.tags.0"), "a");
  EXPECT_EQ(d.string_attribute("honeyhive_inputs.tags.1"), "b");
  EXPECT_EQ(d.int_attribute("honeyhive_outputs.result.0"), 1);
  EXPECT_EQ(d.int_attribute("honeyhive_outputs.result.1"), 1);
}

TEST_F(TracedTest, OptionalsAsInputs) {
  auto f = skein::traced(c.tracer, "opt", [](std::optional<int> a, std::optional<int> b) {
    return a.value_or(0) + b.value_or(0);
  });
  f(5, std::nullopt);
  auto d = c.only();
  EXPECT_EQ(d.int_attribute("honeyhive_inputs._params_.0"), 5);
  const skein::OwnedValue* b = d.attribute("honeyhive_inputs._params_.1");
  if (b != nullptr) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(*b));
  }
  EXPECT_EQ(d.int_attribute("honeyhive_outputs.result"), 5);
}

TEST_F(TracedTest, ArgumentsThatAreNotValuesAreSkipped) {
  auto f = skein::traced(
      c.tracer, "skip",
      [](app::NotAValue a, const std::vector<app::NotAValue>& v, int n, std::unique_ptr<int> p) {
        return a.x + static_cast<int>(v.size()) + n + *p;
      });
  EXPECT_EQ(f(app::NotAValue{1}, std::vector<app::NotAValue>(2), 3, std::make_unique<int>(4)), 10);
  auto d = c.only();
  EXPECT_FALSE(has_prefix(d, "honeyhive_inputs._params_.0"));
  EXPECT_FALSE(has_prefix(d, "honeyhive_inputs._params_.1"));
  EXPECT_EQ(d.int_attribute("honeyhive_inputs._params_.2"), 3);
  EXPECT_FALSE(has_prefix(d, "honeyhive_inputs._params_.3"));
  EXPECT_EQ(d.int_attribute("honeyhive_outputs.result"), 10);
}

TEST_F(TracedTest, VoidMoveOnlyAndReferenceResults) {
  int target = 1;
  auto v = skein::traced(c.tracer, "void", [&](int x) { target = x; });
  auto m = skein::traced(c.tracer, "move_only", [] { return std::make_unique<int>(5); });
  auto r = skein::traced(c.tracer, "ref", [&]() -> int& { return target; });
  v(3);
  EXPECT_EQ(target, 3);
  std::unique_ptr<int> p = m();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
  int& ref = r();
  EXPECT_EQ(&ref, &target);
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_FALSE(has_prefix(by_name(spans, "void"), "honeyhive_outputs"));
  EXPECT_FALSE(has_prefix(by_name(spans, "move_only"), "honeyhive_outputs"));
  EXPECT_EQ(by_name(spans, "ref").int_attribute("honeyhive_outputs.result"), 3);
}

TEST_F(TracedTest, StatefulCallable) {
  auto counter = skein::traced(c.tracer, "count", [n = 0]() mutable { return ++n; });
  EXPECT_EQ(counter(), 1);
  EXPECT_EQ(counter(), 2);
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[1].int_attribute("honeyhive_outputs.result"), 2);
}

TEST_F(TracedTest, CaptureCanBeTurnedOff) {
  auto f = skein::traced(c.tracer, "quiet", [](int x) { return x * 2; },
                         {.capture_inputs = false, .capture_output = false});
  EXPECT_EQ(f(21), 42);
  auto d = c.only();
  EXPECT_FALSE(has_prefix(d, "honeyhive_inputs"));
  EXPECT_FALSE(has_prefix(d, "honeyhive_outputs"));
}

TEST_F(TracedTest, NothingIsConvertedWhenNotRecording) {
  app::g_query_visits = 0;
  int calls = 0;
  auto body = [&](const app::Query& q) {
    ++calls;
    return q.k;
  };
  skein::Tracer noop;
  auto f = skein::traced(noop, "noop", body);
  EXPECT_EQ(f(app::Query{"x", 4}), 4);
  Collecting off({.sampler = skein::always_off()});
  auto g = skein::traced(off.tracer, "unsampled", body);
  EXPECT_EQ(g(app::Query{"y", 5}), 5);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(app::g_query_visits, 0);

  auto h = skein::traced(c.tracer, "recorded", body);
  h(app::Query{"z", 6});
  EXPECT_EQ(app::g_query_visits, 1);
  EXPECT_EQ(c.only().string_attribute("honeyhive_inputs._params_.0.text"), "z");
}

TEST_F(TracedTest, NestsUnderTheCurrentSpanAndEachOther) {
  auto inner = skein::traced(c.tracer, "inner", [](int x) { return x + 1; });
  auto outer = skein::traced(c.tracer, "outer", [&](int x) {
    skein::enrich_span({.metadata = {{"in_outer", true}}});
    return inner(x) * 2;
  });
  {
    auto root = c.tracer.span("root");
    EXPECT_EQ(outer(1), 4);
  }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(by_name(spans, "outer").parent_span_id, by_name(spans, "root").span_id);
  EXPECT_EQ(by_name(spans, "inner").parent_span_id, by_name(spans, "outer").span_id);
  EXPECT_EQ(by_name(spans, "outer").bool_attribute("honeyhive_metadata.in_outer"), true);
  EXPECT_EQ(by_name(spans, "outer").int_attribute("honeyhive_outputs.result"), 4);
}

TEST_F(TracedTest, DurationCoversTheCall) {
  auto slow = skein::traced(c.tracer, "slow", [] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return 0;
  });
  slow();
  auto d = c.only();
  auto ms = d.double_attribute("honeyhive_duration_ms");
  ASSERT_TRUE(ms.has_value());
  EXPECT_GE(*ms, 4.0);
  EXPECT_GE(d.end_unix_nano - d.start_unix_nano, 4'000'000u);
}

TEST_F(TracedTest, ExceptionIsRecordedAndTheSameObjectRethrown) {
  auto f = skein::traced(c.tracer, "fails", [](int x) -> int {
    try {
      throw app::TracedError("bad " + std::to_string(x));
    } catch (const app::TracedError& e) {
      app::g_thrown_at = &e;
      throw;
    }
  });
  bool caught = false;
  try {
    f(3);
  } catch (const app::TracedError& e) {
    caught = true;
    EXPECT_EQ(&e, app::g_thrown_at);  // the very same object, not a copy
    EXPECT_STREQ(e.what(), "bad 3");
    EXPECT_EQ(e.payload, 7);
  }
  EXPECT_TRUE(caught);
  auto d = c.only();
  EXPECT_EQ(d.status, skein::StatusCode::error);
  EXPECT_EQ(d.status_message, "bad 3");
  EXPECT_EQ(d.string_attribute("honeyhive_error"), "bad 3");
  EXPECT_EQ(d.int_attribute("honeyhive_inputs._params_.0"), 3);
  EXPECT_FALSE(has_prefix(d, "honeyhive_outputs"));
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].name, "exception");
  ASSERT_NE(event_attribute(d.events[0], "exception.type"), nullptr);
  EXPECT_EQ(std::get<std::string>(*event_attribute(d.events[0], "exception.type")),
            "app::TracedError");
  EXPECT_EQ(std::get<std::string>(*event_attribute(d.events[0], "exception.message")), "bad 3");
}

TEST_F(TracedTest, NonStandardExceptionIsRethrownUnchanged) {
  auto f = skein::traced(c.tracer, "throws_int", []() -> int { throw 42; });
  int value = 0;
  try {
    f();
  } catch (int v) {
    value = v;
  }
  EXPECT_EQ(value, 42);
  auto d = c.only();
  EXPECT_EQ(d.status, skein::StatusCode::error);
  EXPECT_TRUE(d.string_attribute("honeyhive_error").has_value());
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].name, "exception");
}

TEST_F(TracedTest, ExceptionPropagatesThroughNestedTracedCalls) {
  auto inner = skein::traced(c.tracer, "inner", []() -> int { throw std::logic_error("deep"); });
  auto outer = skein::traced(c.tracer, "outer", [&] { return inner(); });
  EXPECT_THROW(outer(), std::logic_error);
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 2u);
  for (const auto& s : spans) {
    EXPECT_EQ(s.status, skein::StatusCode::error) << s.name;
    EXPECT_EQ(s.string_attribute("honeyhive_error"), "deep") << s.name;
  }
  EXPECT_EQ(by_name(spans, "inner").parent_span_id, by_name(spans, "outer").span_id);
  EXPECT_FALSE(skein::Context::current().valid());
}

TEST_F(TracedTest, ExceptionWithANoOpTracerIsRethrown) {
  auto f = skein::traced(skein::Tracer(), "noop", []() -> int { throw std::runtime_error("x"); });
  EXPECT_THROW(f(), std::runtime_error);
}

TEST(TraceMacro, NamesTheSpanAfterTheEnclosingFunction) {
  auto& dc = default_collecting();
  dc.mem->clear();
  EXPECT_EQ(skein::default_tracer().options().project, dc.tracer.options().project);
  {
    auto root = skein::span("root");
    ASSERT_TRUE(root.recording());
    EXPECT_EQ(retrieve_documents(3), 6);
    plain_traced_function();
  }
  auto spans = dc.spans();
  ASSERT_EQ(spans.size(), 3u);
  const auto& r = by_name(spans, "retrieve_documents");
  EXPECT_EQ(r.event_type, skein::EventType::tool);
  EXPECT_EQ(r.int_attribute("honeyhive_metrics.k"), 3);
  EXPECT_EQ(r.parent_span_id, by_name(spans, "root").span_id);
  const auto& p = by_name(spans, "plain_traced_function");
  EXPECT_EQ(p.event_type, skein::EventType::generic);
  EXPECT_EQ(p.parent_span_id, by_name(spans, "root").span_id);
}

TEST(TraceMacro, TracedOnTheDefaultTracer) {
  auto& dc = default_collecting();
  dc.mem->clear();
  auto f = skein::traced("on_default", [](int x) { return x + 1; });
  EXPECT_EQ(f(1), 2);
  auto d = dc.only();
  EXPECT_EQ(d.name, "on_default");
  EXPECT_EQ(d.int_attribute("honeyhive_outputs.result"), 2);
}

}  // namespace
