// skein/sampler.hpp — deciding which traces are recorded.
//
// A sampler decides once per trace, at its root; children follow their parent (a remote parent's
// sampled flag is honoured), so a trace is recorded whole or not at all. An unsampled trace still
// propagates its context with the sampled flag cleared and costs almost nothing.
// Samplers are called on application threads and must be thread-safe and fast.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "skein/context.hpp"
#include "skein/span.hpp"
#include "skein/value.hpp"

namespace skein {

/// What a sampler sees about a root span.
struct SamplingParams {
  TraceId trace_id;
  std::string_view name;
  EventType type = EventType::generic;
  SpanKind kind = SpanKind::internal;
  std::initializer_list<Field> attributes;
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  /// True to record the trace. Must not throw.
  virtual bool should_sample(const SamplingParams& params) noexcept = 0;
  /// A short description, e.g. "TraceIdRatioBased{0.25}".
  [[nodiscard]] virtual std::string description() const = 0;
};

/// Records every trace.
std::shared_ptr<Sampler> always_on();
/// Records no trace (context still propagates).
std::shared_ptr<Sampler> always_off();
/// Records a fraction of traces, decided from the trace id's random low 56 bits, so that every
/// service with the same ratio makes the same decision for a trace.
std::shared_ptr<Sampler> trace_id_ratio(double ratio);

}  // namespace skein
