// The guide's three stacked decorators — conditional tracing, correlation, retries — on one
// traced callable, in one expression:
//
//     auto op = skein::trace_when(should_trace,                    // @conditional_trace
//         skein::correlated(                                       // @correlation_trace
//             skein::traced(tracer, "critical_operation",
//                           skein::retrying(policy, process))));   // @retry_trace(3)
//
// with a sampler on top (consistent probability sampling, decided once per trace). A call the
// condition turns off runs in an unsampled context: retried all the same, nothing recorded.
//
//     build/bin/combined
#include <skein/skein.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "../common/print_tree.hpp"

using namespace std::chrono_literals;

namespace {

struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int g_calls = 0;

// The operation: fails on every other first attempt.
std::string process(const std::string& order) {
  auto s = skein::span("process_order", {.type = skein::EventType::tool});
  if (++g_calls % 2 == 1) throw Unavailable("inventory service unavailable");
  return "processed " + order;
}

bool g_tracing_enabled = true;

}  // namespace

int main() {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init({.project = "combined-example",
                                     .exporter = skein::ExporterKind::none,
                                     .exporters = {mem},
                                     .sampler = skein::rules({{.name = "critical operations",
                                                               .span_name = "critical_*",
                                                               .sampler = skein::always_on()}},
                                                             skein::probability(0.1))});

  auto critical_operation = skein::trace_when(
      [] { return g_tracing_enabled; },
      skein::correlated(skein::traced(
          tracer, "critical_operation",
          skein::retrying({.max_attempts = 3, .initial_backoff = 1ms, .name = "retry"}, process),
          {.type = skein::EventType::chain, .arg_names = {"order"}})));

  std::string a = critical_operation(std::string("order-1"));
  std::string b = critical_operation(std::string("order-2"));
  g_tracing_enabled = false;  // the condition: this call runs untraced (still retried, correlated)
  std::string c = critical_operation(std::string("order-3"));
  std::printf("%s / %s / %s\n", a.c_str(), b.c_str(), c.c_str());

  tracer.force_flush();
  auto spans = mem->spans();
  int printed =
      example::print_trees(spans, {.keys = {"request.id", "retry.attempts",
                                            "retry.succeeded_at_attempt", "honeyhive_inputs.order"},
                                   .events = true});
  // Two traced calls (critical_operation > retry > 2 x process_order: 8 spans); the third ran (and
  // was retried: 6 calls of process() in all) but recorded nothing.
  bool ok = printed == static_cast<int>(spans.size()) && spans.size() == 8 && g_calls == 6;
  std::printf("%zu spans, %d calls of process()\n", spans.size(), g_calls);
  for (const auto& s : spans) {
    auto id = s.string_attribute("request.id");
    ok = ok && id && id->size() == 36;
    if (s.name == "retry") ok = ok && s.int_attribute("retry.succeeded_at_attempt").has_value();
  }
  std::printf("%s\n",
              ok ? "conditional + correlated + retried, in one expression" : "COMBINED FAILED");
  return ok ? 0 : 1;
}
