// Protobuf decoding of ExportTraceServiceRequest with protozero. Field numbers: see
// src/exporters/otlp_proto.cpp. Unknown fields are skipped; a known field with the wrong wire
// type, a truncated message or a malformed varint is an error (protozero throws; we catch).
#include <protozero/pbf_reader.hpp>

#include <algorithm>
#include <functional>

#include "otlp/decode.hpp"

namespace skein::otlp {
namespace {

using protozero::pbf_reader;
using protozero::pbf_tag_type;
using protozero::pbf_wire_type;

struct Failure {
  std::string message;
};

[[noreturn]] void fail(std::string message) {
  throw Failure{std::move(message)};
}

// The field's wire type must be `want`; unknown fields never reach this.
void expect(const pbf_reader& r, pbf_wire_type want, const char* where) {
  if (r.wire_type() != want) {
    fail(std::string(where) + ": field " + std::to_string(r.tag()) + " has wire type " +
         std::to_string(static_cast<int>(r.wire_type())) + ", expected " +
         std::to_string(static_cast<int>(want)));
  }
}

// Into an existing string: no temporary, and no allocation when it fits its capacity (the small
// buffer, or what a recycled span's string held before).
void text_into(pbf_reader& r, const char* where, std::string& out) {
  expect(r, pbf_wire_type::length_delimited, where);
  const auto v = r.get_view();
  // clear + append: assign goes through std::string's general replace (aliasing checks and
  // all), twice the instructions when the text fits.
  out.clear();
  out.append(v.data(), v.size());
}

// How many times field `tag` occurs in the message (a cheap pass over tags and lengths), so
// that a repeated field's vector is allocated once.
std::size_t count_field(pbf_reader r, pbf_tag_type tag) {
  std::size_t n = 0;
  while (r.next(tag)) {
    ++n;
    r.skip();
  }
  return n;
}

pbf_reader message(pbf_reader& r, const char* where) {
  expect(r, pbf_wire_type::length_delimited, where);
  return r.get_message();
}

std::uint32_t u32(pbf_reader& r, const char* where) {
  expect(r, pbf_wire_type::varint, where);
  return r.get_uint32();
}

std::uint64_t fixed64(pbf_reader& r, const char* where) {
  expect(r, pbf_wire_type::fixed64, where);
  return r.get_fixed64();
}

std::uint32_t fixed32(pbf_reader& r, const char* where) {
  expect(r, pbf_wire_type::fixed32, where);
  return r.get_fixed32();
}

std::uint64_t be64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

TraceId trace_id(pbf_reader& r, const char* where) {
  expect(r, pbf_wire_type::length_delimited, where);
  auto v = r.get_view();
  if (v.size() == 0) return {};
  if (v.size() != 16)
    fail(std::string(where) + ": trace id of " + std::to_string(v.size()) + " bytes, expected 16");
  return TraceId{be64(v.data()), be64(v.data() + 8)};
}

SpanId span_id(pbf_reader& r, const char* where) {
  expect(r, pbf_wire_type::length_delimited, where);
  auto v = r.get_view();
  if (v.size() == 0) return {};
  if (v.size() != 8)
    fail(std::string(where) + ": span id of " + std::to_string(v.size()) + " bytes, expected 8");
  return SpanId{be64(v.data())};
}

void key_value(pbf_reader r, std::size_t depth, KeyValue& kv);

// Decodes into `v`, which is empty (default-constructed) on entry. A oneof field that repeats:
// the last one wins, with nothing left of the earlier ones.
void any_value(pbf_reader r, std::size_t depth, AnyValue& v) {
  if (depth > kMaxValueDepth)
    fail("AnyValue: nested deeper than " + std::to_string(kMaxValueDepth));
  while (r.next()) {
    if (r.tag() >= 1 && r.tag() <= 7 && v.type != AnyValue::Type::empty) v = AnyValue{};
    switch (r.tag()) {
      case 1:
        text_into(r, "AnyValue.string_value", v.string_value);
        v.type = AnyValue::Type::string;
        break;
      case 2:
        expect(r, pbf_wire_type::varint, "AnyValue.bool_value");
        v.bool_value = r.get_uint64() != 0;  // get_bool() may read past a truncated end
        v.type = AnyValue::Type::boolean;
        break;
      case 3:
        expect(r, pbf_wire_type::varint, "AnyValue.int_value");
        v.int_value = r.get_int64();
        v.type = AnyValue::Type::int64;
        break;
      case 4:
        expect(r, pbf_wire_type::fixed64, "AnyValue.double_value");
        v.double_value = r.get_double();
        v.type = AnyValue::Type::float64;
        break;
      case 5: {
        pbf_reader array = message(r, "AnyValue.array_value");
        v.type = AnyValue::Type::array;
        v.array_value.reserve(count_field(array, 1));
        while (array.next()) {
          if (array.tag() == 1) {
            v.array_value.emplace_back();
            any_value(message(array, "ArrayValue.values"), depth + 1, v.array_value.back());
          } else {
            array.skip();
          }
        }
        break;
      }
      case 6: {
        pbf_reader list = message(r, "AnyValue.kvlist_value");
        v.type = AnyValue::Type::kvlist;
        v.kvlist_value.reserve(count_field(list, 1));
        while (list.next()) {
          if (list.tag() == 1) {
            v.kvlist_value.emplace_back();
            key_value(message(list, "KeyValueList.values"), depth + 1, v.kvlist_value.back());
          } else {
            list.skip();
          }
        }
        break;
      }
      case 7:
        text_into(r, "AnyValue.bytes_value", v.string_value);
        v.type = AnyValue::Type::bytes;
        break;
      default: r.skip();
    }
  }
}

// When a field repeats, the last one wins (as protobuf says); a value decoded earlier is reset.
void key_value(pbf_reader r, std::size_t depth, KeyValue& kv) {
  while (r.next()) {
    switch (r.tag()) {
      case 1: text_into(r, "KeyValue.key", kv.key); break;
      case 2:
        if (kv.value.type != AnyValue::Type::empty) kv.value = AnyValue{};
        any_value(message(r, "KeyValue.value"), depth, kv.value);
        break;
      default: r.skip();
    }
  }
}

// A repeated KeyValue field `tag` of `r` (already counted into `out`'s capacity by the caller).
void push_key_value(pbf_reader& r, const char* where, Attributes& out) {
  out.emplace_back();
  key_value(message(r, where), 0, out.back());
}

// ---- recycled spans (decode_protobuf_parts' `spare`) ----
// A span of a spent part is decoded into again: its strings and attribute vector keep their
// heap buffers, so that a request shaped like the last ones allocates (and later frees) nothing
// per span. Beyond these sizes a buffer is released instead, so that what a thread keeps for
// reuse stays small whatever a client once sent.
constexpr std::size_t kKeepTextBytes = 256, kKeepAttributes = 128;

void clear_text(std::string& s) {
  if (s.capacity() > kKeepTextBytes)
    std::string().swap(s);
  else
    s.clear();
}

// As AnyValue{} (what any_value decodes into), keeping string_value's buffer.
void clear_value(AnyValue& v) {
  v.type = AnyValue::Type::empty;
  clear_text(v.string_value);
  v.bool_value = false;
  v.int_value = 0;
  v.double_value = 0;
  v.array_value.clear();
  v.kvlist_value.clear();
}

// Every field as in Span{} except `attributes`, which keeps its entries for span() to decode
// into (it drops those it does not use).
void clear_span(Span& s) {
  static_assert(sizeof(Span) == 264, "a field was added to otlp::Span: clear it here");
  s.trace_id = {};
  s.span_id = {};
  clear_text(s.trace_state);
  s.parent_span_id = {};
  s.flags = 0;
  clear_text(s.name);
  s.kind = 0;
  s.start_time_unix_nano = 0;
  s.end_time_unix_nano = 0;
  if (s.attributes.capacity() > kKeepAttributes) Attributes().swap(s.attributes);
  s.dropped_attributes_count = 0;
  s.events.clear();
  s.dropped_events_count = 0;
  s.links.clear();
  s.dropped_links_count = 0;
  s.status.code = Status::unset;
  clear_text(s.status.message);
}

// The next entry of a span's attributes: a spent one (cleared) while there are some, else a new
// one.
KeyValue& next_key_value(Attributes& out, std::size_t& used) {
  if (used < out.size()) {
    KeyValue& kv = out[used++];
    clear_text(kv.key);
    clear_value(kv.value);
    return kv;
  }
  ++used;
  return out.emplace_back();
}

Event event(pbf_reader r) {
  Event e;
  while (r.next()) {
    switch (r.tag()) {
      case 1: e.time_unix_nano = fixed64(r, "Event.time_unix_nano"); break;
      case 2: text_into(r, "Event.name", e.name); break;
      case 3: push_key_value(r, "Event.attributes", e.attributes); break;
      case 4: e.dropped_attributes_count = u32(r, "Event.dropped_attributes_count"); break;
      default: r.skip();
    }
  }
  return e;
}

Link link(pbf_reader r) {
  Link l;
  while (r.next()) {
    switch (r.tag()) {
      case 1: l.trace_id = trace_id(r, "Link.trace_id"); break;
      case 2: l.span_id = span_id(r, "Link.span_id"); break;
      case 3: text_into(r, "Link.trace_state", l.trace_state); break;
      case 4: push_key_value(r, "Link.attributes", l.attributes); break;
      case 5: l.dropped_attributes_count = u32(r, "Link.dropped_attributes_count"); break;
      case 6: l.flags = fixed32(r, "Link.flags"); break;
      default: r.skip();
    }
  }
  return l;
}

Status status(pbf_reader r) {
  Status s;
  while (r.next()) {
    switch (r.tag()) {
      case 2: text_into(r, "Status.message", s.message); break;
      case 3:
        expect(r, pbf_wire_type::varint, "Status.code");
        s.code = r.get_enum();
        break;
      default: r.skip();
    }
  }
  return s;
}

// Decodes into `s`, a new span or one cleared by clear_span (whose attributes are decoded into).
void span(pbf_reader r, Span& s) {
  const std::size_t n_attributes = count_field(r, 9);
  if (s.attributes.capacity() < n_attributes) s.attributes.reserve(n_attributes);
  std::size_t used = 0;
  while (r.next()) {
    switch (r.tag()) {
      case 1: s.trace_id = trace_id(r, "Span.trace_id"); break;
      case 2: s.span_id = span_id(r, "Span.span_id"); break;
      case 3: text_into(r, "Span.trace_state", s.trace_state); break;
      case 4: s.parent_span_id = span_id(r, "Span.parent_span_id"); break;
      case 5: text_into(r, "Span.name", s.name); break;
      case 6:
        expect(r, pbf_wire_type::varint, "Span.kind");
        s.kind = r.get_enum();
        break;
      case 7: s.start_time_unix_nano = fixed64(r, "Span.start_time_unix_nano"); break;
      case 8: s.end_time_unix_nano = fixed64(r, "Span.end_time_unix_nano"); break;
      case 9:
        key_value(message(r, "Span.attributes"), 0, next_key_value(s.attributes, used));
        break;
      case 10: s.dropped_attributes_count = u32(r, "Span.dropped_attributes_count"); break;
      case 11: s.events.push_back(event(message(r, "Span.events"))); break;
      case 12: s.dropped_events_count = u32(r, "Span.dropped_events_count"); break;
      case 13: s.links.push_back(link(message(r, "Span.links"))); break;
      case 14: s.dropped_links_count = u32(r, "Span.dropped_links_count"); break;
      case 15: s.status = status(message(r, "Span.status")); break;
      case 16: s.flags = fixed32(r, "Span.flags"); break;
      default: r.skip();
    }
  }
  s.attributes.erase(s.attributes.begin() + static_cast<std::ptrdiff_t>(used), s.attributes.end());
}

Scope scope(pbf_reader r) {
  Scope s;
  while (r.next()) {
    switch (r.tag()) {
      case 1: text_into(r, "InstrumentationScope.name", s.name); break;
      case 2: text_into(r, "InstrumentationScope.version", s.version); break;
      case 3: push_key_value(r, "InstrumentationScope.attributes", s.attributes); break;
      case 4:
        s.dropped_attributes_count = u32(r, "InstrumentationScope.dropped_attributes_count");
        break;
      default: r.skip();
    }
  }
  return s;
}

Resource resource(pbf_reader r) {
  Resource res;
  while (r.next()) {
    switch (r.tag()) {
      case 1: push_key_value(r, "Resource.attributes", res.attributes); break;
      case 2: res.dropped_attributes_count = u32(r, "Resource.dropped_attributes_count"); break;
      default: r.skip();
    }
  }
  return res;
}

ScopeSpans scope_spans(pbf_reader r) {
  ScopeSpans ss;
  ss.spans.reserve(count_field(r, 2));
  while (r.next()) {
    switch (r.tag()) {
      case 1: ss.scope = scope(message(r, "ScopeSpans.scope")); break;
      case 2:
        ss.spans.emplace_back();
        span(message(r, "ScopeSpans.spans"), ss.spans.back());
        break;
      case 3: text_into(r, "ScopeSpans.schema_url", ss.schema_url); break;
      default: r.skip();
    }
  }
  return ss;
}

ResourceSpans resource_spans(pbf_reader r) {
  ResourceSpans rs;
  while (r.next()) {
    switch (r.tag()) {
      case 1: rs.resource = resource(message(r, "ResourceSpans.resource")); break;
      case 2: rs.scope_spans.push_back(scope_spans(message(r, "ResourceSpans.scope_spans"))); break;
      case 3: text_into(r, "ResourceSpans.schema_url", rs.schema_url); break;
      default: r.skip();
    }
  }
  return rs;
}

// Decodes a request into parts of at most `max` spans (the first `first`, each next twice the
// last), each with a copy of its spans' resource and scope, handed to `sink` as soon as it is full.
class PartDecoder {
 public:
  PartDecoder(std::size_t first, std::size_t max, const std::function<void(TracesRequest&)>& sink,
              std::vector<TracesRequest>* spare)
      : max_(std::max<std::size_t>(max, 1)),
        size_(first == 0 ? max_ : std::min(first, max_)),
        sink_(sink),
        spare_(spare) {}

  void request(pbf_reader r) {
    while (r.next()) {
      if (r.tag() == 1)
        resource_spans(message(r, "ExportTraceServiceRequest.resource_spans"));
      else
        r.skip();
    }
    flush();
  }

 private:
  // The resource and schema first (wherever they are in the message), then the spans.
  void resource_spans(pbf_reader r) {
    Resource res;
    std::string schema;
    for (pbf_reader h = r; h.next();) {
      if (h.tag() == 1)
        res = resource(message(h, "ResourceSpans.resource"));
      else if (h.tag() == 3)
        text_into(h, "ResourceSpans.schema_url", schema);
      else
        h.skip();
    }
    while (r.next()) {
      if (r.tag() == 2)
        scope_spans(message(r, "ResourceSpans.scope_spans"), res, schema);
      else
        r.skip();
    }
  }

  void scope_spans(pbf_reader r, const Resource& res, const std::string& res_schema) {
    Scope sc;
    std::string schema;
    for (pbf_reader h = r; h.next();) {
      if (h.tag() == 1)
        sc = scope(message(h, "ScopeSpans.scope"));
      else if (h.tag() == 3)
        text_into(h, "ScopeSpans.schema_url", schema);
      else
        h.skip();
    }
    std::size_t left = count_field(r, 2);
    ScopeSpans* ss = nullptr;
    while (r.next()) {
      if (r.tag() != 2) {
        r.skip();
        continue;
      }
      if (ss == nullptr) {
        // A part's first spans go into a spent part's (the others, rare, into new ones).
        std::vector<Span> spans =
            part_.resource_spans.empty() ? spare_spans() : std::vector<Span>{};
        part_.resource_spans.push_back(ResourceSpans{res, {}, res_schema});
        auto& scopes = part_.resource_spans.back().scope_spans;
        scopes.push_back(ScopeSpans{sc, std::move(spans), schema});
        ss = &scopes.back();
        ss->spans.reserve(std::min(left, size_ - count_));
        used_ = 0;
      }
      Span* s = nullptr;
      if (used_ < ss->spans.size()) {
        s = &ss->spans[used_];
        clear_span(*s);
      } else {
        s = &ss->spans.emplace_back();
      }
      ++used_;
      span(message(r, "ScopeSpans.spans"), *s);
      --left;
      if (++count_ == size_) {
        drop_unused(*ss);
        flush();
        ss = nullptr;
      }
    }
    if (ss != nullptr) drop_unused(*ss);
  }

  // The spans of a spent part (see decode_protobuf_parts), to decode into; empty when none. The
  // part with the fewest spans that still has as many as this part will (else the largest):
  // spans past those decoded are dropped, and past those kept, new ones are made.
  std::vector<Span> spare_spans() {
    std::vector<Span> spans;
    if (spare_ == nullptr || spare_->empty()) return spans;
    std::size_t best = 0, best_n = 0;
    for (std::size_t i = 0; i < spare_->size(); ++i) {
      const std::size_t n = (*spare_)[i].span_count();
      const bool fits = n >= size_, best_fits = best_n >= size_;
      if (i == 0 || (fits && (!best_fits || n < best_n)) || (!fits && !best_fits && n > best_n)) {
        best = i;
        best_n = n;
      }
    }
    TracesRequest spent = std::move((*spare_)[best]);
    (*spare_)[best] = std::move(spare_->back());
    spare_->pop_back();
    for (auto& rs : spent.resource_spans)
      for (auto& ss : rs.scope_spans)
        if (spans.capacity() < ss.spans.capacity()) spans.swap(ss.spans);
    return spans;
  }

  void drop_unused(ScopeSpans& ss) const {
    ss.spans.erase(ss.spans.begin() + static_cast<std::ptrdiff_t>(used_), ss.spans.end());
  }

  void flush() {
    if (count_ == 0) return;
    sink_(part_);
    part_ = TracesRequest{};
    count_ = 0;
    size_ = std::min(2 * size_, max_);
  }

  std::size_t max_;
  std::size_t size_;  ///< of the part being decoded: doubles from the first one's up to max_
  const std::function<void(TracesRequest&)>& sink_;
  std::vector<TracesRequest>* spare_;
  TracesRequest part_;
  std::size_t count_ = 0;
  std::size_t used_ = 0;  ///< spans decoded into the last ScopeSpans of part_
};

// The span ids (field 2 of each span), without decoding anything else. A span's first span id
// is taken, and the rest of the span skipped: encoders write the fields in order (trace id, span
// id, ...), so that this reads two fields of each span instead of all of them (~810 instructions
// a span before, on the path from the body to the writer's first part). A span with two span ids
// (the decoder takes the last) may then be given the wrong one, which only matters to choosing
// its trace's root among spans whose parents are not stored.
void collect_span_ids(pbf_reader r, std::vector<std::uint64_t>& out) {
  while (r.next(1)) {
    pbf_reader rs = message(r, "ExportTraceServiceRequest.resource_spans");
    while (rs.next(2)) {
      pbf_reader ss = message(rs, "ResourceSpans.scope_spans");
      while (ss.next(2)) {
        pbf_reader sp = message(ss, "ScopeSpans.spans");
        SpanId id;
        if (sp.next(2)) id = span_id(sp, "Span.span_id");
        out.push_back(id.value);
      }
    }
  }
}

// Runs `decode`, turning what it throws into a DecodeError.
template <typename F>
DecodeError guarded(F&& decode) {
  try {
    decode();
    return {};
  } catch (const Failure& f) {
    return DecodeError{"protobuf: " + f.message};
  } catch (const protozero::exception& e) {
    return DecodeError{std::string("protobuf: malformed message (") + e.what() + ")"};
  } catch (const std::bad_alloc&) {
    return DecodeError{"protobuf: out of memory"};
  } catch (const std::exception& e) {
    return DecodeError{std::string("protobuf: ") + e.what()};
  }
}

}  // namespace

DecodeError decode_protobuf(std::string_view body, TracesRequest& out) {
  out = TracesRequest{};
  DecodeError e = guarded([&] {
    pbf_reader r(body.data(), body.size());
    while (r.next()) {
      if (r.tag() == 1) {
        out.resource_spans.push_back(
            resource_spans(message(r, "ExportTraceServiceRequest.resource_spans")));
      } else {
        r.skip();
      }
    }
  });
  if (e) out = TracesRequest{};
  return e;
}

DecodeError decode_protobuf_parts(std::string_view body, std::size_t max_spans,
                                  const std::function<void(TracesRequest&)>& on_part,
                                  std::size_t first_spans, std::vector<TracesRequest>* spare) {
  return guarded([&] {
    PartDecoder d(first_spans, max_spans, on_part, spare);
    d.request(pbf_reader(body.data(), body.size()));
  });
}

bool protobuf_span_ids(std::string_view body, std::vector<std::uint64_t>& out) {
  out.clear();
  const DecodeError e =
      guarded([&] { collect_span_ids(pbf_reader(body.data(), body.size()), out); });
  if (e) out.clear();
  return !e;
}

}  // namespace skein::otlp
