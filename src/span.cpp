// Span handle methods, the current context, Scope, enrich_span and the traced() helpers.
#include <cxxabi.h>

#include <cstdlib>
#include <iterator>
#include <string>
#include <typeinfo>

#include "clock.hpp"
#include "core.hpp"
#include "ids.hpp"
#include "record.hpp"
#include "resources_internal.hpp"
#include "skein/enrich.hpp"
#include "skein/span.hpp"
#include "skein/trace.hpp"
#include "tls.hpp"

namespace skein {
namespace detail {

namespace {

// Spans that ended while a span or scope started inside them was still current ("out of
// order", e.g. `s = tracer.span("next")`), each with the context it would have restored. When a
// later end restores the context of one of them, that span's own saved context is restored
// instead, so that an ended span (whose record the pipeline now owns) never becomes current
// again. Rare, so a few slots do; the oldest is forgotten when they are full.
struct EndedEarly {
  SpanId span;
  ContextState saved;
};
constexpr std::size_t kEndedEarly = 8;
SKEIN_HOT_TLS EndedEarly tl_ended_early[kEndedEarly];

// Out of line (and the next): rare, and inlined they made every span's end save six registers.
[[gnu::noinline, gnu::cold]] void remember_ended_early(SpanId span,
                                                       const ContextState& saved) noexcept {
  if (tl_ended_early_count == kEndedEarly) {
    for (std::size_t i = 1; i < kEndedEarly; ++i) tl_ended_early[i - 1] = tl_ended_early[i];
    --tl_ended_early_count;
  }
  tl_ended_early[tl_ended_early_count++] = EndedEarly{span, saved};
}

// `next` is about to become current: skip the spans that already ended.
[[gnu::noinline, gnu::cold]] void skip_ended_early(ContextState& next) noexcept {
  for (std::size_t i = 0; i < tl_ended_early_count;) {
    if (tl_ended_early[i].span == next.span) {
      next = tl_ended_early[i].saved;
      tl_ended_early[i] = tl_ended_early[--tl_ended_early_count];
      i = 0;
    } else {
      ++i;
    }
  }
}
}  // namespace

ContextState& tl_state() noexcept {
  return tl_current;
}
ContextState& current_state() noexcept {
  return tl_current;
}

std::atomic<std::uint64_t> g_enrich_without_span{0};
const SpanOptions kDefaultSpanOptions{};

namespace {
std::string demangle(const char* name) {
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = (status == 0 && d != nullptr) ? d : name;
  std::free(d);
  return out;
}
}  // namespace

namespace {
// The namespaces' prefixes, inline here (prefix() is the public form).
constexpr std::string_view kPrefixes[] = {
    "honeyhive_metadata", "honeyhive_metrics", "honeyhive_feedback",       "honeyhive_inputs",
    "honeyhive_outputs",  "honeyhive_config",  "honeyhive_user_properties"};
// The same with their dot, for try_add_scalar_dotted (16 to 32 bytes each).
constexpr std::string_view kDottedPrefixes[] = {
    "honeyhive_metadata.", "honeyhive_metrics.", "honeyhive_feedback.",       "honeyhive_inputs.",
    "honeyhive_outputs.",  "honeyhive_config.",  "honeyhive_user_properties."};
static_assert(std::size(kDottedPrefixes) == std::size(kPrefixes));
constexpr bool dotted_prefixes_fit() {
  for (std::size_t i = 0; i < std::size(kPrefixes); ++i) {
    const std::string_view d = kDottedPrefixes[i];
    if (d.size() < 16 || d.size() > 32 || d.substr(0, d.size() - 1) != kPrefixes[i] ||
        d.back() != '.')
      return false;
  }
  return true;
}
static_assert(dotted_prefixes_fit());
}  // namespace

namespace {
// One namespace's fields. A braced list of fields is a map: its scalars go straight to
// `prefix.key` attributes (the common case, inline); anything else takes set()'s general path,
// which flattens it.
[[gnu::always_inline]] inline void enrich_namespace(SpanRecord& r, Namespace ns,
                                                    const Fields& f) noexcept {
  const std::string_view pre = kPrefixes[static_cast<std::size_t>(ns)];
  const Value& v = f.value();
  if (v.kind() != Value::Kind::map) return r.set(AttrTarget::span, pre, {}, v, false);
  const Field* fields = v.map_data();
  const std::string_view dotted = kDottedPrefixes[static_cast<std::size_t>(ns)];
  for (std::size_t i = 0, n = v.map_size(); i < n; ++i) {
    if (!r.try_add_scalar_dotted(dotted, fields[i].key, fields[i].value)) [[unlikely]]
      r.set(AttrTarget::span, pre, fields[i].key, fields[i].value, false);
  }
}
}  // namespace

// Inline in enrich_span(const Enrichment&), the common form: one call and one frame fewer.
[[gnu::always_inline]] inline void enrich_all(SpanRecord& r, const Enrichment& e) noexcept {
  // Empty namespaces (most of them) are skipped without a call.
  if (!e.metadata.empty()) enrich_namespace(r, Namespace::metadata, e.metadata);
  if (!e.metrics.empty()) enrich_namespace(r, Namespace::metrics, e.metrics);
  if (!e.feedback.empty()) enrich_namespace(r, Namespace::feedback, e.feedback);
  if (!e.inputs.empty()) enrich_namespace(r, Namespace::inputs, e.inputs);
  if (!e.outputs.empty()) enrich_namespace(r, Namespace::outputs, e.outputs);
  if (!e.config.empty()) enrich_namespace(r, Namespace::config, e.config);
  if (!e.user_properties.empty())
    enrich_namespace(r, Namespace::user_properties, e.user_properties);
}

void enrich_namespaces(SpanRecord& r, const Enrichment& e) noexcept {
  enrich_all(r, e);
}

void record_input(Span& span, const TraceOptions& options, std::size_t index,
                  const Value& v) noexcept {
  try {
    if (index < options.arg_names.size()) {
      enrich_span(span, {.inputs = {{options.arg_names[index], v}}});
    } else {
      char key[32];
      int n = std::snprintf(key, sizeof key, "_params_.%zu", index);
      enrich_span(span, {.inputs = {{std::string_view(key, static_cast<std::size_t>(n)), v}}});
    }
  } catch (...) {
  }
}

void record_output(Span& span, const Value& v) noexcept {
  enrich_span(span, {.outputs = {{"result", v}}});
}

}  // namespace detail

// ---- Span -----------------------------------------------------------------------------------

Span::Span(Span&& o) noexcept : rec_(o.rec_), pushed_(o.pushed_), own_span_(o.own_span_) {
  if (pushed_ == kPushed) saved_ = o.saved_;
  if (pushed_ == kPushedOnEmpty) saved_extras_ = o.saved_extras_;
  if (own_span_.valid()) {
    own_flags_ = o.own_flags_;
    own_lazy_ = o.own_lazy_;
    if (!own_lazy_) own_trace_ = o.own_trace_;
  }
  o.rec_ = nullptr;
  o.pushed_ = kNotPushed;
}

Span& Span::operator=(Span&& o) noexcept {
  if (this != &o) {
    end();
    rec_ = o.rec_;
    pushed_ = o.pushed_;
    own_span_ = o.own_span_;
    if (pushed_ == kPushed) saved_ = o.saved_;
    if (pushed_ == kPushedOnEmpty) saved_extras_ = o.saved_extras_;
    if (own_span_.valid()) {
      own_flags_ = o.own_flags_;
      own_lazy_ = o.own_lazy_;
      if (!own_lazy_) own_trace_ = o.own_trace_;
    }
    o.rec_ = nullptr;
    o.pushed_ = kNotPushed;
  }
  return *this;
}

void Span::finish() noexcept {
  detail::SpanRecord* r = rec_;
  rec_ = nullptr;
  if (pushed_ != kNotPushed) {
    if (pushed_ == kPushedOnEmpty) {  // the empty context it started on, in full
      const auto* extras = saved_extras_;
      saved_ = detail::ContextState{};
      saved_.extras = extras;
    }
    pushed_ = kNotPushed;
    detail::ContextState& cur = detail::tl_state();
    // Restore only if this span is still the current one (spans may end out of order).
    SpanId mine = r != nullptr ? r->span : own_span_;
    if (cur.span == mine) {
      cur = saved_;
      if (detail::tl_ended_early_count != 0) detail::skip_ended_early(cur);
    } else {
      detail::remember_ended_early(mine, saved_);
    }
  }
  if (r != nullptr) {
    r->end_ticks = detail::now_ticks();
    if (r->resources != nullptr) [[unlikely]]
      detail::finish_resources(*r);  // resources.cpp
    r->core->submit(r);
  }
}

void Span::note_callback_failure() noexcept {
  if (rec_ != nullptr) {
    ++rec_->callback_failures;
    rec_->rare = true;
  }
}

Span& Span::set(std::string_view key, const Value& value) noexcept {
  detail::SpanRecord* r = rec_;
  if (r != nullptr && !r->try_add_scalar(key, value)) [[unlikely]]
    r->set(detail::AttrTarget::span, {}, key, value, true);
  return *this;
}

Span& Span::set(std::initializer_list<Field> attributes) noexcept {
  if (detail::SpanRecord* r = rec_) {
    for (const Field& f : attributes) {
      if (!r->try_add_scalar(f.key, f.value))
        r->set(detail::AttrTarget::span, {}, f.key, f.value, true);
    }
  }
  return *this;
}

Span& Span::add_event(std::string_view name, std::initializer_list<Field> attributes) noexcept {
  detail::SpanRecord* r = rec_;
  if (r == nullptr) return *this;
  try {
    if (r->events.size() >= r->core->options().max_events) {
      {
        ++r->dropped_events;
        r->rare = true;
      }
      return *this;
    }
    detail::EventRec e;
    e.ticks = detail::now_ticks();
    e.name = r->arena.copy(name);
    e.attr_begin = static_cast<std::uint32_t>(r->event_attrs.size());
    for (const Field& f : attributes) r->set(detail::AttrTarget::event, {}, f.key, f.value, true);
    e.attr_count = static_cast<std::uint32_t>(r->event_attrs.size()) - e.attr_begin;
    r->events.push_back(e);
    r->rare = true;
  } catch (...) {
    {
      ++r->dropped_events;
      r->rare = true;
    }
  }
  return *this;
}

Span& Span::add_link(const Context& linked, std::initializer_list<Field> attributes) noexcept {
  detail::SpanRecord* r = rec_;
  if (r == nullptr || !linked.valid()) return *this;
  try {
    if (r->links.size() >= r->core->options().max_links) {
      {
        ++r->dropped_links;
        r->rare = true;
      }
      return *this;
    }
    detail::LinkRec l;
    l.trace = linked.trace_id();
    l.span = linked.span_id();
    l.flags = linked.flags();
    l.remote = linked.remote();
    l.trace_state = r->arena.copy(linked.trace_state());
    l.attr_begin = static_cast<std::uint32_t>(r->link_attrs.size());
    for (const Field& f : attributes) r->set(detail::AttrTarget::link, {}, f.key, f.value, true);
    l.attr_count = static_cast<std::uint32_t>(r->link_attrs.size()) - l.attr_begin;
    r->links.push_back(l);
    r->rare = true;
  } catch (...) {
    {
      ++r->dropped_links;
      r->rare = true;
    }
  }
  return *this;
}

Span& Span::set_status(StatusCode code, std::string_view message) noexcept {
  if (rec_ != nullptr) {
    rec_->status = code;
    rec_->status_message =
        code == StatusCode::error ? rec_->arena.copy(message) : std::string_view();
  }
  return *this;
}

Span& Span::record_exception(const std::exception& e) noexcept {
  if (rec_ == nullptr) return *this;
  try {
    std::string type = detail::demangle(typeid(e).name());
    const char* what = e.what();
    add_event("exception", {{"exception.type", type}, {"exception.message", what}});
    rec_->set(detail::AttrTarget::span, {}, "honeyhive_error", Value(what), false);
    set_status(StatusCode::error, what);
  } catch (...) {
  }
  return *this;
}

Span& Span::record_exception(std::exception_ptr e) noexcept {
  if (rec_ == nullptr || !e) return *this;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    record_exception(ex);
  } catch (...) {
    add_event("exception",
              {{"exception.type", "unknown"}, {"exception.message", "unknown exception"}});
    rec_->set(detail::AttrTarget::span, {}, "honeyhive_error", Value("unknown exception"), false);
    set_status(StatusCode::error, "unknown exception");
  }
  return *this;
}

Span& Span::set_name(std::string_view name) noexcept {
  if (rec_ != nullptr) rec_->name = rec_->arena.copy(name);
  return *this;
}

Span& Span::set_event_type(EventType type) noexcept {
  if (rec_ != nullptr) rec_->type = type;
  return *this;
}

Context Span::context() const noexcept {
  if (rec_ != nullptr) {
    return Context(rec_->trace, rec_->span, rec_->flags, false, rec_->extras);
  }
  if (own_span_.valid()) {
    if (own_lazy_)
      return Context(detail::trace_id_of(own_span_.value), detail::span_id_of(own_span_.value),
                     own_flags_, false);
    return Context(own_trace_, own_span_, own_flags_, false);
  }
  return {};
}

// ---- Context and Scope ------------------------------------------------------------------------

Context Context::current() noexcept {
  const detail::ContextState& s = detail::tl_state();
  if (!s.trace.valid() && s.extras == nullptr) return {};
  return Context(detail::trace_id_of(s), detail::span_id_of(s), s.flags, s.remote,
                 s.extras != nullptr ? *s.extras : std::shared_ptr<const ContextExtras>());
}

Scope::Scope(const Context& ctx) noexcept : keep_(ctx.extras()) {
  detail::ContextState& cur = detail::tl_state();
  saved_trace_ = cur.trace;
  saved_span_ = cur.span;
  saved_flags_ = cur.flags;
  saved_remote_ = cur.remote;
  saved_lazy_ = cur.lazy;
  saved_extras_ = cur.extras;
  saved_record_ = cur.record;
  cur.trace = ctx.trace_id();
  cur.span = ctx.span_id();
  cur.flags = ctx.flags();
  cur.remote = ctx.remote();
  cur.lazy = false;
  cur.extras = keep_ ? &keep_ : nullptr;
  cur.record = nullptr;
}

Scope::~Scope() {
  detail::ContextState& cur = detail::tl_state();
  cur.trace = saved_trace_;
  cur.span = saved_span_;
  cur.flags = saved_flags_;
  cur.remote = saved_remote_;
  cur.lazy = saved_lazy_;
  cur.extras = saved_extras_;
  cur.record = static_cast<detail::SpanRecord*>(saved_record_);
  if (detail::tl_ended_early_count != 0) detail::skip_ended_early(cur);
}

// ---- enrich_span -------------------------------------------------------------------------------

std::string_view prefix(Namespace ns) noexcept {
  const auto i = static_cast<std::size_t>(ns);
  return i < std::size(detail::kPrefixes) ? detail::kPrefixes[i] : detail::kPrefixes[0];
}

namespace {
void enrich_error(detail::SpanRecord* r, const Enrichment& e) noexcept {
  r->set(detail::AttrTarget::span, {}, "honeyhive_error", Value(*e.error), false);
  r->status = StatusCode::error;
  r->status_message = r->arena.copy(*e.error);
}
}  // namespace

bool enrich_span(const Enrichment& e) noexcept {
  detail::SpanRecord* r = detail::tl_state().record;
  if (r == nullptr) [[unlikely]] {
    detail::g_enrich_without_span.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  detail::enrich_all(*r, e);
  if (e.error) [[unlikely]]
    enrich_error(r, e);
  return true;
}

namespace {
bool enrich_record(detail::SpanRecord* r, const Enrichment& e) noexcept {
  if (r == nullptr) {
    detail::g_enrich_without_span.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  detail::enrich_namespaces(*r, e);
  if (e.error) enrich_error(r, e);
  return true;
}
}  // namespace

bool enrich_span(Namespace ns, std::string_view key, const Value& value) noexcept {
  detail::SpanRecord* r = detail::tl_state().record;
  if (r == nullptr) {
    detail::g_enrich_without_span.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const auto i = static_cast<std::size_t>(ns);
  const std::size_t at = i < std::size(detail::kPrefixes) ? i : 0;
  if (!r->try_add_scalar_dotted(detail::kDottedPrefixes[at], key, value)) [[unlikely]]
    r->set(detail::AttrTarget::span, detail::kPrefixes[at], key, value, false);
  return true;
}

bool enrich_span(Span& span, const Enrichment& e) noexcept {
  if (!span.recording()) return false;
  return enrich_record(detail::SpanRecordAccess::get(span), e);
}

}  // namespace skein

namespace skein::detail {
SpanRecord* SpanRecordAccess::get(const Span& s) noexcept {
  return s.rec_;
}
}  // namespace skein::detail
