// skein/retry.hpp — traced retries with exponential backoff.
//
//     std::string page = skein::retry({.max_attempts = 4, .initial_backoff = 50ms,
//                                      .retry_if = skein::retry_on<TimeoutError>()},
//                                     [&] { return fetch(url); });
//
// One span for the whole operation (named `policy.name`, default "retry") with
// `retry.max_attempts`; a `retry.attempt` event per failed attempt with its number, `error.type`,
// `error.message`, whether it is retried and the backoff before the next one; at the end
// `retry.attempts` and either `retry.succeeded_at_attempt` or `retry.all_failed`. Spans the
// callable starts are children of the retry span.
//
// Two kinds of callables:
//   - ones that throw: an exception is a failed attempt; `retry_if` says which are retried (unset:
//     all). When no attempt is left, or the error is not retryable, the exception is rethrown
//     unchanged — the same object, with `throw;`.
//   - ones that return an error value: `retry(policy, fn, is_failure)` with a predicate on the
//     result; without one, `false`, an empty `std::optional` and an `std::expected`-like value
//     without a value are failures. When no attempt is left the last result is returned.
// The callable may take the attempt number (1, 2, …) as its only argument.
//
// Backoff before attempt n+1: initial_backoff · multiplier^(n-1), capped at max_backoff; with
// `jitter` j it is drawn uniformly from [b·(1-j), b·(1+j)] and capped again. `sleeper` replaces
// the sleep (tests record the backoffs instead of waiting); `random` replaces the jitter source.
//
// `retrying(policy, fn)` makes a callable that retries each call: it composes with `traced`,
// `correlated` and TraceOptions::when (see docs/patterns.md, "Combined").
#pragma once

#include <chrono>
#include <concepts>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "skein/span.hpp"
#include "skein/tracer.hpp"

namespace skein {

/// How to retry. Every field is optional.
struct RetryPolicy {
  /// Attempts in all, the first included (at least 1).
  int max_attempts = 3;
  /// Wait before the second attempt.
  std::chrono::milliseconds initial_backoff{100};
  /// Each further wait is this many times the previous one.
  double multiplier = 2.0;
  /// No wait is longer than this.
  std::chrono::milliseconds max_backoff{10000};
  /// 0: exact waits; j in (0, 1]: each wait drawn uniformly from [b·(1-j), b·(1+j)].
  double jitter = 0.0;
  /// Which exceptions are retried; unset: every exception.
  std::function<bool(const std::exception&)> retry_if = nullptr;
  /// Replaces std::this_thread::sleep_for (tests).
  std::function<void(std::chrono::nanoseconds)> sleeper = nullptr;
  /// Uniform numbers in [0, 1) for the jitter (tests); unset: a per-thread generator.
  std::function<double()> random = nullptr;
  /// The span's name and event type.
  std::string name = "retry";
  EventType type = EventType::generic;
};

/// The wait after failed attempt `attempt` (1-based) for a jitter draw `u` in [0, 1).
std::chrono::nanoseconds retry_backoff(const RetryPolicy& policy, int attempt, double u = 0.5);

/// A `retry_if` that retries the listed exception types (and types derived from them).
template <class... E>
std::function<bool(const std::exception&)> retry_on() {
  return [](const std::exception& e) { return ((dynamic_cast<const E*>(&e) != nullptr) || ...); };
}

namespace detail {

struct RetryError {
  std::string type;
  std::string message;
};
RetryError describe_exception(std::exception_ptr e);
std::string type_name(const std::type_info& type);

/// The span and the bookkeeping of one retried operation (retry.cpp).
class RetryRun {
 public:
  RetryRun(Tracer* tracer, const RetryPolicy& policy) noexcept;
  /// Records a failed attempt. Returns the wait before the next one, or nothing when the
  /// operation gives up (no attempt left, or not retryable) — the span then says so.
  std::optional<std::chrono::nanoseconds> failed(int attempt, const RetryError& error,
                                                 bool retryable) noexcept;
  /// Whether `policy.retry_if` retries the exception being handled.
  bool retryable(std::exception_ptr e) const noexcept;
  void succeeded(int attempt) noexcept;
  /// Gave up on an exception: recorded on the span (status error).
  void gave_up(std::exception_ptr e) noexcept;
  void sleep(std::chrono::nanoseconds wait);

 private:
  const RetryPolicy& policy_;
  Span span_;
};

template <class F>
decltype(auto) call_attempt(F& fn, int attempt) {
  if constexpr (std::invocable<F&, int>) {
    return std::invoke(fn, attempt);
  } else {
    return std::invoke(fn);
  }
}

template <class F>
using attempt_result_t = decltype(call_attempt(std::declval<std::remove_reference_t<F>&>(), 1));

/// The default failure test on returned values; see the file comment.
struct DefaultFailure {
  template <class R>
  bool operator()(const R& r) const {
    if constexpr (std::same_as<R, bool>) {
      return !r;
    } else if constexpr (requires { r.has_value(); }) {
      return !r.has_value();
    } else {
      return false;
    }
  }
};

template <class E>
std::string error_text(const E& e) {
  if constexpr (std::is_convertible_v<const E&, std::string_view>) {
    return std::string(std::string_view(e));
  } else if constexpr (requires { e.message(); }) {
    return std::string(e.message());
  } else if constexpr (requires { e.what(); }) {
    return std::string(e.what());
  } else if constexpr (std::is_arithmetic_v<E> || std::is_enum_v<E>) {
    return std::to_string(static_cast<long long>(e));
  } else {
    return "error value";
  }
}

template <class R>
RetryError describe_value(const R& r) {
  if constexpr (std::same_as<R, bool>) {
    return {"bool", "returned false"};
  } else if constexpr (requires { r.error(); }) {
    if (r.has_value()) return {type_name(typeid(R)), "rejected by the failure predicate"};
    return {type_name(typeid(r.error())), error_text(r.error())};
  } else if constexpr (requires { r.has_value(); }) {
    return {type_name(typeid(R)), r.has_value() ? "rejected by the failure predicate" : "no value"};
  } else {
    return {type_name(typeid(R)), "rejected by the failure predicate"};
  }
}

template <class F, class IsFailure>
auto run_retry(Tracer* tracer, const RetryPolicy& policy, F& fn, IsFailure& is_failure)
    -> attempt_result_t<F> {
  using R = attempt_result_t<F>;
  RetryRun run(tracer, policy);
  for (int attempt = 1;; ++attempt) {
    std::optional<std::chrono::nanoseconds> wait;
    try {
      if constexpr (std::is_void_v<R>) {
        call_attempt(fn, attempt);
        run.succeeded(attempt);
        return;
      } else {
        R result = call_attempt(fn, attempt);
        if (!is_failure(std::as_const(result))) {
          run.succeeded(attempt);
          return result;
        }
        wait = run.failed(attempt, describe_value(std::as_const(result)), true);
        if (!wait) return result;  // the last failed result, unchanged
      }
    } catch (...) {
      std::exception_ptr e = std::current_exception();
      wait = run.failed(attempt, describe_exception(e), run.retryable(e));
      if (!wait) {
        run.gave_up(e);
        throw;  // the same exception object
      }
    }
    run.sleep(*wait);  // outside the handler: the exception of this attempt is released
  }
}

}  // namespace detail

/// Calls `fn` until it succeeds or the policy gives up, on the default tracer; see the file
/// comment.
template <class F>
auto retry(const RetryPolicy& policy, F&& fn) -> detail::attempt_result_t<F> {
  detail::DefaultFailure failed;
  return detail::run_retry(nullptr, policy, fn, failed);
}
/// Same, with a predicate saying which returned values are failures (retried).
template <class F, class IsFailure>
auto retry(const RetryPolicy& policy, F&& fn, IsFailure&& is_failure)
    -> detail::attempt_result_t<F> {
  return detail::run_retry(nullptr, policy, fn, is_failure);
}
/// Same two, on a given tracer.
template <class F>
auto retry(Tracer& tracer, const RetryPolicy& policy, F&& fn) -> detail::attempt_result_t<F> {
  detail::DefaultFailure failed;
  return detail::run_retry(&tracer, policy, fn, failed);
}
template <class F, class IsFailure>
auto retry(Tracer& tracer, const RetryPolicy& policy, F&& fn, IsFailure&& is_failure)
    -> detail::attempt_result_t<F> {
  return detail::run_retry(&tracer, policy, fn, is_failure);
}

/// A callable that retries each call of `fn(args...)` under `policy` (default tracer); the
/// guide's retry decorator.
template <class F>
auto retrying(RetryPolicy policy, F fn) {
  return
      [policy = std::move(policy), fn = std::move(fn)](auto&&... args) mutable -> decltype(auto) {
        return retry(policy, [&] { return std::invoke(fn, args...); });
      };
}
/// Same, with a failure predicate on returned values.
template <class F, class IsFailure>
auto retrying(RetryPolicy policy, F fn, IsFailure is_failure) {
  return [policy = std::move(policy), fn = std::move(fn),
          is_failure = std::move(is_failure)](auto&&... args) mutable -> decltype(auto) {
    return retry(
        policy, [&] { return std::invoke(fn, args...); }, is_failure);
  };
}

}  // namespace skein
