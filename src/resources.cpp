// Resource usage of spans that ask for it (skein/resources.hpp).
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <new>

#include "record.hpp"
#include "resources_internal.hpp"
#include "skein/resources.hpp"

namespace skein {
namespace detail {

/// The readings at span start, in the record's arena.
struct ResourceStart {
  ResourceReading at;
  pthread_t thread;
  bool rss;
};

namespace {

// /proc/self/statm, opened once and read with pread (a fresh reading each time). In a fork child
// the descriptor would still name the parent's process: it is reopened there.
std::atomic<int> g_statm{-1};

void forget_statm_in_child() noexcept {
  int fd = g_statm.exchange(-1, std::memory_order_relaxed);
  if (fd >= 0) ::close(fd);
}

int statm_fd() noexcept {
  int fd = g_statm.load(std::memory_order_acquire);
  if (fd >= 0) return fd;
  static const int registered = pthread_atfork(nullptr, nullptr, &forget_statm_in_child);
  (void)registered;
  int opened = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (opened < 0) return -1;
  int expected = -1;
  if (!g_statm.compare_exchange_strong(expected, opened, std::memory_order_acq_rel)) {
    ::close(opened);
    return expected;
  }
  return opened;
}

std::uint64_t rss_bytes() noexcept {
  static const long page = ::sysconf(_SC_PAGESIZE);
  int fd = statm_fd();
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  // "size resident shared text lib data dt", in pages: the second field.
  const char* p = buf;
  const char* end = buf + n;
  while (p < end && *p != ' ') ++p;
  std::uint64_t pages = 0;
  for (++p; p < end && *p >= '0' && *p <= '9'; ++p)
    pages = pages * 10 + static_cast<std::uint64_t>(*p - '0');
  return pages * static_cast<std::uint64_t>(page > 0 ? page : 4096);
}

std::uint64_t micros(const timeval& tv) noexcept {
  return static_cast<std::uint64_t>(tv.tv_sec) * 1000000u + static_cast<std::uint64_t>(tv.tv_usec);
}

double ms(std::uint64_t us) noexcept {
  return static_cast<double>(us) / 1000.0;
}

}  // namespace

void begin_resources(SpanRecord& r, bool rss) noexcept {
  void* p = r.arena.alloc(sizeof(ResourceStart), alignof(ResourceStart));
  if (p == nullptr) return;
  auto* s = ::new (p) ResourceStart{read_resources(rss), pthread_self(), rss};
  r.resources = s;
}

void finish_resources(SpanRecord& r) noexcept {
  const ResourceStart& s = *r.resources;
  r.resources = nullptr;
  ResourceReading now = read_resources(s.rss);
  auto add = [&r](std::string_view key, const Value& v) {
    r.add_scalar_stored_key(AttrTarget::span, key, v);
  };
  add("resources.wall_ms", static_cast<double>(now.wall_ns - s.at.wall_ns) / 1e6);
  if (pthread_equal(s.thread, pthread_self()) != 0) {
    std::uint64_t user = now.cpu_user_us - s.at.cpu_user_us;
    std::uint64_t sys = now.cpu_system_us - s.at.cpu_system_us;
    add("resources.cpu_user_ms", ms(user));
    add("resources.cpu_system_ms", ms(sys));
    add("resources.cpu_ms", ms(user + sys));
    add("resources.page_faults_minor",
        static_cast<std::int64_t>(now.minor_faults - s.at.minor_faults));
    add("resources.page_faults_major",
        static_cast<std::int64_t>(now.major_faults - s.at.major_faults));
  }
  if (s.at.rss_bytes != 0 && now.rss_bytes != 0) {
    add("resources.rss_before_bytes", static_cast<std::int64_t>(s.at.rss_bytes));
    add("resources.rss_after_bytes", static_cast<std::int64_t>(now.rss_bytes));
    add("resources.rss_delta_bytes",
        static_cast<std::int64_t>(now.rss_bytes) - static_cast<std::int64_t>(s.at.rss_bytes));
  }
}

}  // namespace detail

ResourceReading read_resources(bool rss) noexcept {
  ResourceReading out;
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  out.wall_ns =
      static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
  rusage ru{};
  if (::getrusage(RUSAGE_THREAD, &ru) == 0) {
    out.cpu_user_us = detail::micros(ru.ru_utime);
    out.cpu_system_us = detail::micros(ru.ru_stime);
    out.minor_faults = static_cast<std::uint64_t>(ru.ru_minflt);
    out.major_faults = static_cast<std::uint64_t>(ru.ru_majflt);
  }
  if (rss) out.rss_bytes = detail::rss_bytes();
  return out;
}

}  // namespace skein
