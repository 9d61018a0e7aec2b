// OTLP request decoding (what `skein serve` does with every body it receives): protobuf, JSON,
// and gzip in front of either. The first byte picks the path. Decoding never crashes, and a
// failed decode leaves an empty request.
#include <cstdint>
#include <string>

#include "common.hpp"
#include "otlp/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0] % 4;
  std::string_view body = as_view(data + 1, size - 1);
  std::string plain;
  if (mode >= 2) {
    if (skein::otlp::gunzip(body, plain, 1u << 20)) {
      SKEIN_FUZZ_CHECK(plain.empty());
      return 0;
    }
    body = plain;
  }
  skein::otlp::TracesRequest req;
  auto err = (mode % 2 == 0) ? skein::otlp::decode_protobuf(body, req)
                             : skein::otlp::decode_json(body, req);
  if (err) {
    SKEIN_FUZZ_CHECK(req.resource_spans.empty());
    SKEIN_FUZZ_CHECK(!err.message.empty());
  } else {
    (void)req.span_count();
  }
  return 0;
}
