// skein/trace.hpp — the `@trace` decorator, for C++.
//
//     auto answer = skein::traced(tracer, "answer", [](std::string q, int k) { ... },
//                                 {.type = skein::EventType::chain, .arg_names = {"query", "k"}});
//     answer("what is skein?", 3);   // one span per call
//
// Each call opens a span (a child of the current one), records the arguments as
// `honeyhive_inputs.<name>` (named by `arg_names`, else `_params_.0`, `_params_.1`...), the
// returned value as `honeyhive_outputs.result`, and any exception (type, message, error status)
// before rethrowing it unchanged. Arguments and results are recorded through `skein::Value`:
// numbers, strings, containers, optionals and types with a `skein_value` overload; others are
// skipped. Nothing is recorded, and no value converted, when the span does not record.
//
// `SKEIN_TRACE()` opens a span named after the enclosing function for the rest of the block.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "skein/span.hpp"
#include "skein/tracer.hpp"
#include "skein/value.hpp"

namespace skein {

/// Options of a traced callable; every field is optional.
struct TraceOptions {
  EventType type = EventType::generic;
  SpanKind kind = SpanKind::internal;
  /// Names for the arguments, in order; unnamed ones are `_params_.N`.
  std::vector<std::string> arg_names = {};
  bool capture_inputs = true;
  bool capture_output = true;
  /// Trace a call only when this returns true (checked per call; unset: always). Calls it skips
  /// run untraced and leave the current context as it is.
  std::function<bool()> when = nullptr;
  /// Record each call's resource usage (CPU, RSS, page faults; see skein/resources.hpp).
  ResourceUsage resources = false;
};

namespace detail {
void record_input(Span& span, const TraceOptions& options, std::size_t index,
                  const Value& v) noexcept;
void record_output(Span& span, const Value& v) noexcept;

template <class T>
concept Recordable = std::is_constructible_v < Value,
        const std::remove_cvref_t<T>
& > ;

/// The callable that `traced` returns.
template <class F>
class Traced {
 public:
  Traced(Tracer tracer, std::string name, F fn, TraceOptions options)
      : tracer_(std::move(tracer)),
        name_(std::move(name)),
        fn_(std::move(fn)),
        options_(std::move(options)) {}

  template <class... Args>
  decltype(auto) operator()(Args&&... args) {
    Span span = traced_now() ? tracer_.span(name_, {.type = options_.type,
                                                    .kind = options_.kind,
                                                    .resources = options_.resources})
                             : Span();
    if (span.recording() && options_.capture_inputs) record_inputs(span, args...);
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<F&, Args&&...>>) {
        std::invoke(fn_, std::forward<Args>(args)...);
      } else {
        decltype(auto) result = std::invoke(fn_, std::forward<Args>(args)...);
        if constexpr (Recordable<decltype(result)>) {
          if (span.recording() && options_.capture_output) record_output(span, Value(result));
        }
        using R = std::invoke_result_t<F&, Args&&...>;
        if constexpr (std::is_reference_v<R>) {
          return static_cast<R>(result);
        } else {
          return R(std::move(result));
        }
      }
    } catch (...) {
      span.record_exception(std::current_exception());
      throw;
    }
  }

 private:
  bool traced_now() const noexcept {
    if (!options_.when) return true;
    try {
      return options_.when();
    } catch (...) {
      return false;
    }
  }
  template <class... Args>
  void record_inputs(Span& span, const Args&... args) {
    std::size_t index = 0;
    (record_one(span, index++, args), ...);
  }
  template <class A>
  void record_one(Span& span, std::size_t index, const A& arg) {
    if constexpr (Recordable<A>) record_input(span, options_, index, Value(arg));
  }

  Tracer tracer_;
  std::string name_;
  F fn_;
  TraceOptions options_;
};
}  // namespace detail

/// Wraps `fn` so that each call is traced; see the file comment.
template <class F>
auto traced(Tracer tracer, std::string name, F fn, TraceOptions options = {}) {
  return detail::Traced<F>(std::move(tracer), std::move(name), std::move(fn), std::move(options));
}
/// Same, on the default tracer.
template <class F>
auto traced(std::string name, F fn, TraceOptions options = {}) {
  return traced(default_tracer(), std::move(name), std::move(fn), std::move(options));
}

}  // namespace skein

#define SKEIN_DETAIL_CAT2(a, b) a##b
#define SKEIN_DETAIL_CAT(a, b) SKEIN_DETAIL_CAT2(a, b)
/// Opens a span named after the enclosing function until the end of the block, on the default
/// tracer. Optional argument: a `skein::SpanOptions` initializer, e.g.
/// `SKEIN_TRACE({.type = skein::EventType::tool})`.
#define SKEIN_TRACE(...)                                        \
  ::skein::Span SKEIN_DETAIL_CAT(skein_trace_span_, __LINE__) = \
      ::skein::span(__func__ __VA_OPT__(, ) __VA_ARGS__)
