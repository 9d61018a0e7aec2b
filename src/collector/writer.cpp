#include "collector/writer.hpp"

#include <cstdio>

namespace skein::collector {

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
  Job job{std::move(batch), nullptr, extra, {}};
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
  Job job{{}, &batch, extra, {}};
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
      // Group commit: the batches queued meanwhile go in the same transaction (up to 64).
      while (!queue_.empty() && jobs.size() < 64) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
        have_job = true;
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
        batches.push_back(job.borrowed ? job.borrowed : &job.owned);
        extras.push_back(job.extra);
      }
      store::Counters& c = extras.front();
      c.requests += extra.requests;
      c.requests_failed += extra.requests_failed;
      c.bytes_received += extra.bytes_received;
      c.spans_rejected += extra.spans_rejected;
      auto results = store_->write_group(batches, extras);
      for (std::size_t i = 0; i < jobs.size(); ++i) jobs[i].done.set_value(std::move(results[i]));
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
