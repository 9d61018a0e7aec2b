// An async workflow: one workflow span fans out to a thread pool (skein::wrap) and to C++20
// coroutines that hop between pool threads (skein::Task, resume_on, when_all). Every task is a
// child of the workflow span, whatever thread it ran on.
//
//     build/bin/async_workflow
//
// Prints the trace tree and exits 0 when every task has the right parent.
#include <skein/async.hpp>
#include <skein/skein.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

// Any executor works; this one is a plain fixed-size pool with `execute(fn)`.
class ThreadPool {
 public:
  explicit ThreadPool(unsigned n) {
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void execute(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// A coroutine step: starts on the caller's thread, continues on the pool, in its own span.
skein::Task<std::string> summarize(skein::Tracer& tracer, ThreadPool& pool, std::string doc) {
  auto span = tracer.span("summarize", {.type = skein::EventType::model});
  co_await skein::resume_on(pool);  // another thread from here on; still inside "summarize"
  skein::enrich_span({.metrics = {{"tokens", 42}}, .inputs = {{"doc", doc}}});
  {
    auto tool = tracer.span("lookup", {.type = skein::EventType::tool});  // child of summarize
    co_await skein::resume_on(pool);
  }
  co_return "summary of " + doc;
}

void print_tree(const std::vector<skein::SpanData>& spans, skein::SpanId parent, int depth) {
  for (const auto& s : spans) {
    if (s.parent_span_id != parent) continue;
    std::printf("%*s%s %s (%s)", depth * 2, "", depth ? "└─" : "●", s.name.c_str(),
                std::string(skein::to_string(s.event_type)).c_str());
    if (auto shard = s.int_attribute("shard"))
      std::printf(" shard=%lld", static_cast<long long>(*shard));
    if (auto doc = s.string_attribute("honeyhive_inputs.doc")) std::printf(" doc=%s", doc->c_str());
    std::printf("\n");
    print_tree(spans, s.span_id, depth + 1);
  }
}

}  // namespace

int main() {
  auto memory = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init(
      {.project = "async-workflow", .exporter = skein::ExporterKind::none, .exporters = {memory}});
  if (!tracer) return 1;

  skein::SpanId workflow_id;
  {
    ThreadPool pool(3);
    auto workflow = tracer.span("workflow", {.type = skein::EventType::chain});
    workflow_id = workflow.context().span_id();

    // 1. Thread-pool fan-out: each job runs in the context captured by wrap().
    std::latch done(3);
    for (int i = 0; i < 3; ++i) {
      pool.execute(skein::wrap([&, i] {
        auto job = tracer.span("fetch", {.type = skein::EventType::tool});
        job.set("shard", i);
        done.count_down();
      }));
    }
    done.wait();

    // 2. Coroutine fan-out: three tasks run concurrently, hopping between pool threads.
    std::vector<skein::Task<std::string>> steps;
    for (const char* doc : {"alpha", "beta", "gamma"})
      steps.push_back(summarize(tracer, pool, doc));
    auto summaries = skein::sync_wait(skein::when_all(std::move(steps)));
    workflow.set("summaries", static_cast<std::int64_t>(summaries.size()));
  }
  tracer.force_flush();

  int children = 0, lookups = 0;
  bool ok = true;
  auto spans = memory->spans();
  std::sort(spans.begin(), spans.end(),
            [](const auto& a, const auto& b) { return a.start_unix_nano < b.start_unix_nano; });
  print_tree(spans, skein::SpanId{}, 0);
  for (const auto& s : spans) {
    if (s.name == "fetch" || s.name == "summarize") {
      ++children;
      ok = ok && s.parent_span_id == workflow_id;
    }
    if (s.name == "lookup") ++lookups;
  }
  ok = ok && children == 6 && lookups == 3 && spans.size() == 10;
  std::printf("%d tasks, all children of the workflow span: %s\n", children, ok ? "yes" : "NO");
  return ok ? 0 : 1;
}
