// skein/detail/hot.hpp — what Tracer::span reads inline to start an unsampled root under
// always_off or probability(0) without a call (with the span's end, 62 instructions instead of
// 91 through the call; ~3.9 ns instead of ~8, BM_SpanUnsampledRoot). Not public API: the tracer
// core (src/core.hpp) owns these and keeps them up to date.
#pragma once

#include <atomic>
#include <cstdint>

namespace skein::detail {

struct ThreadBuffer;

/// The fields of a tracer core that the inline path reads; TracerCore derives from it.
struct CoreHot {
  CoreHot(std::uint64_t id, bool never, bool decides_local) noexcept
      : id_(id), never_samples_roots_(never), decides_local_(decides_local) {}
  /// No core has this id (ids count from 1): never_roots_key_ when the inline path is off.
  static constexpr std::uint64_t kNoKey = ~std::uint64_t{0};
  /// Enables or disables the tracer (the only writer of enabled_ and never_roots_key_).
  void set_enabled(bool on) noexcept {
    enabled_.store(on);
    never_roots_key_.store(on && never_samples_roots_ ? id_ : kNoKey, std::memory_order_relaxed);
  }
  const std::uint64_t id_;  ///< unique per core in the process, from 1
  std::atomic<bool> enabled_{false};
  /// id_ when enabled_ and never_samples_roots_, else kNoKey: the inline path compares it with
  /// the thread's cached core id (TlCache::core_id), one test for "this core, on, never samples".
  std::atomic<std::uint64_t> never_roots_key_{kNoKey};
  const bool never_samples_roots_;  ///< the sampler is always_off or probability(0)
  /// The sampler decides for children of local parents too (Sampler::decides_local): they then
  /// take the general path, which asks it, instead of following their parent inline.
  const bool decides_local_;
};

/// The calling thread's buffer for the tracer core it used last, a one-entry cache in front of
/// TracerCore::local_buffer(), with that buffer's count of roots decided inline. Trivially
/// destructible and constant-initialized, so that reading it needs no TLS guard.
struct TlCache {
  std::uint64_t core_id = 0;
  ThreadBuffer* buffer = nullptr;
  std::atomic<std::uint64_t>* never_roots = nullptr;
};
inline __attribute__((tls_model("initial-exec"))) thread_local TlCache tl_cache;

/// The calling thread's block of id nonces (src/ids.hpp): the next one and the end of the block.
inline __attribute__((tls_model("initial-exec"))) thread_local std::uint64_t tl_nonce_next = 0;
inline __attribute__((tls_model("initial-exec"))) thread_local std::uint64_t tl_nonce_end = 0;

}  // namespace skein::detail
