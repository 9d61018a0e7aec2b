// Decoders for OTLP/HTTP trace requests into the owned model of otlp/model.hpp: protobuf
// (protozero) and the OTLP JSON mapping (simdjson), plus gzip, and the encoders of the answer a
// receiver sends back (ExportTraceServiceResponse with partial success).
//
// Errors are values: no decoder throws, crashes or reads out of bounds on corrupt input; each
// returns a `DecodeError` whose message says what and where. Limits guard against hostile input:
// nesting depth of values, and the size of a gunzipped body.
//
// JSON accepts what the OTLP spec and real SDKs send: lowerCamelCase or original field names,
// ids as hex, 64-bit integers as strings or numbers (exact, never through a double), enums as
// integers or names, non-finite doubles as "NaN"/"Infinity", bytes as base64; unknown fields are
// ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "otlp/model.hpp"

namespace skein::otlp {

/// Empty on success; otherwise what went wrong.
struct DecodeError {
  std::string message;
  explicit operator bool() const noexcept { return !message.empty(); }
};

inline constexpr std::size_t kMaxValueDepth = 32;

DecodeError decode_protobuf(std::string_view body, TracesRequest& out);
DecodeError decode_json(std::string_view body, TracesRequest& out);

/// As decode_protobuf, in parts of at most `max_spans` spans, so that a receiver can store the
/// first ones while it decodes the rest: `on_part` gets each part as soon as it is full (a request
/// holding copies of its spans' resource and scope; it may move from it). The spans come in
/// message order. `first_spans` (when not 0) makes the first part smaller, so that its consumer
/// starts sooner; each next part then holds twice as many spans, up to `max_spans`. On error
/// the parts already delivered are the caller's to discard.
/// `spare` (optional): spent parts, which the decoder takes (each the size of a part, when it
/// can) and decodes new parts' spans into, so that their strings and vectors are not allocated
/// again; what it delivers is the same as without them.
DecodeError decode_protobuf_parts(std::string_view body, std::size_t max_spans,
                                  const std::function<void(TracesRequest&)>& on_part,
                                  std::size_t first_spans = 0,
                                  std::vector<TracesRequest>* spare = nullptr);

/// The span id of every span of a protobuf request, in message order (invalid ids as 0), from a
/// quick pass that decodes nothing else (a span's first span id: its fields after it are
/// skipped); false when that pass finds the message malformed (it checks the framing of the
/// resource spans, scope spans and spans, not the spans' fields past their span id).
bool protobuf_span_ids(std::string_view body, std::vector<std::uint64_t>& out);

/// Decodes a gzip (or zlib) stream; fails when the output would exceed `max_size`.
DecodeError gunzip(std::string_view in, std::string& out, std::size_t max_size = 64u << 20);

/// A receiver's answer: ExportTraceServiceResponse, with a partial_success when
/// `rejected_spans` > 0 or `error_message` is not empty.
std::string encode_response_protobuf(std::int64_t rejected_spans = 0,
                                     std::string_view error_message = {});
std::string encode_response_json(std::int64_t rejected_spans = 0,
                                 std::string_view error_message = {});

}  // namespace skein::otlp
