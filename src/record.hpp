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
#include "skein/exporter.hpp"
#include "skein/span.hpp"
#include "skein/value.hpp"

namespace skein::detail {

class TracerCore;
struct ThreadBuffer;

/// A bump allocator in blocks. `reset()` keeps the memory (up to a cap) for the next span.
class Arena {
 public:
  static constexpr std::size_t kFirstBlock = 1024;
  static constexpr std::size_t kKeepBytes = 64 * 1024;

  char* alloc(std::size_t n, std::size_t align = 1) noexcept;
  std::string_view copy(std::string_view s) noexcept {
    if (s.empty()) return {};
    char* p = alloc(s.size());
    if (p == nullptr) return {};
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }
  void reset() noexcept;

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;
  };
  std::vector<Block> blocks_;
  std::size_t block_ = 0;  // current block
  std::size_t used_ = 0;   // bytes used in the current block
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
  std::uint32_t attr_begin = 0, attr_count = 0;
};

/// Where flattened attributes go.
enum class AttrTarget : std::uint8_t { span, event, link };

struct SpanRecord {
  // Identity and timing.
  TraceId trace;
  SpanId span;
  SpanId parent;
  std::uint8_t flags = 0;
  bool parent_remote = false;
  std::shared_ptr<const ContextExtras> extras;
  std::string_view name;
  SpanKind kind = SpanKind::internal;
  EventType type = EventType::generic;
  StatusCode status = StatusCode::unset;
  std::string_view status_message;
  std::uint64_t start_ticks = 0, end_ticks = 0;

  // Collected data.
  std::vector<Attribute> attrs;
  std::vector<EventRec> events;
  std::vector<Attribute> event_attrs;
  std::vector<LinkRec> links;
  std::vector<Attribute> link_attrs;
  Arena arena;
  std::uint32_t dropped_attrs = 0, dropped_events = 0, dropped_links = 0, truncated = 0;
  std::uint32_t callback_failures = 0;

  // Ownership.
  TracerCore* core = nullptr;
  ThreadBuffer* home = nullptr;
  SpanRecord* next_free = nullptr;

  SpanRecord() {
    attrs.reserve(16);
  }

  /// Clears the data for reuse (keeping capacity).
  void reset() noexcept;

  /// Adds `value` under `key`, flattening maps and lists. `lists_as_arrays`: homogeneous scalar
  /// lists become one array attribute (Span::set) rather than `key.0`, `key.1` (enrich_span).
  void set(AttrTarget target, std::string_view prefix, std::string_view key, const Value& value,
           bool lists_as_arrays) noexcept;
  /// Adds one scalar attribute (the key is copied).
  void add_scalar(AttrTarget target, std::string_view key, const Value& value) noexcept;

  std::vector<Attribute>& target_vector(AttrTarget t) noexcept {
    return t == AttrTarget::span ? attrs : (t == AttrTarget::event ? event_attrs : link_attrs);
  }
  /// Removes earlier duplicates of a key, keeping the last value in the position of the last set.
  void dedupe_attributes() noexcept;
};

}  // namespace skein::detail
