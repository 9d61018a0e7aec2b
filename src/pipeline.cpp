// The pipeline thread: drains every thread's hand-off ring, turns records into views, calls the
// exporters, returns the records to their threads; plus flush and shutdown.
#include <algorithm>

#include "clock.hpp"
#include "core.hpp"

namespace skein::detail {

namespace {
constexpr std::size_t kMaxBatch = 512;
}

void TracerCore::run() noexcept {
  for (;;) {
    // Read the requests before draining: every span ended before a request is then drained.
    std::uint64_t want = flush_requested_.load(std::memory_order_acquire);
    bool stopping = stop_.load(std::memory_order_acquire);
    std::size_t n = drain_once();
    // One drain after reading a flush request empties every ring at least once, so everything
    // ended before the request is exported; waiting for a pass that finds nothing would starve
    // the flush while threads keep producing. Stopping drains until nothing is left.
    const bool drained = n == 0;
    if (want != flush_done_.load(std::memory_order_relaxed) || (stopping && drained)) {
      // Everything ended before the request has been exported: flush the exporters.
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
        flush_done_.store(want, std::memory_order_release);
      }
      done_cv_.notify_all();
      if (stopping && drained) break;
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

std::size_t TracerCore::drain_once() noexcept {
  std::uint64_t version = buffers_version_.load(std::memory_order_acquire);
  if (version != snapshot_version_) {
    std::lock_guard<std::mutex> lock(buffers_mu_);
    snapshot_ = buffers_;
    snapshot_version_ = buffers_version_.load(std::memory_order_relaxed);
  }
  std::size_t total = 0;
  for (auto& b : snapshot_) {
    // At most a ring's capacity per drain: that takes everything the ring held when the drain
    // began (so a flush request read before it is satisfied), and ends the drain even while
    // threads keep producing.
    std::size_t budget = b->ready.capacity();
    SpanRecord* r = nullptr;
    while (budget > 0 && b->ready.pop(r)) {
      --budget;
      batch_.push_back(r);
      if (batch_.size() >= kMaxBatch) {
        total += batch_.size();
        export_batch();
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
  std::size_t n_events = 0, n_links = 0;
  for (SpanRecord* r : batch_) {
    n_events += r->events.size();
    n_links += r->links.size();
  }
  views_.clear();
  event_views_.clear();
  link_views_.clear();
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
    if (i + kAhead < batch_.size()) {
      const char* next = reinterpret_cast<const char*>(batch_[i + kAhead]);
      __builtin_prefetch(next);
      __builtin_prefetch(next + 64);
      __builtin_prefetch(next + 128);
    }
    if (!r->attrs.empty()) __builtin_prefetch(r->attrs.data());
    r->dedupe_attributes();
    SpanView v;
    v.trace_id = r->trace;
    v.span_id = r->span;
    v.parent_span_id = r->parent;
    v.flags = r->flags;
    v.parent_remote = r->parent_remote;
    if (r->extras) v.trace_state = r->extras->trace_state;
    v.name = r->name;
    v.kind = r->kind;
    v.event_type = r->type;
    v.status = r->status;
    v.status_message = r->status_message;
    v.start_unix_nano = cal.to_unix_ns(r->start_ticks);
    v.end_unix_nano = std::max(v.start_unix_nano, cal.to_unix_ns(r->end_ticks));
    v.attributes = r->attrs;
    std::size_t e0 = event_views_.size();
    for (const EventRec& e : r->events) {
      event_views_.push_back(EventView{
          e.name, cal.to_unix_ns(e.ticks),
          std::span<const Attribute>(r->event_attrs.data() + e.attr_begin, e.attr_count)});
    }
    v.events = std::span<const EventView>(event_views_.data() + e0, event_views_.size() - e0);
    std::size_t l0 = link_views_.size();
    for (const LinkRec& l : r->links) {
      link_views_.push_back(LinkView{
          l.trace, l.span, l.flags,
          std::span<const Attribute>(r->link_attrs.data() + l.attr_begin, l.attr_count)});
    }
    v.links = std::span<const LinkView>(link_views_.data() + l0, link_views_.size() - l0);
    v.dropped_attributes = r->dropped_attrs;
    v.dropped_events = r->dropped_events;
    v.dropped_links = r->dropped_links;
    v.truncated_values = r->truncated;
    v.resource = &resource_;
    attrs_dropped += r->dropped_attrs;
    events_dropped += r->dropped_events;
    links_dropped += r->dropped_links;
    truncated += r->truncated;
    callbacks += r->callback_failures;
    views_.push_back(v);
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
  // The owner clears the record when it takes it again. Cannot fail: a home ring holds as many slots as the home has records.
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
    enabled_.store(false);
    return shutdown_result_ = true;
  }
  bool ok = flush(deadline);
  enabled_.store(false);
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
