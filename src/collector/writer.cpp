#include "collector/writer.hpp"

#include <cstdio>

namespace skein::collector {

// The parts of a streamed request. Everything but `span_ids` is guarded by Writer::mu_.
struct Writer::StreamState {
  struct Part {
    otlp::TracesRequest spans;
    store::PreparedBatch prepared;
  };
  std::deque<Part> parts;    ///< decoded, for the writer
  std::deque<Part> written;  ///< stored: the request's thread frees them (not the busy writer)
  bool ended = false, aborted = false, answered = false;
  std::condition_variable cv;           ///< `written` or `answered` changed
  std::vector<std::uint64_t> span_ids;  ///< set before the job is queued; read by the writer
};

Writer::Stream::~Stream() {
  if (state_ && !ended_) end(true);
}

void Writer::Stream::push(otlp::TracesRequest part) {
  // The rows' text is made here, on the request's thread, while the writer stores the last part.
  StreamState::Part p{std::move(part), {}};
  store::Store::prepare(p.spans, p.prepared);
  {
    std::lock_guard lk(writer_->mu_);
    state_->parts.push_back(std::move(p));
  }
  writer_->cv_.notify_all();
}

void Writer::Stream::finish() {
  end(false);
}

store::WriteResult Writer::Stream::wait(std::vector<otlp::TracesRequest>* spare,
                                        std::size_t max_spare) {
  // Frees (or keeps for reuse) the parts already stored while the writer stores the rest.
  auto& s = *state_;
  for (bool answered = false; !answered;) {
    std::deque<StreamState::Part> done;
    {
      std::unique_lock lk(writer_->mu_);
      s.cv.wait(lk, [&] { return !s.written.empty() || s.answered; });
      done.swap(s.written);
      answered = s.answered;
    }
    for (auto& part : done)
      if (spare != nullptr && spare->size() < max_spare) spare->push_back(std::move(part.spans));
  }
  return result_.get();
}

void Writer::Stream::abort() {
  end(true);
}

void Writer::Stream::end(bool aborted) {
  if (ended_) return;
  ended_ = true;
  {
    std::lock_guard lk(writer_->mu_);
    state_->ended = true;
    state_->aborted = aborted;
  }
  writer_->cv_.notify_all();
}

Writer::Stream Writer::open_stream(store::Counters extra, std::vector<std::uint64_t> span_ids) {
  auto state = std::make_shared<StreamState>();
  state->span_ids = std::move(span_ids);
  Job job{{}, nullptr, extra, {}, state};
  auto f = job.done.get_future();
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_all();
  return Stream(this, std::move(state), std::move(f));
}

bool Writer::write_stream(StreamState& s, const store::Counters& extra, store::WriteResult& res) {
  bool ok = true, first = true;
  for (;;) {
    StreamState::Part part;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return !s.parts.empty() || s.ended; });
      if (s.parts.empty()) {
        if (s.aborted) ok = false;
        break;
      }
      part = std::move(s.parts.front());
      s.parts.pop_front();
    }
    if (ok) {
      ok = store_->append(part.spans, first ? extra : store::Counters{}, res, &s.span_ids,
                          &part.prepared);
      first = false;
    }
    {
      std::lock_guard lk(mu_);
      s.written.push_back(std::move(part));
    }
    s.cv.notify_one();
  }
  if (ok && first) ok = store_->add_counters(extra);  // a request without spans
  return ok;
}

Writer::Writer(std::unique_ptr<store::Store> store, store::Retention retention,
               std::chrono::seconds retention_interval)
    : store_(std::move(store)), retention_(retention), retention_interval_(retention_interval) {
  std::string err;
  checkpointer_ = store::Store::open(store_->path(), store::Store::Mode::read_write, err);
  if (checkpointer_) {
    store_->disable_autocheckpoint();
    ckpt_thread_ = std::thread([this] { checkpoints(); });
  }
  thread_ = std::thread([this] { run(); });
}

void Writer::checkpoints() {
  for (;;) {
    {
      std::unique_lock lk(ckpt_mu_);
      ckpt_cv_.wait(lk, [&] { return ckpt_wanted_ || ckpt_stop_; });
      if (ckpt_stop_) return;
      ckpt_wanted_ = false;
    }
    std::string err;
    if (!checkpointer_->checkpoint(&err))
      std::fprintf(stderr, "skein serve: checkpoint: %s\n", err.c_str());
  }
}

Writer::~Writer() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (ckpt_thread_.joinable()) {
    {
      std::lock_guard lk(ckpt_mu_);
      ckpt_stop_ = true;
    }
    ckpt_cv_.notify_all();
    ckpt_thread_.join();
    checkpointer_->checkpoint();
  }
}

std::future<store::WriteResult> Writer::submit(otlp::TracesRequest batch, store::Counters extra) {
  Job job{std::move(batch), nullptr, extra, {}, nullptr};
  auto f = job.done.get_future();
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return f;
}

std::future<store::WriteResult> Writer::submit_borrowed(const otlp::TracesRequest& batch,
                                                        store::Counters extra) {
  Job job{{}, &batch, extra, {}, nullptr};
  auto f = job.done.get_future();
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return f;
}

void Writer::count(const store::Counters& c) {
  std::lock_guard lk(mu_);
  pending_.requests += c.requests;
  pending_.requests_failed += c.requests_failed;
  pending_.bytes_received += c.bytes_received;
  pending_.spans_rejected += c.spans_rejected;
  has_pending_ = true;
  cv_.notify_one();
}

std::vector<store::WriteResult> Writer::write_with_stream(
    std::vector<Job>& jobs, const std::vector<const otlp::TracesRequest*>& batches,
    const std::vector<store::Counters>& extras) {
  // jobs: the complete batches (`batches`), then the stream; `extras` has one entry per job.
  std::vector<store::WriteResult> results(jobs.size());
  StreamState& stream = *jobs.back().stream;
  std::string err;
  bool ok = store_->begin(&err);
  for (std::size_t i = 0; ok && i < batches.size(); ++i)
    ok = store_->append(*batches[i], extras[i], results[i]);
  store::WriteResult& streamed = results.back();
  if (ok) {
    ok = write_stream(stream, extras.back(), streamed);
  } else {
    // Nothing of the stream is written, but its job waits for its end.
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return stream.ended; });
  }
  if (ok && store_->commit(&err)) {  // a failed commit rolls back
    for (auto& r : results) r.ok = true;
    return results;
  }
  if (!ok) store_->rollback();
  bool aborted = false;
  {
    std::lock_guard lk(mu_);
    aborted = stream.aborted;
  }
  // The complete batches must not fail with the stream: each in its own transaction.
  for (std::size_t i = 0; i < batches.size(); ++i)
    results[i] = store_->write(*batches[i], extras[i]);
  streamed = store::WriteResult{};
  streamed.error = aborted ? "request aborted" : !err.empty() ? err : "store write failed";
  return results;
}

void Writer::run() {
  const bool retain = retention_.max_age_days > 0 || retention_.max_bytes > 0;
  auto next_retention = std::chrono::steady_clock::now();
  std::vector<Job> jobs;
  std::vector<const otlp::TracesRequest*> batches;
  std::vector<store::Counters> extras;
  for (;;) {
    jobs.clear();
    bool have_job = false;
    store::Counters extra;
    {
      std::unique_lock lk(mu_);
      auto wake =
          retain ? next_retention : std::chrono::steady_clock::now() + std::chrono::hours(1);
      cv_.wait_until(lk, wake, [&] { return stop_ || !queue_.empty() || has_pending_; });
      // Group commit: the batches queued meanwhile go in the same transaction (up to 64). A
      // streamed request ends the group: the transaction commits when its last part is in.
      while (!queue_.empty() && jobs.size() < 64) {
        const bool stream = queue_.front().stream != nullptr;
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
        have_job = true;
        if (stream) break;
      }
      if (has_pending_) {
        extra = pending_;
        pending_ = {};
        has_pending_ = false;
      }
      if (!have_job && stop_ && !retain) {
        if (extra.requests || extra.requests_failed) store_->add_counters(extra);
        return;
      }
      if (!have_job && stop_) {
        if (extra.requests || extra.requests_failed) store_->add_counters(extra);
        return;
      }
    }
    if (have_job) {
      batches.clear();
      extras.clear();
      for (auto& job : jobs) {
        if (!job.stream) batches.push_back(job.borrowed ? job.borrowed : &job.owned);
        extras.push_back(job.extra);
      }
      store::Counters& c = extras.front();
      c.requests += extra.requests;
      c.requests_failed += extra.requests_failed;
      c.bytes_received += extra.bytes_received;
      c.spans_rejected += extra.spans_rejected;
      auto results = jobs.back().stream ? write_with_stream(jobs, batches, extras)
                                        : store_->write_group(batches, extras);
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        jobs[i].done.set_value(std::move(results[i]));
        if (jobs[i].stream) {
          {
            std::lock_guard lk(mu_);
            jobs[i].stream->answered = true;
          }
          jobs[i].stream->cv.notify_one();
        }
      }
      jobs.clear();  // frees the batches the writer owns, after the answers
      // Past 4096 pages (16 MiB) of WAL, the checkpointer copies it into the database.
      if (checkpointer_ && store_->wal_frames() >= 4096) {
        {
          std::lock_guard lk(ckpt_mu_);
          ckpt_wanted_ = true;
        }
        ckpt_cv_.notify_one();
      }
    } else if (extra.requests || extra.requests_failed || extra.spans_rejected) {
      store_->add_counters(extra);
    }
    if (retain && std::chrono::steady_clock::now() >= next_retention) {
      std::string err;
      auto n = store_->apply_retention(retention_, &err);
      if (!err.empty()) std::fprintf(stderr, "skein serve: retention: %s\n", err.c_str());
      if (n > 0)
        std::fprintf(stderr, "skein serve: retention deleted %llu spans\n",
                     static_cast<unsigned long long>(n));
      next_retention = std::chrono::steady_clock::now() + retention_interval_;
    }
  }
}

}  // namespace skein::collector
