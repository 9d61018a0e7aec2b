// A program outside skein that uses it as a package would: one include, one span through an
// in-memory exporter, and a check that it arrived. Shared by the find-package and
// add-subdirectory consumers.
#include <skein/skein.hpp>

#include <chrono>
#include <cstdio>
#include <memory>

int main() {
  auto memory = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init(
      {.project = "packaging", .exporter = skein::ExporterKind::none, .exporters = {memory}});
  if (!tracer) {
    std::fprintf(stderr, "init failed: %s\n", tracer.error().message.c_str());
    return 1;
  }
  {
    auto span = tracer.span("consumer", {.type = skein::EventType::tool});
    skein::enrich_span(skein::Namespace::metadata, "linked", true);
  }
  if (!tracer.force_flush(std::chrono::seconds(10)) || memory->size() != 1) {
    std::fprintf(stderr, "expected 1 exported span, got %zu\n", memory->size());
    return 1;
  }
  std::printf("packaging consumer: 1 span exported\n");
  return 0;
}
