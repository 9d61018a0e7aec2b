// The tail-sampling stage: owned copies of finished spans, grouped by trace, decided when the
// trace's local root ends.
#include <atomic>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "sampling.hpp"
#include "skein/exporter.hpp"

namespace skein {
namespace {

// An owned copy of a SpanView that can produce a SpanView again. Strings and arrays live in
// `blobs_`, whose elements never move.
class SpanCopy {
 public:
  explicit SpanCopy(const SpanView& v) : view_(v) {
    view_.trace_state = str(v.trace_state);
    view_.name = str(v.name);
    view_.status_message = str(v.status_message);
    attrs_ = copy_attrs(v.attributes);
    for (const EventView& e : v.events) {
      events_.push_back(EventView{str(e.name), e.time_unix_nano, {}});
      event_attrs_.push_back(copy_attrs(e.attributes));
    }
    for (std::size_t i = 0; i < events_.size(); ++i) events_[i].attributes = event_attrs_[i];
    for (const LinkView& l : v.links) {
      LinkView c = l;
      c.trace_state = str(l.trace_state);
      links_.push_back(c);
      link_attrs_.push_back(copy_attrs(l.attributes));
    }
    for (std::size_t i = 0; i < links_.size(); ++i) links_[i].attributes = link_attrs_[i];
    view_.attributes = attrs_;
    view_.events = events_;
    view_.links = links_;
  }
  SpanCopy(const SpanCopy&) = delete;
  SpanCopy& operator=(const SpanCopy&) = delete;

  const SpanView& view() const { return view_; }

 private:
  std::string_view str(std::string_view s) {
    if (s.empty()) return {};
    blobs_.emplace_back(s);
    return blobs_.back();
  }
  template <class T>
  const T* array(std::span<const T> a) {
    auto& b = blobs_.emplace_back(a.size() * sizeof(T), '\0');
    std::memcpy(b.data(), a.data(), a.size() * sizeof(T));
    return reinterpret_cast<const T*>(b.data());
  }
  std::vector<Attribute> copy_attrs(std::span<const Attribute> in) {
    std::vector<Attribute> out;
    out.reserve(in.size());
    for (const Attribute& a : in) {
      AttrValue v = a.value;
      using T = AttrValue::Type;
      switch (v.type()) {
        case T::string: v = AttrValue(str(v.as_string())); break;
        case T::bool_array: v = AttrValue(T::bool_array, array(v.bools()), v.bools().size()); break;
        case T::int64_array: v = AttrValue(T::int64_array, array(v.ints()), v.ints().size()); break;
        case T::float64_array:
          v = AttrValue(T::float64_array, array(v.doubles()), v.doubles().size());
          break;
        case T::string_array: {
          std::vector<std::string_view> items;
          for (auto s : v.strings()) items.push_back(str(s));
          const std::string_view* p = array(std::span<const std::string_view>(items));
          v = AttrValue(T::string_array, p, items.size());
          break;
        }
        default: break;
      }
      out.push_back(Attribute{str(a.key), v});
    }
    return out;
  }

  SpanView view_;
  std::deque<std::string> blobs_;
  std::vector<Attribute> attrs_;
  std::vector<EventView> events_;
  std::vector<std::vector<Attribute>> event_attrs_;
  std::vector<LinkView> links_;
  std::vector<std::vector<Attribute>> link_attrs_;
};

class TailSampler final : public Exporter {
 public:
  TailSampler(TailSamplingOptions o, std::vector<std::shared_ptr<Exporter>> next)
      : o_(std::move(o)),
        next_(std::move(next)),
        threshold_(detail::probability_to_threshold(o_.probability)) {}

  ExportResult export_spans(std::span<const SpanView> batch) noexcept override {
    try {
      auto now = std::chrono::steady_clock::now();
      for (const SpanView& v : batch) {
        auto [it, fresh] = traces_.try_emplace(key(v.trace_id));
        if (fresh) {
          it->second.first_seen = now;
          order_.push_back(it->first);
        }
        it->second.spans.push_back(std::make_unique<SpanCopy>(v));
        ++held_;
        if (!v.parent_span_id.valid() || v.parent_remote) decide(it->first);
      }
      // Bounded memory and time: decide the oldest traces early.
      while (!order_.empty()) {
        auto it = traces_.find(order_.front());
        if (it == traces_.end()) {
          order_.pop_front();
          continue;
        }
        if (held_ <= o_.max_spans && now - it->second.first_seen < o_.max_wait) break;
        decide(order_.front());
      }
      return ExportResult::success;
    } catch (...) {
      return ExportResult::failure;
    }
  }

  bool force_flush(std::chrono::steady_clock::time_point deadline) noexcept override {
    bool ok = true;
    for (auto& e : next_) ok = e->force_flush(deadline) && ok;
    return ok;
  }

  bool shutdown(std::chrono::steady_clock::time_point deadline) noexcept override {
    try {
      while (!order_.empty()) decide(order_.front());
    } catch (...) {
    }
    bool ok = true;
    for (auto& e : next_) ok = e->shutdown(deadline) && ok;
    return ok;
  }

  ExporterStats stats() const noexcept override {
    ExporterStats s;
    for (const auto& e : next_) s += e->stats();
    s.discarded_tail_sampling += discarded_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  struct Trace {
    std::chrono::steady_clock::time_point first_seen;
    std::vector<std::unique_ptr<SpanCopy>> spans;
  };
  using Key = std::pair<std::uint64_t, std::uint64_t>;
  static Key key(TraceId t) { return {t.hi, t.lo}; }

  void decide(Key k) {
    auto it = traces_.find(k);
    if (it == traces_.end()) return;
    std::vector<SpanView> views;
    views.reserve(it->second.spans.size());
    for (const auto& c : it->second.spans) views.push_back(c->view());
    if (keep(views)) {
      for (auto& e : next_) {
        try {
          e->export_spans(views);
        } catch (...) {
        }
      }
    } else {
      discarded_.fetch_add(views.size(), std::memory_order_relaxed);
    }
    held_ -= views.size();
    traces_.erase(it);
    for (auto o = order_.begin(); o != order_.end(); ++o) {
      if (*o == k) {
        order_.erase(o);
        break;
      }
    }
  }

  bool keep(std::span<const SpanView> spans) const {
    if (spans.empty()) return false;
    if (o_.keep_errors) {
      for (const SpanView& s : spans) {
        if (s.status == StatusCode::error) return true;
      }
    }
    if (o_.slow_threshold.count() > 0) {
      for (const SpanView& s : spans) {
        bool root = !s.parent_span_id.valid() || s.parent_remote;
        auto ns = static_cast<std::int64_t>(s.end_unix_nano - s.start_unix_nano);
        if (root &&
            ns >= std::chrono::duration_cast<std::chrono::nanoseconds>(o_.slow_threshold).count()) {
          return true;
        }
      }
    }
    if (o_.keep_if) {
      try {
        if (o_.keep_if(spans)) return true;
      } catch (...) {
      }
    }
    if (o_.probability <= 0) return false;
    return (spans.front().trace_id.lo & (detail::kMaxThreshold - 1)) >= threshold_;
  }

  TailSamplingOptions o_;
  std::vector<std::shared_ptr<Exporter>> next_;
  std::uint64_t threshold_;
  std::map<Key, Trace> traces_;
  std::deque<Key> order_;
  std::size_t held_ = 0;
  std::atomic<std::uint64_t> discarded_{0};
};

}  // namespace

std::shared_ptr<Exporter> make_tail_sampler(TailSamplingOptions options,
                                            std::vector<std::shared_ptr<Exporter>> next) {
  return std::make_shared<TailSampler>(std::move(options), std::move(next));
}

}  // namespace skein
