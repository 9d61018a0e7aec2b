// Counts heap allocations in a benchmark binary (replaces global operator new). Used to prove that
// a warmed-up thread records spans without touching the heap.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace skein_bench {
std::uint64_t allocation_count() noexcept;
}
