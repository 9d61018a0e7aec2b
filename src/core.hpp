// The tracer core: options, the per-thread buffers, the pipeline thread and the counters.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "record.hpp"
#include "skein/config.hpp"
#include "skein/detail/hot.hpp"
#include "skein/exporter.hpp"
#include "skein/sampler.hpp"
#include "skein/tracer.hpp"
#include "spsc.hpp"
#include "tls.hpp"

namespace skein::detail {

class ThreadCounters;

/// A counter written by one thread (relaxed store, no read-modify-write) and read by any.
struct OwnedCounter {
  std::atomic<std::uint64_t> v{0};
  void inc(std::uint64_t n = 1) noexcept {
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

/// One thread's records and hand-off rings for one tracer. The owning thread takes records from
/// `free_`/`returned` and pushes finished ones to `ready`; the pipeline thread pops `ready` and
/// pushes used records back to their home's `returned`.
struct ThreadBuffer {
  ThreadBuffer(std::shared_ptr<TracerCore> core, std::uint32_t capacity);
  ~ThreadBuffer();

  /// Owner only. Null when all `capacity` records are in flight. The common case (a record on
  /// the local free list) is inline; refill() takes back returned records and grows the pool.
  SpanRecord* acquire() noexcept {
    SpanRecord* r = free_;
    if (r == nullptr) [[unlikely]] {
      r = refill();
      if (r == nullptr) return nullptr;
    }
    free_ = r->next_free;
    // The pipeline thread only reads records; clearing them here, on lines this thread is about
    // to write anyway, keeps those lines from bouncing between cores twice.
    r->reset();
    return r;
  }
  /// Owner only: the slow part of acquire(); the first free record, or null.
  SpanRecord* refill() noexcept;
  /// The pool a thread ending spans fast grows to before reusing records (see refill()).
  static constexpr std::uint32_t kHotPool = 4096;
  /// Owner only: how many records this buffer has made (its pool).
  [[nodiscard]] std::uint32_t created() const noexcept { return created_; }
  /// Owner only: a record that never left this thread goes straight back.
  void release_local(SpanRecord* r) noexcept {
    r->next_free = free_;
    free_ = r;
  }

  std::shared_ptr<TracerCore> core;
  std::uint32_t capacity;
  SpscRing<SpanRecord*> ready;           // owner -> pipeline
  SpscRing<SpanRecord*> returned;        // pipeline -> owner
  std::atomic<bool> orphaned{false};     // the owning thread exited; may be adopted
  std::atomic<bool> forked_away{false};  // in a fork child: a buffer of the parent (fork.cpp)
  std::uint32_t pushes = 0;              // owner only: hand-offs, to pace the depth checks
  // Owner only: records of other threads dropped here while `ready` was full. They cannot go to
  // their home's free list from this thread, so they wait to travel through `ready` (marked
  // `discard`) and the pipeline sends them home. Bounded by the records that exist.
  std::vector<SpanRecord*> foreign_dropped;

  // Counters written by the owner. Every span started is exactly one of sampled, unsampled or
  // dropped_buffer_full, so "started" is their sum rather than a counter of its own (one store
  // less per span).
  OwnedCounter sampled, sampled_roots, unsampled, ended, dropped_buffer_full, dropped_queue_full,
      dropped_shutdown;
  // Roots decided inline under a sampler that never samples one (TracerCore::start_never_root):
  // counted once here, as started, unsampled and the sampler's "seen" (one store, not three).
  OwnedCounter never_roots;

 private:
  SpanRecord* free_ = nullptr;
  std::uint32_t created_ = 0;
  std::uint32_t handed_ = 0;  // records put on the free list by the last refill()
  std::chrono::steady_clock::time_point last_refill_{};
  std::vector<std::unique_ptr<SpanRecord[]>> chunks_;
};

class TracerCore : public std::enable_shared_from_this<TracerCore>, public CoreHot {
 public:
  TracerCore(FinalizedOptions options, Error status,
             std::vector<std::shared_ptr<Exporter>> exporters);
  ~TracerCore();

  /// Starts the pipeline thread (not in the constructor: it needs shared_from_this).
  void start();

  Span start_span(std::string_view name, const SpanOptions& options) noexcept;
  /// start_span()'s common case and general case (tracer.cpp).
  Span start_common(std::string_view name, const SpanOptions& options) noexcept;
  Span start_general(std::string_view name, const SpanOptions& options) noexcept;
  void record_span(Span& s, ThreadBuffer* buf, ContextState& cur, std::string_view name,
                   const SpanOptions& o, TraceId trace, SpanId span, SpanId parent,
                   std::uint8_t flags, bool remote, double probability,
                   const std::shared_ptr<const ContextExtras>* extras) noexcept;
  void attach_extras(SpanRecord& r, const std::shared_ptr<const ContextExtras>& extras) noexcept;
  /// A recording span ended on the calling thread. The common case is inline: the thread's own
  /// record, its cached buffer, tracer enabled, nothing waiting to be handed off before it, and
  /// room in the ring; submit_slow() handles every other case.
  void submit(SpanRecord* r) noexcept {
    ThreadBuffer* b = tl_cache.buffer;
    if (tl_cache.core_id == id_ && r->home == b && enabled() && b->foreign_dropped.empty())
        [[likely]] {
      b->ended.inc();
      if (b->ready.push(r)) [[likely]] {
        // Every 128 hand-offs, look at the ring's real depth and wake the pipeline when an
        // eighth of this thread's records wait in it, long before the pool runs dry.
        if ((++b->pushes & 127) == 0) [[unlikely]]
          check_depth(*b);
        return;
      }
      return queue_full(*b, r);
    }
    submit_slow(r);
  }
  /// The sampler never samples a root (always_off, probability(0)).
  bool never_samples_roots() const noexcept { return never_samples_roots_; }
  /// start_span() for a root (no explicit parent, nothing current) when never_samples_roots(),
  /// when Tracer::span could not decide it inline.
  Span start_never_root() noexcept;
  static void push_lazy_root(Span& s, ContextState& cur, std::uint64_t nonce, std::uint8_t flags,
                             const std::shared_ptr<const ContextExtras>* extras) noexcept;

  /// The calling thread's buffer for this core (created on first use). Null when it cannot be
  /// created.
  ThreadBuffer* local_buffer() noexcept;

  Stats stats() const noexcept;
  bool flush(std::chrono::steady_clock::time_point deadline) noexcept;
  bool shutdown(std::chrono::steady_clock::time_point deadline) noexcept;

  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  const FinalizedOptions& options() const noexcept { return options_; }
  const Error& status() const noexcept { return status_; }
  const Resource& resource() const noexcept { return resource_; }
  std::uint64_t id() const noexcept { return id_; }

  /// fork(): prepare and parent bracket the fork; the child starts afresh (fork.cpp).
  void fork_prepare() noexcept;
  void fork_parent() noexcept;
  void fork_child() noexcept;

  /// A buffer is going away: its counters stay in the totals.
  void retire(const ThreadBuffer& b) noexcept;

  /// The pipeline thread wakes early when a ring is filling up.
  void nudge() noexcept {
    if (!nudged_.exchange(true, std::memory_order_acq_rel)) {
      // Taking the mutex orders this with the pipeline's look at nudged_ before it waits (under
      // the mutex): without it a nudge landing between that look and the wait was lost, and the
      // pipeline slept a whole flush_interval (20 ms) while a fast producer ran out of records
      // (a third of a million spans dropped in bench_pipeline 1m).
      try {
        std::lock_guard<std::mutex> lock(wake_mu_);
      } catch (...) {
      }
      wake_cv_.notify_one();
    }
  }

 private:
  friend struct ThreadBuffer;
  void submit_slow(SpanRecord* r) noexcept;
  void queue_full(ThreadBuffer& b, SpanRecord* r) noexcept;
  void check_depth(ThreadBuffer& b) noexcept;
  ThreadBuffer* register_thread() noexcept;
  void run() noexcept;
  std::size_t drain_once() noexcept;
  void refresh_snapshot() noexcept;
  void export_batch() noexcept;
  void return_record(SpanRecord* r) noexcept;
  void restart_after_fork_locked() noexcept;  // with buffers_mu_

  const FinalizedOptions options_;
  const Error status_;
  // never_samples_roots_ (CoreHot): the sampler never samples a root (always_off,
  // probability(0)); such roots are decided inline and counted in ThreadBuffer::never_roots (see
  // never_samples_roots in sampling.hpp). id_ and enabled_ are in CoreHot too.
  Resource resource_;
  std::vector<std::shared_ptr<Exporter>> exporters_;

  // Registered buffers (mutex guards the vector; the pipeline copies it when `buffers_version_`
  // changes).
  mutable std::mutex buffers_mu_;
  std::vector<std::shared_ptr<ThreadBuffer>> buffers_;
  std::atomic<std::uint64_t> buffers_version_{0};

  // Pipeline thread.
  std::thread thread_;
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> nudged_{false};   // an application thread asked the pipeline to drain
  std::atomic<bool> stopped_{false};  // the thread has finished
  std::atomic<std::uint64_t> flush_requested_{0};
  std::atomic<std::uint64_t> flush_done_{0};
  std::condition_variable done_cv_;              // with wake_mu_
  std::atomic<std::int64_t> flush_deadline_{0};  // steady_clock ticks
  bool flush_ok_ = true;                         // with wake_mu_
  std::atomic<bool> abandoned_{false};           // shutdown gave up on the thread
  std::mutex shutdown_mu_;
  bool shut_down_ = false;
  bool shutdown_result_ = true;

  // After shutdown the core lets go of its buffers (threads keep theirs until they exit; each
  // buffer keeps the core alive, so holding them here would be a cycle) and of its exporters.
  std::vector<std::weak_ptr<ThreadBuffer>> released_buffers_;  // with buffers_mu_
  struct Totals {
    std::uint64_t started = 0, sampled = 0, sampled_roots = 0, unsampled = 0, ended = 0,
                  buffer_full = 0, queue_full = 0, shutdown = 0, never_roots = 0;
    void add(const ThreadBuffer& b) noexcept;
  } retired_;                           // counters of buffers that are gone, with buffers_mu_
  mutable std::mutex exporters_mu_;     // guards exporters_ against stats() once shutdown clears it
  ExporterStats final_exporter_stats_;  // with exporters_mu_, once the exporters are released
  bool exporters_released_ = false;     // with exporters_mu_
  void release_after_stop() noexcept;

  // Pipeline-thread state.
  std::vector<std::shared_ptr<ThreadBuffer>> snapshot_;
  std::uint64_t snapshot_version_ = ~0ULL;
  std::vector<SpanRecord*> batch_;
  std::vector<SpanView> views_;
  std::vector<EventView> event_views_;
  std::vector<LinkView> link_views_;
  // The packed attributes of a batch's records, as views: written in place by decode_compact
  // (a vector's resize value-initialized each one first: ~40 instructions a span).
  std::unique_ptr<Attribute[]> compact_views_;
  std::size_t compact_capacity_ = 0;

  // Counters written by the pipeline thread.
  OwnedCounter exported_, export_failures_, attrs_dropped_, events_dropped_, links_dropped_,
      truncated_, callback_failures_, dropped_late_;
  // Spans dropped from threads whose buffer was discarded.
  std::atomic<std::uint64_t> retired_dropped_{0};

  // fork child: start the pipeline again when the first thread registers (with buffers_mu_).
  bool restart_after_fork_ = false;
  std::vector<std::shared_ptr<ThreadBuffer>>* parent_buffers_ = nullptr;  // kept, never exported
};

/// Process-wide count of enrich_span() calls with no current span.
extern std::atomic<std::uint64_t> g_enrich_without_span;

ContextState& tl_state() noexcept;

}  // namespace skein::detail
