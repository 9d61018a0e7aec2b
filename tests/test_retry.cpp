// Traced retries: attempts, events, backoff timing with an injected sleeper (exact without
// jitter, within bounds with it), retryable predicates, callables that return error values, and
// the final exception rethrown as the same object.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fakes/collecting.hpp"
#include "skein/retry.hpp"
#include "skein/skein.hpp"

namespace {

using namespace std::chrono_literals;
using skein::RetryPolicy;
using skein::SpanData;
using skein::fakes::Collecting;

struct Transient : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Fatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A policy whose sleeper records the waits instead of sleeping.
struct Recorded {
  std::vector<std::chrono::nanoseconds> waits;
  RetryPolicy policy(RetryPolicy p = {}) {
    p.sleeper = [this](std::chrono::nanoseconds d) { waits.push_back(d); };
    return p;
  }
};

std::vector<const SpanData::Event*> attempts(const SpanData& s) {
  std::vector<const SpanData::Event*> out;
  for (const auto& e : s.events) {
    if (e.name == "retry.attempt") out.push_back(&e);
  }
  return out;
}

const skein::OwnedValue* event_attr(const SpanData::Event& e, std::string_view key) {
  for (const auto& [k, v] : e.attributes) {
    if (k == key) return &v;
  }
  return nullptr;
}

TEST(Retry, SucceedsAfterFailuresWithExactBackoffs) {
  Collecting c;
  Recorded rec;
  int calls = 0;
  int result = skein::retry(c.tracer,
                            rec.policy({.max_attempts = 5,
                                        .initial_backoff = 100ms,
                                        .multiplier = 3.0,
                                        .max_backoff = 1000ms,
                                        .name = "fetch"}),
                            [&] {
                              if (++calls < 5) throw Transient("timeout " + std::to_string(calls));
                              return 42;
                            });
  EXPECT_EQ(result, 42);
  EXPECT_EQ(calls, 5);
  // 100, 300, 900, then capped at 1000.
  ASSERT_EQ(rec.waits.size(), 4u);
  EXPECT_EQ(rec.waits[0], 100ms);
  EXPECT_EQ(rec.waits[1], 300ms);
  EXPECT_EQ(rec.waits[2], 900ms);
  EXPECT_EQ(rec.waits[3], 1000ms);

  auto s = c.only();
  EXPECT_EQ(s.name, "fetch");
  EXPECT_EQ(s.int_attribute("retry.max_attempts"), 5);
  EXPECT_EQ(s.int_attribute("retry.succeeded_at_attempt"), 5);
  EXPECT_EQ(s.int_attribute("retry.attempts"), 5);
  EXPECT_FALSE(s.bool_attribute("retry.all_failed").has_value());
  EXPECT_NE(s.status, skein::StatusCode::error);
  auto ev = attempts(s);
  ASSERT_EQ(ev.size(), 4u);
  for (std::size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(std::get<std::int64_t>(*event_attr(*ev[i], "retry.attempt")),
              static_cast<std::int64_t>(i + 1));
    EXPECT_NE(std::get<std::string>(*event_attr(*ev[i], "error.type")).find("Transient"),
              std::string::npos);
    EXPECT_EQ(std::get<std::string>(*event_attr(*ev[i], "error.message")),
              "timeout " + std::to_string(i + 1));
  }
  EXPECT_DOUBLE_EQ(std::get<double>(*event_attr(*ev[1], "retry.backoff_ms")), 300.0);
}

TEST(Retry, JitteredBackoffsStayWithinBounds) {
  Collecting c;
  Recorded rec;
  const RetryPolicy base{.max_attempts = 8,
                         .initial_backoff = 10ms,
                         .multiplier = 2.0,
                         .max_backoff = 500ms,
                         .jitter = 0.25};
  for (int round = 0; round < 20; ++round) {
    rec.waits.clear();
    EXPECT_THROW(skein::retry(c.tracer, rec.policy(base), [] { throw Transient("x"); }), Transient);
    ASSERT_EQ(rec.waits.size(), 7u);
    for (std::size_t i = 0; i < rec.waits.size(); ++i) {
      double b = std::min(10.0 * (1 << i), 500.0);
      double ms = std::chrono::duration<double, std::milli>(rec.waits[i]).count();
      EXPECT_GE(ms, b * 0.75 - 1e-6) << i;
      EXPECT_LE(ms, std::min(b * 1.25, 500.0) + 1e-6) << i;
    }
  }
  // The formula at the edges of the draw.
  EXPECT_EQ(skein::retry_backoff(base, 1, 0.0), 7500us);
  EXPECT_EQ(skein::retry_backoff(base, 1, 1.0), 12500us);
  EXPECT_EQ(skein::retry_backoff(base, 7, 1.0), 500ms);  // 640 capped
}

TEST(Retry, InjectedRandomSourceDrivesTheJitter) {
  Collecting c;
  Recorded rec;
  auto p = rec.policy({.max_attempts = 3, .initial_backoff = 100ms, .jitter = 0.5});
  p.random = [] { return 0.0; };
  EXPECT_THROW(skein::retry(c.tracer, p, [] { throw Transient("x"); }), Transient);
  ASSERT_EQ(rec.waits.size(), 2u);
  EXPECT_EQ(rec.waits[0], 50ms);
  EXPECT_EQ(rec.waits[1], 100ms);
}

TEST(Retry, AllFailedRethrowsTheSameExceptionObject) {
  Collecting c;
  Recorded rec;
  const Transient* thrown = nullptr;
  const Transient* caught = nullptr;
  try {
    skein::retry(c.tracer, rec.policy({.max_attempts = 3, .initial_backoff = 1ms}), [&]() -> int {
      // The last attempt's exception is the one that must come out.
      try {
        throw Transient("down");
      } catch (const Transient& t) {
        thrown = &t;
        throw;
      }
    });
  } catch (const Transient& t) {
    caught = &t;
    EXPECT_STREQ(t.what(), "down");
  }
  ASSERT_NE(caught, nullptr);
  EXPECT_EQ(caught, thrown);
  auto s = c.only();
  EXPECT_EQ(s.bool_attribute("retry.all_failed"), true);
  EXPECT_EQ(s.int_attribute("retry.attempts"), 3);
  EXPECT_FALSE(s.int_attribute("retry.succeeded_at_attempt").has_value());
  EXPECT_EQ(s.status, skein::StatusCode::error);
  EXPECT_EQ(attempts(s).size(), 3u);
  EXPECT_EQ(rec.waits.size(), 2u);
}

TEST(Retry, NonRetryableErrorsStopAtOnce) {
  Collecting c;
  Recorded rec;
  int calls = 0;
  auto p = rec.policy({.max_attempts = 5, .retry_if = skein::retry_on<Transient>()});
  EXPECT_THROW(skein::retry(c.tracer, p,
                            [&] {
                              ++calls;
                              if (calls == 1) throw Transient("first");
                              throw Fatal("bad request");
                            }),
               Fatal);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(rec.waits.size(), 1u);
  auto s = c.only();
  EXPECT_EQ(s.bool_attribute("retry.not_retryable"), true);
  auto ev = attempts(s);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(std::get<bool>(*event_attr(*ev[0], "retry.retryable")), true);
  EXPECT_EQ(std::get<bool>(*event_attr(*ev[1], "retry.retryable")), false);
}

TEST(Retry, NonStdExceptionsAreRetriedWithoutAPredicate) {
  Collecting c;
  Recorded rec;
  int calls = 0;
  EXPECT_EQ(skein::retry(c.tracer, rec.policy(),
                         [&] {
                           if (++calls < 2) throw 7;
                           return 1;
                         }),
            1);
  auto s = c.only();
  auto ev = attempts(s);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(std::get<std::string>(*event_attr(*ev[0], "error.type")), "unknown");
}

TEST(Retry, ErrorValuesWithAPredicate) {
  Collecting c;
  Recorded rec;
  int calls = 0;
  // A status-code style result: 503 is retried, 200 is success.
  int status = skein::retry(
      c.tracer, rec.policy({.max_attempts = 4}), [&] { return ++calls < 3 ? 503 : 200; },
      [](int code) { return code >= 500; });
  EXPECT_EQ(status, 200);
  EXPECT_EQ(calls, 3);
  auto s = c.only();
  EXPECT_EQ(s.int_attribute("retry.succeeded_at_attempt"), 3);
  EXPECT_EQ(attempts(s).size(), 2u);
}

TEST(Retry, OptionalAndBoolFailuresByDefault) {
  Collecting c;
  Recorded rec;
  int calls = 0;
  std::optional<std::string> v =
      skein::retry(c.tracer, rec.policy(), [&]() -> std::optional<std::string> {
        if (++calls < 2) return std::nullopt;
        return "ok";
      });
  EXPECT_EQ(v, "ok");
  // All attempts return false: the last result comes back, the span says all failed.
  bool sent = skein::retry(c.tracer, rec.policy({.max_attempts = 2}), [] { return false; });
  EXPECT_FALSE(sent);
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[1].bool_attribute("retry.all_failed"), true);
  EXPECT_EQ(spans[1].status, skein::StatusCode::error);
}

// An std::expected-like result (C++23 is not required): has_value() and error().
struct Result {
  std::optional<int> v;
  std::string err;
  [[nodiscard]] bool has_value() const { return v.has_value(); }
  [[nodiscard]] const std::string& error() const { return err; }
};

TEST(Retry, ExpectedLikeErrorsAreDescribed) {
  Collecting c;
  Recorded rec;
  int calls = 0;
  Result r = skein::retry(c.tracer, rec.policy(), [&](int attempt) {
    ++calls;
    return attempt < 3 ? Result{std::nullopt, "rate limited"} : Result{attempt, ""};
  });
  EXPECT_EQ(r.v, 3);
  auto s = c.only();
  auto ev = attempts(s);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(std::get<std::string>(*event_attr(*ev[0], "error.message")), "rate limited");
}

TEST(Retry, RetryingAdaptorAndChildSpans) {
  Collecting c({.make_default = true});
  Recorded rec;
  int calls = 0;
  auto flaky = skein::retrying(rec.policy({.name = "call_api"}), [&](int x) {
    auto child = skein::span("attempt");
    if (++calls < 2) throw Transient("503");
    return x * 2;
  });
  EXPECT_EQ(flaky(21), 42);
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 3u);
  const auto& parent = skein::fakes::by_name(spans, "call_api");
  for (const auto& s : spans) {
    if (s.name == "attempt") {
      EXPECT_EQ(s.parent_span_id, parent.span_id);
    }
  }
}

}  // namespace
