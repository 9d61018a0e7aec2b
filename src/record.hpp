// The span record: a fixed-shape object from a per-thread pool that holds everything a span
// collects. Strings are copied into the record's arena; the containers keep their capacity when a
// record is reused, so a warmed-up thread records spans without touching the heap.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "skein/context.hpp"
#include "skein/enrich.hpp"
#include "skein/exporter.hpp"
#include "skein/span.hpp"
#include "skein/value.hpp"

namespace skein::detail {

class TracerCore;
struct ThreadBuffer;
struct ResourceStart;  // resources.cpp

/// Copies a short string with a few fixed-size moves instead of a call into libc's memcpy (most
/// keys and values on a span are under 32 bytes; measured ~4 ns less per attribute).
inline void copy_short(char* d, const char* s, std::size_t n) noexcept {
  if (n >= 16) {
    if (n > 32) {
      std::memcpy(d, s, n);
      return;
    }
    std::memcpy(d, s, 16);
    std::memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(d, s, 8);
    std::memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(d, s, 4);
    std::memcpy(d + n - 4, s + n - 4, 4);
  } else {
    for (std::size_t i = 0; i < n; ++i) d[i] = s[i];
  }
}

/// A bump allocator in blocks. `reset()` keeps the memory (up to a cap) for the next span.
class Arena {
 public:
  static constexpr std::size_t kFirstBlock = 1024;
  static constexpr std::size_t kKeepBytes = 64 * 1024;

  char* alloc(std::size_t n, std::size_t align = 1) noexcept {
    std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (at + n <= cap_) {
      used_ = at + n;
      return cur_ + at;
    }
    return alloc_slow(n, align);
  }
  std::string_view copy(std::string_view s) noexcept {
    if (s.empty()) return {};
    char* p = alloc(s.size());
    if (p == nullptr) return {};
    copy_short(p, s.data(), s.size());
    return {p, s.size()};
  }
  void reset() noexcept {
    used_ = 0;
    if (block_ != 0) [[unlikely]]
      reset_blocks();  // more than one block: back to the first, trimmed
  }

 private:
  void reset_blocks() noexcept;
  char* alloc_slow(std::size_t n, std::size_t align) noexcept;
  struct Block {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;
  };
  char* cur_ = nullptr;    // the current block's memory
  std::size_t cap_ = 0;    // its size
  std::size_t used_ = 0;   // bytes used in it
  std::size_t block_ = 0;  // its index
  std::vector<Block> blocks_;
};

struct EventRec {
  std::string_view name;
  std::uint64_t ticks = 0;
  std::uint32_t attr_begin = 0, attr_count = 0;
};

struct LinkRec {
  TraceId trace;
  SpanId span;
  std::uint8_t flags = 0;
  bool remote = false;
  std::uint32_t attr_begin = 0, attr_count = 0;
  std::string_view trace_state;  // the linked context's W3C tracestate, in the arena
};

/// Where flattened attributes go.
enum class AttrTarget : std::uint8_t { span, event, link };

// Cache-line aligned so that two records never share a line between the producing thread and
// the pipeline thread. Hot fields first.
struct alignas(64) SpanRecord {
  // The pipeline thread reads the first two cache lines of every record; everything else only
  // when `rare` says there is something there (events, links, trace state or baggage, a drop or
  // truncation counted). The order matters: keep what every span needs up front.

  // Line 0: identity, timing, flags.
  TraceId trace;
  SpanId span;
  SpanId parent;
  std::uint64_t start_ticks = 0, end_ticks = 0;
  double sampling_probability = -1;  // set on local roots that a sampler decided
  std::uint8_t flags = 0;
  bool parent_remote = false;
  SpanKind kind = SpanKind::internal;
  EventType type = EventType::generic;
  StatusCode status = StatusCode::unset;
  bool rare = false;     // see above
  bool discard = false;  // dropped on another thread: the pipeline only sends it home

  // Line 1: name, user attributes, where the record goes back to.
  std::string_view name;
  std::vector<Attribute> attrs;
  ThreadBuffer* home = nullptr;
  std::string_view status_message;

  // Read only when `rare`.
  std::shared_ptr<const ContextExtras> extras;
  std::uint32_t dropped_attrs = 0, dropped_events = 0, dropped_links = 0, truncated = 0;
  std::uint32_t callback_failures = 0;
  std::vector<EventRec> events;
  std::vector<Attribute> event_attrs;
  std::vector<LinkRec> links;
  std::vector<Attribute> link_attrs;

  // Producer side only.
  Arena arena;
  std::uint32_t max_attrs = 1024, max_value_length = 65536;  // from the tracer's options
  TracerCore* core = nullptr;
  // Set when the span measures its resource usage (SpanOptions::resources): the readings at start,
  // in the arena. Next to `core`, which Span::finish reads anyway; cleared by finish_resources.
  ResourceStart* resources = nullptr;
  SpanRecord* next_free = nullptr;

  SpanRecord() { attrs.reserve(16); }

  /// Clears the data for reuse (keeping capacity). Inline, and the fields read only when `rare`
  /// are cleared only when it is set: every write to one of them sets `rare` (~25 instructions a
  /// span fewer).
  void reset() noexcept {
    name = {};
    status = StatusCode::unset;
    status_message = {};
    sampling_probability = -1;
    type = EventType::generic;
    kind = SpanKind::internal;
    attrs.clear();
    arena.reset();
    if (rare) [[unlikely]]
      reset_rare();
    discard = false;
  }
  void reset_rare() noexcept;

  /// Adds `value` under `key`, flattening maps and lists. `lists_as_arrays`: homogeneous scalar
  /// lists become one array attribute (Span::set) rather than `key.0`, `key.1` (enrich_span).
  void set(AttrTarget target, std::string_view prefix, std::string_view key, const Value& value,
           bool lists_as_arrays) noexcept;
  /// Adds one scalar attribute (the key is copied).
  void add_scalar(AttrTarget target, std::string_view key, const Value& value) noexcept;
  /// Adds one scalar attribute under `prefix.key` (built once, in the arena).
  void add_scalar(AttrTarget target, std::string_view prefix, std::string_view key,
                  const Value& value) noexcept;
  /// Adds one scalar attribute whose key already lives in the arena (or is static).
  void add_scalar_stored_key(AttrTarget target, std::string_view stored_key,
                             const Value& value) noexcept {
    std::vector<Attribute>& vec = target_vector(target);
    if (vec.size() >= max_attrs && !make_room(target, stored_key)) return;
    // The attribute is written in place: building an AttrValue in a local and copying it made
    // the copy's 16-byte load wait on two narrower stores (no store-to-load forwarding), ~10 ns
    // per attribute.
    if (vec.size() == vec.capacity()) [[unlikely]] {
      if (!grow(vec)) return;
    }
    Attribute& a = vec.emplace_back();
    a.key = stored_key;
    switch (value.kind()) {
      case Value::Kind::boolean: a.value = AttrValue(value.as_bool()); break;
      case Value::Kind::int64: a.value = AttrValue(value.as_int()); break;
      case Value::Kind::float64: a.value = AttrValue(value.as_double()); break;
      case Value::Kind::string: a.value = AttrValue(store_string(value.as_string())); break;
      default: break;  // null: an empty value
    }
  }
  /// Copies a string value into the arena, cut to the length limit (counted).
  std::string_view store_string(std::string_view s) noexcept {
    if (s.size() > max_value_length) [[unlikely]]
      return store_cut(s);
    return arena.copy(s);
  }

  std::vector<Attribute>& target_vector(AttrTarget t) noexcept {
    return t == AttrTarget::span ? attrs : (t == AttrTarget::event ? event_attrs : link_attrs);
  }
  /// At the attribute limit: dedupes, and counts a drop when still full, unless `key` replaces
  /// an attribute already there (the last value wins). Events and links have the limit each.
  /// True if there is room.
  bool make_room(AttrTarget target, std::string_view key) noexcept;
  std::string_view store_cut(std::string_view s) noexcept;
  void push_slow(std::vector<Attribute>& vec, const Attribute& a) noexcept;
  /// Makes room for one more attribute (counted as dropped when memory runs out).
  bool grow(std::vector<Attribute>& vec) noexcept;
  /// Removes earlier duplicates of a key, keeping the last value in the position of the last set.
  void dedupe_attributes() noexcept;
};

/// Adds an Enrichment's namespaces (metadata … user_properties, not `error`) to a record, as
/// enrich_span does.
void enrich_namespaces(SpanRecord& record, const Enrichment& e) noexcept;

}  // namespace skein::detail
