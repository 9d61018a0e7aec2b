// A simulated LLM application over two services on loopback, using every pattern of the guide:
//
//   "assistant" (this process' client side)            "tools" (a cpp-httplib server)
//   ─────────────────────────────────────────           ─────────────────────────────────
//   session per conversation (user, metadata)           joins the session from the baggage
//   request id per turn (with_request_id)               adopts the request id
//   retrieval (resources: CPU, RSS)                     tool call: a flaky weather API,
//   model calls (gen_ai.* + token metrics)                 retried with backoff (retry span)
//   a tool call over HTTP (inject) ───────────────────► SERVER span (extract)
//   sampling: health checks dropped, the rest kept      parse step with resource usage
//   enrich_span / enrich_session
//
// Ends by printing the combined trace and the session, and (when skein is built with the local
// store) writes both services' spans to it: `skein sessions` / `skein show <trace>` read them.
//
//     build/bin/llm_pipeline
#include <curl/curl.h>
#include <httplib.h>
#include <skein/http/curl.hpp>
#include <skein/http/httplib.hpp>
#include <skein/skein.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../common/print_tree.hpp"

using namespace std::chrono_literals;

namespace {

// ---- the two services' tracers -----------------------------------------------------------------

struct Service {
  std::shared_ptr<skein::InMemoryExporter> spans = std::make_shared<skein::InMemoryExporter>();
  skein::Tracer tracer;
  bool stored = false;

  Service(const std::string& name, std::shared_ptr<skein::Sampler> sampler,
          std::vector<std::string> baggage_attributes = {}) {
    skein::Options o{.project = "llm-pipeline",
                     .service_name = name,
                     .session_name = "chat",
                     .exporter = skein::ExporterKind::store,
                     .exporters = {spans},
                     .sampler = sampler,
                     .baggage_attributes = std::move(baggage_attributes),
                     .make_default = false};
    tracer = skein::Tracer::init(o);
    stored = static_cast<bool>(tracer);
    if (!stored) {  // built without the store: in memory only
      o.exporter = skein::ExporterKind::none;
      tracer = skein::Tracer::init(o);
    }
  }
};

// ---- "tools": a weather tool behind a flaky upstream API ----------------------------------------

struct UpstreamDown : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::atomic<int> g_weather_calls{0};

std::string weather_api(skein::Tracer& tracer, const std::string& city) {
  auto span = tracer.span("GET api.weather.example/v1/now",
                          {.type = skein::EventType::tool, .kind = skein::SpanKind::client});
  span.set("city", city);
  std::this_thread::sleep_for(2ms);
  // The dependency is flaky: the first two calls of the run fail.
  if (g_weather_calls.fetch_add(1) < 2) throw UpstreamDown("503 from api.weather.example");
  return "{\"city\":\"" + city + "\",\"temp_c\":18,\"sky\":\"cloudy\"}";
}

void handle_weather(skein::Tracer& tracer, const httplib::Request& req, httplib::Response& res) {
  // The SERVER span is current: the caller's trace, baggage, session and request id are here.
  auto session = skein::join_session();
  auto rid = skein::with_request_id();
  std::string city = req.has_param("city") ? req.get_param_value("city") : "Paris";

  std::string body = skein::retry(tracer,
                                  {.max_attempts = 4,
                                   .initial_backoff = 5ms,
                                   .multiplier = 2.0,
                                   .max_backoff = 50ms,
                                   .jitter = 0.2,
                                   .retry_if = skein::retry_on<UpstreamDown>(),
                                   .name = "weather_api.retry",
                                   .type = skein::EventType::tool},
                                  [&] { return weather_api(tracer, city); });
  {
    auto parse = tracer.span("parse_weather", {.type = skein::EventType::tool, .resources = true});
    skein::enrich_span({.outputs = {{"temp_c", 18}, {"sky", "cloudy"}}});
  }
  res.set_content(body, "application/json");
}

// ---- "assistant": retrieval, model calls, a tool call over HTTP --------------------------------

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string call_tool(skein::Tracer& tracer, int port, const std::string& city) {
  auto span = tracer.span("tool.get_weather", {.type = skein::EventType::tool});
  span.set("gen_ai.tool.name", "get_weather");
  std::string reply;
  CURL* easy = curl_easy_init();
  const std::string url =
      "http://127.0.0.1:" + std::to_string(port) + "/tools/weather?city=" + city;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply);
  CURLcode rc = skein::http::perform(tracer, easy);  // CLIENT span, headers injected
  curl_easy_cleanup(easy);
  if (rc != CURLE_OK) throw std::runtime_error(curl_easy_strerror(rc));
  skein::enrich_span({.outputs = {{"result", reply}}});
  return reply;
}

std::vector<std::string> retrieve(skein::Tracer& tracer, const std::string& question) {
  auto span = tracer.span("retrieve", {.type = skein::EventType::tool, .resources = true});
  // "Embedding" the question and scoring a small corpus: some CPU and memory to show.
  std::vector<double> index(200'000);
  double best = 0;
  for (std::size_t i = 0; i < index.size(); ++i) {
    index[i] = std::sin(static_cast<double>(i) * static_cast<double>(question.size()));
    best = std::max(best, index[i]);
  }
  std::vector<std::string> docs = {"weather-faq.md", "packing-list.md"};
  skein::enrich_span(
      {.metrics = {{"documents", static_cast<int>(docs.size())}, {"best_score", best}},
       .config = {{"index", "faq-v3"}, {"top_k", 2}}});
  return docs;
}

// One model call: gen_ai.* attributes (OpenTelemetry GenAI) and token counts as metrics.
std::string generate(skein::Tracer& tracer, const std::string& step, const std::string& prompt,
                     int prompt_tokens, int completion_tokens, const std::string& output) {
  auto span = tracer.span("llm." + step, {.type = skein::EventType::model,
                                          .kind = skein::SpanKind::client,
                                          .attributes = {{"gen_ai.request.model", "gpt-4o-mini"}}});
  span.set({{"gen_ai.system", "openai"},
            {"gen_ai.operation.name", "chat"},
            {"gen_ai.usage.input_tokens", prompt_tokens},
            {"gen_ai.usage.output_tokens", completion_tokens},
            {"gen_ai.response.model", "gpt-4o-mini-2024-07-18"}});
  std::this_thread::sleep_for(3ms);  // "latency"
  skein::enrich_span({.metrics = {{"prompt_tokens", prompt_tokens},
                                  {"completion_tokens", completion_tokens},
                                  {"total_tokens", prompt_tokens + completion_tokens}},
                      .inputs = {{"prompt", prompt}},
                      .outputs = {{"completion", output}},
                      .config = {{"temperature", 0.2}}});
  return output;
}

std::string answer(skein::Tracer& tracer, int port, const std::string& question) {
  auto rid = skein::with_request_id();  // one id per turn, on every span of both services
  auto turn = tracer.span("turn", {.type = skein::EventType::chain});
  skein::enrich_span({.inputs = {{"question", question}}});
  auto docs = retrieve(tracer, question);
  generate(tracer, "plan", question, 412, 28, "call get_weather(city=Lisbon)");
  std::string weather = call_tool(tracer, port, "Lisbon");
  std::string reply = generate(tracer, "respond", question + " " + weather, 655, 61,
                               "It is 18°C and cloudy in Lisbon: bring a light jacket.");
  skein::enrich_span({.outputs = {{"answer", reply}}});
  return reply;
}

// Which spans came from the tools service, for the labels of the printed tree.
std::set<std::uint64_t> g_tool_spans;
std::string service_of(const skein::SpanData& s) {
  return g_tool_spans.count(s.span_id.value) != 0 ? "tools" : "assistant";
}

}  // namespace

int main() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  // Sampling: health checks are never recorded; everything else is (consistently, so the tools
  // service keeps exactly what the assistant keeps).
  Service assistant(
      "assistant",
      skein::rules(
          {{.name = "health checks", .span_name = "health_check", .sampler = skein::always_off()}},
          skein::probability(1.0)));
  // The tools service copies the incoming request and session ids onto every span, its SERVER
  // span included (which starts before the handler joins the session).
  Service tools("tools", skein::parent_based(skein::probability(1.0)),
                {"request.id", "session.id"});
  if (!assistant.tracer || !tools.tracer) return 1;

  httplib::Server server;
  server.Get("/tools/weather",
             skein::http::traced(tools.tracer, "/tools/weather",
                                 [&](const httplib::Request& req, httplib::Response& res) {
                                   handle_weather(tools.tracer, req, res);
                                 }));
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread server_thread([&] { server.listen_after_bind(); });

  std::string session_id;
  bool answered = true;
  {
    auto health = assistant.tracer.span("health_check");  // sampled out: a no-op
  }
  {
    auto session =
        assistant.tracer.session({.name = "trip_assistant",
                                  .user_id = "u-42",
                                  .metadata = {{"app_version", "1.4.2"}, {"channel", "web"}},
                                  .inputs = {{"first_message", "What should I pack?"}}});
    session_id = session.id();
    try {
      std::string a1 = answer(assistant.tracer, port, "What should I pack for Lisbon tomorrow?");
      std::printf("assistant: %s\n", a1.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "turn failed: %s\n", e.what());
      answered = false;
    }
    skein::enrich_session({.metrics = {{"turns", 1}},
                           .feedback = {{"thumbs_up", true}},
                           .user_properties = {{"plan", "pro"}}});
  }
  server.stop();
  server_thread.join();

  assistant.tracer.force_flush();
  tools.tracer.force_flush();
  std::vector<skein::SpanData> all = assistant.spans->spans();
  for (auto& s : tools.spans->spans()) {
    g_tool_spans.insert(s.span_id.value);
    all.push_back(s);
  }
  std::printf("\nsession %s\n", session_id.c_str());
  int printed = example::print_trees(
      all,
      {.keys = {"request.id", "session.operation", "gen_ai.usage.*",
                "honeyhive_metrics.total_tokens", "retry.attempts", "retry.succeeded_at_attempt",
                "resources.cpu_ms", "resources.rss_delta_bytes", "http.response.status_code"},
       .events = false,
       .label = &service_of});

  // Checks: one trace, one session, one request id across both services, the retry succeeded.
  bool ok = answered && printed == static_cast<int>(all.size()) && all.size() == 13;
  std::set<std::string> traces, sessions, requests;
  for (const auto& s : all) {
    traces.insert(s.trace_id.to_hex());
    sessions.insert(s.string_attribute("honeyhive.session_id").value_or("none"));
    if (s.event_type != skein::EventType::session) {
      requests.insert(s.string_attribute("request.id").value_or("none"));
    }
    if (s.name == "weather_api.retry")
      ok = ok && s.int_attribute("retry.succeeded_at_attempt") == 3;
  }
  ok = ok && traces.size() == 1 && sessions.size() == 1 && *sessions.begin() == session_id &&
       requests.size() == 1 && *requests.begin() != "none";
  skein::Stats st = assistant.tracer.stats();
  std::printf(
      "\nassistant: %llu spans, %llu root(s) sampled out (health check); tools: %zu spans\n",
      static_cast<unsigned long long>(st.spans_sampled),
      static_cast<unsigned long long>(st.spans_unsampled), tools.spans->size());
  if (assistant.stored) {
    std::printf("written to the local store too: `skein sessions`, `skein session %s`\n",
                session_id.c_str());
  }
  std::printf("%s\n", ok ? "one trace, one session, one request id across two services"
                         : "LLM PIPELINE BROKEN");
  assistant.tracer.shutdown();
  tools.tracer.shutdown();
  curl_global_cleanup();
  return ok ? 0 : 1;
}
