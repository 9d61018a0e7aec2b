// skein/session.hpp — sessions: a user's conversation or a request as one HoneyHive session.
//
//     auto session = tracer.session({.name = "chat", .user_id = "u-42",
//                                    .metadata = {{"plan", "pro"}},
//                                    .inputs = {{"question", question}}});
//     ... spans ...                                  // each: session.id, honeyhive.session_id,
//                                                    //       session.operation = 1, 2, 3, ...
//     skein::enrich_session({.outputs = {{"answer", answer}}, .metrics = {{"turns", 3}}});
//
// `Tracer::session` starts the session's root span (event type `session`, named after the
// session) and makes the session current until the `Session` ends. Every span started inside —
// nested, on another thread through `skein::wrap`, in a `skein::Task` coroutine — carries
// `session.id` (exported also as `honeyhive.session_id`, overriding the tracer-wide session id)
// and `session.operation`, its number in start order within the session (atomic: unique and
// increasing under concurrency). Sessions nest and can be made per request.
//
// `enrich_session` (metadata, metrics, feedback, outputs, user properties, …) lands on the
// session's root span, from any span and any thread, as long as the session has not ended: the
// values are kept and written to the root when it ends.
//
// Across services: the session id travels in the baggage (`session.id`); the downstream service
// calls `skein::join_session()` in its request handler, and its spans carry the same session id
// and their own operation numbers. A joined session has no root span of its own: there,
// `enrich_session` enriches the current span.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "skein/context.hpp"
#include "skein/correlation.hpp"
#include "skein/enrich.hpp"
#include "skein/span.hpp"
#include "skein/tracer.hpp"

namespace skein {

namespace detail {
struct SessionState;
}

/// How a session starts. Every field is optional.
struct SessionOptions {
  /// The session id; empty: a new random UUID.
  std::string id{};
  /// Its name (the root span's name); empty: the tracer's `session_name`.
  std::string name{};
  /// The user, as `user.id` and `honeyhive_user_properties.user_id` on the root span.
  std::string user_id{};
  Fields metadata{};
  Fields inputs{};
  Fields user_properties{};
  /// Parent context of the root span (default: the current context).
  const Context* parent = nullptr;
  /// Start a new trace even when a span is current.
  bool new_root = false;
  /// Carry the session id in the baggage so that downstream services can join the session.
  bool propagate = true;
};

/// A live session; see the file comment. Movable, not copyable; ends when destroyed.
class [[nodiscard]] Session {
 public:
  /// No session.
  Session() noexcept;
  Session(Session&&) noexcept;
  Session& operator=(Session&&) = delete;
  ~Session();

  /// True until the session ends (false for a default-constructed one).
  [[nodiscard]] bool active() const noexcept;
  /// The session id (empty when not active).
  [[nodiscard]] const std::string& id() const noexcept;
  [[nodiscard]] const std::string& name() const noexcept;
  /// Operations (spans) started inside so far.
  [[nodiscard]] std::int64_t operations() const noexcept;
  /// The root span (a no-op span for a joined session).
  [[nodiscard]] Span& span() noexcept { return root_; }
  /// The session's context, to carry explicitly (it is current while the session lives).
  [[nodiscard]] Context context() const noexcept;
  /// Enriches the session's root span (applied when the session ends); see enrich_session.
  bool enrich(const Enrichment& enrichment) noexcept;
  /// Ends the session now: its values leave the current context, the root span ends.
  void end() noexcept;

 private:
  friend class Tracer;
  friend Session join_session(std::string_view id) noexcept;
  Span root_;
  std::shared_ptr<detail::SessionState> state_;
  ValueScope scope_;  // after root_: ends first
};

/// Enriches the innermost current session's root span; false when there is no session (or it
/// has ended). In a joined session, enriches the current span.
bool enrich_session(const Enrichment& enrichment) noexcept;

/// The id of the innermost current session, if any.
std::optional<std::string> current_session_id();

/// Continues, in this service, the session whose id arrived in the current context's baggage
/// (`session.id`); an inactive Session when there is none.
Session join_session() noexcept;
/// Continues a session by id.
Session join_session(std::string_view id) noexcept;

}  // namespace skein
