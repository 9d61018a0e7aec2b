// skein/span.hpp — the span handle.
//
// A `Span` is a move-only RAII handle returned by `Tracer::span()`. While it lives it is the
// thread's current span, so spans started inside it become its children without passing
// anything; it ends when destroyed (or at `end()`). A span that was not sampled, or that belongs
// to a disabled tracer, is a no-op handle: every method returns at once, nothing is recorded, and
// values given as callables are never evaluated. No method throws.
//
// Threads: a span is used by one thread at a time. It may be moved to another thread (or live in
// a coroutine frame that resumes elsewhere) and end there; the thread that started it then keeps
// it as its current span until the block that started it ends, so that thread must not call
// enrich_span() or start children after handing the span off. For work on other threads, carry a
// Context (skein::wrap, skein::Task) rather than the Span.
#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string_view>
#include <type_traits>

#include "skein/context.hpp"
#include "skein/detail/context_state.hpp"
#include "skein/resources.hpp"
#include "skein/value.hpp"

namespace skein {

/// HoneyHive event types; exported as `honeyhive_event_type`.
enum class EventType : std::uint8_t { generic, model, tool, chain, session };
/// OpenTelemetry span kinds.
enum class SpanKind : std::uint8_t { internal, server, client, producer, consumer };
/// OpenTelemetry status codes.
enum class StatusCode : std::uint8_t { unset, ok, error };

/// The lowercase name of an event type ("model", "tool", ...).
std::string_view to_string(EventType type) noexcept;
/// The lowercase name of a span kind ("internal", "server", ...).
std::string_view to_string(SpanKind kind) noexcept;

/// How a span starts. Every field is optional.
struct SpanOptions {
  /// HoneyHive event type.
  EventType type = EventType::generic;
  /// OpenTelemetry span kind.
  SpanKind kind = SpanKind::internal;
  /// Parent to use instead of the thread's current context (for example one from `extract`).
  const Context* parent = nullptr;
  /// Start a new trace even when a span is current.
  bool new_root = false;
  /// Attributes known at start; samplers can read them.
  std::initializer_list<Field> attributes = {};
  /// Record resource usage: wall and thread CPU time, process RSS before/after/delta, page
  /// faults, as `resources.*` attributes (skein/resources.hpp; ~3 µs per span that asks, ~1 µs
  /// with `ResourceUsage::without_rss()`, nothing for the others).
  ResourceUsage resources = false;
};

class Tracer;
class Span;
namespace detail {
/// SpanOptions{}, for the overloads without options.
extern const SpanOptions kDefaultSpanOptions;
class TracerCore;
struct SpanRecordAccess {
  static SpanRecord* get(const Span& s) noexcept;
};
}  // namespace detail

/// See the file comment.
class [[nodiscard]] Span {
 public:
  /// A no-op span.
  Span() noexcept {}
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { end(); }

  /// True when this span records (sampled, tracer enabled, not yet ended).
  [[nodiscard]] bool recording() const noexcept { return rec_ != nullptr; }
  explicit operator bool() const noexcept { return recording(); }

  /// Sets an attribute. Maps and lists of mixed types flatten to dotted keys; homogeneous lists
  /// of scalars become array attributes. Setting a key again replaces its value.
  Span& set(std::string_view key, const Value& value) noexcept;
  /// Sets an attribute computed by `fn` — called only when the span records.
  template <class F>
  requires std::invocable<F&> &&
      (!std::is_convertible_v<F, Value>)Span& set(std::string_view key, F&& fn) noexcept {
    if (rec_ != nullptr) {
      try {
        set(key, Value(fn()));
      } catch (...) {
        note_callback_failure();
      }
    }
    return *this;
  }
  /// Sets several attributes.
  Span& set(std::initializer_list<Field> attributes) noexcept;
  /// Adds a timestamped event.
  Span& add_event(std::string_view name, std::initializer_list<Field> attributes = {}) noexcept;
  /// Links another span (for example the producer of a message this span consumes).
  Span& add_link(const Context& linked, std::initializer_list<Field> attributes = {}) noexcept;
  /// Sets the status; a message is kept only with StatusCode::error.
  Span& set_status(StatusCode code, std::string_view message = {}) noexcept;
  /// Records an exception: an `exception` event (type, message), `honeyhive_error`, and error
  /// status.
  Span& record_exception(const std::exception& e) noexcept;
  /// Same for any exception; non-std exceptions are recorded as "unknown exception".
  Span& record_exception(std::exception_ptr e) noexcept;
  Span& set_name(std::string_view name) noexcept;
  Span& set_event_type(EventType type) noexcept;

  /// This span's context (valid also for unsampled spans that started a trace).
  [[nodiscard]] Context context() const noexcept;
  /// Ends the span now; later calls do nothing.
  void end() noexcept {
    if (rec_ != nullptr) {
      finish();
    } else if (pushed_ != kNotPushed) {
      // An unsampled span that started a trace: its context is restored inline when it is still
      // the current one and no span ended out of order (the common case).
      detail::ContextState& cur = detail::tl_current;
      if (cur.span == own_span_ && detail::tl_ended_early_count == 0) {
        if (pushed_ == kPushed) {
          pushed_ = kNotPushed;
          cur = saved_;
          return;
        }
        if (cur.extras == saved_extras_) {  // kPushedOnEmpty, with the extras it started with
          pushed_ = kNotPushed;
          detail::clear_trace(cur);
          return;
        }
      }
      finish();
    }
  }

 private:
  friend class Tracer;
  friend class detail::TracerCore;
  friend struct detail::SpanRecordAccess;
  void finish() noexcept;
  void note_callback_failure() noexcept;
  /// An unsampled root with a lazy context (Tracer::never_root), started where no trace was
  /// current (an empty context but for `extras`): every member written once.
  Span(const std::shared_ptr<const ContextExtras>* extras, std::uint64_t nonce) noexcept
      : saved_extras_(extras),
        pushed_(kPushedOnEmpty),
        own_flags_(trace_flags::random),
        own_lazy_(true),
        own_span_{nonce} {}

  // A no-op span sets only rec_, pushed_ and own_span_: the other members are read only when
  // pushed_ (saved_) or own_span_ is valid (own_flags_, own_lazy_, own_trace_ unless lazy), so they
  // are left uninitialized in unions (zeroing them cost the unsampled-span path ~2 ns).
  detail::SpanRecord* rec_ = nullptr;
  union {
    detail::ContextState saved_;  // valid when pushed_ is kPushed
    /// Valid when pushed_ is kPushedOnEmpty: the context before this span was empty (no trace,
    /// no record) but for these extras (baggage, tracestate, context-local values).
    const std::shared_ptr<const ContextExtras>* saved_extras_;
  };
  /// What end() restores. kPushedOnEmpty clears the fields the span set instead of copying a
  /// saved context back: a root's start copies the current context and its end writes it back,
  /// so with a full copy each unsampled root waited on the last one through two store-to-load
  /// forwards (~16 cycles a root; ~9 without them, BM_SpanUnsampledRoot).
  enum : std::uint8_t { kNotPushed, kPushed, kPushedOnEmpty };
  std::uint8_t pushed_ = kNotPushed;  // this span changed the current context
  std::uint8_t own_flags_;            // valid when own_span_ is
  bool own_lazy_;  // valid when own_span_ is: own_span_ holds a nonce (src/ids.hpp)
  union {
    TraceId own_trace_;  // trace of an unsampled span that started it (rec_ null), unless lazy
  };
  SpanId own_span_;
};

}  // namespace skein
