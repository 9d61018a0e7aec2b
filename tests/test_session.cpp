// Sessions: the root span (event type session), session.id and honeyhive.session_id on every
// span inside, operation numbers in start order and unique under concurrency, enrich_session from
// nested spans and other threads, per-request sessions, and a session joined downstream.
#include <gtest/gtest.h>

#include <algorithm>
#include <latch>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakes/collecting.hpp"
#include "skein/async.hpp"
#include "skein/propagation.hpp"
#include "skein/session.hpp"
#include "skein/skein.hpp"
#include "thread_pool.hpp"

namespace {

using skein::SpanData;
using skein::fakes::by_name;
using skein::fakes::Collecting;
using skein::testing::ThreadPool;

std::int64_t op(const SpanData& s) {
  return s.int_attribute("session.operation").value_or(-1);
}

TEST(Session, RootSpanAndAttributesOnEverySpanInside) {
  Collecting c({.session_id = std::string("tracer-wide")});
  std::string id;
  { auto outside = c.tracer.span("outside"); }
  {
    auto session = c.tracer.session({.name = "chat",
                                     .user_id = "u-42",
                                     .metadata = {{"plan", "pro"}},
                                     .inputs = {{"question", "why?"}}});
    id = session.id();
    EXPECT_EQ(id.size(), 36u);
    EXPECT_EQ(skein::current_session_id(), id);
    auto a = c.tracer.span("a");
    auto b = c.tracer.span("b");
  }
  EXPECT_FALSE(skein::current_session_id().has_value());
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 4u);
  const auto& root = by_name(spans, "chat");
  EXPECT_EQ(root.event_type, skein::EventType::session);
  EXPECT_EQ(root.string_attribute("honeyhive_event_type"), "session");
  EXPECT_EQ(root.string_attribute("user.id"), "u-42");
  EXPECT_EQ(root.string_attribute("honeyhive_metadata.plan"), "pro");
  EXPECT_EQ(root.string_attribute("honeyhive_inputs.question"), "why?");
  EXPECT_EQ(root.int_attribute("session.operations"), 2);
  for (const char* name : {"chat", "a", "b"}) {
    const auto& s = by_name(spans, name);
    EXPECT_EQ(s.string_attribute("session.id"), id) << name;
    EXPECT_EQ(s.string_attribute("honeyhive.session_id"), id) << name;
    EXPECT_EQ(skein::fakes::count_key(s, "session.id"), 1u) << name;
    EXPECT_EQ(skein::fakes::count_key(s, "honeyhive.session_id"), 1u) << name;
  }
  EXPECT_EQ(by_name(spans, "a").parent_span_id, root.span_id);
  EXPECT_EQ(op(by_name(spans, "a")), 1);
  EXPECT_EQ(op(by_name(spans, "b")), 2);
  // Outside the session: the tracer-wide session.
  EXPECT_EQ(by_name(spans, "outside").string_attribute("honeyhive.session_id"), "tracer-wide");
  EXPECT_EQ(op(by_name(spans, "outside")), -1);
}

TEST(Session, GivenIdAndNameFromTheTracer) {
  Collecting c({.session_name = std::string("assistant")});
  {
    auto session = c.tracer.session({.id = "s-1"});
    EXPECT_EQ(session.name(), "assistant");
  }
  auto s = c.only();
  EXPECT_EQ(s.name, "assistant");
  EXPECT_EQ(s.string_attribute("honeyhive.session_id"), "s-1");
}

TEST(Session, OperationNumbersAreUniqueUnderConcurrency) {
  Collecting c({.thread_buffer_spans = 1u << 14});
  ThreadPool pool(4);
  constexpr int kTasks = 800;
  std::latch done(kTasks);
  {
    auto session = c.tracer.session({.id = "busy"});
    for (int i = 0; i < kTasks; ++i) {
      pool.execute(skein::wrap([&] {
        { auto s = c.tracer.span("op"); }  // ended before the count: the flush below sees it
        done.count_down();
      }));
    }
    done.wait();
    EXPECT_EQ(session.operations(), kTasks);
  }
  auto spans = c.spans();
  std::vector<std::int64_t> ops;
  for (const auto& s : spans) {
    if (s.name == "op") ops.push_back(op(s));
  }
  ASSERT_EQ(ops.size(), static_cast<std::size_t>(kTasks));
  std::sort(ops.begin(), ops.end());
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(ops[static_cast<std::size_t>(i)], i + 1);
}

TEST(Session, NumbersFollowStartOrder) {
  Collecting c;
  {
    auto session = c.tracer.session();
    auto first = c.tracer.span("first");
    { auto nested = c.tracer.span("nested"); }
    first.end();
    auto third = c.tracer.span("third");
  }
  auto spans = c.spans();
  EXPECT_EQ(op(by_name(spans, "first")), 1);
  EXPECT_EQ(op(by_name(spans, "nested")), 2);
  EXPECT_EQ(op(by_name(spans, "third")), 3);
}

TEST(Session, EnrichSessionLandsOnTheRootFromNestedSpansAndThreads) {
  Collecting c;
  {
    auto session = c.tracer.session({.name = "s"});
    {
      auto deep = c.tracer.span("deep");
      auto deeper = c.tracer.span("deeper");
      EXPECT_TRUE(
          skein::enrich_session({.metadata = {{"model", "m1"}}, .metrics = {{"turns", 3}}}));
    }
    std::thread(skein::wrap([&] {
      auto t = c.tracer.span("thread");
      EXPECT_TRUE(skein::enrich_session({.feedback = {{"rating", 5}},
                                         .outputs = {{"answer", "42"}},
                                         .user_properties = {{"tier", "gold"}}}));
    })).join();
    EXPECT_TRUE(session.enrich({.metrics = {{"cost", 0.25}}}));
  }
  EXPECT_FALSE(skein::enrich_session({.metadata = {{"late", true}}}));
  auto spans = c.spans();
  const auto& root = by_name(spans, "s");
  EXPECT_EQ(root.string_attribute("honeyhive_metadata.model"), "m1");
  EXPECT_EQ(root.int_attribute("honeyhive_metrics.turns"), 3);
  EXPECT_EQ(root.int_attribute("honeyhive_feedback.rating"), 5);
  EXPECT_EQ(root.string_attribute("honeyhive_outputs.answer"), "42");
  EXPECT_EQ(root.string_attribute("honeyhive_user_properties.tier"), "gold");
  EXPECT_EQ(root.double_attribute("honeyhive_metrics.cost"), 0.25);
  EXPECT_FALSE(by_name(spans, "deeper").string_attribute("honeyhive_metadata.model").has_value());
}

TEST(Session, PerRequestSessionsOnConcurrentThreads) {
  Collecting c({.thread_buffer_spans = 1u << 14});
  std::vector<std::thread> threads;
  for (int r = 0; r < 8; ++r) {
    threads.emplace_back([&, r] {
      auto session = c.tracer.session({.id = "req-" + std::to_string(r), .new_root = true});
      for (int k = 0; k < 50; ++k) auto s = c.tracer.span("step");
    });
  }
  for (auto& t : threads) t.join();
  std::map<std::string, std::set<std::int64_t>> per_session;
  for (const auto& s : c.spans()) {
    if (s.name == "step") per_session[*s.string_attribute("session.id")].insert(op(s));
  }
  ASSERT_EQ(per_session.size(), 8u);
  for (const auto& [id, ops] : per_session) {
    EXPECT_EQ(ops.size(), 50u) << id;
    EXPECT_EQ(*ops.begin(), 1);
    EXPECT_EQ(*ops.rbegin(), 50);
  }
}

skein::Task<void> co_steps(ThreadPool& pool, Collecting& c) {
  auto a = c.tracer.span("co_a");
  co_await skein::resume_on(pool);
  auto b = c.tracer.span("co_b");
  skein::enrich_session({.metadata = {{"from", "coroutine"}}});
  co_return;
}

TEST(Session, CoroutinesStayInTheSession) {
  Collecting c;
  ThreadPool pool(2);
  std::string id;
  {
    auto session = c.tracer.session({.name = "co"});
    id = session.id();
    skein::sync_wait(co_steps(pool, c));
  }
  auto spans = c.spans();
  EXPECT_EQ(by_name(spans, "co_b").string_attribute("honeyhive.session_id"), id);
  EXPECT_EQ(op(by_name(spans, "co_b")), 2);
  EXPECT_EQ(by_name(spans, "co").string_attribute("honeyhive_metadata.from"), "coroutine");
}

TEST(Session, JoinedDownstreamThroughBaggage) {
  Collecting upstream;
  Collecting downstream;
  std::map<std::string, std::string> headers;
  std::string id;
  {
    auto session = upstream.tracer.session({.name = "chat"});
    id = session.id();
    auto call = upstream.tracer.span("call");
    skein::inject(headers);
  }
  EXPECT_NE(headers["baggage"].find("session.id=" + id), std::string::npos);
  {
    skein::Context parent = skein::extract(headers);
    auto server = downstream.tracer.span("handle", {.parent = &parent});
    auto session = skein::join_session();
    ASSERT_TRUE(session.active());
    EXPECT_EQ(session.id(), id);
    auto work = downstream.tracer.span("work");
    EXPECT_TRUE(skein::enrich_session({.metadata = {{"here", 1}}}));  // the current span
  }
  auto spans = downstream.spans();
  const auto& work = by_name(spans, "work");
  EXPECT_EQ(work.string_attribute("honeyhive.session_id"), id);
  EXPECT_EQ(op(work), 1);
  EXPECT_EQ(work.int_attribute("honeyhive_metadata.here"), 1);
  EXPECT_EQ(work.trace_id, upstream.spans().front().trace_id);
}

TEST(Session, NoSessionToJoin) {
  auto s = skein::join_session();
  EXPECT_FALSE(s.active());
  EXPECT_FALSE(skein::enrich_session({.metadata = {{"x", 1}}}));
}

TEST(Session, RequestIdAndSessionTogether) {
  Collecting c;
  {
    auto rid = skein::with_request_id("r-1");
    auto session = c.tracer.session({.name = "s"});
    auto s = c.tracer.span("x");
  }
  for (const auto& s : c.spans()) EXPECT_EQ(s.string_attribute("request.id"), "r-1") << s.name;
}

}  // namespace
