// `skein serve`: the OTLP/HTTP receiver, the JSON API and the web page, over one store.
//
// POST /v1/traces takes application/x-protobuf or application/json bodies, plain, gzip or
// deflate, with a Content-Length or chunked. The body is capped after decompression (413). It is
// decoded by the OTLP decoder (otlp/decode.hpp), handed to the single writer thread, and
// acknowledged only once its transaction committed; the answer is an ExportTraceServiceResponse
// in the request's encoding, with a partial success naming the spans refused. A body that does
// not decode gets 400 and a google.rpc.Status saying why. A failed commit gets 503 (retryable).
//
// GET / serves the viewer page (assets compiled into the binary); GET /api/* the JSON API. When a
// token is set every endpoint but the page's static files wants `Authorization: Bearer TOKEN`
// (the page passes the token it was opened with, `/?token=...`). Listening beyond loopback
// requires a token.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace skein::collector {

struct ServeOptions {
  std::string bind = "127.0.0.1";
  int port = 4318;  ///< 0 picks a free port
  std::string db;
  std::string token;
  store::Retention retention;
  std::size_t max_body_bytes = 32u << 20;
  bool quiet = false;
};

class Server {
 public:
  /// Opens the store, binds and starts serving on a thread of its own. Null with `error` set.
  static std::unique_ptr<Server> start(const ServeOptions& options, std::string& error);
  ~Server();
  [[nodiscard]] int port() const noexcept;
  /// Stops accepting, finishes the requests in flight and the writes queued.
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Runs until SIGINT or SIGTERM; the process exit code.
int serve_main(const ServeOptions& options);

/// Whether an address is loopback (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& address);

}  // namespace skein::collector
