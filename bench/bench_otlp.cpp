// OTLP export benchmarks.
//
//   bench_otlp [google-benchmark flags]   BM_OtlpEncodeProtobuf, BM_OtlpEncodeJson: the cost of
//                                         encoding one span with 3 attributes (plus skein's core
//                                         attributes), time per iteration = ns per span.
//   bench_otlp loopback                   otlp_loopback_spans_per_s: one application thread
//                                         recording spans at a paced rate (each millisecond's
//                                         spans, then a sleep), the OTLP exporter
//                                         (protobuf, defaults) sending to a receiver in another
//                                         process on 127.0.0.1 that discards (max_queue_size
//                                         16384, or argv[2]). Finds the highest
//                                         rate of a ladder with 0 drops; reports it and the
//                                         exporter threads' CPU time per span at that rate
//                                         (process CPU minus the application thread's).
//                                         Prints one JSON object.
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "exporters/otlp_encode.hpp"
#include "skein/otlp.hpp"
#include "skein/skein.hpp"

namespace {

// A span as the pipeline hands it to exporters: 3 user attributes.
struct SampleSpan {
  skein::Resource resource;
  skein::Attribute attrs[3] = {{"http.method", skein::AttrValue(std::string_view("GET"))},
                               {"http.status", skein::AttrValue(std::int64_t{200})},
                               {"ratio", skein::AttrValue(0.25)}};
  skein::SpanView view;

  SampleSpan() {
    resource.project = "bench";
    resource.source = "dev";
    resource.session_id = "5f0c1b8e-9d2a-4c7e-8f31-2b6a9e0d4c11";
    resource.attributes = {{"service.name", "bench"}, {"telemetry.sdk.name", "skein"}};
    view.trace_id = skein::TraceId{0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL};
    view.span_id = skein::SpanId{0x00f067aa0ba902b7ULL};
    view.parent_span_id = skein::SpanId{0xb7ad6b7169203331ULL};
    view.flags = 1;
    view.name = "request";
    view.start_unix_nano = 1'700'000'000'000'000'000ULL;
    view.end_unix_nano = view.start_unix_nano + 12345;
    view.attributes = attrs;
    view.resource = &resource;
  }
};

void BM_OtlpEncodeProtobuf(benchmark::State& state) {
  SampleSpan s;
  std::string out;
  out.reserve(1 << 20);
  std::size_t n = 0;
  for (auto _ : state) {
    skein::detail::otlp::proto_append_span(out, s.view);
    if (++n == 512) {  // a batch: the exporter starts a fresh buffer
      benchmark::DoNotOptimize(out.data());
      out.clear();
      n = 0;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_span"] =
      static_cast<double>(out.size()) / static_cast<double>(std::max<std::size_t>(n, 1));
}
BENCHMARK(BM_OtlpEncodeProtobuf);

void BM_OtlpEncodeJson(benchmark::State& state) {
  SampleSpan s;
  std::string out;
  out.reserve(1 << 20);
  std::size_t n = 0;
  for (auto _ : state) {
    if (n > 0) out += ',';
    skein::detail::otlp::json_append_span(out, s.view);
    if (++n == 512) {
      benchmark::DoNotOptimize(out.data());
      out.clear();
      n = 0;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OtlpEncodeJson);

// A whole 512-span request through the public encoder (envelope included), per span.
void BM_OtlpEncodeProtobufBatch512(benchmark::State& state) {
  SampleSpan s;
  std::vector<skein::SpanView> batch(512, s.view);
  std::string out;
  for (auto _ : state) {
    out.clear();
    skein::encode_otlp_protobuf(batch, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 512);
}
BENCHMARK(BM_OtlpEncodeProtobufBatch512);

// ---- loopback ------------------------------------------------------------------------------

double cpu_seconds(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The receiver runs in a child process so that its CPU time is not counted as the exporter's.
pid_t start_receiver(int& port) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    httplib::Server server;
    server.set_keep_alive_max_count(1000000);
    server.Post("/v1/traces",
                [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
    int p = server.bind_to_any_port("127.0.0.1");
    if (write(fds[1], &p, sizeof p) != static_cast<ssize_t>(sizeof p)) _exit(1);
    close(fds[1]);
    server.listen_after_bind();
    _exit(0);
  }
  close(fds[1]);
  if (read(fds[0], &port, sizeof port) != static_cast<ssize_t>(sizeof port)) port = 0;
  close(fds[0]);
  return pid;
}

// CPU time (ns) of this process's threads named `name`, from /proc (schedstat: time on CPU).
double thread_cpu_ns(const char* name) {
  double total = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string n;
    std::getline(comm, n);
    if (n != name) continue;
    std::ifstream sched(task.path() / "schedstat");
    double ns = 0;
    sched >> ns;
    total += ns;
  }
  return total;
}

struct Run {
  double target = 0, achieved = 0, exporter_cpu_ns_per_span = 0, app_ns_per_span = 0;
  double pipeline_ns_per_span = 0, sender_ns_per_span = 0;
  std::uint64_t drops = 0, sent = 0;
};

Run run_at(const std::string& endpoint, double rate, int spans, std::uint32_t queue = 0) {
  Run r;
  r.target = rate;
  skein::OtlpOptions o{.endpoint = endpoint};
  if (queue > 0) o.max_queue_size = queue;
  auto t = skein::Tracer::init({.project = "bench",
                                .exporter = skein::ExporterKind::otlp,
                                .otlp = o,
                                .make_default = false});
  const double pipe0 = thread_cpu_ns("skein-pipeline"), send0 = thread_cpu_ns("skein-otlp");
  const double cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID),
               app0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  const auto t0 = std::chrono::steady_clock::now();
  const double ns_per_span = rate > 0 ? 1e9 / rate : 0;
  const int per_ms = rate > 0 ? std::max(1, static_cast<int>(rate / 1000)) : 1;
  for (int i = 0; i < spans; ++i) {
    // Paced: span i starts no earlier than t0 + i / rate.
    // Paced like an application, not a spin loop: the spans of each millisecond, then a sleep.
    if (rate > 0 && i % per_ms == 0) {
      std::this_thread::sleep_until(
          t0 + std::chrono::nanoseconds(static_cast<std::int64_t>(i * ns_per_span)));
    }
    auto s = t.span("request");
    s.set("http.method", "GET");
    s.set("http.status", 200);
    s.set("ratio", 0.25);
  }
  t.force_flush(std::chrono::seconds(30));
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double app = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - app0;
  const double cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  const double pipe = thread_cpu_ns("skein-pipeline") - pipe0;
  const double send = thread_cpu_ns("skein-otlp") - send0;
  skein::Stats s = t.stats();
  r.drops = s.spans_dropped + s.export_dropped_queue_full + s.export_failed + s.export_rejected;
  r.sent = s.export_sent;
  r.achieved = static_cast<double>(s.export_sent) / elapsed;
  r.pipeline_ns_per_span = pipe / static_cast<double>(std::max<std::uint64_t>(s.export_sent, 1));
  r.sender_ns_per_span = send / static_cast<double>(std::max<std::uint64_t>(s.export_sent, 1));
  r.exporter_cpu_ns_per_span =
      (cpu - app) * 1e9 / static_cast<double>(std::max<std::uint64_t>(r.sent, 1));
  t.shutdown(std::chrono::seconds(5));
  return r;
}

int loopback(std::uint32_t queue) {
  int port = 0;
  pid_t receiver = start_receiver(port);
  if (receiver <= 0 || port <= 0) return 1;
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v1/traces";
  Run best;
  for (double rate : {250e3, 500e3, 750e3, 1000e3, 1500e3, 2000e3}) {
    Run r = run_at(endpoint, rate, static_cast<int>(rate), queue);  // about one second each
    std::fprintf(
        stderr,
        "target %.0f spans/s: achieved %.0f, drops %llu, CPU per span: pipeline thread %.1f ns, "
        "OTLP sender thread %.1f ns, all but the application thread %.1f ns\n",
        r.target, r.achieved, static_cast<unsigned long long>(r.drops), r.pipeline_ns_per_span,
        r.sender_ns_per_span, r.exporter_cpu_ns_per_span);
    if (r.drops != 0 || r.sent != static_cast<std::uint64_t>(rate)) break;
    best = r;
  }
  kill(receiver, SIGTERM);
  waitpid(receiver, nullptr, 0);
  std::printf(
      "{\"otlp_loopback_spans_per_s\": %.0f, \"otlp_loopback_drops\": %llu, "
      "\"otlp_loopback_exporter_cpu_ns_per_span\": %.1f, \"otlp_loopback_sender_cpu_ns_per_span\": "
      "%.1f, \"otlp_loopback_pipeline_cpu_ns_per_span\": %.1f, \"otlp_loopback_max_queue_size\": "
      "%u}\n",
      best.achieved, static_cast<unsigned long long>(best.drops), best.exporter_cpu_ns_per_span,
      best.sender_ns_per_span, best.pipeline_ns_per_span, queue);
  return best.achieved > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "loopback") == 0) {
    // Optional: the exporter's max_queue_size. Default 16384: at half a million spans a second
    // the pipeline hands over bursts of a few thousand spans, more than the OpenTelemetry
    // default of 2048 absorbs while a request is in flight (OTEL_BSP_MAX_QUEUE_SIZE in an app).
    return loopback(argc > 2 ? static_cast<std::uint32_t>(std::stoul(argv[2])) : 16384);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
