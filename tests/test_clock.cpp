// The pipeline's tick-to-wall-time conversion (src/clock.hpp): fixed point, checked against the
// exact formula around the anchor, hours away from it, before it, and at its limits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "clock.hpp"

namespace {

using skein::detail::Calibration;

Calibration make(std::uint64_t anchor_ticks, std::uint64_t anchor_unix, double ns_per_tick) {
  Calibration c{true, anchor_ticks, anchor_unix, ns_per_tick};
  c.prepare();
  return c;
}

// The exact value, in long double.
double exact(const Calibration& c, std::uint64_t ticks) {
  long double d = static_cast<long double>(ticks) - static_cast<long double>(c.anchor_ticks);
  return static_cast<double>(static_cast<long double>(c.anchor_unix) + d * c.ns_per_tick);
}

TEST(Clock, FixedPointMatchesTheExactConversionWithinANanosecond) {
  const std::uint64_t anchor_unix = 1'790'000'000'000'000'000ULL;  // 2026
  for (double ns_per_tick : {1.0 / 2.6, 1.0 / 3.7, 0.5, 1.0, 3.3}) {
    const std::uint64_t anchor = 9'000'000'000'000ULL;
    Calibration c = make(anchor, anchor_unix, ns_per_tick);
    for (std::int64_t delta : {0LL, 1LL, 7LL, 1'000LL, 2'600'000'000LL, 9'360'000'000'000LL, -1LL,
                               -2'600'000'000LL, -3'000'000'000'000LL}) {
      const std::uint64_t ticks = anchor + static_cast<std::uint64_t>(delta);
      const double want = exact(c, ticks);
      const auto got = static_cast<double>(c.to_unix_ns(ticks));
      // Hours from the anchor the fixed point's rounding of ns_per_tick (2^-33 relative) adds up
      // to at most a few nanoseconds.
      const double tolerance = 1.0 + std::abs(static_cast<double>(delta)) * ns_per_tick * 1e-9;
      EXPECT_NEAR(got, want, tolerance) << "ns_per_tick " << ns_per_tick << " delta " << delta;
    }
  }
}

TEST(Clock, TicksBeforeTheEpochClampToZero) {
  Calibration c = make(1'000'000, 100, 1.0);
  EXPECT_EQ(c.to_unix_ns(1'000'000 - 50), 50u);
  EXPECT_EQ(c.to_unix_ns(1'000'000 - 100), 0u);
  EXPECT_EQ(c.to_unix_ns(0), 0u);
}

TEST(Clock, WithoutATscTicksAreAlreadyNanoseconds) {
  Calibration c;  // tsc false
  EXPECT_EQ(c.to_unix_ns(123'456'789), 123'456'789u);
}

TEST(Clock, CurrentCalibrationTracksTheWallClock) {
  const Calibration c = skein::detail::current_calibration();
  const std::uint64_t t = skein::detail::now_ticks();
  const std::uint64_t wall = skein::detail::realtime_ns();
  const auto got = static_cast<double>(c.to_unix_ns(t));
  EXPECT_NEAR(got, static_cast<double>(wall), 50e6);  // within 50 ms
}

}  // namespace
