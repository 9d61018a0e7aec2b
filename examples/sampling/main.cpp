// Probability sampling, consistent across services: keep 25 % of traces; every span of a kept
// trace is recorded, the others cost almost nothing but still propagate their context. Then
// parent_based with a local choice: 1 % of requests, and every model call anyway.
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
  const bool whole_traces =
      kept > 150 && kept < 350 && mem->size() == static_cast<std::size_t>(2 * kept);

  // Local choices (parent_based): keep 1 % of requests, and every model call anyway, even under
  // a request that was not kept (part of a trace, with the request's trace id).
  auto calls = std::make_shared<skein::InMemoryExporter>();
  auto partial = skein::Tracer::init(
      {.project = "sampling-example",
       .exporter = skein::ExporterKind::none,
       .exporters = {calls},
       .sampler = skein::parent_based(
           skein::probability(0.01),
           {.local_parent_not_sampled = skein::rules(
                {{.event_type = skein::EventType::model, .sampler = skein::always_on()}},
                skein::always_off())}),
       .make_default = false});
  for (int i = 0; i < 200; ++i) {
    auto request = partial.span("handle_request", {.type = skein::EventType::chain});
    { auto retrieve = partial.span("retrieve", {.type = skein::EventType::tool}); }
    { auto model = partial.span("generate", {.type = skein::EventType::model}); }
  }
  partial.force_flush();
  std::size_t models = 0, others = 0;
  for (const auto& d : calls->spans())
    (d.event_type == skein::EventType::model ? models : others)++;
  std::printf("1 %% of requests plus every model call: %zu model spans of 200, %zu other spans\n",
              models, others);
  return whole_traces && models == 200 && others < 40 ? 0 : 1;
}
