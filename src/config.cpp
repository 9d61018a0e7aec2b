// finalize(): code > environment > default, then validation.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "env.hpp"
#include "ids.hpp"
#include "sampling.hpp"
#include "skein/config.hpp"

namespace skein {
namespace detail {
// config_otlp.cpp
Error finalize_otlp(const OtlpOptions& o, const std::string& api_key, const std::string& api_url,
                    FinalizedOtlp& out);
}  // namespace detail

namespace {

using detail::env;
using detail::env_name;
using detail::EnvVar;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

struct Resolver {
  Error& error;

  void fail(ErrorCode code, std::string message) {
    if (!error) error = Error{code, std::move(message)};
  }

  // First set variable of the list.
  std::optional<std::pair<EnvVar, std::string>> first(std::initializer_list<EnvVar> vars) {
    for (EnvVar v : vars) {
      if (auto value = env(v)) return std::make_pair(v, *value);
    }
    return std::nullopt;
  }

  std::string str(const std::optional<std::string>& code, std::initializer_list<EnvVar> vars,
                  std::string fallback) {
    if (code) return *code;
    if (auto e = first(vars)) return e->second;
    return fallback;
  }

  bool boolean(std::optional<bool> code, std::initializer_list<EnvVar> vars, bool fallback) {
    if (code) return *code;
    if (auto e = first(vars)) {
      std::string v = lower(trim(e->second));
      if (e->first == EnvVar::otel_sdk_disabled) return v == "true";  // per the OTel spec
      if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
      if (v == "false" || v == "0" || v == "no" || v == "off") return false;
      fail(ErrorCode::invalid_environment,
           std::string(env_name(e->first)) + ": expected true or false, got '" + e->second + "'");
    }
    return fallback;
  }

  std::uint32_t number(std::optional<std::uint32_t> code, std::initializer_list<EnvVar> vars,
                       std::uint32_t fallback, std::uint32_t lo, std::uint32_t hi,
                       std::string_view field) {
    std::uint32_t v = fallback;
    std::string source = std::string("Options::") + std::string(field);
    if (code) {
      v = *code;
    } else if (auto e = first(vars)) {
      std::string t = trim(e->second);
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      source = std::string(env_name(e->first));
      if (ec != std::errc() || ptr != t.data() + t.size()) {
        fail(ErrorCode::invalid_environment,
             source + ": expected a whole number, got '" + e->second + "'");
        return fallback;
      }
    }
    if (v < lo || v > hi) {
      fail(code ? ErrorCode::invalid_option : ErrorCode::invalid_environment,
           source + ": " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " +
               std::to_string(hi) + "]");
      return fallback;
    }
    return v;
  }
};

// Options::tail_sampling as given (checked), or from SKEIN_TAIL_SAMPLING and its tuning variables
// (read only when it is on), or off.
std::optional<TailSamplingSettings> tail_sampling(const std::optional<TailSamplingSettings>& code,
                                                  Resolver& r) {
  if (code) {
    const TailSamplingSettings& t = *code;
    if (!(t.probability >= 0.0 && t.probability <= 1.0) || t.slow_threshold.count() < 0 ||
        t.max_wait.count() <= 0 || t.max_spans == 0) {
      r.fail(ErrorCode::invalid_option,
             "Options::tail_sampling: probability must be in [0, 1], slow_threshold at least 0, "
             "max_wait and max_spans at least 1");
      return std::nullopt;
    }
    return t;
  }
  if (!r.boolean(std::nullopt, {EnvVar::skein_tail_sampling}, false)) return std::nullopt;
  TailSamplingSettings t;
  t.keep_errors = r.boolean(std::nullopt, {EnvVar::skein_tail_keep_errors}, t.keep_errors);
  t.slow_threshold = std::chrono::milliseconds(
      r.number(std::nullopt, {EnvVar::skein_tail_slow_ms}, 1000, 0, 86'400'000, "tail_sampling"));
  t.max_wait = std::chrono::milliseconds(r.number(std::nullopt, {EnvVar::skein_tail_max_wait_ms},
                                                  30000, 1, 86'400'000, "tail_sampling"));
  t.max_spans =
      r.number(std::nullopt, {EnvVar::skein_tail_max_spans}, 100000, 1, 1u << 24, "tail_sampling");
  if (auto text = env(EnvVar::skein_tail_probability)) {
    const std::string v = trim(*text);
    double p = -1;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
    if (ec != std::errc() || end != v.data() + v.size() || !(p >= 0.0 && p <= 1.0)) {
      r.fail(ErrorCode::invalid_environment,
             "SKEIN_TAIL_PROBABILITY: expected a number in [0, 1], got '" + *text + "'");
    } else {
      t.probability = p;
    }
  }
  return t;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// OTEL_RESOURCE_ATTRIBUTES: comma-separated key=value, values percent-encoded (W3C baggage
// format). Returns false on a malformed entry.
bool parse_resource_attributes(std::string_view text,
                               std::vector<std::pair<std::string, std::string>>& out,
                               std::string& bad) {
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    std::string entry = trim(item);
    if (entry.empty()) continue;
    std::size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      bad = entry;
      return false;
    }
    std::string key = trim(std::string_view(entry).substr(0, eq));
    std::string raw = trim(std::string_view(entry).substr(eq + 1));
    std::string value;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%') {
        int h = i + 2 < raw.size() ? hex_value(raw[i + 1]) : -1;
        int l = i + 2 < raw.size() ? hex_value(raw[i + 2]) : -1;
        if (h < 0 || l < 0) {
          bad = entry;
          return false;
        }
        value += static_cast<char>(h * 16 + l);
        i += 2;
      } else {
        value += raw[i];
      }
    }
    if (key.empty()) {
      bad = entry;
      return false;
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

}  // namespace

FinalizedOptions finalize(const Options& o, Error& error) {
  error = Error{};
  Resolver r{error};
  FinalizedOptions f;
  f.project = r.str(o.project, {EnvVar::skein_project, EnvVar::hh_project}, "default");
  f.service_name =
      r.str(o.service_name, {EnvVar::otel_service_name, EnvVar::skein_service_name}, f.project);
  f.source = r.str(o.source, {EnvVar::skein_source, EnvVar::hh_source}, "dev");
  f.session_name =
      r.str(o.session_name, {EnvVar::skein_session_name, EnvVar::hh_session_name}, f.project);
  char uuid[36];
  detail::new_uuid(uuid);
  f.session_id =
      r.str(o.session_id, {EnvVar::skein_session_id, EnvVar::hh_session_id}, std::string(uuid, 36));
  f.api_key = r.str(o.api_key, {EnvVar::skein_api_key, EnvVar::hh_api_key}, "");
  f.api_url = r.str(o.api_url, {EnvVar::skein_api_url, EnvVar::hh_api_url}, "");
  if (f.project.empty()) r.fail(ErrorCode::invalid_option, "project must not be empty");
  if (f.service_name.empty()) r.fail(ErrorCode::invalid_option, "service_name must not be empty");

  f.resource_attributes = o.resource_attributes;
  if (auto ra = env(EnvVar::otel_resource_attributes)) {
    std::vector<std::pair<std::string, std::string>> parsed;
    std::string bad;
    if (!parse_resource_attributes(*ra, parsed, bad)) {
      r.fail(ErrorCode::invalid_environment,
             "OTEL_RESOURCE_ATTRIBUTES: malformed entry '" + bad + "' (expected key=value)");
    }
    for (auto& kv : parsed) {
      bool present = std::any_of(f.resource_attributes.begin(), f.resource_attributes.end(),
                                 [&](const auto& e) { return e.first == kv.first; });
      if (!present) f.resource_attributes.push_back(std::move(kv));
    }
  }
  // OpenTelemetry: a service.name resource attribute names the service when neither code nor
  // OTEL_SERVICE_NAME / SKEIN_SERVICE_NAME does; it beats the default (the project).
  if (!o.service_name && !env(EnvVar::otel_service_name) && !env(EnvVar::skein_service_name)) {
    for (const auto& [key, value] : f.resource_attributes) {
      if (key == "service.name" && !value.empty()) {
        f.service_name = value;
        break;
      }
    }
  }

  if (o.exporter) {
    f.exporter = *o.exporter;
  } else if (auto e = env(EnvVar::skein_exporter)) {
    std::string v = lower(trim(*e));
    if (v == "automatic" || v == "auto")
      f.exporter = ExporterKind::automatic;
    else if (v == "none")
      f.exporter = ExporterKind::none;
    else if (v == "console")
      f.exporter = ExporterKind::console;
    else if (v == "file")
      f.exporter = ExporterKind::file;
    else if (v == "otlp")
      f.exporter = ExporterKind::otlp;
    else if (v == "store")
      f.exporter = ExporterKind::store;
    else
      r.fail(ErrorCode::invalid_environment,
             "SKEIN_EXPORTER: expected automatic, none, console, file, otlp or store, got '" + *e +
                 "'");
  } else if (auto t = env(EnvVar::otel_traces_exporter)) {
    std::string v = lower(trim(*t));
    if (v == "otlp")
      f.exporter = ExporterKind::otlp;
    else if (v == "console")
      f.exporter = ExporterKind::console;
    else if (v == "none")
      f.exporter = ExporterKind::none;
    else
      r.fail(ErrorCode::invalid_environment,
             "OTEL_TRACES_EXPORTER: expected otlp, console or none, got '" + *t + "'");
  }
  if (Error otlp_error = detail::finalize_otlp(o.otlp, f.api_key, f.api_url, f.otlp); otlp_error) {
    r.fail(otlp_error.code, otlp_error.message);
  }
  if (f.exporter == ExporterKind::automatic && f.otlp.endpoint_configured) {
    f.exporter = ExporterKind::otlp;
  }
  f.file_path = r.str(o.file_path, {EnvVar::skein_file_path}, "skein-traces.jsonl");
  f.store_path = r.str(o.store_path, {EnvVar::skein_store_path}, "");
  f.exporters = o.exporters;
  for (const auto& e : f.exporters) {
    if (!e) r.fail(ErrorCode::invalid_option, "exporters must not contain a null exporter");
  }
  f.sampler = o.sampler ? o.sampler : detail::sampler_from_environment(error);
  f.disabled = r.boolean(o.disabled, {EnvVar::skein_disabled, EnvVar::otel_sdk_disabled}, false);

  constexpr std::uint32_t kMax = 1u << 24;
  f.max_attributes =
      r.number(o.limits.max_attributes,
               {EnvVar::skein_span_attribute_count_limit, EnvVar::otel_span_attribute_count_limit},
               1024, 1, kMax, "limits.max_attributes");
  f.max_events =
      r.number(o.limits.max_events,
               {EnvVar::skein_span_event_count_limit, EnvVar::otel_span_event_count_limit}, 1024, 0,
               kMax, "limits.max_events");
  f.max_links = r.number(o.limits.max_links,
                         {EnvVar::skein_span_link_count_limit, EnvVar::otel_span_link_count_limit},
                         128, 0, kMax, "limits.max_links");
  f.max_value_length = r.number(
      o.limits.max_value_length,
      {EnvVar::skein_attribute_value_length_limit, EnvVar::otel_attribute_value_length_limit},
      65536, 1, 1u << 30, "limits.max_value_length");
  f.thread_buffer_spans = r.number(o.thread_buffer_spans, {EnvVar::skein_thread_buffer_spans}, 8192,
                                   1, 1u << 20, "thread_buffer_spans");
  auto ms = [](const std::optional<std::chrono::milliseconds>& d) -> std::optional<std::uint32_t> {
    if (!d) return std::nullopt;
    auto c = d->count();
    return c < 0 ? 0u : static_cast<std::uint32_t>(std::min<long long>(c, 0xffffffffLL));
  };
  f.flush_interval = std::chrono::milliseconds(r.number(
      ms(o.flush_interval), {EnvVar::skein_flush_interval_ms}, 20, 1, 60000, "flush_interval"));
  f.shutdown_timeout = std::chrono::milliseconds(r.number(ms(o.shutdown_timeout),
                                                          {EnvVar::skein_shutdown_timeout_ms}, 3000,
                                                          0, 600000, "shutdown_timeout"));
  f.tail_sampling = tail_sampling(o.tail_sampling, r);
  f.baggage_attributes = o.baggage_attributes;
  if (f.baggage_attributes.empty()) {
    if (auto e = env(EnvVar::skein_baggage_attributes)) {
      std::string_view list = *e;
      while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string key = trim(list.substr(0, comma));
        if (!key.empty()) f.baggage_attributes.push_back(std::move(key));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
    }
  }
  f.make_default = o.make_default.value_or(true);
  return f;
}

}  // namespace skein
