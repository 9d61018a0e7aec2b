// JSON views of the store for the web page and `skein ... --json`: what /api/* answers.
#pragma once

#include <string>
#include <vector>

#include "store/store.hpp"

namespace skein::collector {

std::string traces_json(const std::vector<store::TraceSummary>& traces);
std::string trace_json(const std::vector<store::StoredSpan>& spans);
std::string sessions_json(const std::vector<store::SessionSummary>& sessions);
std::string session_json(const std::string& id, const std::vector<store::StoredSpan>& spans);
std::string stats_json(const store::StoreStats& s, const std::string& live_extra = {});

/// Parses a time: unix seconds, "2024-05-01T12:00:00" (UTC, optional Z), or a duration before
/// now such as "90s", "15m", "2h", "7d". 0 when invalid.
std::uint64_t parse_time_ns(const std::string& text, std::uint64_t now_ns);
/// Parses "250ms", "2s", "1.5m" or a plain number of milliseconds. -1 when invalid.
std::int64_t parse_duration_ns(const std::string& text);
std::uint64_t now_ns();

}  // namespace skein::collector
