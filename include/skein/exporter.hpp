// skein/exporter.hpp — where finished spans go.
//
// The pipeline thread hands batches of finished spans to each exporter as `SpanView`s: read-only
// views into skein's span records, valid only for the duration of `export_spans`. An exporter
// copies or encodes what it needs before returning. Exporters are called from the pipeline thread
// only (never concurrently with themselves); they must not throw — if one does, the batch counts
// as failed.
//
// Built in: `InMemoryExporter` (for tests of your own instrumentation), the console tree, and the
// OTLP JSON-lines file (`make_console_exporter`, `make_file_exporter`).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "skein/context.hpp"
#include "skein/span.hpp"

namespace skein {

/// An exported attribute value: a scalar or a homogeneous array (OpenTelemetry's model). A view.
class AttrValue {
 public:
  enum class Type : std::uint8_t {
    empty,
    boolean,
    int64,
    float64,
    string,
    bool_array,
    int64_array,
    float64_array,
    string_array
  };
  constexpr AttrValue() noexcept : type_(Type::empty), i_(0) {}
  constexpr explicit AttrValue(bool b) noexcept : type_(Type::boolean), i_(b ? 1 : 0) {}
  constexpr explicit AttrValue(std::int64_t i) noexcept : type_(Type::int64), i_(i) {}
  constexpr explicit AttrValue(double d) noexcept : type_(Type::float64), d_(d) {}
  constexpr explicit AttrValue(std::string_view s) noexcept
      : type_(Type::string), arr_{s.data(), s.size()} {}
  constexpr AttrValue(Type array_type, const void* data, std::size_t n) noexcept
      : type_(array_type), arr_{data, n} {}

  /// A boolean, integer, double or empty value from its type and its 8 bytes (a boolean as 0 or
  /// 1, an empty value as 0), as Value::scalar_bits gives them.
  static constexpr AttrValue from_bits(Type scalar_type, std::uint64_t bits) noexcept {
    return AttrValue(scalar_type, static_cast<std::int64_t>(bits));
  }

  [[nodiscard]] constexpr Type type() const noexcept { return type_; }
  [[nodiscard]] bool as_bool() const noexcept { return i_ != 0; }
  [[nodiscard]] std::int64_t as_int() const noexcept { return i_; }
  [[nodiscard]] double as_double() const noexcept { return d_; }
  [[nodiscard]] std::string_view as_string() const noexcept {
    return {static_cast<const char*>(arr_.p), arr_.n};
  }
  [[nodiscard]] std::span<const bool> bools() const noexcept {
    return {static_cast<const bool*>(arr_.p), arr_.n};
  }
  [[nodiscard]] std::span<const std::int64_t> ints() const noexcept {
    return {static_cast<const std::int64_t*>(arr_.p), arr_.n};
  }
  [[nodiscard]] std::span<const double> doubles() const noexcept {
    return {static_cast<const double*>(arr_.p), arr_.n};
  }
  [[nodiscard]] std::span<const std::string_view> strings() const noexcept {
    return {static_cast<const std::string_view*>(arr_.p), arr_.n};
  }

 private:
  // from_bits: the 8 bytes stored as they are (g++ reads a double written this way through d_).
  constexpr AttrValue(Type scalar_type, std::int64_t bits) noexcept
      : type_(scalar_type), i_(bits) {}

  struct ArrayRep {
    const void* p;
    std::size_t n;
  };
  Type type_;
  union {
    std::int64_t i_;  // also a boolean, as 0 or 1
    double d_;
    ArrayRep arr_;
  };
};

struct Attribute {
  std::string_view key;
  AttrValue value;
};

struct EventView {
  std::string_view name;
  std::uint64_t time_unix_nano = 0;
  std::span<const Attribute> attributes;
};

struct LinkView {
  TraceId trace_id;
  SpanId span_id;
  std::uint8_t flags = 0;
  std::span<const Attribute> attributes;
  bool remote = false;           ///< the linked context came from another process
  std::string_view trace_state;  ///< the linked context's W3C tracestate (OTLP Link.trace_state)
};

/// Process-wide facts shared by every span of a tracer (OpenTelemetry resource + HoneyHive
/// session).
struct Resource {
  std::string service_name, project, source, session_id, session_name;
  /// All resource attributes, including service.name and telemetry.sdk.*.
  std::vector<std::pair<std::string, std::string>> attributes;
};

/// A finished span, as exporters see it.
struct SpanView {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;       ///< invalid for a root
  std::uint8_t flags = 0;      ///< W3C trace flags
  bool parent_remote = false;  ///< the parent came from another process
  std::string_view trace_state;
  std::string_view name;
  SpanKind kind = SpanKind::internal;
  EventType event_type = EventType::generic;
  StatusCode status = StatusCode::unset;
  std::string_view status_message;
  std::uint64_t start_unix_nano = 0;
  std::uint64_t end_unix_nano = 0;
  /// User attributes (core ones are added by `core_attributes`), last value per key.
  std::span<const Attribute> attributes;
  std::span<const EventView> events;
  std::span<const LinkView> links;
  std::uint32_t dropped_attributes = 0, dropped_events = 0, dropped_links = 0;
  std::uint32_t truncated_values = 0;
  /// For a local root that a sampler decided: the probability it was kept with (else negative).
  double sampling_probability = -1;
  const Resource* resource = nullptr;
};

/// The attributes skein adds to every span so that HoneyHive, OpenInference (Phoenix) and any
/// OpenTelemetry backend read it right: `honeyhive_event_type`, `honeyhive_event_name`,
/// `honeyhive.project`, `honeyhive.source`, `honeyhive.session_id`, `session.id`,
/// `honeyhive_duration_ms`, `openinference.span.kind`, `sampling.probability` on sampled roots,
/// and `skein.truncated_values` when any.
/// They are computed at export and never evicted by user attributes.
struct CoreAttributes {
  Attribute items[12];
  std::size_t size = 0;
  [[nodiscard]] std::span<const Attribute> view() const noexcept { return {items, size}; }
};
CoreAttributes core_attributes(const SpanView& span) noexcept;
/// True when `key` is one that core_attributes() may write (a user attribute with such a key
/// replaces the core one).
bool is_core_attribute_key(std::string_view key) noexcept;

enum class ExportResult : std::uint8_t { success, failure };

/// What an exporter that sends in the background (OTLP) did with the spans it accepted. Counted
/// in spans, except `retries` (requests).
struct ExporterStats {
  std::uint64_t sent = 0;                ///< accepted by the backend
  std::uint64_t rejected = 0;            ///< refused: a 4xx answer, or a partial success
  std::uint64_t failed = 0;              ///< not delivered: retries exhausted, timed out, other 5xx
  std::uint64_t dropped_queue_full = 0;  ///< the exporter's bounded queue was full
  std::uint64_t dropped_shutdown = 0;    ///< still waiting when shutdown's deadline passed
  std::uint64_t retries = 0;             ///< requests sent again (429, 502, 503, 504, network)
  std::uint64_t discarded_tail_sampling = 0;  ///< a tail sampler decided not to keep them
  ExporterStats& operator+=(const ExporterStats& o) noexcept {
    discarded_tail_sampling += o.discarded_tail_sampling;
    sent += o.sent;
    rejected += o.rejected;
    failed += o.failed;
    dropped_queue_full += o.dropped_queue_full;
    dropped_shutdown += o.dropped_shutdown;
    retries += o.retries;
    return *this;
  }
};

class Exporter {
 public:
  virtual ~Exporter() = default;
  /// A batch of finished spans; see the file comment.
  virtual ExportResult export_spans(std::span<const SpanView> batch) noexcept = 0;
  /// Pushes out anything buffered; false when the deadline passed.
  virtual bool force_flush(std::chrono::steady_clock::time_point deadline) noexcept {
    (void)deadline;
    return true;
  }
  /// Last call; releases resources. False when the deadline passed.
  virtual bool shutdown(std::chrono::steady_clock::time_point deadline) noexcept {
    return force_flush(deadline);
  }
  /// Counters of an exporter that delivers asynchronously; any thread. Summed into
  /// `Tracer::stats()`.
  [[nodiscard]] virtual ExporterStats stats() const noexcept { return {}; }
};

/// An owned attribute value, as kept by the in-memory exporter.
using OwnedValue =
    std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<bool>,
                 std::vector<std::int64_t>, std::vector<double>, std::vector<std::string>>;
OwnedValue to_owned(const AttrValue& v);

/// An owned copy of a finished span.
struct SpanData {
  struct Event {
    std::string name;
    std::uint64_t time_unix_nano = 0;
    std::vector<std::pair<std::string, OwnedValue>> attributes;
  };
  struct Link {
    TraceId trace_id;
    SpanId span_id;
    std::vector<std::pair<std::string, OwnedValue>> attributes;
    std::string trace_state;
  };
  TraceId trace_id;
  SpanId span_id, parent_span_id;
  std::uint8_t flags = 0;
  bool parent_remote = false;
  std::string trace_state, name, status_message;
  SpanKind kind = SpanKind::internal;
  EventType event_type = EventType::generic;
  StatusCode status = StatusCode::unset;
  std::uint64_t start_unix_nano = 0, end_unix_nano = 0;
  /// Core attributes first, then the user's.
  std::vector<std::pair<std::string, OwnedValue>> attributes;
  std::vector<Event> events;
  std::vector<Link> links;
  std::uint32_t dropped_attributes = 0, dropped_events = 0, dropped_links = 0;

  /// The value of an attribute, or nullptr.
  [[nodiscard]] const OwnedValue* attribute(std::string_view key) const noexcept;
  /// Typed shortcuts: the value when present with that type.
  [[nodiscard]] std::optional<std::string> string_attribute(std::string_view key) const;
  [[nodiscard]] std::optional<std::int64_t> int_attribute(std::string_view key) const;
  [[nodiscard]] std::optional<double> double_attribute(std::string_view key) const;
  [[nodiscard]] std::optional<bool> bool_attribute(std::string_view key) const;
};
SpanData to_span_data(const SpanView& view);

/// Keeps every exported span in memory. Thread-safe to read while the tracer runs.
class InMemoryExporter : public Exporter {
 public:
  ExportResult export_spans(std::span<const SpanView> batch) noexcept override;
  /// A copy of the spans received so far, in export order.
  [[nodiscard]] std::vector<SpanData> spans() const;
  [[nodiscard]] std::size_t size() const;
  void clear();
  /// Waits until at least `n` spans arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<SpanData> spans_;
};

struct ConsoleOptions {
  /// Where to write; stderr when null.
  std::FILE* stream = nullptr;
  /// Colour: nullopt = when the stream is a terminal (and NO_COLOR is unset).
  std::optional<bool> color;
};
/// Prints each trace as an indented tree when its local root ends.
std::shared_ptr<Exporter> make_console_exporter(ConsoleOptions options = {});
/// Appends one OTLP JSON ExportTraceServiceRequest per batch, one per line. Null (with `error`
/// set) when the file cannot be opened.
std::shared_ptr<Exporter> make_file_exporter(const std::string& path, std::string* error = nullptr);

/// Tail sampling, in process: holds each trace's finished spans until its local root ends (or
/// `max_wait` passes), then passes the whole trace on if it has an error, its root took at least
/// `slow_threshold`, `keep_if` says so, or else with `probability` (consistent by trace id).
/// Memory is bounded by `max_spans`; past it the oldest trace is decided at once. Traces not
/// kept are counted in `Stats::dropped_tail_sampling`. Use with head sampling always on.
struct TailSamplingOptions {
  bool keep_errors = true;
  std::chrono::milliseconds slow_threshold{1000};  ///< 0: no latency rule
  std::function<bool(std::span<const SpanView>)> keep_if = nullptr;
  double probability = 0.0;  ///< of the remaining traces
  std::chrono::milliseconds max_wait{30000};
  std::size_t max_spans = 100000;
};
std::shared_ptr<Exporter> make_tail_sampler(TailSamplingOptions options,
                                            std::vector<std::shared_ptr<Exporter>> next);

/// OTLP JSON encoding of a batch (the ExportTraceServiceRequest JSON mapping), appended to `out`.
void encode_otlp_json(std::span<const SpanView> batch, std::string& out);

}  // namespace skein
