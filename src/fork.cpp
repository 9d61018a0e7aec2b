// fork(): the child of a traced process gets a pipeline of its own.
//
// POSIX leaves only the forking thread alive in the child; the pipeline thread, the application
// threads and anything they held are gone. Around the fork the core's buffer list is held still
// (fork_prepare locks it, the parent unlocks it). In the child, fork_child resets the core:
// mutexes and condition variables are made anew (a dead thread may have held them), every buffer
// of the parent is set aside, never drained, so the parent's spans are exported by the parent
// only, once; spans the parent started and the child ends are dropped (see submit()); counters
// start from zero; and the pipeline thread starts again when the child records its first span.
// Exporters with threads of their own handle fork themselves (the OTLP exporter does).
#include <new>

#include "core.hpp"

namespace skein::detail {

void TracerCore::fork_prepare() noexcept {
  buffers_mu_.lock();
}

void TracerCore::fork_parent() noexcept {
  buffers_mu_.unlock();
}

void TracerCore::fork_child() noexcept {
  new (&thread_) std::thread();  // the parent's pipeline thread does not exist here
  new (&wake_mu_) std::mutex();
  new (&wake_cv_) std::condition_variable();
  new (&done_cv_) std::condition_variable();
  new (&shutdown_mu_) std::mutex();
  new (&exporters_mu_) std::mutex();

  try {
    if (parent_buffers_ == nullptr)
      parent_buffers_ = new std::vector<std::shared_ptr<ThreadBuffer>>();
    for (auto& b : buffers_) {
      b->forked_away.store(true, std::memory_order_relaxed);
      parent_buffers_->push_back(b);  // their records may still be referenced by open spans
    }
  } catch (...) {
  }
  buffers_.clear();
  buffers_version_.fetch_add(1, std::memory_order_relaxed);
  // The pipeline thread's working state: what it held belongs to the parent.
  snapshot_.clear();
  snapshot_version_ = ~0ULL;
  batch_.clear();
  views_.clear();
  event_views_.clear();
  link_views_.clear();

  for (OwnedCounter* c : {&exported_, &export_failures_, &attrs_dropped_, &events_dropped_,
                          &links_dropped_, &truncated_, &callback_failures_, &dropped_late_}) {
    c->v.store(0, std::memory_order_relaxed);
  }
  retired_dropped_.store(0, std::memory_order_relaxed);
  retired_ = Totals{};
  stop_.store(false);
  stopped_.store(false);
  nudged_.store(false);
  flush_requested_.store(0);
  flush_done_.store(0);
  flush_ok_ = true;
  abandoned_.store(false);
  restart_after_fork_ = enabled_.load() && !shut_down_;
  buffers_mu_.unlock();
}

void TracerCore::restart_after_fork_locked() noexcept {
  restart_after_fork_ = false;
  try {
    std::shared_ptr<TracerCore> self = shared_from_this();
    thread_ = std::thread([self] { self->run(); });
  } catch (...) {
    set_enabled(false);  // no pipeline: spans become no-ops rather than piling up
  }
}

}  // namespace skein::detail
