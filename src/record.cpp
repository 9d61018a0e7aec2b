#include "record.hpp"

#include <algorithm>
#include <cstddef>
#include <new>
#include <string>

#include "core.hpp"

namespace skein::detail {

// The layout SpanRecord's comments describe: the pipeline reads lines 0 and 1, and `compact`
// (lines 2-4) as far as it is used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(SpanRecord, compact_n) < 64);
static_assert(offsetof(SpanRecord, compact_begin) < 128 && offsetof(SpanRecord, home) < 128);
static_assert(offsetof(SpanRecord, compact) == 128);
// An entry takes at least 3 bytes, so a record packs at most 64 attributes: few enough for the
// one-mask duplicate check of decode_compact to decide (dedupe() does the same below 65 keys).
static_assert(SpanRecord::kCompactBytes / 3 <= 64);
static_assert(offsetof(SpanRecord, max_attrs) == 320 && offsetof(SpanRecord, arena) + 32 == 384);
#pragma GCC diagnostic pop

char* Arena::alloc_slow(std::size_t n, std::size_t align) noexcept {
  for (;;) {
    if (block_ + 1 < blocks_.size()) {  // a kept block
      ++block_;
      cur_ = blocks_[block_].data.get();
      cap_ = blocks_[block_].size;
      used_ = 0;
    } else {
      std::size_t last = blocks_.empty() ? kFirstBlock / 2 : blocks_.back().size;
      std::size_t size = std::max(n + align, last * 2);
      std::unique_ptr<char[]> p(new (std::nothrow) char[size]);
      if (!p) return nullptr;
      try {
        blocks_.push_back(Block{std::move(p), size});
      } catch (...) {
        return nullptr;
      }
      block_ = blocks_.size() - 1;
      cur_ = blocks_.back().data.get();
      cap_ = size;
      used_ = 0;
    }
    std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (at + n <= cap_) {
      used_ = at + n;
      return cur_ + at;
    }
  }
}

void Arena::reset_blocks() noexcept {
  block_ = 0;
  cur_ = blocks_[0].data.get();
  cap_ = blocks_[0].size;
  std::size_t kept = 0, i = 0;
  for (; i < blocks_.size(); ++i) {
    if (kept + blocks_[i].size > kKeepBytes && i > 0) break;
    kept += blocks_[i].size;
  }
  blocks_.resize(i);
  block_ = 0;
  used_ = 0;
}

void SpanRecord::reset_rare() noexcept {
  extras.reset();
  events.clear();
  event_attrs.clear();
  links.clear();
  link_attrs.clear();
  dropped_attrs = dropped_events = dropped_links = truncated = callback_failures = 0;
  rare = false;
}

namespace {

// Cuts a string to `limit` bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s, std::size_t limit) noexcept {
  if (s.size() <= limit) return s;
  std::size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

ScalarType scalar_of(const Value& v) noexcept {
  switch (v.kind()) {
    case Value::Kind::boolean: return ScalarType::boolean;
    case Value::Kind::int64: return ScalarType::int64;
    case Value::Kind::float64: return ScalarType::float64;
    case Value::Kind::string: return ScalarType::string;
    default: return ScalarType::none;
  }
}

// Collects the elements of a custom homogeneous range.
struct Collector final : ValueWriter {
  std::vector<Value>* out;
  explicit Collector(std::vector<Value>* o) : out(o) {}
  void field(std::string_view, const Value& v) override { out->push_back(v); }
  void element(const Value& v) override { out->push_back(v); }
};

class Flattener;

}  // namespace

// Flattening with a path buffer shared by the recursion.
namespace {
class Flattener final : public ValueWriter {
 public:
  Flattener(SpanRecord& r, AttrTarget t, std::string& path, bool arrays)
      : r_(r), t_(t), path_(path), arrays_(arrays) {}

  void put(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::list: {
        const Value* d = v.list_data();
        std::size_t n = v.list_size();
        if (arrays_ && n > 0) {
          ScalarType t = scalar_of(d[0]);
          bool same = t != ScalarType::none;
          for (std::size_t i = 1; same && i < n; ++i) same = scalar_of(d[i]) == t;
          if (same) return add_array(t, d, n);
        }
        for (std::size_t i = 0; i < n; ++i) element(d[i]);
        return;
      }
      case Value::Kind::map: {
        const Field* f = v.map_data();
        for (std::size_t i = 0; i < v.map_size(); ++i) field(f[i].key, f[i].value);
        return;
      }
      case Value::Kind::custom: {
        if (arrays_ && !v.is_map_like() && v.element_type() != ScalarType::none) {
          thread_local std::vector<Value> items;
          std::size_t base = items.size();  // re-entrancy safe: nested collections append
          Collector c(&items);
          v.visit(c);
          add_array(v.element_type(), items.data() + base, items.size() - base);
          items.resize(base);
          return;
        }
        std::size_t saved_index = index_;
        index_ = 0;
        v.visit(*this);
        index_ = saved_index;
        return;
      }
      default: r_.add_scalar(t_, path_, v);
    }
  }

  void field(std::string_view key, const Value& v) override {
    std::size_t len = path_.size();
    if (!path_.empty()) path_ += '.';
    path_ += key;
    std::size_t saved_index = index_;
    index_ = 0;
    put(v);
    index_ = saved_index;
    path_.resize(len);
  }

  void element(const Value& v) override {
    std::size_t len = path_.size();
    if (!path_.empty()) path_ += '.';
    path_ += std::to_string(index_++);
    std::size_t saved_index = index_;
    index_ = 0;
    put(v);
    index_ = saved_index;
    path_.resize(len);
  }

 private:
  void add_array(ScalarType t, const Value* d, std::size_t n) {
    AttrList& vec = r_.target_vector(t_);
    if (vec.size() >= r_.max_attrs && !r_.make_room(t_, path_)) return;
    Arena& a = r_.arena;
    AttrValue value;
    switch (t) {
      case ScalarType::boolean: {
        auto* p = reinterpret_cast<bool*>(a.alloc(n * sizeof(bool), alignof(bool)));
        if (p == nullptr) return;
        for (std::size_t i = 0; i < n; ++i) p[i] = d[i].as_bool();
        value = AttrValue(AttrValue::Type::bool_array, p, n);
        break;
      }
      case ScalarType::int64: {
        auto* p = reinterpret_cast<std::int64_t*>(a.alloc(n * 8, 8));
        if (p == nullptr) return;
        for (std::size_t i = 0; i < n; ++i) p[i] = d[i].as_int();
        value = AttrValue(AttrValue::Type::int64_array, p, n);
        break;
      }
      case ScalarType::float64: {
        auto* p = reinterpret_cast<double*>(a.alloc(n * 8, 8));
        if (p == nullptr) return;
        for (std::size_t i = 0; i < n; ++i) p[i] = d[i].as_double();
        value = AttrValue(AttrValue::Type::float64_array, p, n);
        break;
      }
      case ScalarType::string: {
        auto* p = reinterpret_cast<std::string_view*>(
            a.alloc(n * sizeof(std::string_view), alignof(std::string_view)));
        if (p == nullptr) return;
        for (std::size_t i = 0; i < n; ++i)
          new (&p[i]) std::string_view(r_.store_string(d[i].as_string()));
        value = AttrValue(AttrValue::Type::string_array, p, n);
        break;
      }
      case ScalarType::none: return;
    }
    r_.push_slow(vec, Attribute{a.copy(path_), value});
  }

  SpanRecord& r_;
  AttrTarget t_;
  std::string& path_;
  bool arrays_;
  std::size_t index_ = 0;
};
}  // namespace

void SpanRecord::add_scalar(AttrTarget target, std::string_view key, const Value& v) noexcept {
  add_scalar_stored_key(target, arena.copy(key), v);
}

void SpanRecord::add_scalar(AttrTarget target, std::string_view prefix, std::string_view key,
                            const Value& v) noexcept {
  const std::size_t n = prefix.size() + 1 + key.size();
  char* p = arena.alloc(n);
  if (p == nullptr) {
    {
      ++dropped_attrs;
      rare = true;
    }
    return;
  }
  copy_short(p, prefix.data(), prefix.size());
  p[prefix.size()] = '.';
  copy_short(p + prefix.size() + 1, key.data(), key.size());
  add_scalar_stored_key(target, std::string_view(p, n), v);
}

bool SpanRecord::make_room(AttrTarget target, std::string_view key) noexcept {
  if (target == AttrTarget::span) {
    spill_compact();
    dedupe_attributes();
    if (attrs.size() < max_attrs) return true;
    // Not a new attribute: the export's dedupe keeps this last value.
    for (const Attribute& a : attrs) {
      if (a.key == key) return true;
    }
  } else {
    // Count only the attributes of the event or link being built (they follow the last one).
    std::size_t begin = 0;
    if (target == AttrTarget::event && !events.empty()) {
      begin = events.back().attr_begin + events.back().attr_count;
    } else if (target == AttrTarget::link && !links.empty()) {
      begin = links.back().attr_begin + links.back().attr_count;
    }
    if (target_vector(target).size() - begin < max_attrs) return true;
  }
  {
    ++dropped_attrs;
    rare = true;
  }
  return false;
}

std::string_view SpanRecord::store_cut(std::string_view s) noexcept {
  {
    ++truncated;
    rare = true;
  }
  return arena.copy(cut_utf8(s, max_value_length));
}

bool AttrList::reserve(std::size_t n) noexcept {
  if (n <= cap_) return true;
  if (n > UINT32_MAX) return false;
  std::unique_ptr<Attribute[]> p(new (std::nothrow) Attribute[n]);
  if (!p) return false;
  std::copy(begin(), end(), p.get());
  data_ = std::move(p);
  cap_ = static_cast<std::uint32_t>(n);
  return true;
}

bool SpanRecord::grow(AttrList& vec) noexcept {
  if (vec.reserve(vec.size() * 2 + 8)) return true;
  ++dropped_attrs;
  rare = true;
  return false;
}

void SpanRecord::push_slow(AttrList& vec, const Attribute& a) noexcept {
  if (vec.full() && !grow(vec)) return;
  vec.append() = a;
}

namespace {
// The general case, out of line so that its thread-locals cost the common path nothing.
[[gnu::noinline]] void flatten(SpanRecord& r, AttrTarget target, std::string_view prefix,
                               std::string_view key, const Value& value, bool lists_as_arrays) {
  // One reused path buffer per thread; a nested call (a skein_value overload that records on
  // a span itself) gets its own.
  thread_local std::string tl_path;
  thread_local int depth = 0;
  std::string nested;
  std::string& path = depth == 0 ? tl_path : nested;
  struct Depth {
    Depth() { ++depth; }
    ~Depth() { --depth; }
  } guard;
  path.assign(prefix);
  if (!key.empty()) {
    if (!path.empty()) path += '.';
    path += key;
  }
  Flattener f(r, target, path, lists_as_arrays);
  f.put(value);
}
}  // namespace

void SpanRecord::set(AttrTarget target, std::string_view prefix, std::string_view key,
                     const Value& value, bool lists_as_arrays) noexcept {
  if (target == AttrTarget::span) spill_compact();
  if (value.is_scalar()) {
    if (prefix.empty()) return add_scalar(target, key, value);
    if (!key.empty()) return add_scalar(target, prefix, key, value);
  }
  // The common enrichment: a flat map of scalars under a namespace prefix.
  if (value.kind() == Value::Kind::map && key.empty() && !prefix.empty()) {
    const Field* f = value.map_data();
    const std::size_t n = value.map_size();
    bool flat = true;
    for (std::size_t i = 0; i < n && flat; ++i) flat = f[i].value.is_scalar();
    if (flat) {
      for (std::size_t i = 0; i < n; ++i) add_scalar(target, prefix, f[i].key, f[i].value);
      return;
    }
  }
  try {
    flatten(*this, target, prefix, key, value, lists_as_arrays);
  } catch (...) {
    {
      ++dropped_attrs;
      rare = true;
    }
  }
}

void SpanRecord::spill_compact_slow() noexcept {
  // `attrs` is empty while attributes are packed (try_add_scalar_impl adds none otherwise).
  const std::size_t n = compact_n;
  if (!attrs.reserve(attrs.size() + n)) {  // out of memory: counted, like any attribute lost
    dropped_attrs += static_cast<std::uint32_t>(n);
    rare = true;
    compact_n = 0;
    return;
  }
  decode_compact(attrs.data() + attrs.size());
  attrs.truncate(attrs.size() + n);
  compact_n = 0;  // compact_used stays: the views point into those bytes
}

std::size_t dedupe_slow(Attribute* attrs, std::size_t n) noexcept {
  // A signature per key (length, first and last byte), comparing bytes only where two
  // signatures match.
  auto sig = [](std::string_view k) -> std::uint32_t {
    if (k.empty()) return 0;
    return static_cast<std::uint32_t>(k.size()) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(k.front())) << 8 |
           static_cast<unsigned char>(k.back());
  };
  constexpr std::size_t kQuick = 64;
  if (n <= kQuick) {
    std::uint32_t sigs[kQuick];
    bool dup = false;
    for (std::size_t i = 0; i < n && !dup; ++i) {
      sigs[i] = sig(attrs[i].key);
      for (std::size_t j = 0; j < i; ++j) {
        if (sigs[j] == sigs[i] && attrs[j].key == attrs[i].key) {
          dup = true;
          break;
        }
      }
    }
    if (!dup) return n;
  }
  // Keep the last occurrence of each key, in order: walking from the end, an attribute is kept
  // (moved to the next free place from the end) unless a kept one has its key. Past a few dozen
  // keys the kept ones are found through a hash table (pairwise, a span enriched a few hundred
  // times with the same keys cost the pipeline ~1 ms).
  std::size_t out = n;
  thread_local std::vector<std::uint32_t> table;  // kept position + 1 per slot, 0 when empty
  std::size_t mask = 0;
  if (n > 32) {
    std::size_t size = 64;
    while (size < 2 * n) size <<= 1;
    try {
      table.assign(size, 0);
      mask = size - 1;
    } catch (...) {  // out of memory: the pairwise way below
    }
  }
  // The key's length and its first and last 8 bytes (which tell most keys apart): a few loads and
  // multiplies rather than a pass over every byte; equal hashes are told apart by the bytes.
  auto hash = [](std::string_view k) {
    std::uint64_t head = 0, tail = 0;
    const std::size_t n = k.size();
    if (n >= 8) {
      std::memcpy(&head, k.data(), 8);
      std::memcpy(&tail, k.data() + n - 8, 8);
    } else {
      std::memcpy(&head, k.data(), n);
    }
    std::uint64_t h = (head ^ (n * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ tail ^ (h >> 31)) * 0x94D049BB133111EBULL;
    return h ^ (h >> 29);
  };
  // Equal keys, 8 bytes at a time (the last word overlapping), without a call into memcmp.
  auto same_key = [](std::string_view a, std::string_view b) {
    const std::size_t k = a.size();
    if (k != b.size()) return false;
    if (k < 8) return a == b;
    auto word = [](const char* p) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      return w;
    };
    for (std::size_t i = 0; i + 8 < k; i += 8) {
      if (word(a.data() + i) != word(b.data() + i)) return false;
    }
    return word(a.data() + k - 8) == word(b.data() + k - 8);
  };
  for (std::size_t i = n; i-- > 0;) {
    bool dup = false;
    if (mask != 0) {
      std::size_t slot = hash(attrs[i].key) & mask;
      for (; table[slot] != 0; slot = (slot + 1) & mask) {
        if (same_key(attrs[table[slot] - 1].key, attrs[i].key)) {
          dup = true;
          break;
        }
      }
      if (!dup) {
        attrs[--out] = attrs[i];
        table[slot] = static_cast<std::uint32_t>(out + 1);
      }
      continue;
    }
    for (std::size_t j = out; j < n && !dup; ++j) dup = attrs[j].key == attrs[i].key;
    if (!dup) attrs[--out] = attrs[i];
  }
  if (out > 0) std::move(attrs + out, attrs + n, attrs);
  return n - out;
}

}  // namespace skein::detail
