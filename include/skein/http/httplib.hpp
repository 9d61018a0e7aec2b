// skein/http/httplib.hpp — SERVER spans for cpp-httplib (target skein::httplib, optional).
//
//     svr.Post("/charge", skein::http::traced(tracer, "/charge", [](const httplib::Request& req,
//                                                                    httplib::Response& res) {
//       // a SERVER span "POST /charge" is current here, child of the caller's span
//     }));
//
// The incoming `traceparent`, `tracestate` and `baggage` are extracted (see
// skein/propagation.hpp), so the span continues the caller's trace and carries its baggage. The
// span records the OpenTelemetry HTTP server attributes: http.request.method, url.full,
// url.path, url.query, url.scheme, server.address, server.port, client.address, client.port,
// user_agent.original, network.protocol.version, http.route and http.response.status_code; a
// 5xx response or an exception marks it as an error. For outgoing requests with
// httplib::Client, `skein::inject(headers)` fills an httplib::Headers.
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>

#include "skein/propagation.hpp"
#include "skein/tracer.hpp"

namespace skein::http {

struct ServerOptions {
  /// The route template (`/users/:id`): http.route and the span name "METHOD route". Default: the
  /// span is named after the method only (paths are too many to name spans after).
  std::string route{};
  /// How the incoming context is read (trust boundaries: drop baggage, restart traces).
  ExtractOptions extract{};
};

/// The SERVER span of one request; current on this thread while it lives.
class ServerSpan {
 public:
  ServerSpan(Tracer& tracer, const httplib::Request& request, const ServerOptions& options = {});
  ServerSpan(const ServerSpan&) = delete;
  ServerSpan& operator=(const ServerSpan&) = delete;

  /// Records the response status (a 5xx is an error) and ends the span.
  void end(const httplib::Response& response) noexcept;
  /// The span, for attributes and events.
  Span& span() noexcept { return span_; }
  /// The context that arrived with the request (invalid when none, or when it was malformed).
  [[nodiscard]] const Context& incoming() const noexcept { return incoming_; }

 private:
  Context incoming_;  // declared first: the span refers to its trace state and baggage
  Span span_;
};

/// Wraps a handler so that each request runs inside a ServerSpan.
httplib::Server::Handler traced(Tracer tracer, std::string route, httplib::Server::Handler handler,
                                ExtractOptions extract = {});

}  // namespace skein::http
