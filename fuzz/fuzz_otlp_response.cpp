// The answer of an OTLP endpoint as the exporter reads it (partial success), protobuf or JSON:
// untrusted bytes from the network. Never crashes; a refused body leaves an empty result.
#include "common.hpp"
#include "exporters/otlp_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view body = as_view(data, size);
  skein::detail::otlp::PartialSuccess ps;
  if (!skein::detail::otlp::parse_response_protobuf(body, ps)) {
    SKEIN_FUZZ_CHECK(ps.rejected_spans == 0 && ps.error_message.empty());
  }
  if (!skein::detail::otlp::parse_response_json(body, ps)) {
    SKEIN_FUZZ_CHECK(ps.rejected_spans == 0 && ps.error_message.empty());
  }
  return 0;
}
