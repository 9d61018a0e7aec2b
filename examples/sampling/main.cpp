// Probability sampling, consistent across services: keep 25 % of traces; every span of a kept
// trace is recorded, the others cost almost nothing but still propagate their context.
//
//     build/bin/sampling
#include <skein/skein.hpp>

#include <cstdio>

int main() {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init({.project = "sampling-example",
                                     .exporter = skein::ExporterKind::none,
                                     .exporters = {mem},
                                     .sampler = skein::probability(0.25)});
  int kept = 0;
  for (int i = 0; i < 1000; ++i) {
    auto request = tracer.span("handle_request", {.type = skein::EventType::chain});
    auto db = tracer.span("query", {.type = skein::EventType::tool});  // follows its root
    if (request.recording()) ++kept;
    if (i == 0) {
      std::printf("first request: sampled=%d, traceparent flag carried=%02x, tracestate=\"%s\"\n",
                  request.recording() ? 1 : 0, request.context().flags(),
                  std::string(request.context().trace_state()).c_str());
    }
  }
  tracer.force_flush();
  skein::Stats s = tracer.stats();
  std::printf("kept %d of 1000 traces (%.1f %%), %zu spans exported, effective rate %.1f %%\n",
              kept, kept / 10.0, mem->size(), 100 * s.effective_sample_rate());
  auto spans = mem->spans();
  if (!spans.empty()) {
    std::printf("a kept root carries sampling.probability=%g\n",
                spans.back().double_attribute("sampling.probability").value_or(-1));
  }
  // Statistically ~250; a run outside [150, 350] would mean the sampler is broken.
  return kept > 150 && kept < 350 && mem->size() == static_cast<std::size_t>(2 * kept) ? 0 : 1;
}
