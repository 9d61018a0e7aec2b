// The collector's single writer: one thread owns the store's write connection and commits the
// submitted batches in arrival order, those queued while it commits together in the next
// transaction (group commit). Request threads wait on the returned
// future, so the collector acknowledges a batch only once it is committed.
#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "otlp/model.hpp"
#include "store/store.hpp"

namespace skein::collector {

class Writer {
 public:
  /// Takes the write connection; runs retention at start and every `retention_interval`.
  Writer(std::unique_ptr<store::Store> store, store::Retention retention,
         std::chrono::seconds retention_interval = std::chrono::seconds(60));
  ~Writer();  ///< drains the queue, then stops
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  std::future<store::WriteResult> submit(otlp::TracesRequest batch, store::Counters extra);
  /// The same without taking the batch: the caller keeps it alive until the future is ready (and
  /// frees it on its own thread, off the writer's).
  std::future<store::WriteResult> submit_borrowed(const otlp::TracesRequest& batch,
                                                  store::Counters extra);
  /// Counters only (failed requests), folded into the next transaction.
  void count(const store::Counters& extra);

 private:
  struct Job {
    otlp::TracesRequest owned;
    const otlp::TracesRequest* borrowed = nullptr;  ///< when not null, the batch (else `owned`)
    store::Counters extra;
    std::promise<store::WriteResult> done;
  };
  void run();

  std::unique_ptr<store::Store> store_;
  store::Retention retention_;
  std::chrono::seconds retention_interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  store::Counters pending_;
  bool has_pending_ = false;
  bool stop_ = false;
  std::thread thread_;
  // Checkpoints run on their own connection and thread, so that commits only append to the WAL.
  void checkpoints();
  std::unique_ptr<store::Store> checkpointer_;
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false, ckpt_stop_ = false;
  std::thread ckpt_thread_;
};

}  // namespace skein::collector
