// skein/otlp.hpp — the OTLP/HTTP exporter: spans to any OpenTelemetry backend.
//
// `ExporterKind::otlp` (SKEIN_EXPORTER=otlp, OTEL_TRACES_EXPORTER=otlp, or simply an
// OTEL_EXPORTER_OTLP_ENDPOINT in the environment) makes `Tracer::init` build one from
// `Options::otlp`; `make_otlp_exporter` builds one by hand, to add to `Options::exporters`.
//
// How it works: the tracer's pipeline thread hands it finished spans; it encodes them at once
// (protobuf or JSON) into the batch being filled, and a sender thread of its own POSTs full
// batches (`max_export_batch_size` spans, or whatever waited `schedule_delay`) with libcurl over a
// kept-alive connection. Application threads never wait on the network. The encoded spans it holds
// are bounded (`max_queue_size`); beyond that new spans are dropped and counted. Answers 429, 502,
// 503, 504 and network errors are retried with exponential backoff and jitter, honouring
// `Retry-After`, until the batch's `export_timeout`; other 4xx answers count the batch as
// rejected and are never retried; a partial success counts its rejected spans. All of it shows in
// `stats()` (and in `Tracer::stats()`), and in a diagnostic line on stderr at most every few
// seconds. `force_flush` and `shutdown` return by their deadline even when the endpoint hangs.
// After `fork()` the child starts afresh: it drops what the parent had queued and sends its own.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "skein/config.hpp"
#include "skein/exporter.hpp"

namespace skein {

/// The OTLP/HTTP exporter; see the file comment.
class OtlpExporter final : public Exporter {
 public:
  struct Impl;
  explicit OtlpExporter(std::shared_ptr<Impl> impl) noexcept;
  ~OtlpExporter() override;

  ExportResult export_spans(std::span<const SpanView> batch) noexcept override;
  bool force_flush(std::chrono::steady_clock::time_point deadline) noexcept override;
  bool shutdown(std::chrono::steady_clock::time_point deadline) noexcept override;
  [[nodiscard]] ExporterStats stats() const noexcept override;

  /// The settings in use (endpoint, protocol, headers...).
  [[nodiscard]] const FinalizedOtlp& config() const noexcept;

 private:
  std::shared_ptr<Impl> impl_;
};

/// Builds an OTLP exporter from options resolved like `Tracer::init` does (code > environment >
/// default; `api_key` / `api_url` as in `Options`). Null, with `error` set, when the options are
/// invalid.
std::shared_ptr<OtlpExporter> make_otlp_exporter(const OtlpOptions& options = {},
                                                 Error* error = nullptr);
/// Builds one from already finalized settings (`Tracer::options().otlp`, for example).
std::shared_ptr<OtlpExporter> make_otlp_exporter(const FinalizedOtlp& config,
                                                 Error* error = nullptr);

/// OTLP protobuf encoding of a batch (an ExportTraceServiceRequest), appended to `out`.
void encode_otlp_protobuf(std::span<const SpanView> batch, std::string& out);

}  // namespace skein
