#include "collector/server.hpp"

#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "collector/api.hpp"
#include "collector/assets.hpp"
#include "collector/writer.hpp"
#include "otlp/decode.hpp"
#include "store/json_writer.hpp"

namespace skein::collector {

namespace {

// Spans per part of a pipelined protobuf request (see Writer::Stream): a small first part, so
// that the writer starts soon, then parts that double up to kPartSpans (fewer parts: fewer
// hand-offs, and fewer traces split between two parts, each stored as two trace updates; the
// request thread still prepares a part faster than the writer stores the one before).
constexpr std::size_t kFirstPartSpans = 16, kPartSpans = 128;
// Spent parts a request thread keeps, to decode its next requests into (see
// otlp::decode_protobuf_parts): a request of 512 spans comes in 7 parts.
constexpr std::size_t kSpareParts = 8;

enum class Encoding { protobuf, json, other };

Encoding encoding_of(const std::string& content_type) {
  auto starts = [&](std::string_view p) {
    return content_type.size() >= p.size() &&
           std::equal(p.begin(), p.end(), content_type.begin(), [](char a, char b) {
             return a == std::tolower(static_cast<unsigned char>(b));
           });
  };
  if (starts("application/x-protobuf") || starts("application/protobuf")) return Encoding::protobuf;
  if (starts("application/json")) return Encoding::json;
  return Encoding::other;
}

// google.rpc.Status {code = 1, message = 2}, in the request's encoding.
void status_body(httplib::Response& res, Encoding enc, int code, const std::string& message) {
  if (enc == Encoding::protobuf) {
    std::string out;
    out += '\x08';
    for (auto v = static_cast<std::uint64_t>(code);; v >>= 7) {
      if (v < 0x80) {
        out += static_cast<char>(v);
        break;
      }
      out += static_cast<char>((v & 0x7f) | 0x80);
    }
    out += '\x12';
    for (auto v = static_cast<std::uint64_t>(message.size());; v >>= 7) {
      if (v < 0x80) {
        out += static_cast<char>(v);
        break;
      }
      out += static_cast<char>((v & 0x7f) | 0x80);
    }
    out += message;
    res.set_content(out, "application/x-protobuf");
  } else {
    std::string out = "{\"code\":" + std::to_string(code) + ",\"message\":";
    store::json_string(out, message);
    out += '}';
    res.set_content(out, "application/json");
  }
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

}  // namespace

bool is_loopback(const std::string& a) {
  return a == "localhost" || a == "::1" || a == "[::1]" || a.rfind("127.", 0) == 0;
}

struct Server::Impl {
  ServeOptions opt;
  httplib::Server http;
  std::unique_ptr<Writer> writer;
  std::thread thread;
  int port = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> requests{0}, ok{0}, partial{0}, bad_request{0}, too_large{0},
      unauthorized{0}, unsupported{0}, unavailable{0}, spans_in{0};

  // Read connections, one per request thread at a time.
  std::mutex readers_mu;
  std::vector<std::unique_ptr<store::Store>> readers;

  std::unique_ptr<store::Store> take_reader(std::string& err) {
    {
      std::lock_guard lk(readers_mu);
      if (!readers.empty()) {
        auto r = std::move(readers.back());
        readers.pop_back();
        return r;
      }
    }
    return store::Store::open(opt.db, store::Store::Mode::read_only, err);
  }
  void give_reader(std::unique_ptr<store::Store> r) {
    std::lock_guard lk(readers_mu);
    if (readers.size() < 8) readers.push_back(std::move(r));
  }

  bool authorized(const httplib::Request& req) const {
    if (opt.token.empty()) return true;
    auto h = req.get_header_value("Authorization");
    if (h.size() > 7 && (h.rfind("Bearer ", 0) == 0 || h.rfind("bearer ", 0) == 0))
      return constant_time_equal(std::string_view(h).substr(7), opt.token);
    if (req.has_param("token")) return constant_time_equal(req.get_param_value("token"), opt.token);
    return false;
  }

  void routes();
  void ingest(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader);
  template <typename F>
  void api(httplib::Response& res, const httplib::Request& req, F&& f);
  std::string live_json() const;
};

void Server::Impl::ingest(const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) {
  ++requests;
  const Encoding enc = encoding_of(req.get_header_value("Content-Type"));
  store::Counters failed;
  failed.requests = 1;
  failed.requests_failed = 1;
  if (!authorized(req)) {
    ++unauthorized;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_header("Connection", "close");
    status_body(res, enc == Encoding::protobuf ? enc : Encoding::json, 16,
                "missing or wrong bearer token");
    writer->count(failed);
    return;
  }
  if (enc == Encoding::other) {
    ++unsupported;
    res.status = 415;
    res.set_header("Connection", "close");
    status_body(res, Encoding::json, 3,
                "unsupported Content-Type \"" + req.get_header_value("Content-Type") +
                    "\": send application/x-protobuf or application/json");
    writer->count(failed);
    return;
  }
  std::string body;
  if (req.has_header("Content-Length")) {
    auto n = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    if (n <= opt.max_body_bytes) body.reserve(n);
  }
  bool too_big = false;
  const bool read_ok = reader([&](const char* data, std::size_t n) {
    if (body.size() + n > opt.max_body_bytes) {
      too_big = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (too_big || res.status == 413) {
    ++too_large;
    res.status = 413;
    res.set_header("Connection", "close");
    status_body(res, enc, 8,
                "request body larger than " + std::to_string(opt.max_body_bytes) +
                    " bytes (after decompression); send smaller batches");
    writer->count(failed);
    return;
  }
  if (!read_ok) {
    const bool unsupported_encoding = res.status == 415;
    (unsupported_encoding ? unsupported : bad_request)++;
    res.status = unsupported_encoding ? 415 : 400;
    res.set_header("Connection", "close");
    status_body(res, enc, 3,
                unsupported_encoding
                    ? "unsupported Content-Encoding \"" + req.get_header_value("Content-Encoding") +
                          "\": send gzip or none"
                    : std::string("could not read the request body (bad chunked encoding or "
                                  "corrupt compressed data)"));
    writer->count(failed);
    return;
  }
  store::Counters c;
  c.requests = 1;
  c.bytes_received = body.size();
  otlp::TracesRequest batch;
  otlp::DecodeError err;
  std::optional<store::WriteResult> streamed;
  std::vector<std::uint64_t> span_ids;
  if (enc == Encoding::protobuf && otlp::protobuf_span_ids(body, span_ids)) {
    // Pipelined: the writer stores each part while this thread decodes the next one.
    std::sort(span_ids.begin(), span_ids.end());
    auto stream = writer->open_stream(c, std::move(span_ids));
    // The parts of this thread's last requests, decoded into again: their strings and vectors
    // are allocated once, not per span (a quarter of the decoding's instructions were malloc,
    // and freeing as much again).
    thread_local std::vector<otlp::TracesRequest> spare;
    err = otlp::decode_protobuf_parts(
        body, kPartSpans, [&](otlp::TracesRequest& part) { stream.push(std::move(part)); },
        kFirstPartSpans, &spare);
    if (err) {
      stream.abort();
    } else {
      stream.finish();
      streamed = stream.wait(&spare, kSpareParts);
    }
  } else {
    err = enc == Encoding::protobuf ? otlp::decode_protobuf(body, batch)
                                    : otlp::decode_json(body, batch);
  }
  if (err) {
    ++bad_request;
    res.status = 400;
    status_body(res, enc, 3, "malformed OTLP request: " + err.message);
    failed.bytes_received = body.size();
    writer->count(failed);
    return;
  }
  store::WriteResult w = streamed ? std::move(*streamed) : writer->submit_borrowed(batch, c).get();
  if (!w.ok) {
    ++unavailable;
    res.status = 503;
    res.set_header("Retry-After", "1");
    status_body(res, enc, 14, "store write failed: " + w.error);
    return;
  }
  spans_in += w.accepted;
  std::string answer;
  if (w.rejected > 0) {
    ++partial;
    answer =
        enc == Encoding::protobuf
            ? otlp::encode_response_protobuf(static_cast<std::int64_t>(w.rejected),
                                             w.reject_message)
            : otlp::encode_response_json(static_cast<std::int64_t>(w.rejected), w.reject_message);
  } else {
    ++ok;
    answer =
        enc == Encoding::protobuf ? otlp::encode_response_protobuf() : otlp::encode_response_json();
  }
  res.status = 200;
  res.set_content(answer,
                  enc == Encoding::protobuf ? "application/x-protobuf" : "application/json");
}

std::string Server::Impl::live_json() const {
  std::string o = "{\"uptime_s\":";
  o += std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count());
  auto add = [&](const char* k, std::uint64_t v) {
    o += ",\"";
    o += k;
    o += "\":";
    o += std::to_string(v);
  };
  add("requests", requests);
  add("ok", ok);
  add("partial_success", partial);
  add("bad_request", bad_request);
  add("too_large", too_large);
  add("unauthorized", unauthorized);
  add("unsupported", unsupported);
  add("unavailable", unavailable);
  add("spans_accepted", spans_in);
  add("max_body_bytes", opt.max_body_bytes);
  return o + "}";
}

template <typename F>
void Server::Impl::api(httplib::Response& res, const httplib::Request& req, F&& f) {
  res.set_header("Cache-Control", "no-store");
  if (!authorized(req)) {
    res.status = 401;
    res.set_content("{\"error\":\"missing or wrong bearer token\"}", "application/json");
    return;
  }
  std::string err;
  auto reader = take_reader(err);
  if (!reader) {
    res.status = 503;
    std::string o = "{\"error\":";
    store::json_string(o, err);
    res.set_content(o + "}", "application/json");
    return;
  }
  std::string body = f(*reader, err);
  give_reader(std::move(reader));
  if (!err.empty()) {
    res.status = body.empty() ? 404 : 200;
    std::string o = "{\"error\":";
    store::json_string(o, err);
    if (body.empty()) body = o + "}";
  }
  res.set_content(body, "application/json");
}

void Server::Impl::routes() {
  http.Post("/v1/traces",
            [this](const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader) { ingest(req, res, reader); });
  http.Get("/api/traces", [this](const httplib::Request& req, httplib::Response& res) {
    api(res, req, [&](store::Store& st, std::string& err) {
      store::TraceFilter f;
      auto p = [&](const char* k) {
        return req.has_param(k) ? req.get_param_value(k) : std::string();
      };
      f.service = p("service");
      f.session = p("session");
      f.user = p("user");
      f.status = p("status");
      f.search = p("q");
      const auto now = now_ns();
      if (auto d = parse_duration_ns(p("min_duration")); d > 0)
        f.min_duration_ns = static_cast<std::uint64_t>(d);
      f.since_ns = parse_time_ns(p("since"), now);
      f.until_ns = parse_time_ns(p("until"), now);
      if (!p("before_ns").empty()) f.before_ns = std::strtoull(p("before_ns").c_str(), nullptr, 10);
      if (!p("limit").empty())
        f.limit = static_cast<std::uint32_t>(std::strtoul(p("limit").c_str(), nullptr, 10));
      auto traces = st.list_traces(f, &err);
      return err.empty() ? traces_json(traces) : std::string();
    });
  });
  http.Get(R"(/api/traces/([0-9a-fA-F]+))",
           [this](const httplib::Request& req, httplib::Response& res) {
             api(res, req, [&](store::Store& st, std::string& err) {
               auto spans = st.get_trace(req.matches[1].str(), &err);
               return spans.empty() ? std::string() : trace_json(spans);
             });
           });
  http.Get("/api/sessions", [this](const httplib::Request& req, httplib::Response& res) {
    api(res, req, [&](store::Store& st, std::string& err) {
      std::uint32_t limit = 100;
      if (req.has_param("limit"))
        limit = static_cast<std::uint32_t>(
            std::strtoul(req.get_param_value("limit").c_str(), nullptr, 10));
      auto s = st.list_sessions(limit, 0, &err);
      return err.empty() ? sessions_json(s) : std::string();
    });
  });
  http.Get(R"(/api/sessions/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    api(res, req, [&](store::Store& st, std::string& err) {
      auto id = req.matches[1].str();
      auto spans = st.get_session(id, 10000, &err);
      if (spans.empty() && err.empty()) err = "no session " + id;
      return spans.empty() ? std::string() : session_json(id, spans);
    });
  });
  http.Get("/api/services", [this](const httplib::Request& req, httplib::Response& res) {
    api(res, req, [&](store::Store& st, std::string&) {
      std::string o = "{\"services\":[";
      auto s = st.services();
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (i) o += ',';
        store::json_string(o, s[i]);
      }
      return o + "]}";
    });
  });
  http.Get("/api/stats", [this](const httplib::Request& req, httplib::Response& res) {
    api(res, req,
        [&](store::Store& st, std::string&) { return stats_json(st.stats(), live_json()); });
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  http.Get(R"(/(.*))", [](const httplib::Request& req, httplib::Response& res) {
    const Asset* a = find_asset(req.path);
    if (a == nullptr) {
      res.status = 404;
      res.set_content("not found\n", "text/plain");
      return;
    }
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
                   "base-uri 'none'; frame-ancestors 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::string(a->body), std::string(a->content_type).c_str());
  });
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
}

int Server::port() const noexcept {
  return impl_->port;
}

void Server::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->http.stop();
  impl_->thread.join();
  impl_->writer.reset();  // drains the queue
}

std::unique_ptr<Server> Server::start(const ServeOptions& options, std::string& error) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  if (impl->opt.db.empty()) impl->opt.db = store::default_store_path();
  if (!is_loopback(impl->opt.bind) && impl->opt.token.empty()) {
    error = "listening on " + impl->opt.bind +
            " exposes your traces beyond this machine: set --token (clients send "
            "Authorization: Bearer TOKEN), or bind 127.0.0.1";
    return nullptr;
  }
  auto st = store::Store::open(impl->opt.db, store::Store::Mode::read_write, error);
  if (!st) return nullptr;
  impl->writer = std::make_unique<Writer>(std::move(st), impl->opt.retention);
  impl->http.set_payload_max_length(impl->opt.max_body_bytes);
  impl->http.set_read_timeout(30, 0);
  impl->http.set_tcp_nodelay(true);
  impl->http.set_keep_alive_max_count(100000);
  impl->routes();
  int port = impl->opt.port;
  if (port == 0) {
    port = impl->http.bind_to_any_port(impl->opt.bind);
    if (port < 0) port = 0;
  } else if (!impl->http.bind_to_port(impl->opt.bind, port)) {
    port = 0;
  }
  if (port <= 0) {
    error = "cannot listen on " + impl->opt.bind + ":" + std::to_string(impl->opt.port) +
            " (in use? try --port)";
    return nullptr;
  }
  impl->port = port;
  auto* raw = impl.get();
  impl->thread = std::thread([raw] { raw->http.listen_after_bind(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int serve_main(const ServeOptions& options) {
  // Block the stop signals in every thread; one waits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string error;
  auto server = Server::start(options, error);
  if (!server) {
    std::fprintf(stderr, "skein serve: %s\n", error.c_str());
    return 1;
  }
  const std::string db = options.db.empty() ? store::default_store_path() : options.db;
  const std::string host =
      options.bind.find(':') != std::string::npos ? "[" + options.bind + "]" : options.bind;
  std::printf("skein serve: listening on http://%s:%d (OTLP/HTTP POST /v1/traces; viewer at /)\n",
              host.c_str(), server->port());
  std::printf("skein serve: store %s\n", db.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  if (!options.quiet) std::fprintf(stderr, "skein serve: stopping\n");
  server->stop();
  return 0;
}

}  // namespace skein::collector
