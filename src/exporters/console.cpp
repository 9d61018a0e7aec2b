// The console exporter: one indented tree per trace, printed when the trace's local root ends.
// Spans wait in a bounded buffer; past the bound the oldest trace is printed as it is.
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <string>

#include "env.hpp"
#include "skein/exporter.hpp"

namespace skein {
namespace {

constexpr std::size_t kMaxBufferedSpans = 10000;
constexpr std::size_t kMaxShownAttributes = 4;
constexpr std::size_t kMaxShownValue = 48;

std::string show_value(const OwnedValue& v) {
  std::string s;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          s = "null";
        else if constexpr (std::is_same_v<T, bool>)
          s = x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t>)
          s = std::to_string(x);
        else if constexpr (std::is_same_v<T, double>) {
          char b[32];
          std::snprintf(b, sizeof b, "%g", x);
          s = b;
        } else if constexpr (std::is_same_v<T, std::string>) {
          s = '"';
          s += x;
          s += '"';
        } else {
          char b[40];
          std::snprintf(b, sizeof b, "[%zu items]", x.size());
          s = b;
        }
      },
      v);
  if (s.size() > kMaxShownValue) {
    s.resize(kMaxShownValue - 3);
    s += "...";
  }
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

class ConsoleExporter final : public Exporter {
 public:
  ConsoleExporter(std::FILE* out, bool color) : out_(out), color_(color) {}

  ExportResult export_spans(std::span<const SpanView> batch) noexcept override {
    try {
      for (const SpanView& v : batch) {
        std::string key = v.trace_id.to_hex();
        auto [it, fresh] = traces_.try_emplace(key);
        if (fresh) order_.push_back(key);
        it->second.push_back(to_span_data(v));
        ++buffered_;
        if (!v.parent_span_id.valid() || v.parent_remote) print_trace(key);
      }
      while (buffered_ > kMaxBufferedSpans && !order_.empty()) print_trace(order_.front());
      std::fflush(out_);
      return ExportResult::success;
    } catch (...) {
      return ExportResult::failure;
    }
  }

  bool force_flush(std::chrono::steady_clock::time_point) noexcept override {
    try {
      while (!order_.empty()) print_trace(order_.front());
    } catch (...) {
    }
    std::fflush(out_);
    return true;
  }

 private:
  const char* c(const char* code) const { return color_ ? code : ""; }

  void print_trace(std::string key) {  // by value: callers pass order_.front(), erased here
    auto it = traces_.find(key);
    if (it == traces_.end()) return;
    std::vector<SpanData> spans = std::move(it->second);
    traces_.erase(it);
    order_.erase(std::find(order_.begin(), order_.end(), key));
    buffered_ -= spans.size();
    std::sort(spans.begin(), spans.end(), [](const SpanData& a, const SpanData& b) {
      return a.start_unix_nano < b.start_unix_nano;
    });
    std::string out;
    out += c("\x1b[1m");
    out += "trace ";
    out += key;
    out += c("\x1b[0m");
    out += "\n";
    // Roots: spans whose parent is not in this batch of the trace.
    std::vector<bool> printed(spans.size(), false);
    for (std::size_t i = 0; i < spans.size(); ++i) {
      bool has_parent = false;
      for (const auto& p : spans)
        has_parent =
            has_parent || (spans[i].parent_span_id.valid() && p.span_id == spans[i].parent_span_id);
      if (!has_parent) print_node(out, spans, printed, i, "", true, true);
    }
    std::fputs(out.c_str(), out_);
  }

  void print_node(std::string& out, const std::vector<SpanData>& spans, std::vector<bool>& printed,
                  std::size_t i, const std::string& indent, bool last, bool root) {
    if (printed[i]) return;
    printed[i] = true;
    const SpanData& s = spans[i];
    out += indent;
    if (!root) out += last ? "└─ " : "├─ ";
    out += c("\x1b[36m");
    out += s.name;
    out += c("\x1b[0m");
    char buf[64];
    std::snprintf(buf, sizeof buf, "  %s  %.3f ms", std::string(to_string(s.event_type)).c_str(),
                  static_cast<double>(s.end_unix_nano - s.start_unix_nano) / 1e6);
    out += buf;
    if (s.status == StatusCode::error) {
      out += c("\x1b[31m");
      out += "  ✗ error";
      if (!s.status_message.empty()) {
        out += ": ";
        out += s.status_message;
      }
      out += c("\x1b[0m");
    }
    std::size_t shown = 0;
    for (const auto& [k, v] : s.attributes) {
      if (k.rfind("honeyhive_event", 0) == 0 || k.rfind("honeyhive.", 0) == 0 ||
          k == "session.id" || k == "honeyhive_duration_ms" || k == "openinference.span.kind" ||
          k == "honeyhive_error") {
        continue;
      }
      if (shown++ == kMaxShownAttributes) {
        out += c("\x1b[2m");
        out += "  …";
        out += c("\x1b[0m");
        break;
      }
      out += c("\x1b[2m");
      out += "  ";
      out += k;
      out += '=';
      out += show_value(v);
      out += c("\x1b[0m");
    }
    out += "\n";
    std::vector<std::size_t> children;
    for (std::size_t j = 0; j < spans.size(); ++j) {
      if (spans[j].parent_span_id == s.span_id && !printed[j]) children.push_back(j);
    }
    std::string child_indent = indent;
    if (!root) child_indent += last ? "   " : "│  ";
    for (std::size_t k = 0; k < children.size(); ++k) {
      print_node(out, spans, printed, children[k], child_indent, k + 1 == children.size(), false);
    }
  }

  std::FILE* out_;
  bool color_;
  std::map<std::string, std::vector<SpanData>> traces_;
  std::deque<std::string> order_;
  std::size_t buffered_ = 0;
};

}  // namespace

std::shared_ptr<Exporter> make_console_exporter(ConsoleOptions options) {
  std::FILE* out = options.stream != nullptr ? options.stream : stderr;
  bool color = options.color.value_or(isatty(fileno(out)) != 0 &&
                                      !detail::env(detail::EnvVar::no_color).has_value());
  return std::make_shared<ConsoleExporter>(out, color);
}

}  // namespace skein
