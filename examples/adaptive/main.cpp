// Adaptive sampling: keep about 50 traces per second whatever the load. The program simulates
// 500 requests/s for 4 s, then a load step to 5,000 requests/s for 6 s, on a simulated clock, and
// prints the rate kept each second. (A deque of timestamps, as hand-written samplers do, keeps
// 10x too many during the step; this one is back on target within about a second.)
//
//     build/bin/adaptive
#include <skein/skein.hpp>

#include <atomic>
#include <cstdio>

int main() {
  std::atomic<std::int64_t> now_ns{0};  // a simulated clock, so the example runs in milliseconds
  auto sampler = skein::adaptive({.target_per_second = 50, .clock = [&] { return now_ns.load(); }});
  auto tracer = skein::Tracer::init(
      {.project = "adaptive-example", .exporter = skein::ExporterKind::none, .sampler = sampler});
  int last_kept = 0;
  std::printf("second  requests/s  kept/s  probability\n");
  for (int second = 0; second < 10; ++second) {
    int load = second < 4 ? 500 : 5000;
    int kept = 0;
    for (int i = 0; i < load; ++i) {
      now_ns += 1'000'000'000 / load;
      auto span = tracer.span("request");
      kept += span.recording() ? 1 : 0;
    }
    std::vector<skein::SamplerStats> st;
    sampler->collect_stats(st);
    std::printf("%6d  %10d  %6d  %10.4f\n", second, load, kept, st[0].current_probability);
    last_kept = kept;
  }
  tracer.force_flush();
  return last_kept > 25 && last_kept < 100 ? 0 : 1;  // on target after the step
}
