// Carrier extraction: the input is a list of "name:value" lines (any names, any case, repeats).
// Extraction never crashes, and what inject then writes is always well-formed: a malformed
// inbound header can never reach the outgoing headers.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
#include "skein/propagation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view in = as_view(data, size);
  std::vector<std::pair<std::string, std::string>> headers;
  while (!in.empty() && headers.size() < 64) {
    std::size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  const bool strip = size > 0 && (data[0] & 1);
  skein::Context ctx = skein::extract(headers, {.baggage = !strip});

  // Forward the inbound headers themselves (the case where a leak would happen).
  skein::inject(ctx, headers);
  int counts[3] = {0, 0, 0};
  for (const auto& [k, v] : headers) {
    int h = skein::detail::propagation_header(k);
    if (h < 0) continue;
    ++counts[h];
    SKEIN_FUZZ_CHECK(k == skein::detail::kHeaderNames[h]);
    if (h == 0) {
      auto tp = skein::parse_traceparent(v);
      SKEIN_FUZZ_CHECK(tp && tp->trace_id == ctx.trace_id() && tp->parent_id == ctx.span_id());
      SKEIN_FUZZ_CHECK(v.size() == skein::kTraceparentLength);
    } else if (h == 1) {
      auto ts = skein::TraceState::parse(v);
      SKEIN_FUZZ_CHECK(ts && ts->header() == v && !v.empty());
    } else {
      SKEIN_FUZZ_CHECK(!strip);
      SKEIN_FUZZ_CHECK(skein::Baggage::parse(v).to_header() == v && !v.empty());
    }
  }
  for (int c : counts) SKEIN_FUZZ_CHECK(c <= 1);
  SKEIN_FUZZ_CHECK(counts[0] == (ctx.valid() ? 1 : 0));
  SKEIN_FUZZ_CHECK(counts[1] == 0 || ctx.valid());

  // The same through a map carrier.
  std::map<std::string, std::string> out;
  skein::inject(ctx, out);
  skein::Context back = skein::extract(out);
  SKEIN_FUZZ_CHECK(back.trace_id() == ctx.trace_id() && back.span_id() == ctx.span_id());
  SKEIN_FUZZ_CHECK(back.trace_state() == ctx.trace_state());
  SKEIN_FUZZ_CHECK(back.baggage() == ctx.baggage());
  return 0;
}
