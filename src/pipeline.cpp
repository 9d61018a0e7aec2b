// The pipeline thread: drains every thread's hand-off ring, turns records into views, calls the
// exporters, returns the records to their threads; plus flush and shutdown.
#include <pthread.h>

#include <algorithm>
#include <new>

#include "clock.hpp"
#include "core.hpp"

namespace skein::detail {

namespace {
constexpr std::size_t kMaxBatch = 512;
}

void TracerCore::run() noexcept {
  pthread_setname_np(pthread_self(), "skein-pipeline");  // visible in top -H, perf, gdb
  // A flush request is served once every ring has been consumed up to where its producer was
  // when the request was seen: everything ended before the request is then exported, however
  // busy the producers stay afterwards.
  std::uint64_t serving = flush_done_.load(std::memory_order_relaxed);
  std::vector<std::pair<ThreadBuffer*, std::size_t>> targets;
  for (;;) {
    std::uint64_t want = flush_requested_.load(std::memory_order_acquire);
    const bool stopping = stop_.load(std::memory_order_acquire);
    if (want != serving) {
      serving = want;
      refresh_snapshot();
      targets.clear();
      for (auto& b : snapshot_) targets.emplace_back(b.get(), b->ready.pushed());
    }
    const std::size_t n = drain_once();
    bool reached = serving != flush_done_.load(std::memory_order_relaxed);
    for (const auto& [b, pos] : targets) reached = reached && b->ready.popped() >= pos;
    if (reached || (stopping && n == 0)) {
      auto deadline = std::chrono::steady_clock::time_point(
          std::chrono::steady_clock::duration(flush_deadline_.load(std::memory_order_relaxed)));
      bool ok = true;
      for (auto& e : exporters_) {
        try {
          ok = e->force_flush(deadline) && ok;
        } catch (...) {
          ok = false;
        }
      }
      {
        std::lock_guard<std::mutex> lock(wake_mu_);
        flush_ok_ = ok;
        flush_done_.store(serving, std::memory_order_release);
      }
      done_cv_.notify_all();
      targets.clear();
      if (stopping && n == 0) break;
      continue;
    }
    if (n == 0) {
      std::unique_lock<std::mutex> lock(wake_mu_);
      wake_cv_.wait_for(lock, options_.flush_interval, [this] {
        return nudged_.load(std::memory_order_acquire) || stop_.load(std::memory_order_relaxed) ||
               flush_requested_.load(std::memory_order_relaxed) !=
                   flush_done_.load(std::memory_order_relaxed);
      });
      nudged_.store(false, std::memory_order_release);
    }
  }
  auto deadline = std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(flush_deadline_.load(std::memory_order_relaxed)));
  for (auto& e : exporters_) {
    try {
      e->shutdown(deadline);
    } catch (...) {
    }
  }
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stopped_.store(true, std::memory_order_release);
  }
  done_cv_.notify_all();
}

void TracerCore::refresh_snapshot() noexcept {
  if (buffers_version_.load(std::memory_order_acquire) == snapshot_version_) return;
  std::lock_guard<std::mutex> lock(buffers_mu_);
  snapshot_ = buffers_;
  snapshot_version_ = buffers_version_.load(std::memory_order_relaxed);
}

std::size_t TracerCore::drain_once() noexcept {
  refresh_snapshot();
  // At most kMaxPasses full batches per call, so that flush requests and stop are looked at
  // even while producers keep every ring busy.
  constexpr int kMaxPasses = 64;
  std::size_t total = 0;
  bool more = true;
  for (int pass = 0; more && pass < kMaxPasses; ++pass) {
    more = false;
    for (auto& b : snapshot_) {
      SpanRecord* r = nullptr;
      while (batch_.size() < kMaxBatch && b->ready.pop(r)) {
        if (r->discard) {  // dropped on another thread: only send it home
          return_record(r);
          continue;
        }
        batch_.push_back(r);
      }
      if (batch_.size() >= kMaxBatch) {
        total += batch_.size();
        export_batch();
        more = true;
      }
    }
  }
  if (!batch_.empty()) {
    total += batch_.size();
    export_batch();
  }
  return total;
}

void TracerCore::export_batch() noexcept {
  const Calibration cal = current_calibration();
  std::size_t n_events = 0, n_links = 0, n_compact = 0;
  for (SpanRecord* r : batch_) {
    n_compact += r->compact_n;
    if (!r->rare) continue;
    n_events += r->events.size();
    n_links += r->links.size();
  }
  views_.clear();
  event_views_.clear();
  link_views_.clear();
  if (n_compact > compact_capacity_) {
    compact_views_.reset(new (std::nothrow) Attribute[n_compact]);
    compact_capacity_ = compact_views_ ? n_compact : 0;
  }
  std::size_t compact_used = 0;
  try {
    views_.reserve(batch_.size());
    event_views_.reserve(n_events);
    link_views_.reserve(n_links);
  } catch (...) {
  }
  std::uint64_t attrs_dropped = 0, events_dropped = 0, links_dropped = 0, truncated = 0,
                callbacks = 0;
  constexpr std::size_t kAhead = 4;  // records are cold here: fetch a few spans ahead
  for (std::size_t i = 0; i < batch_.size() && i < kAhead; ++i) __builtin_prefetch(batch_[i]);
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    SpanRecord* r = batch_[i];
    if (i + kAhead < batch_.size()) {  // the hot lines of a record a few places ahead
      const char* next = reinterpret_cast<const char*>(batch_[i + kAhead]);
      __builtin_prefetch(next);
      __builtin_prefetch(next + 64);
      __builtin_prefetch(next + 128);  // the first line of `compact`
    }
    if (i + 2 < batch_.size() && !batch_[i + 2]->attrs.empty()) {
      __builtin_prefetch(batch_[i + 2]->attrs.data());  // its line 1 arrived by now
    }
    // The packed attributes become views in compact_views_ (sized for the whole batch above);
    // when that allocation failed, they move to the record's list.
    if (r->compact_n != 0 && compact_used + r->compact_n > compact_capacity_) [[unlikely]]
      r->spill_compact();
    std::span<const Attribute> attributes;
    if (r->compact_n != 0) {
      Attribute* a = compact_views_.get() + compact_used;
      const bool collided = r->decode_compact(a);  // compact_n <= 64: the mask decides
      const std::size_t n = collided ? dedupe_slow(a, r->compact_n) : r->compact_n;
      compact_used += n;
      attributes = std::span<const Attribute>(a, n);
    } else {
      r->dedupe_attributes();
      attributes = r->attrs;
    }
    SpanView& v = views_.emplace_back();  // reserved above (when that failed, this may throw)
    v.trace_id = r->trace;
    v.span_id = r->span;
    v.parent_span_id = r->parent;
    v.flags = r->flags;
    v.parent_remote = r->parent_remote;
    v.name = r->name;
    v.kind = r->kind;
    v.event_type = r->type;
    v.status = r->status;
    v.status_message = r->status_message;
    v.start_unix_nano = cal.to_unix_ns(r->start_ticks);
    v.end_unix_nano = std::max(v.start_unix_nano, cal.to_unix_ns(r->end_ticks));
    v.sampling_probability = r->sampling_probability;
    v.attributes = attributes;
    v.resource = &resource_;
    if (r->rare) {  // the cold part of the record: only when something is there
      if (r->extras) v.trace_state = r->extras->trace_state;
      std::size_t e0 = event_views_.size();
      for (const EventRec& e : r->events) {
        event_views_.push_back(EventView{
            e.name, cal.to_unix_ns(e.ticks),
            std::span<const Attribute>(r->event_attrs.data() + e.attr_begin, e.attr_count)});
      }
      v.events = std::span<const EventView>(event_views_.data() + e0, event_views_.size() - e0);
      std::size_t l0 = link_views_.size();
      for (const LinkRec& l : r->links) {
        link_views_.push_back(
            LinkView{l.trace, l.span, l.flags,
                     std::span<const Attribute>(r->link_attrs.data() + l.attr_begin, l.attr_count),
                     l.remote, l.trace_state});
      }
      v.links = std::span<const LinkView>(link_views_.data() + l0, link_views_.size() - l0);
      v.dropped_attributes = r->dropped_attrs;
      v.dropped_events = r->dropped_events;
      v.dropped_links = r->dropped_links;
      v.truncated_values = r->truncated;
      attrs_dropped += r->dropped_attrs;
      events_dropped += r->dropped_events;
      links_dropped += r->dropped_links;
      truncated += r->truncated;
      callbacks += r->callback_failures;
    }
  }
  bool ok = true;
  if (!abandoned_.load(std::memory_order_relaxed)) {
    for (auto& e : exporters_) {
      try {
        ok = e->export_spans(views_) == ExportResult::success && ok;
      } catch (...) {
        ok = false;
      }
    }
    if (!abandoned_.load(std::memory_order_relaxed)) {
      (ok ? exported_ : export_failures_).inc(views_.size());
    }
  }
  attrs_dropped_.inc(attrs_dropped);
  events_dropped_.inc(events_dropped);
  links_dropped_.inc(links_dropped);
  truncated_.inc(truncated);
  callback_failures_.inc(callbacks);
  for (SpanRecord* r : batch_) return_record(r);
  batch_.clear();
}

void TracerCore::return_record(SpanRecord* r) noexcept {
  // The owner clears the record when it takes it again. Cannot fail: a home ring holds as many
  // slots as the home has records.
  r->home->returned.push(r);
}

bool TracerCore::flush(std::chrono::steady_clock::time_point deadline) noexcept {
  if (!thread_.joinable() || stopped_.load(std::memory_order_acquire)) return true;
  flush_deadline_.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  std::uint64_t ticket = flush_requested_.fetch_add(1, std::memory_order_acq_rel) + 1;
  nudge();
  std::unique_lock<std::mutex> lock(wake_mu_);
  bool done = done_cv_.wait_until(lock, deadline, [&] {
    return flush_done_.load(std::memory_order_acquire) >= ticket ||
           stopped_.load(std::memory_order_acquire);
  });
  return done && flush_ok_;
}

bool TracerCore::shutdown(std::chrono::steady_clock::time_point deadline) noexcept {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  if (shut_down_) return shutdown_result_;
  shut_down_ = true;
  if (!thread_.joinable()) {
    set_enabled(false);
    return shutdown_result_ = true;
  }
  bool ok = flush(deadline);
  set_enabled(false);
  flush_deadline_.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_.store(true, std::memory_order_release);
  }
  wake_cv_.notify_all();
  bool stopped;
  {
    std::unique_lock<std::mutex> lock(wake_mu_);
    stopped = done_cv_.wait_until(lock, deadline,
                                  [&] { return stopped_.load(std::memory_order_acquire); });
  }
  if (stopped) {
    thread_.join();
    release_after_stop();
  } else {
    // A stuck exporter: abandon the thread (it keeps this core alive) and count what it held.
    abandoned_.store(true);
    thread_.detach();
    Stats s = stats();
    std::uint64_t accounted = s.spans_exported + s.export_failures;
    if (s.spans_ended > accounted) dropped_late_.inc(s.spans_ended - accounted);
    ok = false;
  }
  return shutdown_result_ = ok;
}

}  // namespace skein::detail
