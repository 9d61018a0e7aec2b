// Hot-path benchmarks of the core SDK (issue 2). Each span goes through the whole pipeline: the
// tracer's background thread drains it and hands it to a discarding exporter (ExporterKind::none).
#include <benchmark/benchmark.h>

#include <skein/skein.hpp>

#include "alloc_counter.hpp"

namespace {

skein::Tracer make_tracer(std::shared_ptr<skein::Sampler> sampler = nullptr) {
  return skein::Tracer::init({.project = "bench",
                              .exporter = skein::ExporterKind::none,
                              .sampler = std::move(sampler),
                              .make_default = true});
}

void report_drops(benchmark::State& state, skein::Tracer& t) {
  t.force_flush();
  skein::Stats s = t.stats();
  state.counters["drops"] = static_cast<double>(s.spans_dropped);
  state.counters["exported"] = static_cast<double>(s.spans_exported);
  t.shutdown(std::chrono::milliseconds(2000));
}

void BM_SpanSampled3Attrs(benchmark::State& state) {
  auto t = make_tracer();
  for (auto _ : state) {
    auto s = t.span("handle");
    s.set("http.method", "GET");
    s.set("http.status", 200);
    s.set("ratio", 0.25);
  }
  report_drops(state, t);
}
BENCHMARK(BM_SpanSampled3Attrs);

void BM_SpanUnsampled(benchmark::State& state) {
  auto t = make_tracer(skein::always_off());
  auto root = t.span("root");  // unsampled root: children are no-ops
  for (auto _ : state) {
    auto s = t.span("child");
    s.set("k", [] { return 42; });
  }
  root.end();
  report_drops(state, t);
}
BENCHMARK(BM_SpanUnsampled);

void BM_SpanUnsampledRoot(benchmark::State& state) {
  auto t = make_tracer(skein::always_off());
  for (auto _ : state) {
    auto s = t.span("root");
    benchmark::DoNotOptimize(s);
  }
  report_drops(state, t);
}
BENCHMARK(BM_SpanUnsampledRoot);

void BM_ParentChildPair(benchmark::State& state) {
  auto t = make_tracer();
  for (auto _ : state) {
    auto parent = t.span("parent");
    auto child = t.span("child");  // parent found through the thread's current context
  }
  report_drops(state, t);
}
BENCHMARK(BM_ParentChildPair);

void BM_Enrich3(benchmark::State& state) {
  auto t = make_tracer();
  auto span = t.span("enriched");
  int n = 0;
  for (auto _ : state) {
    skein::enrich_span({.metadata = {{"user", "u-42"}, {"tier", 3}}, .metrics = {{"score", 0.5}}});
    if (++n == 100) {  // a fresh span every 100 calls, so the attribute list stays small
      span = t.span("enriched");
      n = 0;
    }
  }
  span.end();
  report_drops(state, t);
}
BENCHMARK(BM_Enrich3);

void BM_AllocsPerSpan(benchmark::State& state) {
  auto t = make_tracer();
  // Warm up: records, arenas and rings reach steady state (a thread this fast grows its pool to
  // ThreadBuffer::kHotPool records first).
  for (int i = 0; i < 200000; ++i) {
    auto s = t.span("warm");
    s.set("a", 1);
    s.set("b", "two");
    s.set("c", 3.0);
  }
  t.force_flush();
  std::uint64_t spans = 0;
  std::uint64_t before = skein_bench::allocation_count();
  for (auto _ : state) {
    auto s = t.span("steady");
    s.set("a", 1);
    s.set("b", "two");
    s.set("c", 3.0);
    ++spans;
  }
  std::uint64_t after = skein_bench::allocation_count();
  state.counters["allocs_per_span"] =
      spans == 0 ? 0.0 : static_cast<double>(after - before) / static_cast<double>(spans);
  report_drops(state, t);
}
BENCHMARK(BM_AllocsPerSpan);

}  // namespace

BENCHMARK_MAIN();
