// Propagation benchmarks (issue 3): W3C inject + extract through a header map, a context hop to
// another thread's task, and baggage parsing.
#include <benchmark/benchmark.h>

#include <skein/async.hpp>
#include <skein/propagation.hpp>
#include <skein/skein.hpp>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

skein::Tracer make_tracer() {
  return skein::Tracer::init(
      {.project = "bench", .exporter = skein::ExporterKind::none, .make_default = false});
}

// inject + extract round trip into a small std::map carrier, inside a sampled span (the common
// client/server pair). The carrier is reused, as a request's header map would be.
void BM_InjectExtract(benchmark::State& state) {
  auto t = make_tracer();
  auto span = t.span("client");
  std::map<std::string, std::string> headers{{"accept", "application/json"},
                                             {"content-type", "application/json"}};
  for (auto _ : state) {
    skein::inject(headers);
    skein::Context ctx = skein::extract(headers);
    benchmark::DoNotOptimize(ctx);
  }
  span.end();
  t.shutdown(std::chrono::milliseconds(2000));
}
BENCHMARK(BM_InjectExtract);

// A bounded single-producer single-consumer queue of wrapped tasks, drained by one worker thread.
template <class T>
class Spsc {
 public:
  explicit Spsc(std::size_t n) : slots_(n) {}
  bool push(T&& v) {
    const std::size_t h = head_.load(std::memory_order_relaxed);
    if (h - tail_.load(std::memory_order_acquire) == slots_.size()) return false;
    slots_[h % slots_.size()].emplace(std::move(v));
    head_.store(h + 1, std::memory_order_release);
    return true;
  }
  // Runs the oldest task in place; false when there is none.
  bool run_one() {
    const std::size_t t = tail_.load(std::memory_order_relaxed);
    if (t == head_.load(std::memory_order_acquire)) return false;
    std::optional<T>& slot = slots_[t % slots_.size()];
    (*slot)();
    slot.reset();
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  [[nodiscard]] bool empty() const {
    return tail_.load(std::memory_order_acquire) == head_.load(std::memory_order_acquire);
  }

 private:
  std::vector<std::optional<T>> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

// Per task: capture the current context (wrap), hand the task to another thread, activate the
// context there, start and end a child span.
void BM_ContextHop(benchmark::State& state) {
  auto t = make_tracer();
  auto task = [&t] { auto child = t.span("hop"); };
  using Job = decltype(skein::wrap(task));
  Spsc<Job> queue(1024);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0};
  std::thread worker([&] {
    while (!stop.load(std::memory_order_acquire) || !queue.empty()) {
      if (queue.run_one()) {
        done.store(done.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      } else {
        std::this_thread::yield();
      }
    }
  });
  auto parent = t.span("parent");
  std::uint64_t submitted = 0;
  for (auto _ : state) {
    while (!queue.push(skein::wrap(task))) std::this_thread::yield();
    ++submitted;
  }
  while (done.load(std::memory_order_acquire) != submitted) std::this_thread::yield();
  parent.end();
  stop.store(true, std::memory_order_release);
  worker.join();
  t.force_flush();
  state.counters["drops"] = static_cast<double>(t.stats().spans_dropped);
  t.shutdown(std::chrono::milliseconds(2000));
}
BENCHMARK(BM_ContextHop)->UseRealTime();

// Parsing a baggage header of 8 entries (one with properties, one percent-encoded).
void BM_BaggageParse8(benchmark::State& state) {
  const std::string header =
      "request.id=r-0c5e4a1b,session.id=s-77f2,user.id=alice,tenant=acme;region=eu,"
      "feature.flags=new-ui,experiment=exp-42,client=mobile%20app,priority=high";
  for (auto _ : state) {
    auto b = skein::Baggage::parse(header);
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(BM_BaggageParse8);

}  // namespace

BENCHMARK_MAIN();
