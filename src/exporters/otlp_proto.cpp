// OTLP protobuf encoding of ExportTraceServiceRequest, straight from SpanViews with protozero.
//
// A span is written in one pass into the output buffer (see SpanEncoder); protozero provides the
// varint primitives and writes the request head. Field numbers and wire types follow
// opentelemetry-proto:
//
//   ExportTraceServiceRequest  resource_spans=1
//   ResourceSpans              resource=1 scope_spans=2
//   Resource                   attributes=1
//   ScopeSpans                 scope=1 spans=2
//   InstrumentationScope       name=1 version=2
//   Span                       trace_id=1 span_id=2 trace_state=3 parent_span_id=4 name=5
//                              kind=6 start_time_unix_nano=7 (fixed64) end_time_unix_nano=8
//                              (fixed64) attributes=9 dropped_attributes_count=10 events=11
//                              dropped_events_count=12 links=13 dropped_links_count=14 status=15
//                              flags=16 (fixed32)
//   Span.Event                 time_unix_nano=1 (fixed64) name=2 attributes=3
//   Span.Link                  trace_id=1 span_id=2 trace_state=3 attributes=4 flags=6 (fixed32)
//   Status                     message=2 code=3
//   KeyValue                   key=1 value=2
//   AnyValue                   string_value=1 bool_value=2 int_value=3 double_value=4
//                              array_value=5
//   ArrayValue                 values=1
#include <bit>
#include <cassert>
#include <cstring>

#include <protozero/pbf_writer.hpp>
#include <protozero/varint.hpp>

#include "otlp_encode.hpp"
#include "skein/otlp.hpp"

namespace skein {
namespace detail::otlp {
namespace {

using Writer = protozero::pbf_writer;

thread_local std::string t_scratch;  // repaired UTF-8, when a string needs it

std::size_t varint_size(std::uint64_t v) noexcept {
  return static_cast<std::size_t>(protozero::length_of_varint(v));
}
// A length-delimited field with a one-byte tag (field numbers below 16).
std::size_t len_field(std::size_t n) noexcept {
  return 1 + varint_size(n) + n;
}

std::size_t text_size(std::string_view s) {
  return utf8_clean(s, t_scratch).size();
}

void add_text(Writer& w, protozero::pbf_tag_type tag, std::string_view s) {
  std::string_view clean = utf8_clean(s, t_scratch);
  w.add_string(tag, clean.data(), clean.size());
}

// Tags (field number << 3 | wire type) of the fields a span uses; all below 16 but flags.
constexpr char tag_len(int field) {
  return static_cast<char>((field << 3) | 2);
}
constexpr char tag_varint(int field) {
  return static_cast<char>(field << 3);
}
constexpr char tag_fixed64(int field) {
  return static_cast<char>((field << 3) | 1);
}
constexpr char tag_fixed32(int field) {
  return static_cast<char>((field << 3) | 5);
}

// Copies `n` bytes and returns the OR of all of them (in 64-bit words): the caller learns
// whether any byte was non-ASCII without a second pass. Overlapping loads cover the tail, so that
// nothing is read or written outside the two ranges.
inline std::uint64_t copy_or(char* dst, const char* src, std::size_t n) noexcept {
  std::uint64_t high = 0;
  if (n >= 8) {
    std::uint64_t w;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::memcpy(&w, src + i, 8);
      std::memcpy(dst + i, &w, 8);
      high |= w;
    }
    if (i < n) {
      std::memcpy(&w, src + n - 8, 8);
      std::memcpy(dst + n - 8, &w, 8);
      high |= w;
    }
  } else if (n >= 4) {
    std::uint32_t x, y;
    std::memcpy(&x, src, 4);
    std::memcpy(&y, src + n - 4, 4);
    std::memcpy(dst, &x, 4);
    std::memcpy(dst + n - 4, &y, 4);
    high = x | y;
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      dst[i] = src[i];
      high |= static_cast<unsigned char>(src[i]);
    }
  }
  return high;
}

// One span in one pass, straight into the output buffer.
//
// A first, cheap loop bounds the size; the buffer grows by that bound, the span is written, and
// the buffer is cut to what was written. Each length-delimited field reserves one byte for its
// length (two for the span itself) and fills it in when its content is written; in the rare case
// that the length needs more bytes, the content moves up (the bound leaves room for that).
// Strings are copied as they are, noting whether any byte was non-ASCII; only then are they
// checked for valid UTF-8, and a span with an invalid one is written again in `repair` mode,
// every string through utf8_clean.
//
// The core attributes (core_attributes()) that are the same for every span of a resource
// (project, source, session id) or of an event type (event type, OpenInference kind) are encoded
// once and copied (`Blobs`): with the general path they were half of a span's instructions. A
// span takes the general path when a user attribute may shadow a core one, or for repair.
class SpanEncoder {
 public:
  void encode(std::string& out, const SpanView& s, bool allow_fast = true) {
    const bool fast = allow_fast && fast_core(s);
    CoreAttributes core;
    if (!fast) core = core_attributes(s);
    repair_ = false;
    high_ = fast ? blobs_.high : 0;
    const std::size_t old = out.size();
    write(out, old, s, core.view(), fast);
    if ((high_ & 0x8080808080808080ULL) != 0) {
      if (fast) core = core_attributes(s);
      if (!all_valid(s, core.view())) {
        repair_ = true;
        out.resize(old);
        write(out, old, s, core.view(), false);
      }
    }
  }

 private:
  // ---- core attributes encoded once ----

  static constexpr std::size_t kEventTypes = 5;  // EventType's values
  struct Blobs {
    const Resource* resource = nullptr;
    std::string project, source, session;  // what `res` was made from
    std::string res;  // honeyhive.project, honeyhive.source, honeyhive.session_id, session.id
    std::string type[kEventTypes], kind[kEventTypes];  // honeyhive_event_type, openinference kind
    std::uint64_t high = 0;                            // OR of their string bytes
    bool ok = false;
  };

  // True when `s` can take its core attributes from the blobs (made or remade here).
  bool fast_core(const SpanView& s) {
    if (s.resource == nullptr || static_cast<std::size_t>(s.event_type) >= kEventTypes)
      return false;
    // A user attribute with a core key shadows the core one (and a session's own session.id
    // replaces the resource's): the general path handles those.
    for (const Attribute& a : s.attributes) {
      if (is_core_attribute_key(a.key)) return false;
    }
    const Resource& r = *s.resource;
    if (blobs_.resource != &r || blobs_.project != r.project || blobs_.source != r.source ||
        blobs_.session != r.session_id) {
      make_blobs(r);
    }
    return blobs_.ok;
  }

  // The blobs from core_attributes() itself, so that both paths write the same bytes.
  void make_blobs(const Resource& r) {
    blobs_ = Blobs{};
    blobs_.resource = &r;
    blobs_.project = r.project;
    blobs_.source = r.source;
    blobs_.session = r.session_id;
    static constexpr std::string_view kKeys[] = {
        "honeyhive_event_type",  "honeyhive_event_name",   "honeyhive.project",
        "honeyhive.source",      "honeyhive.session_id",   "session.id",
        "honeyhive_duration_ms", "openinference.span.kind"};
    const bool repair = repair_;
    const std::uint64_t high = high_;
    repair_ = false;
    high_ = 0;
    bool ok = true;
    for (std::size_t t = 0; t < kEventTypes && ok; ++t) {
      SpanView v;
      v.resource = &r;
      v.event_type = static_cast<EventType>(t);
      const CoreAttributes c = core_attributes(v);
      ok = c.size == std::size(kKeys);
      for (std::size_t i = 0; ok && i < c.size; ++i) ok = c.items[i].key == kKeys[i];
      if (!ok) break;
      blobs_.type[t] = encoded({&c.items[0], 1});
      blobs_.kind[t] = encoded({&c.items[7], 1});
      if (t == 0) blobs_.res = encoded({&c.items[2], 4});
    }
    blobs_.high = high_;
    blobs_.ok = ok;
    repair_ = repair;
    high_ = high;
  }

  std::string encoded(std::span<const Attribute> attrs) {
    std::string b(attrs_bound(attrs), '\0');
    char* end = put_attrs(b.data(), tag_len(9), attrs);
    b.resize(static_cast<std::size_t>(end - b.data()));
    return b;
  }

  static char* put_blob(char* p, const std::string& b) noexcept {
    std::memcpy(p, b.data(), b.size());
    return p + b.size();
  }

  std::size_t fast_core_bound(const SpanView& s) const {
    const auto t = static_cast<std::size_t>(s.event_type);
    // The written ones: honeyhive_event_name (48 bytes of framing and key, plus the name), and
    // at most three numbers (under 40 bytes each).
    return blobs_.res.size() + blobs_.type[t].size() + blobs_.kind[t].size() + 48 + text(s.name) +
           3 * 64;
  }

  // core_attributes() in its order: the blobs, and the values of this span written here (keep
  // both in step; Otlp.ProtobufCoreAttributesFastPathWritesTheGeneralPathsBytes checks it).
  char* put_core_fast(char* p, const SpanView& s) {
    const auto t = static_cast<std::size_t>(s.event_type);
    p = put_blob(p, blobs_.type[t]);
    const Attribute name{"honeyhive_event_name", AttrValue(s.name)};
    p = put_attrs(p, tag_len(9), {&name, 1});
    p = put_blob(p, blobs_.res);
    const double ms = static_cast<double>(s.end_unix_nano - s.start_unix_nano) / 1e6;
    const Attribute duration{"honeyhive_duration_ms", AttrValue(ms)};
    p = put_attrs(p, tag_len(9), {&duration, 1});
    p = put_blob(p, blobs_.kind[t]);
    if (s.sampling_probability >= 0) {
      const Attribute a{"sampling.probability", AttrValue(s.sampling_probability)};
      p = put_attrs(p, tag_len(9), {&a, 1});
    }
    if (s.truncated_values > 0) {
      const Attribute a{"skein.truncated_values",
                        AttrValue(static_cast<std::int64_t>(s.truncated_values))};
      p = put_attrs(p, tag_len(9), {&a, 1});
    }
    return p;
  }

  void write(std::string& out, std::size_t old, const SpanView& s, std::span<const Attribute> core,
             bool fast) {
    const std::size_t bound = span_bound(s, fast ? fast_core_bound(s) : attrs_bound(core));
    out.resize(old + bound);
    char* const start = out.data() + old;
    char* p = start;
    *p++ = tag_len(2);  // ScopeSpans.spans
    char* len = p;
    p += 2;  // most spans are 128 bytes to 16 KiB long: a two-byte length
    p = put_span(p, s, core, fast);
    p = close_span(len, p);
    assert(static_cast<std::size_t>(p - start) <= bound);
    out.resize(old + static_cast<std::size_t>(p - start));
  }

  // ---- UTF-8 (only when a non-ASCII byte was seen) ----

  static bool attrs_valid(std::span<const Attribute> attrs) {
    for (const Attribute& a : attrs) {
      if (!utf8_valid(a.key)) return false;
      if (a.value.type() == AttrValue::Type::string && !utf8_valid(a.value.as_string()))
        return false;
      if (a.value.type() == AttrValue::Type::string_array) {
        for (std::string_view x : a.value.strings()) {
          if (!utf8_valid(x)) return false;
        }
      }
    }
    return true;
  }

  static bool all_valid(const SpanView& s, std::span<const Attribute> core) {
    if (!utf8_valid(s.name) || !utf8_valid(s.trace_state) || !utf8_valid(s.status_message))
      return false;
    if (!attrs_valid(core) || !attrs_valid(s.attributes)) return false;
    for (const EventView& e : s.events) {
      if (!utf8_valid(e.name) || !attrs_valid(e.attributes)) return false;
    }
    for (const LinkView& l : s.links) {
      if (!utf8_valid(l.trace_state) || !attrs_valid(l.attributes)) return false;
    }
    return true;
  }

  // ---- the bound: content plus room for every tag and length ----

  std::size_t text(std::string_view s) const {
    return (repair_ ? 3 * s.size() : s.size()) + 16;  // U+FFFD is 3 bytes
  }

  std::size_t value_bound(const AttrValue& v) {
    using T = AttrValue::Type;
    std::size_t n = 16;
    switch (v.type()) {
      case T::string: n += text(v.as_string()); break;
      case T::bool_array: n += 16 * v.bools().size(); break;
      case T::int64_array: n += 16 * v.ints().size(); break;
      case T::float64_array: n += 16 * v.doubles().size(); break;
      case T::string_array:
        for (std::string_view x : v.strings()) n += text(x) + 16;
        break;
      default: n += 16; break;
    }
    return n;
  }

  std::size_t attrs_bound(std::span<const Attribute> attrs) {
    std::size_t n = 0;
    for (const Attribute& a : attrs) n += 16 + text(a.key) + value_bound(a.value);
    return n;
  }

  std::size_t span_bound(const SpanView& s, std::size_t core_bound) {
    std::size_t n = 128 + text(s.name) + core_bound + attrs_bound(s.attributes);
    if (!s.trace_state.empty()) n += text(s.trace_state);
    if (!s.status_message.empty()) n += text(s.status_message);
    for (const EventView& e : s.events) n += 32 + text(e.name) + attrs_bound(e.attributes);
    for (const LinkView& l : s.links) n += 64 + text(l.trace_state) + attrs_bound(l.attributes);
    return n;
  }

  // ---- writing ----

  static char* varint(char* p, std::uint64_t v) noexcept {
    return p + protozero::add_varint_to_buffer(p, v);
  }

  // Fills in a one-byte length reserved at `len` for the content that ends at `end`.
  static char* close(char* len, char* end) noexcept {
    const auto n = static_cast<std::size_t>(end - (len + 1));
    if (n < 0x80) {
      *len = static_cast<char>(n);
      return end;
    }
    const auto k = static_cast<std::size_t>(protozero::length_of_varint(n));
    std::memmove(len + k, len + 1, n);
    protozero::add_varint_to_buffer(len, n);
    return end + k - 1;
  }

  // Same with two reserved bytes.
  static char* close_span(char* len, char* end) noexcept {
    const auto n = static_cast<std::size_t>(end - (len + 2));
    const auto k = static_cast<std::size_t>(protozero::length_of_varint(n));
    if (k != 2) std::memmove(len + k, len + 2, n);
    protozero::add_varint_to_buffer(len, n);
    return end + k - 2;
  }

  static char* fixed64(char* p, char tag, std::uint64_t v) noexcept {
    *p++ = tag;
    if constexpr (std::endian::native != std::endian::little) v = __builtin_bswap64(v);
    std::memcpy(p, &v, 8);
    return p + 8;
  }

  static char* fixed32(char* p, std::uint32_t v) noexcept {
    if constexpr (std::endian::native != std::endian::little) v = __builtin_bswap32(v);
    std::memcpy(p, &v, 4);
    return p + 4;
  }

  static char* id64(char* p, char tag, std::uint64_t v) noexcept {
    *p++ = tag;
    *p++ = 8;
    if constexpr (std::endian::native == std::endian::little)
      v = __builtin_bswap64(v);  // big-endian bytes
    std::memcpy(p, &v, 8);
    return p + 8;
  }

  static char* trace_id(char* p, char tag, const TraceId& id) noexcept {
    *p++ = tag;
    *p++ = 16;
    std::uint64_t hi = id.hi, lo = id.lo;
    if constexpr (std::endian::native == std::endian::little) {
      hi = __builtin_bswap64(hi);
      lo = __builtin_bswap64(lo);
    }
    std::memcpy(p, &hi, 8);
    std::memcpy(p + 8, &lo, 8);
    return p + 16;
  }

  char* put_text(char* p, char tag, std::string_view s) {
    if (repair_) s = utf8_clean(s, scratch_);
    *p++ = tag;
    if (s.size() < 0x80) {
      *p++ = static_cast<char>(s.size());
    } else {
      p = varint(p, s.size());
    }
    high_ |= copy_or(p, s.data(), s.size());
    return p + s.size();
  }

  char* put_scalar(char* p, const AttrValue& v) {
    using T = AttrValue::Type;
    switch (v.type()) {
      case T::string: return put_text(p, tag_len(1), v.as_string());
      case T::int64: *p++ = tag_varint(3); return varint(p, static_cast<std::uint64_t>(v.as_int()));
      case T::float64:
        return fixed64(p, tag_fixed64(4), std::bit_cast<std::uint64_t>(v.as_double()));
      case T::boolean:
        *p++ = tag_varint(2);
        *p++ = v.as_bool() ? 1 : 0;
        return p;
      default: return p;
    }
  }

  template <class Range, class Make>
  char* put_array(char* p, const Range& r, Make make) {
    *p++ = tag_len(5);  // AnyValue.array_value
    char* array = p++;
    for (const auto& e : r) {
      *p++ = tag_len(1);  // ArrayValue.values
      char* item = p++;
      p = close(item, put_scalar(p, make(e)));
    }
    return close(array, p);
  }

  char* put_any(char* p, const AttrValue& v) {
    using T = AttrValue::Type;
    switch (v.type()) {
      case T::bool_array: return put_array(p, v.bools(), [](bool b) { return AttrValue(b); });
      case T::int64_array:
        return put_array(p, v.ints(), [](std::int64_t i) { return AttrValue(i); });
      case T::float64_array:
        return put_array(p, v.doubles(), [](double d) { return AttrValue(d); });
      case T::string_array:
        return put_array(p, v.strings(), [](std::string_view x) { return AttrValue(x); });
      default: return put_scalar(p, v);
    }
  }

  char* put_attrs(char* p, char tag, std::span<const Attribute> attrs) {
    for (const Attribute& a : attrs) {
      *p++ = tag;
      char* kv = p++;
      p = put_text(p, tag_len(1), a.key);  // KeyValue.key
      *p++ = tag_len(2);                   // KeyValue.value, present even when empty
      char* value = p++;
      p = close(value, put_any(p, a.value));
      p = close(kv, p);
    }
    return p;
  }

  char* put_span(char* p, const SpanView& s, std::span<const Attribute> core, bool fast) {
    p = trace_id(p, tag_len(1), s.trace_id);
    p = id64(p, tag_len(2), s.span_id.value);
    if (!s.trace_state.empty()) p = put_text(p, tag_len(3), s.trace_state);
    if (s.parent_span_id.valid()) p = id64(p, tag_len(4), s.parent_span_id.value);
    p = put_text(p, tag_len(5), s.name);
    *p++ = tag_varint(6);
    *p++ = static_cast<char>(static_cast<int>(s.kind) + 1);  // SPAN_KIND_INTERNAL = 1 ...
    p = fixed64(p, tag_fixed64(7), s.start_unix_nano);
    p = fixed64(p, tag_fixed64(8), s.end_unix_nano);
    p = fast ? put_core_fast(p, s) : put_attrs(p, tag_len(9), core);
    p = put_attrs(p, tag_len(9), s.attributes);
    if (s.dropped_attributes > 0) {
      *p++ = tag_varint(10);
      p = varint(p, s.dropped_attributes);
    }
    for (const EventView& e : s.events) {
      *p++ = tag_len(11);
      char* len = p++;
      p = fixed64(p, tag_fixed64(1), e.time_unix_nano);
      p = put_text(p, tag_len(2), e.name);
      p = close(len, put_attrs(p, tag_len(3), e.attributes));
    }
    if (s.dropped_events > 0) {
      *p++ = tag_varint(12);
      p = varint(p, s.dropped_events);
    }
    for (const LinkView& l : s.links) {
      *p++ = tag_len(13);
      char* len = p++;
      p = trace_id(p, tag_len(1), l.trace_id);
      p = id64(p, tag_len(2), l.span_id.value);
      if (!l.trace_state.empty()) p = put_text(p, tag_len(3), l.trace_state);
      p = put_attrs(p, tag_len(4), l.attributes);
      *p++ = tag_fixed32(6);
      p = close(len, fixed32(p, link_flags(l)));
    }
    if (s.dropped_links > 0) {
      *p++ = tag_varint(14);
      p = varint(p, s.dropped_links);
    }
    if (s.status != StatusCode::unset) {
      *p++ = tag_len(15);
      char* len = p++;
      if (!s.status_message.empty()) p = put_text(p, tag_len(2), s.status_message);
      *p++ = tag_varint(3);
      *p++ = static_cast<char>(s.status);  // UNSET 0, OK 1, ERROR 2
      p = close(len, p);
    }
    *p++ = static_cast<char>(0x85);  // field 16, fixed32: a two-byte tag
    *p++ = 0x01;
    return fixed32(p, span_flags(s));
  }

  bool repair_ = false;
  std::uint64_t high_ = 0;  // OR of every string byte written
  std::string scratch_;
  Blobs blobs_;
};

thread_local SpanEncoder t_encoder;

// Flat writes for the request head: a submessage is its tag and length (known in advance)
// followed by its fields.
struct Out {
  std::string& buf;
  Writer w;
  explicit Out(std::string& b) : buf(b), w(b) {}
  void open(std::uint32_t field, std::size_t length) {
    protozero::add_varint_to_buffer(&buf, (std::uint64_t{field} << 3) | 2u);
    protozero::add_varint_to_buffer(&buf, length);
  }
};

std::size_t resource_size(const Resource* r) {
  if (r == nullptr) return 0;
  std::size_t n = 0;
  for (const auto& [k, v] : r->attributes) {
    std::size_t value = len_field(text_size(v));
    n += len_field(len_field(text_size(k)) + len_field(value));
  }
  return n;
}

}  // namespace

void proto_append_span(std::string& out, const SpanView& span) {
  t_encoder.encode(out, span);
}

void proto_append_span_general(std::string& out, const SpanView& span) {
  t_encoder.encode(out, span, false);
}

ProtoHead proto_head(const Resource* res) {
  ProtoHead h;
  const std::size_t resource = resource_size(res);
  Out r(h.resource_field);
  r.open(1, resource);  // ResourceSpans.resource
  if (res != nullptr) {
    for (const auto& [k, v] : res->attributes) {
      std::size_t value = len_field(text_size(v));
      r.open(1, len_field(text_size(k)) + len_field(value));  // Resource.attributes
      add_text(r.w, 1, k);
      r.open(2, value);  // KeyValue.value
      add_text(r.w, 1, v);
    }
  }
  Out sc(h.scope_field);
  sc.open(1, len_field(kScopeName.size()) + len_field(kScopeVersion.size()));  // ScopeSpans.scope
  sc.w.add_string(1, kScopeName.data(), kScopeName.size());
  sc.w.add_string(2, kScopeVersion.data(), kScopeVersion.size());
  return h;
}

std::size_t proto_write_head(std::string& buf, std::size_t end, const ProtoHead& h,
                             std::size_t spans_size) {
  const std::size_t scope_spans = h.scope_field.size() + spans_size;
  const std::size_t resource_spans = h.resource_field.size() + len_field(scope_spans);
  char tmp[2 * (1 + 10)];
  // ExportTraceServiceRequest.resource_spans, then after the resource ResourceSpans.scope_spans.
  std::size_t n1 = 0, n2 = 0;
  tmp[n1++] = 0x0A;
  n1 += static_cast<std::size_t>(protozero::add_varint_to_buffer(tmp + n1, resource_spans));
  char tmp2[1 + 10];
  tmp2[n2++] = 0x12;
  n2 += static_cast<std::size_t>(protozero::add_varint_to_buffer(tmp2 + n2, scope_spans));
  const std::size_t total = n1 + h.resource_field.size() + n2 + h.scope_field.size();
  std::size_t at = end - total;
  char* p = buf.data() + at;
  std::memcpy(p, tmp, n1);
  p += n1;
  std::memcpy(p, h.resource_field.data(), h.resource_field.size());
  p += h.resource_field.size();
  std::memcpy(p, tmp2, n2);
  p += n2;
  std::memcpy(p, h.scope_field.data(), h.scope_field.size());
  return at;
}

void proto_append_request(std::string& out, const Resource* res, std::string_view spans) {
  ProtoHead h = proto_head(res);
  const std::size_t start = out.size();
  out.resize(start + h.max_size());
  std::size_t at = proto_write_head(out, out.size(), h, spans.size());
  out.erase(start, at - start);
  out.append(spans);  // ScopeSpans.spans, already framed
}

}  // namespace detail::otlp

void encode_otlp_protobuf(std::span<const SpanView> batch, std::string& out) {
  std::string spans;
  std::size_t i = 0;
  if (batch.empty()) return;  // an empty request is zero bytes
  while (i < batch.size()) {
    const Resource* res = batch[i].resource;
    spans.clear();
    for (; i < batch.size() && batch[i].resource == res; ++i) {
      detail::otlp::proto_append_span(spans, batch[i]);
    }
    // Repeated resource_spans entries simply concatenate.
    detail::otlp::proto_append_request(out, res, spans);
  }
}

}  // namespace skein
