// Samplers: threshold arithmetic, statistics with fixed seeds, consistency, rules, rate limiting
// and adaptive convergence on a manual clock, tail sampling, conditional tracing, stats.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "fakes/tail_traces.hpp"
#include "sampling.hpp"
#include "skein/skein.hpp"

namespace {

using namespace std::chrono_literals;

std::string th_text(double p) {
  char buf[14];
  std::size_t n = skein::detail::format_threshold(skein::detail::probability_to_threshold(p), buf);
  return std::string(buf, n);
}

TEST(SamplingThreshold, MatchesTheSpecificationTable) {
  // TraceState: Probability Sampling, precision 4 column.
  EXPECT_EQ(th_text(1.0), "0");
  EXPECT_EQ(th_text(0.5), "8");
  EXPECT_EQ(th_text(0.25), "c");
  EXPECT_EQ(th_text(1.0 / 3), "aaab");
  EXPECT_EQ(th_text(0.1), "e666");
  EXPECT_EQ(th_text(0.01), "fd70a");
  EXPECT_EQ(th_text(0.001), "ffbe77");
  EXPECT_DOUBLE_EQ(
      skein::detail::threshold_to_probability(skein::detail::probability_to_threshold(0.25)), 0.25);
}

TEST(SamplingThreshold, ParsesOtTracestateEntry) {
  std::string ts = "vendor=x,ot=th:c;rv:0123456789abcd,other=y";
  EXPECT_EQ(skein::detail::tracestate_th(ts), 0xc0000000000000ULL);
  EXPECT_EQ(skein::detail::tracestate_rv(ts), 0x0123456789abcdULL);
  EXPECT_FALSE(skein::detail::tracestate_rv("ot=rv:123").has_value());  // rv needs 14 digits
  EXPECT_FALSE(skein::detail::tracestate_th("ot=th:C").has_value());    // lowercase only
  EXPECT_FALSE(skein::detail::tracestate_th("xot=th:c").has_value());
}

skein::SamplingParams params(std::uint64_t randomness) {
  skein::SamplingParams p;
  p.trace_id = {1, randomness};
  p.randomness = randomness & ((1ULL << 56) - 1);
  p.name = "root";
  return p;
}

TEST(ProbabilitySampler, KeepsTheRequestedFractionWithAFixedSeed) {
  auto s = skein::probability(0.25);
  std::mt19937_64 rng(42);
  const int n = 200000;
  int kept = 0;
  for (int i = 0; i < n; ++i) kept += s->should_sample(params(rng())).sample ? 1 : 0;
  // sigma = sqrt(p(1-p)/n) ~ 0.00097; allow 5 sigma.
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.25, 0.005);
}

TEST(ProbabilitySampler, IsConsistentAndNested) {
  auto a = skein::probability(0.3), b = skein::probability(0.3), low = skein::probability(0.05);
  std::mt19937_64 rng(7);
  int low_kept = 0;
  for (int i = 0; i < 50000; ++i) {
    auto p = params(rng());
    bool da = a->should_sample(p).sample;
    EXPECT_EQ(da, b->should_sample(p).sample);  // same probability: same decision
    bool dl = low->should_sample(p).sample;
    if (dl) {
      ++low_kept;
      EXPECT_TRUE(da);  // a lower probability keeps a subset
    }
  }
  EXPECT_GT(low_kept, 0);
}

skein::Tracer make(std::shared_ptr<skein::Sampler> sampler,
                   std::shared_ptr<skein::InMemoryExporter> mem,
                   std::vector<std::shared_ptr<skein::Exporter>> extra = {}) {
  std::vector<std::shared_ptr<skein::Exporter>> exporters = {mem};
  for (auto& e : extra) exporters.push_back(e);
  if (!extra.empty()) exporters = extra;
  return skein::Tracer::init({.project = "sampling-test",
                              .exporter = skein::ExporterKind::none,
                              .exporters = exporters,
                              .sampler = std::move(sampler),
                              .make_default = false});
}

TEST(ProbabilitySampler, SampledRootsCarryProbabilityAndTracestate) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto t = make(skein::probability(0.25), mem);
  int made = 0;
  for (int i = 0; i < 400; ++i) {
    auto root = t.span("root");
    auto child = t.span("child");
    if (root.recording()) {
      ++made;
      EXPECT_EQ(root.context().trace_state(), "ot=th:c");
      EXPECT_TRUE(child.recording());
    } else {
      EXPECT_FALSE(child.recording());  // children follow the root
      EXPECT_TRUE(root.context().valid());
      EXPECT_FALSE(root.context().sampled());  // context still propagates, unsampled
    }
  }
  ASSERT_TRUE(t.force_flush());
  auto spans = mem->spans();
  ASSERT_EQ(spans.size(), static_cast<std::size_t>(2 * made));
  for (const auto& s : spans) {
    EXPECT_EQ(s.trace_state, "ot=th:c");
    if (!s.parent_span_id.valid()) {
      EXPECT_EQ(s.double_attribute("sampling.probability"), 0.25);
    } else {
      EXPECT_EQ(s.attribute("sampling.probability"), nullptr);
    }
  }
  skein::Stats st = t.stats();
  EXPECT_EQ(st.spans_sampled_roots, static_cast<std::uint64_t>(made));
  EXPECT_EQ(st.root_decisions(), 400u);
  EXPECT_NEAR(st.effective_sample_rate(), 0.25, 0.1);
}

TEST(ParentBased, RemoteParentFlagIsHonouredAndCanBeOverridden) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  skein::TraceId trace{0x1111, 0x2222};
  skein::Context sampled_parent(trace, skein::SpanId{7}, skein::trace_flags::sampled, true);
  skein::Context unsampled_parent(trace, skein::SpanId{8}, 0, true);
  {
    auto t = make(skein::parent_based(skein::always_off()), mem);
    EXPECT_TRUE(t.span("a", {.parent = &sampled_parent}).recording());
    EXPECT_FALSE(t.span("b", {.parent = &unsampled_parent}).recording());
    EXPECT_FALSE(t.span("root").recording());
  }
  {
    auto t = make(
        skein::parent_based(skein::always_on(), {.remote_parent_sampled = skein::always_off(),
                                                 .remote_parent_not_sampled = skein::always_on()}),
        mem);
    EXPECT_FALSE(t.span("a", {.parent = &sampled_parent}).recording());
    EXPECT_TRUE(t.span("b", {.parent = &unsampled_parent}).recording());
  }
}

// Local choices: a sampled child under an unsampled root (whose ids, kept lazily, are computed
// for it), its own child following it, and an unsampled child under a sampled root.
TEST(ParentBased, LocalParentChoicesCanRecordPartOfATrace) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  {
    auto t = make(
        skein::parent_based(skein::always_off(), {.local_parent_not_sampled = skein::always_on()}),
        mem);
    skein::TraceId root_trace;
    skein::SpanId root_span, child_span;
    {
      auto root = t.span("root");
      EXPECT_FALSE(root.recording());
      auto child = t.span("child");
      ASSERT_TRUE(child.recording());
      child_span = child.context().span_id();
      auto grandchild = t.span("grandchild");  // a sampled local parent: follows it
      EXPECT_TRUE(grandchild.recording());
      grandchild.end();
      child.end();
      root_trace = root.context().trace_id();
      root_span = root.context().span_id();
    }
    ASSERT_TRUE(t.force_flush());
    auto spans = mem->spans();
    ASSERT_EQ(spans.size(), 2u);
    std::map<std::string, skein::SpanData> by_name;
    for (auto& d : spans) by_name[d.name] = d;
    EXPECT_EQ(by_name["child"].trace_id, root_trace);
    EXPECT_EQ(by_name["child"].parent_span_id, root_span);
    EXPECT_EQ(by_name["grandchild"].trace_id, root_trace);
    EXPECT_EQ(by_name["grandchild"].parent_span_id, child_span);
    EXPECT_EQ(by_name.count("root"), 0u);
  }
  mem->clear();
  {
    auto t =
        make(skein::parent_based(skein::always_on(), {.local_parent_sampled = skein::always_off()}),
             mem);
    {
      auto root = t.span("root");
      EXPECT_TRUE(root.recording());
      auto child = t.span("child");
      EXPECT_FALSE(child.recording());
      // Not recorded, but a context of its own that propagates unsampled.
      EXPECT_FALSE(skein::Context::current().sampled());
      EXPECT_EQ(skein::Context::current().trace_id(), root.context().trace_id());
      EXPECT_NE(skein::Context::current().span_id(), root.context().span_id());
      auto grandchild = t.span("grandchild");  // an unsampled local parent: follows it
      EXPECT_FALSE(grandchild.recording());
    }
    ASSERT_TRUE(t.force_flush());
    auto spans = mem->spans();
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_EQ(spans[0].name, "root");
  }
  // Local choices are not asked for a child of a remote parent made current (a Scope over an
  // extracted context): it stays a no-op, and the remote context stays current.
  mem->clear();
  {
    auto t = make(
        skein::parent_based(skein::always_off(), {.local_parent_not_sampled = skein::always_on()}),
        mem);
    skein::Context remote_unsampled(skein::TraceId{0x1111, 0x2222}, skein::SpanId{9}, 0, true);
    {
      skein::Scope scope(remote_unsampled);
      auto child = t.span("child-of-remote");
      EXPECT_FALSE(child.recording());
      EXPECT_EQ(skein::Context::current().span_id(), skein::SpanId{9});
    }
    ASSERT_TRUE(t.force_flush());
    EXPECT_EQ(mem->size(), 0u);
  }
  // Without local choices, children follow their parent inline (the sampler is not asked).
  mem->clear();
  {
    auto t = make(skein::parent_based(skein::always_off()), mem);
    {
      auto root = t.span("root");
      auto child = t.span("child");
      EXPECT_FALSE(child.recording());
    }
    std::vector<skein::SamplerStats> st = t.stats().samplers;
    ASSERT_FALSE(st.empty());
    EXPECT_EQ(st[0].seen, 1u);  // the root only
  }
}

TEST(ParentBased, TwoServicesWithTheSameProbabilityAgree) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto front = make(skein::probability(0.5), mem);
  auto back = make(skein::parent_based(skein::probability(0.5),
                                       {.remote_parent_sampled = skein::probability(0.5),
                                        .remote_parent_not_sampled = skein::probability(0.5)}),
                   mem);
  for (int i = 0; i < 500; ++i) {
    auto root = front.span("front");
    skein::Context c = root.context();
    skein::Context remote(c.trace_id(), c.span_id(), c.flags(), true, c.extras());
    auto server = back.span("back", {.parent = &remote});
    EXPECT_EQ(root.recording(), server.recording());
  }
}

TEST(RulesSampler, TracesOnlyBetaUsersAndCountsPerRule) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto sampler =
      skein::rules({{.name = "beta",
                     .attribute = "user.id",
                     .values = {"u-1", "u-2"},
                     .sampler = skein::always_on()},
                    {.name = "health", .span_name = "health*", .sampler = skein::always_off()}},
                   skein::always_off());
  auto t = make(sampler, mem);
  for (const char* user : {"u-1", "u-2", "u-3", "u-1", "u-9"}) {
    auto s = t.span("request", {.attributes = {{"user.id", user}}});
  }
  auto h = t.span("health.check", {.attributes = {{"user.id", "u-1"}}});  // first rule wins
  h.end();
  ASSERT_TRUE(t.force_flush());
  auto spans = mem->spans();
  ASSERT_EQ(spans.size(), 4u);  // u-1, u-2, u-1, and the health check of u-1
  for (const auto& s : spans) {
    auto u = s.string_attribute("user.id");
    ASSERT_TRUE(u.has_value());
    EXPECT_TRUE(*u == "u-1" || *u == "u-2");
  }
  skein::Stats st = t.stats();
  bool found = false;
  for (const auto& r : st.samplers) {
    if (r.name == "rule:beta") {
      found = true;
      EXPECT_EQ(r.seen, 4u);
      EXPECT_EQ(r.sampled, 4u);
    }
  }
  EXPECT_TRUE(found);
}

TEST(RateLimited, HoldsItsRateOnAManualClock) {
  std::atomic<std::int64_t> now{0};
  auto s = skein::rate_limited(10, [&] { return now.load(); });
  int kept = 0;
  for (int i = 0; i < 100; ++i) kept += s->should_sample(params(i)).sample;
  EXPECT_EQ(kept, 10);  // a one-second burst
  now += 500'000'000;   // half a second: five more tokens
  kept = 0;
  for (int i = 0; i < 100; ++i) kept += s->should_sample(params(i)).sample;
  EXPECT_EQ(kept, 5);
  // Over 10 seconds of 100 requests per second, ~10 per second are kept.
  kept = 0;
  for (int sec = 0; sec < 10; ++sec) {
    for (int i = 0; i < 100; ++i) {
      now += 10'000'000;
      kept += s->should_sample(params(i)).sample;
    }
  }
  EXPECT_NEAR(kept, 100, 2);
  std::vector<skein::SamplerStats> st;
  s->collect_stats(st);
  ASSERT_FALSE(st.empty());
  EXPECT_NEAR(st[0].current_probability, 0.1, 0.02);
}

// Runs `per_second` roots per second for `seconds`, returns the kept count in the last second.
int drive(skein::Sampler& s, std::atomic<std::int64_t>& now, std::mt19937_64& rng, int per_second,
          int seconds) {
  int last = 0;
  for (int sec = 0; sec < seconds; ++sec) {
    last = 0;
    for (int i = 0; i < per_second; ++i) {
      now += 1'000'000'000 / per_second;
      last += s.should_sample(params(rng())).sample;
    }
  }
  return last;
}

TEST(Adaptive, ConvergesAndHoldsTheTargetThroughATenfoldLoadStep) {
  std::atomic<std::int64_t> now{0};
  std::mt19937_64 rng(3);
  auto s = skein::adaptive({.target_per_second = 100, .clock = [&] { return now.load(); }});
  int kept = drive(*s, now, rng, 1000, 5);
  EXPECT_NEAR(kept, 100, 25) << "steady state at 1,000 roots/s";
  // Load step: ten times more requests. Within 3 seconds the kept rate is back near target.
  drive(*s, now, rng, 10000, 2);
  kept = drive(*s, now, rng, 10000, 1);
  EXPECT_NEAR(kept, 100, 30) << "after a 10x load step";
  std::vector<skein::SamplerStats> st;
  s->collect_stats(st);
  EXPECT_NEAR(st[0].current_probability, 0.01, 0.004);
}

TEST(Adaptive, NeverGoesBelowItsFloor) {
  std::atomic<std::int64_t> now{0};
  std::mt19937_64 rng(5);
  auto s = skein::adaptive(
      {.target_per_second = 1, .min_probability = 0.05, .clock = [&] { return now.load(); }});
  drive(*s, now, rng, 5000, 4);
  std::vector<skein::SamplerStats> st;
  s->collect_stats(st);
  EXPECT_GE(st[0].current_probability, 0.05);
}

TEST(TailSampling, KeepsErrorsAndSlowTracesDropsTheRest) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto tail = skein::make_tail_sampler({.slow_threshold = 30ms, .probability = 0.0}, {mem});
  auto t = make(nullptr, mem, {tail});
  auto names = skein::fakes::run_fast_failed_slow_traces(t, *mem, 40ms);
  EXPECT_EQ(names.count("fast-ok"), 0u);
  EXPECT_EQ(names.count("failed"), 1u);
  EXPECT_EQ(names.count("child"), 1u);  // the failing trace's child, whole trace kept
  EXPECT_EQ(names.count("slow"), 1u);
  EXPECT_EQ(t.stats().dropped_tail_sampling, 2u);
}

TEST(ConditionalTracing, SpanIfAndTracedWhen) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto t = make(nullptr, mem);
  {
    auto root = t.span("root");
    auto skipped = t.span_if(false, "skipped");
    EXPECT_FALSE(skipped.recording());
    auto child = t.span("child");  // still a child of root: span_if(false) left the context alone
    EXPECT_EQ(skein::Context::current().span_id(), child.context().span_id());
  }
  bool enabled = false;
  auto fn =
      skein::traced(t, "work", [](int x) { return x * 2; }, {.when = [&] { return enabled; }});
  EXPECT_EQ(fn(2), 4);
  enabled = true;
  EXPECT_EQ(fn(3), 6);
  ASSERT_TRUE(t.force_flush());
  auto spans = mem->spans();
  std::multiset<std::string> names;
  for (const auto& s : spans) names.insert(s.name);
  EXPECT_EQ(names.count("skipped"), 0u);
  EXPECT_EQ(names.count("work"), 1u);
  EXPECT_EQ(names.count("root"), 1u);
  for (const auto& s : spans) {
    if (s.name == "child") {
      for (const auto& r : spans) {
        if (r.name == "root") {
          EXPECT_EQ(s.parent_span_id, r.span_id);
        }
      }
    }
  }
}

TEST(Sampling, ConcurrentRootsAreCountedExactly) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto sampler =
      skein::rules({{.attribute = "tier", .values = {"gold"}, .sampler = skein::always_on()}},
                   skein::adaptive({.target_per_second = 1000}));
  auto t = make(sampler, mem);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&t, k] {
      for (int i = 0; i < 2000; ++i) {
        auto s = t.span("r", {.attributes = {{"tier", (i + k) % 2 == 0 ? "gold" : "free"}}});
        auto c = t.span("c");
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(t.force_flush());
  skein::Stats st = t.stats();
  EXPECT_EQ(st.root_decisions(), 8000u);
  EXPECT_EQ(mem->size(), 2 * st.spans_sampled_roots);
  EXPECT_GE(st.spans_sampled_roots, 4000u);  // every gold root
  const skein::SamplerStats* gold = nullptr;
  for (const auto& r : st.samplers) {
    if (r.name == "rule:tier") gold = &r;
  }
  ASSERT_NE(gold, nullptr);
  EXPECT_EQ(gold->seen, 4000u);
  EXPECT_EQ(gold->sampled, 4000u);
}

// The sampled decisions of probability(0.5) for one thread's randomness values.
std::uint64_t expected_kept(int thread, int n) {
  std::uint64_t kept = 0;
  for (int i = 0; i < n; ++i) {
    kept +=
        (static_cast<std::uint64_t>(thread * n + i) * 0x9e3779b97f4a7c15ULL >> 8) >= (1ULL << 55);
  }
  return kept;
}

// More threads alive at once than counters have per-thread slots, threads that exit (their slots
// are taken again by the next round), and a reader summing all along: the counts stay exact.
TEST(SamplerStats, ExactAcrossThreadsThatExitAndMoreThreadsThanSlots) {
  auto s = skein::probability(0.5);
  constexpr int kRounds = 3, kThreads = 80, kDecisions = 500;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::uint64_t last = 0;
    while (!done.load()) {
      std::vector<skein::SamplerStats> st;
      s->collect_stats(st);
      EXPECT_GE(st[0].seen, last);  // a sum never goes back
      last = st[0].seen;
    }
  });
  std::uint64_t want_kept = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::latch all_alive(kThreads);
    std::vector<std::thread> threads;
    for (int k = 0; k < kThreads; ++k) {
      const int id = round * kThreads + k;
      want_kept += expected_kept(id, kDecisions);
      threads.emplace_back([&s, &all_alive, id] {
        for (int i = 0; i < kDecisions; ++i) {
          std::uint64_t r = static_cast<std::uint64_t>(id * kDecisions + i) * 0x9e3779b97f4a7c15ULL;
          s->should_sample(params(r >> 8));
          // Every thread of the round has counted once (taken a slot, or found none) before any
          // goes on: more counting threads alive at once than there are slots.
          if (i == 0) all_alive.arrive_and_wait();
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  done = true;
  reader.join();
  std::vector<skein::SamplerStats> st;
  s->collect_stats(st);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].seen, static_cast<std::uint64_t>(kRounds * kThreads * kDecisions));
  EXPECT_EQ(st[0].sampled, want_kept);
}

// A sampler of the application's own counts its decisions through Sampler::counted().
class EveryThird final : public skein::Sampler {
 public:
  skein::SamplingDecision should_sample(const skein::SamplingParams&) noexcept override {
    return counted({n_.fetch_add(1) % 3 == 0, skein::kUnknownProbability, false});
  }
  std::string description() const override { return "every_third"; }

 private:
  std::atomic<int> n_{0};
};

TEST(SamplerStats, UserSamplersCountThroughCounted) {
  EveryThird s;
  std::vector<std::thread> threads;
  for (int k = 0; k < 3; ++k) {
    threads.emplace_back([&s] {
      for (int i = 0; i < 1000; ++i) s.should_sample(params(i));
    });
  }
  for (auto& th : threads) th.join();
  std::vector<skein::SamplerStats> st;
  s.collect_stats(st);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].name, "every_third");
  EXPECT_EQ(st[0].seen, 3000u);
  EXPECT_EQ(st[0].sampled, 1000u);
}

}  // namespace

namespace {

struct EnvGuard {
  std::vector<std::string> names;
  void set(const char* n, const char* v) {
    setenv(n, v, 1);
    names.emplace_back(n);
  }
  ~EnvGuard() {
    for (auto& n : names) unsetenv(n.c_str());
  }
};

TEST(SamplerEnvironment, OtelTracesSamplerSelectsTheSampler) {
  {
    EnvGuard env;
    env.set("OTEL_TRACES_SAMPLER", "parentbased_traceidratio");
    env.set("OTEL_TRACES_SAMPLER_ARG", "0.25");
    auto t = skein::Tracer::init({.exporter = skein::ExporterKind::none, .make_default = false});
    ASSERT_TRUE(t.enabled()) << t.error().message;
    ASSERT_TRUE(t.options().sampler);
    EXPECT_EQ(t.options().sampler->description(), "parent_based{probability{0.25}}");
  }
  {
    EnvGuard env;
    env.set("OTEL_TRACES_SAMPLER", "always_off");
    auto t = skein::Tracer::init({.exporter = skein::ExporterKind::none, .make_default = false});
    EXPECT_FALSE(t.span("x").recording());
  }
  {
    EnvGuard env;
    env.set("SKEIN_SAMPLER", "rate_limited");
    env.set("SKEIN_SAMPLER_ARG", "5");
    auto t = skein::Tracer::init({.exporter = skein::ExporterKind::none, .make_default = false});
    EXPECT_EQ(t.options().sampler->description(), "rate_limited{5/s}");
  }
}

TEST(SamplerEnvironment, BadValuesAreAnInitErrorWithAClearMessage) {
  {
    EnvGuard env;
    env.set("OTEL_TRACES_SAMPLER", "sometimes");
    auto t = skein::Tracer::init({.exporter = skein::ExporterKind::none, .make_default = false});
    EXPECT_FALSE(t.enabled());
    EXPECT_EQ(t.error().code, skein::ErrorCode::invalid_environment);
    EXPECT_NE(t.error().message.find("OTEL_TRACES_SAMPLER"), std::string::npos);
  }
  {
    EnvGuard env;
    env.set("OTEL_TRACES_SAMPLER", "traceidratio");
    env.set("OTEL_TRACES_SAMPLER_ARG", "1.5");
    auto t = skein::Tracer::init({.exporter = skein::ExporterKind::none, .make_default = false});
    EXPECT_FALSE(t.enabled());
    EXPECT_NE(t.error().message.find("OTEL_TRACES_SAMPLER_ARG"), std::string::npos);
  }
  {  // A sampler given in code wins over the environment.
    EnvGuard env;
    env.set("OTEL_TRACES_SAMPLER", "sometimes");
    auto t = skein::Tracer::init({.exporter = skein::ExporterKind::none,
                                  .sampler = skein::always_on(),
                                  .make_default = false});
    EXPECT_TRUE(t.enabled());
  }
}

}  // namespace

namespace lazy_ids {

std::string traceparent_now() {
  std::map<std::string, std::string> headers;
  skein::inject(headers);
  return headers["traceparent"];
}

std::string hex_of(const skein::Context& c) {
  char buf[56];
  std::snprintf(buf, sizeof buf, "00-%016llx%016llx-%016llx-%02x",
                static_cast<unsigned long long>(c.trace_id().hi),
                static_cast<unsigned long long>(c.trace_id().lo),
                static_cast<unsigned long long>(c.span_id().value), c.flags());
  return buf;
}

// always_off / probability(0) roots keep a nonce instead of their ids until something reads them
// (ContextState::lazy): every way of reading the context must name the same ids, every copy of
// the context too (a wrapped task on another thread, a coroutine), and two roots never share ids.
TEST(UnsampledRoot, IdsAreTheSameHoweverTheContextIsRead) {
  for (auto sampler : {skein::always_off(), skein::probability(0.0), skein::probability(0.5)}) {
    auto mem = std::make_shared<skein::InMemoryExporter>();
    auto t = make(sampler, mem);
    std::set<std::pair<std::uint64_t, std::uint64_t>> traces;
    std::set<std::uint64_t> spans;
    int unsampled = 0;
    for (int i = 0; i < 200; ++i) {
      auto root = t.span("root");
      if (root.recording()) continue;
      ++unsampled;
      skein::Context cur = skein::Context::current();
      ASSERT_TRUE(cur.valid());
      EXPECT_FALSE(cur.sampled());
      EXPECT_EQ(cur.flags(), skein::trace_flags::random);
      EXPECT_EQ(root.context().trace_id(), cur.trace_id());
      EXPECT_EQ(root.context().span_id(), cur.span_id());
      EXPECT_EQ(skein::Context::current().span_id(), cur.span_id());  // read twice: same
      EXPECT_EQ(traceparent_now(), hex_of(cur));
      // A copy of the context taken to another thread.
      std::string there;
      std::thread([w = skein::wrap([&] { there = traceparent_now(); })]() mutable { w(); }).join();
      EXPECT_EQ(there, hex_of(cur));
      // A child is a no-op that leaves the context alone.
      {
        auto child = t.span("child");
        EXPECT_FALSE(child.recording());
        EXPECT_EQ(skein::Context::current().span_id(), cur.span_id());
      }
      // A moved span still names the same ids.
      skein::Span moved = std::move(root);
      EXPECT_EQ(moved.context().span_id(), cur.span_id());
      EXPECT_TRUE(traces.insert({cur.trace_id().hi, cur.trace_id().lo}).second);
      EXPECT_TRUE(spans.insert(cur.span_id().value).second);
    }
    EXPECT_GT(unsampled, 0);
    EXPECT_FALSE(skein::Context::current().valid());  // every root restored the empty context
    ASSERT_TRUE(t.force_flush());
    skein::Stats st = t.stats();
    EXPECT_EQ(st.spans_started, 200u);
    EXPECT_EQ(st.root_decisions(), 200u);
    EXPECT_EQ(st.spans_sampled + static_cast<std::uint64_t>(unsampled), 200u);
    ASSERT_FALSE(st.samplers.empty());
    EXPECT_EQ(st.samplers[0].seen, 200u);
    EXPECT_EQ(st.samplers[0].sampled, st.spans_sampled_roots);
  }
}

TEST(UnsampledRoot, KeepsTheBaggageAroundItAndRestoresIt) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto t = make(skein::always_off(), mem);
  skein::Baggage b;
  ASSERT_TRUE(b.set("tenant", "acme"));
  skein::BaggageScope scope(b);
  {
    auto root = t.span("root");
    EXPECT_TRUE(skein::Context::current().valid());
    EXPECT_EQ(skein::Baggage::current().get("tenant"), std::optional<std::string>("acme"));
    std::map<std::string, std::string> headers;
    skein::inject(headers);
    EXPECT_EQ(headers["baggage"], "tenant=acme");
  }
  EXPECT_FALSE(skein::Context::current().valid());
  EXPECT_EQ(skein::Baggage::current().get("tenant"), std::optional<std::string>("acme"));
}

// A root decided inline restores the context it started on by clearing the fields it set and
// keeping the extras (Span::kPushedOnEmpty): when a baggage scope opened inside the root is still
// open at the root's end, the extras differ and the baggage from before the root comes back.
// An always_off tracer whose first root on this thread went through the library path, so that
// the next ones are decided inline (Tracer::never_root).
skein::Tracer inline_always_off() {
  auto t = make(skein::always_off(), std::make_shared<skein::InMemoryExporter>());
  { auto first = t.span("first"); }
  return t;
}

skein::Baggage one_entry(std::string_view key, std::string_view value) {
  skein::Baggage b;
  EXPECT_TRUE(b.set(key, value));
  return b;
}

TEST(UnsampledRoot, EndedInsideABaggageScopeItOpenedRestoresTheOuterBaggage) {
  auto t = inline_always_off();
  skein::BaggageScope outer_scope(one_entry("tenant", "acme"));
  auto root = std::make_unique<skein::Span>(t.span("root"));
  skein::Context in_root = skein::Context::current();
  ASSERT_TRUE(in_root.valid());
  auto inner_scope = std::make_unique<skein::BaggageScope>(one_entry("tenant", "inner"));
  EXPECT_EQ(skein::Context::current().span_id(), in_root.span_id());
  EXPECT_EQ(skein::Baggage::current().get("tenant"), std::optional<std::string>("inner"));
  root.reset();  // ends while inner_scope is open
  EXPECT_FALSE(skein::Context::current().valid());
  EXPECT_EQ(skein::Baggage::current().get("tenant"), std::optional<std::string>("acme"));
  // (inner_scope then restores what it saved, as scopes do; outer_scope's end clears it all.)
}

// Move-assigned and moved-from inline roots: each restores once, in order.
TEST(UnsampledRoot, MoveAssignedInlineRootsRestoreTheContextOnce) {
  auto t = inline_always_off();
  skein::BaggageScope scope(one_entry("k", "v"));
  skein::Span holder;
  {
    auto root = t.span("root");
    skein::Context c = skein::Context::current();
    holder = std::move(root);
    EXPECT_EQ(skein::Context::current().span_id(), c.span_id());
  }  // the moved-from span ends nothing
  EXPECT_TRUE(skein::Context::current().valid());
  holder = skein::Span();  // ends the root
  EXPECT_FALSE(skein::Context::current().valid());
  EXPECT_EQ(skein::Baggage::current().get("k"), std::optional<std::string>("v"));
  holder.end();
  EXPECT_EQ(skein::Baggage::current().get("k"), std::optional<std::string>("v"));
  EXPECT_EQ(t.stats().spans_started, 2u);
}

// Out of order: a root ended while another root started after it is still current.
TEST(UnsampledRoot, EndedOutOfOrderRestoresWhatWasBefore) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto t = make(skein::always_off(), mem);
  auto a = t.span("a");
  skein::Context ca = skein::Context::current();
  auto b = t.span("b", {.new_root = true});
  skein::Context cb = skein::Context::current();
  EXPECT_NE(ca.trace_id(), cb.trace_id());
  a.end();  // not the current one: remembered
  EXPECT_EQ(skein::Context::current().span_id(), cb.span_id());
  b.end();  // restores what a saved (nothing), skipping a
  EXPECT_FALSE(skein::Context::current().valid());
  // One root decided inline, one (new_root) through the sampler's call: both counted once.
  skein::Stats st = t.stats();
  EXPECT_EQ(st.spans_started, 2u);
  EXPECT_EQ(st.spans_sampled, 0u);
  ASSERT_FALSE(st.samplers.empty());
  EXPECT_EQ(st.samplers[0].seen, 2u);
  EXPECT_EQ(st.samplers[0].sampled, 0u);
}

// The inline path (Tracer::span) relies on the thread's cached buffer being this tracer's:
// alternating two always_off tracers on one thread, and one that was shut down, must each count
// only their own roots, and a shut-down tracer's roots are no-ops that leave the context alone.
TEST(UnsampledRoot, TwoTracersOnOneThreadAndAShutDownOneCountOnlyTheirOwn) {
  auto mem = std::make_shared<skein::InMemoryExporter>();
  auto a = make(skein::always_off(), mem);
  auto b = make(skein::probability(0.0), mem);
  for (int i = 0; i < 10; ++i) {
    {
      auto s = a.span("a");
      EXPECT_TRUE(skein::Context::current().valid());
    }
    for (int j = 0; j < 2; ++j) {
      auto s = b.span("b", {.kind = skein::SpanKind::server});  // the overload with options
      EXPECT_TRUE(skein::Context::current().valid());
    }
  }
  EXPECT_EQ(a.stats().spans_started, 10u);
  EXPECT_EQ(a.stats().samplers.at(0).seen, 10u);
  EXPECT_EQ(b.stats().spans_started, 20u);
  EXPECT_EQ(b.stats().spans_unsampled, 20u);
  ASSERT_TRUE(a.shutdown(std::chrono::seconds(5)));
  {
    auto s = a.span("after");
    EXPECT_FALSE(s.recording());
    EXPECT_FALSE(skein::Context::current().valid());  // nothing pushed by a stopped tracer
  }
  EXPECT_EQ(a.stats().spans_started, 10u);
  {
    auto s = b.span("still");
    EXPECT_TRUE(skein::Context::current().valid());
  }
  EXPECT_EQ(b.stats().spans_started, 21u);
  EXPECT_FALSE(skein::Context::current().valid());
}

}  // namespace lazy_ids
