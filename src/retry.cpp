// Traced retries (skein/retry.hpp): the span, the events, the backoff.
#include <cxxabi.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "ids.hpp"
#include "skein/retry.hpp"

namespace skein {

std::chrono::nanoseconds retry_backoff(const RetryPolicy& p, int attempt, double u) {
  using namespace std::chrono;
  const double cap = static_cast<double>(duration_cast<nanoseconds>(p.max_backoff).count());
  double b = static_cast<double>(duration_cast<nanoseconds>(p.initial_backoff).count()) *
             std::pow(std::max(p.multiplier, 0.0), std::max(attempt - 1, 0));
  b = std::min(b, cap);
  const double j = std::clamp(p.jitter, 0.0, 1.0);
  if (j > 0) b = std::min(b * (1.0 - j + 2.0 * j * std::clamp(u, 0.0, 1.0)), cap);
  return nanoseconds(static_cast<std::int64_t>(std::max(b, 0.0)));
}

namespace detail {

std::string type_name(const std::type_info& type) {
  int status = 0;
  char* d = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string out = (status == 0 && d != nullptr) ? d : type.name();
  std::free(d);
  return out;
}

RetryError describe_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return {type_name(typeid(ex)), ex.what()};
  } catch (...) {
    return {"unknown", "unknown exception"};
  }
}

RetryRun::RetryRun(Tracer* tracer, const RetryPolicy& policy) noexcept : policy_(policy) {
  const int max = std::max(policy.max_attempts, 1);
  if (tracer != nullptr) {
    span_ = tracer->span(policy.name,
                         {.type = policy.type, .attributes = {{"retry.max_attempts", max}}});
  } else {
    span_ = skein::span(policy.name,
                        {.type = policy.type, .attributes = {{"retry.max_attempts", max}}});
  }
}

bool RetryRun::retryable(std::exception_ptr e) const noexcept {
  if (!policy_.retry_if) return true;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    try {
      return policy_.retry_if(ex);
    } catch (...) {
      return false;
    }
  } catch (...) {
    return false;  // a predicate was given and cannot judge a non-std exception
  }
}

std::optional<std::chrono::nanoseconds> RetryRun::failed(int attempt, const RetryError& error,
                                                         bool retryable) noexcept {
  const bool last = attempt >= std::max(policy_.max_attempts, 1);
  std::optional<std::chrono::nanoseconds> wait;
  if (retryable && !last) {
    double u = 0.5;
    if (policy_.jitter > 0) {
      try {
        u = policy_.random ? policy_.random() : static_cast<double>(random_u64() >> 11) * 0x1.0p-53;
      } catch (...) {
      }
    }
    wait = retry_backoff(policy_, attempt, u);
  }
  if (span_.recording()) {
    double backoff_ms = wait ? static_cast<double>(wait->count()) / 1e6 : 0.0;
    span_.add_event("retry.attempt", {{"retry.attempt", attempt},
                                      {"error.type", error.type},
                                      {"error.message", error.message},
                                      {"retry.retryable", retryable},
                                      {"retry.will_retry", wait.has_value()},
                                      {"retry.backoff_ms", backoff_ms}});
    if (!wait) {
      span_.set({{"retry.attempts", attempt}, {"retry.all_failed", true}});
      if (!retryable) span_.set("retry.not_retryable", true);
      span_.set("honeyhive_error", error.message);
      span_.set_status(StatusCode::error, error.message);
    }
  }
  return wait;
}

void RetryRun::succeeded(int attempt) noexcept {
  span_.set({{"retry.attempts", attempt}, {"retry.succeeded_at_attempt", attempt}});
}

void RetryRun::gave_up(std::exception_ptr e) noexcept {
  span_.record_exception(e);
}

void RetryRun::sleep(std::chrono::nanoseconds wait) {
  if (policy_.sleeper) {
    policy_.sleeper(wait);
  } else if (wait.count() > 0) {
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace detail
}  // namespace skein
