// The libcurl HttpTransport: one easy handle reused for every request (so the connection stays
// alive) driven through a multi handle, whose curl_multi_wakeup() lets abort() interrupt a
// request that hangs, from any thread, at once.
#include <curl/curl.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <ctime>
#include <mutex>

#include "http_transport.hpp"

namespace skein::detail {
namespace {

constexpr std::size_t kMaxResponseBody = 4 * 1024 * 1024;  // OTLP's recommended response limit

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool header_is(std::string_view line, std::string_view name, std::string_view& value) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char a = line[i], b = name[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != b) return false;
  }
  value = trim(line.substr(name.size() + 1));
  return true;
}

class CurlTransport final : public HttpTransport {
 public:
  CurlTransport(CURLM* multi, CURL* easy, curl_slist* headers, std::string url)
      : multi_(multi), easy_(easy), headers_(headers), url_(std::move(url)) {}

  ~CurlTransport() override {
    curl_multi_cleanup(multi_);
    curl_easy_cleanup(easy_);
    curl_slist_free_all(headers_);
  }

  HttpResponse post(std::string_view body, std::chrono::milliseconds timeout) override {
    HttpResponse r;
    if (aborted_.load(std::memory_order_acquire)) {
      r.aborted = true;
      r.error = "aborted";
      return r;
    }
    response_ = &r;
    long ms = static_cast<long>(std::max<std::chrono::milliseconds::rep>(timeout.count(), 1));
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, ms);
    error_buf_[0] = '\0';

    CURLcode result = CURLE_OK;
    bool done = false;
    if (curl_multi_add_handle(multi_, easy_) != CURLM_OK) {
      r.error = "curl_multi_add_handle failed";
      response_ = nullptr;
      return r;
    }
    while (!done) {
      int running = 0;
      if (curl_multi_perform(multi_, &running) != CURLM_OK) {
        r.error = "curl_multi_perform failed";
        break;
      }
      int queued = 0;
      while (CURLMsg* m = curl_multi_info_read(multi_, &queued)) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == easy_) {
          result = m->data.result;
          done = true;
        }
      }
      if (done) break;
      if (aborted_.load(std::memory_order_acquire)) {
        r.aborted = true;
        r.error = "aborted";
        break;
      }
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    curl_multi_remove_handle(multi_, easy_);
    response_ = nullptr;
    if (!done) {
      r.status = 0;
      return r;
    }
    if (result != CURLE_OK) {
      r.status = 0;
      r.error = error_buf_[0] != '\0' ? std::string(error_buf_) : curl_easy_strerror(result);
      return r;
    }
    long code = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
    r.status = static_cast<int>(code);
    return r;
  }

  void abort() noexcept override {
    aborted_.store(true, std::memory_order_release);
    curl_multi_wakeup(multi_);
  }

  void configure() {
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "skein/0.1.0");
    // A 512-span request is ~200 KiB: fewer, larger writes than with the 64 KiB default.
    curl_easy_setopt(easy_, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buf_);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &CurlTransport::on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &CurlTransport::on_header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  }

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<CurlTransport*>(self);
    std::size_t bytes = size * n;
    if (t->response_ != nullptr) {
      std::string& b = t->response_->body;
      if (b.size() < kMaxResponseBody) b.append(data, std::min(bytes, kMaxResponseBody - b.size()));
    }
    return bytes;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<CurlTransport*>(self);
    std::size_t bytes = size * n;
    if (t->response_ == nullptr) return bytes;
    std::string_view line(data, bytes), value;
    if (line.starts_with("HTTP/")) {  // a new response (after a 100 Continue, say)
      t->response_->content_type.clear();
      t->response_->retry_after.clear();
    } else if (header_is(line, "content-type", value)) {
      t->response_->content_type = std::string(value);
    } else if (header_is(line, "retry-after", value)) {
      t->response_->retry_after = std::string(value);
    }
    return bytes;
  }

  CURLM* multi_;
  CURL* easy_;
  curl_slist* headers_;
  std::string url_;
  std::atomic<bool> aborted_{false};
  HttpResponse* response_ = nullptr;
  char error_buf_[CURL_ERROR_SIZE] = {};
};

}  // namespace

std::unique_ptr<HttpTransport> make_curl_transport(HttpTarget target, std::string* error) {
  global_init();
  CURL* easy = curl_easy_init();
  CURLM* multi = curl_multi_init();
  curl_slist* list = nullptr;
  bool ok = easy != nullptr && multi != nullptr;
  // No "Expect: 100-continue" round trip for large bodies.
  for (const std::string& h : {std::string("Expect:")}) {
    curl_slist* next = curl_slist_append(list, h.c_str());
    ok = ok && next != nullptr;
    if (next != nullptr) list = next;
  }
  for (const auto& [k, v] : target.headers) {
    std::string line = k + ": " + v;
    curl_slist* next = curl_slist_append(list, line.c_str());
    ok = ok && next != nullptr;
    if (next != nullptr) list = next;
  }
  if (!ok) {
    if (error != nullptr) *error = "libcurl could not be initialized";
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
    curl_slist_free_all(list);
    return nullptr;
  }
  auto t = std::make_unique<CurlTransport>(multi, easy, list, std::move(target.url));
  t->configure();
  return t;
}

double parse_retry_after(std::string_view value) noexcept {
  value = trim(value);
  if (value.empty()) return -1;
  if (value.front() >= '0' && value.front() <= '9') {
    std::uint64_t seconds = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || ptr != value.data() + value.size()) return -1;
    return static_cast<double>(seconds);
  }
  char buf[128];
  if (value.size() >= sizeof buf) return -1;
  std::memcpy(buf, value.data(), value.size());
  buf[value.size()] = '\0';
  time_t when = curl_getdate(buf, nullptr);  // RFC 9110 IMF-fixdate, RFC 850 and asctime forms
  if (when == -1) return -1;
  double delta = std::difftime(when, std::time(nullptr));
  return delta < 0 ? 0 : delta;
}

}  // namespace skein::detail
