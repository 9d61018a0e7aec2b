// A fake exporter that reports failure: export_spans() returns ExportResult::failure (for the
// first `fail_calls` calls, or always), and force_flush() can report failure too.
//
// There is no throwing variant: Exporter::export_spans() is noexcept, so an override cannot
// throw (a throw would call std::terminate before skein could catch it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <limits>
#include <span>

#include "skein/exporter.hpp"

namespace skein::fakes {

class FailingExporter final : public Exporter {
 public:
  struct Config {
    /// How many export_spans() calls fail before it starts succeeding.
    std::size_t fail_calls = std::numeric_limits<std::size_t>::max();
    /// Whether force_flush() reports failure.
    bool fail_flush = false;
  };
  FailingExporter() = default;
  explicit FailingExporter(Config config) : config_(config) {}

  ExportResult export_spans(std::span<const SpanView> batch) noexcept override {
    std::size_t call = calls_.fetch_add(1);
    spans_.fetch_add(batch.size());
    return call < config_.fail_calls ? ExportResult::failure : ExportResult::success;
  }

  bool force_flush(std::chrono::steady_clock::time_point) noexcept override {
    flushes_.fetch_add(1);
    return !config_.fail_flush;
  }

  std::size_t calls() const { return calls_.load(); }
  std::size_t spans() const { return spans_.load(); }
  std::size_t flushes() const { return flushes_.load(); }

 private:
  Config config_{};
  std::atomic<std::size_t> calls_{0}, spans_{0}, flushes_{0};
};

}  // namespace skein::fakes
