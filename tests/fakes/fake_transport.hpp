// An HTTP transport for the OTLP exporter's unit tests: it answers what the test scripts (a
// status, Retry-After, a network error, or a hang that only abort() ends) and records every POST
// with the timeout the exporter gave it. No socket, no real time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporters/otlp_exporter.hpp"

namespace skein::fakes {

class FakeHttp : public std::enable_shared_from_this<FakeHttp> {
 public:
  struct Answer {
    int status = 200;  ///< 0: a network error
    std::string retry_after{};
    bool hang = false;  ///< block until abort()
  };
  using Script = std::function<Answer(std::size_t index)>;
  struct Post {
    std::string body;
    std::chrono::milliseconds timeout;
  };

  void script(Script s) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(s);
  }

  /// What the exporter uses to make its transports.
  detail::TransportFactory factory() {
    return [self = shared_from_this()](std::string*) -> std::unique_ptr<detail::HttpTransport> {
      return std::make_unique<Transport>(self);
    };
  }

  std::vector<Post> posts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return posts_;
  }
  /// Waits (bounded) until `n` POSTs have started.
  bool wait_for_posts(std::size_t n, std::chrono::milliseconds patience) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, patience, [&] { return posts_.size() >= n; });
  }

 private:
  class Transport final : public detail::HttpTransport {
   public:
    explicit Transport(std::shared_ptr<FakeHttp> http) : http_(std::move(http)) {}
    detail::HttpResponse post(std::string_view body, std::chrono::milliseconds timeout) override {
      return http_->post(body, timeout);
    }
    void abort() noexcept override { http_->abort(); }

   private:
    std::shared_ptr<FakeHttp> http_;
  };

  detail::HttpResponse post(std::string_view body, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    detail::HttpResponse r;
    if (aborted_) {
      r.aborted = true;
      return r;
    }
    Answer a = script_ ? script_(posts_.size()) : Answer{};
    posts_.push_back(Post{std::string(body), timeout});
    cv_.notify_all();
    if (a.hang) {
      cv_.wait(lock, [&] { return aborted_; });
      r.aborted = true;
      r.error = "aborted";
      return r;
    }
    r.status = a.status;
    if (a.status == 0) r.error = "scripted network error";
    r.retry_after = a.retry_after;
    r.content_type = "application/x-protobuf";  // an empty body: a full success
    return r;
  }

  void abort() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_ = true;
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Script script_;
  std::vector<Post> posts_;
  bool aborted_ = false;
};

}  // namespace skein::fakes
