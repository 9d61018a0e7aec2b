// Quickstart: init, a traced function, nesting, enrichment, console output.
//
//     build/bin/quickstart
//
// Prints one trace tree per request to stderr (colour on a terminal).
#include <skein/skein.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<std::string> retrieve(const std::string& query, int k) {
  // A span named after this function, typed as a tool call.
  SKEIN_TRACE({.type = skein::EventType::tool});
  skein::enrich_span({.metadata = {{"index", "docs-v2"}}, .metrics = {{"k", k}}});
  std::vector<std::string> docs;
  for (int i = 0; i < k; ++i) docs.push_back(query + " / doc " + std::to_string(i));
  return docs;
}

}  // namespace

int main() {
  auto tracer = skein::Tracer::init(
      {.project = "quickstart", .source = "example", .exporter = skein::ExporterKind::console});
  if (!tracer) {
    std::fprintf(stderr, "tracer: %s\n", tracer.error().message.c_str());
    return 1;
  }

  // @trace: a callable whose every call is a span, arguments and result recorded.
  auto generate = skein::traced(
      tracer, "generate",
      [](const std::string& prompt, double temperature) {
        skein::enrich_span({.metrics = {{"tokens.prompt", 42}, {"tokens.completion", 7}},
                            .config = {{"model", "gpt-4o-mini"}, {"temperature", temperature}}});
        return "an answer to: " + prompt;
      },
      {.type = skein::EventType::model, .arg_names = {"prompt", "temperature"}});

  auto flaky = skein::traced(tracer, "flaky_tool",
                             [](int x) {
                               if (x > 1) throw std::runtime_error("upstream timeout");
                               return x;
                             },
                             {.type = skein::EventType::tool});

  for (int request = 0; request < 2; ++request) {
    auto root = tracer.span("answer_question", {.type = skein::EventType::chain});
    root.set("request.number", request);
    skein::enrich_span(
        {.inputs = {{"question", "what is skein?"}}, .user_properties = {{"user_id", "user-123"}}});
    auto docs = retrieve("what is skein?", 3);
    std::string answer = generate("what is skein? context: " + docs.front(), 0.2);
    try {
      flaky(request + 1);
    } catch (const std::exception& e) {
      root.add_event("fallback", {{"reason", e.what()}});
    }
    skein::enrich_span({.feedback = {{"rating", 5}}, .outputs = {{"answer", answer}}});
  }

  tracer.force_flush();
  skein::Stats s = tracer.stats();
  std::printf("spans: started %llu, exported %llu, dropped %llu\n",
              static_cast<unsigned long long>(s.spans_started),
              static_cast<unsigned long long>(s.spans_exported),
              static_cast<unsigned long long>(s.spans_dropped));
  return s.spans_exported == 8 && s.spans_dropped == 0 ? 0 : 1;
}
