// The OTLP exporter's seams, for tests: the HTTP transport (http_transport.hpp) and the clock that
// every timer of the exporter reads and waits on (schedule delay, backoff, Retry-After, export
// timeout, the flush and shutdown deadlines). Production uses libcurl and
// std::chrono::steady_clock; tests use tests/fakes/fake_transport.hpp and
// tests/fakes/manual_clock.hpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "http_transport.hpp"
#include "skein/otlp.hpp"

namespace skein::detail {

/// Time as the OTLP exporter sees it. Thread-safe: the sender thread and the callers of
/// force_flush / shutdown use it at once.
class ExporterClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~ExporterClock() = default;
  virtual time_point now() = 0;
  /// Waits on `cv` (`lock` held on entry and on return) until it is notified or until `now()`
  /// reads `until` or later. May return early (spuriously): callers re-check their condition.
  virtual void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          time_point until) = 0;
};

/// std::chrono::steady_clock, shared.
std::shared_ptr<ExporterClock> steady_exporter_clock();

using TransportFactory = std::function<std::unique_ptr<HttpTransport>(std::string* error)>;

/// libcurl transports to `config`'s endpoint, with its headers.
TransportFactory curl_factory(const FinalizedOtlp& config);

/// An exporter that sends through the transports `factory` makes (one at a time; a new one after
/// a fork) and keeps its time with `clock`. Null, with `error` set, when the factory fails.
std::shared_ptr<OtlpExporter> make_otlp_exporter_with(const FinalizedOtlp& config,
                                                      TransportFactory factory,
                                                      std::shared_ptr<ExporterClock> clock,
                                                      Error* error);

}  // namespace skein::detail
