// Request correlation: a request id set once at the edge is on every span of the request —
// nested calls, a thread pool, a coroutine after it hops threads — and a typed context value
// (the C++ ContextVar) travels the same way.
//
//     build/bin/request_id
#include <skein/async.hpp>
#include <skein/skein.hpp>

#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "../common/print_tree.hpp"

namespace {

struct User {
  std::string id;
  std::string plan;
};
skein::ContextValue<User> current_user;  // typed, local to the process, never exported

// A tiny executor for the coroutine: each job runs on a new thread.
struct NewThread {
  void execute(std::function<void()> fn) { std::thread(std::move(fn)).detach(); }
};

skein::Task<int> lookup_inventory(skein::Tracer& tracer, NewThread& ex) {
  auto span = tracer.span("lookup_inventory", {.type = skein::EventType::tool});
  co_await skein::resume_on(ex);  // now on another thread, still in the request
  auto query = tracer.span("inventory_query", {.type = skein::EventType::tool});
  query.set("plan", current_user.get() ? current_user.get()->plan : "?");
  co_return 7;
}

void handle_request(skein::Tracer& tracer, const std::string& user_id) {
  // At the edge: one line, and every span below carries request.id.
  auto rid = skein::with_request_id();
  auto user = current_user.set({user_id, user_id == "u-1" ? "pro" : "free"});
  auto span = tracer.span("handle_request", {.type = skein::EventType::chain});

  auto validate = [&] { auto s = tracer.span("validate"); };
  validate();

  // A pool of workers: skein::wrap carries the context (request id included) to each task.
  std::vector<std::future<void>> parts;
  for (int i = 0; i < 2; ++i) {
    parts.push_back(std::async(std::launch::async, skein::wrap([&tracer, i] {
                                 auto s = tracer.span("fetch_part");
                                 s.set("part", i);
                               })));
  }
  for (auto& p : parts) p.get();

  NewThread ex;
  int stock = skein::sync_wait(lookup_inventory(tracer, ex));
  span.set("stock", stock);
  std::printf("handled %s: request.id=%s\n", user_id.c_str(),
              skein::current_request_id().value_or("?").c_str());
}

}  // namespace

int main() {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init(
      {.project = "request-id-example", .exporter = skein::ExporterKind::none, .exporters = {mem}});
  handle_request(tracer, "u-1");
  handle_request(tracer, "u-2");
  tracer.force_flush();

  auto spans = mem->spans();
  int printed = example::print_trees(spans, {.keys = {"request.id", "part", "plan"}});
  // Every span of a request carries its request's id (one id per trace).
  std::map<std::uint64_t, std::string> per_trace;
  bool ok = printed == static_cast<int>(spans.size()) && spans.size() == 12;
  for (const auto& s : spans) {
    auto id = s.string_attribute("request.id");
    ok = ok && id && id->size() == 36;
    if (!id) continue;
    auto [it, fresh] = per_trace.emplace(s.trace_id.lo, *id);
    ok = ok && it->second == *id;
  }
  ok = ok && per_trace.size() == 2;
  std::printf("%s\n", ok ? "every span carries its request.id" : "MISSING request.id");
  return ok ? 0 : 1;
}
