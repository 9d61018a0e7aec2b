// baggage: parsing never crashes; the result respects the limits and its header form parses back
// to the same entries.
#include <cstdint>
#include <string>

#include "common.hpp"
#include "skein/propagation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  auto b = skein::Baggage::parse(as_view(data, size));
  SKEIN_FUZZ_CHECK(b.size() <= skein::Baggage::kMaxEntries);
  std::string header = b.to_header();
  SKEIN_FUZZ_CHECK(header.size() <= skein::Baggage::kMaxBytes);
  auto again = skein::Baggage::parse(header);
  SKEIN_FUZZ_CHECK(again == b);
  SKEIN_FUZZ_CHECK(again.to_header() == header);
  return 0;
}
