// Sampler decision costs (issue 4), and an unsampled root through the tracer.
#include <benchmark/benchmark.h>

#include <skein/skein.hpp>

namespace {

skein::SamplingParams params(std::uint64_t r, std::initializer_list<skein::Field> attrs) {
  skein::SamplingParams p;
  p.trace_id = {1, r};
  p.randomness = r & ((1ULL << 56) - 1);
  p.name = "GET /checkout";
  p.attributes = attrs;
  return p;
}

void BM_SamplerProbability(benchmark::State& state) {
  auto s = skein::probability(0.25);
  std::uint64_t r = 0x9e3779b97f4a7c15ULL;
  for (auto _ : state) {
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    benchmark::DoNotOptimize(s->should_sample(params(r, {})));
  }
}
BENCHMARK(BM_SamplerProbability);

void BM_SamplerParentBased(benchmark::State& state) {
  auto s = skein::parent_based(skein::probability(0.25));
  skein::Context parent({5, 6}, {7}, skein::trace_flags::sampled, true);
  std::uint64_t r = 1;
  for (auto _ : state) {
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    auto p = params(r, {});
    p.remote_parent = &parent;
    benchmark::DoNotOptimize(s->should_sample(p));
  }
}
BENCHMARK(BM_SamplerParentBased);

void BM_SamplerRules5(benchmark::State& state) {
  auto s = skein::rules(
      {
          {.span_name = "health*", .sampler = skein::always_off()},
          {.event_type = skein::EventType::model, .sampler = skein::always_on()},
          {.attribute = "user.id", .values = {"u-1", "u-2", "u-3"}, .sampler = skein::always_on()},
          {.attribute = "http.route", .values = {"/admin"}, .sampler = skein::always_on()},
          {.attribute = "tenant", .values = {"acme"}, .sampler = skein::probability(0.5)},
      },
      skein::probability(0.1));
  std::uint64_t r = 1;
  for (auto _ : state) {
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    // Matches the last rule: every rule is evaluated against three attributes.
    benchmark::DoNotOptimize(s->should_sample(
        params(r, {{"user.id", "u-9"}, {"http.route", "/checkout"}, {"tenant", "acme"}})));
  }
}
BENCHMARK(BM_SamplerRules5);

void BM_SpanUnsampledRootProbability(benchmark::State& state) {
  auto t = skein::Tracer::init({.project = "bench",
                                .exporter = skein::ExporterKind::none,
                                .sampler = skein::probability(0.0),
                                .make_default = false});
  for (auto _ : state) {
    auto s = t.span("root");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SpanUnsampledRootProbability);

}  // namespace

BENCHMARK_MAIN();
