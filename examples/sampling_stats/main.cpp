// Sampling statistics without counters of your own: what was seen, kept and dropped, per sampler
// and per rule, and the rate applied now — the guide's monitoring section in one call.
//
//     build/bin/sampling_stats
#include <skein/skein.hpp>

#include <cstdio>

int main() {
  auto sampler = skein::rules(
      {{.name = "errors path", .span_name = "checkout*", .sampler = skein::always_on()}},
      skein::probability(0.1));
  auto tracer = skein::Tracer::init(
      {.project = "stats-example", .exporter = skein::ExporterKind::none, .sampler = sampler});
  for (int i = 0; i < 2000; ++i) {
    auto span = tracer.span(i % 10 == 0 ? "checkout" : "browse");
    auto child = tracer.span("render");
  }
  tracer.force_flush();
  skein::Stats s = tracer.stats();
  std::printf("current sample rate: %.1f %%\n", 100 * s.effective_sample_rate());
  std::printf(
      "roots decided %llu, kept %llu; spans started %llu, recorded %llu, exported %llu, "
      "dropped %llu\n",
      static_cast<unsigned long long>(s.root_decisions()),
      static_cast<unsigned long long>(s.spans_sampled_roots),
      static_cast<unsigned long long>(s.spans_started),
      static_cast<unsigned long long>(s.spans_sampled),
      static_cast<unsigned long long>(s.spans_exported),
      static_cast<unsigned long long>(s.spans_dropped));
  for (const auto& st : s.samplers) {
    std::printf("  %-24s seen %5llu  sampled %5llu  (%.1f %%)\n", st.name.c_str(),
                static_cast<unsigned long long>(st.seen),
                static_cast<unsigned long long>(st.sampled), 100 * st.sampled_ratio());
  }
  return s.spans_exported == s.spans_sampled ? 0 : 1;
}
