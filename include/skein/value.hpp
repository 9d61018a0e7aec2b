// skein/value.hpp — values given to spans, enrichment and traced callables.
//
// `Value` is a non-owning view of something the caller passes in: a scalar (bool, integer,
// floating point, string), a list, a map, or any type that opts in. It is built implicitly at
// the call site and read before the call returns, so it never allocates and never outlives the
// argument it views. Nested maps and lists are flattened into dotted attribute keys
// (`a.b`, `list.0`, `list.1`) when they reach a span.
//
// Customization point: a user type opts in with a function found by argument-dependent lookup,
//
//     void skein_value(skein::ValueWriter& w, const Order& o) {
//       w.field("id", o.id);
//       w.field("total", o.total);
//     }
//
// after which an `Order` can be passed wherever a `Value` is expected (as an input of a traced
// callable, in enrich_span, in Span::set). Standard containers of values, `std::optional` and
// maps with string keys work out of the box; a container of non-values is not a value.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace skein {

class Value;
struct Field;

/// Receives the parts of a structured value. Implemented by skein; user code only calls it
/// from its `skein_value` overloads.
class ValueWriter {
 public:
  /// A named member (used by map-like values).
  virtual void field(std::string_view key, const Value& value) = 0;
  /// An element of a list-like value.
  virtual void element(const Value& value) = 0;

 protected:
  ~ValueWriter() = default;
};

/// The scalar type of every element of a homogeneous range, when known at compile time.
enum class ScalarType : std::uint8_t { none, boolean, int64, float64, string };

namespace detail {
template <class T>
concept StringLike = std::is_convertible_v<const T&, std::string_view>;

template <class T>
concept Opted = requires(ValueWriter& w, const T& v) {
  skein_value(w, v);
};

template <class T>
concept MapLike = std::ranges::input_range<const T> && requires {
  typename T::mapped_type;
} && StringLike<typename T::key_type>;

template <class T>
concept Optional = requires {
  typename T::value_type;
}
&&std::same_as<T, std::optional<typename T::value_type>>;

/// Whether the members or elements of a range are values themselves (defined after Value).
template <class T>
constexpr bool elements_are_values();

template <class T>
constexpr ScalarType scalar_type_of() {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::same_as<U, bool>)
    return ScalarType::boolean;
  else if constexpr (std::integral<U>)
    return ScalarType::int64;
  else if constexpr (std::floating_point<U>)
    return ScalarType::float64;
  else if constexpr (StringLike<U>)
    return ScalarType::string;
  else
    return ScalarType::none;
}
}  // namespace detail

/// A non-owning view of a value; see the file comment.
class Value {
 public:
  enum class Kind : std::uint8_t { null, boolean, int64, float64, string, list, map, custom };
  using VisitFn = void (*)(const void* object, ValueWriter& writer);

  constexpr Value() noexcept : kind_(Kind::null), i_(0) {}
  constexpr Value(std::nullptr_t) noexcept : Value() {}
  constexpr Value(bool b) noexcept : kind_(Kind::boolean), i_(b ? 1 : 0) {}
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>) constexpr Value(T i) noexcept
      : kind_(Kind::int64), i_(static_cast<std::int64_t>(i)) {}
  template <std::floating_point T>
  constexpr Value(T d) noexcept : kind_(Kind::float64), d_(static_cast<double>(d)) {}
  constexpr Value(const char* s) noexcept : kind_(Kind::string), s_{s, s ? length(s) : 0} {}
  constexpr Value(char* s) noexcept : Value(static_cast<const char*>(s)) {}
  /// Other pointers are not values (they would silently become `true`).
  template <class T>
  Value(T*) = delete;
  constexpr Value(std::string_view s) noexcept : kind_(Kind::string), s_{s.data(), s.size()} {}
  Value(const std::string& s) noexcept : kind_(Kind::string), s_{s.data(), s.size()} {}
  /// A list given in braces: `skein::List{1, "two", 3.0}`.
  constexpr Value(std::initializer_list<Value> list) noexcept
      : kind_(Kind::list), list_{list.begin(), list.size()} {}

  /// An optional is its value, or null when empty.
  template <class T>
  Value(const std::optional<T>& o) noexcept : Value() {  // NOLINT(google-explicit-constructor)
    if (o) *this = Value(*o);
  }
  /// Anything that opts in, a standard container, or a map with string keys.
  template <class T>
  requires(!std::is_convertible_v<const T&, std::string_view> && !std::is_arithmetic_v<T> &&
           !std::same_as<T, Value> && !detail::Optional<T> &&
           (detail::Opted<T> || (std::ranges::input_range<const T> &&
                                 detail::elements_are_values<T>()))) Value(const T& object)
  noexcept  // NOLINT(google-explicit-constructor)
      : kind_(Kind::custom), custom_{&object, &visit<T>, element_type<T>(), is_map<T>()} {}

  static Value map(const Field* fields, std::size_t n) noexcept {
    Value v;
    v.kind_ = Kind::map;
    v.map_ = {fields, n};
    return v;
  }

  [[nodiscard]] constexpr Kind kind() const noexcept { return kind_; }
  [[nodiscard]] constexpr bool is_scalar() const noexcept {
    return kind_ != Kind::list && kind_ != Kind::map && kind_ != Kind::custom;
  }
  [[nodiscard]] bool as_bool() const noexcept { return i_ != 0; }
  [[nodiscard]] std::int64_t as_int() const noexcept { return i_; }
  [[nodiscard]] double as_double() const noexcept { return d_; }
  /// A boolean (0 or 1), integer, double or null (0) as its 8 bytes, for copying it without a
  /// switch on its kind (AttrValue::from_bits).
  [[nodiscard]] std::uint64_t scalar_bits() const noexcept {
    std::uint64_t bits;
    std::memcpy(&bits, static_cast<const void*>(&i_), sizeof bits);
    return bits;
  }
  [[nodiscard]] std::string_view as_string() const noexcept { return {s_.p, s_.n}; }
  [[nodiscard]] const Value* list_data() const noexcept { return list_.p; }
  [[nodiscard]] std::size_t list_size() const noexcept { return list_.n; }
  [[nodiscard]] const Field* map_data() const noexcept { return map_.p; }
  [[nodiscard]] std::size_t map_size() const noexcept { return map_.n; }
  /// For custom values: calls the writer once per member or element.
  void visit(ValueWriter& w) const { custom_.fn(custom_.obj, w); }
  /// For custom values: the scalar type of all elements when they are a homogeneous range.
  [[nodiscard]] ScalarType element_type() const noexcept { return custom_.elem; }
  /// For custom values: whether the members are named (map-like).
  [[nodiscard]] bool is_map_like() const noexcept { return custom_.map; }

 private:
  static constexpr std::size_t length(const char* s) noexcept {
    std::size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
  }
  template <class T>
  static constexpr ScalarType element_type() {
    if constexpr (detail::Opted<T> || detail::MapLike<T>) {
      return ScalarType::none;
    } else {
      return detail::scalar_type_of<std::ranges::range_value_t<const T>>();
    }
  }
  template <class T>
  static constexpr bool is_map() {
    if constexpr (detail::Opted<T>)
      return true;
    else
      return detail::MapLike<T>;
  }
  template <class T>
  static void visit(const void* object, ValueWriter& w);

  struct StringRep {
    const char* p;
    std::size_t n;
  };
  struct ListRep {
    const Value* p;
    std::size_t n;
  };
  struct MapRep {
    const Field* p;
    std::size_t n;
  };
  struct CustomRep {
    const void* obj;
    VisitFn fn;
    ScalarType elem;
    bool map;
  };
  Kind kind_;
  union {
    std::int64_t i_;  // also a boolean, as 0 or 1
    double d_;
    StringRep s_;
    ListRep list_;
    MapRep map_;
    CustomRep custom_;
  };
};

/// A named value: a member of a map, an attribute given at span start, an enrichment entry.
struct Field {
  std::string_view key;
  Value value;
};

/// A list written in place: `skein::List{1, 2, 3}` (a braced list of Values).
using List = std::initializer_list<Value>;

/// A map written in place: `skein::Map{{"model", "gpt-4o"}, {"temperature", 0.2}}`.
class Map {
 public:
  Map(std::initializer_list<Field> fields) noexcept : fields_(fields) {}
  operator Value() const noexcept { return Value::map(fields_.begin(), fields_.size()); }

 private:
  std::initializer_list<Field> fields_;
};

namespace detail {
// A container of things that are not values is not a value either (so a traced callable skips
// it instead of failing to compile). A range whose elements are ranges of themselves
// (std::filesystem::path) is not one.
template <class T>
constexpr bool elements_are_values() {
  if constexpr (MapLike<T>) {
    return std::is_constructible_v<Value, const typename T::mapped_type&>;
  } else {
    using E = std::remove_cvref_t<std::ranges::range_reference_t<const T>>;
    if constexpr (std::same_as<E, T>)
      return false;
    else
      return std::is_constructible_v<Value, std::ranges::range_reference_t<const T>>;
  }
}
}  // namespace detail

template <class T>
void Value::visit(const void* object, ValueWriter& w) {
  const T& v = *static_cast<const T*>(object);
  if constexpr (detail::Opted<T>) {
    skein_value(w, v);
  } else if constexpr (detail::MapLike<T>) {
    for (const auto& [key, mapped] : v) w.field(std::string_view(key), Value(mapped));
  } else {
    for (const auto& e : v) w.element(Value(e));
  }
}

}  // namespace skein
