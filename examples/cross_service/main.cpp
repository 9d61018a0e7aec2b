// Cross-service tracing: two services on loopback, one trace.
//
//     build/bin/cross_service
//
// "frontend" handles a checkout: it opens a span, puts a request id in the baggage, and calls
// "backend" over HTTP with libcurl (skein::http::perform: a CLIENT span, headers injected).
// "backend" is a cpp-httplib server (skein::http::traced: context extracted, a SERVER span).
// Each service has its own tracer (service.name); both copy the `request.id` baggage entry onto
// every span. The program prints the combined trace tree and exits 0 when it is one tree.
#include <curl/curl.h>
#include <httplib.h>
#include <skein/http/curl.hpp>
#include <skein/http/httplib.hpp>
#include <skein/skein.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Service {
  std::string name;
  std::shared_ptr<skein::InMemoryExporter> spans = std::make_shared<skein::InMemoryExporter>();
  skein::Tracer tracer;

  explicit Service(std::string n) : name(std::move(n)) {
    tracer = skein::Tracer::init({.project = "cross-service",
                                  .service_name = name,
                                  .exporter = skein::ExporterKind::none,
                                  .exporters = {spans},
                                  .baggage_attributes = {"request.id"},
                                  .make_default = false});
  }
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

void print_tree(const std::vector<std::pair<std::string, skein::SpanData>>& spans,
                skein::SpanId parent, int depth, int& printed) {
  for (const auto& [service, s] : spans) {
    if (s.parent_span_id != parent) continue;
    ++printed;
    std::printf("%*s%s [%s] %s (%s)", depth * 2, "", depth ? "└─" : "●", service.c_str(),
                s.name.c_str(), std::string(skein::to_string(s.kind)).c_str());
    if (auto v = s.string_attribute("request.id")) std::printf(" request.id=%s", v->c_str());
    if (auto v = s.int_attribute("http.response.status_code"))
      std::printf(" status=%lld", static_cast<long long>(*v));
    std::printf("\n");
    print_tree(spans, s.span_id, depth + 1, printed);
  }
}

}  // namespace

int main() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Service frontend("frontend");
  Service backend("backend");
  if (!frontend.tracer || !backend.tracer) return 1;

  // ---- backend: a cpp-httplib server --------------------------------------------------------
  httplib::Server server;
  server.Post(
      "/charge",
      skein::http::traced(
          backend.tracer, "/charge", [&](const httplib::Request& req, httplib::Response& res) {
            // The SERVER span is current: the caller's trace continues here, with its baggage.
            auto request_id = skein::Baggage::current().get("request.id");
            auto charge = backend.tracer.span("charge_card", {.type = skein::EventType::tool});
            charge.set("amount", std::stod(req.body));
            res.set_content(
                "{\"charged\":true,\"request\":\"" + std::string(request_id.value_or("?")) + "\"}",
                "application/json");
          }));
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread server_thread([&] { server.listen_after_bind(); });
  // bind_to_any_port already listens: requests queue until the loop accepts them.

  // ---- frontend: a span, baggage, an HTTP call with libcurl --------------------------------
  std::string reply;
  skein::TraceId trace;
  {
    // Baggage first, so that the request id is on every span of the request, this one included.
    skein::BaggageScope baggage(skein::Baggage{{"request.id", "req-42"}});
    auto checkout = frontend.tracer.span("checkout", {.type = skein::EventType::chain});
    trace = checkout.context().trace_id();

    CURL* easy = curl_easy_init();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/charge";
    const std::string body = "19.99";
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply);
    CURLcode rc = skein::http::perform(frontend.tracer, easy, {.method = "POST"});
    curl_easy_cleanup(easy);
    if (rc != CURLE_OK) std::fprintf(stderr, "request failed: %s\n", curl_easy_strerror(rc));
  }
  server.stop();
  server_thread.join();

  // ---- the combined tree ----------------------------------------------------------------------
  frontend.tracer.force_flush();
  backend.tracer.force_flush();
  std::vector<std::pair<std::string, skein::SpanData>> all;
  for (auto& s : frontend.spans->spans()) all.emplace_back("frontend", s);
  for (auto& s : backend.spans->spans()) all.emplace_back("backend", s);
  std::printf("reply: %s\ntrace %s\n", reply.c_str(), trace.to_hex().c_str());
  int printed = 0;
  print_tree(all, skein::SpanId{}, 0, printed);

  bool ok = all.size() == 4 && printed == 4 && reply.find("req-42") != std::string::npos;
  for (const auto& [service, s] : all) {
    ok = ok && s.trace_id == trace && s.string_attribute("request.id") == "req-42";
  }
  std::printf("%s\n", ok ? "one trace across both services" : "BROKEN TRACE");
  curl_global_cleanup();
  return ok ? 0 : 1;
}
