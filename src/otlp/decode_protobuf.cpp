// Protobuf decoding of ExportTraceServiceRequest with protozero. Field numbers: see
// src/exporters/otlp_proto.cpp. Unknown fields are skipped; a known field with the wrong wire
// type, a truncated message or a malformed varint is an error (protozero throws; we catch).
#include <protozero/pbf_reader.hpp>

#include "otlp/decode.hpp"

namespace skein::otlp {
namespace {

using protozero::pbf_reader;
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

std::string text(pbf_reader& r, const char* where) {
  expect(r, pbf_wire_type::length_delimited, where);
  return std::string(r.get_view());
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

KeyValue key_value(pbf_reader r, std::size_t depth);

AnyValue any_value(pbf_reader r, std::size_t depth) {
  if (depth > kMaxValueDepth)
    fail("AnyValue: nested deeper than " + std::to_string(kMaxValueDepth));
  AnyValue v;
  while (r.next()) {
    switch (r.tag()) {
      case 1: v = AnyValue::of(std::string_view(text(r, "AnyValue.string_value"))); break;
      case 2:
        expect(r, pbf_wire_type::varint, "AnyValue.bool_value");
        v = AnyValue::of(r.get_uint64() != 0);  // get_bool() may read past a truncated end
        break;
      case 3:
        expect(r, pbf_wire_type::varint, "AnyValue.int_value");
        v = AnyValue::of(r.get_int64());
        break;
      case 4:
        expect(r, pbf_wire_type::fixed64, "AnyValue.double_value");
        v = AnyValue::of(r.get_double());
        break;
      case 5: {
        pbf_reader array = message(r, "AnyValue.array_value");
        v = AnyValue{};
        v.type = AnyValue::Type::array;
        while (array.next()) {
          if (array.tag() == 1) {
            v.array_value.push_back(any_value(message(array, "ArrayValue.values"), depth + 1));
          } else {
            array.skip();
          }
        }
        break;
      }
      case 6: {
        pbf_reader list = message(r, "AnyValue.kvlist_value");
        v = AnyValue{};
        v.type = AnyValue::Type::kvlist;
        while (list.next()) {
          if (list.tag() == 1) {
            v.kvlist_value.push_back(key_value(message(list, "KeyValueList.values"), depth + 1));
          } else {
            list.skip();
          }
        }
        break;
      }
      case 7: v = AnyValue::bytes(text(r, "AnyValue.bytes_value")); break;
      default: r.skip();
    }
  }
  return v;
}

KeyValue key_value(pbf_reader r, std::size_t depth) {
  KeyValue kv;
  while (r.next()) {
    switch (r.tag()) {
      case 1: kv.key = text(r, "KeyValue.key"); break;
      case 2: kv.value = any_value(message(r, "KeyValue.value"), depth); break;
      default: r.skip();
    }
  }
  return kv;
}

Event event(pbf_reader r) {
  Event e;
  while (r.next()) {
    switch (r.tag()) {
      case 1: e.time_unix_nano = fixed64(r, "Event.time_unix_nano"); break;
      case 2: e.name = text(r, "Event.name"); break;
      case 3: e.attributes.push_back(key_value(message(r, "Event.attributes"), 0)); break;
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
      case 3: l.trace_state = text(r, "Link.trace_state"); break;
      case 4: l.attributes.push_back(key_value(message(r, "Link.attributes"), 0)); break;
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
      case 2: s.message = text(r, "Status.message"); break;
      case 3:
        expect(r, pbf_wire_type::varint, "Status.code");
        s.code = r.get_enum();
        break;
      default: r.skip();
    }
  }
  return s;
}

Span span(pbf_reader r) {
  Span s;
  while (r.next()) {
    switch (r.tag()) {
      case 1: s.trace_id = trace_id(r, "Span.trace_id"); break;
      case 2: s.span_id = span_id(r, "Span.span_id"); break;
      case 3: s.trace_state = text(r, "Span.trace_state"); break;
      case 4: s.parent_span_id = span_id(r, "Span.parent_span_id"); break;
      case 5: s.name = text(r, "Span.name"); break;
      case 6:
        expect(r, pbf_wire_type::varint, "Span.kind");
        s.kind = r.get_enum();
        break;
      case 7: s.start_time_unix_nano = fixed64(r, "Span.start_time_unix_nano"); break;
      case 8: s.end_time_unix_nano = fixed64(r, "Span.end_time_unix_nano"); break;
      case 9: s.attributes.push_back(key_value(message(r, "Span.attributes"), 0)); break;
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
  return s;
}

Scope scope(pbf_reader r) {
  Scope s;
  while (r.next()) {
    switch (r.tag()) {
      case 1: s.name = text(r, "InstrumentationScope.name"); break;
      case 2: s.version = text(r, "InstrumentationScope.version"); break;
      case 3:
        s.attributes.push_back(key_value(message(r, "InstrumentationScope.attributes"), 0));
        break;
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
      case 1: res.attributes.push_back(key_value(message(r, "Resource.attributes"), 0)); break;
      case 2: res.dropped_attributes_count = u32(r, "Resource.dropped_attributes_count"); break;
      default: r.skip();
    }
  }
  return res;
}

ScopeSpans scope_spans(pbf_reader r) {
  ScopeSpans ss;
  while (r.next()) {
    switch (r.tag()) {
      case 1: ss.scope = scope(message(r, "ScopeSpans.scope")); break;
      case 2: ss.spans.push_back(span(message(r, "ScopeSpans.spans"))); break;
      case 3: ss.schema_url = text(r, "ScopeSpans.schema_url"); break;
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
      case 3: rs.schema_url = text(r, "ResourceSpans.schema_url"); break;
      default: r.skip();
    }
  }
  return rs;
}

}  // namespace

DecodeError decode_protobuf(std::string_view body, TracesRequest& out) {
  out = TracesRequest{};
  try {
    pbf_reader r(body.data(), body.size());
    while (r.next()) {
      if (r.tag() == 1) {
        out.resource_spans.push_back(
            resource_spans(message(r, "ExportTraceServiceRequest.resource_spans")));
      } else {
        r.skip();
      }
    }
    return {};
  } catch (const Failure& f) {
    out = TracesRequest{};
    return DecodeError{"protobuf: " + f.message};
  } catch (const protozero::exception& e) {
    out = TracesRequest{};
    return DecodeError{std::string("protobuf: malformed message (") + e.what() + ")"};
  } catch (const std::bad_alloc&) {
    out = TracesRequest{};
    return DecodeError{"protobuf: out of memory"};
  } catch (const std::exception& e) {
    out = TracesRequest{};
    return DecodeError{std::string("protobuf: ") + e.what()};
  }
}

}  // namespace skein::otlp
