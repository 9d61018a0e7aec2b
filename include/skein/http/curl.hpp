// skein/http/curl.hpp — CLIENT spans for libcurl requests (target skein::curl, optional).
//
//     CURL* easy = curl_easy_init();
//     curl_easy_setopt(easy, CURLOPT_URL, "http://127.0.0.1:8080/charge");
//     curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
//     CURLcode rc = skein::http::perform(tracer, easy, {.method = "POST"});
//
// `perform` opens a CLIENT span (child of the current span, or of `parent`), injects
// `traceparent`, `tracestate` and `baggage` into the request headers, runs curl_easy_perform and
// records the OpenTelemetry HTTP client attributes: http.request.method, url.full (credentials
// removed), url.scheme, server.address, server.port, http.response.status_code, and error.type
// with an error status when the transfer fails or the status is 4xx/5xx. The caller's own header
// list is sent too and left untouched.
#pragma once

#include <curl/curl.h>

#include <string_view>

#include "skein/tracer.hpp"

namespace skein::http {

struct ClientOptions {
  /// The request method, as configured on the handle (the span is named after it).
  std::string_view method = "GET";
  /// Headers of the caller, sent along with the propagation headers (any of those in this list
  /// are replaced). Ownership stays with the caller.
  const curl_slist* headers = nullptr;
  /// The parent context; the current context when null.
  const Context* parent = nullptr;
};

/// Performs the transfer inside a CLIENT span; see the file comment.
CURLcode perform(Tracer& tracer, CURL* easy, const ClientOptions& options = {});

}  // namespace skein::http
