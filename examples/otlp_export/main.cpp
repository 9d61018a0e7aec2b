// OTLP export: send a small trace to any OpenTelemetry backend with the standard variables.
//
//     # a local OpenTelemetry Collector (or Jaeger, Tempo, Phoenix... anything speaking OTLP/HTTP)
//     OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 build/bin/otlp_export
//
//     # HoneyHive
//     HH_API_KEY=... HH_API_URL=https://api.honeyhive.ai HH_PROJECT=my-project
//     build/bin/otlp_export
//
// Also read: OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf | http/json), OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_EXPORTER_OTLP_COMPRESSION=gzip, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_BSP_*. With no endpoint
// configured, the example starts a receiver of its own on 127.0.0.1 and sends there, so that it
// always has somewhere to send (this is how CI runs it).
#include <httplib.h>
#include <skein/otlp.hpp>
#include <skein/skein.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

// A stand-in OTLP/HTTP receiver: accepts POST /v1/traces, counts, answers 200.
class LocalReceiver {
 public:
  LocalReceiver() {
    server_.Post("/v1/traces", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      bytes_ += req.body.size();
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~LocalReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces";
  }
  int requests() const { return requests_; }
  long bytes() const { return bytes_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<long> bytes_{0};
};

bool endpoint_configured() {
  // The same rule as the SDK's: an OTLP endpoint variable, or the HoneyHive pair.
  for (const char* v : {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}) {
    if (const char* s = std::getenv(v); s != nullptr && *s != '\0') return true;
  }
  const char* key = std::getenv("HH_API_KEY");
  const char* url = std::getenv("HH_API_URL");
  return key != nullptr && *key != '\0' && url != nullptr && *url != '\0';
}

std::string answer(const std::string& question) {
  auto span =
      skein::span("generate", {.type = skein::EventType::model, .kind = skein::SpanKind::client});
  span.set({{"gen_ai.system", "example"}, {"gen_ai.request.model", "tiny-model"}});
  skein::enrich_span({.metrics = {{"tokens", 42}}, .inputs = {{"question", question}}});
  std::string out = "It depends.";
  skein::enrich_span({.outputs = {{"answer", out}}});
  return out;
}

}  // namespace

int main() {
  std::unique_ptr<LocalReceiver> local;
  skein::Options options{
      .project = "otlp-export-example", .source = "example", .exporter = skein::ExporterKind::otlp};
  if (!endpoint_configured()) {
    local = std::make_unique<LocalReceiver>();
    options.otlp.endpoint = local->endpoint();
    std::printf("no OTLP endpoint configured: sending to a local receiver at %s\n",
                local->endpoint().c_str());
  }
  auto tracer = skein::Tracer::init(options);
  if (!tracer) {
    std::fprintf(stderr, "tracing disabled: %s\n", tracer.error().message.c_str());
    return 1;
  }
  std::printf("exporting to %s (%s)\n", tracer.options().otlp.endpoint.c_str(),
              tracer.options().otlp.protocol == skein::OtlpProtocol::http_json ? "http/json"
                                                                               : "http/protobuf");

  {
    auto request = skein::span("handle question",
                               {.type = skein::EventType::chain, .kind = skein::SpanKind::server});
    {
      auto retrieve = skein::span("retrieve", {.type = skein::EventType::tool});
      retrieve.set("docs.count", 3);
      retrieve.add_event("cache.miss", {{"cache.key", "q:42"}});
    }
    request.set("answer.length", static_cast<std::int64_t>(answer("What is OTLP?").size()));
  }

  bool flushed = tracer.force_flush(std::chrono::seconds(10));
  skein::Stats s = tracer.stats();
  std::printf(
      "spans: %llu sent, %llu rejected, %llu failed, %llu dropped, %llu retries%s\n",
      static_cast<unsigned long long>(s.export_sent),
      static_cast<unsigned long long>(s.export_rejected),
      static_cast<unsigned long long>(s.export_failed),
      static_cast<unsigned long long>(s.export_dropped_queue_full + s.export_dropped_shutdown),
      static_cast<unsigned long long>(s.export_retries), flushed ? "" : " (flush timed out)");
  tracer.shutdown();
  if (local) {
    std::printf("local receiver: %d request(s), %ld bytes\n", local->requests(), local->bytes());
    return s.export_sent == 3 && local->requests() > 0 ? 0 : 1;
  }
  return 0;
}
