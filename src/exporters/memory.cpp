#include "skein/exporter.hpp"

namespace skein {

ExportResult InMemoryExporter::export_spans(std::span<const SpanView> batch) noexcept {
  try {
    std::vector<SpanData> copies;
    copies.reserve(batch.size());
    for (const SpanView& v : batch) copies.push_back(to_span_data(v));
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& c : copies) spans_.push_back(std::move(c));
    }
    cv_.notify_all();
    return ExportResult::success;
  } catch (...) {
    return ExportResult::failure;
  }
}

std::vector<SpanData> InMemoryExporter::spans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spans_;
}

std::size_t InMemoryExporter::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spans_.size();
}

void InMemoryExporter::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  spans_.clear();
}

bool InMemoryExporter::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return spans_.size() >= n; });
}

}  // namespace skein
