// The HTTP client seam of network exporters: one POST at a time from one thread, abortable from
// any thread. The libcurl implementation keeps its connection alive between requests.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skein::detail {

struct HttpResponse {
  /// HTTP status; 0 when no answer arrived (network error, timeout, abort).
  int status = 0;
  /// What went wrong when status is 0.
  std::string error;
  /// True when `abort()` cut the request short.
  bool aborted = false;
  std::string body;          ///< capped (see the transport)
  std::string content_type;  ///< the Content-Type header
  std::string retry_after;   ///< the Retry-After header, as sent
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  /// Sends `body` with the transport's fixed URL and headers; waits at most `timeout`.
  /// Called from one thread at a time.
  virtual HttpResponse post(std::string_view body, std::chrono::milliseconds timeout) = 0;
  /// Any thread: makes the current and every later `post` return at once (aborted). Sticky.
  virtual void abort() noexcept = 0;
};

struct HttpTarget {
  std::string url;
  /// Every header, "Name: value" form is built by the transport.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// A libcurl transport (HTTP and HTTPS). Null, with `error` set, when libcurl cannot start.
std::unique_ptr<HttpTransport> make_curl_transport(HttpTarget target, std::string* error);

/// Seconds to wait from a Retry-After value (delta-seconds or an HTTP date); negative when the
/// value is absent or malformed.
double parse_retry_after(std::string_view value) noexcept;

}  // namespace skein::detail
