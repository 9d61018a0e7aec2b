// The OTLP encoders: spans through protobuf and through JSON decode to exactly what the spans
// held, and to the same content as each other.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <span>
#include <string>

#include "exporters/otlp_encode.hpp"
#include "otlp/decode.hpp"
#include "otlp_compare.hpp"
#include "skein/otlp.hpp"
#include "skein/skein.hpp"

using namespace skein;

namespace {

// Encodes every batch both ways while the views are valid, and keeps owned copies.
class EncodingExporter final : public Exporter {
 public:
  ExportResult export_spans(std::span<const SpanView> batch) noexcept override {
    std::lock_guard<std::mutex> lock(mu);
    encode_otlp_protobuf(batch, proto.emplace_back());
    encode_otlp_json(batch, json.emplace_back());
    for (const auto& v : batch) data.push_back(to_span_data(v));
    return ExportResult::success;
  }
  std::mutex mu;
  std::vector<std::string> proto, json;
  std::vector<SpanData> data;
};

struct Encoded {
  std::vector<SpanData> data;
  std::vector<otlp::TracesRequest> proto, json;
};

template <class Fn>
Encoded record(Fn fn, Options options = {}) {
  auto x = std::make_shared<EncodingExporter>();
  options.exporter = ExporterKind::none;
  options.exporters.push_back(x);
  options.make_default = false;
  if (!options.project) options.project = "encode-test";
  Tracer tracer = Tracer::init(options);
  EXPECT_TRUE(tracer.enabled()) << tracer.error().message;
  fn(tracer);
  EXPECT_TRUE(tracer.force_flush());
  Encoded e;
  std::lock_guard<std::mutex> lock(x->mu);
  e.data = x->data;
  for (const auto& body : x->proto) {
    auto& req = e.proto.emplace_back();
    auto err = otlp::decode_protobuf(body, req);
    EXPECT_FALSE(err) << err.message;
  }
  for (const auto& body : x->json) {
    auto& req = e.json.emplace_back();
    auto err = otlp::decode_json(body, req);
    EXPECT_FALSE(err) << err.message << "\n" << body;
  }
  return e;
}

std::vector<otlp::Span> all_spans(const std::vector<otlp::TracesRequest>& reqs) {
  std::vector<otlp::Span> out;
  for (const auto& r : reqs) {
    for (const auto& rs : r.resource_spans) {
      for (const auto& ss : rs.scope_spans) out.insert(out.end(), ss.spans.begin(), ss.spans.end());
    }
  }
  return out;
}

void expect_all_same(const Encoded& e) {
  auto proto = all_spans(e.proto);
  auto json = all_spans(e.json);
  ASSERT_EQ(proto.size(), e.data.size());
  ASSERT_EQ(json.size(), e.data.size());
  for (std::size_t i = 0; i < e.data.size(); ++i) {
    SCOPED_TRACE("span " + e.data[i].name);
    otlp_test::expect_same_span(e.data[i], proto[i]);
    otlp_test::expect_same_span(e.data[i], json[i]);
  }
  // The same request through both encodings decodes to the same content, resource and scope
  // included.
  ASSERT_EQ(e.proto.size(), e.json.size());
  for (std::size_t i = 0; i < e.proto.size(); ++i)
    EXPECT_TRUE(e.proto[i] == e.json[i]) << "request " << i;
}

}  // namespace

TEST(OtlpEncode, EveryFieldSurvivesBothEncodings) {
  const Context remote_parent(
      TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736"), SpanId::from_hex("00f067aa0ba902b7"),
      trace_flags::sampled, true,
      std::make_shared<ContextExtras>(ContextExtras{"vendor=abc,other=x", ""}));
  const Context linked(TraceId::from_hex("0af7651916cd43dd8448eb211c80319c"),
                       SpanId::from_hex("b7ad6b7169203331"), trace_flags::sampled, true,
                       std::make_shared<ContextExtras>(ContextExtras{"congo=t61rcWkgMzE", ""}));
  const Context linked_local(TraceId::from_hex("11111111111111111111111111111111"),
                             SpanId::from_hex("2222222222222222"), 0, false);
  Encoded e = record([&](Tracer& t) {
    auto server =
        t.span("GET /checkout",
               {.type = EventType::chain, .kind = SpanKind::server, .parent = &remote_parent});
    server.set("http.request.method", "GET");
    server.set("http.response.status_code", 200);
    server.set("big.int", std::int64_t{9007199254740993});
    server.set("neg", std::int64_t{std::numeric_limits<std::int64_t>::min()});
    server.set("ratio", 0.25);
    server.set("nan", std::numeric_limits<double>::quiet_NaN());
    server.set("inf", -std::numeric_limits<double>::infinity());
    server.set("ok", true);
    server.set("tags", std::vector<std::string>{"a", "b", ""});
    server.set("ints", std::vector<std::int64_t>{1, -2, 300000000000});
    server.set("doubles", std::vector<double>{0.5, -1e300});
    server.set("bools", std::vector<bool>{true, false});
    server.set("empty.list", std::vector<std::int64_t>{});
    server.set("unicode", "h\xc3\xa9llo \xf0\x9f\x98\x80 \"quoted\" \\ \n\t\x01");
    server.add_event("cache.miss", {{"cache.key", "cart:42"}, {"n", 3}});
    server.add_event("empty");
    server.set_status(StatusCode::ok);
    {
      auto client = t.span("SELECT orders", {.type = EventType::tool, .kind = SpanKind::client});
      client.add_link(linked, {{"link.why", "batch"}});
      client.add_link(linked_local);
      client.set_status(StatusCode::error, "timeout");
    }
    for (SpanKind k : {SpanKind::internal, SpanKind::producer, SpanKind::consumer}) {
      auto s = t.span("kind", {.type = EventType::model, .kind = k});
    }
  });
  ASSERT_EQ(e.data.size(), 5u);
  expect_all_same(e);

  // A few facts that must hold on the wire, beyond "same as the span".
  auto proto = all_spans(e.proto);
  const otlp::Span* server = nullptr;
  const otlp::Span* client = nullptr;
  for (const auto& s : proto) {
    if (s.name == "GET /checkout") server = &s;
    if (s.name == "SELECT orders") client = &s;
  }
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(server->flags, 0x301u);           // sampled, parent remote (known)
  EXPECT_EQ(client->flags & 0x300u, 0x100u);  // parent local (known)
  EXPECT_EQ(server->trace_state, "vendor=abc,other=x");
  EXPECT_EQ(server->kind, 2);
  EXPECT_EQ(client->kind, 3);
  EXPECT_EQ(server->attribute("big.int")->int_value, 9007199254740993);
  EXPECT_EQ(client->links[0].flags, 0x301u);  // the linked context is remote
  EXPECT_EQ(client->links[1].flags, 0x100u);
  EXPECT_EQ(client->links[0].trace_state, "congo=t61rcWkgMzE");  // Link.trace_state (field 3)
  EXPECT_EQ(client->links[1].trace_state, "");
  EXPECT_EQ(client->status.code, 2);
  EXPECT_EQ(client->status.message, "timeout");
  ASSERT_NE(server->attribute("honeyhive_event_type"), nullptr);
  EXPECT_EQ(server->attribute("honeyhive_event_type")->string_value, "chain");

  const auto& rs = e.proto[0].resource_spans[0];
  EXPECT_EQ(rs.scope_spans[0].scope.name, "skein");
  EXPECT_EQ(rs.scope_spans[0].scope.version, "0.1.0");
  auto res = otlp_test::resource_strings(rs);
  auto has = [&](const char* k, const char* v) {
    return std::find(res.begin(), res.end(), std::pair<std::string, std::string>(k, v)) !=
           res.end();
  };
  EXPECT_TRUE(has("service.name", "encode-test"));
  EXPECT_TRUE(has("telemetry.sdk.name", "skein"));
  EXPECT_TRUE(has("telemetry.sdk.language", "cpp"));
  EXPECT_TRUE(has("honeyhive.project", "encode-test"));
}

TEST(OtlpEncode, DroppedCountsTravel) {
  Options o;
  o.limits.max_attributes = 4;
  o.limits.max_events = 1;
  o.limits.max_links = 1;
  Encoded e = record(
      [](Tracer& t) {
        auto s = t.span("limited");
        for (int i = 0; i < 10; ++i) s.set("k" + std::to_string(i), i);
        s.add_event("one").add_event("two").add_event("three");
        Context c(TraceId{1, 2}, SpanId{3}, 1);
        s.add_link(c).add_link(c);
      },
      o);
  ASSERT_EQ(e.data.size(), 1u);
  EXPECT_GT(e.data[0].dropped_attributes, 0u);
  EXPECT_EQ(e.data[0].dropped_events, 2u);
  EXPECT_EQ(e.data[0].dropped_links, 1u);
  expect_all_same(e);
}

TEST(OtlpEncode, InvalidUtf8IsRepairedTheSameWayInBoth) {
  Encoded e = record([](Tracer& t) {
    auto s = t.span("bad \xff name");
    s.set("k\xc3", "v\xe2\x82");  // truncated sequences
    s.set("overlong", "\xc0\xaf");
    s.set("surrogate", "\xed\xa0\x80");
  });
  ASSERT_EQ(e.data.size(), 1u);
  auto proto = all_spans(e.proto);
  ASSERT_EQ(proto.size(), 1u);
  EXPECT_EQ(proto[0].name, "bad \xef\xbf\xbd name");
  EXPECT_TRUE(proto[0].attribute("k\xef\xbf\xbd") != nullptr);
  EXPECT_EQ(proto[0].attribute("overlong")->string_value, "\xef\xbf\xbd\xef\xbf\xbd");
  ASSERT_EQ(e.proto.size(), e.json.size());
  EXPECT_TRUE(e.proto[0] == e.json[0]);
}

TEST(OtlpEncode, ManySpansAndLongValues) {
  std::string big(100000, 'x');
  Encoded e = record([&](Tracer& t) {
    for (int i = 0; i < 1500; ++i) {
      auto s = t.span("span", {.attributes = {{"i", i}, {"s", "value"}, {"d", i * 0.5}}});
      if (i == 7) s.set("big", big);
    }
  });
  ASSERT_EQ(e.data.size(), 1500u);
  expect_all_same(e);
}

TEST(OtlpEncode, EmptyBatch) {
  std::string proto, json;
  encode_otlp_protobuf({}, proto);
  encode_otlp_json({}, json);
  otlp::TracesRequest a, b;
  EXPECT_FALSE(otlp::decode_protobuf(proto, a));
  EXPECT_FALSE(otlp::decode_json(json, b));
  EXPECT_EQ(a.span_count(), 0u);
  EXPECT_EQ(b.span_count(), 0u);
}

// The protobuf encoder copies the core attributes that repeat (per resource, per event type)
// from bytes it encoded once; it must write exactly what the general path writes, for every event
// type, with and without the optional core attributes, with user attributes that do or do not
// shadow a core key, with non-ASCII and invalid UTF-8 in the resource (repair), and when the
// resource at the same address changes.
TEST(OtlpEncode, ProtobufCoreAttributesFastPathWritesTheGeneralPathsBytes) {
  Resource res;
  res.project = "proj";
  res.source = "dev";
  res.session_id = "5f0c1b8e-9d2a-4c7e-8f31-2b6a9e0d4c11";
  const std::string long_name(300, 'n');
  const Attribute plain[] = {{"http.method", AttrValue(std::string_view("GET"))},
                             {"n", AttrValue(std::int64_t{7})}};
  const Attribute shadow_session[] = {{"session.id", AttrValue(std::string_view("own"))}};
  const Attribute shadow_project[] = {{"honeyhive.project", AttrValue(std::string_view("p2"))},
                                      {"ratio", AttrValue(0.5)}};
  const std::span<const Attribute> attr_sets[] = {{}, plain, shadow_session, shadow_project};
  const char* projects[] = {"proj", "pröject", "bad\xff", "proj-2"};
  int spans = 0;
  for (const char* project : projects) {
    res.project = project;  // same Resource object: the encoder must see the change
    for (int type = 0; type < 5; ++type) {
      for (double probability : {-1.0, 0.25}) {
        for (std::uint32_t truncated : {0u, 3u}) {
          for (auto attrs : attr_sets) {
            for (std::string_view name : {std::string_view("op"), std::string_view(long_name)}) {
              SpanView v;
              v.trace_id = TraceId{0x1122334455667788ULL, 0x99aabbccddeeff00ULL};
              v.span_id = SpanId{0x0102030405060708ULL};
              v.name = name;
              v.event_type = static_cast<EventType>(type);
              v.start_unix_nano = 1'700'000'000'000'000'000ULL;
              v.end_unix_nano = v.start_unix_nano + 1'234'567;
              v.sampling_probability = probability;
              v.truncated_values = truncated;
              v.attributes = attrs;
              v.resource = &res;
              std::string fast, general;
              detail::otlp::proto_append_span(fast, v);
              detail::otlp::proto_append_span_general(general, v);
              ASSERT_EQ(fast, general)
                  << project << " type " << type << " p " << probability << " truncated "
                  << truncated << " attrs " << attrs.size() << " name " << name.size();
              ++spans;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(spans, 4 * 5 * 2 * 2 * 4 * 2);
}
