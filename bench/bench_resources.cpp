// Cost of resource usage on a span (issue 6): BM_SpanWithResources is a sampled span with
// SpanOptions::resources (two getrusage(RUSAGE_THREAD) calls, two preads of /proc/self/statm, two
// clock reads, nine attributes); BM_SpanWithoutResources is the same span without it, the
// difference being the price; BM_ReadResources is one reading. Target: <= 2 µs per span that asks.
//
// BM_Sys* are the system calls a reading is made of, and their alternatives, one at a time: the
// floor under BM_ReadResources on the machine at hand.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

// The same without RSS (ResourceUsage::without_rss()): wall and CPU time and page faults only.
void BM_SpanWithResourcesNoRss(benchmark::State& state) {
  auto t = make_tracer();
  for (auto _ : state) {
    auto s = t.span("handle", {.resources = skein::ResourceUsage::without_rss()});
    s.set("http.status", 200);
  }
  finish(state, t);
}
BENCHMARK(BM_SpanWithResourcesNoRss);

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

// A bare system call: the entry and exit every other one pays.
void BM_SysBare(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(::syscall(SYS_getppid));
}
BENCHMARK(BM_SysBare);

void BM_SysClockMonotonic(benchmark::State& state) {
  timespec ts{};
  for (auto _ : state) {
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    benchmark::DoNotOptimize(ts);
  }
}
BENCHMARK(BM_SysClockMonotonic);

// What a reading uses for CPU time and page faults (user and system apart).
void BM_SysGetrusageThread(benchmark::State& state) {
  rusage ru{};
  for (auto _ : state) {
    ::getrusage(RUSAGE_THREAD, &ru);
    benchmark::DoNotOptimize(ru);
  }
}
BENCHMARK(BM_SysGetrusageThread);

// The alternative for CPU time: one total, no user/system split, no page faults.
void BM_SysThreadCpuClock(benchmark::State& state) {
  timespec ts{};
  for (auto _ : state) {
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    benchmark::DoNotOptimize(ts);
  }
}
BENCHMARK(BM_SysThreadCpuClock);

// Where a reading takes RSS from: /proc/self/statm, kept open and read again with pread...
void BM_SysPreadStatm(benchmark::State& state) {
  int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  char buf[128];
  for (auto _ : state) benchmark::DoNotOptimize(::pread(fd, buf, sizeof buf, 0));
  ::close(fd);
}
BENCHMARK(BM_SysPreadStatm);

// ... rather than opened each time ...
void BM_SysOpenReadCloseStatm(benchmark::State& state) {
  char buf[128];
  for (auto _ : state) {
    int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    benchmark::DoNotOptimize(::read(fd, buf, sizeof buf));
    ::close(fd);
  }
}
BENCHMARK(BM_SysOpenReadCloseStatm);

// ... or /proc/self/stat (its rss field), kept open.
void BM_SysPreadStat(benchmark::State& state) {
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  char buf[1024];
  for (auto _ : state) benchmark::DoNotOptimize(::pread(fd, buf, sizeof buf, 0));
  ::close(fd);
}
BENCHMARK(BM_SysPreadStat);

}  // namespace

BENCHMARK_MAIN();
