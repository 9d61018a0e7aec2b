// Smoke test of w3c_test_service, run by ctest: starts the service on a free port, plays the
// harness (POST /test with callbacks to a local receiver) and checks what the callbacks carried.
//
//     w3c_test_service_check build/bin/w3c_test_service
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

struct Callback {
  std::vector<std::string> traceparent, tracestate;
};

std::mutex g_mu;
std::vector<Callback> g_callbacks;
int g_failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++g_failures;
}

// Starts the service; returns its pid and port (0 on failure).
pid_t start_service(const char* path, int& port) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  char* argv[] = {const_cast<char*>(path), const_cast<char*>("0"), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, path, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return -1;
  }
  std::string line;
  char c;
  while (read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  close(fds[0]);
  std::size_t colon = line.rfind(':');
  port = colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
  return pid;
}

// Sends one /test request and returns the callbacks received.
std::vector<Callback> run(int service_port, int receiver_port, const httplib::Headers& headers,
                          int callbacks) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_callbacks.clear();
  }
  std::string body = "[";
  for (int i = 0; i < callbacks; ++i) {
    body += (i ? "," : "") + std::string("{\"url\": \"http://127.0.0.1:") +
            std::to_string(receiver_port) + "/callback/" + std::to_string(i) +
            "\", \"arguments\": []}";
  }
  body += "]";
  httplib::Client cli("127.0.0.1", service_port);
  cli.set_read_timeout(10, 0);
  auto res = cli.Post("/test", headers, body, "application/json");
  check(res && res->status == 200, "POST /test answered 200");
  std::lock_guard<std::mutex> lock(g_mu);
  return g_callbacks;
}

std::string trace_id(const std::string& tp) {
  return tp.size() == 55 ? tp.substr(3, 32) : "";
}
std::string parent_id(const std::string& tp) {
  return tp.size() == 55 ? tp.substr(36, 16) : "";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PATH_TO_w3c_test_service\n", argv[0]);
    return 2;
  }
  httplib::Server receiver;
  receiver.Post(R"(/callback/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    Callback cb;
    for (const auto& [k, v] : req.headers) {
      std::string lower;
      for (char ch : k)
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
      if (lower == "traceparent") cb.traceparent.push_back(v);
      if (lower == "tracestate") cb.tracestate.push_back(v);
    }
    std::lock_guard<std::mutex> lock(g_mu);
    g_callbacks.push_back(cb);
    res.set_content("null", "application/json");
  });
  const int receiver_port = receiver.bind_to_any_port("127.0.0.1");
  std::thread receiver_thread([&] { receiver.listen_after_bind(); });

  int port = 0;
  const pid_t pid = start_service(argv[1], port);
  check(pid > 0 && port > 0, "service started on a free port");
  if (pid > 0 && port > 0) {
    const std::string in_trace = "12345678901234567890123456789012";
    // A valid context: same trace, a new parent id per callback, tracestate carried over.
    auto got = run(
        port, receiver_port,
        {{"traceparent", "00-" + in_trace + "-1234567890123456-01"}, {"tracestate", "foo=1,bar=2"}},
        2);
    check(got.size() == 2, "two callbacks");
    std::set<std::string> parents;
    for (const auto& cb : got) {
      check(cb.traceparent.size() == 1, "one traceparent per callback");
      if (cb.traceparent.empty()) continue;
      check(trace_id(cb.traceparent[0]) == in_trace, "trace id continued: " + cb.traceparent[0]);
      parents.insert(parent_id(cb.traceparent[0]));
      check(cb.tracestate.size() == 1 && cb.tracestate[0] == "foo=1,bar=2", "tracestate carried");
    }
    check(parents.size() == 2 && !parents.count("1234567890123456"), "a new parent id each time");

    // Unsampled: still propagated, still a new parent id per callback.
    got = run(port, receiver_port, {{"traceparent", "00-" + in_trace + "-1234567890123456-00"}}, 2);
    parents.clear();
    for (const auto& cb : got) {
      if (cb.traceparent.empty()) continue;
      check(trace_id(cb.traceparent[0]) == in_trace && cb.traceparent[0].ends_with("-00"),
            "unsampled context propagated: " + cb.traceparent[0]);
      parents.insert(parent_id(cb.traceparent[0]));
    }
    check(parents.size() == 2, "unsampled: a new parent id each time");

    // An invalid traceparent restarts the trace and drops the tracestate.
    got = run(port, receiver_port,
              {{"traceparent", "ff-" + in_trace + "-1234567890123456-01"}, {"tracestate", "foo=1"}},
              1);
    check(got.size() == 1 && got[0].traceparent.size() == 1 &&
              trace_id(got[0].traceparent[0]).size() == 32 &&
              trace_id(got[0].traceparent[0]) != in_trace && got[0].tracestate.empty(),
          "invalid traceparent: new trace, no tracestate");

    // A future version is read by its first fields.
    got = run(
        port, receiver_port,
        {{"traceparent", "cc-" + in_trace + "-1234567890123456-01-what-the-future-will-be-like"}},
        1);
    check(got.size() == 1 && !got[0].traceparent.empty() &&
              trace_id(got[0].traceparent[0]) == in_trace &&
              got[0].traceparent[0].starts_with("00-"),
          "future version downgraded to 00");

    // Invalid tracestate (duplicate key) is discarded whole.
    got = run(
        port, receiver_port,
        {{"traceparent", "00-" + in_trace + "-1234567890123456-00"}, {"tracestate", "foo=1,foo=2"}},
        1);
    check(got.size() == 1 && got[0].tracestate.empty(), "invalid tracestate discarded");
  }
  if (pid > 0) {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
  }
  receiver.stop();
  receiver_thread.join();
  std::printf("%s\n", g_failures == 0 ? "all checks passed" : "checks failed");
  return g_failures == 0 ? 0 : 1;
}
