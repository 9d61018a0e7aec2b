// OTLP encoders, internal side: one span at a time and the envelope around a batch, so that the
// OTLP exporter can append spans as they arrive and close a request when a batch is full.
//
// Protobuf (`ExportTraceServiceRequest`, field numbers from opentelemetry-proto
// collector/trace/v1/trace_service.proto, trace/v1/trace.proto, common/v1/common.proto and
// resource/v1/resource.proto) and the OTLP JSON mapping of the same message. Strings that are not
// valid UTF-8 are repaired (each bad byte becomes U+FFFD) in both, so that strict receivers accept
// the request and both encodings carry the same text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "skein/exporter.hpp"

namespace skein::detail::otlp {

/// The instrumentation scope skein reports.
inline constexpr std::string_view kScopeName = "skein";
inline constexpr std::string_view kScopeVersion = "0.1.0";

/// OTLP span flags: W3C trace flags in bits 0-7, then SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK and
/// SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK (trace.proto, enum SpanFlags).
inline constexpr std::uint32_t kFlagHasIsRemote = 0x100;
inline constexpr std::uint32_t kFlagIsRemote = 0x200;

inline std::uint32_t span_flags(const SpanView& s) noexcept {
  return s.flags | kFlagHasIsRemote | (s.parent_remote ? kFlagIsRemote : 0u);
}
inline std::uint32_t link_flags(const LinkView& l) noexcept {
  return l.flags | kFlagHasIsRemote | (l.remote ? kFlagIsRemote : 0u);
}

/// Whether `s` is valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool utf8_valid(std::string_view s) noexcept;
/// `s` when valid UTF-8, otherwise a repaired copy in `scratch` (each invalid byte -> U+FFFD).
std::string_view utf8_clean(std::string_view s, std::string& scratch);

// ---- protobuf ----------------------------------------------------------------------------------

/// Appends one `ScopeSpans.spans` entry (field 2: tag, length, Span message) for `span`.
void proto_append_span(std::string& out, const SpanView& span);
/// The same without the encoded-once core attributes (for tests: both must write the same bytes).
void proto_append_span_general(std::string& out, const SpanView& span);
/// Appends a whole `ExportTraceServiceRequest` with one ResourceSpans for `resource` (may be null)
/// and one ScopeSpans holding `spans`, the concatenation of `proto_append_span` outputs.
void proto_append_request(std::string& out, const Resource* resource, std::string_view spans);

/// What precedes the spans of a request, prepared once per batch (so that no Resource is needed
/// when the batch is closed later, perhaps on another thread).
struct ProtoHead {
  std::string resource_field;  ///< ResourceSpans.resource, framed
  std::string scope_field;     ///< ScopeSpans.scope, framed
  /// The most bytes `proto_write_head` may write.
  [[nodiscard]] std::size_t max_size() const noexcept {
    return resource_field.size() + scope_field.size() + 2 * (1 + 10);
  }
};
ProtoHead proto_head(const Resource* resource);
/// Writes the request head for `spans_size` bytes of spans into `buf` so that it ends right
/// before `end`; returns the offset where the request starts.
std::size_t proto_write_head(std::string& buf, std::size_t end, const ProtoHead& head,
                             std::size_t spans_size);

// ---- JSON --------------------------------------------------------------------------------------

/// Appends one span object (no separator).
void json_append_span(std::string& out, const SpanView& span);
/// Appends a whole request around `spans`, the comma-separated `json_append_span` outputs.
void json_append_request(std::string& out, const Resource* resource, std::string_view spans);
/// The request up to the first span, and after the last one.
void json_append_head(std::string& out, const Resource* resource);
void json_append_tail(std::string& out);

}  // namespace skein::detail::otlp
