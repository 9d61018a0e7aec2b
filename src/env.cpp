#include "env.hpp"

#include <cstdlib>

namespace skein::detail {

std::string_view env_name(EnvVar v) noexcept {
  switch (v) {
    case EnvVar::skein_project: return "SKEIN_PROJECT";
    case EnvVar::hh_project: return "HH_PROJECT";
    case EnvVar::otel_service_name: return "OTEL_SERVICE_NAME";
    case EnvVar::skein_service_name: return "SKEIN_SERVICE_NAME";
    case EnvVar::skein_source: return "SKEIN_SOURCE";
    case EnvVar::hh_source: return "HH_SOURCE";
    case EnvVar::skein_session_name: return "SKEIN_SESSION_NAME";
    case EnvVar::hh_session_name: return "HH_SESSION_NAME";
    case EnvVar::skein_session_id: return "SKEIN_SESSION_ID";
    case EnvVar::hh_session_id: return "HH_SESSION_ID";
    case EnvVar::skein_api_key: return "SKEIN_API_KEY";
    case EnvVar::hh_api_key: return "HH_API_KEY";
    case EnvVar::skein_api_url: return "SKEIN_API_URL";
    case EnvVar::hh_api_url: return "HH_API_URL";
    case EnvVar::otel_resource_attributes: return "OTEL_RESOURCE_ATTRIBUTES";
    case EnvVar::skein_exporter: return "SKEIN_EXPORTER";
    case EnvVar::skein_file_path: return "SKEIN_FILE_PATH";
    case EnvVar::skein_disabled: return "SKEIN_DISABLED";
    case EnvVar::otel_sdk_disabled: return "OTEL_SDK_DISABLED";
    case EnvVar::skein_span_attribute_count_limit: return "SKEIN_SPAN_ATTRIBUTE_COUNT_LIMIT";
    case EnvVar::otel_span_attribute_count_limit: return "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
    case EnvVar::skein_span_event_count_limit: return "SKEIN_SPAN_EVENT_COUNT_LIMIT";
    case EnvVar::otel_span_event_count_limit: return "OTEL_SPAN_EVENT_COUNT_LIMIT";
    case EnvVar::skein_span_link_count_limit: return "SKEIN_SPAN_LINK_COUNT_LIMIT";
    case EnvVar::otel_span_link_count_limit: return "OTEL_SPAN_LINK_COUNT_LIMIT";
    case EnvVar::skein_attribute_value_length_limit: return "SKEIN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    case EnvVar::otel_attribute_value_length_limit: return "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    case EnvVar::skein_thread_buffer_spans: return "SKEIN_THREAD_BUFFER_SPANS";
    case EnvVar::skein_flush_interval_ms: return "SKEIN_FLUSH_INTERVAL_MS";
    case EnvVar::skein_shutdown_timeout_ms: return "SKEIN_SHUTDOWN_TIMEOUT_MS";
    case EnvVar::otel_traces_sampler: return "OTEL_TRACES_SAMPLER";
    case EnvVar::otel_traces_sampler_arg: return "OTEL_TRACES_SAMPLER_ARG";
    case EnvVar::skein_sampler: return "SKEIN_SAMPLER";
    case EnvVar::skein_sampler_arg: return "SKEIN_SAMPLER_ARG";
    case EnvVar::otel_traces_exporter: return "OTEL_TRACES_EXPORTER";
    case EnvVar::otel_exporter_otlp_traces_endpoint: return "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    case EnvVar::otel_exporter_otlp_endpoint: return "OTEL_EXPORTER_OTLP_ENDPOINT";
    case EnvVar::otel_exporter_otlp_traces_protocol: return "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
    case EnvVar::otel_exporter_otlp_protocol: return "OTEL_EXPORTER_OTLP_PROTOCOL";
    case EnvVar::otel_exporter_otlp_traces_headers: return "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
    case EnvVar::otel_exporter_otlp_headers: return "OTEL_EXPORTER_OTLP_HEADERS";
    case EnvVar::otel_exporter_otlp_traces_compression:
      return "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
    case EnvVar::otel_exporter_otlp_compression: return "OTEL_EXPORTER_OTLP_COMPRESSION";
    case EnvVar::otel_exporter_otlp_traces_timeout: return "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
    case EnvVar::otel_exporter_otlp_timeout: return "OTEL_EXPORTER_OTLP_TIMEOUT";
    case EnvVar::otel_bsp_max_export_batch_size: return "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
    case EnvVar::otel_bsp_schedule_delay: return "OTEL_BSP_SCHEDULE_DELAY";
    case EnvVar::otel_bsp_max_queue_size: return "OTEL_BSP_MAX_QUEUE_SIZE";
    case EnvVar::otel_bsp_export_timeout: return "OTEL_BSP_EXPORT_TIMEOUT";
    case EnvVar::skein_otlp_retry_initial_backoff_ms: return "SKEIN_OTLP_RETRY_INITIAL_BACKOFF_MS";
    case EnvVar::skein_otlp_retry_max_backoff_ms: return "SKEIN_OTLP_RETRY_MAX_BACKOFF_MS";
    case EnvVar::skein_store_path: return "SKEIN_STORE_PATH";
    case EnvVar::home: return "HOME";
    case EnvVar::skein_baggage_attributes: return "SKEIN_BAGGAGE_ATTRIBUTES";
    case EnvVar::skein_tail_sampling: return "SKEIN_TAIL_SAMPLING";
    case EnvVar::skein_tail_keep_errors: return "SKEIN_TAIL_KEEP_ERRORS";
    case EnvVar::skein_tail_slow_ms: return "SKEIN_TAIL_SLOW_MS";
    case EnvVar::skein_tail_probability: return "SKEIN_TAIL_PROBABILITY";
    case EnvVar::skein_tail_max_wait_ms: return "SKEIN_TAIL_MAX_WAIT_MS";
    case EnvVar::skein_tail_max_spans: return "SKEIN_TAIL_MAX_SPANS";
    case EnvVar::no_color: return "NO_COLOR";
  }
  return "";
}

std::optional<std::string> env(EnvVar v) {
  std::string name(env_name(v));
  const char* value = std::getenv(name.c_str());  // the only getenv in skein
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

}  // namespace skein::detail
