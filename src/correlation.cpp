// Context-local values: the immutable value lists carried in ContextExtras::locals, value scopes,
// and the span-start hook that copies them onto spans.
#include <algorithm>

#include "ids.hpp"
#include "locals.hpp"
#include "record.hpp"
#include "skein/correlation.hpp"
#include "skein/propagation.hpp"

namespace skein {
namespace detail {

void apply_locals(SpanRecord& r, const LocalValues& l) noexcept {
  for (const auto& [key, value] : l.attributes) {
    r.add_scalar_stored_key(AttrTarget::span, key, Value(std::string_view(value)));
  }
  if (l.session) {
    std::int64_t op = l.session->operations.fetch_add(1, std::memory_order_relaxed) + 1;
    r.add_scalar_stored_key(AttrTarget::span, "session.operation", Value(op));
  }
}

const LocalValues* current_locals() noexcept {
  const ContextState& cur = current_state();
  if (cur.extras == nullptr || *cur.extras == nullptr) return nullptr;
  return (*cur.extras)->locals.get();
}

std::shared_ptr<LocalValues> make_node(const LocalValues* parent_list, const void* key,
                                       std::string name, std::shared_ptr<const void> value,
                                       bool attribute) {
  auto node = std::make_shared<LocalValues>();
  if (parent_list != nullptr) {
    // The caller links `parent`; here only the flattened view is inherited.
    node->attributes = parent_list->attributes;
    node->session = parent_list->session;
  }
  node->key = key;
  node->name = std::move(name);
  node->value = std::move(value);
  if (attribute && key == nullptr) {
    const auto& text = *static_cast<const std::string*>(node->value.get());
    auto it = std::find_if(node->attributes.begin(), node->attributes.end(),
                           [&](const auto& kv) { return kv.first == node->name; });
    if (it != node->attributes.end()) {
      it->second = text;
    } else {
      node->attributes.emplace_back(node->name, text);
    }
  }
  return node;
}

std::shared_ptr<const ContextExtras> extend_current(std::shared_ptr<const LocalValues> node,
                                                    std::string_view baggage_key,
                                                    std::string_view baggage_value) {
  const ContextState& cur = current_state();
  const ContextExtras* base =
      cur.extras != nullptr && *cur.extras != nullptr ? cur.extras->get() : nullptr;
  ContextExtras out;
  if (base != nullptr) {
    out.trace_state = base->trace_state;
    out.baggage = base->baggage;
  }
  if (!baggage_key.empty()) {
    Baggage b = Baggage::parse(out.baggage);
    if (b.set(baggage_key, baggage_value)) out.baggage = b.to_header();
  }
  out.locals = std::move(node);
  return std::make_shared<const ContextExtras>(std::move(out));
}

std::shared_ptr<const LocalValues> current_list() {
  const ContextState& cur = current_state();
  if (cur.extras == nullptr || *cur.extras == nullptr) return nullptr;
  return (*cur.extras)->locals;
}

namespace {

const LocalValues* list_of(const Context* ctx) noexcept {
  if (ctx == nullptr) return current_locals();
  return ctx->extras() ? ctx->extras()->locals.get() : nullptr;
}

const std::string* find_named(const LocalValues* l, std::string_view key) noexcept {
  for (; l != nullptr; l = l->parent.get()) {
    if (l->key == nullptr && l->name == key && l->value) {
      return static_cast<const std::string*>(l->value.get());
    }
  }
  return nullptr;
}

ValueScope push_named(std::string_view key, std::string_view value, ValueOptions options) {
  std::shared_ptr<const LocalValues> parent = current_list();
  auto node = make_node(parent.get(), nullptr, std::string(key),
                        std::make_shared<const std::string>(value), options.attribute);
  node->parent = std::move(parent);
  return ValueScopeAccess::make(
      extend_current(std::move(node), options.propagate ? key : std::string_view(), value));
}

}  // namespace

ValueScope push_typed(const void* key, std::shared_ptr<const void> value) {
  std::shared_ptr<const LocalValues> parent = current_list();
  auto node = make_node(parent.get(), key, {}, std::move(value), false);
  node->parent = std::move(parent);
  return ValueScopeAccess::make(extend_current(std::move(node)));
}

const void* find_typed(const Context* ctx, const void* key) noexcept {
  for (const LocalValues* l = list_of(ctx); l != nullptr; l = l->parent.get()) {
    if (l->key == key) return l->value.get();
  }
  return nullptr;
}

}  // namespace detail

ValueScope::ValueScope(ValueScope&& o) noexcept : holder_(std::move(o.holder_)), saved_(o.saved_) {}

void ValueScope::reset() noexcept {
  if (!holder_) return;
  detail::ContextState& cur = detail::current_state();
  // Only when this scope's context is still the current one: a span that started inside and is
  // still open keeps its own.
  if (cur.extras == holder_.get()) {
    cur = saved_;
  } else if (cur.span == saved_.span) {
    cur.extras = saved_.extras;
  }
  holder_.reset();
}

ValueScope with_value(std::string_view key, std::string_view value, ValueOptions options) {
  return detail::push_named(key, value, options);
}

std::optional<std::string> current_value(std::string_view key) {
  if (const std::string* v = detail::find_named(detail::current_locals(), key)) return *v;
  if (auto b = Baggage::current().get(key)) return std::string(*b);
  return std::nullopt;
}

std::optional<std::string> value_of(const Context& ctx, std::string_view key) {
  if (const std::string* v = detail::find_named(detail::list_of(&ctx), key)) return *v;
  if (auto b = Baggage::of(ctx).get(key)) return std::string(*b);
  return std::nullopt;
}

std::string new_request_id() {
  char buf[36];
  detail::new_uuid(buf);
  return std::string(buf, sizeof buf);
}

ValueScope with_request_id(std::string_view id) {
  if (!id.empty()) return with_value(kRequestIdKey, id);
  if (auto v = current_value(kRequestIdKey)) return with_value(kRequestIdKey, *v);
  return with_value(kRequestIdKey, new_request_id());
}

Context unsampled_context() {
  const detail::ContextState& cur = detail::current_state();
  std::shared_ptr<const ContextExtras> extras =
      cur.extras != nullptr ? *cur.extras : std::shared_ptr<const ContextExtras>();
  return Context(detail::new_trace_id(), detail::new_span_id(), trace_flags::random, false,
                 std::move(extras));
}

ValueScope adopt_baggage(std::initializer_list<std::string_view> keys) {
  Baggage current = Baggage::current();
  std::shared_ptr<const detail::LocalValues> list = detail::current_list();
  bool any = false;
  for (std::string_view key : keys) {
    auto v = current.get(key);
    if (!v) continue;
    auto node = detail::make_node(list.get(), nullptr, std::string(key),
                                  std::make_shared<const std::string>(*v), true);
    node->parent = std::move(list);
    list = std::move(node);
    any = true;
  }
  if (!any) return ValueScope();
  return detail::ValueScopeAccess::make(detail::extend_current(std::move(list)));
}

}  // namespace skein
