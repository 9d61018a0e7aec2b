// Sessions: the root span, the session's values in the context, enrich_session.
#include <variant>

#include "locals.hpp"
#include "record.hpp"
#include "skein/propagation.hpp"
#include "skein/session.hpp"

namespace skein {
namespace detail {
namespace {

constexpr std::string_view kSessionIdKey = "session.id";

// An enrichment as owned (key, value) pairs, flattened exactly as enrich_span would.
std::vector<std::pair<std::string, OwnedValue>> flatten(const Enrichment& e) {
  thread_local SpanRecord scratch;
  scratch.reset();
  enrich_namespaces(scratch, e);
  scratch.spill_compact();
  std::vector<std::pair<std::string, OwnedValue>> out;
  out.reserve(scratch.attrs.size());
  for (const Attribute& a : scratch.attrs) out.emplace_back(std::string(a.key), to_owned(a.value));
  scratch.reset();
  return out;
}

bool enrich_state(SessionState& st, const Enrichment& e) noexcept {
  if (!st.has_root) return enrich_span(e);
  try {
    auto pairs = flatten(e);
    std::lock_guard<std::mutex> lock(st.mu);
    if (!st.open) return false;
    for (auto& p : pairs) st.pending.push_back(std::move(p));
    if (e.error) st.pending_error = std::string(*e.error);
    return true;
  } catch (...) {
    return false;
  }
}

void apply(Span& root, const std::pair<std::string, OwnedValue>& kv) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                      std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
          root.set(kv.first, Value(v));
        }
      },
      kv.second);
}

// The session's values on top of the current context.
void install(ValueScope& scope, const std::shared_ptr<SessionState>& st, bool propagate) {
  std::shared_ptr<const LocalValues> parent = current_list();
  auto node = make_node(parent.get(), nullptr, std::string(kSessionIdKey),
                        std::make_shared<const std::string>(st->id), true);
  node->session = st;
  node->parent = std::move(parent);
  ValueScopeAccess::install(
      scope,
      extend_current(std::move(node), propagate ? kSessionIdKey : std::string_view(), st->id));
}

}  // namespace
}  // namespace detail

Session::Session() noexcept = default;
Session::Session(Session&& o) noexcept
    : root_(std::move(o.root_)), state_(std::move(o.state_)), scope_(std::move(o.scope_)) {}
Session::~Session() {
  end();
}

bool Session::active() const noexcept {
  return state_ != nullptr;
}

const std::string& Session::id() const noexcept {
  static const std::string empty;
  return state_ ? state_->id : empty;
}

const std::string& Session::name() const noexcept {
  static const std::string empty;
  return state_ ? state_->name : empty;
}

std::int64_t Session::operations() const noexcept {
  return state_ ? state_->operations.load(std::memory_order_relaxed) : 0;
}

Context Session::context() const noexcept {
  try {
    return detail::ValueScopeAccess::context(scope_);
  } catch (...) {
    return {};
  }
}

bool Session::enrich(const Enrichment& e) noexcept {
  return state_ ? detail::enrich_state(*state_, e) : false;
}

void Session::end() noexcept {
  if (!state_) return;
  std::shared_ptr<detail::SessionState> st = std::move(state_);
  std::vector<std::pair<std::string, OwnedValue>> pending;
  std::optional<std::string> error;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    st->open = false;
    pending.swap(st->pending);
    error.swap(st->pending_error);
  }
  scope_.reset();
  if (root_.recording()) {
    try {
      for (const auto& kv : pending) detail::apply(root_, kv);
      root_.set("session.operations", st->operations.load(std::memory_order_relaxed));
      if (error) {
        root_.set("honeyhive_error", *error);
        root_.set_status(StatusCode::error, *error);
      }
    } catch (...) {
    }
  }
  root_.end();
}

Session Tracer::session() noexcept {
  return session(SessionOptions{});
}

Session Tracer::session(const SessionOptions& o) noexcept {
  Session s;
  try {
    auto st = std::make_shared<detail::SessionState>();
    st->id = o.id.empty() ? new_request_id() : o.id;
    st->name = o.name.empty() ? options().session_name : o.name;
    if (st->name.empty()) st->name = "session";
    st->user_id = o.user_id;
    s.root_ =
        span(st->name, {.type = EventType::session, .parent = o.parent, .new_root = o.new_root});
    if (s.root_.recording()) {
      s.root_.set({{"session.id", st->id}, {"session.name", st->name}});
      if (!st->user_id.empty()) {
        s.root_.set("user.id", st->user_id);
        s.root_.set("honeyhive_user_properties.user_id", st->user_id);
      }
      enrich_span(
          s.root_,
          {.metadata = o.metadata, .inputs = o.inputs, .user_properties = o.user_properties});
    }
    detail::install(s.scope_, st, o.propagate);
    s.state_ = std::move(st);
  } catch (...) {
  }
  return s;
}

bool enrich_session(const Enrichment& e) noexcept {
  const detail::LocalValues* l = detail::current_locals();
  if (l == nullptr || !l->session) return false;
  return detail::enrich_state(*l->session, e);
}

std::optional<std::string> current_session_id() {
  const detail::LocalValues* l = detail::current_locals();
  if (l != nullptr && l->session) return l->session->id;
  if (auto v = Baggage::current().get(detail::kSessionIdKey)) return std::string(*v);
  return std::nullopt;
}

Session join_session() noexcept {
  try {
    if (auto v = Baggage::current().get(detail::kSessionIdKey)) return join_session(*v);
  } catch (...) {
  }
  return Session();
}

Session join_session(std::string_view id) noexcept {
  Session s;
  if (id.empty()) return s;
  try {
    auto st = std::make_shared<detail::SessionState>();
    st->id = std::string(id);
    st->has_root = false;
    detail::install(s.scope_, st, true);
    s.state_ = std::move(st);
  } catch (...) {
  }
  return s;
}

}  // namespace skein
