// traceparent: parsing never crashes; whatever parses formats to a version-00 header that parses
// back to the same fields.
#include <cstdint>
#include <string>

#include "common.hpp"
#include "skein/propagation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  auto tp = skein::parse_traceparent(as_view(data, size));
  if (!tp) return 0;
  SKEIN_FUZZ_CHECK(tp->trace_id.valid() && tp->parent_id.valid());
  SKEIN_FUZZ_CHECK((tp->flags & ~0x03) == 0);
  char buf[skein::kTraceparentLength];
  skein::format_traceparent(tp->trace_id, tp->parent_id, tp->flags, buf);
  auto again = skein::parse_traceparent(std::string_view(buf, sizeof buf));
  SKEIN_FUZZ_CHECK(again);
  SKEIN_FUZZ_CHECK(again->trace_id == tp->trace_id && again->parent_id == tp->parent_id &&
                   again->flags == tp->flags);
  return 0;
}
