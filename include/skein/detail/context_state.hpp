// skein/detail/context_state.hpp — the per-thread current context. Not public API: used by the
// inline parts of Span and Scope so that they can save and restore it without a call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "skein/context.hpp"

namespace skein::detail {

struct SpanRecord;

/// What "current" means on one thread. `extras` points at the owner's pointer (a live span's record
/// or a scope keeps it alive); `record` is the live recording span, if any, that
/// enrich_span() writes to.
///
/// `lazy`: an unsampled root that has not computed its ids. `trace` is then {0, nonce} and `span`
/// is {nonce} (both valid, so "inside a trace" tests need nothing else), and the real ids are a
/// function of the nonce (src/ids.hpp): read them through the functions of src/ids.hpp that take
/// a ContextState, never from the fields.
struct ContextState {
  TraceId trace;
  SpanId span;
  std::uint8_t flags = 0;
  bool remote = false;
  bool lazy = false;
  const std::shared_ptr<const ContextExtras>* extras = nullptr;
  SpanRecord* record = nullptr;
};

/// The context of an unsampled root that keeps `nonce` instead of its ids (see `lazy` above):
/// the one place that encodes it.
inline ContextState lazy_root_state(std::uint64_t nonce, std::uint8_t flags,
                                    const std::shared_ptr<const ContextExtras>* extras) noexcept {
  return ContextState{TraceId{0, nonce}, SpanId{nonce}, flags, false, true, extras, nullptr};
}

/// Clears trace, span, flags, remote and lazy (everything before extras, padding included, in two
/// 16-byte stores), leaving extras and record: the context an unsampled root started on
/// (Tracer::never_root) once it ends.
inline void clear_trace(ContextState& s) noexcept {
  static_assert(std::is_trivially_copyable_v<ContextState> &&
                offsetof(ContextState, extras) == 32 && offsetof(ContextState, record) == 40);
  std::memset(static_cast<void*>(&s), 0, offsetof(ContextState, extras));
}

/// The calling thread's current context (initial-exec TLS: one %fs-relative load). Inline with a
/// constant initializer, so that every file (and the inline parts of Span) reads it directly; an
/// extern thread_local would cost a check for a TLS init function on each access.
inline __attribute__((tls_model("initial-exec"))) thread_local ContextState tl_current;
/// How many spans ended out of order on this thread and wait to be skipped when the context they
/// would restore comes back (src/span.cpp); 0 almost always, so a span's end tests it inline.
inline __attribute__((tls_model("initial-exec"))) thread_local std::size_t tl_ended_early_count = 0;

/// The calling thread's current context.
ContextState& current_state() noexcept;

}  // namespace skein::detail
