// The span record: a fixed-shape object from a per-thread pool that holds everything a span
// collects. Strings are copied into the record's arena; the containers keep their capacity when a
// record is reused, so a warmed-up thread records spans without touching the heap.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
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

/// Copies n <= 32 bytes with a few fixed-size moves, without a call on any path (most keys and
/// values on a span are under 32 bytes; measured ~4 ns less per attribute than libc's memcpy).
[[gnu::always_inline]] inline void copy_upto32(char* d, const char* s, std::size_t n) noexcept {
  if (n >= 16) {
    std::memcpy(d, s, 16);
    std::memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(d, s, 8);
    std::memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(d, s, 4);
    std::memcpy(d + n - 4, s + n - 4, 4);
  } else if (n > 0) {
    d[0] = s[0];
    d[n / 2] = s[n / 2];
    d[n - 1] = s[n - 1];
  }
}

/// Copies a string of any length: short ones as copy_upto32, longer ones with memcpy.
inline void copy_short(char* d, const char* s, std::size_t n) noexcept {
  if (n > 32) {
    std::memcpy(d, s, n);
    return;
  }
  copy_upto32(d, s, n);
}

/// One of 64 bits, from a key's length and its first and last byte: equal keys get the same bit
/// (may_have_duplicates, SpanRecord::decode_compact).
[[gnu::always_inline]] inline std::uint64_t key_signature_bit(std::string_view key) noexcept {
  const std::size_t len = key.size();
  std::uint64_t sig = len;
  if (len != 0) {
    sig |= std::uint64_t{static_cast<unsigned char>(key[0])} << 32 |
           std::uint64_t{static_cast<unsigned char>(key[len - 1])} << 40;
  }
  return 1ULL << ((sig * 0x9E3779B97F4A7C15ULL) >> 58);
}

/// The attribute type of a scalar Value kind: the two enums number the scalars alike.
[[gnu::always_inline]] constexpr AttrValue::Type scalar_type(Value::Kind k) noexcept {
  return static_cast<AttrValue::Type>(k);
}
static_assert(scalar_type(Value::Kind::null) == AttrValue::Type::empty &&
              scalar_type(Value::Kind::boolean) == AttrValue::Type::boolean &&
              scalar_type(Value::Kind::int64) == AttrValue::Type::int64 &&
              scalar_type(Value::Kind::float64) == AttrValue::Type::float64 &&
              scalar_type(Value::Kind::string) == AttrValue::Type::string);

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
  /// alloc() in the current block only: null when it has no room (no call, no new block).
  char* try_alloc(std::size_t n) noexcept {
    if (used_ + n > cap_) return nullptr;  // also with no block yet (cap_ 0), unless n is 0
    char* p = cur_ + used_;
    used_ += n;
    return p;
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

/// A growable array of attributes that keeps its capacity when a record is reused. std::vector's
/// emplace_back carries its reallocation path inline, which made g++ build a frame and save six
/// registers on every attribute a span records; here appending is a bounds check and a few
/// stores, and growing is a separate call (reserve()).
class AttrList {
 public:
  AttrList() = default;
  AttrList(const AttrList&) = delete;
  AttrList& operator=(const AttrList&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] bool full() const noexcept { return size_ == cap_; }
  Attribute* data() noexcept { return data_.get(); }
  const Attribute* data() const noexcept { return data_.get(); }
  Attribute* begin() noexcept { return data_.get(); }
  Attribute* end() noexcept { return data_.get() + size_; }
  const Attribute* begin() const noexcept { return data_.get(); }
  const Attribute* end() const noexcept { return data_.get() + size_; }
  Attribute& operator[](std::size_t i) noexcept { return data_[i]; }
  const Attribute& operator[](std::size_t i) const noexcept { return data_[i]; }
  operator std::span<const Attribute>() const noexcept { return {data_.get(), size_}; }

  void clear() noexcept { size_ = 0; }
  /// Keeps the first `n` attributes (n <= size()); or, after writing them past the end through
  /// data(), takes in the first `n` (n <= capacity()).
  void truncate(std::size_t n) noexcept { size_ = static_cast<std::uint32_t>(n); }
  /// The next slot. Precondition: !full().
  Attribute& append() noexcept { return data_[size_++]; }
  /// Room for at least `n` attributes; false (nothing changed) when memory runs out.
  bool reserve(std::size_t n) noexcept;

 private:
  std::unique_ptr<Attribute[]> data_;
  std::uint32_t size_ = 0, cap_ = 0;
};

/// Where flattened attributes go.
enum class AttrTarget : std::uint8_t { span, event, link };

// Cache-line aligned so that two records never share a line between the producing thread and
// the pipeline thread. Hot fields first.
struct alignas(64) SpanRecord {
  // The pipeline thread reads the first two cache lines of every record and the used part of
  // `compact` (lines 2-4); the attribute list and the arena only when the span has attributes
  // there, and everything else only when `rare` says there is something there (events, links,
  // trace state or baggage, a drop or truncation counted). The order matters: keep what every
  // span needs up front.

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
  bool rare = false;           // see above
  bool discard = false;        // dropped on another thread: the pipeline only sends it home
  std::uint8_t compact_n = 0;  // attributes in `compact` (then `attrs` is empty)

  // Line 1: name, user attributes, where the record goes back to.
  std::string_view name;
  AttrList attrs;
  ThreadBuffer* home = nullptr;
  std::string_view status_message;
  std::uint16_t compact_used = 0;  // bytes of `compact` in use (the name's too)
  std::uint8_t compact_begin = 0;  // where its attributes start (after the name, when there)

  // Lines 2-4: the name and the first attributes, packed (see try_add_scalar_impl). A span's
  // data sits in the three lines after its header instead of in five to seven lines spread over
  // the attribute list, the arena and the record: the pipeline thread reads every one of them,
  // and each line it reads is a line the application thread must take back when it reuses the
  // record (docs/design.md, "Where the time goes today").
  static constexpr std::size_t kCompactBytes = 192;
  alignas(64) unsigned char compact[kCompactBytes];

  // Line 5: the application thread's own (the pipeline never reads it), in one line: what
  // acquiring, filling and ending a record reads besides the lines above.
  alignas(64) std::uint32_t max_attrs = 1024;
  std::uint32_t max_value_length = 65536;  // from the tracer's options
  TracerCore* core = nullptr;
  // Set when the span measures its resource usage (SpanOptions::resources): the readings at start,
  // in the arena. Next to `core`, which Span::finish reads anyway; cleared by finish_resources.
  ResourceStart* resources = nullptr;
  SpanRecord* next_free = nullptr;
  Arena arena;  // its first 32 bytes (block, size, use) end the line; its block list follows

  // Read only when `rare`.
  std::shared_ptr<const ContextExtras> extras;
  std::uint32_t dropped_attrs = 0, dropped_events = 0, dropped_links = 0, truncated = 0;
  std::uint32_t callback_failures = 0;
  std::vector<EventRec> events;
  AttrList event_attrs;
  std::vector<LinkRec> links;
  AttrList link_attrs;

  SpanRecord() { attrs.reserve(16); }

  /// Clears the data for reuse (keeping capacity). Inline, and the fields read only when `rare`
  /// are cleared only when it is set: every write to one of them sets `rare` (~25 instructions a
  /// span fewer). The identity fields, name, kind, type and sampling probability are not cleared:
  /// TracerCore::start_span writes every one of them.
  void reset() noexcept {
    status = StatusCode::unset;
    status_message = {};
    attrs.clear();
    compact_n = 0;
    compact_used = 0;
    compact_begin = 0;
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
    if (target == AttrTarget::span) spill_compact();
    AttrList& vec = target_vector(target);
    if (vec.size() >= max_attrs && !make_room(target, stored_key)) return;
    // The attribute is written in place: building an AttrValue in a local and copying it made
    // the copy's 16-byte load wait on two narrower stores (no store-to-load forwarding), ~10 ns
    // per attribute.
    if (vec.full()) [[unlikely]] {
      if (!grow(vec)) return;
    }
    Attribute& a = vec.append();
    a.key = stored_key;
    switch (value.kind()) {
      case Value::Kind::boolean: a.value = AttrValue(value.as_bool()); break;
      case Value::Kind::int64: a.value = AttrValue(value.as_int()); break;
      case Value::Kind::float64: a.value = AttrValue(value.as_double()); break;
      case Value::Kind::string: a.value = AttrValue(store_string(value.as_string())); break;
      default: break;  // null: an empty value
    }
  }
  /// The span's name, at start (on a reset record): in `compact` when it has at most 32 bytes,
  /// else in the arena.
  [[gnu::always_inline]] void store_name(std::string_view n) noexcept {
    if (n.size() > 32) [[unlikely]] {
      name = arena.copy(n);
      return;
    }
    char* p = reinterpret_cast<char*>(compact);
    copy_upto32(p, n.data(), n.size());
    name = std::string_view(p, n.size());
    compact_used = compact_begin = static_cast<std::uint8_t>(n.size());
  }

  /// The common attribute: a scalar under a key of at most 32 bytes (a string value of at most
  /// 32 bytes too). While the span's attributes are all packed in `compact` and there is room
  /// there, it goes there: one entry of [type, key size, value size, key bytes, value bytes] (8
  /// bytes for a number, a boolean or null). Once they are in `attrs` (a span with more
  /// attributes than `compact` holds, or one that took the general path), it goes there, its key
  /// and value copied into one arena allocation. False, with nothing written, when none of that
  /// holds: the caller then takes the general path (set()), which first moves the packed
  /// attributes into `attrs` (spill_compact) and handles every case. Inline, and without a call
  /// on any of its paths, so that its callers need no frame: the general path's three calls cost
  /// ~90 instructions per attribute.
  [[gnu::always_inline]] bool try_add_scalar(std::string_view key, const Value& value) noexcept {
    return try_add_scalar_impl<0>({}, key, value);
  }
  /// try_add_scalar() under `dotted` + key, where `dotted` is a namespace prefix with its dot
  /// ("honeyhive_metadata.") of 16 to 32 bytes: copied with two fixed moves, no size branches.
  [[gnu::always_inline]] bool try_add_scalar_dotted(std::string_view dotted, std::string_view key,
                                                    const Value& value) noexcept {
    return try_add_scalar_impl<2>(dotted, key, value);
  }
  /// Writes the key of try_add_scalar_impl<kMode> at p.
  template <int kMode>
  [[gnu::always_inline]] static void put_key(char* p, std::string_view prefix,
                                             std::string_view key) noexcept {
    if constexpr (kMode == 2) {
      const std::size_t n = prefix.size();  // 16 <= n <= 32
      std::memcpy(p, prefix.data(), 16);
      std::memcpy(p + n - 16, prefix.data() + n - 16, 16);
      copy_upto32(p + n, key.data(), key.size());
    } else {
      copy_upto32(p, key.data(), key.size());
    }
  }
  /// kMode 0: no prefix; 2: `dotted` + key (see try_add_scalar_dotted).
  template <int kMode>
  [[gnu::always_inline]] bool try_add_scalar_impl(std::string_view prefix, std::string_view key,
                                                  const Value& value) noexcept {
    const Value::Kind k = value.kind();
    if (!value.is_scalar()) return false;
    const std::string_view s = k == Value::Kind::string ? value.as_string() : std::string_view{};
    if (key.size() > 32 || s.size() > 32 || s.size() > max_value_length) return false;
    static_assert(kMode == 0 || kMode == 2);
    const std::size_t key_size = kMode == 0 ? key.size() : prefix.size() + key.size();
    if (attrs.empty()) [[likely]] {
      const std::size_t value_size = k == Value::Kind::string ? s.size() : 8;
      const std::size_t at = compact_used;
      if (compact_n >= max_attrs || at + 3 + key_size + value_size > kCompactBytes) return false;
      unsigned char* e = compact + at;
      char* p = reinterpret_cast<char*>(e + 3);
      put_key<kMode>(p, prefix, key);
      p += key_size;
      e[1] = static_cast<unsigned char>(key_size);
      e[2] = static_cast<unsigned char>(value_size);
      // A switch with constant types here, not the 8 bytes of scalar_bits as in the listed path
      // below: g++ then gives Span::set a frame (552 -> 564 instructions a sampled span).
      switch (k) {
        case Value::Kind::boolean: {
          e[0] = static_cast<unsigned char>(AttrValue::Type::boolean);
          const std::int64_t b = value.as_bool() ? 1 : 0;
          std::memcpy(p, &b, 8);
          break;
        }
        case Value::Kind::int64: {
          e[0] = static_cast<unsigned char>(AttrValue::Type::int64);
          const std::int64_t i = value.as_int();
          std::memcpy(p, &i, 8);
          break;
        }
        case Value::Kind::float64: {
          e[0] = static_cast<unsigned char>(AttrValue::Type::float64);
          const double d = value.as_double();
          std::memcpy(p, &d, 8);
          break;
        }
        case Value::Kind::string:
          e[0] = static_cast<unsigned char>(AttrValue::Type::string);
          copy_upto32(p, s.data(), s.size());
          break;
        default:  // null: an empty value
          e[0] = static_cast<unsigned char>(AttrValue::Type::empty);
          std::memset(p, 0, 8);
          break;
      }
      compact_used = static_cast<std::uint16_t>(at + 3 + key_size + value_size);
      ++compact_n;
      return true;
    }
    if (attrs.full() || attrs.size() >= max_attrs) return false;
    char* p = arena.try_alloc(key_size + s.size());
    if (p == nullptr) return false;
    put_key<kMode>(p, prefix, key);
    Attribute& a = attrs.append();
    a.key = std::string_view(p, key_size);
    if (k == Value::Kind::string) {
      copy_upto32(p + key_size, s.data(), s.size());
      a.value = AttrValue(std::string_view(p + key_size, s.size()));
    } else {
      a.value = AttrValue::from_bits(scalar_type(k), value.scalar_bits());
    }
    return true;
  }
  /// Views of the packed attributes, written to out[0 .. compact_n): keys and strings point
  /// into `compact`, valid until the record is reset. Returns may_have_duplicates() of them,
  /// worked out in the same pass.
  bool decode_compact(Attribute* out) const noexcept {
    const unsigned char* e = compact + compact_begin;
    std::uint64_t mask = 0;
    bool collided = false;
    for (std::size_t i = 0; i < compact_n; ++i) {
      const auto type = static_cast<AttrValue::Type>(e[0]);
      const std::size_t key_size = e[1], value_size = e[2];
      const char* p = reinterpret_cast<const char*>(e + 3);
      out[i].key = std::string_view(p, key_size);
      const std::uint64_t bit = key_signature_bit(out[i].key);
      collided = collided || (mask & bit) != 0;
      mask |= bit;
      p += key_size;
      if (type == AttrValue::Type::string) {
        out[i].value = AttrValue(std::string_view(p, value_size));
      } else {  // a boolean, integer, double or empty value: its 8 bytes
        std::uint64_t bits;
        std::memcpy(&bits, p, 8);
        out[i].value = AttrValue::from_bits(type, bits);
      }
      e += 3 + key_size + value_size;
    }
    return collided;
  }
  /// Moves the packed attributes into `attrs` (as views into `compact`, which keeps its bytes),
  /// so that every path but try_add_scalar's works on `attrs` alone. Any thread that owns the
  /// record: the application's before a general set, the pipeline's when short of memory.
  void spill_compact() noexcept {
    if (compact_n != 0) [[unlikely]]
      spill_compact_slow();
  }
  void spill_compact_slow() noexcept;
  /// Copies a string value into the arena, cut to the length limit (counted).
  std::string_view store_string(std::string_view s) noexcept {
    if (s.size() > max_value_length) [[unlikely]]
      return store_cut(s);
    return arena.copy(s);
  }

  AttrList& target_vector(AttrTarget t) noexcept {
    return t == AttrTarget::span ? attrs : (t == AttrTarget::event ? event_attrs : link_attrs);
  }
  /// At the attribute limit: dedupes, and counts a drop when still full, unless `key` replaces
  /// an attribute already there (the last value wins). Events and links have the limit each.
  /// True if there is room.
  bool make_room(AttrTarget target, std::string_view key) noexcept;
  std::string_view store_cut(std::string_view s) noexcept;
  void push_slow(AttrList& vec, const Attribute& a) noexcept;
  /// Makes room for one more attribute (counted as dropped when memory runs out).
  bool grow(AttrList& vec) noexcept;
  /// Removes earlier duplicates of a key, keeping the last value in the position of the last set.
  void dedupe_attributes() noexcept;
};

/// False when no two of the n keys can be equal: one pass with a 64-bit mask of hashed key
/// signatures (key_signature_bit), without a call. True on any collision (likely past ~10 keys).
[[nodiscard]] inline bool may_have_duplicates(const Attribute* a, std::size_t n) noexcept {
  std::uint64_t mask = 0;
  bool collided = false;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t bit = key_signature_bit(a[i].key);
    collided = collided || (mask & bit) != 0;
    mask |= bit;
  }
  return collided;
}
/// Removes earlier duplicates of a key from a[0 .. n), keeping the last value in the position of
/// the last set; returns how many are left.
std::size_t dedupe_slow(Attribute* a, std::size_t n) noexcept;
[[nodiscard]] inline std::size_t dedupe(Attribute* a, std::size_t n) noexcept {
  // Past 64 keys the mask all but surely has a collision: straight to the real check.
  if (n >= 2 && (n > 64 || may_have_duplicates(a, n))) [[unlikely]]
    return dedupe_slow(a, n);
  return n;
}
inline void SpanRecord::dedupe_attributes() noexcept {
  attrs.truncate(dedupe(attrs.data(), attrs.size()));
}

/// Adds an Enrichment's namespaces (metadata … user_properties, not `error`) to a record, as
/// enrich_span does.
void enrich_namespaces(SpanRecord& record, const Enrichment& e) noexcept;

}  // namespace skein::detail
