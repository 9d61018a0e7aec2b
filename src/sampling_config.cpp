// Samplers from the environment: the OpenTelemetry variables and skein's own.
#include <cctype>
#include <charconv>
#include <string>

#include "env.hpp"
#include "sampling.hpp"
#include "skein/sampler.hpp"

namespace skein::detail {
namespace {

std::string lower_trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  s.erase(0, i);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void fail(Error& error, std::string message) {
  if (!error) error = Error{ErrorCode::invalid_environment, std::move(message)};
}

// A number from `var`, or `fallback` when unset; nullopt (error set) when malformed or out of
// range.
std::optional<double> number(EnvVar var, double fallback, double lo, double hi, Error& error) {
  auto text = env(var);
  if (!text) return fallback;
  std::string t = lower_trim(*text);
  double v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || !(v >= lo && v <= hi)) {
    fail(error, std::string(env_name(var)) + ": expected a number in [" + std::to_string(lo) +
                    ", " + std::to_string(hi) + "], got '" + *text + "'");
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::shared_ptr<Sampler> sampler_from_environment(Error& error) {
  if (auto name = env(EnvVar::otel_traces_sampler)) {
    std::string n = lower_trim(*name);
    // OpenTelemetry semantics: the plain samplers decide for every span with a remote parent too.
    auto everywhere = [](std::shared_ptr<Sampler> s) {
      return parent_based(s, {.remote_parent_sampled = s, .remote_parent_not_sampled = s});
    };
    if (n == "always_on") return everywhere(always_on());
    if (n == "always_off") return everywhere(always_off());
    if (n == "parentbased_always_on") return parent_based(always_on());
    if (n == "parentbased_always_off") return parent_based(always_off());
    if (n == "traceidratio" || n == "parentbased_traceidratio") {
      auto p = number(EnvVar::otel_traces_sampler_arg, 1.0, 0.0, 1.0, error);
      if (!p) return nullptr;
      return n == "traceidratio" ? everywhere(probability(*p)) : parent_based(probability(*p));
    }
    fail(error,
         "OTEL_TRACES_SAMPLER: expected always_on, always_off, traceidratio, "
         "parentbased_always_on, parentbased_always_off or parentbased_traceidratio, got '" +
             *name + "'");
    return nullptr;
  }
  if (auto name = env(EnvVar::skein_sampler)) {
    std::string n = lower_trim(*name);
    if (n == "always_on") return always_on();
    if (n == "always_off") return always_off();
    if (n == "probability") {
      auto p = number(EnvVar::skein_sampler_arg, 1.0, 0.0, 1.0, error);
      return p ? probability(*p) : nullptr;
    }
    if (n == "rate_limited") {
      auto r = number(EnvVar::skein_sampler_arg, 100.0, 0.0, 1e9, error);
      return r ? rate_limited(*r) : nullptr;
    }
    if (n == "adaptive") {
      auto r = number(EnvVar::skein_sampler_arg, 10.0, 0.0, 1e9, error);
      return r ? adaptive({.target_per_second = *r}) : nullptr;
    }
    fail(error,
         "SKEIN_SAMPLER: expected always_on, always_off, probability, rate_limited or "
         "adaptive, got '" +
             *name + "'");
  }
  return nullptr;
}

}  // namespace skein::detail
