// A clock for the OTLP exporter that only moves when the test moves it, so that backoff,
// Retry-After, the export timeout and the flush/shutdown deadlines are exact and independent of
// how fast (sanitizers, a loaded machine) the test runs.
//
// A thread of the exporter that waits for a time registers that time while it waits; the test sees
// the waits (`wait_for_waiters`) and moves the clock to the earliest (`advance_to_earliest_wait`),
// the way a discrete-event simulation does. Waiting threads poll their condition variable every
// millisecond of real time: the clock cannot notify a condition variable it does not own, and the
// poll only decides how soon a waiter sees the new time, never what it sees.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "exporters/otlp_exporter.hpp"

namespace skein::fakes {

class ManualClock final : public detail::ExporterClock {
 public:
  using duration = std::chrono::steady_clock::duration;

  time_point now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }

  void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  time_point until) override {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (now_ >= until) return;
      waits_.push_back(until);
    }
    changed_.notify_all();
    cv.wait_for(lock, std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> g(mu_);
    waits_.erase(std::find(waits_.begin(), waits_.end(), until));
  }

  void advance(duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

  /// Waits (at most `patience` of real time) until `n` threads wait for a time still to come, and
  /// returns the earliest of those times.
  std::optional<time_point> wait_for_waiters(std::size_t n, std::chrono::milliseconds patience) {
    std::unique_lock<std::mutex> lock(mu_);
    return wait_locked(lock, n, patience);
  }

  /// When `n` threads wait (see wait_for_waiters), moves the clock to the earliest time one of
  /// them waits for and returns how far it moved.
  std::optional<duration> advance_to_earliest_wait(std::size_t n,
                                                   std::chrono::milliseconds patience) {
    std::unique_lock<std::mutex> lock(mu_);
    auto t = wait_locked(lock, n, patience);
    if (!t) return std::nullopt;
    duration step = *t - now_;
    now_ = *t;
    return step;
  }

 private:
  std::optional<time_point> wait_locked(std::unique_lock<std::mutex>& lock, std::size_t n,
                                        std::chrono::milliseconds patience) {
    std::optional<time_point> earliest;
    auto enough = [&] {
      std::size_t pending = 0;
      earliest.reset();
      for (time_point t : waits_) {
        if (t <= now_) continue;  // woken already, not yet back from its poll
        ++pending;
        if (!earliest || t < *earliest) earliest = t;
      }
      return pending >= n;
    };
    if (!changed_.wait_for(lock, patience, enough)) return std::nullopt;
    return earliest;
  }

  std::mutex mu_;
  std::condition_variable changed_;
  time_point now_{std::chrono::hours(1)};
  std::vector<time_point> waits_;
};

}  // namespace skein::fakes
