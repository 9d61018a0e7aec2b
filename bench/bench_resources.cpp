// Cost of resource usage on a span (issue 6): BM_SpanWithResources is a sampled span with
// SpanOptions::resources (two getrusage(RUSAGE_THREAD) calls, two preads of /proc/self/statm, two
// clock reads, nine attributes); BM_SpanWithoutResources is the same span without it, the
// difference being the price; BM_ReadResources is one reading. Target: <= 2 µs per span that asks.
#include <benchmark/benchmark.h>

#include <skein/skein.hpp>

namespace {

skein::Tracer make_tracer() {
  return skein::Tracer::init({.project = "bench",
                              .exporter = skein::ExporterKind::none,
                              .thread_buffer_spans = 1u << 16,
                              .make_default = true});
}

void finish(benchmark::State& state, skein::Tracer& t) {
  t.force_flush();
  skein::Stats s = t.stats();
  state.counters["drops"] = static_cast<double>(s.spans_dropped);
  t.shutdown(std::chrono::milliseconds(2000));
}

void BM_SpanWithResources(benchmark::State& state) {
  auto t = make_tracer();
  for (auto _ : state) {
    auto s = t.span("handle", {.resources = true});
    s.set("http.status", 200);
  }
  finish(state, t);
}
BENCHMARK(BM_SpanWithResources);

void BM_SpanWithoutResources(benchmark::State& state) {
  auto t = make_tracer();
  for (auto _ : state) {
    auto s = t.span("handle");
    s.set("http.status", 200);
  }
  finish(state, t);
}
BENCHMARK(BM_SpanWithoutResources);

void BM_ReadResources(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(skein::read_resources());
}
BENCHMARK(BM_ReadResources);

}  // namespace

BENCHMARK_MAIN();
