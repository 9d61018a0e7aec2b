// skein/sampler.hpp — deciding which traces are recorded.
//
// A sampler decides once per trace, at its local root; children follow their parent, so a trace is
// recorded whole or not at all. An unsampled trace still propagates its context with the sampled
// flag cleared, and its spans cost almost nothing. Built in:
//
//   always_on(), always_off()
//   probability(p)            consistent across services: OpenTelemetry threshold sampling, the
//                             decision is `R >= th` with R the trace id's 56 random low bits (or an
//                             explicit `rv` in the `ot` tracestate entry); the decision travels as
//                             `ot=th:…` in tracestate. Same p ⇒ same decision in every service; a
//                             lower p downstream keeps a subset.
//   parent_based(root, …)     what to do with a remote parent (default: honour its sampled flag)
//   rules({…}, fallback)      ordered rules on name, event type, kind and start attributes (a user
//                             id in a set of beta users, one route…), each with its own sampler
//   rate_limited(n)           at most n traces per second (token bucket)
//   adaptive({.target…})      aims at a number of traces per second from the measured root rate
//
// Every sampled root records the probability it was kept with (`sampling.probability`). Samplers
// are called on application threads: they are thread-safe, never throw and never allocate.
// Tail sampling (keep a trace after it ended, if it failed or was slow) is an exporter stage: see
// `make_tail_sampler` in skein/exporter.hpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skein/context.hpp"
#include "skein/span.hpp"
#include "skein/value.hpp"

namespace skein {

/// No probability is attached to a decision (always_off, rate limiting before it knows a rate).
inline constexpr double kUnknownProbability = -1.0;

/// What a sampler sees.
struct SamplingParams {
  TraceId trace_id;
  /// The 56-bit randomness R: the trace id's low 56 bits, or the `rv` of the incoming tracestate.
  std::uint64_t randomness = 0;
  std::string_view name;
  EventType type = EventType::generic;
  SpanKind kind = SpanKind::internal;
  std::initializer_list<Field> attributes;
  /// The remote parent, when the span continues a trace from another process.
  const Context* remote_parent = nullptr;
  /// True when the parent is in this process (then `local_parent_sampled` is its decision). Such
  /// spans are asked only of samplers whose decides_local() is true.
  bool local_parent = false;
  bool local_parent_sampled = false;
};

/// A sampler's answer.
struct SamplingDecision {
  bool sample = false;
  /// The probability the trace was kept with, in (0, 1], or kUnknownProbability.
  double probability = kUnknownProbability;
  /// True when the decision is `R >= threshold`: consistent, and propagated as `ot=th:…`.
  bool consistent = false;
  /// With `consistent`: the 56-bit rejection threshold that was applied.
  std::uint64_t threshold = 0;
};

/// Counts of one sampler (or rule) since it was made.
struct SamplerStats {
  std::string name;                                  ///< description, or the rule's name
  std::uint64_t seen = 0;                            ///< decisions asked
  std::uint64_t sampled = 0;                         ///< decisions that kept the trace
  double current_probability = kUnknownProbability;  ///< what it applies now, when it has one
  [[nodiscard]] double sampled_ratio() const noexcept {
    return seen == 0 ? 0.0 : static_cast<double>(sampled) / static_cast<double>(seen);
  }
};

namespace detail {
class ThreadCounters;
struct SamplerCounting;
}  // namespace detail

class Sampler {
 public:
  Sampler();
  virtual ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;
  /// Decides for one trace. Must not throw.
  virtual SamplingDecision should_sample(const SamplingParams& params) noexcept = 0;
  /// A short description, e.g. "probability{0.25}".
  [[nodiscard]] virtual std::string description() const = 0;
  /// True when the sampler wants to decide for spans with a remote parent too (parent_based with
  /// its own choices does); otherwise those follow the remote sampled flag.
  [[nodiscard]] virtual bool decides_remote() const noexcept { return false; }
  /// True when the sampler wants to decide for spans with a parent in this process too
  /// (parent_based with local choices does); otherwise they follow their parent, so that a trace
  /// is recorded whole or not at all.
  [[nodiscard]] virtual bool decides_local() const noexcept { return false; }
  /// Appends this sampler's counts (and those of the samplers it contains) to `out`.
  virtual void collect_stats(std::vector<SamplerStats>& out) const;

 protected:
  /// Counts one decision and returns it. Thread-safe and exact, without a shared atomic
  /// read-modify-write: each thread counts in its own cache line of this sampler (about 1 ns).
  SamplingDecision counted(SamplingDecision d) noexcept;
  [[nodiscard]] virtual double current_probability() const noexcept { return kUnknownProbability; }

 private:
  friend struct detail::SamplerCounting;            // the built-in samplers count inline
  std::unique_ptr<detail::ThreadCounters> counts_;  // seen, sampled
};

/// Records every trace.
std::shared_ptr<Sampler> always_on();
/// Records no trace (context still propagates).
std::shared_ptr<Sampler> always_off();
/// Records a fraction `p` of traces, consistently across services (see the file comment).
/// Values are clamped to [0, 1].
std::shared_ptr<Sampler> probability(double p);
/// The OpenTelemetry name for probability().
inline std::shared_ptr<Sampler> trace_id_ratio(double p) {
  return probability(p);
}

/// What decides for spans that have a parent, by where the parent is (another process, or this
/// one) and whether it was sampled. Null members mean: follow the parent's flag (the default for
/// all four, as in OpenTelemetry). A local choice can record part of a trace: a sampled child of
/// an unsampled parent, or an unsampled child of a sampled one.
struct ParentBasedOptions {
  std::shared_ptr<Sampler> remote_parent_sampled = nullptr;
  std::shared_ptr<Sampler> remote_parent_not_sampled = nullptr;
  std::shared_ptr<Sampler> local_parent_sampled = nullptr;
  std::shared_ptr<Sampler> local_parent_not_sampled = nullptr;
};
/// Roots use `root`; spans with a parent follow it unless `options` says otherwise.
std::shared_ptr<Sampler> parent_based(std::shared_ptr<Sampler> root,
                                      ParentBasedOptions options = {});

/// One rule: every given condition must hold. Conditions on attributes see the attributes given
/// at span start (`SpanOptions::attributes`, or the traced callable's).
struct SamplingRule {
  std::string name{};                     ///< for stats; defaults to a description
  std::string span_name{};                ///< exact name, or a prefix ending in '*'; empty: any
  std::optional<EventType> event_type{};  ///< any when unset
  std::optional<SpanKind> kind{};         ///< any when unset
  std::string attribute{};                ///< attribute key to test; empty: none
  std::vector<std::string> values{};      ///< the attribute's value (as text) must be one of these;
                                          ///< empty: the attribute must only be present
  std::shared_ptr<Sampler> sampler{};     ///< what decides when the rule matches
};
/// The first matching rule decides; no match: `fallback`.
std::shared_ptr<Sampler> rules(std::vector<SamplingRule> rules, std::shared_ptr<Sampler> fallback);

/// A clock for samplers that measure rates: nanoseconds on any monotonic scale. Tests pass a
/// manual clock; the default is steady_clock.
using SamplerClock = std::function<std::int64_t()>;

/// At most `traces_per_second` new traces per second (token bucket with a one-second burst).
/// Records its effective probability (kept / seen over the last second).
std::shared_ptr<Sampler> rate_limited(double traces_per_second, SamplerClock clock = nullptr);

struct AdaptiveOptions {
  double target_per_second = 10;          ///< traces to keep per second
  double min_probability = 1e-4;          ///< never sample below this
  double max_step = 2.0;                  ///< probability changes by at most this factor per window
  std::chrono::milliseconds window{250};  ///< how often the rate is measured
  double smoothing = 0.5;                 ///< weight of the newest window in the rate estimate
  SamplerClock clock = nullptr;
};
/// Probability sampling whose probability follows the measured root rate so that about
/// `target_per_second` traces are kept (consistent, like probability()).
std::shared_ptr<Sampler> adaptive(AdaptiveOptions options);

}  // namespace skein
