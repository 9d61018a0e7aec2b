// Resource usage of a span (SpanOptions::resources): readings at start, attributes at the end.
#pragma once

namespace skein::detail {

struct SpanRecord;

/// Span start: takes the readings (RSS too when `rss`) into the record's arena (`r.resources`).
void begin_resources(SpanRecord& r, bool rss) noexcept;
/// Span end (on the thread that ends it): the deltas as `resources.*` attributes; clears
/// `r.resources`.
void finish_resources(SpanRecord& r) noexcept;

}  // namespace skein::detail
