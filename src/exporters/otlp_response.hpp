// The answer to an OTLP/HTTP export: ExportTraceServiceResponse { partial_success = 1 {
// rejected_spans = 1 (int64), error_message = 2 } }, in protobuf or JSON. Kept apart from the
// full decoder so that the SDK itself needs neither simdjson nor a message model.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace skein::detail::otlp {

struct PartialSuccess {
  std::int64_t rejected_spans = 0;
  std::string error_message;
};

/// False when the body is not a well-formed response (the result is then empty). An empty body
/// is a full success.
bool parse_response_protobuf(std::string_view body, PartialSuccess& out) noexcept;
bool parse_response_json(std::string_view body, PartialSuccess& out) noexcept;

/// Gzip (RFC 1952) compression of `in` into `out`; false on failure.
bool gzip_compress(std::string_view in, std::string& out, int level = 6);

}  // namespace skein::detail::otlp
