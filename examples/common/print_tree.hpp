// Prints collected spans as trees (one per trace, children in start order) with the attributes
// and events an example wants to show. Shared by the pattern examples.
#pragma once

#include <skein/skein.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace example {

inline std::string show(const skein::OwnedValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, double>) {
          char b[32];
          std::snprintf(b, sizeof b, "%.3g", x);
          return b;
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x.size() > 40 ? x.substr(0, 37) + "..." : x;
        } else {
          return "[...]";
        }
      },
      v);
}

struct TreeOptions {
  /// Attribute keys to show (exact, or a prefix ending in '*').
  std::vector<std::string> keys{};
  /// Show events with their attributes.
  bool events = false;
  /// A label per span (for example its service), shown before the name.
  std::string (*label)(const skein::SpanData&) = nullptr;
};

inline bool wanted(const TreeOptions& o, std::string_view key) {
  for (const auto& k : o.keys) {
    if (!k.empty() && k.back() == '*'
            ? key.substr(0, k.size() - 1) == std::string_view(k).substr(0, k.size() - 1)
            : key == k) {
      return true;
    }
  }
  return false;
}

inline void print_span(const std::vector<skein::SpanData>& spans, const skein::SpanData& s,
                       int depth, const TreeOptions& o, int& printed) {
  ++printed;
  std::printf("%*s%s ", depth * 2, "", depth == 0 ? "●" : "└─");
  if (o.label != nullptr) std::printf("[%s] ", o.label(s).c_str());
  std::printf("%s (%s, %.1f ms)", s.name.c_str(),
              std::string(skein::to_string(s.event_type)).c_str(),
              static_cast<double>(s.end_unix_nano - s.start_unix_nano) / 1e6);
  for (const auto& [k, v] : s.attributes) {
    if (wanted(o, k)) std::printf(" %s=%s", k.c_str(), show(v).c_str());
  }
  if (s.status == skein::StatusCode::error) std::printf(" ERROR");
  std::printf("\n");
  if (o.events) {
    for (const auto& e : s.events) {
      std::printf("%*s  · %s", depth * 2, "", e.name.c_str());
      for (const auto& [k, v] : e.attributes) std::printf(" %s=%s", k.c_str(), show(v).c_str());
      std::printf("\n");
    }
  }
  std::vector<const skein::SpanData*> children;
  for (const auto& c : spans) {
    if (c.parent_span_id == s.span_id && c.trace_id == s.trace_id) children.push_back(&c);
  }
  std::sort(children.begin(), children.end(),
            [](auto* a, auto* b) { return a->start_unix_nano < b->start_unix_nano; });
  for (const auto* c : children) print_span(spans, *c, depth + 1, o, printed);
}

/// Prints every trace; returns how many spans were printed (all of them when the trees are whole).
inline int print_trees(const std::vector<skein::SpanData>& spans, const TreeOptions& o = {}) {
  std::vector<const skein::SpanData*> roots;
  for (const auto& s : spans) {
    bool has_parent = false;
    for (const auto& p : spans)
      has_parent = has_parent || (p.span_id == s.parent_span_id && p.trace_id == s.trace_id);
    if (!has_parent) roots.push_back(&s);
  }
  std::sort(roots.begin(), roots.end(),
            [](auto* a, auto* b) { return a->start_unix_nano < b->start_unix_nano; });
  int printed = 0;
  for (const auto* r : roots) print_span(spans, *r, 0, o, printed);
  return printed;
}

}  // namespace example
