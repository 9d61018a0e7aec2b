// Ids as hex, enum names, samplers, core attributes and owned copies of spans.
#include <cmath>
#include <cstring>
#include <sstream>

#include "hex.hpp"
#include "skein/exporter.hpp"
#include "skein/span.hpp"

namespace skein {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void put_hex(std::uint64_t v, char* out) {
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[v & 15];
    v >>= 4;
  }
}

bool parse_hex(std::string_view s, std::uint64_t& out) {
  return detail::parse_hex_u64(s, out, true);
}

}  // namespace

std::string TraceId::to_hex() const {
  std::string s(32, '0');
  put_hex(hi, s.data());
  put_hex(lo, s.data() + 16);
  return s;
}

TraceId TraceId::from_hex(std::string_view hex) noexcept {
  TraceId id;
  if (hex.size() != 32 || !parse_hex(hex.substr(0, 16), id.hi) ||
      !parse_hex(hex.substr(16), id.lo)) {
    return TraceId{};
  }
  return id;
}

std::string SpanId::to_hex() const {
  std::string s(16, '0');
  put_hex(value, s.data());
  return s;
}

SpanId SpanId::from_hex(std::string_view hex) noexcept {
  SpanId id;
  if (hex.size() != 16 || !parse_hex(hex, id.value)) return SpanId{};
  return id;
}

std::string_view to_string(EventType type) noexcept {
  switch (type) {
    case EventType::model: return "model";
    case EventType::tool: return "tool";
    case EventType::chain: return "chain";
    case EventType::session: return "session";
    case EventType::generic: break;
  }
  return "generic";
}

std::string_view to_string(SpanKind kind) noexcept {
  switch (kind) {
    case SpanKind::server: return "server";
    case SpanKind::client: return "client";
    case SpanKind::producer: return "producer";
    case SpanKind::consumer: return "consumer";
    case SpanKind::internal: break;
  }
  return "internal";
}

// ---- core attributes -------------------------------------------------------------------------

namespace {
std::string_view openinference_kind(EventType t) {
  switch (t) {
    case EventType::model: return "LLM";
    case EventType::tool: return "TOOL";
    case EventType::chain: return "CHAIN";
    case EventType::session: return "AGENT";
    case EventType::generic: break;
  }
  return "CHAIN";
}
}  // namespace

bool is_core_attribute_key(std::string_view k) noexcept {
  static constexpr std::string_view kCore[] = {"honeyhive_event_type",  "honeyhive_event_name",
                                               "honeyhive.project",     "honeyhive.source",
                                               "honeyhive.session_id",  "session.id",
                                               "honeyhive_duration_ms", "openinference.span.kind",
                                               "sampling.probability",  "skein.truncated_values"};
  // Keys of any other length are ruled out with one test.
  static constexpr std::uint64_t kLengths = [] {
    std::uint64_t m = 0;
    for (std::string_view c : kCore) m |= std::uint64_t{1} << c.size();
    return m;
  }();
  if (k.size() >= 64 || ((kLengths >> k.size()) & 1) == 0) return false;
  for (std::string_view c : kCore) {
    if (k == c) return true;
  }
  return false;
}

CoreAttributes core_attributes(const SpanView& s) noexcept {
  CoreAttributes c;
  auto add = [&](std::string_view k, AttrValue v) { c.items[c.size++] = Attribute{k, v}; };
  add("honeyhive_event_type", AttrValue(to_string(s.event_type)));
  add("honeyhive_event_name", AttrValue(s.name));
  if (s.resource != nullptr) {
    add("honeyhive.project", AttrValue(std::string_view(s.resource->project)));
    add("honeyhive.source", AttrValue(std::string_view(s.resource->source)));
    // A span inside a session (skein/session.hpp) carries its own `session.id`: that one is the
    // HoneyHive session, not the tracer-wide one.
    const Attribute* own = nullptr;
    for (const Attribute& a : s.attributes) {
      if (a.key.size() == 10 && a.key == "session.id" &&
          a.value.type() == AttrValue::Type::string) {
        own = &a;
      }
    }
    if (own != nullptr) {
      add("honeyhive.session_id", own->value);
    } else {
      add("honeyhive.session_id", AttrValue(std::string_view(s.resource->session_id)));
      add("session.id", AttrValue(std::string_view(s.resource->session_id)));
    }
  }
  double ms = static_cast<double>(s.end_unix_nano - s.start_unix_nano) / 1e6;
  add("honeyhive_duration_ms", AttrValue(ms));
  add("openinference.span.kind", AttrValue(openinference_kind(s.event_type)));
  if (s.sampling_probability >= 0) add("sampling.probability", AttrValue(s.sampling_probability));
  if (s.truncated_values > 0) {
    add("skein.truncated_values", AttrValue(static_cast<std::int64_t>(s.truncated_values)));
  }
  // OTLP keys are unique: a user attribute with a core key wins (for example a per-request
  // session id), and the core one is left out.
  bool maybe = false;
  for (const Attribute& a : s.attributes) {
    if (is_core_attribute_key(a.key)) {
      maybe = true;
      break;
    }
  }
  if (maybe) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < c.size; ++i) {
      bool shadowed = false;
      for (const Attribute& a : s.attributes) {
        if (a.key == c.items[i].key) {
          shadowed = true;
          break;
        }
      }
      if (!shadowed) c.items[kept++] = c.items[i];
    }
    c.size = kept;
  }
  return c;
}

// ---- owned copies ------------------------------------------------------------------------------

OwnedValue to_owned(const AttrValue& v) {
  switch (v.type()) {
    case AttrValue::Type::empty: return std::monostate{};
    case AttrValue::Type::boolean: return v.as_bool();
    case AttrValue::Type::int64: return v.as_int();
    case AttrValue::Type::float64: return v.as_double();
    case AttrValue::Type::string: return std::string(v.as_string());
    case AttrValue::Type::bool_array: return std::vector<bool>(v.bools().begin(), v.bools().end());
    case AttrValue::Type::int64_array:
      return std::vector<std::int64_t>(v.ints().begin(), v.ints().end());
    case AttrValue::Type::float64_array:
      return std::vector<double>(v.doubles().begin(), v.doubles().end());
    case AttrValue::Type::string_array: {
      std::vector<std::string> out;
      for (auto s : v.strings()) out.emplace_back(s);
      return out;
    }
  }
  return std::monostate{};
}

namespace {
std::vector<std::pair<std::string, OwnedValue>> own(std::span<const Attribute> attrs) {
  std::vector<std::pair<std::string, OwnedValue>> out;
  out.reserve(attrs.size());
  for (const auto& a : attrs) out.emplace_back(std::string(a.key), to_owned(a.value));
  return out;
}
}  // namespace

SpanData to_span_data(const SpanView& v) {
  SpanData d;
  d.trace_id = v.trace_id;
  d.span_id = v.span_id;
  d.parent_span_id = v.parent_span_id;
  d.flags = v.flags;
  d.parent_remote = v.parent_remote;
  d.trace_state = v.trace_state;
  d.name = v.name;
  d.status_message = v.status_message;
  d.kind = v.kind;
  d.event_type = v.event_type;
  d.status = v.status;
  d.start_unix_nano = v.start_unix_nano;
  d.end_unix_nano = v.end_unix_nano;
  CoreAttributes core = core_attributes(v);
  d.attributes = own(core.view());
  auto user = own(v.attributes);
  d.attributes.insert(d.attributes.end(), std::make_move_iterator(user.begin()),
                      std::make_move_iterator(user.end()));
  for (const auto& e : v.events)
    d.events.push_back({std::string(e.name), e.time_unix_nano, own(e.attributes)});
  for (const auto& l : v.links)
    d.links.push_back({l.trace_id, l.span_id, own(l.attributes), std::string(l.trace_state)});
  d.dropped_attributes = v.dropped_attributes;
  d.dropped_events = v.dropped_events;
  d.dropped_links = v.dropped_links;
  return d;
}

const OwnedValue* SpanData::attribute(std::string_view key) const noexcept {
  // The last one wins, as on the wire.
  for (auto it = attributes.rbegin(); it != attributes.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

std::optional<std::string> SpanData::string_attribute(std::string_view key) const {
  const OwnedValue* v = attribute(key);
  if (v != nullptr && std::holds_alternative<std::string>(*v)) return std::get<std::string>(*v);
  return std::nullopt;
}
std::optional<std::int64_t> SpanData::int_attribute(std::string_view key) const {
  const OwnedValue* v = attribute(key);
  if (v != nullptr && std::holds_alternative<std::int64_t>(*v)) return std::get<std::int64_t>(*v);
  return std::nullopt;
}
std::optional<double> SpanData::double_attribute(std::string_view key) const {
  const OwnedValue* v = attribute(key);
  if (v != nullptr && std::holds_alternative<double>(*v)) return std::get<double>(*v);
  return std::nullopt;
}
std::optional<bool> SpanData::bool_attribute(std::string_view key) const {
  const OwnedValue* v = attribute(key);
  if (v != nullptr && std::holds_alternative<bool>(*v)) return std::get<bool>(*v);
  return std::nullopt;
}

}  // namespace skein
