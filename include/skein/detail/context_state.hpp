// skein/detail/context_state.hpp — the per-thread current context. Not public API: used by the
// inline parts of Span and Scope so that they can save and restore it without a call.
#pragma once

#include <cstdint>
#include <memory>

#include "skein/context.hpp"

namespace skein::detail {

struct SpanRecord;

/// What "current" means on one thread. `extras` points at the owner's pointer (a live span's record
/// or a scope keeps it alive); `record` is the live recording span, if any, that
/// enrich_span() writes to.
struct ContextState {
  TraceId trace;
  SpanId span;
  std::uint8_t flags = 0;
  bool remote = false;
  const std::shared_ptr<const ContextExtras>* extras = nullptr;
  SpanRecord* record = nullptr;
};

/// The calling thread's current context (initial-exec TLS: one %fs-relative load).
extern __attribute__((tls_model("initial-exec"))) thread_local ContextState tl_current;

/// The calling thread's current context.
ContextState& current_state() noexcept;

/// True when a span started now would be a child of an unsampled trace: a no-op, decided
/// without a call (the decision was made at the trace's root).
inline bool in_unsampled_trace() noexcept {
  const ContextState& c = tl_current;
  return c.trace.valid() && (c.flags & trace_flags::sampled) == 0;
}

}  // namespace skein::detail
