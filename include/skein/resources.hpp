// skein/resources.hpp — what a span cost: time, CPU, memory, page faults.
//
//     auto span = tracer.span("embed", {.resources = true});
//     auto embed = skein::traced(tracer, "embed", fn, {.resources = true});
//
// A span that asks (`SpanOptions::resources`, `TraceOptions::resources`) records, when it ends:
//
//   resources.wall_ms              wall time between start and end (steady clock)
//   resources.cpu_user_ms          CPU time of the calling thread in user mode   } getrusage
//   resources.cpu_system_ms        … in the kernel                               } (RUSAGE_THREAD)
//   resources.cpu_ms               the sum
//   resources.rss_before_bytes     resident set size of the process at start    } /proc/self/statm
//   resources.rss_after_bytes      … at the end                                  } (kept open)
//   resources.rss_delta_bytes      after - before (negative when memory was returned)
//   resources.page_faults_minor    page faults of the thread (no I/O)
//   resources.page_faults_major    … that needed I/O
//
// CPU time and page faults are the calling thread's: a span that starts on one thread and ends
// on another (a coroutine that hopped) reports the difference between two threads' counters, so
// they are left out then. RSS is process-wide: other threads allocating at the same time show up
// in the delta.
//
// Cost: a reading at start and one at end, each a clock read (vDSO, ~20 ns), getrusage
// (RUSAGE_THREAD) and a pread of /proc/self/statm, then nine attributes. Measured by
// bench/bench_resources.cpp on a 2-vCPU VM (Linux 6.18, where a bare system call costs ~170 ns):
// getrusage ~300 ns, statm ~990 ns (the kernel sums per-CPU RSS counters and formats seven
// numbers), one reading ~1.35 µs, a span that asks ~3.1-3.3 µs, ~0.9 µs without RSS
// (ResourceUsage::without_rss(): no statm reads). RSS is most of it, and statm is
// the cheapest exact source found: /proc/self/stat costs ~3 µs, opening statm each time ~4.9 µs;
// getrusage has only the peak RSS. clock_gettime(CLOCK_THREAD_CPUTIME_ID) (~520 ns there) would
// cost more than getrusage and give neither the user/system split nor page faults. Spans that do
// not ask pay nothing (one predictable branch at start and at end); unsampled spans measure
// nothing.
#pragma once

#include <cstdint>
#include <optional>

namespace skein {

/// What a span measures (`SpanOptions::resources`, `TraceOptions::resources`). `true` measures
/// everything above; `ResourceUsage::without_rss()` leaves out the two reads of /proc/self/statm
/// (the three resources.rss_* attributes), which are about two thirds of the cost.
///
///     tracer.span("embed", {.resources = true});                                // everything
///     tracer.span("embed", {.resources = skein::ResourceUsage::without_rss()});  // no RSS
struct ResourceUsage {
  constexpr ResourceUsage(bool all = false) noexcept : on(all), rss(all) {}  // NOLINT: from bool
  /// Wall and CPU time and page faults, no RSS.
  static constexpr ResourceUsage without_rss() noexcept {
    ResourceUsage r(true);
    r.rss = false;
    return r;
  }
  constexpr explicit operator bool() const noexcept { return on; }
  bool on;   ///< measure at all
  bool rss;  ///< include process RSS before/after/delta
};

/// One reading, as the span attributes use them; also available directly.
struct ResourceReading {
  std::uint64_t wall_ns = 0;        ///< steady clock
  std::uint64_t cpu_user_us = 0;    ///< this thread, user mode
  std::uint64_t cpu_system_us = 0;  ///< this thread, kernel mode
  std::uint64_t minor_faults = 0;   ///< this thread
  std::uint64_t major_faults = 0;   ///< this thread
  std::uint64_t rss_bytes = 0;      ///< the process; 0 when /proc is not available
};

/// Reads the counters now (three system calls' worth: ~1.35 µs on the VM above). Without
/// `rss`, rss_bytes stays 0 and the statm read (~1 µs) is skipped.
ResourceReading read_resources(bool rss = true) noexcept;

}  // namespace skein
