// Collector and store figures, printed as ONE JSON object line (bench/report reads it):
//   collector_ingest_spans_per_s  protobuf batches of 512 spans, one client on loopback, into the
//                                 store (acknowledged = committed); trace and span ids that grow
//                                 over time, so that rows are appended to the store's indexes
//   collector_ingest_random_ids_spans_per_s
//                                 the same with random trace and span ids, as OpenTelemetry SDKs
//                                 send them: rows land all over the id-keyed indexes
//   store_trace_lookup_ms         one trace (10 spans) by id, with 1,000,000 spans stored (median)
//   store_trace_list_ms           the first page (50) of the trace list filtered by service
//   (median)
//
//     bench_collector [spans_in_store]     (default 1000000; rounded up to whole traces of 10,
//                                          at least 20)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "collector/server.hpp"
#include "otlp/decode.hpp"
#include "skein/otlp.hpp"
#include "store/store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU time (user + system) of the whole process so far, in seconds.
double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The id of trace number `trace` (spans 10 * trace ... 10 * trace + 9 of make_batch).
skein::TraceId trace_id_of(std::uint64_t trace) {
  return skein::TraceId{0x5eed000000000000ULL | trace, trace * 0x9E3779B97F4A7C15ULL + 1};
}

// A bijective scramble (the SplitMix64 finalizer): distinct inputs, random-looking outputs.
std::uint64_t scramble(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// One protobuf ExportTraceServiceRequest of `n` spans (10 per trace), ids from `seq`: growing,
// or random-looking (and still unique) with `random_ids`.
std::string make_batch(std::uint64_t& seq, int n, const skein::Resource& res,
                       bool random_ids = false) {
  static const std::string input(120, 'x');
  std::vector<skein::SpanView> spans(static_cast<std::size_t>(n));
  std::vector<std::array<skein::Attribute, 5>> attrs(spans.size());
  const std::uint64_t now = 1700000000000000000ULL;
  skein::SpanId parent{};
  for (int i = 0; i < n; ++i, ++seq) {
    auto& s = spans[static_cast<std::size_t>(i)];
    s.trace_id = trace_id_of(seq / 10);
    s.span_id = skein::SpanId{seq + 1};
    if (random_ids) {
      s.trace_id = skein::TraceId{scramble(seq / 10 + 0x1234567), scramble(seq / 10)};
      s.span_id = skein::SpanId{scramble(seq + 0x9876543) | 1};
    }
    s.parent_span_id = seq % 10 == 0 ? skein::SpanId{} : parent;
    if (seq % 10 == 0) parent = s.span_id;
    s.flags = 1;
    s.name = seq % 10 == 0 ? "GET /checkout" : "SELECT orders";
    s.kind = seq % 10 == 0 ? skein::SpanKind::server : skein::SpanKind::client;
    s.start_unix_nano = now + seq * 1000;
    s.end_unix_nano = s.start_unix_nano + 500;
    auto& a = attrs[static_cast<std::size_t>(i)];
    a[0] = {"http.request.method", skein::AttrValue(std::string_view("GET"))};
    a[1] = {"http.response.status_code", skein::AttrValue(std::int64_t{200})};
    a[2] = {"db.system", skein::AttrValue(std::string_view("postgresql"))};
    a[3] = {"honeyhive_user_properties.user_id", skein::AttrValue(std::string_view("user-42"))};
    a[4] = {"honeyhive_inputs.query", skein::AttrValue(std::string_view(input))};
    s.attributes = a;
    s.resource = &res;
  }
  std::string out;
  skein::encode_otlp_protobuf(spans, out);
  return out;
}

// A keep-alive HTTP/1.1 client on one socket.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fd_ = -1;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  /// POSTs and returns the status code (0 on a broken connection).
  int post(const std::string& body) {
    std::string req =
        "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n";
    req += body;
    for (std::size_t off = 0; off < req.size();) {
      auto n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return 0;
      off += static_cast<std::size_t>(n);
    }
    std::string in;
    char buf[4096];
    for (;;) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return 0;
      in.append(buf, static_cast<std::size_t>(n));
      auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      auto cl = in.find("Content-Length: ");
      std::size_t len = cl != std::string::npos && cl < end ? std::stoul(in.substr(cl + 16)) : 0;
      if (in.size() >= end + 4 + len) return std::stoi(in.substr(9, 3));
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t store_spans = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("skein-bench-collector-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  skein::Resource res;
  res.service_name = "checkout";
  res.attributes = {{"service.name", "checkout"}, {"deployment.environment", "bench"}};

  // 1. Ingest over loopback, with growing ids and with random ones, each into a new store.
  auto ingest = [&](bool random_ids, const char* file) -> double {
    skein::collector::ServeOptions opt;
    opt.port = 0;
    opt.db = (dir / file).string();
    opt.quiet = true;
    std::string err;
    auto server = skein::collector::Server::start(opt, err);
    if (!server) {
      std::fprintf(stderr, "bench_collector: %s\n", err.c_str());
      return -1;
    }
    std::uint64_t seq = 0;
    std::vector<std::string> batches;
    for (int i = 0; i < 400; ++i) batches.push_back(make_batch(seq, 512, res, random_ids));
    Client client(server->port());
    for (int i = 0; i < 20; ++i) client.post(batches[static_cast<std::size_t>(i)]);  // warm up
    const double cpu0 = process_cpu_s();
    auto t0 = Clock::now();
    std::size_t sent = 0;
    for (std::size_t i = 20; i < batches.size(); ++i) {
      if (client.post(batches[i]) != 200) {
        std::fprintf(stderr, "bench_collector: ingest failed\n");
        return -1;
      }
      sent += 512;
    }
    const double rate = static_cast<double>(sent) / (ms_since(t0) / 1000.0);
    // CPU per span does not depend on what else the machine runs, unlike spans/s.
    std::fprintf(stderr,
                 "bench_collector: ingest (%s ids) used %.2f us CPU per span (client, server and "
                 "its checkpoints)\n",
                 random_ids ? "random" : "growing",
                 (process_cpu_s() - cpu0) * 1e6 / static_cast<double>(sent));
    server->stop();
    return rate;
  };
  const double spans_per_s = ingest(false, "ingest.db");
  const double random_spans_per_s = ingest(true, "ingest-random.db");
  if (spans_per_s < 0 || random_spans_per_s < 0) return 1;

  // 2 and 3. A store of `store_spans` spans, then lookups and lists.
  // Whole traces of 10 spans, at least one per service; batches of whole traces (up to 4,090
  // spans), the services taking turns by batch, so that each has half the traces even when the
  // store holds only a few batches (with one batch of 4,096 spans, small stores had one service
  // and no sampled trace: the list check failed and the lookups divided by zero).
  const std::uint64_t stored_spans = std::max<std::uint64_t>(20, (store_spans + 9) / 10 * 10);
  const std::uint64_t batch_spans = std::min<std::uint64_t>(4090, (stored_spans / 2 + 9) / 10 * 10);
  double lookup_ms = 0, list_ms = 0;
  {
    const std::string db = (dir / "lookup.db").string();
    std::string err;
    auto st = skein::store::Store::open(db, skein::store::Store::Mode::read_write, err);
    if (!st) {
      std::fprintf(stderr, "bench_collector: %s\n", err.c_str());
      return 1;
    }
    // Two services so that the filter has something to skip.
    skein::Resource other = res;
    other.attributes = {{"service.name", "search"}};
    std::uint64_t seq = 0, traces_of[2] = {0, 0};
    const auto fill0 = Clock::now();
    double write_cpu_s = 0;
    for (std::uint64_t batch = 0; seq < stored_spans; ++batch) {
      const int n = static_cast<int>(std::min(batch_spans, stored_spans - seq));
      traces_of[batch % 2] += static_cast<std::uint64_t>(n) / 10;
      std::string body = make_batch(seq, n, batch % 2 == 0 ? res : other);
      skein::otlp::TracesRequest req;  // decoded as the collector does: the same rows
      if (auto e = skein::otlp::decode_protobuf(body, req)) {
        std::fprintf(stderr, "bench_collector: %s\n", e.message.c_str());
        return 1;
      }
      timespec c0, c1;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
      if (!st->write(req).ok) {
        std::fprintf(stderr, "bench_collector: store write failed\n");
        return 1;
      }
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
      write_cpu_s += static_cast<double>(c1.tv_sec - c0.tv_sec) +
                     static_cast<double>(c1.tv_nsec - c0.tv_nsec) / 1e9;
    }
    std::fprintf(stderr,
                 "bench_collector: store filled with %llu spans in %.1f s (store writes: %.2f us "
                 "CPU per span)\n",
                 static_cast<unsigned long long>(seq), ms_since(fill0) / 1000.0,
                 write_cpu_s * 1e6 / static_cast<double>(seq));
    st.reset();
    auto reader = skein::store::Store::open(db, skein::store::Store::Mode::read_only, err);
    if (!reader) {
      std::fprintf(stderr, "bench_collector: %s\n", err.c_str());
      return 1;
    }
    std::mt19937_64 rng(42);
    std::vector<double> lookups, lists;
    for (int i = 0; i < 200; ++i) {
      const auto id = trace_id_of(rng() % (seq / 10)).to_hex();
      auto t0 = Clock::now();
      auto spans = reader->get_trace(id);
      lookups.push_back(ms_since(t0));
      if (spans.size() != 10) {
        std::fprintf(stderr, "bench_collector: trace %s has %zu spans\n", id.c_str(), spans.size());
        return 1;
      }
    }
    for (int i = 0; i < 50; ++i) {
      skein::store::TraceFilter f;
      f.service = i % 2 ? "search" : "checkout";
      f.limit = 50;
      auto t0 = Clock::now();
      auto page = reader->list_traces(f);
      lists.push_back(ms_since(t0));
      const std::uint64_t expected = std::min<std::uint64_t>(50, traces_of[i % 2]);
      if (page.size() != expected) {
        std::fprintf(stderr, "bench_collector: %zu traces of %s listed, not %llu\n", page.size(),
                     f.service.c_str(), static_cast<unsigned long long>(expected));
        return 1;
      }
    }
    lookup_ms = median(lookups);
    list_ms = median(lists);
  }
  std::printf(
      "{\"collector_ingest_spans_per_s\":%.0f,\"collector_ingest_random_ids_spans_per_s\":%.0f,"
      "\"store_trace_lookup_ms\":%.3f,\"store_trace_list_ms\":%.3f,\"store_spans\":%llu}\n",
      spans_per_s, random_spans_per_s, lookup_ms, list_ms,
      static_cast<unsigned long long>(stored_spans));
  std::filesystem::remove_all(dir);
  return 0;
}
