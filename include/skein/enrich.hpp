// skein/enrich.hpp — enrich_span: namespaced attributes on the current span.
//
//     skein::enrich_span({.metadata = {{"user_id", "u-42"}},
//                         .metrics = {{"score", 0.93}},
//                         .outputs = {{"answer", answer}}});
//
// Each namespace becomes a HoneyHive attribute prefix (`honeyhive_metadata.user_id`,
// `honeyhive_metrics.score`, ...). Nested maps flatten to dotted keys and lists to `.0`, `.1`, with
// their types kept. With no current recording span the call is a counted no-op
// (`Stats::enrich_without_span`). Never throws.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "skein/span.hpp"
#include "skein/value.hpp"

namespace skein {

/// The enrichment namespaces and their attribute prefixes.
enum class Namespace : std::uint8_t {
  metadata,         ///< honeyhive_metadata.*
  metrics,          ///< honeyhive_metrics.*
  feedback,         ///< honeyhive_feedback.*
  inputs,           ///< honeyhive_inputs.*
  outputs,          ///< honeyhive_outputs.*
  config,           ///< honeyhive_config.*
  user_properties,  ///< honeyhive_user_properties.*
};

/// The attribute prefix of a namespace, without the trailing dot ("honeyhive_metadata").
std::string_view prefix(Namespace ns) noexcept;

/// The members of one namespace: a braced list of fields, or any map-like value.
class Fields {
 public:
  Fields() noexcept = default;
  Fields(std::initializer_list<Field> fields) noexcept
      : value_(fields.size() != 0 ? Value::map(fields.begin(), fields.size()) : Value()) {}
  template <class T>
  requires(detail::MapLike<T> || detail::Opted<T>) Fields(const T& object)
  noexcept : value_(object) {}  // NOLINT
  /// True when nothing was given (or a value that converts to null: nothing to record).
  [[nodiscard]] bool empty() const noexcept { return value_.kind() == Value::Kind::null; }
  [[nodiscard]] const Value& value() const noexcept { return value_; }

 private:
  Value value_;  // null when empty: no flag beside it, so an Enrichment is built with fewer stores
};

/// Everything enrich_span accepts; every member is optional.
struct Enrichment {
  Fields metadata{};
  Fields metrics{};
  Fields feedback{};
  Fields inputs{};
  Fields outputs{};
  Fields config{};
  Fields user_properties{};
  /// Error text, as `honeyhive_error`; also sets the span status to error.
  std::optional<std::string_view> error{};
};

/// Enriches the current span. False when there is no current recording span.
bool enrich_span(const Enrichment& enrichment) noexcept;
/// Shorthand: the fields go to `metadata` (as HoneyHive's `enrich_span(dict)` does).
/// A template only so that it loses ties: g++ 12 wrongly finds a one-designator
/// `enrich_span({.metadata = {...}})` convertible to a list of fields too, and would otherwise
/// reject that call as ambiguous.
template <class = void>
bool enrich_span(std::initializer_list<Field> metadata) noexcept {
  return enrich_span(Enrichment{.metadata = metadata});
}
/// One value in one namespace: the fastest form.
bool enrich_span(Namespace ns, std::string_view key, const Value& value) noexcept;
/// Enriches a given span instead of the current one.
bool enrich_span(Span& span, const Enrichment& enrichment) noexcept;

}  // namespace skein
