// Starts the real `skein serve` binary on a free loopback port and talks raw HTTP/1.1 to it, so
// that tests control every byte (chunked framing, bad bodies) and can SIGKILL the server.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace skein::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct HttpResponse {
  int status = 0;                              ///< 0: no answer (connection refused or closed)
  std::map<std::string, std::string> headers;  ///< lowercase names
  std::string body;
};

/// Sends raw request bytes to 127.0.0.1:port and reads the answer until the server closes.
inline HttpResponse raw_http(int port, const std::string& request, int timeout_ms = 10000) {
  HttpResponse r;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  std::size_t off = 0;
  while (off < request.size()) {
    auto n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string in;
  char buf[65536];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
    // Stop once a full Content-Length body is here (the server may keep the connection).
    auto end = in.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto lower = in.substr(0, end);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto cl = lower.find("content-length:");
      if (cl != std::string::npos && in.size() >= end + 4 + std::stoul(lower.substr(cl + 15)))
        break;
    }
  }
  ::close(fd);
  auto end = in.find("\r\n\r\n");
  if (in.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(in.substr(9, 3));
  std::istringstream hs(in.substr(0, end));
  std::string line;
  std::getline(hs, line);
  while (std::getline(hs, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon), v = line.substr(colon + 1);
    for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
    r.headers[k] = v;
  }
  r.body = in.substr(end + 4);
  return r;
}

/// A POST /v1/traces with Content-Length (or chunked in `chunk` byte pieces when chunk > 0).
inline std::string otlp_post(const std::string& body, const std::string& content_type,
                             const std::string& extra_headers = {}, std::size_t chunk = 0) {
  std::string req = "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  req += "Content-Type: " + content_type + "\r\n" + extra_headers;
  if (chunk == 0) {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return req;
  }
  req += "Transfer-Encoding: chunked\r\n\r\n";
  for (std::size_t i = 0; i < body.size(); i += chunk) {
    auto piece = body.substr(i, chunk);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx\r\n", piece.size());
    req += hex + piece + "\r\n";
  }
  return req + "0\r\n\r\n";
}

inline std::string http_get(const std::string& path, const std::string& extra_headers = {}) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers +
         "\r\n";
}

/// `skein serve` as a child process.
class ServeProcess {
 public:
  ServeProcess(const std::string& binary, const std::string& db,
               std::vector<std::string> extra = {}) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<std::string> args = {binary, "serve", "--db", db, "--port", "0", "--quiet"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      std::_Exit(127);
    }
    ::close(out[1]);
    // First line: "skein serve: listening on http://127.0.0.1:PORT ..."
    std::string text;
    char c;
    while (::read(out[0], &c, 1) == 1) {
      if (c == '\n') break;
      text += c;
    }
    out_fd_ = out[0];
    auto p = text.find("127.0.0.1:");
    if (p != std::string::npos) port_ = std::atoi(text.c_str() + p + 10);
  }
  ~ServeProcess() { stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] bool running() const noexcept { return pid_ > 0 && port_ > 0; }

  /// SIGTERM and wait: the graceful stop. Returns the exit status.
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (out_fd_ >= 0) ::close(out_fd_);
    out_fd_ = -1;
    return status;
  }
  void kill9() { stop(SIGKILL); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int out_fd_ = -1;
};

}  // namespace skein::testing
