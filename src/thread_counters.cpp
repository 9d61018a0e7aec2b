// Slot numbers for ThreadCounters: a lock-free bitmap (so that a fork taken while another thread
// holds it cannot leave the child stuck) and a thread-local that gives the number back at exit.
#include "thread_counters.hpp"

#include <bit>

namespace skein::detail {
namespace {

static_assert(ThreadCounters::kThreadSlots == 64, "one bitmap word");
std::atomic<std::uint64_t> g_taken{0};

// Returns a free slot number, or ThreadCounters::kThreadSlots when all are taken. Acquire: reads
// of the slot's counters come after the previous owner's writes (released in give_back()).
unsigned take_slot() noexcept {
  std::uint64_t taken = g_taken.load(std::memory_order_relaxed);
  while (~taken != 0) {
    auto slot = static_cast<unsigned>(std::countr_zero(~taken));
    if (g_taken.compare_exchange_weak(taken, taken | (1ULL << slot), std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return slot;
    }
  }
  return ThreadCounters::kThreadSlots;
}

void give_back(unsigned slot) noexcept {
  g_taken.fetch_and(~(1ULL << slot), std::memory_order_release);
}

}  // namespace

// Constructed (and its destructor registered) by a thread's first count. At thread exit the slot
// goes back; later counts of this thread, from other thread-local destructors, use the shared slot.
struct SlotOwner {
  unsigned slot = ThreadCounters::kThreadSlots;
  ~SlotOwner() {
    if (slot < ThreadCounters::kThreadSlots) give_back(slot);
    ThreadCounters::t_slot = ThreadCounters::kShared;
  }
};

ThreadCounters::ThreadCounters(std::size_t counters)
    : lines_per_slot_((counters + 7) / 8),
      lines_(std::make_unique<Line[]>((kThreadSlots + 1) * lines_per_slot_)) {}

std::uint64_t ThreadCounters::total(std::size_t i) const noexcept {
  std::uint64_t sum = 0;
  for (unsigned slot = 0; slot <= kThreadSlots; ++slot) {
    sum += at(slot, i).load(std::memory_order_relaxed);
  }
  return sum;
}

void ThreadCounters::add_slow(std::size_t i, std::uint64_t n) noexcept {
  if (t_slot == kUnassigned) {
    t_slot = kShared;  // until a slot is taken, and for good if none is free
    static thread_local SlotOwner owner;
    owner.slot = take_slot();
    t_slot = owner.slot;  // kShared when none was free
  }
  if (t_slot < kThreadSlots) {
    add(i, n);  // just taken (add2 comes back here for its second counter)
  } else {
    at(kShared, i).fetch_add(n, std::memory_order_relaxed);
  }
}

}  // namespace skein::detail
