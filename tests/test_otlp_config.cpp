// OTLP configuration: the OpenTelemetry variables, the HoneyHive preset, precedence (code >
// environment > default), errors, and "setting only the standard OTEL variables makes any skein
// program export".
#include <gtest/gtest.h>

#include <cstdlib>

#include "fakes/otlp_receiver.hpp"
#include "skein/otlp.hpp"
#include "skein/skein.hpp"

using namespace skein;
using namespace std::chrono_literals;

namespace {

// Sets variables for one test and restores the environment after it. Every variable the OTLP
// configuration reads starts unset, whatever the CI machine has.
class Env {
 public:
  Env(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const char* name : kAll) save(name), ::unsetenv(name);
    for (const auto& [k, v] : vars) {
      save(k);
      ::setenv(k, v, 1);
    }
  }
  ~Env() {
    for (const auto& [k, v] : saved_) {
      if (v)
        ::setenv(k.c_str(), v->c_str(), 1);
      else
        ::unsetenv(k.c_str());
    }
  }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

 private:
  static constexpr const char* kAll[] = {"OTEL_TRACES_EXPORTER",
                                         "SKEIN_EXPORTER",
                                         "OTEL_EXPORTER_OTLP_ENDPOINT",
                                         "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                                         "OTEL_EXPORTER_OTLP_PROTOCOL",
                                         "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                                         "OTEL_EXPORTER_OTLP_HEADERS",
                                         "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                                         "OTEL_EXPORTER_OTLP_COMPRESSION",
                                         "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                                         "OTEL_EXPORTER_OTLP_TIMEOUT",
                                         "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                                         "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                                         "OTEL_BSP_SCHEDULE_DELAY",
                                         "OTEL_BSP_MAX_QUEUE_SIZE",
                                         "OTEL_BSP_EXPORT_TIMEOUT",
                                         "HH_API_KEY",
                                         "HH_API_URL",
                                         "SKEIN_API_KEY",
                                         "SKEIN_API_URL",
                                         "SKEIN_OTLP_RETRY_INITIAL_BACKOFF_MS",
                                         "SKEIN_OTLP_RETRY_MAX_BACKOFF_MS"};
  void save(const std::string& name) {
    for (const auto& s : saved_) {
      if (s.first == name) return;
    }
    const char* v = std::getenv(name.c_str());
    saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

FinalizedOptions fin(const Options& o, Error& e) {
  return finalize(o, e);
}

FinalizedOptions ok(const Options& o = {}) {
  Error e;
  FinalizedOptions f = finalize(o, e);
  EXPECT_FALSE(e) << e.message;
  return f;
}

std::string header(const FinalizedOtlp& o, std::string_view key) {
  for (const auto& [k, v] : o.headers) {
    if (k == key) return v;
  }
  return "<none>";
}

}  // namespace

TEST(OtlpConfig, Defaults) {
  Env env({});
  FinalizedOptions f = ok();
  EXPECT_EQ(f.exporter, ExporterKind::automatic);
  EXPECT_FALSE(f.otlp.endpoint_configured);
  EXPECT_EQ(f.otlp.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(f.otlp.protocol, OtlpProtocol::http_protobuf);
  EXPECT_EQ(f.otlp.compression, OtlpCompression::none);
  EXPECT_EQ(f.otlp.timeout, 10000ms);
  EXPECT_EQ(f.otlp.max_export_batch_size, 512u);
  EXPECT_EQ(f.otlp.schedule_delay, 5000ms);
  EXPECT_EQ(f.otlp.max_queue_size, 2048u);
  EXPECT_EQ(f.otlp.export_timeout, 30000ms);
  EXPECT_TRUE(f.otlp.headers.empty());
}

TEST(OtlpConfig, EndpointVariables) {
  {
    Env env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}});
    FinalizedOptions f = ok();
    EXPECT_EQ(f.otlp.endpoint, "http://collector:4318/v1/traces");
    EXPECT_TRUE(f.otlp.endpoint_configured);
    EXPECT_EQ(f.exporter, ExporterKind::otlp);  // automatic becomes OTLP
  }
  {
    Env env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/base/"}});
    EXPECT_EQ(ok().otlp.endpoint, "https://collector:4318/base/v1/traces");
  }
  {
    Env env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"},
             {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:9999/custom/path"}});
    EXPECT_EQ(ok().otlp.endpoint, "http://b:9999/custom/path");  // used as is, and wins
  }
  {
    Env env({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:9999/x"}});
    FinalizedOptions f = ok({.otlp = {.endpoint = "http://code:1/v1/traces"}});
    EXPECT_EQ(f.otlp.endpoint, "http://code:1/v1/traces");  // code wins
  }
  {
    Env env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}});
    Error e;
    fin({}, e);
    EXPECT_EQ(e.code, ErrorCode::invalid_environment);
    EXPECT_NE(e.message.find("OTEL_EXPORTER_OTLP_ENDPOINT"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("http://"), std::string::npos) << e.message;
  }
}

TEST(OtlpConfig, ExporterSelection) {
  {
    Env env({{"OTEL_TRACES_EXPORTER", "otlp"}});
    EXPECT_EQ(ok().exporter, ExporterKind::otlp);
  }
  {
    Env env({{"OTEL_TRACES_EXPORTER", "none"}, {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1"}});
    EXPECT_EQ(ok().exporter, ExporterKind::none);
  }
  {
    Env env({{"OTEL_TRACES_EXPORTER", "console"}});
    EXPECT_EQ(ok().exporter, ExporterKind::console);
  }
  {
    Env env({{"OTEL_TRACES_EXPORTER", "none"}, {"SKEIN_EXPORTER", "otlp"}});
    EXPECT_EQ(ok().exporter, ExporterKind::otlp);  // SKEIN_EXPORTER first
  }
  {
    Env env({{"OTEL_TRACES_EXPORTER", "zipkin"}});
    Error e;
    fin({}, e);
    EXPECT_NE(e.message.find("OTEL_TRACES_EXPORTER"), std::string::npos) << e.message;
  }
  {
    Env env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1"}});
    EXPECT_EQ(ok({.exporter = ExporterKind::console}).exporter, ExporterKind::console);
  }
}

TEST(OtlpConfig, ProtocolCompressionTimeouts) {
  {
    Env env({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
             {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
             {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
             {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100"},
             {"OTEL_BSP_SCHEDULE_DELAY", "250"},
             {"OTEL_BSP_MAX_QUEUE_SIZE", "1000"},
             {"OTEL_BSP_EXPORT_TIMEOUT", "7000"}});
    FinalizedOptions f = ok();
    EXPECT_EQ(f.otlp.protocol, OtlpProtocol::http_json);
    EXPECT_EQ(f.otlp.compression, OtlpCompression::gzip);
    EXPECT_EQ(f.otlp.timeout, 2500ms);
    EXPECT_EQ(f.otlp.max_export_batch_size, 100u);
    EXPECT_EQ(f.otlp.schedule_delay, 250ms);
    EXPECT_EQ(f.otlp.max_queue_size, 1000u);
    EXPECT_EQ(f.otlp.export_timeout, 7000ms);
  }
  {
    Env env({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
             {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"},
             {"OTEL_EXPORTER_OTLP_TIMEOUT", "1"},
             {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "3"}});
    FinalizedOptions f = ok();
    EXPECT_EQ(f.otlp.protocol, OtlpProtocol::http_protobuf);  // the traces variable wins
    EXPECT_EQ(f.otlp.timeout, 3ms);
  }
  {
    Env env({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}});
    EXPECT_EQ(ok({.otlp = {.protocol = OtlpProtocol::http_protobuf}}).otlp.protocol,
              OtlpProtocol::http_protobuf);
  }
  {
    Env env({{"OTEL_BSP_MAX_QUEUE_SIZE", "100"}});
    EXPECT_EQ(ok().otlp.max_export_batch_size, 100u);  // follows a smaller queue
  }
  struct Bad {
    const char* var;
    const char* value;
    const char* says;
  };
  for (const Bad& b : {Bad{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "grpc is not supported"},
                       Bad{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml", "http/protobuf or http/json"},
                       Bad{"OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", "gzip or none"},
                       Bad{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "whole number"},
                       Bad{"OTEL_EXPORTER_OTLP_TIMEOUT", "0", "whole number"},
                       Bad{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "-1", "whole number"},
                       Bad{"OTEL_BSP_SCHEDULE_DELAY", "soon", "whole number"},
                       Bad{"OTEL_BSP_EXPORT_TIMEOUT", "", nullptr}}) {
    Env env({{b.var, b.value}});
    Error e;
    fin({}, e);
    if (b.says == nullptr) {
      EXPECT_FALSE(e) << e.message;  // empty means unset
      continue;
    }
    EXPECT_EQ(e.code, ErrorCode::invalid_environment) << b.var << "=" << b.value;
    EXPECT_NE(e.message.find(b.var), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(b.says), std::string::npos) << e.message;
  }
  {
    Env env({});
    Error e;
    fin({.otlp = {.max_export_batch_size = 10, .max_queue_size = 5}}, e);
    EXPECT_EQ(e.code, ErrorCode::invalid_option);
    EXPECT_NE(e.message.find("must not exceed"), std::string::npos) << e.message;
    fin({.otlp = {.timeout = -5ms}}, e);
    EXPECT_EQ(e.code, ErrorCode::invalid_option);
    EXPECT_NE(e.message.find("Options::otlp.timeout"), std::string::npos) << e.message;
  }
}

TEST(OtlpConfig, Headers) {
  {
    Env env({{"OTEL_EXPORTER_OTLP_HEADERS", " x-team = core , x-note=a%20b%2Cc ,api-key=k%3D1"}});
    FinalizedOptions f = ok({.otlp = {.headers = {{"X-Team", "from-code"}}}});
    EXPECT_EQ(header(f.otlp, "X-Team"), "from-code");  // code wins, case-insensitively
    EXPECT_EQ(header(f.otlp, "x-team"), "<none>");
    EXPECT_EQ(header(f.otlp, "x-note"), "a b,c");
    EXPECT_EQ(header(f.otlp, "api-key"), "k=1");
  }
  {
    Env env(
        {{"OTEL_EXPORTER_OTLP_HEADERS", "a=1"}, {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "a=2,b=3"}});
    FinalizedOptions f = ok();
    EXPECT_EQ(header(f.otlp, "a"), "2");
    EXPECT_EQ(header(f.otlp, "b"), "3");
  }
  for (const char* bad : {"novalue", "=x", "a=%zz", "bad name=1", "a=%0d%0aInjected: 1"}) {
    Env env({{"OTEL_EXPORTER_OTLP_HEADERS", bad}});
    Error e;
    fin({}, e);
    EXPECT_EQ(e.code, ErrorCode::invalid_environment) << bad;
    EXPECT_NE(e.message.find("OTEL_EXPORTER_OTLP_HEADERS"), std::string::npos) << e.message;
  }
}

TEST(OtlpConfig, ApiKeyBecomesABearerToken) {
  {
    Env env({{"HH_API_KEY", "hh-secret"}, {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1"}});
    EXPECT_EQ(header(ok().otlp, "Authorization"), "Bearer hh-secret");
  }
  {
    Env env(
        {{"HH_API_KEY", "hh-secret"}, {"OTEL_EXPORTER_OTLP_HEADERS", "authorization=Basic abc"}});
    FinalizedOptions f = ok();
    EXPECT_EQ(header(f.otlp, "authorization"), "Basic abc");  // an explicit one wins
    EXPECT_EQ(header(f.otlp, "Authorization"), "<none>");
  }
}

TEST(OtlpConfig, HoneyHivePreset) {
  {
    Env env({{"HH_API_KEY", "hh-secret"}, {"HH_API_URL", "https://api.honeyhive.example/"}});
    FinalizedOptions f = ok();
    EXPECT_EQ(f.exporter, ExporterKind::otlp);
    EXPECT_EQ(f.otlp.endpoint, "https://api.honeyhive.example/opentelemetry/v1/traces");
    EXPECT_EQ(header(f.otlp, "Authorization"), "Bearer hh-secret");
  }
  {
    Env env({{"HH_API_KEY", "k"}});  // no URL: no preset, nothing is sent anywhere by surprise
    EXPECT_EQ(ok().exporter, ExporterKind::automatic);
  }
  {
    Env env({{"HH_API_KEY", "k"},
             {"HH_API_URL", "https://hh"},
             {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://col:4318"}});
    EXPECT_EQ(ok().otlp.endpoint, "http://col:4318/v1/traces");  // the standard variable wins
  }
  {
    Env env({});
    FinalizedOptions f = ok({.api_key = "code-key", .api_url = "https://hh.example"});
    EXPECT_EQ(f.otlp.endpoint, "https://hh.example/opentelemetry/v1/traces");
    EXPECT_EQ(f.exporter, ExporterKind::otlp);
  }
}

// The promise: a program that only calls Tracer::init() exports OTLP when the standard
// variables say so.
TEST(OtlpConfig, OnlyStandardVariablesMakeAProgramExport) {
  for (const char* protocol : {"http/protobuf", "http/json"}) {
    fakes::OtlpReceiver rx;
    Env env({{"OTEL_EXPORTER_OTLP_ENDPOINT", rx.base_url().c_str()},
             {"OTEL_EXPORTER_OTLP_PROTOCOL", protocol},
             {"OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme"},
             {"OTEL_BSP_SCHEDULE_DELAY", "20"}});
    Tracer t = Tracer::init({.project = "plain-program", .make_default = false});
    ASSERT_TRUE(t.enabled()) << t.error().message;
    EXPECT_EQ(t.options().exporter, ExporterKind::otlp);
    { auto s = t.span("work"); }
    ASSERT_TRUE(rx.wait_for_spans(1, 30s)) << protocol;
    auto reqs = rx.requests();
    EXPECT_EQ(reqs[0].headers.find("x-tenant")->second, "acme");
    EXPECT_EQ(rx.spans()[0].name, "work");
    t.shutdown(2s);
  }
}

TEST(OtlpConfig, HoneyHivePresetSendsToTheHoneyHivePath) {
  fakes::OtlpReceiver rx;
  Env env({{"HH_API_KEY", "hh-secret"},
           {"HH_API_URL", rx.base_url().c_str()},
           {"OTEL_BSP_SCHEDULE_DELAY", "20"}});
  Tracer t = Tracer::init({.project = "hh", .make_default = false});
  ASSERT_TRUE(t.enabled()) << t.error().message;
  { auto s = t.span("llm call", {.type = EventType::model}); }
  ASSERT_TRUE(rx.wait_for_spans(1, 30s));
  auto r = rx.requests().at(0);
  EXPECT_EQ(r.path, "/opentelemetry/v1/traces");
  EXPECT_EQ(r.authorization, "Bearer hh-secret");
  t.shutdown(2s);
}

TEST(OtlpConfig, BadVariableDisablesTheTracerWithAClearError) {
  Env env({{"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"}});
  Tracer t = Tracer::init({.project = "x", .make_default = false});
  EXPECT_FALSE(t.enabled());
  EXPECT_EQ(t.error().code, ErrorCode::invalid_environment);
  EXPECT_NE(t.error().message.find("OTEL_EXPORTER_OTLP_COMPRESSION"), std::string::npos);
}
