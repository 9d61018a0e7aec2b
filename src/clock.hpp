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

__extension__ typedef __int128 Int128;  // g++/clang builtin; -Wpedantic would flag it otherwise

/// A snapshot of the tick-to-wall-time calibration: unix = anchor_unix + (t - anchor_ticks) * k.
struct Calibration {
  bool tsc = false;
  std::uint64_t anchor_ticks = 0;
  std::uint64_t anchor_unix = 0;
  double ns_per_tick = 1.0;

  /// Fixed point (k * 2^32) for to_unix_ns: a multiply and a shift per timestamp on the pipeline
  /// thread instead of four conversions to and from double.
  void prepare() noexcept {
    const double m = ns_per_tick * 4294967296.0;
    mult = m > 0 && m < 9.2e18 ? static_cast<std::uint64_t>(m + 0.5) : 0;
  }

  std::uint64_t to_unix_ns(std::uint64_t ticks) const noexcept {
    if (!tsc) return ticks;
    // Ticks before the anchor (a span that started before the last re-anchoring) give a
    // negative offset.
    const auto delta = static_cast<std::int64_t>(ticks - anchor_ticks);
    const Int128 product = static_cast<Int128>(delta) * static_cast<std::int64_t>(mult);
    const std::int64_t v =
        static_cast<std::int64_t>(anchor_unix) + static_cast<std::int64_t>(product >> 32);
    return v <= 0 ? 0 : static_cast<std::uint64_t>(v);
  }

  std::uint64_t mult = 0;  ///< ns_per_tick * 2^32, set by prepare()
};

/// The current calibration; re-anchored against the wall clock at most every 200 ms.
Calibration current_calibration() noexcept;

}  // namespace skein::detail
