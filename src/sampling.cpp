// Samplers and the OpenTelemetry threshold arithmetic (TraceState: Probability Sampling).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>

#include "hex.hpp"
#include "sampling.hpp"
#include "skein/sampler.hpp"
#include "thread_counters.hpp"
#include "tls.hpp"

namespace skein {
namespace detail {

std::uint64_t probability_to_threshold(double p) noexcept {
  if (!(p < 1.0)) return 0;  // also NaN-safe: NaN compares false
  if (p <= 0.0) return kMaxThreshold - 1;
  long double exact =
      (1.0L - static_cast<long double>(p)) * static_cast<long double>(kMaxThreshold);
  auto t = static_cast<std::uint64_t>(std::llround(exact));
  if (t >= kMaxThreshold) t = kMaxThreshold - 1;
  // 4 significant hex digits after the leading f's (the precision the specification recommends).
  int leading_f = 0;
  for (int d = 13; d >= 0 && ((t >> (4 * d)) & 0xf) == 0xf; --d) ++leading_f;
  int precision = std::min(14, 4 + leading_f);
  std::uint64_t unit = 1ULL << (4 * (14 - precision));
  std::uint64_t rounded = (t + unit / 2) / unit * unit;
  if (rounded >= kMaxThreshold) rounded = t / unit * unit;
  return rounded;
}

double threshold_to_probability(std::uint64_t th) noexcept {
  if (th >= kMaxThreshold) return 0.0;
  return static_cast<double>(kMaxThreshold - th) / static_cast<double>(kMaxThreshold);
}

std::size_t format_threshold(std::uint64_t th, char out[14]) noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  if (th == 0) {
    out[0] = '0';
    return 1;
  }
  for (int i = 13; i >= 0; --i) {
    out[i] = hex[th & 0xf];
    th >>= 4;
  }
  std::size_t n = 14;
  while (n > 1 && out[n - 1] == '0') --n;
  return n;
}

namespace {

// The value of sub-key `sub` in the `ot` list-member of a tracestate ("ot=th:c;rv:…").
std::optional<std::string_view> ot_value(std::string_view ts, std::string_view sub) noexcept {
  std::size_t pos = 0;
  while (pos < ts.size()) {
    std::size_t comma = ts.find(',', pos);
    std::string_view member =
        ts.substr(pos, comma == std::string_view::npos ? ts.npos : comma - pos);
    pos = comma == std::string_view::npos ? ts.size() : comma + 1;
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t'))
      member.remove_prefix(1);
    if (member.substr(0, 3) != "ot=") continue;
    std::string_view list = member.substr(3);
    while (!list.empty()) {
      std::size_t semi = list.find(';');
      std::string_view kv = list.substr(0, semi);
      list = semi == std::string_view::npos ? std::string_view() : list.substr(semi + 1);
      if (kv.size() > sub.size() && kv.substr(0, sub.size()) == sub && kv[sub.size()] == ':') {
        return kv.substr(sub.size() + 1);
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

bool parse_hex56(std::string_view s, bool pad, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 14) return false;
  if (!pad && s.size() != 14) return false;
  std::uint64_t v = 0;
  if (!parse_hex_u64(s, v, false)) return false;  // lowercase only
  out = v << (4 * (14 - s.size()));               // `th` is padded with trailing zeros
  return true;
}

}  // namespace

bool parse_tracestate_rv(std::string_view ts, std::uint64_t& out) noexcept {
  auto v = ot_value(ts, "rv");
  return v && parse_hex56(*v, false, out);
}

bool parse_tracestate_th(std::string_view ts, std::uint64_t& out) noexcept {
  auto v = ot_value(ts, "th");
  return v && parse_hex56(*v, true, out);
}

const std::shared_ptr<const ContextExtras>& root_tracestate(std::uint64_t th) noexcept {
  struct Cache {
    std::uint64_t th = ~0ULL;
    const std::shared_ptr<const ContextExtras>* value = nullptr;
  };
  static SKEIN_HOT_TLS Cache cache;
  if (cache.th == th && cache.value != nullptr) return *cache.value;
  static std::mutex mu;
  // Immortal: a handful of thresholds per process (adaptive ones are quantized), each shared by
  // every root span that used it, so no span ever touches a reference count for it.
  static auto* table = new std::map<std::uint64_t, std::shared_ptr<const ContextExtras>>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = table->find(th);
  if (it == table->end()) {
    char digits[14];
    std::size_t n = format_threshold(th, digits);
    std::string ts = "ot=th:";
    ts.append(digits, n);
    auto* extras = new ContextExtras{std::move(ts), {}};
    // A shared_ptr with no control block: copies cost two pointer moves, never an atomic.
    it = table
             ->emplace(th, std::shared_ptr<const ContextExtras>(
                               std::shared_ptr<const ContextExtras>(), extras))
             .first;
  }
  cache = {th, &it->second};
  return it->second;
}

}  // namespace detail

namespace {
constexpr std::size_t kSeen = 0, kSampled = 1;
}

// Sampler::counted() for the samplers of this file, inlined into their decisions: the public one
// is an out-of-line call that also passes the decision through memory.
struct detail::SamplerCounting {
  static SamplingDecision counted(Sampler& s, SamplingDecision d) noexcept {
    s.counts_->add2(kSeen, kSampled, d.sample);
    return d;
  }
  static detail::ThreadCounters* counts(Sampler& s) noexcept { return s.counts_.get(); }
};

Sampler::Sampler() : counts_(std::make_unique<detail::ThreadCounters>(2)) {}
Sampler::~Sampler() = default;

SamplingDecision Sampler::counted(SamplingDecision d) noexcept {
  return detail::SamplerCounting::counted(*this, d);
}

void Sampler::collect_stats(std::vector<SamplerStats>& out) const {
  out.push_back(SamplerStats{description(), counts_->total(kSeen), counts_->total(kSampled),
                             current_probability()});
}

namespace {

SamplingDecision tally(Sampler& s, SamplingDecision d) noexcept {
  return detail::SamplerCounting::counted(s, d);
}

class AlwaysOn final : public Sampler {
 public:
  SamplingDecision should_sample(const SamplingParams&) noexcept override {
    return tally(*this, {true, 1.0, true, 0});
  }
  std::string description() const override { return "always_on"; }
  double current_probability() const noexcept override { return 1.0; }
};

class AlwaysOff final : public Sampler {
 public:
  SamplingDecision should_sample(const SamplingParams&) noexcept override {
    return tally(*this, {false, kUnknownProbability, false});
  }
  std::string description() const override { return "always_off"; }
  double current_probability() const noexcept override { return 0.0; }
};

class Probability final : public Sampler {
 public:
  explicit Probability(double p)
      : requested_(std::clamp(std::isnan(p) ? 0.0 : p, 0.0, 1.0)),
        never_(requested_ <= 0.0),
        threshold_(detail::probability_to_threshold(requested_)),
        actual_(never_ ? 0.0 : detail::threshold_to_probability(threshold_)) {}
  SamplingDecision should_sample(const SamplingParams& p) noexcept override {
    if (never_) return tally(*this, {false, kUnknownProbability, false});
    return tally(*this, {p.randomness >= threshold_, actual_, true, threshold_});
  }
  std::string description() const override {
    char buf[48];
    std::snprintf(buf, sizeof buf, "probability{%g}", requested_);
    return buf;
  }
  double current_probability() const noexcept override { return actual_; }
  bool never() const noexcept { return never_; }

 private:
  double requested_;
  bool never_;
  std::uint64_t threshold_;
  double actual_;
};

class ParentBased final : public Sampler {
 public:
  ParentBased(std::shared_ptr<Sampler> root, ParentBasedOptions o)
      : root_(root ? std::move(root) : always_on()), o_(std::move(o)) {}
  SamplingDecision should_sample(const SamplingParams& p) noexcept override {
    if (p.local_parent) {
      Sampler* d = p.local_parent_sampled ? o_.local_parent_sampled.get()
                                          : o_.local_parent_not_sampled.get();
      if (d != nullptr) return tally(*this, d->should_sample(p));
      return tally(*this, {p.local_parent_sampled, kUnknownProbability, false});
    }
    if (p.remote_parent == nullptr) return tally(*this, root_->should_sample(p));
    const bool parent_sampled = p.remote_parent->sampled();
    Sampler* d =
        parent_sampled ? o_.remote_parent_sampled.get() : o_.remote_parent_not_sampled.get();
    if (d != nullptr) return tally(*this, d->should_sample(p));
    double prob = kUnknownProbability;
    if (parent_sampled) {
      if (auto th = detail::tracestate_th(p.remote_parent->trace_state())) {
        prob = detail::threshold_to_probability(*th);
      }
    }
    return tally(*this, {parent_sampled, prob, false});
  }
  std::string description() const override { return "parent_based{" + root_->description() + "}"; }
  bool decides_remote() const noexcept override {
    return o_.remote_parent_sampled != nullptr || o_.remote_parent_not_sampled != nullptr;
  }
  bool decides_local() const noexcept override {
    return o_.local_parent_sampled != nullptr || o_.local_parent_not_sampled != nullptr;
  }
  void collect_stats(std::vector<SamplerStats>& out) const override {
    Sampler::collect_stats(out);
    root_->collect_stats(out);
  }

 private:
  std::shared_ptr<Sampler> root_;
  ParentBasedOptions o_;
};

// A value's text, for rule matching (strings as they are, numbers and booleans printed).
std::string_view value_text(const Value& v, char (&buf)[32]) noexcept {
  switch (v.kind()) {
    case Value::Kind::string: return v.as_string();
    case Value::Kind::int64: {
      int n = std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v.as_int()));
      return {buf, static_cast<std::size_t>(n)};
    }
    case Value::Kind::boolean: return v.as_bool() ? "true" : "false";
    case Value::Kind::float64: {
      int n = std::snprintf(buf, sizeof buf, "%g", v.as_double());
      return {buf, static_cast<std::size_t>(n)};
    }
    default: return {};
  }
}

std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint32_t load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// String equality for the short keys, names and values that rules test, without a libc call
// (memcmp through the PLT was a third of a 5-rule decision): two overlapping word loads from each
// end cover 4 to 16 bytes.
[[gnu::always_inline]] inline bool same(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {
    if (n > 16) return std::memcmp(p, q, n) == 0;
    return load64(p) == load64(q) && load64(p + n - 8) == load64(q + n - 8);
  }
  if (n >= 4) return load32(p) == load32(q) && load32(p + n - 4) == load32(q + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

class Rules final : public Sampler {
 public:
  Rules(std::vector<SamplingRule> rules, std::shared_ptr<Sampler> fallback)
      : fallback_(fallback ? std::move(fallback) : always_on()), rule_counts_(2 * rules.size()) {
    // In place, contiguous: a decision walks them in order.
    entries_.reserve(rules.size());
    for (auto& r : rules) {
      Entry& e = entries_.emplace_back();
      e.index = entries_.size() - 1;
      e.rule = std::move(r);
      if (!e.rule.sampler) e.rule.sampler = always_on();
      if (!e.rule.span_name.empty() && e.rule.span_name.back() == '*') {
        e.prefix = true;
        e.rule.span_name.pop_back();
      }
      if (e.rule.name.empty()) e.rule.name = describe(e);
    }
  }

  SamplingDecision should_sample(const SamplingParams& p) noexcept override {
    for (const Entry& e : entries_) {
      if (!matches(e, p)) continue;
      SamplingDecision d = e.rule.sampler->should_sample(p);
      rule_counts_.add2(2 * e.index + kSeen, 2 * e.index + kSampled, d.sample);
      return tally(*this, d);
    }
    return tally(*this, fallback_->should_sample(p));
  }
  std::string description() const override { return "rules"; }
  bool decides_remote() const noexcept override { return false; }
  void collect_stats(std::vector<SamplerStats>& out) const override {
    Sampler::collect_stats(out);
    for (const auto& e : entries_) {
      out.push_back(SamplerStats{"rule:" + e.rule.name, rule_counts_.total(2 * e.index + kSeen),
                                 rule_counts_.total(2 * e.index + kSampled), kUnknownProbability});
    }
    fallback_->collect_stats(out);
  }

 private:
  struct Entry {
    SamplingRule rule;
    bool prefix = false;
    std::size_t index = 0;  // its counters in rule_counts_: seen at 2 * index, sampled after
  };

  static std::string describe(const Entry& e) {
    // Appends only: g++ 12 warns (-Wrestrict, a false positive) on chained string operator+.
    std::string d;
    auto part = [&d](std::string_view k, std::string_view v) {
      if (!d.empty()) d += ',';
      d += k;
      d += v;
    };
    if (!e.rule.span_name.empty()) part("name=", e.rule.span_name);
    if (e.prefix) d += '*';
    if (e.rule.event_type) part("type=", to_string(*e.rule.event_type));
    if (e.rule.kind) part("kind=", to_string(*e.rule.kind));
    if (!e.rule.attribute.empty()) part("", e.rule.attribute);
    if (d.empty()) d = "any";
    return d;
  }

  static bool matches(const Entry& e, const SamplingParams& p) noexcept {
    const SamplingRule& r = e.rule;
    if (r.event_type && *r.event_type != p.type) return false;
    if (r.kind && *r.kind != p.kind) return false;
    if (!r.span_name.empty()) {
      if (!same(e.prefix ? p.name.substr(0, r.span_name.size()) : p.name, r.span_name)) {
        return false;
      }
    }
    if (r.attribute.empty()) return true;
    for (const Field& f : p.attributes) {
      if (!same(f.key, r.attribute)) continue;
      if (r.values.empty()) return true;
      char buf[32];
      std::string_view text = value_text(f.value, buf);
      for (const auto& v : r.values) {
        if (same(v, text)) return true;
      }
      return false;
    }
    return false;
  }

  std::vector<Entry> entries_;
  std::shared_ptr<Sampler> fallback_;
  detail::ThreadCounters rule_counts_;
};

SamplerClock default_clock(SamplerClock c) {
  if (c) return c;
  return [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
}

class RateLimited final : public Sampler {
 public:
  RateLimited(double per_second, SamplerClock clock)
      : rate_(std::max(0.0, per_second)), clock_(default_clock(std::move(clock))) {}

  SamplingDecision should_sample(const SamplingParams&) noexcept override {
    std::int64_t now = clock_();
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      started_ = true;
      last_ = window_start_ = now;
      tokens_ = std::min(rate_, 1.0) > 0 ? std::max(1.0, rate_) : 0.0;
    }
    double elapsed = static_cast<double>(now - last_) / 1e9;
    last_ = now;
    tokens_ = std::min(std::max(rate_, 1.0), tokens_ + elapsed * rate_);
    if (now - window_start_ >= 1'000'000'000) {  // effective probability over the last second
      prev_seen_ = window_seen_;
      prev_kept_ = window_kept_;
      window_seen_ = window_kept_ = 0;
      window_start_ = now;
    }
    ++window_seen_;
    bool keep = tokens_ >= 1.0;
    if (keep) {
      tokens_ -= 1.0;
      ++window_kept_;
    }
    return tally(*this, {keep, effective_locked(), false});
  }
  std::string description() const override {
    char buf[48];
    std::snprintf(buf, sizeof buf, "rate_limited{%g/s}", rate_);
    return buf;
  }
  double current_probability() const noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    return effective_locked();
  }

 private:
  double effective_locked() const noexcept {
    std::uint64_t seen = prev_seen_ + window_seen_, kept = prev_kept_ + window_kept_;
    return seen == 0 ? 1.0 : static_cast<double>(kept) / static_cast<double>(seen);
  }

  const double rate_;
  SamplerClock clock_;
  mutable std::mutex mu_;
  bool started_ = false;
  double tokens_ = 0;
  std::int64_t last_ = 0, window_start_ = 0;
  std::uint64_t window_seen_ = 0, window_kept_ = 0, prev_seen_ = 0, prev_kept_ = 0;
};

class Adaptive final : public Sampler {
 public:
  explicit Adaptive(AdaptiveOptions o)
      : o_(std::move(o)),
        clock_(default_clock(o_.clock)),
        window_ns_(std::max<std::int64_t>(
            1'000'000, std::chrono::duration_cast<std::chrono::nanoseconds>(o_.window).count())) {
    o_.min_probability = std::clamp(o_.min_probability, 1e-12, 1.0);
    o_.max_step = std::max(o_.max_step, 1.0001);
    o_.smoothing = std::clamp(o_.smoothing, 0.01, 1.0);
    set_probability(1.0);
  }

  SamplingDecision should_sample(const SamplingParams& p) noexcept override {
    std::int64_t now = clock_();
    std::int64_t start = window_start_.load(std::memory_order_relaxed);
    if (start == kUnset) {
      window_start_.compare_exchange_strong(start, now, std::memory_order_relaxed);
    } else if (now - start >= window_ns_) {
      adjust(now);
    }
    roots_.add(0);
    std::uint64_t th = threshold_.load(std::memory_order_relaxed);
    return tally(*this, {p.randomness >= th, detail::threshold_to_probability(th), true, th});
  }
  std::string description() const override {
    char buf[64];
    std::snprintf(buf, sizeof buf, "adaptive{%g/s}", o_.target_per_second);
    return buf;
  }
  double current_probability() const noexcept override {
    return detail::threshold_to_probability(threshold_.load(std::memory_order_relaxed));
  }

 private:
  static constexpr std::int64_t kUnset = INT64_MIN;

  void adjust(std::int64_t now) noexcept {
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) return;  // another thread is adjusting
    std::int64_t start = window_start_.load(std::memory_order_relaxed);
    if (now - start < window_ns_) return;
    double seconds = static_cast<double>(now - start) / 1e9;
    std::uint64_t roots = roots_.total(0);  // counts that land meanwhile go to the next window
    double rate = static_cast<double>(roots - roots_before_) / seconds;
    roots_before_ = roots;
    rate_ = have_rate_ ? o_.smoothing * rate + (1 - o_.smoothing) * rate_ : rate;
    have_rate_ = true;
    double want =
        rate_ <= 0 ? 1.0 : std::clamp(o_.target_per_second / rate_, o_.min_probability, 1.0);
    double next = std::clamp(want, probability_ / o_.max_step, probability_ * o_.max_step);
    set_probability(std::clamp(next, o_.min_probability, 1.0));
    window_start_.store(now, std::memory_order_relaxed);
  }

  void set_probability(double p) noexcept {
    // Quantized to 1/16 steps of a power of two so that only a few hundred thresholds (and
    // interned tracestates) ever exist.
    int exp = 0;
    double m = std::frexp(p, &exp);  // p = m * 2^exp, m in [0.5, 1)
    m = std::ceil(m * 32.0) / 32.0;
    probability_ = std::min(1.0, std::ldexp(m, exp));
    threshold_.store(detail::probability_to_threshold(probability_), std::memory_order_relaxed);
  }

  AdaptiveOptions o_;
  SamplerClock clock_;
  const std::int64_t window_ns_;
  std::atomic<std::int64_t> window_start_{kUnset};
  detail::ThreadCounters roots_{1};
  std::atomic<std::uint64_t> threshold_{0};
  std::mutex mu_;
  std::uint64_t roots_before_ = 0;  // roots_ at the start of the window (with mu_)
  double rate_ = 0;                 // smoothed roots per second (with mu_)
  bool have_rate_ = false;
  double probability_ = 1.0;
};

}  // namespace

bool detail::never_samples_roots(Sampler* s) noexcept {
  if (s == nullptr) return false;
  bool never = dynamic_cast<AlwaysOff*>(s) != nullptr;
  if (auto* p = dynamic_cast<Probability*>(s)) never = p->never();
  return never;
}

std::shared_ptr<Sampler> always_on() {
  return std::make_shared<AlwaysOn>();
}
std::shared_ptr<Sampler> always_off() {
  return std::make_shared<AlwaysOff>();
}
std::shared_ptr<Sampler> probability(double p) {
  return std::make_shared<Probability>(p);
}
std::shared_ptr<Sampler> parent_based(std::shared_ptr<Sampler> root, ParentBasedOptions options) {
  return std::make_shared<ParentBased>(std::move(root), std::move(options));
}
std::shared_ptr<Sampler> rules(std::vector<SamplingRule> r, std::shared_ptr<Sampler> fallback) {
  return std::make_shared<Rules>(std::move(r), std::move(fallback));
}
std::shared_ptr<Sampler> rate_limited(double per_second, SamplerClock clock) {
  return std::make_shared<RateLimited>(per_second, std::move(clock));
}
std::shared_ptr<Sampler> adaptive(AdaptiveOptions options) {
  return std::make_shared<Adaptive>(std::move(options));
}

}  // namespace skein
