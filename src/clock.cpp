#include "clock.hpp"

#include <time.h>

#include <cstdio>
#include <cstring>
#include <mutex>

namespace skein::detail {
namespace {

bool detect_tsc() noexcept {
#if defined(__x86_64__)
  // Only when the kernel itself trusts the TSC across CPUs.
  std::FILE* f =
      std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  if (f == nullptr) return false;
  char buf[32] = {};
  bool ok = std::fgets(buf, sizeof buf, f) != nullptr && std::strncmp(buf, "tsc", 3) == 0;
  std::fclose(f);
  return ok;
#else
  return false;
#endif
}

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t read_tsc() noexcept {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return 0;
#endif
}

// unix = anchor_unix + (ticks - anchor_ticks) * ns_per_tick
struct State {
  bool tsc = false;
  std::uint64_t base_ticks = 0;  // first calibration point, for a long-baseline slope
  std::uint64_t base_mono = 0;
  std::mutex mu;
  std::uint64_t anchor_ticks = 0;
  std::uint64_t anchor_unix = 0;
  double ns_per_tick = 1.0;
  std::uint64_t last_refresh_mono = 0;
};

State* make_state() noexcept {
  auto* st = new State();  // never destroyed: pipeline threads may use it until exit
  st->tsc = detect_tsc();
  if (st->tsc) {
    // A short first calibration (2 ms); refresh() lengthens the baseline as time passes.
    std::uint64_t t0 = read_tsc(), m0 = monotonic_ns(), m1 = m0;
    while (m1 - m0 < 2'000'000) m1 = monotonic_ns();
    std::uint64_t t1 = read_tsc();
    st->base_ticks = t0;
    st->base_mono = m0;
    st->ns_per_tick = static_cast<double>(m1 - m0) / static_cast<double>(t1 - t0);
    st->anchor_ticks = read_tsc();
    st->anchor_unix = realtime_ns();
    st->last_refresh_mono = m1;
  }
  return st;
}

State& state() noexcept {
  static State* s = make_state();
  return *s;
}

}  // namespace

std::uint64_t realtime_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

bool ticks_are_tsc() noexcept {
  static const bool tsc = [] {
    bool t = state().tsc;
    g_ticks_tsc.store(t, std::memory_order_relaxed);
    return t;
  }();
  return tsc;
}

std::uint64_t now_ticks_slow() noexcept {
#if defined(__x86_64__)
  if (ticks_are_tsc()) return __rdtsc();
#endif
  return realtime_ns();
}

Calibration current_calibration() noexcept {
  State& st = state();
  if (!st.tsc) return {};
  std::uint64_t m = monotonic_ns();
  std::lock_guard<std::mutex> lock(st.mu);
  if (m - st.last_refresh_mono >= 200'000'000) {
    st.last_refresh_mono = m;
    std::uint64_t t = read_tsc();
    std::uint64_t u = realtime_ns();
    if (t > st.base_ticks && m > st.base_mono) {
      st.ns_per_tick =
          static_cast<double>(m - st.base_mono) / static_cast<double>(t - st.base_ticks);
    }
    st.anchor_ticks = t;
    st.anchor_unix = u;
  }
  Calibration c{true, st.anchor_ticks, st.anchor_unix, st.ns_per_tick};
  c.prepare();
  return c;
}

}  // namespace skein::detail
