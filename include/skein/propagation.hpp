// skein/propagation.hpp — carrying a context across process boundaries.
//
// Two W3C formats, implemented exactly as their specifications say:
//   - Trace Context level 2 (`traceparent`, `tracestate`): version 00 is parsed strictly, higher
//     versions by their first four fields, version ff and all-zero ids are invalid; the sampled
//     and random flags travel, unknown flags are cleared. An invalid `traceparent` restarts the
//     trace (its `tracestate` is ignored); an invalid `tracestate` is discarded whole.
//   - Baggage: key/value entries with optional properties, values percent-encoded; malformed
//     entries are dropped one by one, and at most `Baggage::kMaxEntries` entries and
//     `Baggage::kMaxBytes` bytes are kept.
//
//     skein::inject(headers);                       // outgoing request, from the current context
//     skein::Context parent = skein::extract(req.headers);   // incoming request
//     auto span = tracer.span("handle", {.kind = skein::SpanKind::server, .parent = &parent});
//
// A carrier is any header container whose elements are (name, value) pairs — std::map,
// std::unordered_map, std::multimap, a vector of pairs, cpp-httplib's Headers — or a getter
// (`extract`) / setter (`inject`) callable. Names are matched case-insensitively on extract and
// written in lowercase on inject. Parsing never throws, never trusts a length it has not checked,
// and keeps at most a fixed amount of memory per header whatever the input; a malformed header
// never reaches the outgoing headers, because `inject` writes only values skein formatted itself.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "skein/context.hpp"
#include "skein/detail/context_state.hpp"

namespace skein {

inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kTracestateHeader = "tracestate";
inline constexpr std::string_view kBaggageHeader = "baggage";

// ---- traceparent -------------------------------------------------------------------------------

/// The fields of a `traceparent` header.
struct TraceParent {
  TraceId trace_id;
  SpanId parent_id;
  std::uint8_t flags = 0;  ///< only the known flags (sampled, random) are kept
};

/// The length of a version-00 `traceparent`.
inline constexpr std::size_t kTraceparentLength = 55;

/// Parses a `traceparent` value (surrounding spaces and tabs are ignored). Empty when invalid.
std::optional<TraceParent> parse_traceparent(std::string_view value) noexcept;
/// Writes a version-00 `traceparent` (exactly 55 characters) into `out`.
void format_traceparent(TraceId trace, SpanId parent, std::uint8_t flags,
                        char (&out)[kTraceparentLength]) noexcept;
/// The `traceparent` for a context; empty when the context is invalid.
std::string format_traceparent(const Context& ctx);

// ---- tracestate --------------------------------------------------------------------------------

/// A validated `tracestate`: an ordered list of vendor entries, kept as its header text
/// (`key=value,key=value`, no optional whitespace).
class TraceState {
 public:
  /// The most list-members a `tracestate` may have; one more makes the header invalid.
  static constexpr std::size_t kMaxMembers = 32;
  /// How much of a combined header skein propagates (the spec asks for at least 512 characters).
  /// Longer headers are cut by whole entries: entries over 128 characters first, then from the end.
  static constexpr std::size_t kMaxLength = 512;

  TraceState() = default;
  /// Validates a header value (several headers may be joined with commas). Empty when the value
  /// is invalid — a bad key or value, a duplicate key, more than 32 members — and must be
  /// discarded whole.
  static std::optional<TraceState> parse(std::string_view value);
  /// The trace state of a context.
  static TraceState of(const Context& ctx);

  /// The value of `key`, if present. On a temporary (`TraceState::of(ctx).get(k)`) the value is
  /// returned as an owning string, so it cannot dangle.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view key) const& noexcept;
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const&&;
  /// Adds or updates an entry and moves it to the front, as the spec requires of a vendor that
  /// changes its entry. False (and no change) when the key or value is invalid.
  bool set(std::string_view key, std::string_view value);
  /// Removes an entry; false when there was none.
  bool remove(std::string_view key);

  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] bool empty() const noexcept { return header_.empty(); }
  /// The header value.
  [[nodiscard]] const std::string& header() const noexcept { return header_; }
  /// Calls `fn(key, value)` for each entry, front to back.
  template <class F>
  void for_each(F&& fn) const {
    std::string_view rest = header_;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view member = rest.substr(0, comma);
      std::size_t eq = member.find('=');
      fn(member.substr(0, eq), member.substr(eq + 1));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }

  friend bool operator==(const TraceState&, const TraceState&) = default;

  /// Grammar checks of the spec (simple and `tenant@system` keys; values of printable ASCII
  /// without `,` and `=`, not ending in a space).
  static bool valid_key(std::string_view key) noexcept;
  static bool valid_value(std::string_view value) noexcept;

 private:
  std::string header_;
};

// ---- baggage -----------------------------------------------------------------------------------

/// W3C baggage: user key/value pairs that travel with a request. Values are plain (decoded)
/// strings; each entry may carry properties (`;k=v;flag`), kept as opaque text.
class Baggage {
 public:
  struct Entry {
    std::string key;
    std::string value;       ///< decoded
    std::string properties;  ///< "" or ";k1=v1;k2" exactly as they will be sent
    friend bool operator==(const Entry&, const Entry&) = default;
  };
  /// At most this many entries are kept (the spec requires at least 64).
  static constexpr std::size_t kMaxEntries = 180;
  /// At most this many bytes of header text are kept (the spec requires at least 8192).
  static constexpr std::size_t kMaxBytes = 8192;

  Baggage() = default;
  /// `Baggage b{{"request.id", "r-42"}, {"user", "alice"}}`; invalid entries are skipped.
  Baggage(std::initializer_list<std::pair<std::string_view, std::string_view>> entries);

  /// Parses a header value. Never fails: malformed list-members are dropped one by one, duplicate
  /// keys keep their last value, entries beyond the limits are dropped.
  static Baggage parse(std::string_view header);
  /// The baggage of a context; of the calling thread's current context.
  static Baggage of(const Context& ctx);
  static Baggage current();

  /// The value of `key`, if present. On a temporary (`Baggage::current().get(k)`) the value is
  /// returned as an owning string, so it cannot dangle.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view key) const& noexcept;
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const&&;
  [[nodiscard]] const Entry* find(std::string_view key) const& noexcept;
  const Entry* find(std::string_view key) const&& = delete;  // would dangle
  /// Adds or replaces an entry. `properties` is "" or ";k=v;k2" (validated). False (and no
  /// change) when the key is not a token, the properties are malformed, or a limit would be
  /// exceeded.
  bool set(std::string_view key, std::string_view value, std::string_view properties = {});
  /// Removes an entry; false when there was none.
  bool remove(std::string_view key);
  /// Keeps only the entries whose key is listed.
  void retain(const std::vector<std::string>& keys);

  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] auto begin() const noexcept { return entries_.begin(); }
  [[nodiscard]] auto end() const noexcept { return entries_.end(); }
  /// The header value (values percent-encoded); empty when there are no entries.
  [[nodiscard]] std::string to_header() const;

  friend bool operator==(const Baggage& a, const Baggage& b) { return a.entries_ == b.entries_; }

 private:
  friend struct BaggageParser;
  std::vector<Entry> entries_;
  std::size_t bytes_ = 0;  // length of to_header()
};

/// `ctx` with its baggage replaced (trace ids and trace state kept).
Context with_baggage(const Context& ctx, const Baggage& baggage);

/// Makes `baggage` the current baggage of this thread until the scope ends: spans started inside
/// carry it, `inject` sends it, `Baggage::current()` returns it. The current span stays current
/// (enrich_span still reaches it).
class [[nodiscard]] BaggageScope {
 public:
  explicit BaggageScope(const Baggage& baggage);
  ~BaggageScope();
  BaggageScope(const BaggageScope&) = delete;
  BaggageScope& operator=(const BaggageScope&) = delete;

 private:
  std::shared_ptr<const ContextExtras> keep_;
  detail::ContextState saved_;
};

// ---- inject / extract --------------------------------------------------------------------------

/// How `extract` treats what it receives. The defaults accept everything valid.
struct ExtractOptions {
  /// False at a trust boundary that restarts traces: `traceparent` and `tracestate` are ignored.
  bool trace_context = true;
  /// False to drop inbound baggage entirely (for example from untrusted clients).
  bool baggage = true;
  /// When not empty, only these baggage keys are accepted.
  std::vector<std::string> baggage_keys{};
};

namespace detail {

/// Collects the propagation headers of one request, then builds the context. Bounded memory.
class Extractor {
 public:
  explicit Extractor(const ExtractOptions& options) noexcept : options_(options) {}
  Extractor(const Extractor&) = delete;
  Extractor& operator=(const Extractor&) = delete;
  ~Extractor();
  /// Offers one header; names are compared case-insensitively.
  void add(std::string_view name, std::string_view value) noexcept;
  /// The extracted context (invalid when there was no valid traceparent, possibly with baggage).
  Context finish() noexcept;

 private:
  struct Slow;
  const ExtractOptions& options_;
  TraceParent traceparent_{};  // parsed at once: the header's storage may be a temporary
  std::uint32_t traceparent_count_ = 0;
  bool traceparent_valid_ = false;
  Slow* slow_ = nullptr;  // tracestate and baggage accumulators, made on first use
  Slow* slow() noexcept;
};

/// What `inject` writes, formatted once.
struct Outgoing {
  char traceparent_buf[kTraceparentLength];
  std::string_view values[3];  // traceparent, tracestate, baggage; empty = absent
};
/// Fills `out` from a context / from the thread's current context.
void prepare_outgoing(const Context& ctx, Outgoing& out) noexcept;
void prepare_outgoing_current(Outgoing& out) noexcept;
/// 0, 1, 2 for traceparent, tracestate, baggage (any case), -1 otherwise.
int propagation_header(std::string_view name) noexcept;

inline constexpr std::string_view kHeaderNames[3] = {kTraceparentHeader, kTracestateHeader,
                                                     kBaggageHeader};

template <class C>
concept PairRange = std::ranges::input_range<const C> &&
    requires(const std::ranges::range_value_t<const C>& kv) {
  { kv.first } -> std::convertible_to<std::string_view>;
  { kv.second } -> std::convertible_to<std::string_view>;
};

template <class C>
concept Associative = PairRange<C> && requires {
  typename C::key_type;
  typename C::mapped_type;
};

template <class C>
concept PairSequence =
    PairRange<C> && !Associative<C> && requires(C & c, typename C::value_type v) {
  c.push_back(v);
  c.erase(c.begin());
};

template <class G>
concept HeaderGetter = std::invocable<G&, std::string_view> && !PairRange<G>;

template <class S>
concept HeaderSetter = std::invocable<S&, std::string_view, std::string_view> && !PairRange<S>;

// Whatever a getter returns, as an optional view (nullptr and empty optionals are absent).
template <class R>
std::optional<std::string_view> as_header_value(const R& r) {
  if constexpr (std::is_pointer_v<R>) {
    if (r == nullptr) return std::nullopt;
    return std::string_view(r);
  } else if constexpr (requires {
                         r.has_value();
                         *r;
                       }) {
    if (!r.has_value()) return std::nullopt;
    return std::string_view(*r);
  } else {
    return std::string_view(r);
  }
}

template <class C>
void write_headers(C& carrier, const Outgoing& out) {
  if constexpr (Associative<C>) {
    // One pass: keep the first exact lowercase entry of each header we send (updated in place, so
    // a reused carrier does not allocate), erase every other spelling and every header we do not
    // send, then add what is missing.
    typename C::iterator keep[3];
    bool have[3] = {false, false, false};
    for (auto it = carrier.begin(); it != carrier.end();) {
      int k = propagation_header(it->first);
      if (k < 0) {
        ++it;
      } else if (!have[k] && !out.values[k].empty() &&
                 std::string_view(it->first) == kHeaderNames[k]) {
        keep[k] = it;
        have[k] = true;
        ++it;
      } else {
        it = carrier.erase(it);
      }
    }
    for (int k = 0; k < 3; ++k) {
      if (out.values[k].empty()) continue;
      if (have[k]) {
        keep[k]->second.assign(out.values[k].data(), out.values[k].size());
      } else {
        carrier.emplace(typename C::key_type(kHeaderNames[k]),
                        typename C::mapped_type(out.values[k]));
      }
    }
  } else {
    bool have[3] = {false, false, false};
    for (std::size_t i = 0; i < carrier.size();) {
      auto& kv = carrier[i];
      int k = propagation_header(kv.first);
      if (k < 0) {
        ++i;
      } else if (!have[k] && !out.values[k].empty()) {
        kv.first.assign(kHeaderNames[k].data(), kHeaderNames[k].size());
        kv.second.assign(out.values[k].data(), out.values[k].size());
        have[k] = true;
        ++i;
      } else {
        carrier.erase(carrier.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    for (int k = 0; k < 3; ++k) {
      if (!out.values[k].empty() && !have[k]) {
        carrier.emplace_back(std::string(kHeaderNames[k]), std::string(out.values[k]));
      }
    }
  }
}

}  // namespace detail

/// Writes the current context's `traceparent`, `tracestate` and `baggage` into a header
/// container. Propagation headers already in the container, in any case, are replaced or — when
/// the context has no such value — removed, so forwarded inbound headers never leak through.
template <class C>
requires detail::Associative<C> || detail::PairSequence<C>
void inject(C& carrier) {
  detail::Outgoing out;
  detail::prepare_outgoing_current(out);
  detail::write_headers(carrier, out);
}

/// Same, from an explicit context.
template <class C>
requires detail::Associative<C> || detail::PairSequence<C>
void inject(const Context& ctx, C& carrier) {
  detail::Outgoing out;
  detail::prepare_outgoing(ctx, out);
  detail::write_headers(carrier, out);
}

/// Injects through a setter `set(name, value)` (for example a libcurl header list).
template <class S>
requires detail::HeaderSetter<S>
void inject(S&& set) {
  detail::Outgoing out;
  detail::prepare_outgoing_current(out);
  for (int k = 0; k < 3; ++k) {
    if (!out.values[k].empty()) set(detail::kHeaderNames[k], out.values[k]);
  }
}

template <class S>
requires detail::HeaderSetter<S>
void inject(const Context& ctx, S&& set) {
  detail::Outgoing out;
  detail::prepare_outgoing(ctx, out);
  for (int k = 0; k < 3; ++k) {
    if (!out.values[k].empty()) set(detail::kHeaderNames[k], out.values[k]);
  }
}

/// Reads the context of an incoming request from a header container. Several `tracestate` or
/// `baggage` headers are combined; two `traceparent` headers make it invalid. The result is
/// `remote()`; it is invalid when no valid `traceparent` arrived (a span started from it begins
/// a new trace) but may still carry baggage.
template <class C>
requires detail::PairRange<C> Context extract(const C& carrier,
                                              const ExtractOptions& options = {}) {
  detail::Extractor ex(options);
  for (const auto& kv : carrier) ex.add(std::string_view(kv.first), std::string_view(kv.second));
  return ex.finish();
}

/// Reads through a getter `get(name)` returning a string, string_view, const char* (null when
/// absent) or an optional of those. Names are passed in lowercase; the getter matches them
/// case-insensitively.
template <class G>
requires detail::HeaderGetter<G> Context extract(G&& get, const ExtractOptions& options = {}) {
  detail::Extractor ex(options);
  for (std::string_view name : detail::kHeaderNames) {
    const auto& value = get(name);
    if (auto v = detail::as_header_value(value)) ex.add(name, *v);
  }
  return ex.finish();
}

}  // namespace skein
