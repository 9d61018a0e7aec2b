// A fake exporter that blocks inside export_spans() until released: the stuck back end that
// force_flush() and shutdown() deadlines are tested against.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <span>

#include "skein/exporter.hpp"

namespace skein::fakes {

class BlockingExporter final : public Exporter {
 public:
  ExportResult export_spans(std::span<const SpanView> batch) noexcept override {
    std::unique_lock<std::mutex> lock(mu_);
    ++calls_;
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    --waiting_;
    spans_ += batch.size();
    cv_.notify_all();
    return ExportResult::success;
  }

  bool shutdown(std::chrono::steady_clock::time_point) noexcept override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++shutdowns_;
    }
    cv_.notify_all();
    return true;
  }

  /// Waits until shutdown() was called (by the pipeline thread, last thing before it ends).
  bool wait_shut_down(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return shutdowns_ > 0; });
  }

  /// Lets every current and future export_spans() call return.
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

  /// Waits until a call is blocked inside export_spans(); false on timeout.
  bool wait_blocked(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return waiting_ > 0; });
  }

  /// Waits until no call is inside export_spans() (after release()); false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return waiting_ == 0; });
  }

  std::size_t calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  /// Spans in the batches that returned.
  std::size_t spans() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::size_t calls_ = 0, waiting_ = 0, spans_ = 0, shutdowns_ = 0;
};

}  // namespace skein::fakes
