// skein/config.hpp — tracer options and errors.
//
// `Options` is a plain struct of optional fields, written with designated initializers:
//
//     auto tracer = skein::Tracer::init({.project = "my-app", .exporter =
//     skein::ExporterKind::console});
//
// Precedence, one rule for every field: a value set in code wins; a field left unset is taken
// from the environment (each field's comment names its variables, first match wins); otherwise
// the documented default applies. `docs/configuration.md` lists every variable.
// Errors are values: init never throws; an invalid configuration yields a no-op tracer whose
// `error()` says what was wrong.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace skein {

class Exporter;
class Sampler;

/// Frozen error codes.
enum class ErrorCode : std::uint8_t {
  none = 0,
  invalid_option = 1,        ///< an Options field has an invalid value
  invalid_environment = 2,   ///< an environment variable has an invalid value
  exporter_unavailable = 3,  ///< the chosen exporter cannot be created (for example a file path)
  disabled = 4,              ///< tracing was disabled by configuration (not a failure)
};

struct Error {
  ErrorCode code = ErrorCode::none;
  std::string message;
  explicit operator bool() const noexcept { return code != ErrorCode::none; }
};

/// Where spans go when no exporter object is given.
enum class ExporterKind : std::uint8_t {
  automatic,  ///< OTLP when an OTLP endpoint is configured, else the local store (else console)
  none,       ///< record and count, export nowhere (useful with `exporters`)
  console,    ///< a readable tree per trace
  file,       ///< OTLP JSON lines, one ExportTraceServiceRequest per line
  otlp,       ///< OTLP/HTTP to a collector or backend (see `OtlpOptions`, skein/otlp.hpp)
  store,      ///< the local SQLite store that `skein` reads (skein/store.hpp)
};

/// OTLP/HTTP body encoding.
enum class OtlpProtocol : std::uint8_t { http_protobuf, http_json };
/// OTLP/HTTP request body compression.
enum class OtlpCompression : std::uint8_t { none, gzip };

/// The OTLP exporter (`ExporterKind::otlp`). Every field follows the OpenTelemetry variables;
/// the `*_TRACES_*` variable wins over the general one.
struct OtlpOptions {
  /// Full URL the spans are POSTed to, used as is. Else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as
  /// is), OTEL_EXPORTER_OTLP_ENDPOINT (+ "/v1/traces"), or, with an `api_key` and an `api_url`
  /// (HH_API_KEY, HH_API_URL), "{api_url}/opentelemetry/v1/traces" (the HoneyHive preset).
  /// Default: http://localhost:4318/v1/traces. Setting any of these makes
  /// `ExporterKind::automatic` export OTLP.
  std::optional<std::string> endpoint{};
  /// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf, http/json).
  /// Default: http/protobuf.
  std::optional<OtlpProtocol> protocol{};
  /// Request headers. OTEL_EXPORTER_OTLP_TRACES_HEADERS, OTEL_EXPORTER_OTLP_HEADERS
  /// (key=value,... percent-encoded) add those not set here. An `api_key` adds
  /// `Authorization: Bearer <key>` unless an Authorization header is given.
  std::vector<std::pair<std::string, std::string>> headers{};
  /// OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, OTEL_EXPORTER_OTLP_COMPRESSION (gzip, none).
  /// Default: none.
  std::optional<OtlpCompression> compression{};
  /// Timeout of one HTTP request. OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, OTEL_EXPORTER_OTLP_TIMEOUT
  /// (milliseconds). Default: 10000 ms.
  std::optional<std::chrono::milliseconds> timeout{};
  /// Spans per request. OTEL_BSP_MAX_EXPORT_BATCH_SIZE. Default: 512.
  std::optional<std::uint32_t> max_export_batch_size{};
  /// Longest a span waits for its batch to fill before it is sent. OTEL_BSP_SCHEDULE_DELAY
  /// (milliseconds). Default: 5000 ms.
  std::optional<std::chrono::milliseconds> schedule_delay{};
  /// Spans the exporter may hold, encoded, waiting or being sent; beyond that new spans are
  /// dropped and counted. OTEL_BSP_MAX_QUEUE_SIZE. Default: 2048.
  std::optional<std::uint32_t> max_queue_size{};
  /// Time budget of one batch, retries included. OTEL_BSP_EXPORT_TIMEOUT (milliseconds).
  /// Default: 30000 ms.
  std::optional<std::chrono::milliseconds> export_timeout{};
  /// First retry delay; doubles (with jitter) up to `retry_max_backoff`. A Retry-After answer
  /// overrides it. SKEIN_OTLP_RETRY_INITIAL_BACKOFF_MS. Default: 1000 ms.
  std::optional<std::chrono::milliseconds> retry_initial_backoff{};
  /// SKEIN_OTLP_RETRY_MAX_BACKOFF_MS. Default: 5000 ms.
  std::optional<std::chrono::milliseconds> retry_max_backoff{};
};

/// OTLP settings once resolved; see `OtlpOptions` for each field.
struct FinalizedOtlp {
  std::string endpoint = "http://localhost:4318/v1/traces";
  /// Whether code or the environment named the endpoint (or the HoneyHive preset applied).
  bool endpoint_configured = false;
  OtlpProtocol protocol = OtlpProtocol::http_protobuf;
  /// Every header sent, Authorization included.
  std::vector<std::pair<std::string, std::string>> headers{};
  OtlpCompression compression = OtlpCompression::none;
  std::chrono::milliseconds timeout{10000};
  std::uint32_t max_export_batch_size = 512;
  std::chrono::milliseconds schedule_delay{5000};
  std::uint32_t max_queue_size = 2048;
  std::chrono::milliseconds export_timeout{30000};
  std::chrono::milliseconds retry_initial_backoff{1000};
  std::chrono::milliseconds retry_max_backoff{5000};
};

/// Per-span limits. Exceeding one drops or truncates and is counted on the span and in stats.
struct Limits {
  std::optional<std::uint32_t> max_attributes{};  ///< SKEIN_SPAN_ATTRIBUTE_COUNT_LIMIT,
                                                  ///< OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT; 1024
  std::optional<std::uint32_t>
      max_events{};  ///< SKEIN_SPAN_EVENT_COUNT_LIMIT, OTEL_SPAN_EVENT_COUNT_LIMIT; 1024
  std::optional<std::uint32_t>
      max_links{};  ///< SKEIN_SPAN_LINK_COUNT_LIMIT, OTEL_SPAN_LINK_COUNT_LIMIT; 128
  std::optional<std::uint32_t>
      max_value_length{};  ///< SKEIN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
                           ///< OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT; 65536 bytes
};

/// Tail sampling in front of every exporter, as Options and the environment set it: the part of
/// TailSamplingOptions (skein/exporter.hpp) that needs no code. For a `keep_if` predicate, build
/// the stage with make_tail_sampler and pass it in Options::exporters instead.
struct TailSamplingSettings {
  bool keep_errors = true;                         ///< SKEIN_TAIL_KEEP_ERRORS
  std::chrono::milliseconds slow_threshold{1000};  ///< SKEIN_TAIL_SLOW_MS; 0: no latency rule
  double probability = 0.0;                        ///< SKEIN_TAIL_PROBABILITY, of the rest
  std::chrono::milliseconds max_wait{30000};       ///< SKEIN_TAIL_MAX_WAIT_MS
  std::size_t max_spans = 100000;                  ///< SKEIN_TAIL_MAX_SPANS
};

struct Options {
  /// Project name (HoneyHive project). SKEIN_PROJECT, HH_PROJECT. Default: "default".
  std::optional<std::string> project{};
  /// service.name. OTEL_SERVICE_NAME, SKEIN_SERVICE_NAME. Default: the project.
  std::optional<std::string> service_name{};
  /// Source / environment label ("dev", "prod"). SKEIN_SOURCE, HH_SOURCE. Default: "dev".
  std::optional<std::string> source{};
  /// Session name. SKEIN_SESSION_NAME, HH_SESSION_NAME. Default: the project.
  std::optional<std::string> session_name{};
  /// Session id (UUID). SKEIN_SESSION_ID, HH_SESSION_ID. Default: a new random UUID.
  std::optional<std::string> session_id{};
  /// API key for a backend; sent as a bearer token by network exporters. SKEIN_API_KEY, HH_API_KEY.
  std::optional<std::string> api_key{};
  /// Backend base URL. SKEIN_API_URL, HH_API_URL.
  std::optional<std::string> api_url{};
  /// Extra resource attributes; OTEL_RESOURCE_ATTRIBUTES (key=value,...) adds the ones not set
  /// here.
  std::vector<std::pair<std::string, std::string>> resource_attributes{};
  /// Built-in exporter. SKEIN_EXPORTER (automatic|none|console|file|otlp|store), then
  /// OTEL_TRACES_EXPORTER (otlp|console|none). Default: automatic, which is OTLP when an OTLP
  /// endpoint is configured (see `OtlpOptions::endpoint`), otherwise the local store (`skein`
  /// shows it), or the console when skein was built without SQLite.
  std::optional<ExporterKind> exporter{};
  /// The OTLP exporter's settings.
  OtlpOptions otlp{};
  /// Path for ExporterKind::file. SKEIN_FILE_PATH. Default: "skein-traces.jsonl".
  std::optional<std::string> file_path{};
  /// Path for ExporterKind::store. SKEIN_STORE_PATH. Default: $HOME/.skein/skein.db.
  std::optional<std::string> store_path{};
  /// Exporter objects that receive every span, in addition to the built-in one.
  std::vector<std::shared_ptr<Exporter>> exporters{};
  /// Root sampler. Children follow their parent's decision. Default: always on.
  std::shared_ptr<Sampler> sampler{};
  /// Tail sampling in front of the exporters: each trace is held until its local root ends, then
  /// kept if it failed, was slow, or by probability. SKEIN_TAIL_SAMPLING (true|false) turns it on
  /// from the environment, tuned by the variables in TailSamplingSettings. Default: off.
  std::optional<TailSamplingSettings> tail_sampling{};
  /// Turns tracing off: every span is a no-op. SKEIN_DISABLED, OTEL_SDK_DISABLED. Default: false.
  std::optional<bool> disabled{};
  /// Baggage keys copied onto every span as string attributes of the same name, when the span's
  /// context carries them — e.g. {"request.id", "session.id"} (see skein/propagation.hpp).
  /// SKEIN_BAGGAGE_ATTRIBUTES (comma-separated). Default: none.
  std::vector<std::string> baggage_attributes{};
  Limits limits{};
  /// Records each thread may have in flight (started, not yet exported) before new spans are
  /// dropped. SKEIN_THREAD_BUFFER_SPANS. Default: 8192.
  std::optional<std::uint32_t> thread_buffer_spans{};
  /// How often the pipeline thread looks for finished spans when idle. SKEIN_FLUSH_INTERVAL_MS.
  /// Default: 20 ms.
  std::optional<std::chrono::milliseconds> flush_interval{};
  /// Deadline for the flush at exit and for shutdown() without argument.
  /// SKEIN_SHUTDOWN_TIMEOUT_MS. Default: 3000 ms.
  std::optional<std::chrono::milliseconds> shutdown_timeout{};
  /// Make this tracer the process default (used by `skein::span()`, SKEIN_TRACE). Default: true
  /// for the first tracer created.
  std::optional<bool> make_default{};
};

/// A finished configuration: every field resolved, validated. Built by `finalize`.
struct FinalizedOptions {
  std::string project, service_name, source, session_name, session_id, api_key, api_url;
  std::vector<std::pair<std::string, std::string>> resource_attributes{};
  ExporterKind exporter = ExporterKind::automatic;
  FinalizedOtlp otlp{};
  std::string file_path;
  std::string store_path;  ///< empty: the default (skein::default_store_path())
  /// Empty in a tracer's options(): the tracer owns its exporters (and releases them at shutdown).
  std::vector<std::shared_ptr<Exporter>> exporters{};
  std::shared_ptr<Sampler> sampler{};
  std::optional<TailSamplingSettings> tail_sampling{};
  std::vector<std::string> baggage_attributes{};
  bool disabled = false;
  std::uint32_t max_attributes = 1024, max_events = 1024, max_links = 128, max_value_length = 65536;
  std::uint32_t thread_buffer_spans = 8192;
  std::chrono::milliseconds flush_interval{20};
  std::chrono::milliseconds shutdown_timeout{3000};
  bool make_default = true;
};

/// Resolves options against the environment and validates them. On error, `error` is set and
/// the returned options must not be used.
FinalizedOptions finalize(const Options& options, Error& error);

}  // namespace skein
