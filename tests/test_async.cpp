// The current context across threads, pools, futures and coroutines: wrap(), skein::async,
// Task<T> with executor hops, when_all, spawn. The stress tests run thousands of tasks hopping
// between pool threads and check every exported span's parent and trace; run them under TSan.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fakes/collecting.hpp"
#include "skein/async.hpp"
#include "skein/propagation.hpp"
#include "skein/skein.hpp"
#include "thread_pool.hpp"

namespace {

using skein::Context;
using skein::SpanData;
using skein::Task;
using skein::Tracer;
using skein::testing::ThreadPool;

skein::Options many_spans() {
  return {.thread_buffer_spans = 1u << 16};
}

std::unordered_map<std::uint64_t, const SpanData*> by_id(const std::vector<SpanData>& spans) {
  std::unordered_map<std::uint64_t, const SpanData*> m;
  for (const auto& s : spans) m[s.span_id.value] = &s;
  return m;
}

std::int64_t index_of(const SpanData& s) {
  return s.int_attribute("i").value_or(-1);
}

// ---- wrap / async ------------------------------------------------------------------------------

TEST(Wrap, RunsInTheContextCapturedAtWrapTime) {
  skein::fakes::Collecting c;
  std::function<void()> job;
  skein::SpanId parent;
  {
    auto root = c.tracer.span("root");
    parent = root.context().span_id();
    job = skein::wrap([&] { auto child = c.tracer.span("child"); });
  }
  std::thread(job).join();
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(skein::fakes::by_name(spans, "child").parent_span_id, parent);
  EXPECT_EQ(skein::fakes::by_name(spans, "child").trace_id,
            skein::fakes::by_name(spans, "root").trace_id);
}

TEST(Wrap, ForwardsArgumentsAndResultsAndRestoresTheThreadContext) {
  skein::fakes::Collecting c;
  auto root = c.tracer.span("root");
  auto add = skein::wrap([](int a, int b) { return a + b; });
  int result = 0;
  std::thread([&] {
    result = add(2, 3);
    EXPECT_FALSE(Context::current().valid());  // the scope ended with the call
  }).join();
  EXPECT_EQ(result, 5);
  EXPECT_EQ(add.context().span_id(), root.context().span_id());
}

TEST(Wrap, ExplicitContextFromExtract) {
  skein::fakes::Collecting c;
  std::map<std::string, std::string> h{
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  auto job = skein::wrap(skein::extract(h), [&] { auto s = c.tracer.span("job"); });
  std::thread(job).join();
  auto s = c.only();
  EXPECT_EQ(s.trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s.parent_span_id.to_hex(), "00f067aa0ba902b7");
}

TEST(Wrap, ThousandsOfPoolJobsAreChildrenOfTheirSubmitter) {
  skein::fakes::Collecting c(many_spans());
  constexpr int kJobs = 2000;
  std::map<std::int64_t, skein::SpanId> expected_parent;
  skein::TraceId trace;
  {
    ThreadPool pool(4);
    std::latch done(kJobs);
    auto root = c.tracer.span("root");
    trace = root.context().trace_id();
    for (int i = 0; i < kJobs; ++i) {
      auto submitter = c.tracer.span("submit");
      submitter.set("i", i);
      expected_parent[i] = submitter.context().span_id();
      pool.execute(skein::wrap([&, i] {
        auto job = c.tracer.span("job");
        job.set("i", i);
        done.count_down();
      }));
    }
    done.wait();
    EXPECT_EQ(pool.leaked_contexts(), 0u);
  }
  auto spans = c.spans();
  int jobs = 0;
  for (const auto& s : spans) {
    EXPECT_EQ(s.trace_id, trace);
    if (s.name != "job") continue;
    ++jobs;
    EXPECT_EQ(s.parent_span_id, expected_parent[index_of(s)]) << index_of(s);
  }
  EXPECT_EQ(jobs, kJobs);
}

TEST(Async, CarriesTheContextIntoStdAsync) {
  skein::fakes::Collecting c;
  skein::SpanId parent;
  int v = 0;
  {
    auto root = c.tracer.span("root");
    parent = root.context().span_id();
    auto f = skein::async(
        std::launch::async,
        [&](int x) {
          auto s = c.tracer.span("async");
          return x * 2;
        },
        21);
    auto d = skein::async(std::launch::deferred, [&] { auto s = c.tracer.span("deferred"); });
    v = f.get();
    d.get();
  }
  EXPECT_EQ(v, 42);
  auto spans = c.spans();
  EXPECT_EQ(skein::fakes::by_name(spans, "async").parent_span_id, parent);
  EXPECT_EQ(skein::fakes::by_name(spans, "deferred").parent_span_id, parent);
}

// ---- Task
// ----------------------------------------------------------------------------------------

Task<int> answer() {
  co_return 42;
}

Task<int> add_one(Task<int> t) {
  co_return co_await std::move(t) + 1;
}

TEST(Task, IsLazyAndReturnsValues) {
  bool started = false;
  // (A coroutine lambda must outlive its task: captures live in the lambda object.)
  auto body = [&]() -> Task<int> {
    started = true;
    co_return 7;
  };
  auto t = body();
  EXPECT_FALSE(started);
  EXPECT_EQ(skein::sync_wait(std::move(t)), 7);
  EXPECT_TRUE(started);
  EXPECT_EQ(skein::sync_wait(add_one(answer())), 43);
}

TEST(Task, PropagatesExceptions) {
  auto boom = []() -> Task<int> {
    throw std::runtime_error("boom");
    co_return 0;
  };
  EXPECT_THROW(skein::sync_wait(boom()), std::runtime_error);
  auto outer = [&]() -> Task<void> {
    try {
      co_await boom();
    } catch (const std::runtime_error&) {
      co_return;
    }
    ADD_FAILURE() << "no exception";
  };
  skein::sync_wait(outer());
}

TEST(Task, SpansInsideAreChildrenOfTheAwaitingSpan) {
  skein::fakes::Collecting c;
  auto child = [&]() -> Task<void> {
    auto s = c.tracer.span("child");
    co_return;
  };
  auto parent = [&]() -> Task<void> {
    auto s = c.tracer.span("parent");
    co_await child();
    EXPECT_TRUE(skein::enrich_span({{"after", "child"}}));
  };
  {
    auto root = c.tracer.span("root");
    skein::sync_wait(parent());
    EXPECT_EQ(Context::current().span_id(), root.context().span_id());
  }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 3u);
  const auto& r = skein::fakes::by_name(spans, "root");
  const auto& p = skein::fakes::by_name(spans, "parent");
  const auto& ch = skein::fakes::by_name(spans, "child");
  EXPECT_EQ(p.parent_span_id, r.span_id);
  EXPECT_EQ(ch.parent_span_id, p.span_id);
  EXPECT_TRUE(p.string_attribute("honeyhive_metadata.after"));
}

TEST(Task, ContextSurvivesAHopToAnotherThread) {
  skein::fakes::Collecting c;
  ThreadPool pool(2);
  std::thread::id before, after;
  auto work = [&]() -> Task<void> {
    auto s = c.tracer.span("work");
    before = std::this_thread::get_id();
    co_await skein::resume_on(pool);
    after = std::this_thread::get_id();
    EXPECT_EQ(Context::current().span_id(), s.context().span_id());
    EXPECT_TRUE(skein::enrich_span({{"hopped", true}}));  // the record came along
    auto inner = c.tracer.span("inner");
  };
  {
    auto root = c.tracer.span("root");
    skein::sync_wait(work());
    EXPECT_EQ(Context::current().span_id(), root.context().span_id());
  }
  EXPECT_NE(before, after);
  auto spans = c.spans();
  const auto& w = skein::fakes::by_name(spans, "work");
  EXPECT_EQ(skein::fakes::by_name(spans, "inner").parent_span_id, w.span_id);
  EXPECT_EQ(w.parent_span_id, skein::fakes::by_name(spans, "root").span_id);
  EXPECT_EQ(w.bool_attribute("honeyhive_metadata.hopped"), true);
  EXPECT_EQ(pool.leaked_contexts(), 0u);
}

TEST(Task, WorksWithCallableAndPostExecutors) {
  skein::fakes::Collecting c;
  ThreadPool pool(1);
  auto callable = [&](std::function<void()> f) { pool.execute(std::move(f)); };
  struct Poster {
    ThreadPool& p;
    void post(std::function<void()> f) { p.execute(std::move(f)); }
  } poster{pool};
  auto work = [&]() -> Task<int> {
    auto s = c.tracer.span("work");
    co_await skein::resume_on(callable);
    co_await skein::resume_on(poster);
    EXPECT_EQ(Context::current().span_id(), s.context().span_id());
    co_return 1;
  };
  EXPECT_EQ(skein::sync_wait(work()), 1);
}

TEST(Task, SpawnLeavesTheCallersContextAlone) {
  skein::fakes::Collecting c;
  ThreadPool pool(2);
  std::latch done(1);
  skein::SpanId root_id;
  {
    auto root = c.tracer.span("root");
    root_id = root.context().span_id();
    auto body = [&]() -> Task<void> {
      auto s = c.tracer.span("detached");
      co_await skein::resume_on(pool);
      auto inner = c.tracer.span("inner");
      inner.end();
      s.end();
      done.count_down();
    };
    skein::spawn(body());
    // Back here after the task's first suspension: still inside root, and root's record.
    EXPECT_EQ(Context::current().span_id(), root_id);
    EXPECT_TRUE(skein::enrich_span({{"caller", true}}));
    done.wait();
  }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(skein::fakes::by_name(spans, "detached").parent_span_id, root_id);
  EXPECT_EQ(skein::fakes::by_name(spans, "inner").parent_span_id,
            skein::fakes::by_name(spans, "detached").span_id);
  EXPECT_TRUE(skein::fakes::by_name(spans, "root").bool_attribute("honeyhive_metadata.caller"));
}

TEST(Task, WhenAllCollectsResultsInOrder) {
  ThreadPool pool(3);
  auto square = [&](int x) -> Task<int> {
    co_await skein::resume_on(pool);
    co_return x* x;
  };
  std::vector<Task<int>> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(square(i));
  auto results = skein::sync_wait(skein::when_all(std::move(tasks)));
  ASSERT_EQ(results.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(results[i], i * i);
  EXPECT_TRUE(skein::sync_wait(skein::when_all(std::vector<Task<int>>{})).empty());
}

TEST(Task, BaggageTravelsWithTheTask) {
  skein::fakes::Collecting c;
  ThreadPool pool(2);
  std::string seen;
  auto work = [&]() -> Task<void> {
    co_await skein::resume_on(pool);
    seen = std::string(skein::Baggage::current().get("request.id").value_or(""));
  };
  {
    auto root = c.tracer.span("root");
    skein::BaggageScope bag(skein::Baggage{{"request.id", "r-1"}});
    skein::sync_wait(work());
  }
  EXPECT_EQ(seen, "r-1");
}

// Thousands of tasks, each hopping between pool threads several times, with nested tasks.
// Every span must have the parent it was started under, in the one trace.
Task<void> leaf(Tracer& t, ThreadPool& pool, int i, std::atomic<int>& bad) {
  const skein::SpanId awaiting = Context::current().span_id();
  co_await skein::resume_on(pool);
  if (Context::current().span_id() != awaiting) bad.fetch_add(1);
  auto s = t.span("leaf");
  s.set("i", i);
  co_await skein::resume_on(pool);
  if (Context::current().span_id() != s.context().span_id()) bad.fetch_add(1);
}

Task<int> task(Tracer& t, ThreadPool& pool, int i, std::atomic<int>& bad) {
  auto span = t.span("task");
  span.set("i", i);
  const skein::SpanId mine = span.context().span_id();
  co_await skein::resume_on(pool);
  if (Context::current().span_id() != mine) bad.fetch_add(1);
  if (!skein::enrich_span({{"hop", 1}})) bad.fetch_add(1);
  {
    auto step = t.span("step");
    step.set("i", i);
    co_await leaf(t, pool, i, bad);
    if (Context::current().span_id() != step.context().span_id()) bad.fetch_add(1);
  }
  co_await skein::resume_on(pool);
  if (Context::current().span_id() != mine) bad.fetch_add(1);
  co_return i;
}

TEST(TaskStress, ThousandsOfTasksHoppingThreadsKeepTheirParents) {
  skein::fakes::Collecting c(many_spans());
  constexpr int kTasks = 2000;
  std::atomic<int> bad{0};
  skein::TraceId trace;
  skein::SpanId root_id;
  std::size_t leaked = 0;
  {
    ThreadPool pool(4);
    auto root = c.tracer.span("workflow");
    trace = root.context().trace_id();
    root_id = root.context().span_id();
    std::vector<Task<int>> tasks;
    for (int i = 0; i < kTasks; ++i) tasks.push_back(task(c.tracer, pool, i, bad));
    auto results = skein::sync_wait(skein::when_all(std::move(tasks)));
    ASSERT_EQ(results.size(), static_cast<std::size_t>(kTasks));
    for (int i = 0; i < kTasks; ++i) EXPECT_EQ(results[i], i);
    EXPECT_EQ(Context::current().span_id(), root_id);
    leaked = pool.leaked_contexts();
  }
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(leaked, 0u);
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 1u + 3u * kTasks);
  auto ids = by_id(spans);
  std::vector<int> seen(kTasks, 0);
  for (const auto& s : spans) {
    EXPECT_EQ(s.trace_id, trace);
    if (s.name == "workflow") continue;
    auto parent = ids.find(s.parent_span_id.value);
    ASSERT_NE(parent, ids.end()) << s.name;
    const SpanData& p = *parent->second;
    const std::int64_t i = index_of(s);
    if (s.name == "task") {
      EXPECT_EQ(s.parent_span_id, root_id);
      EXPECT_EQ(s.int_attribute("honeyhive_metadata.hop"), 1);
      ++seen[i];
    } else if (s.name == "step") {
      EXPECT_EQ(p.name, "task");
      EXPECT_EQ(index_of(p), i);
    } else if (s.name == "leaf") {
      EXPECT_EQ(p.name, "step");
      EXPECT_EQ(index_of(p), i);
    }
  }
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(seen[i], 1) << i;
}

TEST(TaskStress, SpawnedTasksAcrossThreads) {
  skein::fakes::Collecting c(many_spans());
  constexpr int kTasks = 1000;
  std::atomic<int> bad{0};
  skein::SpanId root_id;
  {
    ThreadPool pool(3);
    std::latch done(kTasks);
    auto root = c.tracer.span("root");
    root_id = root.context().span_id();
    for (int i = 0; i < kTasks; ++i) {
      skein::spawn([](Tracer& t, ThreadPool& p, int i, std::atomic<int>& bad,
                      std::latch& done) -> Task<void> {
        co_await task(t, p, i, bad);
        done.count_down();
      }(c.tracer, pool, i, bad, done));
      if (Context::current().span_id() != root_id) bad.fetch_add(1);
    }
    done.wait();
  }
  EXPECT_EQ(bad.load(), 0);
  auto spans = c.spans();
  EXPECT_EQ(spans.size(), 1u + 3u * kTasks);
  for (const auto& s : spans) {
    if (s.name == "task") {
      EXPECT_EQ(s.parent_span_id, root_id);
    }
  }
}

TEST(TaskStress, UnsampledTracesPropagateAcrossHops) {
  skein::fakes::Collecting c({.sampler = skein::always_off()});
  ThreadPool pool(2);
  std::map<std::string, std::string> out;
  auto work = [&]() -> Task<void> {
    co_await skein::resume_on(pool);
    auto s = c.tracer.span("inside");
    skein::inject(out);
  };
  skein::TraceId trace;
  {
    auto root = c.tracer.span("root");
    EXPECT_FALSE(root.recording());
    trace = root.context().trace_id();
    skein::sync_wait(work());
  }
  auto tp = skein::parse_traceparent(out["traceparent"]);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->trace_id, trace);
  EXPECT_EQ(tp->flags & skein::trace_flags::sampled, 0);
  EXPECT_TRUE(c.spans().empty());
}

}  // namespace
