// Raw ticks on the hot path, wall time off it. On x86-64 with an invariant TSC that the kernel
// uses as its clocksource, a tick is one `rdtsc` (about 8 ns here, against 19 ns for
// clock_gettime); elsewhere it is CLOCK_REALTIME in nanoseconds. The pipeline thread converts
// ticks to Unix nanoseconds with a calibration it refreshes.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace skein::detail {

/// True when ticks are TSC cycles (decided once, before the first tick is read).
bool ticks_are_tsc() noexcept;

std::uint64_t realtime_ns() noexcept;

/// Set (once, by ticks_are_tsc()) when ticks are TSC cycles: read inline by now_ticks(), which
/// saves a call and a guard check per tick on the span path.
inline std::atomic<bool> g_ticks_tsc{false};

/// The first ticks of the process, and every tick without a TSC: decides (once) and reads.
std::uint64_t now_ticks_slow() noexcept;

inline std::uint64_t now_ticks() noexcept {
#if defined(__x86_64__)
  if (g_ticks_tsc.load(std::memory_order_relaxed)) [[likely]]
    return __rdtsc();
#endif
  return now_ticks_slow();
}

/// A snapshot of the tick-to-wall-time calibration: unix = anchor_unix + (t - anchor_ticks) * k.
struct Calibration {
  bool tsc = false;
  std::uint64_t anchor_ticks = 0;
  std::uint64_t anchor_unix = 0;
  double ns_per_tick = 1.0;

  std::uint64_t to_unix_ns(std::uint64_t ticks) const noexcept {
    if (!tsc) return ticks;
    double v = static_cast<double>(anchor_unix) +
               (static_cast<double>(ticks) - static_cast<double>(anchor_ticks)) * ns_per_tick;
    return v <= 0 ? 0 : static_cast<std::uint64_t>(v);
  }
};

/// The current calibration; re-anchored against the wall clock at most every 200 ms.
Calibration current_calibration() noexcept;

}  // namespace skein::detail
