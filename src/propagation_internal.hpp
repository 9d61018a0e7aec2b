// Propagation pieces the tracer core uses at span start.
#pragma once

#include <string>
#include <vector>

namespace skein::detail {

struct SpanRecord;

/// Copies the baggage entries whose key is listed in `keys` onto the span as string attributes
/// (same key). Called only when the span's context carries baggage.
void copy_baggage_attributes(SpanRecord& r, const std::vector<std::string>& keys) noexcept;

}  // namespace skein::detail
