// CLIENT spans around libcurl transfers.
#include "skein/http/curl.hpp"

#include <cstdlib>
#include <string>

#include "skein/propagation.hpp"

namespace skein::http {
namespace {

struct UrlParts {
  std::string full, scheme, host;
  long port = 0;
};

UrlParts parse_url(CURL* easy) {
  UrlParts out;
  char* url = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || url == nullptr)
    return out;
  out.full = url;
  CURLU* u = curl_url();
  if (u == nullptr) return out;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
    // url.full must not carry credentials.
    curl_url_set(u, CURLUPART_USER, nullptr, 0);
    curl_url_set(u, CURLUPART_PASSWORD, nullptr, 0);
    char* part = nullptr;
    if (curl_url_get(u, CURLUPART_URL, &part, 0) == CURLUE_OK) out.full = part;
    curl_free(part);
    part = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) out.scheme = part;
    curl_free(part);
    part = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) out.host = part;
    curl_free(part);
    part = nullptr;
    if (curl_url_get(u, CURLUPART_PORT, &part, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      out.port = std::strtol(part, nullptr, 10);
    }
    curl_free(part);
  }
  curl_url_cleanup(u);
  return out;
}

bool is_propagation_header(std::string_view line) {
  std::size_t colon = line.find(':');
  return colon != std::string_view::npos &&
         skein::detail::propagation_header(line.substr(0, colon)) >= 0;
}

}  // namespace

CURLcode perform(Tracer& tracer, CURL* easy, const ClientOptions& options) {
  const UrlParts url = parse_url(easy);
  Span span = tracer.span(options.method, {.kind = SpanKind::client, .parent = options.parent});
  if (span.recording()) {
    span.set("http.request.method", options.method);
    if (!url.full.empty()) span.set("url.full", url.full);
    if (!url.scheme.empty()) span.set("url.scheme", url.scheme);
    if (!url.host.empty()) span.set("server.address", url.host);
    if (url.port > 0) span.set("server.port", static_cast<std::int64_t>(url.port));
  }

  // The caller's headers (minus stale propagation headers), then ours.
  curl_slist* list = nullptr;
  bool ok = true;
  for (const curl_slist* h = options.headers; h != nullptr && ok; h = h->next) {
    if (h->data == nullptr || is_propagation_header(h->data)) continue;
    curl_slist* next = curl_slist_append(list, h->data);
    ok = next != nullptr;
    if (ok) list = next;
  }
  std::string line;
  skein::inject([&](std::string_view name, std::string_view value) {
    line.assign(name).append(": ").append(value);
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next != nullptr) list = next;
  });
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  const CURLcode rc = curl_easy_perform(easy);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, options.headers);
  curl_slist_free_all(list);

  if (span.recording()) {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (status > 0) span.set("http.response.status_code", static_cast<std::int64_t>(status));
    if (rc != CURLE_OK) {
      span.set("error.type", curl_easy_strerror(rc));
      span.set_status(StatusCode::error, curl_easy_strerror(rc));
    } else if (status >= 400) {
      span.set("error.type", std::to_string(status));
      span.set_status(StatusCode::error);
    }
  }
  return rc;
}

}  // namespace skein::http
