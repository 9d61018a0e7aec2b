// The collector's single writer: one thread owns the store's write connection and commits the
// submitted batches in arrival order, those queued while it commits together in the next
// transaction (group commit). Request threads wait on the returned
// future, so the collector acknowledges a batch only once it is committed. A request may also
// come in parts (a Stream) that the writer stores while the request thread decodes the next
// ones; its transaction commits once the last part is in.
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

  struct StreamState;
  /// A request handed over in parts while it is decoded: the writer stores each part as it
  /// comes, in the transaction that it commits once the request is `finish`ed (the future is
  /// then ready, as for `submit`). `abort` (a part that did not decode) rolls the request back;
  /// its future then holds a result that is not ok. One thread uses a Stream.
  class Stream {
   public:
    Stream(Stream&&) noexcept = default;
    Stream& operator=(Stream&&) noexcept = default;
    ~Stream();  ///< aborts when neither finished nor aborted
    void push(otlp::TracesRequest part);
    void finish();
    void abort();
    /// After `finish`: waits for the commit (freeing the parts stored meanwhile) and returns
    /// the result. With `spare`, the stored parts' spans go there instead (up to `max_spare`
    /// parts in all), for otlp::decode_protobuf_parts to decode the next request into.
    store::WriteResult wait(std::vector<otlp::TracesRequest>* spare = nullptr,
                            std::size_t max_spare = 0);

   private:
    friend class Writer;
    Stream(Writer* w, std::shared_ptr<StreamState> s, std::future<store::WriteResult> f)
        : writer_(w), state_(std::move(s)), result_(std::move(f)) {}
    void end(bool aborted);
    Writer* writer_;
    std::shared_ptr<StreamState> state_;
    std::future<store::WriteResult> result_;
    bool ended_ = false;
  };
  /// `span_ids`: the sorted span ids of the whole request (see store::Store::append).
  Stream open_stream(store::Counters extra, std::vector<std::uint64_t> span_ids);

 private:
  struct Job {
    otlp::TracesRequest owned;
    const otlp::TracesRequest* borrowed = nullptr;  ///< when not null, the batch (else `owned`)
    store::Counters extra;
    std::promise<store::WriteResult> done;
    std::shared_ptr<StreamState> stream;  ///< when not null, the parts come through it
  };
  void run();
  /// Writes the stream's parts as they come, in the open transaction; false when a part failed or
  /// the stream was aborted (it has then ended: no more parts will come).
  bool write_stream(StreamState& s, const store::Counters& extra, store::WriteResult& res);
  /// A group that ends with a stream: one transaction, or (when it fails) each complete batch
  /// in its own and the stream failed. One result per job.
  std::vector<store::WriteResult> write_with_stream(
      std::vector<Job>& jobs, const std::vector<const otlp::TracesRequest*>& batches,
      const std::vector<store::Counters>& extras);

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
