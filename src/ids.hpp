// Span and trace ids from a per-thread generator (xoshiro256**), seeded from the OS and re-seeded
// in the child after fork() so that parent and child never share a sequence. W3C level 2: the
// whole trace id is random, so the `random` trace flag is always set for roots made here.
#pragma once

#include <cstdint>

#include "skein/context.hpp"

namespace skein::detail {

std::uint64_t random_u64() noexcept;

inline TraceId new_trace_id() noexcept {
  TraceId id{random_u64(), random_u64()};
  if (!id.valid()) id.lo = 1;
  return id;
}

inline SpanId new_span_id() noexcept {
  SpanId id{random_u64()};
  if (!id.valid()) id.value = 1;
  return id;
}

/// A random (version 4) UUID in its canonical text form.
void new_uuid(char out[36]) noexcept;

}  // namespace skein::detail
