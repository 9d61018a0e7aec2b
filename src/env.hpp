// The one place that reads the environment. Every variable skein reads is listed here (and in
// docs/configuration.md); a CI check forbids getenv anywhere else.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace skein::detail {

enum class EnvVar {
  skein_project,
  hh_project,
  otel_service_name,
  skein_service_name,
  skein_source,
  hh_source,
  skein_session_name,
  hh_session_name,
  skein_session_id,
  hh_session_id,
  skein_api_key,
  hh_api_key,
  skein_api_url,
  hh_api_url,
  otel_resource_attributes,
  skein_exporter,
  skein_file_path,
  skein_disabled,
  otel_sdk_disabled,
  skein_span_attribute_count_limit,
  otel_span_attribute_count_limit,
  skein_span_event_count_limit,
  otel_span_event_count_limit,
  skein_span_link_count_limit,
  otel_span_link_count_limit,
  skein_attribute_value_length_limit,
  otel_attribute_value_length_limit,
  skein_thread_buffer_spans,
  skein_flush_interval_ms,
  skein_shutdown_timeout_ms,
  otel_traces_sampler,
  otel_traces_sampler_arg,
  skein_sampler,
  skein_sampler_arg,
  otel_traces_exporter,
  otel_exporter_otlp_traces_endpoint,
  otel_exporter_otlp_endpoint,
  otel_exporter_otlp_traces_protocol,
  otel_exporter_otlp_protocol,
  otel_exporter_otlp_traces_headers,
  otel_exporter_otlp_headers,
  otel_exporter_otlp_traces_compression,
  otel_exporter_otlp_compression,
  otel_exporter_otlp_traces_timeout,
  otel_exporter_otlp_timeout,
  otel_bsp_max_export_batch_size,
  otel_bsp_schedule_delay,
  otel_bsp_max_queue_size,
  otel_bsp_export_timeout,
  skein_otlp_retry_initial_backoff_ms,
  skein_otlp_retry_max_backoff_ms,
  skein_store_path,
  home,
  skein_baggage_attributes,
  no_color,
  skein_tail_sampling,
  skein_tail_keep_errors,
  skein_tail_slow_ms,
  skein_tail_probability,
  skein_tail_max_wait_ms,
  skein_tail_max_spans,
};

/// The variable's name, e.g. "SKEIN_PROJECT".
std::string_view env_name(EnvVar v) noexcept;
/// Its value when set and non-empty.
std::optional<std::string> env(EnvVar v);

}  // namespace skein::detail
