// fork() with the OTLP exporter running: the child starts a pipeline of its own and exports its
// spans; nothing deadlocks; the parent's spans (ended, queued or in flight at the fork, or still
// open) are exported once, by the parent, never again by the child.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "fakes/otlp_receiver.hpp"
#include "skein/otlp.hpp"
#include "skein/skein.hpp"

using namespace skein;
using namespace std::chrono_literals;
using fakes::OtlpReceiver;

namespace {

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#else
constexpr bool kThreadSanitizer = false;
#endif

// Waits for the child; kills it (and fails) when it is stuck.
int wait_child(pid_t pid, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(5ms);
  }
}

std::map<std::string, int> names(const std::vector<otlp::Span>& spans) {
  std::map<std::string, int> n;
  for (const auto& s : spans) ++n[s.name];
  return n;
}

}  // namespace

TEST(OtlpFork, ChildExportsItsOwnSpansAndNeverTheParents) {
  if (kThreadSanitizer)
    GTEST_SKIP() << "ThreadSanitizer does not support threads after a multi-threaded fork";
  OtlpReceiver rx;
  // The first request hangs a while: at the fork, the parent has a request in flight and more
  // queued behind it.
  rx.script([](std::size_t i) {
    return i == 0 ? OtlpReceiver::Answer{.action = OtlpReceiver::Action::hang}
                  : OtlpReceiver::Answer{};
  });
  Options o;
  o.project = "fork-test";
  o.exporter = ExporterKind::otlp;
  o.otlp.endpoint = rx.endpoint();
  o.otlp.max_export_batch_size = 5;
  o.otlp.schedule_delay = 10ms;
  o.otlp.retry_initial_backoff = 10ms;
  o.make_default = false;
  o.flush_interval = 5ms;
  Tracer t = Tracer::init(o);
  ASSERT_TRUE(t.enabled()) << t.error().message;

  for (int i = 0; i < 5; ++i) auto s = t.span("parent.in-flight");
  ASSERT_TRUE(rx.wait_for_requests(1, 5s));  // hanging now
  for (int i = 0; i < 7; ++i) auto s = t.span("parent.queued");
  std::this_thread::sleep_for(50ms);  // handed to the exporter, waiting behind the hang
  auto open = t.span("parent.open-across-fork");

  pid_t pid = ::fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    // The child: record, flush, report through the exit code only.
    int code = 0;
    {
      auto child = t.span("child.work");
      child.set("pid", static_cast<std::int64_t>(::getpid()));
      for (int i = 0; i < 3; ++i) auto s = t.span("child.step");
    }
    open.end();  // started by the parent: the parent exports it
    if (!t.force_flush(5s)) code |= 1;
    Stats s = t.stats();
    if (s.export_sent != 4) code |= 2;
    if (s.spans_exported != 4) code |= 4;
    ::_exit(code);
  }

  // The parent: the child must not hang, and the parent keeps working.
  int code = wait_child(pid, 15s);
  EXPECT_EQ(code, 0) << "child exit code (bits: 1 flush failed, 2/4 wrong counts; -1 stuck)";
  rx.release_hangs();
  open.end();
  for (int i = 0; i < 2; ++i) auto s = t.span("parent.after-fork");
  ASSERT_TRUE(t.force_flush(10s));
  ASSERT_TRUE(rx.wait_for_spans(5 + 7 + 1 + 2 + 4, 10s));
  std::this_thread::sleep_for(100ms);  // anything extra would arrive now

  auto n = names(rx.spans());
  EXPECT_EQ(n["parent.in-flight"], 5);
  EXPECT_EQ(n["parent.queued"], 7);
  EXPECT_EQ(n["parent.open-across-fork"], 1);
  EXPECT_EQ(n["parent.after-fork"], 2);
  EXPECT_EQ(n["child.work"], 1);
  EXPECT_EQ(n["child.step"], 3);
  EXPECT_EQ(rx.spans().size(), 19u);

  // The child's spans carry the child's pid and are children of its own span.
  std::vector<otlp::Span> all = rx.spans();
  const otlp::Span* work = nullptr;
  for (const auto& s : all) {
    if (s.name == "child.work") work = &s;
  }
  ASSERT_NE(work, nullptr);
  EXPECT_EQ(work->attribute("pid")->int_value, pid);
  for (const auto& s : all) {
    if (s.name == "child.step") {
      EXPECT_EQ(s.parent_span_id, work->span_id);
    }
  }
  Stats s = t.stats();
  EXPECT_EQ(s.export_sent, 15u);  // the parent's own
  EXPECT_EQ(s.export_dropped_queue_full + s.export_failed + s.export_rejected, 0u);
}

TEST(OtlpFork, ForkThenExecStartsNoThreadsAndExitsCleanly) {
  if (kThreadSanitizer)
    GTEST_SKIP() << "ThreadSanitizer does not support threads after a multi-threaded fork";
  OtlpReceiver rx;
  Tracer t = Tracer::init({.project = "fork-exec",
                           .exporter = ExporterKind::otlp,
                           .otlp = {.endpoint = rx.endpoint(), .schedule_delay = 10ms},
                           .make_default = false});
  { auto s = t.span("before"); }
  pid_t pid = ::fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    ::execl("/bin/true", "true", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  EXPECT_EQ(wait_child(pid, 10s), 0);
  ASSERT_TRUE(t.force_flush(5s));
  EXPECT_TRUE(rx.wait_for_spans(1, 5s));
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

TEST(OtlpFork, ChildThatExitsNormallyFlushesAtExit) {
  if (kThreadSanitizer)
    GTEST_SKIP() << "ThreadSanitizer does not support threads after a multi-threaded fork";
  // Not under AddressSanitizer: GCC 12's ASan allocator does not take its locks around fork(),
  // so a child forked while another thread of the parent (the receiver's HTTP threads, the
  // exporter's sender) was inside malloc inherits a locked allocator region and deadlocks on its
  // next allocation from that size class — seen in gdb as the child's threads and LeakSanitizer's
  // exit check all waiting in SizeClassAllocator64 on the same mutex, held by no thread of the
  // child. A sanitizer runtime limitation (newer LLVM runtimes lock the allocator at fork), not
  // skein's: glibc's malloc, which the Release run uses, is fork-safe.
  if (kAddressSanitizer) GTEST_SKIP() << "GCC 12 ASan allocator is not fork-safe (see comment)";
  OtlpReceiver rx;
  Tracer t = Tracer::init({.project = "fork-exit",
                           .exporter = ExporterKind::otlp,
                           .otlp = {.endpoint = rx.endpoint(), .schedule_delay = 10000ms},
                           .make_default = false});
  pid_t pid = ::fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    { auto s = t.span("child.at-exit"); }
    std::exit(0);  // the flush at exit sends it, without a schedule_delay wait
  }
  EXPECT_EQ(wait_child(pid, 15s), 0);
  EXPECT_TRUE(rx.wait_for_spans(1, 5s));
  EXPECT_EQ(rx.spans().at(0).name, "child.at-exit");
}
