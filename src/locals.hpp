// Context-local values (skein/correlation.hpp) and sessions (skein/session.hpp): what a context
// carries in `ContextExtras::locals`, and what span start does with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ids.hpp"
#include "skein/context.hpp"
#include "skein/correlation.hpp"
#include "skein/exporter.hpp"

namespace skein::detail {

struct SpanRecord;

/// One session (skein/session.hpp), shared by every context inside it.
struct SessionState {
  std::string id, name, user_id;
  bool has_root = true;  // false for a session joined from another service's baggage
  /// Operation numbers handed out to spans started inside, in start order.
  std::atomic<std::int64_t> operations{0};

  // enrich_session() from any thread; applied to the root span when the session ends.
  std::mutex mu;
  bool open = true;
  std::vector<std::pair<std::string, OwnedValue>> pending;
  std::optional<std::string> pending_error;
};

/// An immutable list of values, innermost first. Each node also keeps, flattened, what span
/// start needs from the whole list so that it never walks it.
struct LocalValues {
  std::shared_ptr<const LocalValues> parent;
  const void* key = nullptr;          // a ContextValue<T>'s identity; null for a named value
  std::string name;                   // a named value's key
  std::shared_ptr<const void> value;  // T, or std::string for a named value

  /// Attributes for every span started under this list (innermost value of a key wins).
  std::vector<std::pair<std::string, std::string>> attributes;
  /// The innermost session, if any.
  std::shared_ptr<SessionState> session;
};

/// Span start: the attributes and the session's operation number. The record's `extras` keeps
/// `locals` alive until the record is reused, so attribute keys are stored by pointer.
void apply_locals(SpanRecord& r, const LocalValues& locals) noexcept;

/// The locals of the calling thread's current context (null when none).
const LocalValues* current_locals() noexcept;

/// The same, shared (nodes keep their parent alive).
std::shared_ptr<const LocalValues> current_list();

/// A new node on top of the current context's values; `attribute` adds (name, text) to the
/// span attributes. Does not make it current.
std::shared_ptr<LocalValues> make_node(const LocalValues* parent_list, const void* key,
                                       std::string name, std::shared_ptr<const void> value,
                                       bool attribute);

/// The current context's extras with `node` as its values and, when `baggage_key` is given,
/// that baggage entry set.
std::shared_ptr<const ContextExtras> extend_current(std::shared_ptr<const LocalValues> node,
                                                    std::string_view baggage_key = {},
                                                    std::string_view baggage_value = {});

/// Builds ValueScopes (their members are private to the public header).
struct ValueScopeAccess {
  /// Makes `extras` current on this thread for the life of the returned scope.
  static ValueScope make(std::shared_ptr<const ContextExtras> extras) {
    ValueScope s;
    install(s, std::move(extras));
    return s;
  }
  /// The same, into an inactive scope.
  static void install(ValueScope& s, std::shared_ptr<const ContextExtras> extras) {
    s.holder_ = std::make_unique<std::shared_ptr<const ContextExtras>>(std::move(extras));
    ContextState& cur = current_state();
    s.saved_ = cur;
    cur.extras = s.holder_.get();
  }
  /// The context a scope made current (invalid when the scope is not active).
  static Context context(const ValueScope& s) {
    if (!s.holder_) return {};
    return Context(trace_id_of(s.saved_), span_id_of(s.saved_), s.saved_.flags, s.saved_.remote,
                   *s.holder_);
  }
};

}  // namespace skein::detail
