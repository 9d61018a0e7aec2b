// Context-local values: a request id set once is on every span of the request — nested, on
// pool threads, in coroutines after executor hops, downstream through baggage — and typed
// ContextValue<T> values travel the same way without being exported.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fakes/collecting.hpp"
#include "skein/async.hpp"
#include "skein/correlation.hpp"
#include "skein/propagation.hpp"
#include "skein/skein.hpp"
#include "thread_pool.hpp"

namespace {

using skein::SpanData;
using skein::fakes::by_name;
using skein::fakes::Collecting;
using skein::testing::ThreadPool;

std::optional<std::string> rid(const SpanData& s) {
  return s.string_attribute("request.id");
}

TEST(Correlation, ValueIsOnEverySpanInsideTheScopeOnly) {
  Collecting c;
  { auto before = c.tracer.span("before"); }
  {
    auto scope = skein::with_value("request.id", "r-1");
    EXPECT_EQ(skein::current_value("request.id"), "r-1");
    auto root = c.tracer.span("root");
    auto child = c.tracer.span("child");
    {
      auto inner = skein::with_value("request.id", "r-2");  // the innermost wins
      auto grandchild = c.tracer.span("grandchild");
      EXPECT_EQ(skein::current_value("request.id"), "r-2");
    }
    EXPECT_EQ(skein::current_value("request.id"), "r-1");
  }
  EXPECT_FALSE(skein::current_value("request.id").has_value());
  { auto after = c.tracer.span("after"); }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_FALSE(rid(by_name(spans, "before")).has_value());
  EXPECT_EQ(rid(by_name(spans, "root")), "r-1");
  EXPECT_EQ(rid(by_name(spans, "child")), "r-1");
  EXPECT_EQ(rid(by_name(spans, "grandchild")), "r-2");
  EXPECT_EQ(skein::fakes::count_key(by_name(spans, "grandchild"), "request.id"), 1u);
  EXPECT_FALSE(rid(by_name(spans, "after")).has_value());
  // Parentage is not disturbed by the scopes.
  EXPECT_EQ(by_name(spans, "grandchild").parent_span_id, by_name(spans, "child").span_id);
}

TEST(Correlation, SetInsideASpanReachesItsChildrenAndEnrichStillWorks) {
  Collecting c;
  {
    auto root = c.tracer.span("root");
    auto scope = skein::with_request_id("r-9");
    EXPECT_TRUE(skein::enrich_span({{"k", 1}}));  // the root is still current
    auto child = c.tracer.span("child");
  }
  auto spans = c.spans();
  EXPECT_FALSE(rid(by_name(spans, "root")).has_value());
  EXPECT_EQ(by_name(spans, "root").int_attribute("honeyhive_metadata.k"), 1);
  EXPECT_EQ(rid(by_name(spans, "child")), "r-9");
}

TEST(Correlation, TravelsToOtherThreadsWithWrapAndAsync) {
  Collecting c;
  ThreadPool pool(3);
  std::atomic<int> seen{0};
  {
    auto scope = skein::with_request_id("r-threads");
    auto root = c.tracer.span("root");
    std::latch done(20);
    for (int i = 0; i < 20; ++i) {
      pool.execute(skein::wrap([&] {
        if (skein::current_request_id() == "r-threads") ++seen;
        auto s = c.tracer.span("task");
        done.count_down();
      }));
    }
    auto f = skein::async(std::launch::async, [&] {
      auto s = c.tracer.span("async");
      return skein::current_request_id();
    });
    EXPECT_EQ(f.get(), "r-threads");
    std::thread([&] { EXPECT_FALSE(skein::current_request_id().has_value()); }).join();
    done.wait();
  }
  EXPECT_EQ(seen.load(), 20);
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 22u);
  for (const auto& s : spans) EXPECT_EQ(rid(s), "r-threads") << s.name;
  EXPECT_EQ(pool.leaked_contexts(), 0u);
}

skein::Task<int> hop(ThreadPool& pool, Collecting& c, int depth) {
  auto span = c.tracer.span("hop");
  co_await skein::resume_on(pool);
  auto inner = c.tracer.span("after_hop");
  EXPECT_EQ(skein::current_request_id(), "r-co");
  if (depth > 0) co_return 1 + co_await hop(pool, c, depth - 1);
  co_return 1;
}

TEST(Correlation, TravelsThroughCoroutinesAcrossExecutorHops) {
  Collecting c;
  ThreadPool pool(2);
  int hops = 0;
  {
    auto scope = skein::with_request_id("r-co");
    hops = skein::sync_wait(hop(pool, c, 5));
  }
  EXPECT_EQ(hops, 6);
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 12u);
  for (const auto& s : spans) EXPECT_EQ(rid(s), "r-co") << s.name;
  EXPECT_EQ(pool.leaked_contexts(), 0u);
}

TEST(Correlation, CrossesServicesInBaggage) {
  Collecting upstream;
  Collecting downstream;
  std::map<std::string, std::string> headers;
  {
    auto scope = skein::with_request_id("r-up");
    auto client = upstream.tracer.span("call", {.kind = skein::SpanKind::client});
    skein::inject(headers);
  }
  ASSERT_NE(headers["baggage"].find("request.id=r-up"), std::string::npos);
  // Downstream: the extracted context carries the id; with_request_id() keeps it.
  {
    skein::Context parent = skein::extract(headers);
    auto server =
        downstream.tracer.span("handle", {.kind = skein::SpanKind::server, .parent = &parent});
    auto scope = skein::with_request_id();
    EXPECT_EQ(skein::current_request_id(), "r-up");
    auto work = downstream.tracer.span("work");
  }
  auto spans = downstream.spans();
  EXPECT_EQ(rid(by_name(spans, "work")), "r-up");
  EXPECT_EQ(rid(upstream.only()), "r-up");
}

TEST(Correlation, BaggageAttributesOptionNeedsNoCode) {
  Collecting downstream({.baggage_attributes = {"request.id"}});
  std::map<std::string, std::string> headers;
  {
    auto scope = skein::with_request_id("r-opt");
    skein::inject(headers);  // no span: baggage only
  }
  skein::Context parent = skein::extract(headers);
  { auto server = downstream.tracer.span("handle", {.parent = &parent}); }
  EXPECT_EQ(rid(downstream.only()), "r-opt");
}

TEST(Correlation, AdoptBaggage) {
  Collecting c;
  {
    skein::BaggageScope bag(skein::Baggage{{"tenant.id", "acme"}, {"other", "x"}});
    auto scope = skein::adopt_baggage({"tenant.id", "missing"});
    auto s = c.tracer.span("s");
  }
  auto s = c.only();
  EXPECT_EQ(s.string_attribute("tenant.id"), "acme");
  EXPECT_FALSE(s.string_attribute("other").has_value());
}

TEST(Correlation, OptionsAttributeAndPropagate) {
  Collecting c;
  std::map<std::string, std::string> headers;
  {
    auto local = skein::with_value("secret.key", "s", {.propagate = false});
    auto quiet = skein::with_value("quiet", "q", {.attribute = false});
    auto s = c.tracer.span("s");
    skein::inject(headers);
    EXPECT_EQ(skein::current_value("secret.key"), "s");
    EXPECT_EQ(skein::current_value("quiet"), "q");
  }
  EXPECT_EQ(headers["baggage"].find("secret.key"), std::string::npos);
  EXPECT_NE(headers["baggage"].find("quiet=q"), std::string::npos);
  auto s = c.only();
  EXPECT_EQ(s.string_attribute("secret.key"), "s");
  EXPECT_FALSE(s.string_attribute("quiet").has_value());
}

TEST(Correlation, SurvivesConsistentSamplingAtTheRoot) {
  // A consistent sampler gives the root its own trace state; the values must stay.
  Collecting c({.sampler = skein::trace_id_ratio(1.0)});
  {
    auto scope = skein::with_value("request.id", "r-s", {.propagate = false});
    auto root = c.tracer.span("root");
    auto child = c.tracer.span("child");
  }
  {
    auto scope = skein::with_request_id("r-b");  // in the baggage too
    auto root = c.tracer.span("root2");
  }
  auto spans = c.spans();
  EXPECT_EQ(rid(by_name(spans, "root")), "r-s");
  EXPECT_EQ(rid(by_name(spans, "child")), "r-s");
  EXPECT_EQ(rid(by_name(spans, "root2")), "r-b");
}

TEST(Correlation, BaggageScopeInsideKeepsTheValues) {
  Collecting c;
  {
    auto scope = skein::with_request_id("r-k");
    skein::BaggageScope bag(skein::Baggage{{"user", "u1"}});
    auto s = c.tracer.span("s");
  }
  EXPECT_EQ(rid(c.only()), "r-k");
}

struct Tenant {
  std::string name;
  int tier = 0;
};
skein::ContextValue<Tenant> current_tenant;
skein::ContextValue<int> attempt_budget;

TEST(ContextValue, TypedValuesNestAndTravel) {
  Collecting c;
  EXPECT_EQ(current_tenant.get(), nullptr);
  {
    auto t = current_tenant.set({"acme", 3});
    auto b = attempt_budget.set(5);
    ASSERT_NE(current_tenant.get(), nullptr);
    EXPECT_EQ(current_tenant.get()->name, "acme");
    EXPECT_EQ(attempt_budget.value_or(0), 5);
    {
      auto inner = attempt_budget.set(1);
      EXPECT_EQ(attempt_budget.value_or(0), 1);
      EXPECT_EQ(current_tenant.get()->tier, 3);
    }
    EXPECT_EQ(attempt_budget.value_or(0), 5);
    skein::Context captured = skein::Context::current();
    std::thread([&] {
      EXPECT_EQ(current_tenant.get(), nullptr);
      EXPECT_EQ(current_tenant.get(captured)->name, "acme");
      skein::Scope s(captured);
      EXPECT_EQ(current_tenant.get()->name, "acme");
    }).join();
    auto span = c.tracer.span("s");
  }
  EXPECT_EQ(current_tenant.get(), nullptr);
  EXPECT_EQ(attempt_budget.value_or(-1), -1);
  // Typed values are not exported.
  for (const auto& [k, v] : c.only().attributes) EXPECT_NE(k, "acme");
}

TEST(Correlation, CorrelatedKeepsOrMakesAnId) {
  Collecting c({.make_default = true});
  auto handle = skein::correlated([&] {
    auto s = c.tracer.span("handle");
    return skein::current_request_id().value_or("");
  });
  std::string made = handle();
  EXPECT_EQ(made.size(), 36u);  // a UUID
  EXPECT_NE(handle(), made);    // a new one per call
  {
    auto scope = skein::with_request_id("given");
    EXPECT_EQ(handle(), "given");
  }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(rid(spans[0]), made);
  EXPECT_EQ(rid(spans[2]), "given");
}

TEST(Correlation, ManyConcurrentRequestsKeepTheirOwnIds) {
  Collecting c({.thread_buffer_spans = 1u << 14});
  ThreadPool pool(4);
  constexpr int kRequests = 200;
  std::latch done(kRequests * 3);
  for (int r = 0; r < kRequests; ++r) {
    std::thread([&, r] {
      auto scope = skein::with_request_id("req-" + std::to_string(r));
      auto root = c.tracer.span("request");
      for (int k = 0; k < 3; ++k) {
        pool.execute(skein::wrap([&] {
          auto s = c.tracer.span("work");
          done.count_down();
        }));
      }
    }).join();
  }
  done.wait();
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), static_cast<std::size_t>(kRequests * 4));
  std::map<std::uint64_t, std::string> root_ids;
  for (const auto& s : spans) {
    if (s.name == "request") root_ids[s.span_id.value] = *rid(s);
  }
  for (const auto& s : spans) {
    if (s.name == "work") {
      EXPECT_EQ(rid(s), root_ids[s.parent_span_id.value]);
    }
  }
}

}  // namespace
