// skein/tracer.hpp — the tracer: configuration, span creation, statistics, lifecycle.
//
//     auto tracer = skein::Tracer::init({.project = "distributed-system"});
//     {
//       auto span = tracer.span("retrieve", {.type = skein::EventType::tool});
//       span.set("k", 5);
//     }   // the span ends here; a background thread exports it
//
// `Tracer` is a cheap, copyable handle; copies share one pipeline. Init never throws: a tracer
// whose configuration was invalid, or that is disabled, is a no-op whose `error()` says why.
// Several tracers may coexist; the first one made (or one with `make_default`) is the process
// default used by `skein::span()` and `SKEIN_TRACE()`. Spans are flushed at normal exit.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "skein/config.hpp"
#include "skein/detail/hot.hpp"
#include "skein/sampler.hpp"
#include "skein/span.hpp"

namespace skein {

namespace detail {
class TracerCore;
}
class Session;          // skein/session.hpp
struct SessionOptions;  // skein/session.hpp

/// Counters since init. Every span that was started as recording ends up exactly once in
/// `spans_exported`, `export_failures` or one of the `dropped_*` counters (once flushed).
struct Stats {
  std::uint64_t spans_started = 0;        ///< span() calls that made a new span (sampled or not)
  std::uint64_t spans_sampled = 0;        ///< of those, recording spans
  std::uint64_t spans_unsampled = 0;      ///< roots the sampler did not keep
  std::uint64_t spans_ended = 0;          ///< recording spans that ended and were handed off
  std::uint64_t spans_exported = 0;       ///< spans accepted by every exporter
  std::uint64_t export_failures = 0;      ///< spans an exporter reported as failed
  std::uint64_t spans_dropped = 0;        ///< sum of the dropped_* counters
  std::uint64_t dropped_buffer_full = 0;  ///< the thread's record buffer was full at start
  std::uint64_t dropped_queue_full = 0;   ///< the hand-off queue was full at end
  std::uint64_t dropped_shutdown = 0;     ///< ended after shutdown, or not exported by its deadline
  std::uint64_t enrich_without_span = 0;  ///< enrich_span() with no current recording span
  std::uint64_t attributes_dropped = 0;   ///< over the attribute limit
  std::uint64_t events_dropped = 0;       ///< over the event limit
  std::uint64_t links_dropped = 0;        ///< over the link limit
  std::uint64_t values_truncated = 0;     ///< string values cut to the length limit
  std::uint64_t callback_failures = 0;    ///< lazily computed values that threw
  // What exporters that deliver in the background (OTLP) did with the spans counted in
  // `spans_exported` (which counts the hand-off to them). Not part of `spans_dropped`.
  std::uint64_t export_sent = 0;                ///< accepted by the backend
  std::uint64_t export_rejected = 0;            ///< refused: a 4xx answer or a partial success
  std::uint64_t export_failed = 0;              ///< retries exhausted, timed out, other 5xx
  std::uint64_t export_dropped_queue_full = 0;  ///< the exporter's queue was full
  std::uint64_t export_dropped_shutdown = 0;    ///< still waiting at the shutdown deadline
  std::uint64_t export_retries = 0;             ///< requests retried (429, 502-504, network)
  /// Spans a tail-sampling stage decided not to keep (a decision, not a loss: not in
  /// spans_dropped).
  std::uint64_t dropped_tail_sampling = 0;
  /// Roots kept / roots decided: the head sampling rate actually applied ("9.8 %").
  [[nodiscard]] double effective_sample_rate() const noexcept {
    std::uint64_t roots = root_decisions();
    return roots == 0 ? 1.0 : static_cast<double>(spans_sampled_roots) / static_cast<double>(roots);
  }
  [[nodiscard]] std::uint64_t root_decisions() const noexcept {
    return spans_sampled_roots + spans_unsampled;
  }
  std::uint64_t spans_sampled_roots = 0;  ///< roots that were kept
  /// Per sampler and per rule: decisions seen and kept, and the probability applied now.
  std::vector<SamplerStats> samplers;
};

class Tracer {
 public:
  /// Builds a tracer. Never throws; see the file comment.
  static Tracer init(const Options& options = {}) noexcept;
  /// A no-op tracer.
  Tracer() noexcept;

  /// Starts a span, child of the current context (or `options.parent`).
  Span span(std::string_view name, const SpanOptions& options) noexcept {
    if (options.parent != nullptr || options.new_root) return start(name, options);
    return span_from_current(name, options);
  }
  /// span() with default options (a separate overload, so that no options object is built).
  Span span(std::string_view name) noexcept {
    return span_from_current(name, detail::kDefaultSpanOptions);
  }
  /// Starts a span only when `condition` holds; otherwise a no-op handle that records nothing and
  /// leaves the current context as it is (conditional tracing beyond sampling).
  Span span_if(bool condition, std::string_view name, const SpanOptions& options = {}) noexcept {
    return condition ? span(name, options) : Span();
  }

  /// Starts a session (skein/session.hpp): a root span of event type `session` whose id and
  /// operation numbers are on every span started until the returned Session ends.
  Session session() noexcept;
  Session session(const SessionOptions& options) noexcept;

  /// True when init succeeded and tracing is enabled.
  [[nodiscard]] bool enabled() const noexcept;
  explicit operator bool() const noexcept { return enabled(); }
  /// Why init failed or why the tracer is disabled (code none otherwise).
  [[nodiscard]] const Error& error() const noexcept;
  /// The finalized configuration (defaults when disabled by an error).
  [[nodiscard]] const FinalizedOptions& options() const noexcept;

  [[nodiscard]] Stats stats() const noexcept;
  /// Exports everything ended so far; false when the deadline passed first.
  bool force_flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) noexcept;
  /// Flushes and stops. Idempotent; later spans are no-ops. False when the deadline passed
  /// (a stuck exporter is abandoned, never waited on past the deadline).
  bool shutdown(std::chrono::milliseconds timeout) noexcept;
  bool shutdown() noexcept;

  /// Makes this tracer the process default.
  void make_default() const noexcept;

 private:
  explicit Tracer(std::shared_ptr<detail::TracerCore> core) noexcept;
  Span start(std::string_view name, const SpanOptions& options) noexcept;
  /// A span whose parent is the current context. Two cases are decided inline, without a call:
  /// inside an unsampled trace a span is a no-op handle; a root that always_off / probability(0)
  /// would not keep is never_root().
  Span span_from_current(std::string_view name, const SpanOptions& options) noexcept {
    const detail::ContextState& cur = detail::tl_current;
    if (cur.trace.valid()) {
      // A child of an unsampled span records nothing, unless the sampler decides for children of
      // local parents (parent_based with local choices).
      if ((cur.flags & trace_flags::sampled) == 0 && !hot_->decides_local_) return Span();
    } else if (never_root_is_quick() && empty_but_extras(cur)) {
      return never_root();
    }
    return start(name, options);
  }
  /// An unsampled root decided inline (the conditions are checked in span()): counted once, and
  /// a lazy context pushed so that it still propagates (sampled flag 0), its ids computed only if
  /// something reads them (src/ids.hpp). The same as TracerCore::start_never_root.
  [[nodiscard]] bool never_root_is_quick() const noexcept {
    return hot_->never_roots_key_.load(std::memory_order_relaxed) == detail::tl_cache.core_id &&
           detail::tl_nonce_next != detail::tl_nonce_end;
  }
  /// True when `cur`, with no trace, holds nothing but extras (always, in practice: the other
  /// fields are set only with a trace), so that never_root's span can restore it by clearing.
  static bool empty_but_extras(const detail::ContextState& cur) noexcept {
    return cur.span.value == 0 && cur.record == nullptr && (cur.flags | cur.remote | cur.lazy) == 0;
  }
  Span never_root() noexcept {
    detail::ContextState& cur = detail::tl_current;
    const std::uint64_t nonce = detail::tl_nonce_next++;
    Span s(cur.extras, nonce);
    // lazy_root_state(nonce, trace_flags::random, cur.extras), written field by field: remote is
    // false and record null already (empty_but_extras), and extras stay.
    cur.trace = TraceId{0, nonce};
    cur.span = SpanId{nonce};
    cur.flags = trace_flags::random;
    cur.lazy = true;
    std::atomic<std::uint64_t>& roots = *detail::tl_cache.never_roots;
    roots.store(roots.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return s;
  }
  friend Tracer default_tracer() noexcept;
  std::shared_ptr<detail::TracerCore> core_;
  detail::CoreHot* hot_;  // core_, as the part Tracer::span reads inline
};

/// The process default tracer (a no-op tracer when there is none).
Tracer default_tracer() noexcept;
/// Starts a span on the default tracer.
Span span(std::string_view name, const SpanOptions& options = {}) noexcept;
/// Starts a span on the default tracer when `condition` holds (see Tracer::span_if).
inline Span span_if(bool condition, std::string_view name,
                    const SpanOptions& options = {}) noexcept {
  return condition ? span(name, options) : Span();
}

}  // namespace skein
