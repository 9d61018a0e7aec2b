// Three traces for tail-sampling tests: a fast healthy one ("fast-ok" with a child), a failed one
// ("failed", whose child "child" has an error status) and a slow one ("slow", kept open for
// `slow_for`). Returns the names of the spans the exporter received, after a flush.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "skein/skein.hpp"

namespace skein::fakes {

inline std::multiset<std::string> run_fast_failed_slow_traces(skein::Tracer& t,
                                                              const skein::InMemoryExporter& mem,
                                                              std::chrono::milliseconds slow_for) {
  {
    auto fast = t.span("fast-ok");
    auto child = t.span("child");
  }
  {
    auto failed = t.span("failed");
    auto child = t.span("child");
    child.set_status(skein::StatusCode::error, "boom");
  }
  {
    auto slow = t.span("slow");
    std::this_thread::sleep_for(slow_for);
  }
  EXPECT_TRUE(t.force_flush());
  std::multiset<std::string> names;
  for (const auto& s : mem.spans()) names.insert(s.name);
  return names;
}

}  // namespace skein::fakes
