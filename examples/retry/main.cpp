// Traced retries: a flaky call that succeeds on the third attempt, one that always fails (the
// original exception comes out), a non-retryable error, and a call that returns error values.
// The backoff is real but short here (a few milliseconds).
//
//     build/bin/retry
#include <skein/skein.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "../common/print_tree.hpp"

using namespace std::chrono_literals;

namespace {

struct Timeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

int main() {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init(
      {.project = "retry-example", .exporter = skein::ExporterKind::none, .exporters = {mem}});
  const skein::RetryPolicy policy{.max_attempts = 3,
                                  .initial_backoff = 2ms,
                                  .multiplier = 2.0,
                                  .max_backoff = 20ms,
                                  .jitter = 0.2,
                                  .retry_if = skein::retry_on<Timeout>()};
  bool ok = true;

  // 1. Flaky: fails twice, then answers.
  int calls = 0;
  auto p1 = policy;
  p1.name = "fetch_profile";
  std::string profile = skein::retry(tracer, p1, [&](int attempt) {
    auto s = tracer.span("GET /profile", {.type = skein::EventType::tool});
    s.set("attempt", attempt);
    if (++calls < 3) throw Timeout("upstream timed out after 2s");
    return std::string("{\"name\":\"Ada\"}");
  });
  ok = ok && profile == "{\"name\":\"Ada\"}";

  // 2. Always fails: the same exception object is rethrown after the last attempt.
  auto p2 = policy;
  p2.name = "charge_card";
  try {
    skein::retry(tracer, p2, [] { throw Timeout("payment gateway timeout"); });
    ok = false;
  } catch (const Timeout& e) {
    std::printf("caught after all attempts: %s\n", e.what());
  }

  // 3. Not retryable: stops at the first attempt.
  auto p3 = policy;
  p3.name = "validate_order";
  try {
    skein::retry(tracer, p3, [] { throw BadRequest("missing field: quantity"); });
    ok = false;
  } catch (const BadRequest& e) {
    std::printf("not retried: %s\n", e.what());
  }

  // 4. Error values: an HTTP status, 5xx is retried.
  int status_calls = 0;
  auto p4 = policy;
  p4.name = "post_webhook";
  int status = skein::retry(
      tracer, p4, [&] { return ++status_calls == 1 ? 503 : 200; },
      [](int code) { return code >= 500; });
  ok = ok && status == 200;

  tracer.force_flush();
  auto spans = mem->spans();
  int printed = example::print_trees(spans, {.keys = {"retry.*", "attempt"}, .events = true});
  ok = ok && printed == static_cast<int>(spans.size()) && spans.size() == 7;
  std::printf("%s\n", ok ? "retries traced" : "RETRY EXAMPLE FAILED");
  return ok ? 0 : 1;
}
