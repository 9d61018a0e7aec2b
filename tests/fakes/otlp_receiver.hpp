// A real OTLP/HTTP receiver on 127.0.0.1 (cpp-httplib), for the OTLP exporter's tests: it
// records every request (headers, raw and decompressed body, decoded content) and answers
// what the test scripts: 200, a partial success, 4xx/5xx with Retry-After, a hang, or a
// connection closed mid-answer.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "otlp/decode.hpp"

#if defined(__SANITIZE_THREAD__)
// Debian's cpp-httplib is a shared library built without ThreadSanitizer. Its worker threads
// share function-local statics (the request-line std::regex), whose initialisation they check
// with a plain load that TSan cannot see, so TSan reports a race between two workers reading and
// building the regex: only when two connections are served, only when the timing keeps the
// first access in TSan's history. Ignore memory accesses made from inside that library (its
// locks still count); a race in skein or in this file is still reported.
extern "C" [[gnu::used]] inline const char* __tsan_default_suppressions() {
  return "called_from_lib:libcpp-httplib.so\n";
}
#endif

namespace skein::fakes {

class OtlpReceiver {
 public:
  struct Request {
    std::string path, content_type, content_encoding, authorization, user_agent;
    httplib::Headers headers;
    int remote_port = 0;
    std::string body;  ///< after Content-Encoding (httplib gunzips)
    otlp::TracesRequest decoded;
    std::string decode_error;
    std::chrono::steady_clock::time_point at;
  };

  /// What to answer to the request number `index` (0-based).
  enum class Action { ok, partial, status, hang, close };
  struct Answer {
    Action action = Action::ok;
    int status = 200;
    std::string retry_after{};        ///< Retry-After header when not empty
    std::int64_t rejected_spans = 0;  ///< for Action::partial
    std::string error_message{};      ///< for Action::partial
  };
  using Script = std::function<Answer(std::size_t index)>;

  OtlpReceiver() {
    server_.set_keep_alive_max_count(1000);
    server_.set_payload_max_length(64u << 20);
    server_.Post("/v1/traces",
                 [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    server_.Post("/opentelemetry/v1/traces",
                 [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ~OtlpReceiver() { stop(); }

  void stop() {
    release_hangs();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string endpoint() const { return base_url() + "/v1/traces"; }

  void script(Script s) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(s);
  }

  /// Lets every hanging request answer (200).
  void release_hangs() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  /// Spans in every request that arrived and decoded.
  std::vector<otlp::Span> spans() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<otlp::Span> out;
    for (const auto& r : requests_) {
      for (const auto& rs : r.decoded.resource_spans) {
        for (const auto& ss : rs.scope_spans)
          out.insert(out.end(), ss.spans.begin(), ss.spans.end());
      }
    }
    return out;
  }
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }
  bool wait_for_spans(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return span_count_locked() >= n; });
  }

 private:
  std::size_t span_count_locked() const {
    std::size_t n = 0;
    for (const auto& r : requests_) n += r.decoded.span_count();
    return n;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    Request r;
    r.path = req.path;
    r.headers = req.headers;
    r.content_type = req.get_header_value("Content-Type");
    r.content_encoding = req.get_header_value("Content-Encoding");
    r.authorization = req.get_header_value("Authorization");
    r.user_agent = req.get_header_value("User-Agent");
    r.remote_port = req.remote_port;
    r.at = std::chrono::steady_clock::now();
    // cpp-httplib (built with zlib) has already gunzipped a Content-Encoding: gzip body, and
    // answered 400 by itself had it not been valid gzip.
    r.body = req.body;
    const bool json = r.content_type == "application/json";
    if (r.decode_error.empty()) {
      auto e =
          json ? otlp::decode_json(r.body, r.decoded) : otlp::decode_protobuf(r.body, r.decoded);
      r.decode_error = e.message;
    }
    Answer a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (script_) a = script_(requests_.size());
      requests_.push_back(std::move(r));
    }
    cv_.notify_all();
    const char* type = json ? "application/json" : "application/x-protobuf";
    switch (a.action) {
      case Action::ok:
        res.status = 200;
        res.set_content(json ? otlp::encode_response_json() : otlp::encode_response_protobuf(),
                        type);
        break;
      case Action::partial:
        res.status = 200;
        res.set_content(json ? otlp::encode_response_json(a.rejected_spans, a.error_message)
                             : otlp::encode_response_protobuf(a.rejected_spans, a.error_message),
                        type);
        break;
      case Action::status:
        res.status = a.status;
        if (!a.retry_after.empty()) res.set_header("Retry-After", a.retry_after);
        res.set_content("scripted answer " + std::to_string(a.status), "text/plain");
        break;
      case Action::hang: {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(10), [&] { return released_; });
        res.status = 200;
        break;
      }
      case Action::close:
        // Headers go out, then the connection closes before the body: a broken answer.
        res.set_chunked_content_provider("text/plain",
                                         [](std::size_t, httplib::DataSink&) { return false; });
        break;
    }
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Script script_;
  bool released_ = false;
  std::vector<Request> requests_;
};

}  // namespace skein::fakes
