// The JSON-lines file exporter: one OTLP JSON ExportTraceServiceRequest per line, so the file can
// be replayed line by line into any OTLP/HTTP endpoint (`curl -d @line`) or imported by skein.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "skein/exporter.hpp"

namespace skein {
namespace {

class FileExporter final : public Exporter {
 public:
  explicit FileExporter(std::FILE* f) : file_(f) {}
  ~FileExporter() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  ExportResult export_spans(std::span<const SpanView> batch) noexcept override {
    if (file_ == nullptr || batch.empty()) return ExportResult::success;
    try {
      line_.clear();
      encode_otlp_json(batch, line_);
      line_ += '\n';
      if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size()) {
        return ExportResult::failure;
      }
      return ExportResult::success;
    } catch (...) {
      return ExportResult::failure;
    }
  }

  bool force_flush(std::chrono::steady_clock::time_point) noexcept override {
    return file_ == nullptr || std::fflush(file_) == 0;
  }

  bool shutdown(std::chrono::steady_clock::time_point d) noexcept override {
    bool ok = force_flush(d);
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
    return ok;
  }

 private:
  std::FILE* file_;
  std::string line_;
};

}  // namespace

std::shared_ptr<Exporter> make_file_exporter(const std::string& path, std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (f == nullptr) {
    if (error != nullptr) *error = "cannot open '" + path + "': " + std::strerror(errno);
    return nullptr;
  }
  return std::make_shared<FileExporter>(f);
}

}  // namespace skein
