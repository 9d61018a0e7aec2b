#include "collector/api.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>

#include "store/json_writer.hpp"

namespace skein::collector {

using store::json_double;
using store::json_string;
using store::json_uint;

namespace {

void field(std::string& o, const char* k) {
  if (o.back() != '{') o += ',';
  json_string(o, k);
  o += ':';
}
void str(std::string& o, const char* k, const std::string& v) {
  field(o, k);
  json_string(o, v);
}
void num(std::string& o, const char* k, std::uint64_t v) {
  field(o, k);
  json_uint(o, v);
}
void ms(std::string& o, const char* k, double v) {
  field(o, k);
  json_double(o, v);
}
// Nanosecond times as a decimal string (exact) and as milliseconds (for arithmetic in JS).
void time(std::string& o, const char* k_ns, const char* k_ms, std::uint64_t ns) {
  field(o, k_ns);
  o += '"';
  json_uint(o, ns);
  o += '"';
  ms(o, k_ms, static_cast<double>(ns) / 1e6);
}
void raw(std::string& o, const char* k, const std::string& json) {
  field(o, k);
  o += json.empty() ? "{}" : json;
}

void span_json(std::string& o, const store::StoredSpan& s) {
  o += '{';
  str(o, "trace_id", s.trace_id);
  str(o, "span_id", s.span_id);
  str(o, "parent_span_id", s.parent_span_id);
  str(o, "name", s.name);
  num(o, "kind", static_cast<std::uint64_t>(s.kind));
  time(o, "start_ns", "start_ms", s.start_ns);
  ms(o, "duration_ms", static_cast<double>(s.end_ns - s.start_ns) / 1e6);
  num(o, "status", static_cast<std::uint64_t>(s.status));
  str(o, "status_message", s.status_message);
  str(o, "service", s.service);
  str(o, "session_id", s.session_id);
  str(o, "user_id", s.user_id);
  str(o, "event_type", s.event_type);
  str(o, "scope_name", s.scope_name);
  str(o, "scope_version", s.scope_version);
  str(o, "trace_state", s.trace_state);
  num(o, "flags", s.flags);
  num(o, "dropped_attributes", s.dropped_attributes);
  num(o, "dropped_events", s.dropped_events);
  num(o, "dropped_links", s.dropped_links);
  raw(o, "attributes", s.attributes_json);
  raw(o, "resource", s.resource_json);
  field(o, "events");
  o += '[';
  for (std::size_t i = 0; i < s.events.size(); ++i) {
    if (i) o += ',';
    o += '{';
    str(o, "name", s.events[i].name);
    time(o, "time_ns", "time_ms", s.events[i].time_ns);
    raw(o, "attributes", s.events[i].attributes_json);
    o += '}';
  }
  o += ']';
  field(o, "links");
  o += '[';
  for (std::size_t i = 0; i < s.links.size(); ++i) {
    if (i) o += ',';
    o += '{';
    str(o, "trace_id", s.links[i].trace_id);
    str(o, "span_id", s.links[i].span_id);
    str(o, "trace_state", s.links[i].trace_state);
    num(o, "flags", s.links[i].flags);
    raw(o, "attributes", s.links[i].attributes_json);
    o += '}';
  }
  o += "]}";
}

}  // namespace

std::string traces_json(const std::vector<store::TraceSummary>& traces) {
  std::string o = "{\"traces\":[";
  for (std::size_t i = 0; i < traces.size(); ++i) {
    const auto& t = traces[i];
    if (i) o += ',';
    o += '{';
    str(o, "trace_id", t.trace_id);
    str(o, "root_span_id", t.root_span_id);
    str(o, "name", t.root_name);
    str(o, "service", t.service);
    str(o, "session_id", t.session_id);
    str(o, "user_id", t.user_id);
    time(o, "start_ns", "start_ms", t.start_ns);
    ms(o, "duration_ms", static_cast<double>(t.end_ns - t.start_ns) / 1e6);
    num(o, "span_count", t.span_count);
    num(o, "error_count", t.error_count);
    field(o, "complete");
    o += t.has_true_root ? "true" : "false";
    o += '}';
  }
  return o + "]}";
}

std::string trace_json(const std::vector<store::StoredSpan>& spans) {
  std::string o = "{";
  str(o, "trace_id", spans.empty() ? std::string() : spans.front().trace_id);
  field(o, "spans");
  o += '[';
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i) o += ',';
    span_json(o, spans[i]);
  }
  return o + "]}";
}

std::string sessions_json(const std::vector<store::SessionSummary>& sessions) {
  std::string o = "{\"sessions\":[";
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    const auto& s = sessions[i];
    if (i) o += ',';
    o += '{';
    str(o, "session_id", s.session_id);
    str(o, "service", s.service);
    str(o, "user_id", s.user_id);
    time(o, "start_ns", "start_ms", s.start_ns);
    ms(o, "duration_ms", static_cast<double>(s.end_ns - s.start_ns) / 1e6);
    num(o, "span_count", s.span_count);
    num(o, "error_count", s.error_count);
    num(o, "trace_count", s.trace_count);
    o += '}';
  }
  return o + "]}";
}

std::string session_json(const std::string& id, const std::vector<store::StoredSpan>& spans) {
  std::string o = "{";
  str(o, "session_id", id);
  field(o, "spans");
  o += '[';
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i) o += ',';
    span_json(o, spans[i]);
  }
  return o + "]}";
}

std::string stats_json(const store::StoreStats& s, const std::string& live_extra) {
  std::string o = "{";
  str(o, "path", s.path);
  num(o, "requests", s.counters.requests);
  num(o, "requests_failed", s.counters.requests_failed);
  num(o, "spans_accepted", s.counters.spans_accepted);
  num(o, "spans_rejected", s.counters.spans_rejected);
  num(o, "spans_deleted", s.counters.spans_deleted);
  num(o, "bytes_received", s.counters.bytes_received);
  num(o, "spans_stored", s.spans_stored);
  num(o, "traces_stored", s.traces_stored);
  num(o, "sessions_stored", s.sessions_stored);
  num(o, "file_bytes", s.file_bytes);
  num(o, "used_bytes", s.used_bytes);
  if (!live_extra.empty()) {
    field(o, "server");
    o += live_extra;
  }
  return o + "}";
}

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::int64_t parse_duration_ns(const std::string& text) {
  if (text.empty()) return -1;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || v < 0) return -1;
  std::string unit(end);
  double mult = 1e6;  // milliseconds by default
  if (unit == "ns")
    mult = 1;
  else if (unit == "us")
    mult = 1e3;
  else if (unit == "ms" || unit.empty())
    mult = 1e6;
  else if (unit == "s")
    mult = 1e9;
  else if (unit == "m")
    mult = 60e9;
  else if (unit == "h")
    mult = 3600e9;
  else if (unit == "d")
    mult = 86400e9;
  else
    return -1;
  return static_cast<std::int64_t>(v * mult);
}

std::uint64_t parse_time_ns(const std::string& text, std::uint64_t now) {
  if (text.empty()) return 0;
  std::tm tm{};
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) >= 3 ||
      std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &sec) >= 3) {
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    auto t = timegm(&tm);
    return t < 0 ? 0 : static_cast<std::uint64_t>(t) * 1000000000ULL;
  }
  bool digits = !text.empty();
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  if (digits) return std::strtoull(text.c_str(), nullptr, 10) * 1000000000ULL;
  auto ago = parse_duration_ns(text);
  if (ago < 0 || static_cast<std::uint64_t>(ago) > now) return 0;
  return now - static_cast<std::uint64_t>(ago);
}

}  // namespace skein::collector
