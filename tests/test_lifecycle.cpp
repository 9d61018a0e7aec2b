// Lifecycle: force_flush and shutdown with deadlines against a blocking exporter, idempotent
// shutdown, spans after shutdown, the flush at exit, and exact accounting of every span when a
// deliberately tiny buffer drops.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fakes/blocking_exporter.hpp"
#include "fakes/collecting.hpp"
#include "fakes/failing_exporter.hpp"
#include "skein/skein.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using skein::fakes::BlockingExporter;
using skein::fakes::Collecting;
using skein::fakes::FailingExporter;

// A generous bound for "returned, did not hang": far above any deadline used here, far below
// the test timeout, and loose enough for sanitizer builds on a busy machine.
constexpr auto kNoHang = 5s;

skein::Tracer tracer_with(std::shared_ptr<skein::Exporter> exporter, skein::Options o = {}) {
  o.exporter = skein::ExporterKind::none;
  o.exporters.push_back(std::move(exporter));
  o.make_default = false;
  return skein::Tracer::init(o);
}

// Every span started as recording ends up exactly once as exported, failed or dropped.
void expect_accounted(const skein::Stats& s, std::uint64_t started) {
  EXPECT_EQ(s.spans_started, started);
  EXPECT_EQ(s.spans_sampled + s.spans_unsampled + s.dropped_buffer_full, s.spans_started);
  EXPECT_EQ(s.spans_dropped, s.dropped_buffer_full + s.dropped_queue_full + s.dropped_shutdown);
  EXPECT_EQ(s.spans_exported + s.export_failures + s.spans_dropped,
            s.spans_sampled + s.dropped_buffer_full);
}

// Releases a blocking exporter and waits for the (possibly abandoned) pipeline thread to finish
// with it, so that nothing outlives the test.
void release_and_drain(BlockingExporter& e, skein::Tracer& t) {
  e.release();
  t.shutdown(kNoHang);
  EXPECT_TRUE(e.wait_shut_down(kNoHang));
  EXPECT_TRUE(e.wait_idle(kNoHang));
}

TEST(Lifecycle, FlushExportsEverythingEndedSoFar) {
  Collecting c;
  for (int i = 0; i < 100; ++i) {
    auto s = c.tracer.span("s");
  }
  EXPECT_TRUE(c.tracer.force_flush());
  EXPECT_EQ(c.mem->size(), 100u);
  auto st = c.tracer.stats();
  EXPECT_EQ(st.spans_exported, 100u);
  expect_accounted(st, 100);
}

TEST(Lifecycle, SpansAreExportedWithoutAnExplicitFlush) {
  Collecting c({.flush_interval = 5ms});
  { auto s = c.tracer.span("s"); }
  EXPECT_TRUE(c.mem->wait_for(1, kNoHang));
}

TEST(Lifecycle, ForceFlushGivesUpAtItsDeadlineWhenTheExporterIsStuck) {
  auto blocking = std::make_shared<BlockingExporter>();
  auto tracer = tracer_with(blocking);
  { auto s = tracer.span("stuck"); }
  auto t0 = Clock::now();
  EXPECT_FALSE(tracer.force_flush(100ms));
  auto elapsed = Clock::now() - t0;
  EXPECT_GE(elapsed, 90ms);
  EXPECT_LT(elapsed, kNoHang);
  EXPECT_TRUE(blocking->wait_blocked(kNoHang));

  blocking->release();
  EXPECT_TRUE(tracer.force_flush(kNoHang));
  EXPECT_EQ(blocking->spans(), 1u);
  EXPECT_EQ(tracer.stats().spans_exported, 1u);
  release_and_drain(*blocking, tracer);
}

TEST(Lifecycle, ShutdownNeverHangsOnAStuckExporter) {
  auto blocking = std::make_shared<BlockingExporter>();
  auto tracer = tracer_with(blocking);
  for (int i = 0; i < 10; ++i) {
    auto s = tracer.span("s");
  }
  ASSERT_TRUE(blocking->wait_blocked(kNoHang));
  auto t0 = Clock::now();
  EXPECT_FALSE(tracer.shutdown(200ms));
  auto elapsed = Clock::now() - t0;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, kNoHang);
  EXPECT_FALSE(tracer.enabled());

  // The abandoned spans are counted as dropped at shutdown, each exactly once.
  auto st = tracer.stats();
  EXPECT_EQ(st.spans_exported, 0u);
  EXPECT_EQ(st.dropped_shutdown, 10u);
  expect_accounted(st, 10);

  // Once the exporter comes back nothing is counted twice.
  release_and_drain(*blocking, tracer);
  auto after = tracer.stats();
  EXPECT_EQ(after.spans_exported, 0u);
  EXPECT_EQ(after.dropped_shutdown, 10u);
  expect_accounted(after, 10);
}

// Producers that outpace the exporter (its batches always full) must not starve a flush: it
// waits for what ended before it, not for a moment when nothing is left to drain.
TEST(Lifecycle, FlushCompletesWhileProducersOutpaceTheExporter) {
  class SlowExporter final : public skein::Exporter {
   public:
    skein::ExportResult export_spans(std::span<const skein::SpanView>) noexcept override {
      std::this_thread::sleep_for(1ms);
      return skein::ExportResult::success;
    }
  };
  auto tracer = tracer_with(std::make_shared<SlowExporter>(), {.thread_buffer_spans = 2048});
  std::atomic<bool> stop{false};
  std::vector<std::thread> producers;
  for (int t = 0; t < 2; ++t) {
    producers.emplace_back([&] {
      while (!stop.load()) {
        auto s = tracer.span("p");
      }
    });
  }
  std::this_thread::sleep_for(20ms);
  auto t0 = Clock::now();
  bool flushed = tracer.force_flush(kNoHang);
  auto elapsed = Clock::now() - t0;
  stop.store(true);
  for (auto& th : producers) th.join();
  EXPECT_TRUE(flushed);
  EXPECT_LT(elapsed, kNoHang);
  EXPECT_TRUE(tracer.shutdown(kNoHang));
}

TEST(Lifecycle, ShutdownIsIdempotent) {
  Collecting c;
  { auto s = c.tracer.span("s"); }
  EXPECT_TRUE(c.tracer.shutdown(kNoHang));
  EXPECT_TRUE(c.tracer.shutdown(kNoHang));
  EXPECT_TRUE(c.tracer.shutdown());
  skein::Tracer copy = c.tracer;  // copies share the pipeline
  EXPECT_TRUE(copy.shutdown());
  EXPECT_FALSE(copy.enabled());
  EXPECT_EQ(c.mem->size(), 1u);
  EXPECT_TRUE(c.tracer.force_flush(100ms));  // nothing left to do
}

TEST(Lifecycle, FailedShutdownStaysFailed) {
  auto blocking = std::make_shared<BlockingExporter>();
  auto tracer = tracer_with(blocking);
  { auto s = tracer.span("s"); }
  ASSERT_TRUE(blocking->wait_blocked(kNoHang));
  EXPECT_FALSE(tracer.shutdown(50ms));
  EXPECT_FALSE(tracer.shutdown(50ms));
  release_and_drain(*blocking, tracer);
}

TEST(Lifecycle, SpansAfterShutdownAreNoOps) {
  Collecting c;
  ASSERT_TRUE(c.tracer.shutdown());
  const auto before = c.tracer.stats();
  {
    auto s = c.tracer.span("late");
    EXPECT_FALSE(s.recording());
    s.set("k", 1);
  }
  EXPECT_TRUE(c.mem->spans().empty());
  const auto after = c.tracer.stats();
  EXPECT_EQ(after.spans_exported, before.spans_exported);
  EXPECT_EQ(after.spans_sampled, before.spans_sampled);
}

TEST(Lifecycle, SpanEndedAfterShutdownIsCountedAsDroppedAtShutdown) {
  Collecting c;
  {
    auto open = c.tracer.span("open-at-shutdown");
    auto exported = c.tracer.span("ended-before");
    exported.end();
    ASSERT_TRUE(c.tracer.shutdown(kNoHang));
  }
  EXPECT_EQ(c.mem->size(), 1u);
  auto st = c.tracer.stats();
  EXPECT_EQ(st.spans_exported, 1u);
  EXPECT_EQ(st.dropped_shutdown, 1u);
  EXPECT_EQ(st.spans_dropped, 1u);
  expect_accounted(st, 2);
}

TEST(Lifecycle, LastHandleShutsDownAndFlushes) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  {
    auto tracer = tracer_with(mem, {.flush_interval = 60000ms});
    for (int i = 0; i < 3; ++i) {
      auto s = tracer.span("s");
    }
  }
  EXPECT_EQ(mem->size(), 3u);
}

// A ThreadBuffer keeps its TracerCore alive (spans may end after the last handle went), so the
// core must let go of its buffers and exporters at shutdown or the two would keep each other
// alive forever; the exporters are released as soon as the last handle goes.
TEST(Lifecycle, TracerReleasesItsExportersWhenTheLastHandleGoes) {
  std::weak_ptr<skein::InMemoryExporter> weak;
  {
    auto mem = std::make_shared<skein::InMemoryExporter>();
    weak = mem;
    auto tracer = tracer_with(mem);
    { auto s = tracer.span("s"); }
  }
  EXPECT_TRUE(weak.expired());
}

// Exactly `capacity` spans can be in flight per thread. With the exporter stuck on the first
// batch, every further span is dropped at start, and each one is counted once.
TEST(Lifecycle, ExactDropCountsWithATinyBufferAndAStuckExporter) {
  constexpr std::uint32_t kCapacity = 4;
  constexpr int kSpans = 100;
  auto blocking = std::make_shared<BlockingExporter>();
  auto tracer = tracer_with(blocking, {.thread_buffer_spans = kCapacity});
  { auto first = tracer.span("first"); }
  ASSERT_TRUE(blocking->wait_blocked(kNoHang));  // the first record is held by the exporter
  int recording = 1;
  for (int i = 1; i < kSpans; ++i) {
    auto s = tracer.span("s");
    recording += s.recording() ? 1 : 0;
  }
  EXPECT_EQ(recording, static_cast<int>(kCapacity));
  auto st = tracer.stats();
  EXPECT_EQ(st.spans_started, static_cast<std::uint64_t>(kSpans));
  EXPECT_EQ(st.spans_sampled, kCapacity);
  EXPECT_EQ(st.dropped_buffer_full, kSpans - kCapacity);

  blocking->release();
  ASSERT_TRUE(tracer.force_flush(kNoHang));
  st = tracer.stats();
  EXPECT_EQ(st.spans_exported, kCapacity);
  EXPECT_EQ(blocking->spans(), kCapacity);
  EXPECT_EQ(st.spans_dropped, kSpans - kCapacity);
  expect_accounted(st, kSpans);

  // Records come back: the buffer records again.
  { EXPECT_TRUE(tracer.span("again").recording()); }
  ASSERT_TRUE(tracer.force_flush(kNoHang));
  expect_accounted(tracer.stats(), kSpans + 1);
  release_and_drain(*blocking, tracer);
}

TEST(Lifecycle, NestedSpansWithATinyBufferDropOnlyTheInnermost) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = tracer_with(mem, {.thread_buffer_spans = 2});
  {
    auto a = tracer.span("a");
    auto b = tracer.span("b");
    auto c = tracer.span("c");  // no record left
    EXPECT_TRUE(a.recording());
    EXPECT_TRUE(b.recording());
    EXPECT_FALSE(c.recording());
    EXPECT_EQ(skein::Context::current().span_id(), b.context().span_id());
  }
  ASSERT_TRUE(tracer.force_flush(kNoHang));
  auto spans = mem->spans();
  ASSERT_EQ(spans.size(), 2u);
  auto st = tracer.stats();
  EXPECT_EQ(st.dropped_buffer_full, 1u);
  expect_accounted(st, 3);
}

TEST(Lifecycle, FailingExporterIsCounted) {
  auto failing = std::make_shared<FailingExporter>();
  auto tracer = tracer_with(failing);
  for (int i = 0; i < 5; ++i) {
    auto s = tracer.span("s");
  }
  EXPECT_TRUE(tracer.force_flush(kNoHang));
  auto st = tracer.stats();
  EXPECT_EQ(st.export_failures, 5u);
  EXPECT_EQ(st.spans_exported, 0u);
  EXPECT_EQ(failing->spans(), 5u);
  expect_accounted(st, 5);
}

TEST(Lifecycle, ASpanIsExportedOnlyWhenEveryExporterAcceptsIt) {
  auto failing = std::make_shared<FailingExporter>();
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init(
      {.exporter = skein::ExporterKind::none, .exporters = {mem, failing}, .make_default = false});
  { auto s = tracer.span("s"); }
  EXPECT_TRUE(tracer.force_flush(kNoHang));
  EXPECT_EQ(mem->size(), 1u);  // the healthy exporter still got it
  auto st = tracer.stats();
  EXPECT_EQ(st.export_failures, 1u);
  EXPECT_EQ(st.spans_exported, 0u);
}

TEST(Lifecycle, ExporterRecoversAfterFailures) {
  auto failing = std::make_shared<FailingExporter>(FailingExporter::Config{.fail_calls = 1});
  auto tracer = tracer_with(failing);
  { auto s = tracer.span("fails"); }
  ASSERT_TRUE(tracer.force_flush(kNoHang));
  { auto s = tracer.span("works"); }
  ASSERT_TRUE(tracer.force_flush(kNoHang));
  auto st = tracer.stats();
  EXPECT_EQ(st.export_failures, 1u);
  EXPECT_EQ(st.spans_exported, 1u);
}

TEST(Lifecycle, FlushReportsAnExporterThatFailsToFlush) {
  auto failing = std::make_shared<FailingExporter>(
      FailingExporter::Config{.fail_calls = 0, .fail_flush = true});
  auto tracer = tracer_with(failing);
  { auto s = tracer.span("s"); }
  EXPECT_FALSE(tracer.force_flush(kNoHang));
  EXPECT_GE(failing->flushes(), 1u);
  EXPECT_EQ(tracer.stats().spans_exported, 1u);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The flush at normal exit: a child process records a span and calls exit() without flushing
// or destroying its tracer; the span must be in the file.
TEST(LifecycleDeathTest, SpansAreFlushedAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The death test's child runs this body again: it must use the parent's path, passed down in
  // the environment (the child's pid would differ).
  const char* inherited = std::getenv("SKEIN_TEST_EXIT_PATH");
  std::filesystem::path path =
      inherited != nullptr ? std::filesystem::path(inherited)
                           : std::filesystem::temp_directory_path() /
                                 ("skein-exit-test-" + std::to_string(::getpid()) + ".jsonl");
  if (inherited == nullptr) {
    setenv("SKEIN_TEST_EXIT_PATH", path.c_str(), 1);
    std::filesystem::remove(path);
  }
  EXPECT_EXIT(
      {
        auto* tracer = new skein::Tracer(skein::Tracer::init({.exporter = skein::ExporterKind::file,
                                                              .file_path = path.string(),
                                                              .flush_interval = 60000ms,
                                                              .make_default = false}));
        { auto s = tracer->span("flushed-at-exit"); }
        std::exit(tracer->enabled() ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
  unsetenv("SKEIN_TEST_EXIT_PATH");
  std::string text = read_file(path);
  EXPECT_NE(text.find("flushed-at-exit"), std::string::npos) << text;
  std::filesystem::remove(path);
}

// A stuck exporter must not hold the process at exit past the shutdown timeout.
TEST(LifecycleDeathTest, StuckExporterDoesNotHoldTheProcessAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto blocking = std::make_shared<BlockingExporter>();
        auto* tracer = new skein::Tracer(tracer_with(blocking, {.shutdown_timeout = 100ms}));
        { auto s = tracer->span("never-exported"); }
        blocking->wait_blocked(kNoHang);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
