// Resource usage: spans that ask for it record wall and CPU time (user, system), process RSS
// before/after/delta and page faults; spans that do not ask pay nothing.
//
//     build/bin/resources
#include <skein/skein.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "../common/print_tree.hpp"

int main() {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init(
      {.project = "resources-example", .exporter = skein::ExporterKind::none, .exporters = {mem}});
  std::unique_ptr<char[]> buffer;
  {
    auto job = tracer.span("batch_job", {.type = skein::EventType::chain, .resources = true});
    {
      // Memory: 32 MB touched page by page.
      auto load = tracer.span("load_embeddings", {.resources = true});
      constexpr std::size_t kBytes = 32u << 20;
      buffer.reset(new char[kBytes]);
      std::memset(buffer.get(), 7, kBytes);
    }
    // CPU: a traced callable that asks for its resources on every call.
    auto score = skein::traced(tracer, "score",
                               [](int n) {
                                 double acc = 0;
                                 for (int i = 1; i < n; ++i)
                                   acc += std::sqrt(static_cast<double>(i));
                                 return acc;
                               },
                               {.type = skein::EventType::tool, .resources = true});
    score(3'000'000);
    {
      // Waiting: wall time, almost no CPU. Without RSS (a third of the cost: no statm reads).
      auto wait = tracer.span("wait_for_io", {.resources = skein::ResourceUsage::without_rss()});
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto plain = tracer.span("no_resources");  // nothing measured
  }
  tracer.force_flush();
  auto spans = mem->spans();
  int printed = example::print_trees(
      spans, {.keys = {"resources.wall_ms", "resources.cpu_user_ms", "resources.cpu_system_ms",
                       "resources.rss_delta_bytes", "resources.page_faults_minor"}});
  bool ok = printed == 5;
  for (const auto& s : spans) {
    if (s.name == "load_embeddings")
      ok = ok && s.int_attribute("resources.rss_delta_bytes") >= (24 << 20);
    if (s.name == "no_resources") ok = ok && !s.double_attribute("resources.wall_ms");
    if (s.name == "wait_for_io") {
      ok = ok && s.double_attribute("resources.cpu_ms") < s.double_attribute("resources.wall_ms");
      ok = ok && !s.int_attribute("resources.rss_after_bytes");
    }
  }
  std::printf("%s\n", ok ? "resource usage recorded" : "RESOURCES EXAMPLE FAILED");
  return ok ? 0 : 1;
}
