// A service for the W3C Trace Context test harness (github.com/w3c/trace-context, test/):
//
//     build/bin/w3c_test_service 5000            # then, in the harness:
//     python test.py http://127.0.0.1:5000/test   # STRICT_LEVEL=2 by default
//
// It receives `POST /test` with a JSON list of {"url": ..., "arguments": ...}; for each item it
// POSTs `arguments` as JSON to `url`, propagating the trace context it received with a new parent
// id (one CLIENT span per callback, children of the SERVER span of /test). Port 0 picks a free
// port; the chosen one is printed on stdout as "listening on http://HOST:PORT".
//
//     w3c_test_service PORT [HOST]               # HOST defaults to 127.0.0.1
#include <curl/curl.h>
#include <httplib.h>
#include <skein/http/curl.hpp>
#include <skein/http/httplib.hpp>
#include <skein/skein.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// ---- a minimal JSON reader: just enough to find "url" and the raw "arguments" of each item ----

struct Json {
  std::string_view s;
  std::size_t i = 0;
  int depth = 0;

  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  // A string value, unescaped (\uXXXX limited to one byte, enough for URLs).
  std::optional<std::string> string() {
    ws();
    if (i >= s.size() || s[i] != '"') return std::nullopt;
    std::string out;
    for (++i; i < s.size(); ++i) {
      char c = s[i];
      if (c == '"') {
        ++i;
        return out;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (++i >= s.size()) return std::nullopt;
      switch (s[i]) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u': {
          if (i + 4 >= s.size()) return std::nullopt;
          unsigned v = std::strtoul(std::string(s.substr(i + 1, 4)).c_str(), nullptr, 16);
          out.push_back(v < 0x80 ? static_cast<char>(v) : '?');
          i += 4;
          break;
        }
        default: out.push_back(s[i]);
      }
    }
    return std::nullopt;
  }
  // Skips any value; returns its raw text.
  std::optional<std::string_view> value() {
    ws();
    if (i >= s.size() || ++depth > 64) return std::nullopt;
    const std::size_t start = i;
    bool ok = true;
    if (s[i] == '"') {
      ok = string().has_value();
    } else if (s[i] == '[' || s[i] == '{') {
      const bool object = s[i] == '{';
      ++i;
      if (!eat(object ? '}' : ']')) {
        do {
          if (object && (!string() || !eat(':'))) return std::nullopt;
          if (!value()) return std::nullopt;
        } while (eat(','));
        ok = eat(object ? '}' : ']');
      }
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != ']' && s[i] != '}' && s[i] != ' ' &&
             s[i] != '\n' && s[i] != '\r' && s[i] != '\t') {
        ++i;
      }
      ok = i > start;
    }
    --depth;
    if (!ok) return std::nullopt;
    return s.substr(start, i - start);
  }
};

struct Action {
  std::string url;
  std::string arguments = "[]";
};

// The /test body: a list of actions (a single object is accepted too).
std::optional<std::vector<Action>> parse_actions(std::string_view body) {
  Json j{body};
  std::vector<Action> out;
  auto object = [&]() -> bool {
    Action a;
    if (!j.eat('{')) return false;
    if (!j.eat('}')) {
      do {
        auto key = j.string();
        if (!key || !j.eat(':')) return false;
        if (*key == "url") {
          auto url = j.string();
          if (!url) return false;
          a.url = *url;
        } else {
          auto raw = j.value();
          if (!raw) return false;
          if (*key == "arguments" && *raw != "null") a.arguments = std::string(*raw);
        }
      } while (j.eat(','));
      if (!j.eat('}')) return false;
    }
    out.push_back(std::move(a));
    return true;
  };
  j.ws();
  if (j.i < body.size() && body[j.i] == '{') {
    if (!object()) return std::nullopt;
  } else if (j.eat('[')) {
    if (!j.eat(']')) {
      do {
        if (!object()) return std::nullopt;
      } while (j.eat(','));
      if (!j.eat(']')) return std::nullopt;
    }
  } else if (!j.eat('n')) {  // null: nothing to do
    return std::nullopt;
  }
  return out;
}

std::size_t discard(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

// POSTs `body` to `url` inside a CLIENT span whose parent is `parent`; the span's context is
// propagated, so every callback carries a new parent id.
void post(skein::Tracer& tracer, const skein::Context& parent, const Action& a) {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) return;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(easy, CURLOPT_URL, a.url.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, a.arguments.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(a.arguments.size()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &discard);
  skein::http::perform(tracer, easy, {.method = "POST", .headers = headers, .parent = &parent});
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [HOST]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string host = argc > 2 ? argv[2] : "127.0.0.1";
  curl_global_init(CURL_GLOBAL_DEFAULT);

  auto tracer = skein::Tracer::init({.project = "w3c-test-service"});
  httplib::Server server;
  server.Post("/test",
              skein::http::traced(
                  tracer, "/test", [&](const httplib::Request& req, httplib::Response& res) {
                    auto actions = parse_actions(req.body);
                    if (!actions) {
                      res.status = 400;
                      res.set_content("{\"error\":\"expected a JSON list of {url, arguments}\"}",
                                      "application/json");
                      return;
                    }
                    // Every callback is a child of this SERVER span; an explicit parent gives each
                    // one its own span id even when the incoming trace is not sampled.
                    const skein::Context server_ctx = skein::Context::current();
                    for (const Action& a : *actions) {
                      if (!a.url.empty()) post(tracer, server_ctx, a);
                    }
                    res.set_content("{}", "application/json");
                  }));

  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port(host.c_str());
  } else if (!server.bind_to_port(host.c_str(), port)) {
    bound = -1;
  }
  if (bound <= 0) {
    std::fprintf(stderr, "w3c_test_service: cannot listen on %s:%d\n", host.c_str(), port);
    return 1;
  }
  std::printf("listening on http://%s:%d\n", host.c_str(), bound);
  std::fflush(stdout);
  server.listen_after_bind();
  curl_global_cleanup();
  return 0;
}
