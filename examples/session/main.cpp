// Sessions: a chat session whose spans all carry session.id / honeyhive.session_id and an
// operation number, enriched from a nested span and from another thread; then per-request
// sessions handled concurrently.
//
//     build/bin/session
#include <skein/skein.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "../common/print_tree.hpp"

namespace {

std::string answer(skein::Tracer& tracer, const std::string& question) {
  auto turn = tracer.span("turn", {.type = skein::EventType::chain});
  {
    auto retrieve = tracer.span("retrieve", {.type = skein::EventType::tool});
    skein::enrich_span({.metrics = {{"documents", 3}}});
  }
  auto llm = tracer.span("generate", {.type = skein::EventType::model});
  // From deep inside: lands on the session's root span.
  skein::enrich_session({.metrics = {{"last_question_chars", static_cast<int>(question.size())}}});
  return "answer to " + question;
}

}  // namespace

int main() {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init(
      {.project = "session-example", .exporter = skein::ExporterKind::none, .exporters = {mem}});
  std::string chat_id;
  {
    auto session = tracer.session({.name = "support_chat",
                                   .user_id = "u-42",
                                   .metadata = {{"channel", "web"}},
                                   .inputs = {{"topic", "billing"}}});
    chat_id = session.id();
    answer(tracer, "why was I charged twice?");
    answer(tracer, "can I get a refund?");
    // Another thread, same session (skein::wrap carries it).
    std::thread(skein::wrap([&] {
      auto feedback = tracer.span("collect_feedback");
      skein::enrich_session({.feedback = {{"rating", 5}, {"resolved", true}},
                             .outputs = {{"summary", "refund issued"}},
                             .user_properties = {{"tier", "gold"}}});
    })).join();
  }

  // Per-request sessions, four at once, each numbered on its own.
  std::vector<std::thread> requests;
  for (int r = 0; r < 4; ++r) {
    requests.emplace_back([&, r] {
      auto session = tracer.session(
          {.name = "api_request", .user_id = "u-" + std::to_string(r), .new_root = true});
      for (int k = 0; k < 3; ++k) auto step = tracer.span("step");
    });
  }
  for (auto& t : requests) t.join();
  tracer.force_flush();

  auto spans = mem->spans();
  int printed = example::print_trees(
      spans,
      {.keys = {"honeyhive.session_id", "session.operation", "user.id", "honeyhive_feedback.*",
                "honeyhive_outputs.*", "honeyhive_metrics.*", "session.operations"}});
  bool ok = printed == static_cast<int>(spans.size()) && spans.size() == 8 + 16;
  std::map<std::string, int> per_session;
  for (const auto& s : spans) {
    auto sid = s.string_attribute("honeyhive.session_id");
    ok = ok && sid.has_value() && s.string_attribute("session.id") == sid;
    if (sid) per_session[*sid] += s.event_type == skein::EventType::session ? 0 : 1;
  }
  ok = ok && per_session.size() == 5 && per_session[chat_id] == 7;
  for (const auto& s : spans) {
    if (s.name == "support_chat") {
      ok = ok && s.int_attribute("honeyhive_feedback.rating") == 5 &&
           s.int_attribute("session.operations") == 7;
    }
  }
  std::printf("%s\n", ok ? "5 sessions, every span numbered and carrying its session id"
                         : "BROKEN SESSIONS");
  return ok ? 0 : 1;
}
