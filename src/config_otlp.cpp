// finalize() for the OTLP exporter's options: code > environment > default, then validation.
// The environment variables are the OpenTelemetry ones (OTEL_EXPORTER_OTLP_*, OTEL_BSP_*), the
// signal-specific `*_TRACES_*` variable winning over the general one.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <initializer_list>

#include "env.hpp"
#include "skein/config.hpp"

namespace skein::detail {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct Setting {
  std::string value;
  std::string source;  // "Options::otlp.x" or the variable's name
  bool from_code = false;
};

std::optional<Setting> pick(const std::optional<std::string>& code, std::string_view field,
                            std::initializer_list<EnvVar> vars) {
  if (code) return Setting{*code, "Options::otlp." + std::string(field), true};
  for (EnvVar v : vars) {
    if (auto e = env(v)) return Setting{*e, std::string(env_name(v)), false};
  }
  return std::nullopt;
}

std::optional<std::string> ms_text(const std::optional<std::chrono::milliseconds>& d) {
  if (!d) return std::nullopt;
  return std::to_string(d->count());
}

std::optional<std::string> u32_text(const std::optional<std::uint32_t>& v) {
  if (!v) return std::nullopt;
  return std::to_string(*v);
}

bool is_token_char(unsigned char c) {
  // RFC 9110 tchar.
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    int h = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
    int l = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
    if (h < 0 || l < 0) return false;
    out += static_cast<char>(h * 16 + l);
    i += 2;
  }
  return true;
}

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

class Finalizer {
 public:
  explicit Finalizer(Error& e) : error_(e) {}

  void fail(const Setting& s, const std::string& what) {
    if (error_) return;
    error_ = Error{s.from_code ? ErrorCode::invalid_option : ErrorCode::invalid_environment,
                   s.source + ": " + what + ", got '" + s.value + "'"};
  }
  void fail(ErrorCode code, std::string message) {
    if (!error_) error_ = Error{code, std::move(message)};
  }

  // A whole number in [lo, hi].
  std::uint32_t number(const std::optional<Setting>& s, std::uint32_t fallback, std::uint32_t lo,
                       std::uint32_t hi) {
    if (!s) return fallback;
    std::string_view t = trim(s->value);
    std::uint32_t v = 0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || v < lo || v > hi) {
      fail(*s,
           "expected a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      return fallback;
    }
    return v;
  }

  bool url(const Setting& s) {
    std::string l = lower(trim(s.value));
    bool ok =
        (l.starts_with("http://") && l.size() > 7) || (l.starts_with("https://") && l.size() > 8);
    for (char c : s.value) ok = ok && static_cast<unsigned char>(c) > 0x20;
    if (!ok) fail(s, "expected an http:// or https:// URL");
    return ok;
  }

  // key=value,key2=value2 with percent-encoded values; adds the keys `out` does not have.
  void headers(const Setting& s, std::vector<std::pair<std::string, std::string>>& out) {
    std::string_view text = s.value;
    while (!text.empty()) {
      std::size_t comma = text.find(',');
      std::string_view item = trim(text.substr(0, comma));
      text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
      if (item.empty()) continue;
      std::size_t eq = item.find('=');
      std::string key, value;
      if (eq == std::string_view::npos || !percent_decode(trim(item.substr(0, eq)), key) ||
          !percent_decode(trim(item.substr(eq + 1)), value) || !valid_header(key, value)) {
        fail(s, "expected key=value,... (percent-encoded) with valid header names and values");
        return;
      }
      add_header(out, std::move(key), std::move(value));
    }
  }

  static bool valid_header(std::string_view key, std::string_view value) {
    if (key.empty()) return false;
    for (unsigned char c : key) {
      if (!is_token_char(c)) return false;
    }
    for (unsigned char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') return false;
    }
    return true;
  }

  static void add_header(std::vector<std::pair<std::string, std::string>>& out, std::string key,
                         std::string value) {
    for (const auto& kv : out) {
      if (equal_nocase(kv.first, key)) return;
    }
    out.emplace_back(std::move(key), std::move(value));
  }

 private:
  Error& error_;
};

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Error finalize_otlp(const OtlpOptions& o, const std::string& api_key, const std::string& api_url,
                    FinalizedOtlp& f) {
  Error error;
  Finalizer r(error);
  f = FinalizedOtlp{};

  // Endpoint.
  if (auto s = pick(o.endpoint, "endpoint", {EnvVar::otel_exporter_otlp_traces_endpoint})) {
    if (r.url(*s)) f.endpoint = std::string(trim(s->value));
    f.endpoint_configured = true;
  } else if (auto base = pick(std::nullopt, "", {EnvVar::otel_exporter_otlp_endpoint})) {
    if (r.url(*base)) f.endpoint = strip_slash(std::string(trim(base->value))) + "/v1/traces";
    f.endpoint_configured = true;
  } else if (!api_key.empty() && !api_url.empty()) {
    Setting s{api_url, "api_url (SKEIN_API_URL, HH_API_URL)", false};
    if (r.url(s)) f.endpoint = strip_slash(std::string(trim(api_url))) + "/opentelemetry/v1/traces";
    f.endpoint_configured = true;
  }

  // Protocol.
  std::optional<std::string> proto_code;
  if (o.protocol)
    proto_code = *o.protocol == OtlpProtocol::http_json ? "http/json" : "http/protobuf";
  if (auto s =
          pick(proto_code, "protocol",
               {EnvVar::otel_exporter_otlp_traces_protocol, EnvVar::otel_exporter_otlp_protocol})) {
    std::string v = lower(trim(s->value));
    if (v == "http/protobuf")
      f.protocol = OtlpProtocol::http_protobuf;
    else if (v == "http/json")
      f.protocol = OtlpProtocol::http_json;
    else if (v == "grpc")
      r.fail(*s, "grpc is not supported; expected http/protobuf or http/json");
    else
      r.fail(*s, "expected http/protobuf or http/json");
  }

  // Headers: code first, then the variables add what code did not set.
  for (const auto& [k, v] : o.headers) {
    if (!Finalizer::valid_header(k, v)) {
      r.fail(ErrorCode::invalid_option, "Options::otlp.headers: invalid header '" + k +
                                            "' (a token name, no CR or LF in the value)");
    }
    Finalizer::add_header(f.headers, k, v);
  }
  for (EnvVar var :
       {EnvVar::otel_exporter_otlp_traces_headers, EnvVar::otel_exporter_otlp_headers}) {
    if (auto e = env(var)) r.headers(Setting{*e, std::string(env_name(var)), false}, f.headers);
  }
  if (!api_key.empty()) {
    for (char c : api_key) {
      if (c == '\r' || c == '\n' || c == '\0') {
        r.fail(ErrorCode::invalid_option, "api_key must not contain CR, LF or NUL");
        break;
      }
    }
    Finalizer::add_header(f.headers, "Authorization", "Bearer " + api_key);
  }

  // Compression.
  std::optional<std::string> comp_code;
  if (o.compression) comp_code = *o.compression == OtlpCompression::gzip ? "gzip" : "none";
  if (auto s = pick(comp_code, "compression",
                    {EnvVar::otel_exporter_otlp_traces_compression,
                     EnvVar::otel_exporter_otlp_compression})) {
    std::string v = lower(trim(s->value));
    if (v == "gzip")
      f.compression = OtlpCompression::gzip;
    else if (v == "none")
      f.compression = OtlpCompression::none;
    else
      r.fail(*s, "expected gzip or none");
  }

  // Times and sizes.
  constexpr std::uint32_t kHour = 3600 * 1000;
  f.timeout = std::chrono::milliseconds(r.number(
      pick(ms_text(o.timeout), "timeout",
           {EnvVar::otel_exporter_otlp_traces_timeout, EnvVar::otel_exporter_otlp_timeout}),
      10000, 1, kHour));
  auto batch = pick(u32_text(o.max_export_batch_size), "max_export_batch_size",
                    {EnvVar::otel_bsp_max_export_batch_size});
  auto queue =
      pick(u32_text(o.max_queue_size), "max_queue_size", {EnvVar::otel_bsp_max_queue_size});
  f.max_export_batch_size = r.number(batch, 512, 1, 1u << 20);
  f.max_queue_size = r.number(queue, 2048, 1, 1u << 24);
  if (!error && f.max_export_batch_size > f.max_queue_size) {
    if (!batch && queue) {
      f.max_export_batch_size = f.max_queue_size;  // only the queue was set: the batch follows it
    } else {
      r.fail(ErrorCode::invalid_option,
             "max_export_batch_size (" + std::to_string(f.max_export_batch_size) +
                 ", OTEL_BSP_MAX_EXPORT_BATCH_SIZE) must not exceed max_queue_size (" +
                 std::to_string(f.max_queue_size) + ", OTEL_BSP_MAX_QUEUE_SIZE)");
    }
  }
  f.schedule_delay = std::chrono::milliseconds(
      r.number(pick(ms_text(o.schedule_delay), "schedule_delay", {EnvVar::otel_bsp_schedule_delay}),
               5000, 0, kHour));
  f.export_timeout = std::chrono::milliseconds(
      r.number(pick(ms_text(o.export_timeout), "export_timeout", {EnvVar::otel_bsp_export_timeout}),
               30000, 1, kHour));
  f.retry_initial_backoff = std::chrono::milliseconds(
      r.number(pick(ms_text(o.retry_initial_backoff), "retry_initial_backoff",
                    {EnvVar::skein_otlp_retry_initial_backoff_ms}),
               1000, 1, kHour));
  f.retry_max_backoff =
      std::chrono::milliseconds(r.number(pick(ms_text(o.retry_max_backoff), "retry_max_backoff",
                                              {EnvVar::skein_otlp_retry_max_backoff_ms}),
                                         5000, 1, kHour));
  if (f.retry_max_backoff < f.retry_initial_backoff) f.retry_max_backoff = f.retry_initial_backoff;
  return error;
}

}  // namespace skein::detail
