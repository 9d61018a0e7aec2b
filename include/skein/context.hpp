// skein/context.hpp — trace identity and the current context of a thread.
//
// A `Context` is the part of a span that travels: trace id, span id, trace flags (sampled and
// the W3C level-2 random flag), whether it came from another process, and the W3C `tracestate`
// and baggage that ride along. Every thread has a current context, set by the innermost live span
// or by a `Scope`. `Context::current()` captures it as a value that can be carried to another
// thread, a pool task or a coroutine and made current there with a `Scope`; spans started under
// that scope become children of the captured span. Capturing and activating never allocates
// unless the context carries trace state or baggage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace skein {

/// A 16-byte W3C trace id. All zero is invalid.
struct TraceId {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  [[nodiscard]] constexpr bool valid() const noexcept { return (hi | lo) != 0; }
  /// 32 lowercase hex digits.
  [[nodiscard]] std::string to_hex() const;
  /// Parses exactly 32 hex digits; returns an invalid id on any error.
  static TraceId from_hex(std::string_view hex) noexcept;
  friend constexpr bool operator==(const TraceId&, const TraceId&) = default;
};

/// An 8-byte W3C span id (parent id in `traceparent`). Zero is invalid.
struct SpanId {
  std::uint64_t value = 0;

  [[nodiscard]] constexpr bool valid() const noexcept { return value != 0; }
  /// 16 lowercase hex digits.
  [[nodiscard]] std::string to_hex() const;
  /// Parses exactly 16 hex digits; returns an invalid id on any error.
  static SpanId from_hex(std::string_view hex) noexcept;
  friend constexpr bool operator==(const SpanId&, const SpanId&) = default;
};

/// W3C trace flags.
namespace trace_flags {
inline constexpr std::uint8_t sampled = 0x01;
/// W3C Trace Context level 2: the trace id's low 56 bits are random.
inline constexpr std::uint8_t random = 0x02;
}  // namespace trace_flags

namespace detail {
struct LocalValues;  // src/correlation.hpp
}

/// What rides along with a context besides its ids: W3C `tracestate` and baggage, already
/// validated, and the context-local values of skein/correlation.hpp (never sent). Immutable once
/// shared.
struct ContextExtras {
  std::string trace_state;  ///< the `tracestate` header value, empty when none
  std::string baggage;      ///< the `baggage` header value, empty when none
  /// Context-local values (`with_value`, `ContextValue`, sessions); null when none.
  std::shared_ptr<const detail::LocalValues> locals{};
};

/// The propagated identity of a span. Cheap to copy; see the file comment.
class Context {
 public:
  Context() = default;
  Context(TraceId trace, SpanId span, std::uint8_t flags, bool remote = false,
          std::shared_ptr<const ContextExtras> extras = nullptr)
      : trace_id_(trace),
        span_id_(span),
        flags_(flags),
        remote_(remote),
        extras_(std::move(extras)) {}

  /// The calling thread's current context (invalid when no span is active).
  static Context current() noexcept;

  [[nodiscard]] bool valid() const noexcept { return trace_id_.valid() && span_id_.valid(); }
  [[nodiscard]] bool sampled() const noexcept { return (flags_ & trace_flags::sampled) != 0; }
  [[nodiscard]] bool remote() const noexcept { return remote_; }
  [[nodiscard]] TraceId trace_id() const noexcept { return trace_id_; }
  [[nodiscard]] SpanId span_id() const noexcept { return span_id_; }
  [[nodiscard]] std::uint8_t flags() const noexcept { return flags_; }
  [[nodiscard]] std::string_view trace_state() const noexcept {
    return extras_ ? std::string_view(extras_->trace_state) : std::string_view();
  }
  [[nodiscard]] std::string_view baggage() const noexcept {
    return extras_ ? std::string_view(extras_->baggage) : std::string_view();
  }
  [[nodiscard]] const std::shared_ptr<const ContextExtras>& extras() const noexcept {
    return extras_;
  }

 private:
  TraceId trace_id_;
  SpanId span_id_;
  std::uint8_t flags_ = 0;
  bool remote_ = false;
  std::shared_ptr<const ContextExtras> extras_;
};

/// Makes a context current on this thread until the scope ends; the previous one is restored.
/// Spans started inside become children of `ctx`. Not movable: a scope belongs to a block.
class [[nodiscard]] Scope {
 public:
  explicit Scope(const Context& ctx) noexcept;
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  std::shared_ptr<const ContextExtras> keep_;
  TraceId saved_trace_;
  SpanId saved_span_;
  std::uint8_t saved_flags_;
  bool saved_remote_;
  bool saved_lazy_;
  const std::shared_ptr<const ContextExtras>* saved_extras_;
  void* saved_record_;
};

}  // namespace skein
