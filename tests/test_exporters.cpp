// Exporters: the in-memory exporter, the OTLP JSON encoding and the JSON-lines file exporter (one
// valid ExportTraceServiceRequest per line, in the proto3 JSON mapping), and the console tree.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/collecting.hpp"
#include "mini_json.hpp"
#include "skein/skein.hpp"

namespace {

using namespace std::chrono_literals;
using mini_json::Value;
using skein::fakes::by_name;
using skein::fakes::Collecting;

// ---- helpers --------------------------------------------------------------------------------

Value parse_or_fail(std::string_view text) {
  std::string error;
  auto v = mini_json::parse(text, &error);
  EXPECT_TRUE(v.has_value()) << error << "\n" << text;
  return v ? *v : Value{nullptr};
}

bool is_lower_hex(const std::string& s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_decimal(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!(s[i] >= '0' && s[i] <= '9') && !(i == 0 && s[i] == '-' && s.size() > 1)) return false;
  }
  return true;
}

// The `value` of the attribute `key` in an OTLP attribute list (a JSON array of {key, value}).
const Value* attr(const Value& list, std::string_view key) {
  if (!list.is_array()) return nullptr;
  for (const auto& kv : list.as_array()) {
    const Value* k = kv.get("key");
    if (k != nullptr && k->is_string() && k->as_string() == key) return kv.get("value");
  }
  return nullptr;
}

std::size_t attr_count(const Value& list, std::string_view key) {
  std::size_t n = 0;
  if (!list.is_array()) return 0;
  for (const auto& kv : list.as_array()) {
    const Value* k = kv.get("key");
    n += (k != nullptr && k->is_string() && k->as_string() == key) ? 1 : 0;
  }
  return n;
}

// Every span of an ExportTraceServiceRequest, with the resource attributes they came with.
struct FoundSpan {
  const Value* span;
  const Value* resource_attributes;
};
std::vector<FoundSpan> spans_of(const Value& request) {
  std::vector<FoundSpan> out;
  const Value* rs = request.get("resourceSpans");
  if (rs == nullptr || !rs->is_array()) return out;
  for (const auto& r : rs->as_array()) {
    const Value* res = r.get("resource");
    const Value* res_attrs = res != nullptr ? res->get("attributes") : nullptr;
    const Value* ss = r.get("scopeSpans");
    if (ss == nullptr || !ss->is_array()) continue;
    for (const auto& scope : ss->as_array()) {
      const Value* spans = scope.get("spans");
      if (spans == nullptr || !spans->is_array()) continue;
      for (const auto& s : spans->as_array()) out.push_back({&s, res_attrs});
    }
  }
  return out;
}

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::filesystem::path temp_path(const std::string& stem) {
  return std::filesystem::temp_directory_path() /
         (stem + "-" + std::to_string(::getpid()) + "-" +
          std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".jsonl");
}

// ---- in-memory exporter -----------------------------------------------------------------------

TEST(InMemoryExporter, CollectsClearsAndWaits) {
  Collecting c;
  EXPECT_FALSE(c.mem->wait_for(1, 10ms));
  { auto s = c.tracer.span("one"); }
  EXPECT_TRUE(c.mem->wait_for(1, 5s));
  EXPECT_EQ(c.mem->size(), 1u);
  EXPECT_EQ(c.mem->spans()[0].name, "one");
  c.mem->clear();
  EXPECT_EQ(c.mem->size(), 0u);
  { auto s = c.tracer.span("two"); }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "two");
}

TEST(InMemoryExporter, CoreAttributesComeFirst) {
  Collecting c({.project = "proj", .source = "src"});
  {
    auto s = c.tracer.span("s", {.type = skein::EventType::chain});
    s.set("user", 1);
  }
  auto d = c.only();
  ASSERT_FALSE(d.attributes.empty());
  EXPECT_EQ(d.attributes.front().first, "honeyhive_event_type");
  EXPECT_EQ(d.attributes.back().first, "user");
  EXPECT_EQ(d.string_attribute("honeyhive.source"), "src");
  EXPECT_EQ(d.string_attribute("openinference.span.kind"), "CHAIN");
  // Typed accessors only answer for the right type.
  EXPECT_FALSE(d.string_attribute("user").has_value());
  EXPECT_FALSE(d.int_attribute("missing").has_value());
}

// ---- OTLP JSON encoding, from hand-made views ---------------------------------------------------

struct Fixture {
  skein::Resource resource;
  std::int64_t ints[2] = {1, -2};
  std::string_view strs[2] = {"a", "b\"c"};
  bool bools[2] = {true, false};
  double doubles[2] = {0.5, -1e300};
  std::vector<skein::Attribute> attributes;
  std::vector<skein::Attribute> event_attributes;
  std::vector<skein::EventView> events;
  std::vector<skein::LinkView> links;
  skein::SpanView view;

  Fixture() {
    resource.service_name = "svc";
    resource.project = "proj";
    resource.source = "dev";
    resource.session_id = "sess";
    resource.attributes = {{"service.name", "svc"}, {"telemetry.sdk.name", "skein"}};
    using T = skein::AttrValue::Type;
    attributes = {
        {"int", skein::AttrValue(std::int64_t{42})},
        {"max", skein::AttrValue(std::numeric_limits<std::int64_t>::max())},
        {"neg", skein::AttrValue(std::int64_t{-7})},
        {"bool", skein::AttrValue(true)},
        {"double", skein::AttrValue(2.5)},
        {"string", skein::AttrValue(std::string_view("he said \"hi\"\n\\ \t\x01 é ✓"))},
        {"ints", skein::AttrValue(T::int64_array, ints, 2)},
        {"strings", skein::AttrValue(T::string_array, strs, 2)},
        {"bools", skein::AttrValue(T::bool_array, bools, 2)},
        {"doubles", skein::AttrValue(T::float64_array, doubles, 2)},
        {"nan", skein::AttrValue(std::numeric_limits<double>::quiet_NaN())},
        {"inf", skein::AttrValue(std::numeric_limits<double>::infinity())},
        {"empty", skein::AttrValue()},
    };
    event_attributes = {{"exception.type", skein::AttrValue(std::string_view("E"))}};
    events.push_back(skein::EventView{"exception", 1'700'000'000'000'000'500ULL, event_attributes});
    skein::LinkView link;
    link.trace_id = skein::TraceId{0xfedcba9876543210ULL, 0x1ULL};
    link.span_id = skein::SpanId{0xabcULL};
    link.flags = 1;
    links.push_back(link);

    view.trace_id = skein::TraceId{0x0123456789abcdefULL, 0x0011223344556677ULL};
    view.span_id = skein::SpanId{0x1122334455667788ULL};
    view.parent_span_id = skein::SpanId{0x99aabbccddeeff00ULL};
    view.flags = skein::trace_flags::sampled | skein::trace_flags::random;
    view.trace_state = "vendor=value";
    view.name = "GET /items";
    view.kind = skein::SpanKind::server;
    view.event_type = skein::EventType::tool;
    view.status = skein::StatusCode::error;
    view.status_message = "boom";
    view.start_unix_nano = 1'700'000'000'000'000'000ULL;
    view.end_unix_nano = 1'700'000'000'250'000'000ULL;
    view.attributes = attributes;
    view.events = events;
    view.links = links;
    view.dropped_attributes = 3;
    view.dropped_events = 1;
    view.resource = &resource;
  }
};

TEST(OtlpJson, EmptyBatch) {
  std::string out;
  skein::encode_otlp_json({}, out);
  auto v = parse_or_fail(out);
  ASSERT_NE(v.get("resourceSpans"), nullptr);
  EXPECT_TRUE(v.get("resourceSpans")->as_array().empty());
}

TEST(OtlpJson, SpanFieldsFollowTheProto3JsonMapping) {
  Fixture f;
  std::string out;
  skein::encode_otlp_json({&f.view, 1}, out);
  auto doc = parse_or_fail(out);
  auto spans = spans_of(doc);
  ASSERT_EQ(spans.size(), 1u);
  const Value& s = *spans[0].span;

  EXPECT_EQ(s.get("traceId")->as_string(), "0123456789abcdef0011223344556677");
  EXPECT_EQ(s.get("spanId")->as_string(), "1122334455667788");
  EXPECT_EQ(s.get("parentSpanId")->as_string(), "99aabbccddeeff00");
  EXPECT_EQ(s.get("traceState")->as_string(), "vendor=value");
  EXPECT_EQ(s.get("name")->as_string(), "GET /items");
  ASSERT_TRUE(s.get("kind")->is_number());
  EXPECT_EQ(s.get("kind")->as_number().text, "2");  // SPAN_KIND_SERVER
  ASSERT_TRUE(s.get("startTimeUnixNano")->is_string());
  EXPECT_EQ(s.get("startTimeUnixNano")->as_string(), "1700000000000000000");
  EXPECT_EQ(s.get("endTimeUnixNano")->as_string(), "1700000000250000000");
  ASSERT_TRUE(s.get("flags")->is_number());
  // W3C flags in the low byte; bit 8: the parent's remoteness is known.
  EXPECT_EQ(static_cast<int>(s.get("flags")->as_number().value) & 0xff, 3);
  EXPECT_EQ(s.get("droppedAttributesCount")->as_number().text, "3");
  EXPECT_EQ(s.get("droppedEventsCount")->as_number().text, "1");
  EXPECT_EQ(s.get("droppedLinksCount"), nullptr);  // defaults are omitted

  const Value& status = *s.get("status");
  EXPECT_EQ(status.get("code")->as_number().text, "2");
  EXPECT_EQ(status.get("message")->as_string(), "boom");

  const Value& a = *s.get("attributes");
  ASSERT_TRUE(a.is_array());
  EXPECT_EQ(attr(a, "int")->get("intValue")->as_string(), "42");
  EXPECT_EQ(attr(a, "max")->get("intValue")->as_string(), "9223372036854775807");
  EXPECT_EQ(attr(a, "neg")->get("intValue")->as_string(), "-7");
  EXPECT_TRUE(attr(a, "bool")->get("boolValue")->as_bool());
  EXPECT_EQ(attr(a, "double")->get("doubleValue")->as_number().value, 2.5);
  EXPECT_EQ(attr(a, "string")->get("stringValue")->as_string(), "he said \"hi\"\n\\ \t\x01 é ✓");
  const Value& ints = *attr(a, "ints")->get("arrayValue")->get("values");
  ASSERT_EQ(ints.as_array().size(), 2u);
  EXPECT_EQ(ints.as_array()[0].get("intValue")->as_string(), "1");
  EXPECT_EQ(ints.as_array()[1].get("intValue")->as_string(), "-2");
  const Value& strs = *attr(a, "strings")->get("arrayValue")->get("values");
  EXPECT_EQ(strs.as_array()[1].get("stringValue")->as_string(), "b\"c");
  const Value& bools = *attr(a, "bools")->get("arrayValue")->get("values");
  EXPECT_FALSE(bools.as_array()[1].get("boolValue")->as_bool());
  const Value& doubles = *attr(a, "doubles")->get("arrayValue")->get("values");
  EXPECT_EQ(doubles.as_array()[1].get("doubleValue")->as_number().value, -1e300);
  // proto3 JSON writes non-finite doubles as strings.
  EXPECT_EQ(attr(a, "nan")->get("doubleValue")->as_string(), "NaN");
  EXPECT_EQ(attr(a, "inf")->get("doubleValue")->as_string(), "Infinity");
  EXPECT_TRUE(attr(a, "empty")->is_object());

  // Core attributes, each once.
  EXPECT_EQ(attr(a, "honeyhive_event_type")->get("stringValue")->as_string(), "tool");
  EXPECT_EQ(attr(a, "honeyhive_event_name")->get("stringValue")->as_string(), "GET /items");
  EXPECT_EQ(attr(a, "honeyhive.session_id")->get("stringValue")->as_string(), "sess");
  EXPECT_EQ(attr(a, "honeyhive_duration_ms")->get("doubleValue")->as_number().value, 250.0);
  for (const char* key : {"honeyhive_event_type", "honeyhive.project", "session.id", "int"}) {
    EXPECT_EQ(attr_count(a, key), 1u) << key;
  }

  const Value& events = *s.get("events");
  ASSERT_EQ(events.as_array().size(), 1u);
  EXPECT_EQ(events.as_array()[0].get("name")->as_string(), "exception");
  EXPECT_EQ(events.as_array()[0].get("timeUnixNano")->as_string(), "1700000000000000500");
  EXPECT_EQ(attr(*events.as_array()[0].get("attributes"), "exception.type")
                ->get("stringValue")
                ->as_string(),
            "E");

  const Value& links = *s.get("links");
  ASSERT_EQ(links.as_array().size(), 1u);
  EXPECT_EQ(links.as_array()[0].get("traceId")->as_string(), "fedcba98765432100000000000000001");
  EXPECT_EQ(links.as_array()[0].get("spanId")->as_string(), "0000000000000abc");

  // Resource and scope.
  ASSERT_NE(spans[0].resource_attributes, nullptr);
  EXPECT_EQ(attr(*spans[0].resource_attributes, "service.name")->get("stringValue")->as_string(),
            "svc");
  const Value& scope =
      *doc.get("resourceSpans")->as_array()[0].get("scopeSpans")->as_array()[0].get("scope");
  EXPECT_EQ(scope.get("name")->as_string(), "skein");
}

TEST(OtlpJson, RootSpanHasNoParentAndUnsetStatusIsEmpty) {
  Fixture f;
  f.view.parent_span_id = skein::SpanId{};
  f.view.status = skein::StatusCode::unset;
  f.view.trace_state = {};
  f.view.kind = skein::SpanKind::internal;
  std::string out;
  skein::encode_otlp_json({&f.view, 1}, out);
  auto doc = parse_or_fail(out);
  const Value& s = *spans_of(doc).at(0).span;
  EXPECT_EQ(s.get("parentSpanId"), nullptr);
  EXPECT_EQ(s.get("traceState"), nullptr);
  EXPECT_EQ(s.get("kind")->as_number().text, "1");
  EXPECT_TRUE(s.get("status")->as_object().empty());
}

TEST(OtlpJson, SpansOfTwoResourcesAreGrouped) {
  Fixture a, b;
  b.resource.attributes = {{"service.name", "other"}};
  skein::SpanView views[3] = {a.view, a.view, b.view};
  views[2].resource = &b.resource;
  std::string out;
  skein::encode_otlp_json(views, out);
  auto doc = parse_or_fail(out);
  ASSERT_EQ(doc.get("resourceSpans")->as_array().size(), 2u);
  EXPECT_EQ(spans_of(doc).size(), 3u);
}

// ---- file exporter ------------------------------------------------------------------------------

TEST(FileExporter, WritesOneValidRequestPerLine) {
  auto path = temp_path("skein-file-exporter");
  std::string error;
  auto file = skein::make_file_exporter(path.string(), &error);
  ASSERT_NE(file, nullptr) << error;
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tracer = skein::Tracer::init({.project = "file-test",
                                     .exporter = skein::ExporterKind::none,
                                     .exporters = {file, mem},
                                     .make_default = false});
  ASSERT_TRUE(tracer.enabled()) << tracer.error().message;
  {
    auto root =
        tracer.span("root", {.type = skein::EventType::chain, .kind = skein::SpanKind::server});
    root.set("count", 3)
        .set("ratio", 0.25)
        .set("ok", true)
        .set("tags", std::vector<std::string>{"x", "y"});
    root.set("nums", std::vector<int>{1, 2, 3});
    {
      auto child = tracer.span("child", {.kind = skein::SpanKind::client});
      child.add_event("retry", {{"attempt", 2}});
      child.set_status(skein::StatusCode::error, "timeout");
    }
  }
  ASSERT_TRUE(tracer.force_flush(5s));
  { auto later = tracer.span("later"); }  // a second batch, a second line
  ASSERT_TRUE(tracer.shutdown(5s));

  auto lines = lines_of(path);
  ASSERT_GE(lines.size(), 2u);
  std::map<std::string, Value> json_by_name;
  std::vector<Value> docs;
  for (const auto& line : lines) docs.push_back(parse_or_fail(line));
  std::size_t total = 0;
  for (const auto& doc : docs) {
    for (const auto& found : spans_of(doc)) {
      ++total;
      json_by_name[found.span->get("name")->as_string()] = *found.span;
      EXPECT_EQ(attr(*found.resource_attributes, "service.name")->get("stringValue")->as_string(),
                "file-test");
    }
  }
  EXPECT_EQ(total, 3u);
  auto mem_spans = mem->spans();
  const Value& root = json_by_name.at("root");
  const Value& child = json_by_name.at("child");
  const auto& mem_root = by_name(mem_spans, "root");
  EXPECT_TRUE(is_lower_hex(root.get("traceId")->as_string(), 32));
  EXPECT_TRUE(is_lower_hex(root.get("spanId")->as_string(), 16));
  EXPECT_EQ(root.get("traceId")->as_string(), mem_root.trace_id.to_hex());
  EXPECT_EQ(root.get("spanId")->as_string(), mem_root.span_id.to_hex());
  EXPECT_EQ(root.get("parentSpanId"), nullptr);
  EXPECT_EQ(child.get("parentSpanId")->as_string(), root.get("spanId")->as_string());
  EXPECT_EQ(child.get("traceId")->as_string(), root.get("traceId")->as_string());
  EXPECT_EQ(root.get("kind")->as_number().text, "2");
  EXPECT_EQ(child.get("kind")->as_number().text, "3");
  ASSERT_TRUE(root.get("startTimeUnixNano")->is_string());
  EXPECT_TRUE(is_decimal(root.get("startTimeUnixNano")->as_string()));
  EXPECT_EQ(root.get("startTimeUnixNano")->as_string(), std::to_string(mem_root.start_unix_nano));
  EXPECT_EQ(root.get("endTimeUnixNano")->as_string(), std::to_string(mem_root.end_unix_nano));
  const Value& a = *root.get("attributes");
  EXPECT_EQ(attr(a, "count")->get("intValue")->as_string(), "3");
  EXPECT_EQ(attr(a, "ratio")->get("doubleValue")->as_number().value, 0.25);
  EXPECT_TRUE(attr(a, "ok")->get("boolValue")->as_bool());
  EXPECT_EQ(attr(a, "tags")->get("arrayValue")->get("values")->as_array().size(), 2u);
  EXPECT_EQ(
      attr(a, "nums")->get("arrayValue")->get("values")->as_array()[2].get("intValue")->as_string(),
      "3");
  EXPECT_EQ(attr(a, "honeyhive_event_type")->get("stringValue")->as_string(), "chain");
  EXPECT_EQ(child.get("status")->get("code")->as_number().text, "2");
  EXPECT_EQ(child.get("status")->get("message")->as_string(), "timeout");
  const Value& ev = child.get("events")->as_array().at(0);
  EXPECT_EQ(ev.get("name")->as_string(), "retry");
  EXPECT_TRUE(ev.get("timeUnixNano")->is_string());
  EXPECT_EQ(attr(*ev.get("attributes"), "attempt")->get("intValue")->as_string(), "2");
  std::filesystem::remove(path);
}

TEST(FileExporter, AppendsToAnExistingFile) {
  auto path = temp_path("skein-file-append");
  for (int round = 0; round < 2; ++round) {
    auto tracer = skein::Tracer::init(
        {.exporter = skein::ExporterKind::file, .file_path = path.string(), .make_default = false});
    ASSERT_TRUE(tracer.enabled());
    { auto s = tracer.span("round-" + std::to_string(round)); }
    ASSERT_TRUE(tracer.shutdown(5s));
  }
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("round-0"), std::string::npos);
  EXPECT_NE(lines[1].find("round-1"), std::string::npos);
  for (const auto& line : lines) parse_or_fail(line);
  std::filesystem::remove(path);
}

TEST(FileExporter, UnopenablePathIsReported) {
  std::string error;
  auto file = skein::make_file_exporter("/nonexistent-dir/x/y.jsonl", &error);
  EXPECT_EQ(file, nullptr);
  EXPECT_NE(error.find("/nonexistent-dir/x/y.jsonl"), std::string::npos) << error;
}

// ---- console exporter ---------------------------------------------------------------------------

TEST(ConsoleExporter, PrintsATreePerTraceWithoutColour) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  auto console = skein::make_console_exporter({.stream = out, .color = false});
  auto tracer = skein::Tracer::init(
      {.exporter = skein::ExporterKind::none, .exporters = {console}, .make_default = false});
  skein::TraceId trace;
  {
    auto root = tracer.span("answer_question", {.type = skein::EventType::chain});
    trace = root.context().trace_id();
    root.set("request", 1);
    {
      auto retrieve = tracer.span("retrieve", {.type = skein::EventType::tool});
      auto embed = tracer.span("embed");
    }
    {
      auto generate = tracer.span("generate", {.type = skein::EventType::model});
      generate.set_status(skein::StatusCode::error, "rate limited");
    }
  }
  ASSERT_TRUE(tracer.shutdown(5s));
  std::string text = read_all(out);
  std::fclose(out);

  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "colour codes with color = false";
  EXPECT_NE(text.find("trace " + trace.to_hex()), std::string::npos) << text;
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u) << text;  // header + 4 spans
  EXPECT_EQ(lines[1].rfind("answer_question", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find("chain"), std::string::npos);
  EXPECT_NE(lines[1].find("ms"), std::string::npos);
  EXPECT_NE(lines[1].find("request=1"), std::string::npos);
  // Children in start order, indented under their parent.
  EXPECT_NE(lines[2].find("├─ retrieve"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("tool"), std::string::npos);
  EXPECT_NE(lines[3].find("└─ embed"), std::string::npos) << lines[3];
  EXPECT_EQ(lines[3].rfind("│", 0), 0u) << lines[3];
  EXPECT_NE(lines[4].find("└─ generate"), std::string::npos) << lines[4];
  EXPECT_NE(lines[4].find("error: rate limited"), std::string::npos) << lines[4];
}

TEST(ConsoleExporter, ColourWhenAsked) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  auto tracer = skein::Tracer::init(
      {.exporter = skein::ExporterKind::none,
       .exporters = {skein::make_console_exporter({.stream = out, .color = true})},
       .make_default = false});
  { auto s = tracer.span("coloured"); }
  ASSERT_TRUE(tracer.shutdown(5s));
  std::string text = read_all(out);
  std::fclose(out);
  EXPECT_NE(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("coloured"), std::string::npos);
}

TEST(ConsoleExporter, SeparateTracesSeparateTrees) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  auto tracer = skein::Tracer::init(
      {.exporter = skein::ExporterKind::none,
       .exporters = {skein::make_console_exporter({.stream = out, .color = false})},
       .make_default = false});
  { auto a = tracer.span("first"); }
  { auto b = tracer.span("second"); }
  ASSERT_TRUE(tracer.shutdown(5s));
  std::string text = read_all(out);
  std::fclose(out);
  std::size_t headers = 0;
  for (std::size_t p = text.find("trace "); p != std::string::npos; p = text.find("trace ", p + 1))
    ++headers;
  EXPECT_EQ(headers, 2u) << text;
}

}  // namespace
