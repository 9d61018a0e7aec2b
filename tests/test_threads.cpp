// Several producer threads at once, each with nested spans: every span exported once with the
// right parent, contexts carried across threads, short-lived threads, concurrent flushes and
// statistics. Meant to run clean under ThreadSanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core.hpp"
#include "fakes/collecting.hpp"
#include "skein/skein.hpp"

namespace {

using namespace std::chrono_literals;
using skein::fakes::Collecting;

struct TraceKey {
  std::uint64_t hi, lo;
  bool operator<(const TraceKey& o) const { return hi != o.hi ? hi < o.hi : lo < o.lo; }
};
TraceKey key(const skein::TraceId& t) {
  return {t.hi, t.lo};
}

// Counts spans without copying them: cheap enough to keep up with free-running producers.
class CountingExporter final : public skein::Exporter {
 public:
  skein::ExportResult export_spans(std::span<const skein::SpanView> batch) noexcept override {
    spans_.fetch_add(batch.size());
    return skein::ExportResult::success;
  }
  std::uint64_t spans() const { return spans_.load(); }

 private:
  std::atomic<std::uint64_t> spans_{0};
};

TEST(Threads, ConcurrentProducersWithNestedSpans) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 300;
  constexpr int kSpansPerIteration = 4;
  Collecting c;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kIterations; ++i) {
        auto root = c.tracer.span("root", {.attributes = {{"thread", t}, {"iteration", i}}});
        {
          auto a = c.tracer.span("child-a");
          a.set("thread", t).set("iteration", i);
          {
            auto g = c.tracer.span("grandchild");
            g.set("thread", t).set("iteration", i);
            skein::enrich_span({.metrics = {{"depth", 2}}});
          }
        }
        {
          auto b = c.tracer.span("child-b");
          b.set("thread", t).set("iteration", i);
        }
        EXPECT_EQ(skein::Context::current().span_id(), root.context().span_id());
      }
      EXPECT_FALSE(skein::Context::current().valid());
    });
  }
  go.store(true);
  // Read statistics and the exporter while the producers run.
  for (int i = 0; i < 20; ++i) {
    (void)c.tracer.stats();
    (void)c.mem->size();
    std::this_thread::sleep_for(1ms);
  }
  for (auto& th : threads) th.join();

  auto spans = c.spans();
  const std::size_t total = kThreads * kIterations * kSpansPerIteration;
  ASSERT_EQ(spans.size(), total);
  auto st = c.tracer.stats();
  EXPECT_EQ(st.spans_started, total);
  EXPECT_EQ(st.spans_exported, total);
  EXPECT_EQ(st.spans_dropped, 0u);

  std::map<TraceKey, std::vector<const skein::SpanData*>> traces;
  std::set<std::uint64_t> span_ids;
  for (const auto& s : spans) {
    traces[key(s.trace_id)].push_back(&s);
    EXPECT_TRUE(span_ids.insert(s.span_id.value).second) << "span exported twice or id reused";
  }
  ASSERT_EQ(traces.size(), static_cast<std::size_t>(kThreads * kIterations));
  for (const auto& [trace, members] : traces) {
    ASSERT_EQ(members.size(), static_cast<std::size_t>(kSpansPerIteration));
    std::map<std::string, const skein::SpanData*> by_name;
    for (const auto* s : members) by_name[s->name] = s;
    ASSERT_EQ(by_name.size(), static_cast<std::size_t>(kSpansPerIteration));
    const auto* root = by_name["root"];
    EXPECT_FALSE(root->parent_span_id.valid());
    EXPECT_EQ(by_name["child-a"]->parent_span_id, root->span_id);
    EXPECT_EQ(by_name["child-b"]->parent_span_id, root->span_id);
    EXPECT_EQ(by_name["grandchild"]->parent_span_id, by_name["child-a"]->span_id);
    EXPECT_EQ(by_name["grandchild"]->int_attribute("honeyhive_metrics.depth"), 2);
    // Every span of the trace came from the same thread and iteration.
    for (const auto* s : members) {
      EXPECT_EQ(s->int_attribute("thread"), root->int_attribute("thread"));
      EXPECT_EQ(s->int_attribute("iteration"), root->int_attribute("iteration"));
    }
  }
}

TEST(Threads, ShortLivedThreadsHandTheirBuffersOn) {
  constexpr int kRounds = 10;
  constexpr int kThreadsPerRound = 3;
  constexpr int kSpans = 50;
  Collecting c({.thread_buffer_spans = 64});
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreadsPerRound; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kSpans; ++i) {
          auto outer = c.tracer.span("outer");
          auto inner = c.tracer.span("inner");
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  const std::uint64_t total = kRounds * kThreadsPerRound * kSpans * 2;
  ASSERT_TRUE(c.tracer.force_flush(10s));
  auto st = c.tracer.stats();
  EXPECT_EQ(st.spans_started, total);
  // With 64 records per thread and a live pipeline some spans may be dropped at start, but each
  // span is accounted for exactly once.
  EXPECT_EQ(st.spans_exported + st.spans_dropped, total);
  EXPECT_EQ(c.mem->size(), st.spans_exported);
}

TEST(Threads, ContextCarriedToOtherThreads) {
  Collecting c;
  skein::Context parent;
  skein::SpanId root_id;
  {
    auto root = c.tracer.span("root");
    root_id = root.context().span_id();
    parent = skein::Context::current();
    std::vector<std::thread> workers;
    for (int w = 0; w < 3; ++w) {
      workers.emplace_back([&, w] {
        EXPECT_FALSE(skein::Context::current().valid());  // nothing leaks in by itself
        skein::Scope scope(parent);
        auto job = c.tracer.span("job");
        job.set("worker", w);
        { auto step = c.tracer.span("step"); }
      });
    }
    for (auto& th : workers) th.join();
  }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 7u);
  std::map<std::uint64_t, const skein::SpanData*> by_id;
  for (const auto& s : spans) by_id[s.span_id.value] = &s;
  int jobs = 0;
  for (const auto& s : spans) {
    EXPECT_EQ(s.trace_id, parent.trace_id());
    if (s.name == "job") {
      ++jobs;
      EXPECT_EQ(s.parent_span_id, root_id);
    } else if (s.name == "step") {
      ASSERT_TRUE(by_id.count(s.parent_span_id.value));
      EXPECT_EQ(by_id[s.parent_span_id.value]->name, "job");
    }
  }
  EXPECT_EQ(jobs, 3);
}

TEST(Threads, ConcurrentFlushesWhileProducing) {
  constexpr int kProducers = 2;
  constexpr int kSpansEach = 3000;
  auto counting = std::make_shared<CountingExporter>();
  auto tracer = skein::Tracer::init(
      {.exporter = skein::ExporterKind::none, .exporters = {counting}, .make_default = false});
  std::atomic<int> running{kProducers};
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < kSpansEach; ++i) {
        auto s = tracer.span("p");
        s.set("k", i);
      }
      running.fetch_sub(1);
    });
  }
  // Flushes complete while the producers keep going (a flush waits for what ended before it,
  // not for the producers to pause).
  std::vector<std::thread> flushers;
  std::atomic<int> flushes{0}, flush_failures{0};
  for (int f = 0; f < 2; ++f) {
    flushers.emplace_back([&] {
      do {
        (tracer.force_flush(10s) ? flushes : flush_failures).fetch_add(1);
      } while (running.load() > 0);
    });
  }
  for (auto& th : producers) th.join();
  for (auto& th : flushers) th.join();
  EXPECT_GE(flushes.load(), 2);
  EXPECT_EQ(flush_failures.load(), 0);
  ASSERT_TRUE(tracer.force_flush(10s));
  const std::uint64_t total = kProducers * kSpansEach;
  auto st = tracer.stats();
  EXPECT_EQ(st.spans_started, total);
  EXPECT_EQ(st.spans_exported + st.spans_dropped, total);
  EXPECT_EQ(counting->spans(), st.spans_exported);
}

TEST(Threads, SeveralTracersFromSeveralThreads) {
  Collecting a({.project = "a"});
  Collecting b({.project = "b"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto& mine = (t % 2 == 0) ? a : b;
      for (int i = 0; i < 100; ++i) {
        auto s = mine.tracer.span("s");
        auto inner = mine.tracer.span("inner");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(a.spans().size(), 400u);
  EXPECT_EQ(b.spans().size(), 400u);
  for (const auto& s : a.mem->spans()) EXPECT_EQ(s.string_attribute("honeyhive.project"), "a");
}

TEST(Threads, ShutdownWhileThreadsProduce) {
  auto counting = std::make_shared<CountingExporter>();
  auto tracer = skein::Tracer::init(
      {.exporter = skein::ExporterKind::none, .exporters = {counting}, .make_default = false});
  std::atomic<bool> stop{false};
  std::atomic<int> started{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < 3; ++t) {
    producers.emplace_back([&] {
      started.fetch_add(1);
      while (!stop.load()) {
        auto s = tracer.span("p");
        auto inner = tracer.span("inner");
      }
    });
  }
  while (started.load() < 3) std::this_thread::yield();
  std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(tracer.shutdown(10s));
  EXPECT_FALSE(tracer.enabled());
  const auto exported = counting->spans();
  std::this_thread::sleep_for(5ms);
  stop.store(true);
  for (auto& th : producers) th.join();
  // Nothing is exported after shutdown returned, and nothing is counted twice. (A span that ends
  // on another thread at the very moment of shutdown may go uncounted: hence <=, not ==.)
  EXPECT_EQ(counting->spans(), exported);
  auto st = tracer.stats();
  EXPECT_EQ(st.spans_exported, exported);
  EXPECT_LE(st.spans_exported + st.export_failures + st.spans_dropped,
            st.spans_sampled + st.dropped_buffer_full);
}

}  // namespace

namespace {

// A thread's record pool (ThreadBuffer::refill): a thread ending spans slowly keeps the records it
// needs; one ending more than a million a second grows its pool to kHotPool before reusing any
// (so that a record's lines have left the pipeline's core when they are written again).
skein::Tracer pool_tracer(std::shared_ptr<CountingExporter> counting) {
  skein::Options o;
  o.project = "pool";
  o.exporter = skein::ExporterKind::none;
  o.exporters = {std::move(counting)};
  return skein::Tracer::init(o);
}

TEST(Pool, ASlowThreadKeepsTheRecordsItNeeds) {
  auto counting = std::make_shared<CountingExporter>();
  auto t = pool_tracer(counting);
  for (int i = 0; i < 15000; ++i) {
    { auto s = t.span("slow"); }
    std::this_thread::sleep_for(20us);  // at most 50,000 spans a second
  }
  ASSERT_TRUE(t.force_flush());
  EXPECT_EQ(counting->spans(), 15000u);
  const skein::detail::ThreadBuffer* b = skein::detail::tl_cache.buffer;
  ASSERT_NE(b, nullptr);
  // At most 50,000 spans a second, taken by the pipeline every 20 ms (flush interval) or at a
  // ring depth of 1,024: about a thousand records in flight at most, made in chunks of 256.
  EXPECT_LE(b->created(), 2048u);
}

TEST(Pool, AFastThreadGrowsItsPoolBeforeReusingRecords) {
  auto counting = std::make_shared<CountingExporter>();
  auto t = pool_tracer(counting);
  constexpr int kSpans = 300000;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kSpans; ++i) {
    auto s = t.span("fast");
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(t.force_flush());
  const skein::Stats st = t.stats();
  EXPECT_EQ(st.spans_exported + st.spans_dropped, static_cast<std::uint64_t>(kSpans));
  if (kSpans / s < 2e6) GTEST_SKIP() << "only " << kSpans / s << " spans/s here (a sanitizer?)";
  const skein::detail::ThreadBuffer* b = skein::detail::tl_cache.buffer;
  ASSERT_NE(b, nullptr);
  EXPECT_GE(b->created(), skein::detail::ThreadBuffer::kHotPool);
}

}  // namespace
