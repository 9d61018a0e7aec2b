// `skein serve` end to end: the real binary on a free loopback port, real OTLP bodies captured
// from the OpenTelemetry JS SDK (tests/data), and the store read back after each request.
#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>

#include "collector/serve_process.hpp"
#include "skein/otlp.hpp"
#include "store/store.hpp"

using skein::testing::http_get;
using skein::testing::otlp_post;
using skein::testing::raw_http;
using skein::testing::read_file;
using skein::testing::ServeProcess;

namespace {

const std::string kData = SKEIN_TEST_DATA "/otlp-from-opentelemetry-js/";
const std::string kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

class Collector : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("skein-collector-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = (dir_ / "store.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<ServeProcess> serve(std::vector<std::string> extra = {}) {
    auto p = std::make_unique<ServeProcess>(SKEIN_BIN, db_, std::move(extra));
    EXPECT_TRUE(p->running()) << "skein serve did not start";
    return p;
  }
  std::vector<skein::store::StoredSpan> trace(const std::string& id = kTrace) {
    std::string err;
    auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_only, err);
    EXPECT_TRUE(st) << err;
    return st ? st->get_trace(id) : std::vector<skein::store::StoredSpan>{};
  }
  std::uint64_t spans_stored() {
    std::string err;
    auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_only, err);
    return st ? st->stats().spans_stored : 0;
  }

  std::filesystem::path dir_;
  std::string db_;
};

const skein::store::StoredSpan* by_name(const std::vector<skein::store::StoredSpan>& spans,
                                        const std::string& name) {
  for (const auto& s : spans)
    if (s.name == name) return &s;
  return nullptr;
}

// A JSON request of `n` spans in trace `trace_hex`, span ids first+1 .. first+n.
std::string json_batch(const std::string& trace_hex, int first, int n) {
  std::string out =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"kill-test"}}]},"scopeSpans":[{"scope":{"name":"t"},"spans":[)";
  for (int i = 0; i < n; ++i) {
    char id[17];
    std::snprintf(id, sizeof id, "%016x", first + i + 1);
    if (i) out += ',';
    out +=
        R"({"traceId":")" + trace_hex + R"(","spanId":")" + id + R"(","name":"op )" +
        std::to_string(first + i) +
        R"(","kind":1,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001000000"})";
  }
  return out + "]}]}]}";
}

std::string gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_F(Collector, ProtobufFromOpenTelemetryJs) {
  auto s = serve();
  auto r = raw_http(s->port(), otlp_post(read_file(kData + "001.proto"), "application/x-protobuf"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/x-protobuf");
  EXPECT_TRUE(r.body.empty());  // a full success: an empty ExportTraceServiceResponse
  r = raw_http(s->port(), otlp_post(read_file(kData + "002.proto"), "application/x-protobuf"));
  ASSERT_EQ(r.status, 200);
  auto spans = trace();
  ASSERT_EQ(spans.size(), 2u);
  const auto* server = by_name(spans, "GET /checkout");
  const auto* client = by_name(spans, "SELECT orders");
  ASSERT_TRUE(server && client);
  EXPECT_EQ(server->parent_span_id, "00f067aa0ba902b7");  // the remote parent
  EXPECT_EQ(client->parent_span_id, server->span_id);
  EXPECT_EQ(server->kind, 2);
  EXPECT_EQ(client->kind, 3);
  EXPECT_EQ(client->status, 2);
  EXPECT_EQ(client->status_message, "timeout");
  EXPECT_EQ(server->service, "interop-js-proto");
  EXPECT_EQ(server->scope_name, "interop-scope");
  EXPECT_EQ(server->scope_version, "1.2.3");
  EXPECT_NE(server->attributes_json.find(R"("http.request.method":"GET")"), std::string::npos);
  EXPECT_NE(server->attributes_json.find(R"("tags":["a","b"])"), std::string::npos);
  EXPECT_NE(server->attributes_json.find(R"("ratio":0.25)"), std::string::npos);
  EXPECT_NE(server->resource_json.find(R"("deployment.environment":"test")"), std::string::npos);
  ASSERT_EQ(server->events.size(), 1u);
  EXPECT_EQ(server->events[0].name, "cache.miss");
  EXPECT_NE(server->events[0].attributes_json.find("cart:42"), std::string::npos);
  ASSERT_EQ(client->links.size(), 1u);
  EXPECT_EQ(client->links[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(client->links[0].span_id, "b7ad6b7169203331");
}

TEST_F(Collector, JsonAnsweredInJson) {
  auto s = serve();
  for (auto f : {"003.json", "004.json"}) {
    auto r = raw_http(s->port(), otlp_post(read_file(kData + f), "application/json"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(r.body, "{}");
  }
  auto spans = trace();
  ASSERT_EQ(spans.size(), 2u);
  ASSERT_TRUE(by_name(spans, "GET /checkout"));
  EXPECT_EQ(by_name(spans, "GET /checkout")->service, "interop-js-json");
}

TEST_F(Collector, GzipAndChunked) {
  auto s = serve();
  // The captured bodies are gzip; the JS SDK sent them chunked.
  auto r = raw_http(s->port(), otlp_post(read_file(kData + "005.proto"), "application/x-protobuf",
                                         "Content-Encoding: gzip\r\n", 64));
  ASSERT_EQ(r.status, 200) << r.body;
  r = raw_http(s->port(), otlp_post(read_file(kData + "006.proto"), "application/x-protobuf",
                                    "Content-Encoding: gzip\r\n"));
  ASSERT_EQ(r.status, 200) << r.body;
  r = raw_http(s->port(), otlp_post(read_file(kData + "007.json"), "application/json",
                                    "Content-Encoding: gzip\r\n", 100));
  ASSERT_EQ(r.status, 200) << r.body;
  // Plain body, chunked in small pieces.
  r = raw_http(s->port(), otlp_post(read_file(kData + "004.json"), "application/json", "", 7));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(trace().size(), 4u);  // 005 and 007 repeat 006's and 004's spans: stored once
}

TEST_F(Collector, OversizeIs413BeforeAndAfterDecompression) {
  auto s = serve({"--max-body-mb", "0.01"});  // ~10 KB
  std::string big = json_batch(kTrace, 0, 200);
  ASSERT_GT(big.size(), 20000u);
  auto r = raw_http(s->port(), otlp_post(big, "application/json"));
  EXPECT_EQ(r.status, 413);
  r = raw_http(s->port(), otlp_post(big, "application/json", "", 4096));
  EXPECT_EQ(r.status, 413);
  // Small on the wire, large once gunzipped.
  auto packed = gzip(big);
  ASSERT_LT(packed.size(), 10000u);
  r = raw_http(s->port(), otlp_post(packed, "application/json", "Content-Encoding: gzip\r\n"));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("larger than"), std::string::npos) << r.body;
  EXPECT_EQ(spans_stored(), 0u);
  // A body under the cap still goes through.
  r = raw_http(s->port(), otlp_post(json_batch(kTrace, 0, 3), "application/json"));
  EXPECT_EQ(r.status, 200);
}

TEST_F(Collector, MalformedIs400WithReason) {
  auto s = serve();
  auto r = raw_http(s->port(), otlp_post("{\"resourceSpans\": [", "application/json"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_NE(r.body.find("malformed OTLP request"), std::string::npos) << r.body;
  r = raw_http(s->port(), otlp_post(std::string("\x0a\xff\xff\xff\x0f garbage", 14),
                                    "application/x-protobuf"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.headers["content-type"], "application/x-protobuf");
  EXPECT_NE(r.body.find("malformed OTLP request"), std::string::npos);
  r = raw_http(s->port(),
               otlp_post("not gzip at all", "application/json", "Content-Encoding: gzip\r\n"));
  EXPECT_EQ(r.status, 400);
  r = raw_http(s->port(), otlp_post("{}", "text/plain"));
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(spans_stored(), 0u);
}

TEST_F(Collector, InvalidSpansArePartialSuccess) {
  auto s = serve();
  std::string body =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[)"
      R"({"traceId":")" +
      kTrace +
      R"(","spanId":"1111111111111111","name":"good","startTimeUnixNano":"1","endTimeUnixNano":"2"},)"
      R"({"traceId":")" +
      kTrace +
      R"(","name":"no span id","startTimeUnixNano":"1","endTimeUnixNano":"2"},)"
      R"({"spanId":"2222222222222222","name":"no trace id"}]}]}]})";
  auto r = raw_http(s->port(), otlp_post(body, "application/json"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("rejectedSpans":"2")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("errorMessage"), std::string::npos);
  auto spans = trace();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "good");
}

// A protobuf request is decoded and stored in parts of 64 spans (pipelined); it is still one
// request: answered after one commit, partial success numbered across the parts, roots found
// across part boundaries, nothing stored when a later part does not decode, idempotent.
std::string proto_batch(int n, std::initializer_list<int> invalid) {
  skein::Resource res;
  res.service_name = "parts";
  res.attributes = {{"service.name", "parts"}};
  std::vector<skein::SpanView> spans(static_cast<std::size_t>(n));
  std::vector<std::array<skein::Attribute, 1>> attrs(spans.size());
  for (int i = 0; i < n; ++i) {
    auto& s = spans[static_cast<std::size_t>(i)];
    const auto trace = static_cast<std::uint64_t>(i / 10 + 1);
    // Children first, the root last: each trace's root is in a later part for some traces.
    s.trace_id = skein::TraceId{0xabcULL, trace};
    s.span_id = skein::SpanId{static_cast<std::uint64_t>(i + 1)};
    const bool root = i % 10 == 9;
    s.parent_span_id = root ? skein::SpanId{} : skein::SpanId{trace * 10};
    s.name = root ? "root" : "child";
    s.start_unix_nano = 1700000000000000000ULL + static_cast<std::uint64_t>(i);
    s.end_unix_nano = s.start_unix_nano + 10;
    attrs[static_cast<std::size_t>(i)][0] = {"part.key", skein::AttrValue(std::int64_t{i})};
    s.attributes = attrs[static_cast<std::size_t>(i)];
    s.resource = &res;
    for (int bad : invalid)
      if (bad == i) s.span_id = skein::SpanId{};
  }
  std::string out;
  skein::encode_otlp_protobuf(spans, out);
  return out;
}

TEST_F(Collector, LargeProtobufRequestIsStoredInPartsAsOneRequest) {
  auto s = serve();
  const std::string body = proto_batch(300, {100, 250});
  // Cut inside the last spans: the first parts decode, a later one does not.
  auto r =
      raw_http(s->port(), otlp_post(body.substr(0, body.size() - 30), "application/x-protobuf"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(spans_stored(), 0u);

  for (int round = 0; round < 2; ++round) {  // the second time: a retry, stored once
    r = raw_http(s->port(), otlp_post(body, "application/x-protobuf"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("span 101 "), std::string::npos) << r.body;  // numbered in the request
    EXPECT_EQ(spans_stored(), 298u);
  }
  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_only, err);
  ASSERT_TRUE(st) << err;
  skein::store::TraceFilter f;
  f.limit = 100;
  auto traces = st->list_traces(f, &err);
  ASSERT_EQ(traces.size(), 30u) << err;
  for (const auto& t : traces) {
    EXPECT_EQ(t.root_name, "root") << t.trace_id;
    EXPECT_TRUE(t.has_true_root) << t.trace_id;
  }
  EXPECT_EQ(traces.front().span_count + traces.back().span_count, 20u);
  f.search = "part.key=299";
  EXPECT_EQ(st->list_traces(f, &err).size(), 1u) << err;
  r = raw_http(s->port(), http_get("/api/stats"));
  // Accepted counts what each request was told (a retry is accepted again), not rows.
  EXPECT_NE(r.body.find(R"("spans_accepted":596)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("spans_rejected":4)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("requests_failed":1)"), std::string::npos) << r.body;
}

TEST_F(Collector, RestartKeepsData) {
  {
    auto s = serve();
    ASSERT_EQ(
        raw_http(s->port(), otlp_post(read_file(kData + "001.proto"), "application/x-protobuf"))
            .status,
        200);
    EXPECT_EQ(s->stop(), 0);
  }
  auto s = serve();
  ASSERT_EQ(raw_http(s->port(), otlp_post(read_file(kData + "002.proto"), "application/x-protobuf"))
                .status,
            200);
  auto r = raw_http(s->port(), http_get("/api/traces/" + kTrace));
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("GET /checkout"), std::string::npos);
  EXPECT_NE(r.body.find("SELECT orders"), std::string::npos);
  r = raw_http(s->port(), http_get("/api/stats"));
  EXPECT_NE(r.body.find(R"("spans_accepted":2)"), std::string::npos) << r.body;
}

// A protobuf request of `n` spans in trace 0123456789abcdef0123456789abcdef, span ids first+1 ..
// first+n (as json_batch).
std::string proto_spans(int first, int n) {
  skein::Resource res;
  res.attributes = {{"service.name", "kill-test"}};
  std::vector<skein::SpanView> spans(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto& s = spans[static_cast<std::size_t>(i)];
    s.trace_id = skein::TraceId{0x0123456789abcdefULL, 0x0123456789abcdefULL};
    s.span_id = skein::SpanId{static_cast<std::uint64_t>(first + i + 1)};
    s.name = "op";
    s.start_unix_nano = 1700000000000000000ULL;
    s.end_unix_nano = 1700000000001000000ULL;
    s.resource = &res;
  }
  std::string out;
  skein::encode_otlp_protobuf(spans, out);
  return out;
}

TEST_F(Collector, KillDuringIngestLosesNoAcknowledgedSpan) {
  auto s = serve();
  const std::string trace_hex = "0123456789abcdef0123456789abcdef";
  std::mutex mu;
  std::vector<int> acked;  // first span number of each acknowledged batch
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  const int port = s->port();
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&, c] {
      for (int b = 0; !stop && b < 100000; ++b) {
        const int first = (c * 100000 + b) * 50;
        // One client sends JSON, the other protobuf (stored in parts: see Writer::Stream).
        auto r = raw_http(port,
                          c == 0 ? otlp_post(json_batch(trace_hex, first, 50), "application/json")
                                 : otlp_post(proto_spans(first, 50), "application/x-protobuf"),
                          2000);
        if (r.status == 200) {
          std::lock_guard lk(mu);
          acked.push_back(first);
        } else if (r.status == 0) {
          return;  // the server is gone
        }
      }
    });
  }
  // Let some batches through, then kill it mid-stream.
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lk(mu);
    if (acked.size() >= 20) break;
  }
  s->kill9();
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_GE(acked.size(), 1u);

  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_only, err);
  ASSERT_TRUE(st) << err;
  auto spans = st->get_trace(trace_hex);
  std::set<std::string> ids;
  for (const auto& sp : spans) ids.insert(sp.span_id);
  std::size_t missing = 0;
  for (int first : acked)
    for (int i = 0; i < 50; ++i) {
      char id[17];
      std::snprintf(id, sizeof id, "%016x", first + i + 1);
      missing += ids.count(id) == 0;
    }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() * 50 << " acknowledged spans";
  // And the store opens for writing again (WAL recovered).
  auto again = serve();
  EXPECT_EQ(
      raw_http(again->port(), otlp_post(json_batch(trace_hex, 900000000, 1), "application/json"))
          .status,
      200);
}

TEST_F(Collector, TokenRequiredBeyondLoopbackAndChecked) {
  {
    ServeProcess wide(SKEIN_BIN, db_, {"--bind", "0.0.0.0"});
    EXPECT_FALSE(wide.running());
  }
  auto s = serve({"--token", "s3cret"});
  auto body = read_file(kData + "001.proto");
  EXPECT_EQ(raw_http(s->port(), otlp_post(body, "application/x-protobuf")).status, 401);
  EXPECT_EQ(raw_http(s->port(),
                     otlp_post(body, "application/x-protobuf", "Authorization: Bearer nope\r\n"))
                .status,
            401);
  EXPECT_EQ(raw_http(s->port(),
                     otlp_post(body, "application/x-protobuf", "Authorization: Bearer s3cret\r\n"))
                .status,
            200);
  EXPECT_EQ(raw_http(s->port(), http_get("/api/traces")).status, 401);
  EXPECT_EQ(raw_http(s->port(), http_get("/api/traces", "Authorization: Bearer s3cret\r\n")).status,
            200);
  EXPECT_EQ(raw_http(s->port(), http_get("/")).status, 200);  // the page itself holds no data
}

TEST_F(Collector, ApiAndPage) {
  auto s = serve();
  ASSERT_EQ(raw_http(s->port(), otlp_post(read_file(kData + "001.proto"), "application/x-protobuf"))
                .status,
            200);
  ASSERT_EQ(raw_http(s->port(), otlp_post(read_file(kData + "002.proto"), "application/x-protobuf"))
                .status,
            200);
  auto r = raw_http(s->port(), http_get("/api/traces?service=interop-js-proto"));
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(kTrace), std::string::npos);
  EXPECT_NE(r.body.find(R"("name":"GET /checkout")"), std::string::npos) << r.body;
  r = raw_http(s->port(), http_get("/api/traces?service=nope"));
  EXPECT_EQ(r.body, R"({"traces":[]})");
  r = raw_http(s->port(), http_get("/api/traces?q=http.request.method%3DGET"));
  EXPECT_NE(r.body.find(kTrace), std::string::npos);
  r = raw_http(s->port(), http_get("/api/traces?status=error"));
  EXPECT_NE(r.body.find(kTrace), std::string::npos);
  r = raw_http(s->port(), http_get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<title>skein</title>"), std::string::npos);
  EXPECT_EQ(raw_http(s->port(), http_get("/app.js")).status, 200);
  EXPECT_EQ(raw_http(s->port(), http_get("/api/traces/ffffffffffffffffffffffffffffffff")).status,
            404);
}

}  // namespace
