// Internal sampling helpers shared by the samplers and the tracer core.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "skein/config.hpp"
#include "skein/context.hpp"

namespace skein {
class Sampler;
}

namespace skein::detail {

class ThreadCounters;

/// True when `s` never samples a root (always_off, probability(0)). The tracer then decides
/// such roots inline, without the call, counts them in its own per-thread counter, and adds that
/// count to the sampler's "seen" in Stats::samplers (the sampler's first entry).
bool never_samples_roots(Sampler* s) noexcept;

inline constexpr std::uint64_t kMaxThreshold = 1ULL << 56;  // 2^56

/// The rejection threshold of a probability: round((1 - p) * 2^56), 4 significant hex digits as
/// the OpenTelemetry specification recommends, clamped to [0, 2^56).
std::uint64_t probability_to_threshold(double p) noexcept;
/// The probability a threshold keeps: (2^56 - th) / 2^56.
double threshold_to_probability(std::uint64_t th) noexcept;
/// "th:…" value text: hex, 14 digits, trailing zeros removed ("0" for zero).
std::size_t format_threshold(std::uint64_t th, char out[14]) noexcept;

/// Parse `rv` / `th` of the `ot` entry of a tracestate into `out`; false when absent or invalid.
bool parse_tracestate_rv(std::string_view tracestate, std::uint64_t& out) noexcept;
bool parse_tracestate_th(std::string_view tracestate, std::uint64_t& out) noexcept;

/// The `rv` (explicit randomness) and `th` of the `ot` entry of a tracestate, when valid. Inline:
/// an empty tracestate (the common case) costs a test, and no std::optional crosses a call (g++
/// returns one through a byte store and a wider load, a store-forwarding stall of ~10 cycles).
inline std::optional<std::uint64_t> tracestate_rv(std::string_view tracestate) noexcept {
  std::uint64_t v = 0;
  if (tracestate.empty() || !parse_tracestate_rv(tracestate, v)) return std::nullopt;
  return v;
}
inline std::optional<std::uint64_t> tracestate_th(std::string_view tracestate) noexcept {
  std::uint64_t v = 0;
  if (tracestate.empty() || !parse_tracestate_th(tracestate, v)) return std::nullopt;
  return v;
}

/// The tracestate that records a consistent decision at a root: "ot=th:…". Interned: the same
/// threshold always yields the same immortal object, so a root span shares it without
/// allocating or touching a reference count.
const std::shared_ptr<const ContextExtras>& root_tracestate(std::uint64_t th) noexcept;

/// The sampler that OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG or SKEIN_SAMPLER /
/// SKEIN_SAMPLER_ARG ask for (null when none is set). A bad value sets `error` (when not already
/// set) and returns null.
std::shared_ptr<Sampler> sampler_from_environment(Error& error);

}  // namespace skein::detail
