// tracestate: parsing never crashes; a valid header normalizes to at most 32 members and 512
// characters, and its normal form is a fixed point.
#include <cstdint>
#include <string>

#include "common.hpp"
#include "skein/propagation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  auto ts = skein::TraceState::parse(as_view(data, size));
  if (!ts) return 0;
  SKEIN_FUZZ_CHECK(ts->size() <= skein::TraceState::kMaxMembers);
  SKEIN_FUZZ_CHECK(ts->header().size() <= skein::TraceState::kMaxLength);
  auto again = skein::TraceState::parse(ts->header());
  SKEIN_FUZZ_CHECK(again && *again == *ts);
  ts->for_each([](std::string_view k, std::string_view v) {
    SKEIN_FUZZ_CHECK(skein::TraceState::valid_key(k));
    SKEIN_FUZZ_CHECK(skein::TraceState::valid_value(v));
  });
  return 0;
}
