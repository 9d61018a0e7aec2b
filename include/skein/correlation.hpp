// skein/correlation.hpp — context-local values: request ids and other correlation data.
//
// The C++ counterpart of Python's `ContextVar`, carried with the trace context: a value set in a
// scope is visible to everything that runs in that context — nested calls, spans, work handed to
// another thread with `skein::wrap` / `skein::async`, `skein::Task` coroutines after any
// `co_await` — and disappears when the scope ends.
//
//     auto rid = skein::with_request_id();                 // at the edge: a new id (or the
//     caller's) auto tenant = skein::with_value("tenant.id", "acme");
//     ... every span started inside carries request.id and tenant.id ...
//     skein::current_value("request.id");                  // "3f0c…", anywhere in the request
//
// Named string values (`with_value`) are, by default, both copied onto every span started inside
// the scope (an attribute of the same name) and put in the W3C baggage, so that `inject` sends
// them to downstream services. There, `with_request_id()` (or `adopt_baggage({...})`) turns the
// incoming entry back into a local value on every span; `Options::baggage_attributes` does the
// same for a whole tracer. Typed values (`ContextValue<T>`) are any copyable type, local to the
// process, never exported.
//
// Cost: making a scope allocates (a new immutable context); reading walks a short list. A span
// started under values pays one string copy per attribute value; spans in contexts without
// values pay nothing.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "skein/context.hpp"
#include "skein/detail/context_state.hpp"

namespace skein {

/// The attribute and baggage key of the request id.
inline constexpr std::string_view kRequestIdKey = "request.id";

/// How a named value travels. Every field is optional.
struct ValueOptions {
  /// Copy the value onto every span started inside the scope, as a string attribute `key`.
  bool attribute = true;
  /// Also carry it in the W3C baggage, so that `inject` sends it downstream.
  bool propagate = true;
};

class ValueScope;
namespace detail {
struct ValueScopeAccess;
}

/// Makes a context with more values current on this thread until it ends (or is `reset()`);
/// the previous one comes back. Movable so that it can be returned, but it must end on the
/// thread that made it. The current span stays current (enrich_span still reaches it).
class [[nodiscard]] ValueScope {
 public:
  /// A scope that changes nothing.
  ValueScope() noexcept = default;
  ValueScope(ValueScope&& other) noexcept;
  ValueScope& operator=(ValueScope&&) = delete;
  ValueScope(const ValueScope&) = delete;
  ValueScope& operator=(const ValueScope&) = delete;
  ~ValueScope() { reset(); }

  /// Ends the scope now; later calls do nothing.
  void reset() noexcept;
  /// True while the scope is in effect.
  [[nodiscard]] bool active() const noexcept { return holder_ != nullptr; }

 private:
  friend struct detail::ValueScopeAccess;
  // The thread's context points at the holder, so it must not move with the scope.
  std::unique_ptr<std::shared_ptr<const ContextExtras>> holder_;
  detail::ContextState saved_{};
};

/// Sets `key` to `value` in the current context until the scope ends; see the file comment.
ValueScope with_value(std::string_view key, std::string_view value, ValueOptions options = {});

/// The value of `key` in the current context: a local value, else a baggage entry; empty when
/// neither.
std::optional<std::string> current_value(std::string_view key);
/// The same in a captured context.
std::optional<std::string> value_of(const Context& ctx, std::string_view key);

/// A new request id (a random UUID, version 4).
std::string new_request_id();

/// Sets the request id (`request.id`, on every span and in the baggage). Without `id`: keeps the
/// one the current context already has (a caller's, from the baggage) or makes a new one.
ValueScope with_request_id(std::string_view id = {});
/// The current request id, if any.
inline std::optional<std::string> current_request_id() {
  return current_value(kRequestIdKey);
}

/// Turns baggage entries of the current context (for example from an incoming request) into
/// local values copied onto every span, as if set with `with_value`. Missing keys are skipped.
ValueScope adopt_baggage(std::initializer_list<std::string_view> keys);

namespace detail {
ValueScope push_typed(const void* key, std::shared_ptr<const void> value);
const void* find_typed(const Context* ctx, const void* key) noexcept;
}  // namespace detail

/// A typed context-local value (any copyable `T`), local to the process:
///
///     inline skein::ContextValue<Tenant> current_tenant;
///     auto scope = current_tenant.set(Tenant{"acme", 3});
///     if (const Tenant* t = current_tenant.get()) ...
///
/// The variable's address is its identity: declare it once (namespace scope or static). `get()`
/// returns a pointer valid while the scope that set it lives.
template <class T>
class ContextValue {
 public:
  ContextValue() noexcept = default;
  ContextValue(const ContextValue&) = delete;
  ContextValue& operator=(const ContextValue&) = delete;

  /// Sets the value until the returned scope ends.
  [[nodiscard]] ValueScope set(T value) const {
    return detail::push_typed(this, std::make_shared<const T>(std::move(value)));
  }
  /// The value in the current context; null when not set.
  [[nodiscard]] const T* get() const noexcept {
    return static_cast<const T*>(detail::find_typed(nullptr, this));
  }
  /// The value in a captured context; null when not set.
  [[nodiscard]] const T* get(const Context& ctx) const noexcept {
    return static_cast<const T*>(detail::find_typed(&ctx, this));
  }
  /// The value, or `fallback`.
  [[nodiscard]] T value_or(T fallback) const {
    const T* p = get();
    return p != nullptr ? *p : std::move(fallback);
  }
};

/// A callable that runs `fn` with a request id in its context: the caller's when there is one,
/// else a new one (the guide's correlation decorator). `key` defaults to `request.id`.
template <class F>
class Correlated {
 public:
  Correlated(F fn, std::string key) : fn_(std::move(fn)), key_(std::move(key)) {}

  template <class... A>
  requires std::invocable<F&, A...>
  decltype(auto) operator()(A&&... args) {
    ValueScope scope = key_ == kRequestIdKey ? with_request_id() : ensure();
    return std::invoke(fn_, std::forward<A>(args)...);
  }

 private:
  ValueScope ensure() {
    if (auto v = current_value(key_)) return with_value(key_, *v);
    return with_value(key_, new_request_id());
  }
  F fn_;
  std::string key_;
};

/// Wraps `fn` so that every call runs with a correlation id; see `Correlated`.
template <class F>
auto correlated(F fn, std::string key = std::string(kRequestIdKey)) {
  return Correlated<F>(std::move(fn), std::move(key));
}

/// A context like the current one (same baggage and values) in a new trace that is not sampled:
/// under a `Scope` of it every span is a no-op, and what is injected says sampled=0.
Context unsampled_context();

/// A callable that runs `fn` as is when `condition()` holds, and otherwise under
/// `unsampled_context()`, so that nothing it calls records — traced callables, retries, nested
/// spans (the guide's conditional decorator; per call, unlike a sampler it needs no span).
template <class C, class F>
auto trace_when(C condition, F fn) {
  return [condition = std::move(condition),
          fn = std::move(fn)](auto&&... args) mutable -> decltype(auto) {
    bool on = true;
    try {
      on = static_cast<bool>(condition());
    } catch (...) {
      on = false;
    }
    if (on) return std::invoke(fn, std::forward<decltype(args)>(args)...);
    Scope off(unsampled_context());
    return std::invoke(fn, std::forward<decltype(args)>(args)...);
  };
}

}  // namespace skein
