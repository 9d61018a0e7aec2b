// Span and trace ids.
//
// Ids are a pure function of a per-thread nonce: each thread takes blocks of nonces from one
// process-wide counter (so no two calls anywhere in the process get the same nonce), and an id is
// SplitMix64 evaluated at that nonce with a process-wide random key, and for the trace id's halves
// a further keyed bijection of that (see trace_id_of): every id is a bijection of the nonce, so
// ids never repeat within a process and look random across processes. W3C level 2: the whole trace
// id is random, so the `random` trace flag is set for roots made here.
//
// Being a function of the nonce lets an unsampled root defer its ids: it keeps the nonce in the
// context (ContextState::lazy) and the ids are computed only if something reads them (an inject,
// Context::current()); every copy of that context computes the same ids. An unsampled root that
// nobody looks at never pays for them.
//
// The child of fork() gets new keys: it goes on counting from the parent's nonces, and must not
// produce the parent's ids. (A lazy context inherited from the parent therefore names different
// ids in the child; it is unsampled, so nothing recorded disagrees.)
//
// random_u64() is a separate per-thread xoshiro256** generator (UUIDs, retry jitter).
#pragma once

#include <cstdint>

#include "skein/context.hpp"
#include "skein/detail/context_state.hpp"
#include "skein/detail/hot.hpp"
#include "tls.hpp"

namespace skein::detail {

std::uint64_t random_u64() noexcept;

struct IdKeys {
  std::uint64_t trace_hi = 0, trace_lo = 0, span = 0;
};
/// Process-wide keys, drawn from the OS before the first nonce is handed out.
extern IdKeys g_id_keys;

// tl_nonce_next and tl_nonce_end (skein/detail/hot.hpp) are inline with constant initializers,
// so that every file, and Tracer::span, accesses them directly.
/// Takes a new block of nonces for this thread (and the keys, the first time); returns its first.
std::uint64_t refill_nonces() noexcept;

/// A nonce no other call in this process gets; never zero.
inline std::uint64_t next_nonce() noexcept {
  std::uint64_t n = tl_nonce_next;
  if (n == tl_nonce_end) [[unlikely]]
    n = refill_nonces();
  tl_nonce_next = n + 1;
  return n;
}

/// SplitMix64 at position `n` of the stream with increment `gamma` and start `key`.
inline std::uint64_t splitmix_at(std::uint64_t n, std::uint64_t gamma, std::uint64_t key) noexcept {
  std::uint64_t z = key + n * gamma;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The mixed value of nonce `n`: one SplitMix64 step, a bijection of `n`, uniformly distributed.
inline std::uint64_t mixed(std::uint64_t n) noexcept {
  return splitmix_at(n, 0xaef17502108ef2d9ULL, g_id_keys.span);
}

/// The trace id and span id of nonce `n` (never invalid). The span id is mixed(n); each half of
/// the trace id is a further bijection of it (a keyed xor and a multiply by an odd constant), so
/// that a root computes one SplitMix64 step for all three (~35 instructions less than three
/// independent streams) while every id stays unique per nonce and the trace id's low 56 bits stay
/// uniform (the randomness consistent probability sampling reads; tests/test_ids.cpp checks it).
inline TraceId trace_id_of(std::uint64_t n) noexcept {
  const std::uint64_t m = mixed(n);
  TraceId id{(m ^ g_id_keys.trace_hi) * 0x9e3779b97f4a7c15ULL,
             (m ^ g_id_keys.trace_lo) * 0xd1b54a32d192ed03ULL};
  if (!id.valid()) id.lo = 1;
  return id;
}
inline SpanId span_id_of(std::uint64_t n) noexcept {
  SpanId id{mixed(n)};
  if (!id.valid()) id.value = 1;
  return id;
}

inline TraceId new_trace_id() noexcept {
  return trace_id_of(next_nonce());
}
inline SpanId new_span_id() noexcept {
  return span_id_of(next_nonce());
}

/// The ids a context names (computed for a lazy one).
inline TraceId trace_id_of(const ContextState& s) noexcept {
  return s.lazy ? trace_id_of(s.trace.lo) : s.trace;
}
inline SpanId span_id_of(const ContextState& s) noexcept {
  return s.lazy ? span_id_of(s.span.value) : s.span;
}

/// A random (version 4) UUID in its canonical text form.
void new_uuid(char out[36]) noexcept;

}  // namespace skein::detail
