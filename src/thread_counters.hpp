// Exact counters that many threads increment without a shared atomic read-modify-write.
//
// Each thread that counts gets a slot number (0 … kThreadSlots - 1) the first time, from one
// process-wide bitmap; it gives the number back when it exits. A ThreadCounters object holds, for
// every slot, its own cache line(s) of counters: the slot's owner is the only writer, so an
// increment is a relaxed load and a relaxed store to a line that stays in its core's cache (about
// 1 ns, against 5-20 ns for a `lock add`, more when contended). Readers sum the slots with relaxed
// loads; a sum taken while threads count is a value the counter had at some moment for each slot.
//
// Exactness: a slot's counts are never reset. A thread that exits leaves them in place and the
// next owner of the number goes on from them (the bitmap's release/acquire orders its writes after
// the previous owner's). Threads beyond kThreadSlots alive at once, and a thread counting during
// its own thread-local destruction, use one extra shared slot with atomic increments. After fork
// the child keeps the parent's counts; the slots of the parent's other threads stay taken.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tls.hpp"

namespace skein::detail {

struct SlotOwner;

class ThreadCounters {
 public:
  static constexpr unsigned kThreadSlots = 64;

  /// `counters` counters, all zero.
  explicit ThreadCounters(std::size_t counters);

  /// Adds `n` to counter `i` (< counters). Thread-safe, never blocks.
  void add(std::size_t i, std::uint64_t n = 1) noexcept {
    unsigned slot = t_slot;
    if (slot < kThreadSlots) [[likely]] {
      std::atomic<std::uint64_t>& c = at(slot, i);
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      add_slow(i, n);
    }
  }

  /// Adds 1 to counter `i`, and 1 to counter `j` when `also`: one slot lookup for both.
  void add2(std::size_t i, std::size_t j, bool also) noexcept {
    unsigned slot = t_slot;
    if (slot < kThreadSlots) [[likely]] {
      // Both addresses before either store (a store through an atomic makes the compiler load
      // lines_ again otherwise).
      std::atomic<std::uint64_t>& a = at(slot, i);
      std::atomic<std::uint64_t>& b = at(slot, j);
      a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      b.store(b.load(std::memory_order_relaxed) + (also ? 1 : 0), std::memory_order_relaxed);
    } else {
      add_slow(i, 1);
      if (also) add_slow(j, 1);
    }
  }

  /// The sum of counter `i` over every slot.
  [[nodiscard]] std::uint64_t total(std::size_t i) const noexcept;

 private:
  friend struct SlotOwner;
  struct alignas(64) Line {
    std::atomic<std::uint64_t> v[8];
  };
  static constexpr unsigned kShared = kThreadSlots;  // the slot of threads without one
  static constexpr unsigned kUnassigned = ~0u;

  std::atomic<std::uint64_t>& at(unsigned slot, std::size_t i) const noexcept {
    return lines_[slot * lines_per_slot_ + i / 8].v[i % 8];
  }
  void add_slow(std::size_t i, std::uint64_t n) noexcept;

  // This thread's slot: kUnassigned until it first counts, kShared when it has none. Inline with
  // a constant initializer, so that other files access it directly (no TLS wrapper call).
  static inline SKEIN_HOT_TLS unsigned t_slot = kUnassigned;

  std::size_t lines_per_slot_;
  std::unique_ptr<Line[]> lines_;  // (kThreadSlots + 1) * lines_per_slot_
};

}  // namespace skein::detail
