// SERVER spans for cpp-httplib requests.
#include "skein/http/httplib.hpp"

#include <charconv>
#include <exception>
#include <utility>

namespace skein::http {
namespace {

std::string span_name(const httplib::Request& req, const std::string& route) {
  if (route.empty()) return req.method;
  return req.method + " " + route;
}

// "host:port" (or "[v6]:port") from the Host header.
void set_server_address(Span& span, const std::string& host_header, int local_port) {
  std::string_view host = host_header;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    if (close != std::string_view::npos) {
      if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
      host = host.substr(1, close - 1);
    }
  } else if (std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (!host.empty()) span.set("server.address", host);
  std::int64_t p = local_port;
  if (!port.empty()) std::from_chars(port.data(), port.data() + port.size(), p);
  if (p > 0) span.set("server.port", p);
}

}  // namespace

ServerSpan::ServerSpan(Tracer& tracer, const httplib::Request& req, const ServerOptions& options)
    : incoming_(extract(req.headers, options.extract)) {
  span_ =
      tracer.span(span_name(req, options.route), {.kind = SpanKind::server, .parent = &incoming_});
  if (!span_.recording()) return;
  const std::string host = req.get_header_value("Host");
  span_.set("http.request.method", req.method);
  span_.set("url.scheme", "http");
  span_.set("url.path", req.path);
  if (std::size_t q = req.target.find('?'); q != std::string::npos) {
    span_.set("url.query", std::string_view(req.target).substr(q + 1));
  }
  span_.set("url.full", "http://" + (host.empty() ? req.local_addr : host) + req.target);
  set_server_address(span_, host, req.local_port);
  if (!req.remote_addr.empty()) span_.set("client.address", req.remote_addr);
  if (req.remote_port > 0) span_.set("client.port", req.remote_port);
  if (req.has_header("User-Agent"))
    span_.set("user_agent.original", req.get_header_value("User-Agent"));
  if (req.version.starts_with("HTTP/")) {
    span_.set("network.protocol.version", std::string_view(req.version).substr(5));
  }
  if (!options.route.empty()) span_.set("http.route", options.route);
}

void ServerSpan::end(const httplib::Response& res) noexcept {
  if (span_.recording()) {
    // cpp-httplib leaves -1 for "not set by the handler" and then sends 200.
    const int status = res.status == -1 ? 200 : res.status;
    span_.set("http.response.status_code", status);
    if (status >= 500) {
      span_.set("error.type", std::to_string(status));
      span_.set_status(StatusCode::error);
    }
  }
  span_.end();
}

httplib::Server::Handler traced(Tracer tracer, std::string route, httplib::Server::Handler handler,
                                ExtractOptions extract) {
  return
      [tracer, route = std::move(route), handler = std::move(handler),
       extract = std::move(extract)](const httplib::Request& req, httplib::Response& res) mutable {
        ServerSpan span(tracer, req, {.route = route, .extract = extract});
        try {
          handler(req, res);
        } catch (...) {
          span.span().record_exception(std::current_exception());
          res.status = 500;
          span.end(res);
          throw;
        }
        span.end(res);
      };
}

}  // namespace skein::http
