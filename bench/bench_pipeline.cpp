// Whole-pipeline figures that Google Benchmark's loop does not express well:
//   bench_pipeline 1m        1,000,000 spans as fast as possible from one thread: ns/span, drops
//                            (exact: every started span is exported or counted as dropped), and
//                            peak RSS above the baseline before the tracer existed.
//   bench_pipeline scaling   aggregate throughput of two producer threads over one.
// Prints one JSON object.
#include <skein/skein.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

double status_mb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::strlen(field))) / 1024.0;
  }
  return 0;
}

void spans(skein::Tracer& t, int n) {
  for (int i = 0; i < n; ++i) {
    auto s = t.span("request");
    s.set("http.method", "GET");
    s.set("http.status", 200);
    s.set("ratio", 0.25);
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int one_million() {
  const double baseline = status_mb("VmRSS:");
  auto t = skein::Tracer::init({.project = "bench", .exporter = skein::ExporterKind::none});
  constexpr int kSpans = 1'000'000;
  auto t0 = std::chrono::steady_clock::now();
  spans(t, kSpans);
  double elapsed = seconds_since(t0);
  t.force_flush(std::chrono::milliseconds(10000));
  skein::Stats s = t.stats();
  const double peak = status_mb("VmHWM:");
  bool exact = s.spans_started == kSpans && s.spans_exported + s.spans_dropped == kSpans;
  std::printf(
      "{\"pipeline_1m_ns_per_span\": %.2f, \"pipeline_1m_drops\": %llu, "
      "\"pipeline_1m_peak_rss_mb\": %.2f, \"pipeline_1m_accounted_exactly\": %s}\n",
      elapsed * 1e9 / kSpans, static_cast<unsigned long long>(s.spans_dropped), peak - baseline,
      exact ? "true" : "false");
  return exact ? 0 : 1;
}

int scaling() {
  auto t = skein::Tracer::init({.project = "bench", .exporter = skein::ExporterKind::none});
  constexpr int kSpans = 2'000'000;
  spans(t, 100'000);  // warm up
  t.force_flush();
  auto t0 = std::chrono::steady_clock::now();
  spans(t, kSpans);
  double one = kSpans / seconds_since(t0);
  t.force_flush();
  t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { spans(t, kSpans); });
  for (auto& th : threads) th.join();
  double two = 2.0 * kSpans / seconds_since(t0);
  t.force_flush(std::chrono::milliseconds(10000));
  skein::Stats s = t.stats();
  std::printf(
      "{\"two_thread_scaling\": %.3f, \"one_thread_spans_per_s\": %.0f, "
      "\"two_thread_spans_per_s\": %.0f, \"two_thread_drops\": %llu}\n",
      two / one, one, two, static_cast<unsigned long long>(s.spans_dropped));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "1m";
  if (mode == "1m") return one_million();
  if (mode == "scaling") return scaling();
  std::fprintf(stderr, "usage: bench_pipeline 1m|scaling\n");
  return 2;
}
