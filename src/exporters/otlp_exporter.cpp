// The OTLP/HTTP exporter: encode on the pipeline thread, send on a thread of its own.
//
//   pipeline thread ── export_spans ──► open batch (encoded spans) ──seal──► queue of requests
//                                                                               │
//   sender thread ◄─────────────────────────────────────────────────────────────┘
//     POST (libcurl, kept alive), retry 429/502/503/504 and network errors with backoff,
//     honour Retry-After, count sent / rejected / failed spans.
//
// One mutex guards the open batch, the queue and the flags; it is never held across the network
// or a backoff. The spans held (open + queued + in flight) are bounded by max_queue_size.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <new>
#include <random>
#include <thread>

#include "otlp_encode.hpp"
#include "otlp_exporter.hpp"
#include "otlp_response.hpp"
#include "skein/otlp.hpp"

namespace skein {

namespace detail {
Error finalize_otlp(const OtlpOptions& o, const std::string& api_key, const std::string& api_url,
                    FinalizedOtlp& out);
}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

constexpr auto kDiagnosticInterval = std::chrono::seconds(5);

// At most one line every few seconds, with counts: never one line per failed batch.
class Diagnostics {
 public:
  explicit Diagnostics(std::string endpoint) : endpoint_(std::move(endpoint)) {}

  void note(std::string_view what, std::uint64_t count, std::string_view detail) noexcept {
    try {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = std::find_if(pending_.begin(), pending_.end(),
                             [&](const Entry& e) { return e.what == what; });
      if (it == pending_.end())
        it = pending_.insert(pending_.end(), Entry{std::string(what), 0, {}});
      it->count += count;
      it->detail = std::string(detail.substr(0, 200));
      auto now = Clock::now();
      if (!printed_ || now - last_ >= kDiagnosticInterval) print_locked(now);
    } catch (...) {
    }
  }

  void flush() noexcept {
    try {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pending_.empty()) print_locked(Clock::now());
    } catch (...) {
    }
  }

  void reset_after_fork() noexcept {
    new (&mu_) std::mutex();
    pending_.clear();
    printed_ = false;
  }

 private:
  struct Entry {
    std::string what;
    std::uint64_t count;
    std::string detail;
  };

  void print_locked(Clock::time_point now) {
    std::string line = "skein: otlp export to " + endpoint_ + ":";
    bool first = true;
    for (const Entry& e : pending_) {
      line += first ? " " : "; ";
      first = false;
      line += std::to_string(e.count) + " " + e.what;
      if (!e.detail.empty()) line += " (" + e.detail + ")";
    }
    if (printed_) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " in the last %.1f s",
                    std::chrono::duration<double>(now - last_).count());
      line += buf;
    }
    std::fprintf(stderr, "%s\n", line.c_str());
    pending_.clear();
    last_ = now;
    printed_ = true;
  }

  const std::string endpoint_;
  std::mutex mu_;
  std::vector<Entry> pending_;
  Clock::time_point last_{};
  bool printed_ = false;
};

// Flush and shutdown give up a little before their deadline (a tenth of the time left, at most
// `n` x 20 ms) so that, when the endpoint hangs, a shutdown that follows a failed flush still
// has time to cut the request short, count what was left and join the sender: the tracer's
// shutdown then returns by its deadline with final counters.
Clock::time_point early(Clock::time_point deadline, Clock::time_point now, int n) {
  auto left = std::max<Clock::duration>(deadline - now, Clock::duration(0));
  return deadline - n * std::min<Clock::duration>(20ms, left / 10);
}

class SteadyExporterClock final : public detail::ExporterClock {
 public:
  time_point now() override { return Clock::now(); }
  void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  time_point until) override {
    cv.wait_until(lock, until);
  }
};

std::string status_text(const detail::HttpResponse& r) {
  if (r.status == 0) return r.error.empty() ? std::string("network error") : r.error;
  std::string s = "HTTP " + std::to_string(r.status);
  if (!r.body.empty()) {
    bool printable =
        std::all_of(r.body.begin(), r.body.begin() + std::min<std::size_t>(r.body.size(), 120),
                    [](char c) { return c >= 0x20 && c < 0x7f; });
    if (printable) s += ": " + r.body.substr(0, 120);
  }
  return s;
}

void atfork_prepare() noexcept;
void atfork_parent() noexcept;
void atfork_child() noexcept;

}  // namespace

// ---- Impl ------------------------------------------------------------------------------------

struct OtlpExporter::Impl {
  struct Request {
    std::string buf;
    std::size_t offset = 0;  // the request starts here (room left for the protobuf head)
    std::uint32_t spans = 0;
  };

  Impl(FinalizedOtlp cfg, detail::TransportFactory factory,
       std::unique_ptr<detail::HttpTransport> t, std::shared_ptr<detail::ExporterClock> clock)
      : cfg_(std::move(cfg)),
        json_(cfg_.protocol == OtlpProtocol::http_json),
        factory_(std::move(factory)),
        clock_(std::move(clock)),
        transport_(std::move(t)),
        diag_(cfg_.endpoint) {
    register_self();
  }

  ~Impl() {
    shutdown(clock_->now() + std::chrono::seconds(2));
    unregister_self();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // ---- pipeline thread ----

  ExportResult export_spans(std::span<const SpanView> batch) noexcept {
    try {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) {
        dropped_shutdown_.fetch_add(batch.size(), std::memory_order_relaxed);
        return ExportResult::failure;
      }
      if (!start_locked()) {
        failed_.fetch_add(batch.size(), std::memory_order_relaxed);
        return ExportResult::failure;
      }
      bool wake = false;
      std::uint64_t dropped = 0;
      for (const SpanView& v : batch) {
        if (held_spans_ >= cfg_.max_queue_size) {
          ++dropped;
          continue;
        }
        if (open_spans_ > 0 && v.resource != open_resource_) wake |= seal_locked();
        if (open_spans_ == 0) {
          open_locked(v.resource);
          wake = true;  // the sender learns the new batch's deadline
        }
        append_locked(v);
        if (open_spans_ >= cfg_.max_export_batch_size) wake |= seal_locked();
      }
      lock.unlock();
      if (wake) work_cv_.notify_one();
      if (dropped > 0) {
        dropped_queue_full_.fetch_add(dropped, std::memory_order_relaxed);
        diag_.note("spans dropped", dropped,
                   "export queue full: the endpoint is slower than the spans");
      }
      return ExportResult::success;
    } catch (...) {
      failed_.fetch_add(batch.size(), std::memory_order_relaxed);
      return ExportResult::failure;
    }
  }

  bool force_flush(Clock::time_point deadline) noexcept {
    std::unique_lock<std::mutex> lock(mu_);
    if (!started_) return true;
    if (seal_locked()) work_cv_.notify_one();
    return wait_until(idle_cv_, lock, early(deadline, clock_->now(), 2),
                      [&] { return idle_locked() || finished_; });
  }

  bool shutdown(Clock::time_point deadline) noexcept {
    std::unique_lock<std::mutex> lock(mu_);
    if (shutdown_called_) return shutdown_result_;
    shutdown_called_ = true;
    stopping_ = true;
    stop_deadline_ = deadline;
    seal_locked();
    work_cv_.notify_all();
    bool ok = true;
    if (started_) {
      ok = wait_until(idle_cv_, lock, early(deadline, clock_->now(), 1), [&] { return finished_; });
      if (!ok) {
        // The endpoint hangs or keeps failing: cut the request short and give up what is left.
        aborted_ = true;
        if (transport_) transport_->abort();
        abort_cv_.notify_all();
        work_cv_.notify_all();
      }
      lock.unlock();
      if (sender_.joinable()) sender_.join();
      lock.lock();
    }
    transport_.reset();  // closes the kept-alive connection
    shutdown_result_ = ok;
    lock.unlock();
    diag_.flush();
    return ok;
  }

  ExporterStats stats() const noexcept {
    ExporterStats s;
    s.sent = sent_.load(std::memory_order_relaxed);
    s.rejected = rejected_.load(std::memory_order_relaxed);
    s.failed = failed_.load(std::memory_order_relaxed);
    s.dropped_queue_full = dropped_queue_full_.load(std::memory_order_relaxed);
    s.dropped_shutdown = dropped_shutdown_.load(std::memory_order_relaxed);
    s.retries = retries_.load(std::memory_order_relaxed);
    return s;
  }

  const FinalizedOtlp& config() const noexcept { return cfg_; }

  // ---- fork ----

  // In the child, right after fork(): one thread, locks held by the forking thread (prepare).
  // The parent's queued spans stay the parent's; its connection and sender thread are not ours.
  void after_fork_child() noexcept {
    new (&mu_) std::mutex();
    new (&work_cv_) std::condition_variable();
    new (&idle_cv_) std::condition_variable();
    new (&abort_cv_) std::condition_variable();
    new (&sender_) std::thread();
    diag_.reset_after_fork();
    if (transport_) leaked_transports().push_back(transport_.release());
    queue_.clear();
    spare_.clear();
    open_.clear();
    open_spans_ = 0;
    open_resource_ = nullptr;
    held_spans_ = 0;
    in_flight_ = false;
    started_ = false;
    finished_ = false;
    aborted_ = false;
    for (auto* c :
         {&sent_, &rejected_, &failed_, &dropped_queue_full_, &dropped_shutdown_, &retries_}) {
      c->store(0, std::memory_order_relaxed);
    }
  }

  std::mutex mu_;  // public for the fork handlers

 private:
  static std::vector<detail::HttpTransport*>& leaked_transports() {
    static auto* v = new std::vector<detail::HttpTransport*>();  // reachable, on purpose
    return *v;
  }

  void register_self();
  void unregister_self();

  bool idle_locked() const { return queue_.empty() && !in_flight_ && open_spans_ == 0; }

  // Like condition_variable::wait_until with a predicate, on the exporter's clock.
  template <class Done>
  bool wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  Clock::time_point until, Done done) {
    while (!done()) {
      if (clock_->now() >= until) return done();
      clock_->wait_until(cv, lock, until);
    }
    return true;
  }

  bool start_locked() {
    if (started_) return true;
    if (!transport_) {
      std::string why;
      transport_ = factory_(&why);
      if (!transport_) {
        diag_.note("spans failed", 0, "no HTTP transport: " + why);
        return false;
      }
    }
    sender_ = std::thread([this] { run(); });
    started_ = true;
    return true;
  }

  void open_locked(const Resource* res) {
    open_resource_ = res;
    open_since_ = clock_->now();
    // A buffer that was sent already: its pages are mapped and warm (a fresh 200 KiB allocation
    // is an mmap, page faults and zeroing for every batch).
    if (!spare_.empty()) {
      open_ = std::move(spare_.back());
      spare_.pop_back();
    }
    open_.clear();
    open_.reserve(std::max<std::size_t>(last_request_bytes_ + last_request_bytes_ / 4, 16 * 1024));
    if (json_) {
      detail::otlp::json_append_head(open_, res);
    } else {
      head_ = detail::otlp::proto_head(res);
      open_.resize(head_.max_size());
    }
    open_start_ = open_.size();
  }

  void append_locked(const SpanView& v) {
    const std::size_t before = open_.size();
    try {
      if (json_) {
        if (open_spans_ > 0) open_ += ',';
        detail::otlp::json_append_span(open_, v);
      } else {
        detail::otlp::proto_append_span(open_, v);
      }
    } catch (...) {
      open_.resize(before);  // never leave half a span in the request
      throw;
    }
    ++open_spans_;
    ++held_spans_;
  }

  // Closes the open batch into a request; true when there was one.
  bool seal_locked() {
    if (open_spans_ == 0) return false;
    Request r;
    if (json_) {
      detail::otlp::json_append_tail(open_);
      r.offset = 0;
    } else {
      r.offset =
          detail::otlp::proto_write_head(open_, open_start_, head_, open_.size() - open_start_);
    }
    last_request_bytes_ = open_.size();
    r.spans = open_spans_;
    r.buf = std::move(open_);
    open_ = std::string();
    open_spans_ = 0;
    open_resource_ = nullptr;
    queue_.push_back(std::move(r));
    return true;
  }

  // ---- sender thread ----

  void run() noexcept {
    pthread_setname_np(pthread_self(), "skein-otlp");  // visible in top -H, perf, gdb
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (aborted_) {
        std::uint64_t left = open_spans_;
        for (const Request& r : queue_) left += r.spans;
        queue_.clear();
        open_.clear();
        open_spans_ = 0;
        held_spans_ = 0;
        if (left > 0) {
          dropped_shutdown_.fetch_add(left, std::memory_order_relaxed);
          diag_.note("spans dropped", left, "not sent by the shutdown deadline");
        }
        break;
      }
      if (queue_.empty()) {
        if (open_spans_ > 0 && (stopping_ || clock_->now() >= open_since_ + cfg_.schedule_delay)) {
          seal_locked();
          continue;
        }
        if (stopping_) break;
        if (open_spans_ > 0) {
          clock_->wait_until(work_cv_, lock, open_since_ + cfg_.schedule_delay);
        } else {
          work_cv_.wait(lock);
        }
        continue;
      }
      Request r = std::move(queue_.front());
      queue_.pop_front();
      in_flight_ = true;
      lock.unlock();
      deliver(r);
      lock.lock();
      in_flight_ = false;
      held_spans_ -= r.spans;
      if (spare_.size() < 4) spare_.push_back(std::move(r.buf));
      idle_cv_.notify_all();
    }
    finished_ = true;
    idle_cv_.notify_all();
  }

  Clock::time_point deadline_for(Clock::time_point export_deadline) {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_ ? std::min(export_deadline, stop_deadline_) : export_deadline;
  }

  milliseconds jittered(milliseconds backoff) {
    std::uniform_real_distribution<double> u(0.5, 1.5);
    return milliseconds(
        static_cast<milliseconds::rep>(static_cast<double>(backoff.count()) * u(rng_)) + 1);
  }

  void deliver(const Request& r) noexcept {
    try {
      std::string_view body(r.buf.data() + r.offset, r.buf.size() - r.offset);
      if (cfg_.compression == OtlpCompression::gzip) {
        if (!detail::otlp::gzip_compress(body, zbuf_)) {
          give_up(r, "spans failed", "gzip compression failed");
          return;
        }
        body = zbuf_;
      }
      const Clock::time_point export_deadline = clock_->now() + cfg_.export_timeout;
      milliseconds backoff = cfg_.retry_initial_backoff;
      for (;;) {
        Clock::time_point deadline = deadline_for(export_deadline);
        Clock::time_point now = clock_->now();
        if (now >= deadline) {
          give_up(r, "spans failed", "export timeout reached");
          return;
        }
        auto remaining = std::chrono::ceil<milliseconds>(deadline - now);
        detail::HttpResponse resp = transport_->post(body, std::min(cfg_.timeout, remaining));
        if (resp.aborted) {
          dropped_shutdown_.fetch_add(r.spans, std::memory_order_relaxed);
          diag_.note("spans dropped", r.spans, "not sent by the shutdown deadline");
          return;
        }
        if (resp.status >= 200 && resp.status < 300) {
          accepted(r, resp);
          return;
        }
        const bool retryable = resp.status == 0 || resp.status == 429 || resp.status == 502 ||
                               resp.status == 503 || resp.status == 504;
        if (!retryable) {
          if (resp.status >= 400 && resp.status < 500) {
            rejected_.fetch_add(r.spans, std::memory_order_relaxed);
            diag_.note("spans rejected", r.spans, status_text(resp));
          } else {
            failed_.fetch_add(r.spans, std::memory_order_relaxed);
            diag_.note("spans failed", r.spans, status_text(resp));
          }
          return;
        }
        milliseconds delay = jittered(backoff);
        backoff = std::min(backoff * 2, cfg_.retry_max_backoff);
        if (double after = detail::parse_retry_after(resp.retry_after); after >= 0) {
          delay = std::max(delay, milliseconds(static_cast<milliseconds::rep>(after * 1000)));
        }
        now = clock_->now();
        if (now + delay >= deadline_for(export_deadline)) {
          give_up(r, "spans failed", status_text(resp) + "; no time left to retry");
          return;
        }
        retries_.fetch_add(1, std::memory_order_relaxed);
        diag_.note("retries", 1, status_text(resp));
        std::unique_lock<std::mutex> lock(mu_);
        if (wait_until(abort_cv_, lock, now + delay, [&] { return aborted_; })) {
          lock.unlock();
          dropped_shutdown_.fetch_add(r.spans, std::memory_order_relaxed);
          diag_.note("spans dropped", r.spans, "not sent by the shutdown deadline");
          return;
        }
      }
    } catch (...) {
      failed_.fetch_add(r.spans, std::memory_order_relaxed);
    }
  }

  void give_up(const Request& r, std::string_view what, const std::string& why) {
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = stopping_;
    }
    if (stopping) {
      dropped_shutdown_.fetch_add(r.spans, std::memory_order_relaxed);
      diag_.note("spans dropped", r.spans, why + " (shutting down)");
    } else {
      failed_.fetch_add(r.spans, std::memory_order_relaxed);
      diag_.note(what, r.spans, why);
    }
  }

  void accepted(const Request& r, const detail::HttpResponse& resp) {
    detail::otlp::PartialSuccess ps;
    bool json = resp.content_type.find("json") != std::string::npos ||
                (resp.content_type.find("protobuf") == std::string::npos && json_);
    bool ok = json ? detail::otlp::parse_response_json(resp.body, ps)
                   : detail::otlp::parse_response_protobuf(resp.body, ps);
    std::uint64_t rejected = 0;
    if (ok && ps.rejected_spans > 0) {
      rejected = std::min<std::uint64_t>(static_cast<std::uint64_t>(ps.rejected_spans), r.spans);
    }
    sent_.fetch_add(r.spans - rejected, std::memory_order_relaxed);
    if (rejected > 0) {
      rejected_.fetch_add(rejected, std::memory_order_relaxed);
      diag_.note("spans rejected", rejected, "partial success: " + ps.error_message);
    } else if (ok && !ps.error_message.empty()) {
      diag_.note("warnings", 1, ps.error_message);
    }
  }

  const FinalizedOtlp cfg_;
  const bool json_;
  detail::TransportFactory factory_;
  const std::shared_ptr<detail::ExporterClock> clock_;
  std::unique_ptr<detail::HttpTransport> transport_;
  Diagnostics diag_;

  std::condition_variable work_cv_;   // the sender waits for requests
  std::condition_variable idle_cv_;   // flush and shutdown wait for the sender
  std::condition_variable abort_cv_;  // interrupts a backoff
  std::deque<Request> queue_;
  std::vector<std::string> spare_;  // sent request buffers, for reuse
  std::string open_;
  std::size_t open_start_ = 0;
  std::uint32_t open_spans_ = 0;
  const Resource* open_resource_ = nullptr;
  detail::otlp::ProtoHead head_;
  Clock::time_point open_since_{};
  std::size_t last_request_bytes_ = 0;
  std::uint64_t held_spans_ = 0;
  bool in_flight_ = false, started_ = false, stopping_ = false, aborted_ = false, finished_ = false;
  bool shutdown_called_ = false, shutdown_result_ = true;
  Clock::time_point stop_deadline_{};
  std::thread sender_;

  // Sender thread only.
  std::string zbuf_;
  std::mt19937_64 rng_{std::random_device{}()};

  std::atomic<std::uint64_t> sent_{0}, rejected_{0}, failed_{0}, dropped_queue_full_{0},
      dropped_shutdown_{0}, retries_{0};
};

// ---- fork handling -------------------------------------------------------------------------

namespace {

struct Live {
  std::mutex mu;
  std::vector<OtlpExporter::Impl*> all;
};
Live& live() {
  static auto* l = new Live();  // used by fork handlers during exit too
  return *l;
}

void atfork_prepare() noexcept {
  live().mu.lock();
  for (auto* impl : live().all) impl->mu_.lock();
}
void atfork_parent() noexcept {
  for (auto* impl : live().all) impl->mu_.unlock();
  live().mu.unlock();
}
void atfork_child() noexcept {
  for (auto* impl : live().all) impl->after_fork_child();
  new (&live().mu) std::mutex();
}

}  // namespace

void OtlpExporter::Impl::register_self() {
  static const int once = pthread_atfork(&atfork_prepare, &atfork_parent, &atfork_child);
  (void)once;
  std::lock_guard<std::mutex> lock(live().mu);
  live().all.push_back(this);
}

void OtlpExporter::Impl::unregister_self() {
  std::lock_guard<std::mutex> lock(live().mu);
  std::erase(live().all, this);
}

// ---- OtlpExporter ----------------------------------------------------------------------------

OtlpExporter::OtlpExporter(std::shared_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
OtlpExporter::~OtlpExporter() = default;

ExportResult OtlpExporter::export_spans(std::span<const SpanView> batch) noexcept {
  return impl_->export_spans(batch);
}
bool OtlpExporter::force_flush(Clock::time_point deadline) noexcept {
  return impl_->force_flush(deadline);
}
bool OtlpExporter::shutdown(Clock::time_point deadline) noexcept {
  return impl_->shutdown(deadline);
}
ExporterStats OtlpExporter::stats() const noexcept {
  return impl_->stats();
}
const FinalizedOtlp& OtlpExporter::config() const noexcept {
  return impl_->config();
}

namespace detail {

std::shared_ptr<ExporterClock> steady_exporter_clock() {
  static const auto clock = std::make_shared<SteadyExporterClock>();
  return clock;
}

std::shared_ptr<OtlpExporter> make_otlp_exporter_with(const FinalizedOtlp& config,
                                                      TransportFactory factory,
                                                      std::shared_ptr<ExporterClock> clock,
                                                      Error* error) {
  try {
    std::string why;
    std::unique_ptr<HttpTransport> t = factory(&why);
    if (!t) {
      if (error != nullptr)
        *error = Error{ErrorCode::exporter_unavailable, "otlp exporter: " + why};
      return nullptr;
    }
    auto impl = std::make_shared<OtlpExporter::Impl>(config, std::move(factory), std::move(t),
                                                     std::move(clock));
    return std::make_shared<OtlpExporter>(std::move(impl));
  } catch (const std::exception& e) {
    if (error != nullptr)
      *error = Error{ErrorCode::exporter_unavailable, std::string("otlp exporter: ") + e.what()};
  }
  return nullptr;
}

TransportFactory curl_factory(const FinalizedOtlp& c) {
  HttpTarget target;
  target.url = c.endpoint;
  target.headers.emplace_back("Content-Type", c.protocol == OtlpProtocol::http_json
                                                  ? "application/json"
                                                  : "application/x-protobuf");
  if (c.compression == OtlpCompression::gzip)
    target.headers.emplace_back("Content-Encoding", "gzip");
  for (const auto& h : c.headers) target.headers.push_back(h);
  return [target](std::string* error) { return make_curl_transport(target, error); };
}

}  // namespace detail

std::shared_ptr<OtlpExporter> make_otlp_exporter(const FinalizedOtlp& config, Error* error) {
  return detail::make_otlp_exporter_with(config, detail::curl_factory(config),
                                         detail::steady_exporter_clock(), error);
}

std::shared_ptr<OtlpExporter> make_otlp_exporter(const OtlpOptions& options, Error* error) {
  Options o;
  o.otlp = options;
  Error e;
  FinalizedOptions f = finalize(o, e);
  if (e) {
    if (error != nullptr) *error = e;
    return nullptr;
  }
  return make_otlp_exporter(f.otlp, error);
}

}  // namespace skein
