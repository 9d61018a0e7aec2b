// The OTLP exporter against a real HTTP server on loopback: what arrives (decoded and compared
// field by field with what the spans held), and how it behaves when the endpoint answers 200, a
// partial success, 400, 429 with Retry-After, 503, hangs, or closes the connection.
//
// Time: the exporter's timers (backoff, Retry-After, export timeout, flush and shutdown
// deadlines) are checked on a manual clock (tests/fakes/manual_clock.hpp), against the loopback
// server or a fake transport, so that no assertion depends on how fast the machine runs. Waits
// on real time only bound something that must happen (`kPatience`), never how soon.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <thread>

#include <algorithm>
#include <ctime>
#include <future>
#include <numeric>

#include "exporters/http_transport.hpp"
#include "exporters/otlp_exporter.hpp"
#include "exporters/otlp_response.hpp"
#include "fakes/fake_transport.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/otlp_receiver.hpp"
#include "otlp_compare.hpp"
#include "skein/otlp.hpp"
#include "skein/skein.hpp"

using namespace skein;
using namespace std::chrono_literals;
using fakes::OtlpReceiver;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// How long a test waits, in real time, for something that must happen. Only a hang reaches it.
constexpr auto kPatience = 30s;

// Short backoffs so that the tests stay fast; request and export timeouts far longer than a
// loopback request can take, even sanitized on a loaded machine.
OtlpOptions fast(const OtlpReceiver& rx, OtlpOptions o = {}) {
  if (!o.endpoint) o.endpoint = rx.endpoint();
  if (!o.schedule_delay) o.schedule_delay = 10ms;
  if (!o.timeout) o.timeout = 30000ms;
  if (!o.export_timeout) o.export_timeout = 60000ms;
  if (!o.retry_initial_backoff) o.retry_initial_backoff = 10ms;
  if (!o.retry_max_backoff) o.retry_max_backoff = 40ms;
  return o;
}

struct Harness {
  std::shared_ptr<InMemoryExporter> mem = std::make_shared<InMemoryExporter>();
  Tracer tracer;

  explicit Harness(OtlpOptions otlp, Options o = {}) {
    o.exporter = ExporterKind::otlp;
    o.otlp = std::move(otlp);
    o.exporters.push_back(mem);
    o.make_default = false;
    if (!o.project) o.project = "otlp-test";
    o.flush_interval = 5ms;
    tracer = Tracer::init(o);
    EXPECT_TRUE(tracer.enabled()) << tracer.error().message;
  }

  void spans(int n) {
    for (int i = 0; i < n; ++i) {
      auto s = tracer.span("op", {.attributes = {{"i", i}, {"kind", "unit"}, {"ratio", 0.5}}});
    }
  }
};

// An exporter on a manual clock, fed span views directly (no tracer, no pipeline thread): through
// libcurl to a loopback receiver, or through a fake transport.
struct Clocked {
  std::shared_ptr<fakes::ManualClock> clock = std::make_shared<fakes::ManualClock>();
  std::shared_ptr<fakes::FakeHttp> http = std::make_shared<fakes::FakeHttp>();
  std::shared_ptr<OtlpExporter> exporter;
  Resource resource;
  std::uint64_t next_id = 1;

  enum class Via { fake, curl };

  // Through the fake transport, or through libcurl to `o.endpoint`.
  explicit Clocked(OtlpOptions o, Via via = Via::fake) {
    if (!o.timeout) o.timeout = 30000ms;
    Options opts;
    opts.otlp = std::move(o);
    Error e;
    FinalizedOtlp f = finalize(opts, e).otlp;
    EXPECT_FALSE(e) << e.message;
    exporter = detail::make_otlp_exporter_with(
        f, via == Via::curl ? detail::curl_factory(f) : http->factory(), clock, &e);
    EXPECT_TRUE(exporter) << e.message;
    resource.attributes = {{"service.name", "clocked"}};
  }

  ~Clocked() {
    if (exporter) exporter->shutdown(clock->now() + 1h);
  }

  void spans(int n) {
    std::vector<SpanView> views(static_cast<std::size_t>(n));
    for (SpanView& v : views) {
      v.trace_id = TraceId{0x1234, 0x5678};
      v.span_id = SpanId{next_id++};
      v.name = "op";
      v.start_unix_nano = 1'700'000'000'000'000'000ULL;
      v.end_unix_nano = v.start_unix_nano + 1000;
      v.resource = &resource;
    }
    EXPECT_EQ(exporter->export_spans(views), ExportResult::success);
  }

  // Every span handed over is counted one way or the other.
  [[nodiscard]] std::uint64_t counted() const {
    ExporterStats s = exporter->stats();
    return s.sent + s.rejected + s.failed + s.dropped_queue_full + s.dropped_shutdown;
  }

  // Moves the clock each time the sender waits for a time, until `n` spans are counted; returns
  // how far the clock moved each time (the sender's backoffs, in order).
  std::vector<milliseconds> run_until_counted(std::uint64_t n) {
    std::vector<milliseconds> steps;
    for (auto until = Clock::now() + kPatience; counted() < n;) {
      if (Clock::now() > until) {
        ADD_FAILURE() << "only " << counted() << " of " << n << " spans counted";
        break;
      }
      if (auto step = clock->advance_to_earliest_wait(1, 10ms))
        steps.push_back(std::chrono::duration_cast<milliseconds>(*step));
    }
    return steps;
  }
};

// The exporter's jitter: `backoff` x [0.5, 1.5), plus 1 ms.
void expect_jittered(milliseconds delay, milliseconds backoff) {
  EXPECT_GE(delay, backoff / 2) << "backoff " << backoff.count() << " ms";
  EXPECT_LE(delay, backoff * 3 / 2 + 1ms) << "backoff " << backoff.count() << " ms";
}

void make_rich_trace(Tracer& t) {
  const Context remote(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736"),
                       SpanId::from_hex("00f067aa0ba902b7"), trace_flags::sampled, true,
                       std::make_shared<ContextExtras>(ContextExtras{"vendor=abc", ""}));
  const Context linked(TraceId::from_hex("0af7651916cd43dd8448eb211c80319c"),
                       SpanId::from_hex("b7ad6b7169203331"), trace_flags::sampled, true);
  auto server = t.span("GET /checkout",
                       {.type = EventType::chain, .kind = SpanKind::server, .parent = &remote});
  server.set("http.request.method", "GET");
  server.set("http.response.status_code", 200);
  server.set("big.int", std::int64_t{9007199254740993});
  server.set("ratio", 0.25);
  server.set("ok", true);
  server.set("tags", std::vector<std::string>{"a", "b"});
  server.set("ints", std::vector<std::int64_t>{1, 2});
  server.add_event("cache.miss", {{"cache.key", "cart:42"}});
  server.set_status(StatusCode::ok);
  {
    auto client = t.span("SELECT orders", {.type = EventType::tool, .kind = SpanKind::client});
    client.add_link(linked, {{"link.why", "batch"}});
    client.set_status(StatusCode::error, "timeout");
  }
}

// Every span the in-memory exporter saw arrived once, with every field.
void expect_arrived_as_held(const Harness& h, const OtlpReceiver& rx) {
  auto held = h.mem->spans();
  ASSERT_TRUE(rx.wait_for_spans(held.size(), kPatience));
  auto got = rx.spans();
  ASSERT_EQ(got.size(), held.size());
  for (const SpanData& d : held) {
    auto it = std::find_if(got.begin(), got.end(),
                           [&](const otlp::Span& s) { return s.span_id == d.span_id; });
    ASSERT_NE(it, got.end()) << d.name;
    otlp_test::expect_same_span(d, *it);
  }
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

// ---- what arrives ------------------------------------------------------------------------------

TEST(OtlpExporter, ProtobufArrivesWithEveryFieldAndHeader) {
  OtlpReceiver rx;
  OtlpOptions o = fast(rx);
  o.headers = {{"X-Team", "core tracing"}};
  Harness h(o, {.api_key = "secret-key"});
  make_rich_trace(h.tracer);
  ASSERT_TRUE(h.tracer.force_flush(kPatience));
  expect_arrived_as_held(h, rx);
  auto reqs = rx.requests();
  ASSERT_FALSE(reqs.empty());
  const auto& r = reqs[0];
  EXPECT_EQ(r.path, "/v1/traces");
  EXPECT_EQ(r.content_type, "application/x-protobuf");
  EXPECT_EQ(r.content_encoding, "");
  EXPECT_EQ(r.authorization, "Bearer secret-key");
  EXPECT_EQ(r.user_agent, "skein/0.1.0");
  EXPECT_TRUE(r.decode_error.empty()) << r.decode_error;
  auto it = r.headers.find("X-Team");
  ASSERT_NE(it, r.headers.end());
  EXPECT_EQ(it->second, "core tracing");
  const auto& rs = r.decoded.resource_spans.at(0);
  EXPECT_EQ(rs.scope_spans.at(0).scope.name, "skein");
  EXPECT_TRUE(*otlp::find(rs.resource.attributes, "service.name") ==
              otlp::AnyValue::of("otlp-test"));
  Stats s = h.tracer.stats();
  EXPECT_EQ(s.export_sent, 2u);
  EXPECT_EQ(s.export_rejected + s.export_failed + s.export_dropped_queue_full + s.export_retries,
            0u);
}

TEST(OtlpExporter, JsonArrivesWithEveryField) {
  OtlpReceiver rx;
  Harness h(fast(rx, {.protocol = OtlpProtocol::http_json}));
  make_rich_trace(h.tracer);
  ASSERT_TRUE(h.tracer.force_flush(kPatience));
  expect_arrived_as_held(h, rx);
  EXPECT_EQ(rx.requests().at(0).content_type, "application/json");
  EXPECT_EQ(h.tracer.stats().export_sent, 2u);
}

TEST(OtlpExporter, GzipBothProtocols) {
  for (OtlpProtocol p : {OtlpProtocol::http_protobuf, OtlpProtocol::http_json}) {
    OtlpReceiver rx;
    Harness h(fast(rx, {.protocol = p, .compression = OtlpCompression::gzip}));
    make_rich_trace(h.tracer);
    h.spans(200);
    ASSERT_TRUE(h.tracer.force_flush(kPatience));
    expect_arrived_as_held(h, rx);
    for (const auto& r : rx.requests()) {
      EXPECT_EQ(r.content_encoding, "gzip");
      EXPECT_TRUE(r.decode_error.empty()) << r.decode_error;
    }
  }
}

TEST(OtlpExporter, GzipCompressionRoundTrips) {
  std::string body(100000, 'a');
  for (std::size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>('a' + i % 26);
  std::string z, back;
  ASSERT_TRUE(detail::otlp::gzip_compress(body, z));
  EXPECT_LT(z.size(), body.size() / 4);
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
  ASSERT_FALSE(otlp::gunzip(z, back));
  EXPECT_EQ(back, body);
}

TEST(OtlpExporter, SameSpansThroughProtobufAndJsonDecodeTheSame) {
  OtlpReceiver rx_proto, rx_json;
  Error e1, e2;
  auto proto = make_otlp_exporter(fast(rx_proto), &e1);
  auto json = make_otlp_exporter(fast(rx_json, {.protocol = OtlpProtocol::http_json}), &e2);
  ASSERT_TRUE(proto) << e1.message;
  ASSERT_TRUE(json) << e2.message;
  Tracer t = Tracer::init({.project = "both",
                           .exporter = ExporterKind::none,
                           .exporters = {proto, json},
                           .make_default = false});
  make_rich_trace(t);
  for (int i = 0; i < 50; ++i) auto s = t.span("more", {.attributes = {{"i", i}}});
  ASSERT_TRUE(t.force_flush(kPatience));
  ASSERT_TRUE(rx_proto.wait_for_spans(52, kPatience));
  ASSERT_TRUE(rx_json.wait_for_spans(52, kPatience));
  auto a = rx_proto.spans();
  auto b = rx_json.spans();
  auto by_id = [](const otlp::Span& x, const otlp::Span& y) {
    return x.span_id.value < y.span_id.value;
  };
  std::sort(a.begin(), a.end(), by_id);
  std::sort(b.begin(), b.end(), by_id);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i] == b[i]) << a[i].name;
  EXPECT_TRUE(rx_proto.requests()[0].decoded.resource_spans[0].resource ==
              rx_json.requests()[0].decoded.resource_spans[0].resource);
}

TEST(OtlpExporter, BatchesBySizeAndKeepsTheConnectionAlive) {
  OtlpReceiver rx;
  Harness h(fast(rx, {.max_export_batch_size = 10, .schedule_delay = 10000ms}));
  h.spans(35);
  ASSERT_TRUE(h.tracer.force_flush(kPatience));
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 4u);
  std::vector<std::size_t> sizes;
  for (const auto& r : reqs) sizes.push_back(r.decoded.span_count());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 10, 5}));
  for (const auto& r : reqs)
    EXPECT_EQ(r.remote_port, reqs[0].remote_port) << "a new connection per request";
  EXPECT_EQ(h.tracer.stats().export_sent, 35u);
}

TEST(OtlpExporter, ScheduleDelaySendsWithoutAFlush) {
  OtlpReceiver rx;
  Harness h(fast(rx, {.schedule_delay = 50ms}));
  h.spans(3);
  EXPECT_TRUE(rx.wait_for_spans(3, kPatience));
}

// ---- answers -----------------------------------------------------------------------------------

TEST(OtlpExporter, PartialSuccessCountsRejectedSpans) {
  for (OtlpProtocol p : {OtlpProtocol::http_protobuf, OtlpProtocol::http_json}) {
    OtlpReceiver rx;
    rx.script([](std::size_t) {
      return OtlpReceiver::Answer{.action = OtlpReceiver::Action::partial,
                                  .rejected_spans = 3,
                                  .error_message = "3 spans had no name"};
    });
    Harness h(fast(rx, {.protocol = p}));
    h.spans(10);
    ASSERT_TRUE(h.tracer.force_flush(kPatience));
    Stats s = h.tracer.stats();
    EXPECT_EQ(s.export_rejected, 3u);
    EXPECT_EQ(s.export_sent, 7u);
    EXPECT_EQ(s.export_retries, 0u);
    EXPECT_EQ(rx.request_count(), 1u);
  }
}

TEST(OtlpExporter, BadRequestIsNeverRetried) {
  for (int status : {400, 401, 413}) {
    OtlpReceiver rx;
    rx.script([status](std::size_t) {
      return OtlpReceiver::Answer{.action = OtlpReceiver::Action::status, .status = status};
    });
    Harness h(fast(rx));
    h.spans(5);
    // The flush returns once the exporter is idle: a retry would still be pending.
    ASSERT_TRUE(h.tracer.force_flush(kPatience));
    EXPECT_EQ(rx.request_count(), 1u) << status;
    Stats s = h.tracer.stats();
    EXPECT_EQ(s.export_rejected, 5u) << status;
    EXPECT_EQ(s.export_retries, 0u) << status;
    EXPECT_EQ(s.export_sent, 0u) << status;
  }
}

TEST(OtlpExporter, OtherServerErrorsAreNotRetried) {
  OtlpReceiver rx;
  rx.script([](std::size_t) {
    return OtlpReceiver::Answer{.action = OtlpReceiver::Action::status, .status = 500};
  });
  Harness h(fast(rx));
  h.spans(4);
  ASSERT_TRUE(h.tracer.force_flush(kPatience));
  EXPECT_EQ(rx.request_count(), 1u);
  EXPECT_EQ(h.tracer.stats().export_failed, 4u);
}

TEST(OtlpExporter, TooManyRequestsHonoursRetryAfterSeconds) {
  OtlpReceiver rx;
  rx.script([](std::size_t i) {
    if (i == 0)
      return OtlpReceiver::Answer{
          .action = OtlpReceiver::Action::status, .status = 429, .retry_after = "7"};
    return OtlpReceiver::Answer{};
  });
  Clocked c({.endpoint = rx.endpoint(), .max_export_batch_size = 5}, Clocked::Via::curl);
  c.spans(5);  // a full batch: sealed and sent at once
  // The header crossed HTTP and libcurl: the sender waited 7 s (its own backoff: 0.5-1.5 s).
  EXPECT_EQ(c.run_until_counted(5), std::vector<milliseconds>{7000ms});
  ExporterStats s = c.exporter->stats();
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.sent, 5u);
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].body, reqs[1].body);  // the same request again
}

TEST(OtlpExporter, ServiceUnavailableIsRetriedWithBackoff) {
  for (int status : {502, 503, 504}) {
    OtlpReceiver rx;
    rx.script([status](std::size_t i) {
      if (i < 2)
        return OtlpReceiver::Answer{.action = OtlpReceiver::Action::status, .status = status};
      return OtlpReceiver::Answer{};
    });
    Clocked c({.endpoint = rx.endpoint(),
               .max_export_batch_size = 5,
               .retry_initial_backoff = 100ms,
               .retry_max_backoff = 1000ms},
              Clocked::Via::curl);
    c.spans(5);
    auto steps = c.run_until_counted(5);
    ASSERT_EQ(steps.size(), 2u) << status;
    expect_jittered(steps[0], 100ms);
    expect_jittered(steps[1], 200ms);
    EXPECT_EQ(rx.request_count(), 3u) << status;
    ExporterStats s = c.exporter->stats();
    EXPECT_EQ(s.retries, 2u) << status;
    EXPECT_EQ(s.sent, 5u) << status;
  }
}

TEST(OtlpExporter, ClosedConnectionIsRetried) {
  OtlpReceiver rx;
  rx.script([](std::size_t i) {
    if (i == 0) return OtlpReceiver::Answer{.action = OtlpReceiver::Action::close};
    return OtlpReceiver::Answer{};
  });
  Harness h(fast(rx));
  h.spans(5);
  ASSERT_TRUE(h.tracer.force_flush(kPatience));
  EXPECT_EQ(rx.request_count(), 2u);
  Stats s = h.tracer.stats();
  EXPECT_EQ(s.export_retries, 1u);
  EXPECT_EQ(s.export_sent, 5u);
}

TEST(OtlpExporter, ConnectionRefusedIsRetriedThenCountedAsFailed) {
  Clocked c({.endpoint = "http://127.0.0.1:" + std::to_string(free_port()) + "/v1/traces",
             .max_export_batch_size = 3,
             .export_timeout = 300ms,
             .retry_initial_backoff = 20ms,
             .retry_max_backoff = 40ms},
            Clocked::Via::curl);
  c.spans(3);
  auto steps = c.run_until_counted(3);
  ExporterStats s = c.exporter->stats();
  EXPECT_EQ(s.failed, 3u);
  EXPECT_GE(s.retries, 1u);
  EXPECT_EQ(s.retries, steps.size());
}

// ---- a hanging endpoint never holds the application or the deadlines ----------------------------

// Through the tracer, on real time: the flush and the shutdown give up (they cannot succeed while
// the endpoint hangs) and every span is counted once. How close to their deadlines they return is
// checked on a manual clock below (FlushAndShutdownGiveUpJustBeforeTheirDeadlines).
TEST(OtlpExporter, HangingEndpointFlushAndShutdownGiveUp) {
  OtlpReceiver rx;
  rx.script([](std::size_t) { return OtlpReceiver::Answer{.action = OtlpReceiver::Action::hang}; });
  Harness h(fast(rx, {.timeout = 10000ms, .export_timeout = 30000ms}));
  h.spans(5);
  ASSERT_TRUE(rx.wait_for_requests(1, kPatience));
  h.spans(1000);  // recording never waits for the exporter
  EXPECT_FALSE(h.tracer.force_flush(300ms));
  EXPECT_FALSE(h.tracer.shutdown(300ms));
  // Every span is counted once the exporter's own shutdown has finished. It normally finishes
  // before the tracer's deadline; when the machine is slow (sanitizers) it can finish just after
  // shutdown() returned, so wait for the counts (bounded) rather than read them at once.
  auto counted = [&] {
    Stats s = h.tracer.stats();
    return s.export_dropped_shutdown + s.export_dropped_queue_full + s.export_failed;
  };
  for (auto until = Clock::now() + kPatience; counted() < 1005u && Clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
  }
  Stats s = h.tracer.stats();
  EXPECT_EQ(s.export_sent, 0u);
  EXPECT_EQ(counted(), 1005u);
  rx.release_hangs();
}

TEST(OtlpExporter, FlushAndShutdownGiveUpJustBeforeTheirDeadlines) {
  Clocked c({.max_export_batch_size = 5});
  c.http->script([](std::size_t) { return fakes::FakeHttp::Answer{.hang = true}; });
  c.spans(5);
  ASSERT_TRUE(c.http->wait_for_posts(1, kPatience));

  // A flush gives up 2 x min(20 ms, a tenth of the time left) early, a shutdown 1 x: room for the
  // shutdown that follows a failed flush to cut the request short and join the sender.
  auto deadline = c.clock->now() + 300ms;
  auto flush = std::async(std::launch::async, [&] { return c.exporter->force_flush(deadline); });
  EXPECT_EQ(c.clock->wait_for_waiters(1, kPatience), deadline - 40ms);
  EXPECT_EQ(c.clock->advance_to_earliest_wait(1, kPatience), 260ms);
  EXPECT_FALSE(flush.get());

  deadline = c.clock->now() + 100ms;
  auto shutdown = std::async(std::launch::async, [&] { return c.exporter->shutdown(deadline); });
  EXPECT_EQ(c.clock->wait_for_waiters(1, kPatience), deadline - 10ms);
  c.clock->advance(90ms);
  EXPECT_FALSE(shutdown.get());  // and the hung request was cut short: the sender has joined
  ExporterStats s = c.exporter->stats();
  EXPECT_EQ(s.sent, 0u);
  EXPECT_EQ(s.dropped_shutdown, 5u);
  EXPECT_EQ(c.http->posts().size(), 1u);
}

TEST(OtlpExporter, BoundedQueueDropsAndCounts) {
  OtlpReceiver rx;
  rx.script([](std::size_t) { return OtlpReceiver::Answer{.action = OtlpReceiver::Action::hang}; });
  Harness h(
      fast(rx, {.max_export_batch_size = 10, .schedule_delay = 10000ms, .max_queue_size = 20}));
  h.spans(10);  // one full batch: sealed and sent at once, then it hangs
  ASSERT_TRUE(rx.wait_for_requests(1, kPatience));
  h.spans(90);
  EXPECT_FALSE(h.tracer.force_flush(300ms));
  // Counts become final as the exporter catches up; on a slow (sanitized, loaded) machine that can
  // be just after the deadline-bounded call returns, so wait for them (bounded).
  auto wait_for = [&](auto field, std::uint64_t want) {
    for (auto until = Clock::now() + kPatience;
         h.tracer.stats().*field < want && Clock::now() < until;) {
      std::this_thread::sleep_for(10ms);
    }
    return h.tracer.stats().*field;
  };
  EXPECT_EQ(wait_for(&Stats::export_dropped_queue_full, 80u), 80u);  // 10 in flight + 10 queued
  EXPECT_FALSE(h.tracer.shutdown(200ms));
  EXPECT_EQ(wait_for(&Stats::export_dropped_shutdown, 20u), 20u);
  EXPECT_EQ(h.tracer.stats().spans_exported, 100u);  // handed to the exporter: then export_*
  rx.release_hangs();
}

// ---- timers, on a manual clock and a fake transport -------------------------------------------

TEST(OtlpExporter, BackoffDoublesWithJitterUpToTheMaximum) {
  Clocked c(
      {.max_export_batch_size = 5, .retry_initial_backoff = 100ms, .retry_max_backoff = 300ms});
  c.http->script(
      [](std::size_t i) { return fakes::FakeHttp::Answer{.status = i < 4 ? 503 : 200}; });
  c.spans(5);
  auto steps = c.run_until_counted(5);
  ASSERT_EQ(steps.size(), 4u);
  expect_jittered(steps[0], 100ms);
  expect_jittered(steps[1], 200ms);
  expect_jittered(steps[2], 300ms);
  expect_jittered(steps[3], 300ms);
  ExporterStats s = c.exporter->stats();
  EXPECT_EQ(s.retries, 4u);
  EXPECT_EQ(s.sent, 5u);
  auto posts = c.http->posts();
  ASSERT_EQ(posts.size(), 5u);
  for (const auto& p : posts) EXPECT_EQ(p.body, posts[0].body);
}

TEST(OtlpExporter, RetryAfterShorterThanTheBackoffKeepsTheBackoff) {
  Clocked c({.max_export_batch_size = 5, .retry_initial_backoff = 4000ms});
  c.http->script([](std::size_t i) {
    return i == 0 ? fakes::FakeHttp::Answer{.status = 429, .retry_after = "1"}
                  : fakes::FakeHttp::Answer{};
  });
  c.spans(5);
  auto steps = c.run_until_counted(5);
  ASSERT_EQ(steps.size(), 1u);
  expect_jittered(steps[0], 4000ms);
  EXPECT_GE(steps[0], 2000ms);
  EXPECT_EQ(c.exporter->stats().sent, 5u);
}

TEST(OtlpExporter, RetryAfterBeyondTheExportTimeoutGivesUpAtOnce) {
  Clocked c({.max_export_batch_size = 5, .export_timeout = 10000ms});
  c.http->script(
      [](std::size_t) { return fakes::FakeHttp::Answer{.status = 429, .retry_after = "60"}; });
  c.spans(5);
  EXPECT_TRUE(c.run_until_counted(5).empty());  // no wait: it cannot be retried in time
  ExporterStats s = c.exporter->stats();
  EXPECT_EQ(s.failed, 5u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(c.http->posts().size(), 1u);
}

TEST(OtlpExporter, PersistentFailureGivesUpAtTheExportTimeout) {
  Clocked c({.timeout = 400ms,
             .max_export_batch_size = 6,
             .export_timeout = 1000ms,
             .retry_initial_backoff = 100ms,
             .retry_max_backoff = 100ms});
  c.http->script([](std::size_t) { return fakes::FakeHttp::Answer{.status = 503}; });
  c.spans(6);
  auto steps = c.run_until_counted(6);
  ExporterStats s = c.exporter->stats();
  EXPECT_EQ(s.failed, 6u);
  EXPECT_EQ(s.retries, steps.size());
  auto posts = c.http->posts();
  ASSERT_EQ(posts.size(), steps.size() + 1);
  // It retried while a backoff (at most 151 ms) still fitted before the export timeout.
  auto waited = std::accumulate(steps.begin(), steps.end(), 0ms);
  EXPECT_LT(waited, 1000ms);
  EXPECT_GT(waited, 1000ms - 151ms);
  // Each request may take the request timeout, or what is left of the export timeout if less.
  milliseconds elapsed = 0ms;
  for (std::size_t i = 0; i < posts.size(); ++i) {
    EXPECT_EQ(posts[i].timeout, std::min(400ms, 1000ms - elapsed)) << i;
    if (i < steps.size()) elapsed += steps[i];
  }
}

TEST(OtlpExporter, NetworkErrorIsRetried) {
  Clocked c({.max_export_batch_size = 2, .retry_initial_backoff = 50ms});
  c.http->script([](std::size_t i) { return fakes::FakeHttp::Answer{.status = i == 0 ? 0 : 200}; });
  c.spans(2);
  auto steps = c.run_until_counted(2);
  ASSERT_EQ(steps.size(), 1u);
  expect_jittered(steps[0], 50ms);
  EXPECT_EQ(c.exporter->stats().sent, 2u);
}

TEST(OtlpExporter, ScheduleDelaySendsAnOpenBatch) {
  Clocked c({.schedule_delay = 500ms});
  auto opened = c.clock->now();
  c.spans(3);  // fewer than a batch: it stays open
  EXPECT_EQ(c.clock->wait_for_waiters(1, kPatience), opened + 500ms);
  EXPECT_TRUE(c.http->posts().empty());  // the clock has not moved: nothing can have been sent
  c.clock->advance(500ms);
  ASSERT_TRUE(c.http->wait_for_posts(1, kPatience));
  ASSERT_TRUE(c.exporter->force_flush(c.clock->now() + 1h));
  EXPECT_EQ(c.exporter->stats().sent, 3u);
  EXPECT_EQ(c.http->posts().size(), 1u);
}

// ---- pieces ----------------------------------------------------------------------------------

TEST(OtlpExporter, RetryAfterValues) {
  EXPECT_EQ(detail::parse_retry_after("3"), 3);
  EXPECT_EQ(detail::parse_retry_after(" 10 "), 10);
  EXPECT_LT(detail::parse_retry_after(""), 0);
  EXPECT_LT(detail::parse_retry_after("soon"), 0);
  EXPECT_LT(detail::parse_retry_after("-1"), 0);
  char buf[64];
  std::time_t later = std::time(nullptr) + 30;
  std::tm tm{};
  gmtime_r(&later, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  double d = detail::parse_retry_after(buf);
  EXPECT_GE(d, 28);
  EXPECT_LE(d, 31);
  EXPECT_EQ(detail::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0);  // in the past
}

TEST(OtlpExporter, MakeOtlpExporterRejectsBadOptions) {
  Error e;
  EXPECT_FALSE(make_otlp_exporter(OtlpOptions{.endpoint = "ftp://example.com"}, &e));
  EXPECT_EQ(e.code, ErrorCode::invalid_option);
  EXPECT_NE(e.message.find("Options::otlp.endpoint"), std::string::npos) << e.message;
  EXPECT_FALSE(make_otlp_exporter(OtlpOptions{.headers = {{"Bad Name", "x"}}}, &e));
  EXPECT_FALSE(make_otlp_exporter(OtlpOptions{.headers = {{"X", "a\r\nInjected: 1"}}}, &e));
  EXPECT_FALSE(
      make_otlp_exporter(OtlpOptions{.max_export_batch_size = 100, .max_queue_size = 10}, &e));
  EXPECT_NE(e.message.find("must not exceed"), std::string::npos) << e.message;
}
