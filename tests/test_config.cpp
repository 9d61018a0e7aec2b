// Configuration: code > environment > default for every field, the HoneyHive and OpenTelemetry
// variables, OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED, and invalid values reported as error
// values (never thrown).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fakes/collecting.hpp"
#include "fakes/tail_traces.hpp"
#include "skein/skein.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

// Clears every SKEIN_*, HH_*, OTEL_* and NO_COLOR variable for the test and restores the
// environment afterwards, so that neither the host nor another test leaks in.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry(*e);
      std::size_t eq = entry.find('=');
      if (eq == std::string::npos) continue;
      std::string name = entry.substr(0, eq);
      if (name.starts_with("SKEIN_") || name.starts_with("HH_") || name.starts_with("OTEL_") ||
          name == "NO_COLOR") {
        saved_.emplace(name, entry.substr(eq + 1));
      }
    }
    for (const auto& [name, value] : saved_) unsetenv(name.c_str());
  }
  void TearDown() override {
    for (const auto& name : set_) unsetenv(name.c_str());
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }
  void set(const std::string& name, const std::string& value) {
    setenv(name.c_str(), value.c_str(), 1);
    set_.push_back(name);
  }
  static skein::FinalizedOptions finalize(const skein::Options& o, skein::Error& e) {
    return skein::finalize(o, e);
  }
  static skein::FinalizedOptions ok(const skein::Options& o = {}) {
    skein::Error e;
    auto f = skein::finalize(o, e);
    EXPECT_FALSE(e) << e.message;
    return f;
  }
  static skein::Error error_of(const skein::Options& o = {}) {
    skein::Error e;
    (void)skein::finalize(o, e);
    return e;
  }

 private:
  std::map<std::string, std::string> saved_;
  std::vector<std::string> set_;
};

bool is_uuid_v4(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i])) ||
               std::isupper(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return s[14] == '4' && std::string("89ab").find(s[19]) != std::string::npos;
}

std::optional<std::string> find(const std::vector<std::pair<std::string, std::string>>& kv,
                                const std::string& key) {
  for (const auto& [k, v] : kv) {
    if (k == key) return v;
  }
  return std::nullopt;
}

TEST_F(ConfigTest, Defaults) {
  auto f = ok();
  EXPECT_EQ(f.project, "default");
  EXPECT_EQ(f.service_name, "default");
  EXPECT_EQ(f.source, "dev");
  EXPECT_EQ(f.session_name, "default");
  EXPECT_TRUE(is_uuid_v4(f.session_id)) << f.session_id;
  EXPECT_EQ(f.api_key, "");
  EXPECT_EQ(f.exporter, skein::ExporterKind::automatic);
  EXPECT_EQ(f.file_path, "skein-traces.jsonl");
  EXPECT_FALSE(f.disabled);
  EXPECT_EQ(f.max_attributes, 1024u);
  EXPECT_EQ(f.max_events, 1024u);
  EXPECT_EQ(f.max_links, 128u);
  EXPECT_EQ(f.max_value_length, 65536u);
  EXPECT_EQ(f.thread_buffer_spans, 8192u);
  EXPECT_EQ(f.flush_interval, 20ms);
  EXPECT_EQ(f.shutdown_timeout, 3000ms);
  EXPECT_TRUE(f.make_default);
  // Each finalize draws a new session id.
  EXPECT_NE(ok().session_id, f.session_id);
}

TEST_F(ConfigTest, ProjectDerivesServiceAndSessionName) {
  auto f = ok({.project = "shop"});
  EXPECT_EQ(f.project, "shop");
  EXPECT_EQ(f.service_name, "shop");
  EXPECT_EQ(f.session_name, "shop");
}

TEST_F(ConfigTest, ProjectPrecedenceCodeThenSkeinThenHoneyHiveAlias) {
  set("HH_PROJECT", "from-hh");
  EXPECT_EQ(ok().project, "from-hh");
  EXPECT_EQ(ok().service_name, "from-hh");
  set("SKEIN_PROJECT", "from-skein");
  EXPECT_EQ(ok().project, "from-skein");
  EXPECT_EQ(ok({.project = "from-code"}).project, "from-code");
}

TEST_F(ConfigTest, HoneyHiveAliases) {
  set("HH_API_KEY", "hh-key");
  set("HH_SOURCE", "prod");
  set("HH_API_URL", "https://api.example");
  set("HH_SESSION_NAME", "hh-session");
  set("HH_SESSION_ID", "3f2b1c4d-0000-4000-8000-000000000001");
  auto f = ok();
  EXPECT_EQ(f.api_key, "hh-key");
  EXPECT_EQ(f.source, "prod");
  EXPECT_EQ(f.api_url, "https://api.example");
  EXPECT_EQ(f.session_name, "hh-session");
  EXPECT_EQ(f.session_id, "3f2b1c4d-0000-4000-8000-000000000001");

  set("SKEIN_API_KEY", "skein-key");
  set("SKEIN_SOURCE", "staging");
  set("SKEIN_API_URL", "https://skein.example");
  auto g = ok();
  EXPECT_EQ(g.api_key, "skein-key");
  EXPECT_EQ(g.source, "staging");
  EXPECT_EQ(g.api_url, "https://skein.example");

  auto h = ok({.source = "code", .api_key = "code-key", .api_url = "https://code.example"});
  EXPECT_EQ(h.api_key, "code-key");
  EXPECT_EQ(h.source, "code");
  EXPECT_EQ(h.api_url, "https://code.example");
}

TEST_F(ConfigTest, ServiceNamePrecedence) {
  set("SKEIN_SERVICE_NAME", "skein-svc");
  EXPECT_EQ(ok({.project = "p"}).service_name, "skein-svc");
  set("OTEL_SERVICE_NAME", "otel-svc");
  EXPECT_EQ(ok({.project = "p"}).service_name, "otel-svc");
  EXPECT_EQ(ok({.project = "p", .service_name = "code-svc"}).service_name, "code-svc");
}

// OpenTelemetry: service.name in OTEL_RESOURCE_ATTRIBUTES names the service unless
// OTEL_SERVICE_NAME (or code) does; it is environment, so it beats the default (the project).
TEST_F(ConfigTest, ServiceNameFromResourceAttributes) {
  set("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource");
  EXPECT_EQ(ok({.project = "p"}).service_name, "from-resource");
  set("OTEL_SERVICE_NAME", "otel-svc");
  EXPECT_EQ(ok({.project = "p"}).service_name, "otel-svc");
  EXPECT_EQ(ok({.project = "p", .service_name = "code"}).service_name, "code");
}

TEST_F(ConfigTest, EmptyVariableCountsAsUnset) {
  set("SKEIN_PROJECT", "");
  set("HH_PROJECT", "fallback");
  EXPECT_EQ(ok().project, "fallback");
}

TEST_F(ConfigTest, ResourceAttributesFromEnvironmentWithPercentDecoding) {
  set("OTEL_RESOURCE_ATTRIBUTES",
      "deployment.environment=prod, team=search%20infra,path=%2Fv1%2Ftraces,empty=");
  auto f = ok({.resource_attributes = {{"team", "from-code"}}});
  EXPECT_EQ(find(f.resource_attributes, "deployment.environment"), "prod");
  EXPECT_EQ(find(f.resource_attributes, "team"), "from-code");  // code wins
  EXPECT_EQ(find(f.resource_attributes, "path"), "/v1/traces");
  EXPECT_EQ(find(f.resource_attributes, "empty"), "");
  EXPECT_EQ(std::count_if(f.resource_attributes.begin(), f.resource_attributes.end(),
                          [](const auto& kv) { return kv.first == "team"; }),
            1);
}

TEST_F(ConfigTest, MalformedResourceAttributesAreAnError) {
  for (const char* bad : {"novalue", "=value", "a=1,broken", "a=%zz", "a=%4"}) {
    set("OTEL_RESOURCE_ATTRIBUTES", bad);
    skein::Error e = error_of();
    EXPECT_EQ(e.code, skein::ErrorCode::invalid_environment) << bad;
    EXPECT_NE(e.message.find("OTEL_RESOURCE_ATTRIBUTES"), std::string::npos) << e.message;
  }
}

TEST_F(ConfigTest, ResourceAttributesReachTheExporter) {
  set("OTEL_RESOURCE_ATTRIBUTES", "region=eu%2Dwest,service.name=ignored");
  struct ResourceCapture : skein::Exporter {
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> attributes;
    skein::ExportResult export_spans(std::span<const skein::SpanView> batch) noexcept override {
      std::lock_guard<std::mutex> lock(mu);
      if (!batch.empty() && batch[0].resource != nullptr)
        attributes = batch[0].resource->attributes;
      return skein::ExportResult::success;
    }
  };
  auto capture = std::make_shared<ResourceCapture>();
  auto tracer = skein::Tracer::init({.project = "p",
                                     .service_name = "svc",
                                     .exporter = skein::ExporterKind::none,
                                     .exporters = {capture},
                                     .make_default = false});
  ASSERT_TRUE(tracer.enabled()) << tracer.error().message;
  { auto s = tracer.span("s"); }
  ASSERT_TRUE(tracer.force_flush());
  std::lock_guard<std::mutex> lock(capture->mu);
  EXPECT_EQ(find(capture->attributes, "region"), "eu-west");
  EXPECT_EQ(find(capture->attributes, "service.name"), "svc");  // the SDK's own wins
  EXPECT_EQ(find(capture->attributes, "telemetry.sdk.language"), "cpp");
  EXPECT_EQ(find(capture->attributes, "honeyhive.project"), "p");
}

TEST_F(ConfigTest, OtelSdkDisabled) {
  set("OTEL_SDK_DISABLED", "true");
  EXPECT_TRUE(ok().disabled);
  set("OTEL_SDK_DISABLED", " TRUE ");
  EXPECT_TRUE(ok().disabled);
  // The OpenTelemetry rule: only "true" disables; anything else is false, not an error.
  set("OTEL_SDK_DISABLED", "1");
  EXPECT_FALSE(ok().disabled);
  set("OTEL_SDK_DISABLED", "nonsense");
  EXPECT_FALSE(ok().disabled);
  set("OTEL_SDK_DISABLED", "true");
  EXPECT_FALSE(ok({.disabled = false}).disabled);  // code wins
}

TEST_F(ConfigTest, DisabledTracerIsANoOp) {
  set("OTEL_SDK_DISABLED", "true");
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init(
      {.exporter = skein::ExporterKind::none, .exporters = {mem}, .make_default = false});
  EXPECT_FALSE(tracer.enabled());
  EXPECT_FALSE(static_cast<bool>(tracer));
  EXPECT_EQ(tracer.error().code, skein::ErrorCode::disabled);
  {
    auto s = tracer.span("s");
    EXPECT_FALSE(s.recording());
    EXPECT_FALSE(s.context().valid());
  }
  EXPECT_TRUE(tracer.force_flush(100ms));
  EXPECT_TRUE(tracer.shutdown(100ms));
  EXPECT_EQ(mem->size(), 0u);
  EXPECT_EQ(tracer.stats().spans_started, 0u);
}

TEST_F(ConfigTest, SkeinDisabledBooleans) {
  for (const char* yes : {"true", "1", "yes", "on", "TRUE"}) {
    set("SKEIN_DISABLED", yes);
    EXPECT_TRUE(ok().disabled) << yes;
  }
  for (const char* no : {"false", "0", "no", "off"}) {
    set("SKEIN_DISABLED", no);
    EXPECT_FALSE(ok().disabled) << no;
  }
  set("SKEIN_DISABLED", "maybe");
  skein::Error e = error_of();
  EXPECT_EQ(e.code, skein::ErrorCode::invalid_environment);
  EXPECT_NE(e.message.find("SKEIN_DISABLED"), std::string::npos) << e.message;
}

TEST_F(ConfigTest, LimitsFromEnvironment) {
  set("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "10");
  set("OTEL_SPAN_EVENT_COUNT_LIMIT", "11");
  set("OTEL_SPAN_LINK_COUNT_LIMIT", "12");
  set("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "13");
  auto f = ok();
  EXPECT_EQ(f.max_attributes, 10u);
  EXPECT_EQ(f.max_events, 11u);
  EXPECT_EQ(f.max_links, 12u);
  EXPECT_EQ(f.max_value_length, 13u);
  set("SKEIN_SPAN_ATTRIBUTE_COUNT_LIMIT", " 20 ");
  set("SKEIN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "23");
  auto g = ok();
  EXPECT_EQ(g.max_attributes, 20u);
  EXPECT_EQ(g.max_value_length, 23u);
  auto h = ok({.limits = {.max_attributes = 30, .max_value_length = 33}});
  EXPECT_EQ(h.max_attributes, 30u);
  EXPECT_EQ(h.max_value_length, 33u);
  EXPECT_EQ(h.max_events, 11u);
}

TEST_F(ConfigTest, PipelineSettingsFromEnvironment) {
  set("SKEIN_THREAD_BUFFER_SPANS", "64");
  set("SKEIN_FLUSH_INTERVAL_MS", "5");
  set("SKEIN_SHUTDOWN_TIMEOUT_MS", "250");
  set("SKEIN_EXPORTER", "None");
  set("SKEIN_FILE_PATH", "/tmp/x.jsonl");
  auto f = ok();
  EXPECT_EQ(f.thread_buffer_spans, 64u);
  EXPECT_EQ(f.flush_interval, 5ms);
  EXPECT_EQ(f.shutdown_timeout, 250ms);
  EXPECT_EQ(f.exporter, skein::ExporterKind::none);
  EXPECT_EQ(f.file_path, "/tmp/x.jsonl");
  auto g = ok({.exporter = skein::ExporterKind::console,
               .thread_buffer_spans = 32,
               .flush_interval = 7ms,
               .shutdown_timeout = 100ms});
  EXPECT_EQ(g.exporter, skein::ExporterKind::console);
  EXPECT_EQ(g.thread_buffer_spans, 32u);
  EXPECT_EQ(g.flush_interval, 7ms);
  EXPECT_EQ(g.shutdown_timeout, 100ms);
}

TEST_F(ConfigTest, InvalidEnvironmentValuesAreErrorsNamingTheVariable) {
  const std::pair<const char*, const char*> cases[] = {
      {"SKEIN_SPAN_ATTRIBUTE_COUNT_LIMIT", "abc"},
      {"SKEIN_SPAN_EVENT_COUNT_LIMIT", "-1"},
      {"OTEL_SPAN_LINK_COUNT_LIMIT", "12x"},
      {"SKEIN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "0"},
      {"SKEIN_THREAD_BUFFER_SPANS", "0"},
      {"SKEIN_THREAD_BUFFER_SPANS", "99999999999"},
      {"SKEIN_FLUSH_INTERVAL_MS", "0"},
      {"SKEIN_EXPORTER", "carrier-pigeon"},
  };
  for (const auto& [name, value] : cases) {
    set(name, value);
    skein::Error e = error_of();
    EXPECT_EQ(e.code, skein::ErrorCode::invalid_environment) << name << "=" << value;
    EXPECT_NE(e.message.find(name), std::string::npos) << e.message;
    unsetenv(name);
  }
}

TEST_F(ConfigTest, InvalidOptionsAreErrors) {
  EXPECT_EQ(error_of({.project = ""}).code, skein::ErrorCode::invalid_option);
  EXPECT_EQ(error_of({.service_name = ""}).code, skein::ErrorCode::invalid_option);
  EXPECT_EQ(error_of({.exporters = {nullptr}}).code, skein::ErrorCode::invalid_option);
  EXPECT_EQ(error_of({.limits = {.max_attributes = 0}}).code, skein::ErrorCode::invalid_option);
  EXPECT_EQ(error_of({.thread_buffer_spans = 0}).code, skein::ErrorCode::invalid_option);
  EXPECT_EQ(error_of({.flush_interval = 0ms}).code, skein::ErrorCode::invalid_option);
  skein::Error e = error_of({.limits = {.max_value_length = 0}});
  EXPECT_EQ(e.code, skein::ErrorCode::invalid_option);
  EXPECT_NE(e.message.find("max_value_length"), std::string::npos) << e.message;
  // An invalid option is reported even when the environment is invalid too: the first error wins,
  // but there is always one.
  set("SKEIN_EXPORTER", "bogus");
  EXPECT_TRUE(static_cast<bool>(error_of({.project = ""})));
}

TEST_F(ConfigTest, InitNeverThrowsAndReturnsANoOpTracerWithTheError) {
  set("SKEIN_SPAN_EVENT_COUNT_LIMIT", "many");
  skein::Tracer tracer;
  EXPECT_NO_THROW(
      tracer = skein::Tracer::init({.exporter = skein::ExporterKind::none, .make_default = false}));
  EXPECT_FALSE(tracer.enabled());
  EXPECT_EQ(tracer.error().code, skein::ErrorCode::invalid_environment);
  EXPECT_NE(tracer.error().message.find("SKEIN_SPAN_EVENT_COUNT_LIMIT"), std::string::npos);
  {
    auto s = tracer.span("s");
    EXPECT_FALSE(s.recording());
    s.set("k", 1);
  }
  EXPECT_TRUE(tracer.force_flush(50ms));
  EXPECT_TRUE(tracer.shutdown(50ms));
  auto st = tracer.stats();
  EXPECT_EQ(st.spans_started, 0u);
  EXPECT_EQ(st.spans_exported, 0u);
}

TEST_F(ConfigTest, UnopenableFileIsExporterUnavailable) {
  auto tracer = skein::Tracer::init({.exporter = skein::ExporterKind::file,
                                     .file_path = "/nonexistent-dir/for/skein/traces.jsonl",
                                     .make_default = false});
  EXPECT_FALSE(tracer.enabled());
  EXPECT_EQ(tracer.error().code, skein::ErrorCode::exporter_unavailable);
  EXPECT_NE(tracer.error().message.find("/nonexistent-dir/for/skein/traces.jsonl"),
            std::string::npos)
      << tracer.error().message;
}

TEST_F(ConfigTest, FileExporterFromEnvironment) {
  auto path = std::filesystem::temp_directory_path() /
              ("skein-config-test-" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  set("SKEIN_EXPORTER", "file");
  set("SKEIN_FILE_PATH", path.string());
  {
    auto tracer = skein::Tracer::init({.make_default = false});
    ASSERT_TRUE(tracer.enabled()) << tracer.error().message;
    EXPECT_EQ(tracer.options().exporter, skein::ExporterKind::file);
    { auto s = tracer.span("to-file"); }
    EXPECT_TRUE(tracer.shutdown(2000ms));
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_GT(std::filesystem::file_size(path), 0u);
  std::filesystem::remove(path);
}

TEST_F(ConfigTest, TailSamplingSettingsFromEnvironment) {
  EXPECT_FALSE(ok().tail_sampling.has_value());  // off by default
  set("SKEIN_TAIL_SLOW_MS", "250");              // tuning alone does not turn it on
  EXPECT_FALSE(ok().tail_sampling.has_value());
  set("SKEIN_TAIL_SAMPLING", "on");
  set("SKEIN_TAIL_KEEP_ERRORS", "false");
  set("SKEIN_TAIL_PROBABILITY", "0.125");
  set("SKEIN_TAIL_MAX_WAIT_MS", "1500");
  set("SKEIN_TAIL_MAX_SPANS", "4096");
  auto f = ok();
  ASSERT_TRUE(f.tail_sampling.has_value());
  EXPECT_FALSE(f.tail_sampling->keep_errors);
  EXPECT_EQ(f.tail_sampling->slow_threshold, 250ms);
  EXPECT_EQ(f.tail_sampling->probability, 0.125);
  EXPECT_EQ(f.tail_sampling->max_wait, 1500ms);
  EXPECT_EQ(f.tail_sampling->max_spans, 4096u);
  // Code beats the environment, as a whole.
  auto g = ok({.tail_sampling = skein::TailSamplingSettings{.slow_threshold = 5ms}});
  ASSERT_TRUE(g.tail_sampling.has_value());
  EXPECT_TRUE(g.tail_sampling->keep_errors);
  EXPECT_EQ(g.tail_sampling->slow_threshold, 5ms);
  EXPECT_EQ(g.tail_sampling->probability, 0.0);
  set("SKEIN_TAIL_SAMPLING", "off");
  EXPECT_FALSE(ok().tail_sampling.has_value());
}

TEST_F(ConfigTest, TailSamplingDefaultsMatchTheStage) {
  const skein::TailSamplingSettings s;
  const skein::TailSamplingOptions o;
  EXPECT_EQ(s.keep_errors, o.keep_errors);
  EXPECT_EQ(s.slow_threshold, o.slow_threshold);
  EXPECT_EQ(s.probability, o.probability);
  EXPECT_EQ(s.max_wait, o.max_wait);
  EXPECT_EQ(s.max_spans, o.max_spans);
}

TEST_F(ConfigTest, InvalidTailSamplingValuesAreErrors) {
  set("SKEIN_TAIL_SAMPLING", "on");
  const std::pair<const char*, const char*> cases[] = {
      {"SKEIN_TAIL_SAMPLING", "maybe"},   {"SKEIN_TAIL_KEEP_ERRORS", "2"},
      {"SKEIN_TAIL_SLOW_MS", "-5"},       {"SKEIN_TAIL_PROBABILITY", "1.5"},
      {"SKEIN_TAIL_PROBABILITY", "half"}, {"SKEIN_TAIL_MAX_WAIT_MS", "0"},
      {"SKEIN_TAIL_MAX_SPANS", "0"},
  };
  for (const auto& [name, value] : cases) {
    set(name, value);
    skein::Error e = error_of();
    EXPECT_EQ(e.code, skein::ErrorCode::invalid_environment) << name << "=" << value;
    EXPECT_NE(e.message.find(name), std::string::npos) << e.message;
    set("SKEIN_TAIL_SAMPLING", "on");
    if (std::string(name) != "SKEIN_TAIL_SAMPLING") unsetenv(name);
  }
  unsetenv("SKEIN_TAIL_SAMPLING");
  EXPECT_EQ(error_of({.tail_sampling = skein::TailSamplingSettings{.probability = -0.5}}).code,
            skein::ErrorCode::invalid_option);
  EXPECT_EQ(error_of({.tail_sampling = skein::TailSamplingSettings{.max_spans = 0}}).code,
            skein::ErrorCode::invalid_option);
}

// SKEIN_TAIL_SAMPLING puts one tail-sampling stage in front of every exporter: a failed trace
// and a slow one reach the exporter whole, a fast healthy one is dropped and counted.
TEST_F(ConfigTest, TailSamplingFromEnvironmentKeepsFailedAndSlowTraces) {
  set("SKEIN_TAIL_SAMPLING", "true");
  set("SKEIN_TAIL_SLOW_MS", "200");  // far above a fast trace, even under a sanitizer
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto t = skein::Tracer::init(
      {.exporter = skein::ExporterKind::none, .exporters = {mem}, .make_default = false});
  ASSERT_TRUE(t.enabled()) << t.error().message;
  auto names = skein::fakes::run_fast_failed_slow_traces(t, *mem, 250ms);
  EXPECT_EQ(names.count("fast-ok"), 0u);
  EXPECT_EQ(names.count("failed"), 1u);
  EXPECT_EQ(names.count("child"), 1u);  // the failed trace's child: the trace is kept whole
  EXPECT_EQ(names.count("slow"), 1u);
  EXPECT_EQ(t.stats().dropped_tail_sampling, 2u);
}

TEST_F(ConfigTest, TracerReportsItsFinalizedOptions) {
  set("HH_SOURCE", "ci");
  skein::fakes::Collecting c({.project = "reported", .limits = {.max_links = 3}});
  ASSERT_TRUE(c.tracer.enabled());
  EXPECT_EQ(c.tracer.error().code, skein::ErrorCode::none);
  EXPECT_FALSE(static_cast<bool>(c.tracer.error()));
  EXPECT_EQ(c.tracer.options().project, "reported");
  EXPECT_EQ(c.tracer.options().source, "ci");
  EXPECT_EQ(c.tracer.options().max_links, 3u);
  { auto s = c.tracer.span("s"); }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("honeyhive.project"), "reported");
  EXPECT_EQ(d.string_attribute("honeyhive.source"), "ci");
  EXPECT_EQ(d.string_attribute("honeyhive.session_id"), c.tracer.options().session_id);
  EXPECT_EQ(d.string_attribute("session.id"), c.tracer.options().session_id);
}

TEST_F(ConfigTest, SeveralTracersCoexist) {
  skein::fakes::Collecting a({.project = "a"});
  skein::fakes::Collecting b({.project = "b"});
  { auto s = a.tracer.span("in-a"); }
  {
    auto s = b.tracer.span("in-b");
    // A span of one tracer inside a span of another is still its child.
    auto inner = a.tracer.span("a-inside-b");
  }
  auto as = a.spans();
  auto bs = b.spans();
  ASSERT_EQ(as.size(), 2u);
  ASSERT_EQ(bs.size(), 1u);
  EXPECT_EQ(bs[0].name, "in-b");
  EXPECT_EQ(skein::fakes::by_name(as, "a-inside-b").parent_span_id, bs[0].span_id);
  EXPECT_EQ(skein::fakes::by_name(as, "in-a").string_attribute("honeyhive.project"), "a");
  EXPECT_EQ(bs[0].string_attribute("honeyhive.project"), "b");
  EXPECT_NE(a.tracer.options().session_id, b.tracer.options().session_id);
}

TEST_F(ConfigTest, MakeDefault) {
  if (!skein::default_tracer().enabled()) {  // not when repeated: defaults stay for good
    EXPECT_FALSE(skein::span("before").recording());
  }
  skein::fakes::Collecting c({.make_default = true});
  {
    auto s = skein::span("via-default");
    EXPECT_TRUE(s.recording());
  }
  EXPECT_EQ(c.only().name, "via-default");
  skein::fakes::Collecting other;
  other.tracer.make_default();
  { auto s = skein::span("via-other"); }
  EXPECT_EQ(other.only().name, "via-other");
  EXPECT_EQ(c.spans().size(), 1u);
}

}  // namespace
