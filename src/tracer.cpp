// Tracer handles, the tracer core's application-thread side (span start, hand-off, per-thread
// buffers), init, the default tracer, and the flush at exit.
#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <new>

#include "clock.hpp"
#include "core.hpp"
#include "ids.hpp"
#include "locals.hpp"
#include "propagation_internal.hpp"
#include "resources_internal.hpp"
#include "sampling.hpp"
#include "skein/tracer.hpp"
#include "thread_counters.hpp"
#include "tls.hpp"

namespace skein {
namespace detail {

namespace {

std::atomic<std::uint64_t> g_next_core_id{1};

// The calling thread's buffers (tl_cache in core.hpp is the one-entry cache in front of them);
// the owning list releases (orphans) the buffers at thread exit.
SKEIN_HOT_TLS bool tl_exited = false;

struct TlBuffers {
  std::vector<std::shared_ptr<ThreadBuffer>> all;
  ~TlBuffers() {
    tl_exited = true;
    tl_cache = {};
    for (auto& b : all) b->orphaned.store(true, std::memory_order_release);
  }
};
thread_local TlBuffers tl_buffers;

// Every live core, for the flush at exit.
struct Registry {
  std::mutex mu;
  std::vector<std::weak_ptr<TracerCore>> cores;
};
Registry& registry() {
  static Registry* r = new Registry();  // leaked on purpose: used during exit
  return *r;
}

void flush_all_at_exit() noexcept {
  std::vector<std::shared_ptr<TracerCore>> live;
  {
    std::lock_guard<std::mutex> lock(registry().mu);
    for (auto& w : registry().cores) {
      if (auto c = w.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) {
    c->shutdown(std::chrono::steady_clock::now() + c->options().shutdown_timeout);
  }
}

// fork(): every live core is held still across the fork; the child starts afresh (fork.cpp).
std::vector<std::shared_ptr<TracerCore>>* g_forking = nullptr;

void atfork_prepare() noexcept {
  registry().mu.lock();
  g_forking = new (std::nothrow) std::vector<std::shared_ptr<TracerCore>>();
  if (g_forking == nullptr) return;
  for (auto& w : registry().cores) {
    if (auto c = w.lock()) {
      c->fork_prepare();
      g_forking->push_back(std::move(c));
    }
  }
}

void atfork_done(bool child) noexcept {
  std::unique_ptr<std::vector<std::shared_ptr<TracerCore>>> cores(g_forking);
  g_forking = nullptr;
  if (cores) {
    for (auto& c : *cores) child ? c->fork_child() : c->fork_parent();
  }
  if (child) {
    // This thread's buffers belong to the parent now (after fork_child: letting go of one may
    // lock its core).
    tl_cache = {};
    tl_buffers.all.clear();
  }
  registry().mu.unlock();
}

void register_core(const std::shared_ptr<TracerCore>& core) {
  static const int once = std::atexit(&flush_all_at_exit);
  (void)once;
  static const int forks = pthread_atfork(
      &atfork_prepare, [] { atfork_done(false); }, [] { atfork_done(true); });
  (void)forks;
  std::lock_guard<std::mutex> lock(registry().mu);
  auto& v = registry().cores;
  std::erase_if(v, [](const std::weak_ptr<TracerCore>& w) { return w.expired(); });
  v.push_back(core);
}

}  // namespace

// ---- ThreadBuffer ----------------------------------------------------------------------------

ThreadBuffer::ThreadBuffer(std::shared_ptr<TracerCore> c, std::uint32_t cap)
    : core(std::move(c)), capacity(cap), ready(std::size_t{cap} * 2), returned(cap) {}

ThreadBuffer::~ThreadBuffer() {
  if (core) core->retire(*this);
}

void TracerCore::Totals::add(const ThreadBuffer& b) noexcept {
  const std::uint64_t never = b.never_roots.get();
  started += b.sampled.get() + b.unsampled.get() + never + b.dropped_buffer_full.get();
  sampled += b.sampled.get();
  sampled_roots += b.sampled_roots.get();
  unsampled += b.unsampled.get() + never;
  never_roots += never;
  ended += b.ended.get();
  buffer_full += b.dropped_buffer_full.get();
  queue_full += b.dropped_queue_full.get();
  shutdown += b.dropped_shutdown.get();
}

void TracerCore::retire(const ThreadBuffer& b) noexcept {
  std::lock_guard<std::mutex> lock(buffers_mu_);
  retired_.add(b);
}

void TracerCore::release_after_stop() noexcept {
  std::vector<std::shared_ptr<Exporter>> exporters;
  {
    std::lock_guard<std::mutex> lock(exporters_mu_);
    for (const auto& e : exporters_) final_exporter_stats_ += e->stats();
    exporters_released_ = true;
    exporters.swap(exporters_);
  }
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
  {
    std::lock_guard<std::mutex> lock(buffers_mu_);
    // The pipeline thread is gone, so this thread is the rings' only consumer now: a span that
    // ended on another thread just before `enabled_` turned false, after the final drain, is
    // counted here instead of being lost.
    std::uint64_t late = 0;
    for (auto& b : buffers_) {
      SpanRecord* r = nullptr;
      while (b->ready.pop(r)) {
        if (!r->discard) ++late;
        r->home->returned.push(r);
      }
    }
    if (late > 0) dropped_late_.inc(late);
    for (auto& b : buffers_) released_buffers_.push_back(b);
    buffers.swap(buffers_);
    buffers_version_.fetch_add(1, std::memory_order_release);
  }
  snapshot_.clear();
  // `exporters` and `buffers` are released here, outside the locks (a buffer that no thread
  // holds any more retires its counters into retired_).
}

// Called when the free list is empty. A thread that ends more than a million spans a second
// reuses returned records oldest first and grows its pool to kHotPool records before it reuses
// any: a record's lines are then reused long after the pipeline's core read them, when that core
// has most likely let them go, so the application's stores to them need not take them back from
// it. Interleaved runs of 3 million sampled spans (docs/design.md): 73.6 -> 59.2 ns a span on the
// 2-vCPU machine. A slower thread keeps the pool it needs and reuses the newest records first, as
// before: it gains nothing from the wait, and its newest records are the ones still warm in its
// own cache.
SpanRecord* ThreadBuffer::refill() noexcept {
  const auto now = std::chrono::steady_clock::now();
  const bool hot = handed_ >= 256 && now - last_refill_ < handed_ * std::chrono::microseconds(1);
  last_refill_ = now;
  std::uint32_t returned_n = 0;
  SpanRecord* r = nullptr;
  if (hot) {  // oldest first, in front of what was left (nothing, when acquire() calls)
    SpanRecord* head = nullptr;
    SpanRecord** tail = &head;
    while (returned.pop(r)) {
      *tail = r;
      tail = &r->next_free;
      ++returned_n;
    }
    *tail = free_;
    free_ = head;
  } else {  // newest first: a slower thread reuses the records still warm in its own cache
    while (returned.pop(r)) {
      release_local(r);
      ++returned_n;
    }
  }
  handed_ = returned_n;
  const std::uint32_t grow_to = hot ? std::min(kHotPool, capacity) : 0;
  if ((free_ == nullptr || created_ < grow_to) && created_ < capacity) {
    std::uint32_t n = std::min<std::uint32_t>(created_ == 0 ? 16 : 256, capacity - created_);
    try {
      auto chunk = std::make_unique<SpanRecord[]>(n);
      for (std::uint32_t i = n; i-- > 0;) {  // the list then starts with chunk[0]
        chunk[i].core = core.get();
        chunk[i].home = this;
        chunk[i].max_attrs = core->options().max_attributes;
        chunk[i].max_value_length = core->options().max_value_length;
        release_local(&chunk[i]);  // in front of the returned ones
      }
      chunks_.push_back(std::move(chunk));
      created_ += n;
      handed_ += n;
    } catch (...) {
      // Memory is short: the returned records, if any, are still on the list.
    }
  }
  return free_;
}

// ---- TracerCore: application side --------------------------------------------------------------

TracerCore::TracerCore(FinalizedOptions options, Error status,
                       std::vector<std::shared_ptr<Exporter>> exporters)
    // The base first (it is initialized first): from `options` before it is moved.
    : CoreHot(g_next_core_id.fetch_add(1), detail::never_samples_roots(options.sampler.get()),
              options.sampler != nullptr && options.sampler->decides_local()),
      options_(std::move(options)),
      status_(std::move(status)),
      exporters_(std::move(exporters)) {
  resource_.service_name = options_.service_name;
  resource_.project = options_.project;
  resource_.source = options_.source;
  resource_.session_id = options_.session_id;
  resource_.session_name = options_.session_name;
  auto& a = resource_.attributes;
  a.emplace_back("service.name", options_.service_name);
  a.emplace_back("telemetry.sdk.name", "skein");
  a.emplace_back("telemetry.sdk.language", "cpp");
  a.emplace_back("telemetry.sdk.version", "0.1.0");
  a.emplace_back("honeyhive.project", options_.project);
  a.emplace_back("honeyhive.source", options_.source);
  for (const auto& kv : options_.resource_attributes) {
    bool present = false;
    for (const auto& e : a) present = present || e.first == kv.first;
    if (!present) a.push_back(kv);
  }
  batch_.reserve(512);
  views_.reserve(512);
}

TracerCore::~TracerCore() {
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else {
      stop_.store(true);
      nudge();
      thread_.join();
    }
  }
}

void TracerCore::start() {
  if (status_.code != ErrorCode::none) return;
  // The clock's first calibration (a 2 ms measurement, once per process) happens here, in
  // Tracer::init, rather than inside the application's first span.
  (void)ticks_are_tsc();
  set_enabled(true);
  register_core(shared_from_this());
  std::shared_ptr<TracerCore> self = shared_from_this();
  thread_ = std::thread([self] { self->run(); });
}

ThreadBuffer* TracerCore::local_buffer() noexcept {
  if (tl_cache.core_id == id_) return tl_cache.buffer;
  if (tl_exited) return nullptr;
  for (auto& b : tl_buffers.all) {
    if (b->core.get() == this) {
      tl_cache = {id_, b.get(), &b->never_roots.v};
      return b.get();
    }
  }
  ThreadBuffer* b = register_thread();
  if (b != nullptr) tl_cache = {id_, b, &b->never_roots.v};
  return b;
}

ThreadBuffer* TracerCore::register_thread() noexcept {
  try {
    std::shared_ptr<ThreadBuffer> buf;
    {
      std::lock_guard<std::mutex> lock(buffers_mu_);
      if (stop_.load()) return nullptr;
      for (auto& b : buffers_) {
        bool expected = true;
        if (b->orphaned.load(std::memory_order_acquire) &&
            b->orphaned.compare_exchange_strong(expected, false, std::memory_order_acq_rel)) {
          buf = b;  // adopt a buffer whose thread exited
          break;
        }
      }
      if (!buf) {
        buf = std::make_shared<ThreadBuffer>(shared_from_this(), options_.thread_buffer_spans);
        buffers_.push_back(buf);
        buffers_version_.fetch_add(1, std::memory_order_release);
      }
      if (restart_after_fork_) restart_after_fork_locked();
    }
    tl_buffers.all.push_back(buf);
    return buf.get();
  } catch (...) {
    return nullptr;
  }
}

// An unsampled root that keeps its nonce instead of its ids (ContextState::lazy).
inline void TracerCore::push_lazy_root(
    Span& s, ContextState& cur, std::uint64_t nonce, std::uint8_t flags,
    const std::shared_ptr<const ContextExtras>* extras) noexcept {
  s.saved_ = cur;
  s.pushed_ = Span::kPushed;
  s.own_span_ = SpanId{nonce};
  s.own_flags_ = flags;
  s.own_lazy_ = true;
  cur = lazy_root_state(nonce, flags, extras);
}

// A root under always_off / probability(0), decided without the sampler: counted once
// (ThreadBuffer::never_roots), and a lazy context pushed so that it still propagates (sampled flag
// 0), with no ids unless someone reads them. Tracer::span does this inline (Tracer::never_root)
// when the thread's buffer is cached and a nonce is at hand; this is the rest: the thread's first
// span, a new block of nonces, a disabled tracer.
Span TracerCore::start_never_root() noexcept {
  Span s;
  if (!enabled()) return s;
  ThreadBuffer* buf = local_buffer();
  if (buf == nullptr) return s;
  buf->never_roots.inc();
  ContextState& cur = tl_current;
  push_lazy_root(s, cur, next_nonce(), trace_flags::random, cur.extras);
  return s;
}

// Records a sampled span: takes a record, fills it, and makes it the current span of `s`.
[[gnu::always_inline]] inline void TracerCore::record_span(
    Span& s, ThreadBuffer* buf, ContextState& cur, std::string_view name, const SpanOptions& o,
    TraceId trace, SpanId span, SpanId parent, std::uint8_t flags, bool remote, double probability,
    const std::shared_ptr<const ContextExtras>* extras) noexcept {
  SpanRecord* r = buf->acquire();
  if (r == nullptr) [[unlikely]] {
    buf->dropped_buffer_full.inc();
    nudge();
    return;
  }
  buf->sampled.inc();
  if (!parent.valid()) buf->sampled_roots.inc();
  r->trace = trace;
  r->span = span;
  r->parent = parent;
  r->flags = flags;
  r->parent_remote = remote;
  r->sampling_probability = probability;
  if (extras != nullptr) [[unlikely]]
    attach_extras(*r, *extras);
  r->kind = o.kind;
  r->type = o.type;
  r->store_name(name);
  for (const Field& f : o.attributes) {
    if (!r->try_add_scalar(f.key, f.value)) r->set(AttrTarget::span, {}, f.key, f.value, true);
  }
  s.rec_ = r;
  s.saved_ = cur;
  s.pushed_ = Span::kPushed;
  cur = ContextState{trace, span, flags, false, false, r->extras ? &r->extras : nullptr, r};
  if (o.resources) [[unlikely]]
    begin_resources(*r, o.resources.rss);  // resources.cpp
  r->start_ticks = now_ticks();
}

// The context's baggage, tracestate and context-local values on a new record.
void TracerCore::attach_extras(SpanRecord& r,
                               const std::shared_ptr<const ContextExtras>& extras) noexcept {
  r.extras = extras;
  r.rare = true;
  if (!options_.baggage_attributes.empty()) copy_baggage_attributes(r, options_.baggage_attributes);
  if (r.extras && r.extras->locals) apply_locals(r, *r.extras->locals);  // correlation.cpp
}

[[gnu::always_inline]] inline Span TracerCore::start_common(std::string_view name,
                                                            const SpanOptions& o) noexcept {
  Span s;
  ContextState& cur = tl_current;
  ThreadBuffer* buf = tl_cache.buffer;
  if (cur.trace.valid()) {
    // Inside an unsampled trace: a no-op handle (the decision was made at the root).
    if ((cur.flags & trace_flags::sampled) == 0) return s;
    record_span(s, buf, cur, name, o, cur.trace, new_span_id(), cur.span, cur.flags, cur.remote, -1,
                cur.extras);
    return s;
  }
  // A root kept without a sampler: its ids are those of a fresh nonce (src/ids.hpp).
  const std::uint64_t nonce = next_nonce();
  record_span(s, buf, cur, name, o, trace_id_of(nonce), span_id_of(nonce), SpanId{},
              trace_flags::random | trace_flags::sampled, false, -1, cur.extras);
  return s;
}

Span TracerCore::start_span(std::string_view name, const SpanOptions& o) noexcept {
  // The common span, decided without the general path's cases: no explicit parent, and either a
  // child of the current sampled span or a root that a tracer without a sampler keeps.
  const ContextState& cur = tl_current;
  if (o.parent == nullptr && !o.new_root && tl_cache.core_id == id_ && enabled() &&
      (cur.trace.valid() ? !decides_local_ : options_.sampler == nullptr)) [[likely]]
    return start_common(name, o);
  return start_general(name, o);
}

Span TracerCore::start_general(std::string_view name, const SpanOptions& o) noexcept {
  Span s;
  ContextState& cur = tl_current;
  // The parent: explicit, none, or the current context.
  TraceId trace;
  SpanId parent;
  std::uint8_t flags = 0;
  bool remote = false;
  const std::shared_ptr<const ContextExtras>* extras = nullptr;
  if (o.parent != nullptr) {
    if (o.parent->valid()) {
      trace = o.parent->trace_id();
      parent = o.parent->span_id();
      flags = o.parent->flags();
      remote = o.parent->remote();
      if (o.parent->extras()) extras = &o.parent->extras();
    } else if (o.parent->extras()) {
      extras = &o.parent->extras();  // baggage that arrived without a valid traceparent
    }
  } else if (!o.new_root && cur.trace.valid()) {
    // Inside an unsampled trace: a no-op handle, nothing else (the decision was made at the root),
    // unless the sampler decides for children of local parents and this parent is one.
    if ((cur.flags & trace_flags::sampled) == 0 && !(decides_local_ && !cur.remote)) return s;
    trace = trace_id_of(cur);  // an unsampled root's ids are computed here if still lazy
    parent = span_id_of(cur);
    flags = cur.flags;
    remote = cur.remote;
    extras = cur.extras;
  } else if (!o.new_root) {
    extras = cur.extras;  // a root under a baggage-only context keeps the baggage
  }

  // Enabled first: a disabled or no-op tracer must not make (and keep) a buffer per thread.
  if (!enabled()) return s;
  ThreadBuffer* buf = tl_cache.core_id == id_ ? tl_cache.buffer : local_buffer();
  if (buf == nullptr) return s;

  double probability = -1;
  const std::shared_ptr<const ContextExtras>* decided_state = nullptr;
  std::shared_ptr<const ContextExtras> combined;
  std::uint64_t root_nonce = 0;
  if (!trace.valid()) {
    // A root: the one place a sampler decides for a trace started here. Its ids are those of a
    // fresh nonce (src/ids.hpp), computed only when needed.
    root_nonce = next_nonce();
    flags = trace_flags::random;
    trace = trace_id_of(root_nonce);
    bool keep = true;
    if (Sampler* sampler = options_.sampler.get()) {
      SamplingParams p{trace,  trace.lo & (kMaxThreshold - 1), name, o.type, o.kind, o.attributes,
                       nullptr};
      SamplingDecision d = sampler->should_sample(p);
      keep = d.sample;
      probability = d.probability;
      if (keep && d.consistent) decided_state = &root_tracestate(d.threshold);
    }
    if (keep) flags |= trace_flags::sampled;
    if (decided_state != nullptr) {
      if (extras == nullptr || ((*extras)->baggage.empty() && !(*extras)->locals)) {
        extras = decided_state;
      } else {
        // Baggage (or context-local values) from the context and the decision's tracestate: the
        // one case that allocates.
        try {
          combined = std::make_shared<const ContextExtras>(
              ContextExtras{(*decided_state)->trace_state, (*extras)->baggage, (*extras)->locals});
          extras = &combined;
        } catch (...) {
        }
      }
    }
  } else if (!remote && decides_local_) {
    // A parent in this process, and a sampler that decides for those (parent_based with local
    // choices): it may record part of a trace.
    SamplingParams p{
        trace, trace.lo & (kMaxThreshold - 1),     name, o.type, o.kind, o.attributes, nullptr,
        true,  (flags & trace_flags::sampled) != 0};
    SamplingDecision d = options_.sampler->should_sample(p);
    flags = static_cast<std::uint8_t>((flags & ~trace_flags::sampled) |
                                      (d.sample ? trace_flags::sampled : 0));
    probability = d.probability;
  } else if (remote && o.parent != nullptr && options_.sampler &&
             options_.sampler->decides_remote()) {
    // A remote parent, and a sampler that wants a say (parent_based with its own choices).
    std::string_view ts = o.parent->trace_state();
    std::uint64_t rv = trace.lo & (kMaxThreshold - 1);
    if (auto explicit_rv = tracestate_rv(ts)) rv = *explicit_rv;
    SamplingParams p{trace, rv, name, o.type, o.kind, o.attributes, o.parent};
    SamplingDecision d = options_.sampler->should_sample(p);
    flags = static_cast<std::uint8_t>((flags & ~trace_flags::sampled) |
                                      (d.sample ? trace_flags::sampled : 0));
    probability = d.probability;
  }

  if ((flags & trace_flags::sampled) == 0) {
    // Not recorded; the context still propagates (sampled flag 0).
    buf->unsampled.inc();
    if (root_nonce != 0) {
      push_lazy_root(s, cur, root_nonce, flags, extras);
      return s;
    }
    s.saved_ = cur;
    s.pushed_ = Span::kPushed;
    s.own_trace_ = trace;
    s.own_span_ = new_span_id();
    s.own_flags_ = flags;
    s.own_lazy_ = false;
    cur = ContextState{trace, s.own_span_, flags, false, false, extras, nullptr};
    return s;
  }

  record_span(s, buf, cur, name, o, trace, root_nonce != 0 ? span_id_of(root_nonce) : new_span_id(),
              parent, flags, remote, probability, extras);
  return s;
}

void TracerCore::submit_slow(SpanRecord* r) noexcept {
  ThreadBuffer* b = local_buffer();
  if (b == nullptr || !enabled()) {
    if (b != nullptr)
      b->dropped_shutdown.inc();
    else
      retired_dropped_.fetch_add(1, std::memory_order_relaxed);
    if (b != nullptr && r->home == b) b->release_local(r);
    return;
  }
  // Started by the parent before a fork(), ended in the child: the parent exports it, not us.
  if (r->home != b && r->home->forked_away.load(std::memory_order_relaxed)) return;
  b->ended.inc();
  while (!b->foreign_dropped.empty() && b->ready.push(b->foreign_dropped.back())) {
    b->foreign_dropped.pop_back();
  }
  if (!b->ready.push(r)) return queue_full(*b, r);
  if ((++b->pushes & 127) == 0) check_depth(*b);
}

void TracerCore::queue_full(ThreadBuffer& b, SpanRecord* r) noexcept {
  b.dropped_queue_full.inc();
  if (r->home == &b) {
    b.release_local(r);
  } else {
    r->discard = true;
    try {
      b.foreign_dropped.push_back(r);
    } catch (...) {  // out of memory: the record stays lost to its pool
    }
  }
}

void TracerCore::check_depth(ThreadBuffer& b) noexcept {
  if (b.ready.producer_size() >= b.capacity / 8) nudge();
}

Stats TracerCore::stats() const noexcept {
  Stats s;
  std::uint64_t never = 0;
  {
    std::lock_guard<std::mutex> lock(buffers_mu_);
    Totals t = retired_;
    for (const auto& b : buffers_) t.add(*b);
    for (const auto& w : released_buffers_) {
      if (auto b = w.lock()) t.add(*b);
    }
    never = t.never_roots;
    s.spans_started = t.started;
    s.spans_sampled = t.sampled;
    s.spans_unsampled = t.unsampled;
    s.spans_sampled_roots = t.sampled_roots;
    s.spans_ended = t.ended;
    s.dropped_buffer_full = t.buffer_full;
    s.dropped_queue_full = t.queue_full;
    s.dropped_shutdown = t.shutdown;
  }
  s.dropped_shutdown += retired_dropped_.load(std::memory_order_relaxed) + dropped_late_.get();
  s.spans_exported = exported_.get();
  s.export_failures = export_failures_.get();
  s.attributes_dropped = attrs_dropped_.get();
  s.events_dropped = events_dropped_.get();
  s.links_dropped = links_dropped_.get();
  s.values_truncated = truncated_.get();
  s.callback_failures = callback_failures_.get();
  s.enrich_without_span = g_enrich_without_span.load(std::memory_order_relaxed);
  s.spans_dropped = s.dropped_buffer_full + s.dropped_queue_full + s.dropped_shutdown;
  ExporterStats x;
  {
    std::lock_guard<std::mutex> lock(exporters_mu_);
    if (exporters_released_) x = final_exporter_stats_;
    for (const auto& e : exporters_) x += e->stats();
  }
  s.export_sent = x.sent;
  s.export_rejected = x.rejected;
  s.export_failed = x.failed;
  s.export_dropped_queue_full = x.dropped_queue_full;
  s.export_dropped_shutdown = x.dropped_shutdown;
  s.export_retries = x.retries;
  s.dropped_tail_sampling = x.discarded_tail_sampling;
  if (options_.sampler) {
    try {
      const std::size_t first = s.samplers.size();
      options_.sampler->collect_stats(s.samplers);
      // The roots decided inline were decisions of this sampler.
      if (never_samples_roots_ && s.samplers.size() > first) s.samplers[first].seen += never;
    } catch (...) {
    }
  }
  return s;
}

// ---- handles
// -------------------------------------------------------------------------------------

namespace {

// Owns a started core: the last Tracer handle to go shuts it down.
struct TracerOwner {
  explicit TracerOwner(std::shared_ptr<TracerCore> c) : core(std::move(c)) {}
  TracerOwner(const TracerOwner&) = delete;
  TracerOwner& operator=(const TracerOwner&) = delete;
  std::shared_ptr<TracerCore> core;
  ~TracerOwner() {
    core->shutdown(std::chrono::steady_clock::now() + core->options().shutdown_timeout);
  }
};

std::shared_ptr<TracerCore> disabled_core(FinalizedOptions o, Error e) {
  return std::make_shared<TracerCore>(std::move(o), std::move(e),
                                      std::vector<std::shared_ptr<Exporter>>{});
}

const std::shared_ptr<TracerCore>& noop_core() {
  static const std::shared_ptr<TracerCore>* c = new std::shared_ptr<TracerCore>(
      disabled_core(FinalizedOptions{}, Error{ErrorCode::disabled, "no tracer was initialized"}));
  return *c;
}

std::mutex g_default_mu;
std::atomic<TracerCore*> g_default_core{nullptr};
// Handles of every tracer that was ever the default, kept so that a raw pointer loaded by another
// thread stays valid; replacing the default is rare.
std::vector<std::shared_ptr<TracerCore>>* g_defaults =
    new std::vector<std::shared_ptr<TracerCore>>();

}  // namespace

std::vector<std::shared_ptr<Exporter>> make_builtin_exporters(const FinalizedOptions& o, Error& e);

}  // namespace detail

Tracer::Tracer() noexcept : core_(detail::noop_core()), hot_(core_.get()) {}
Tracer::Tracer(std::shared_ptr<detail::TracerCore> core) noexcept
    : core_(std::move(core)), hot_(core_.get()) {}

Tracer Tracer::init(const Options& options) noexcept {
  try {
    Error err;
    FinalizedOptions fo = finalize(options, err);
    if (err) {
      std::fprintf(stderr, "skein: tracing disabled: %s\n", err.message.c_str());
      return Tracer(detail::disabled_core(std::move(fo), std::move(err)));
    }
    if (fo.disabled) {
      return Tracer(detail::disabled_core(
          std::move(fo), Error{ErrorCode::disabled, "tracing disabled by configuration"}));
    }
    auto exporters = detail::make_builtin_exporters(fo, err);
    if (err) {
      std::fprintf(stderr, "skein: tracing disabled: %s\n", err.message.c_str());
      return Tracer(detail::disabled_core(std::move(fo), std::move(err)));
    }
    if (fo.tail_sampling && !exporters.empty()) {  // one stage in front of every exporter
      const TailSamplingSettings& t = *fo.tail_sampling;
      std::vector<std::shared_ptr<Exporter>> next;
      next.swap(exporters);
      exporters.push_back(make_tail_sampler({.keep_errors = t.keep_errors,
                                             .slow_threshold = t.slow_threshold,
                                             .probability = t.probability,
                                             .max_wait = t.max_wait,
                                             .max_spans = t.max_spans},
                                            std::move(next)));
    }
    bool make_default = options.make_default.value_or(
        detail::g_default_core.load(std::memory_order_acquire) == nullptr);
    fo.exporters.clear();  // the core owns them now, and lets go of them at shutdown
    auto core = std::make_shared<detail::TracerCore>(std::move(fo), Error{}, std::move(exporters));
    core->start();
    auto owner = std::make_shared<detail::TracerOwner>(core);
    Tracer t(std::shared_ptr<detail::TracerCore>(owner, core.get()));
    if (make_default) t.make_default();
    return t;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "skein: tracing disabled: %s\n", e.what());
  } catch (...) {
  }
  return Tracer();
}

Span Tracer::start(std::string_view name, const SpanOptions& options) noexcept {
  detail::TracerCore* c = core_.get();
  if (c->never_samples_roots() && options.parent == nullptr && !options.new_root &&
      !detail::tl_current.trace.valid()) {
    return c->start_never_root();
  }
  return c->start_span(name, options);
}

bool Tracer::enabled() const noexcept {
  return core_->enabled();
}
const Error& Tracer::error() const noexcept {
  return core_->status();
}
const FinalizedOptions& Tracer::options() const noexcept {
  return core_->options();
}
Stats Tracer::stats() const noexcept {
  return core_->stats();
}

bool Tracer::force_flush(std::chrono::milliseconds timeout) noexcept {
  return core_->flush(std::chrono::steady_clock::now() + timeout);
}

bool Tracer::shutdown(std::chrono::milliseconds timeout) noexcept {
  return core_->shutdown(std::chrono::steady_clock::now() + timeout);
}

bool Tracer::shutdown() noexcept {
  return shutdown(core_->options().shutdown_timeout);
}

void Tracer::make_default() const noexcept {
  if (!core_->enabled()) return;
  try {
    std::lock_guard<std::mutex> lock(detail::g_default_mu);
    detail::g_defaults->push_back(core_);
    detail::g_default_core.store(core_.get(), std::memory_order_release);
  } catch (...) {
  }
}

Tracer default_tracer() noexcept {
  std::lock_guard<std::mutex> lock(detail::g_default_mu);
  if (detail::g_defaults->empty()) return Tracer();
  return Tracer(detail::g_defaults->back());
}

Span span(std::string_view name, const SpanOptions& options) noexcept {
  detail::TracerCore* c = detail::g_default_core.load(std::memory_order_acquire);
  if (c == nullptr) return Span();
  return c->start_span(name, options);
}

}  // namespace skein
