// The one place that reads the environment. Every variable skein reads is listed here (and in
// docs/configuration.md); a CI check forbids getenv anywhere else.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace skein::detail {

enum class EnvVar {
  skein_project, hh_project,
  otel_service_name, skein_service_name,
  skein_source, hh_source,
  skein_session_name, hh_session_name,
  skein_session_id, hh_session_id,
  skein_api_key, hh_api_key,
  skein_api_url, hh_api_url,
  otel_resource_attributes,
  skein_exporter,
  skein_file_path,
  skein_disabled, otel_sdk_disabled,
  skein_span_attribute_count_limit, otel_span_attribute_count_limit,
  skein_span_event_count_limit, otel_span_event_count_limit,
  skein_span_link_count_limit, otel_span_link_count_limit,
  skein_attribute_value_length_limit, otel_attribute_value_length_limit,
  skein_thread_buffer_spans,
  skein_flush_interval_ms,
  skein_shutdown_timeout_ms,
  skein_baggage_attributes,
  skein_store_path,
  home,
  no_color,
};

/// The variable's name, e.g. "SKEIN_PROJECT".
std::string_view env_name(EnvVar v) noexcept;
/// Its value when set and non-empty.
std::optional<std::string> env(EnvVar v);

}  // namespace skein::detail
