// A bounded single-producer/single-consumer ring of pointers. The producer caches the consumer's
// index and the consumer the producer's, so the common push and pop touch no shared cache line.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace skein::detail {

template <class T>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity) {
    std::size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    slots_ = std::make_unique<T[]>(cap);
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

  /// Producer only. False when full.
  bool push(T v) noexcept {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ > mask_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ > mask_) return false;
    }
    slots_[head & mask_] = v;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  /// Producer only: how many items are in the ring now (reads the consumer's index).
  [[nodiscard]] std::size_t producer_size() noexcept {
    tail_cache_ = tail_.load(std::memory_order_acquire);
    return head_.load(std::memory_order_relaxed) - tail_cache_;
  }

  /// Consumer only. False when empty.
  bool pop(T& out) noexcept {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail == head_cache_) return false;
    }
    out = slots_[tail & mask_];
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  /// Any thread: how many items were ever pushed (a position to wait for).
  [[nodiscard]] std::size_t pushed() const noexcept {
    return head_.load(std::memory_order_acquire);
  }
  /// Consumer only: how many items were ever popped.
  [[nodiscard]] std::size_t popped() const noexcept {
    return tail_.load(std::memory_order_relaxed);
  }

 private:
  alignas(64) std::atomic<std::size_t> head_{0};
  std::size_t tail_cache_ = 0;  // producer's view of tail_
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::size_t head_cache_ = 0;  // consumer's view of head_
  alignas(64) std::size_t mask_ = 0;
  std::unique_ptr<T[]> slots_;
};

}  // namespace skein::detail
