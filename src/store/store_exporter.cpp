// The store exporter: finished spans converted to the OTLP model and written in one transaction
// per batch. See skein/store.hpp.
#include <unordered_map>

#include "otlp/model.hpp"
#include "skein/store.hpp"
#include "store.hpp"

namespace skein {
namespace {

otlp::AnyValue any(const AttrValue& v) {
  using T = AttrValue::Type;
  otlp::AnyValue a;
  auto scalar = [](auto x) {
    otlp::AnyValue s;
    using X = decltype(x);
    if constexpr (std::is_same_v<X, bool>) {
      s.type = otlp::AnyValue::Type::boolean;
      s.bool_value = x;
    } else if constexpr (std::is_same_v<X, std::int64_t>) {
      s.type = otlp::AnyValue::Type::int64;
      s.int_value = x;
    } else if constexpr (std::is_same_v<X, double>) {
      s.type = otlp::AnyValue::Type::float64;
      s.double_value = x;
    } else {
      s.type = otlp::AnyValue::Type::string;
      s.string_value.assign(x);
    }
    return s;
  };
  switch (v.type()) {
    case T::empty: break;
    case T::boolean: a = scalar(v.as_bool()); break;
    case T::int64: a = scalar(v.as_int()); break;
    case T::float64: a = scalar(v.as_double()); break;
    case T::string: a = scalar(v.as_string()); break;
    case T::bool_array:
      a.type = otlp::AnyValue::Type::array;
      for (bool b : v.bools()) a.array_value.push_back(scalar(b));
      break;
    case T::int64_array:
      a.type = otlp::AnyValue::Type::array;
      for (auto i : v.ints()) a.array_value.push_back(scalar(i));
      break;
    case T::float64_array:
      a.type = otlp::AnyValue::Type::array;
      for (auto d : v.doubles()) a.array_value.push_back(scalar(d));
      break;
    case T::string_array:
      a.type = otlp::AnyValue::Type::array;
      for (auto s : v.strings()) a.array_value.push_back(scalar(s));
      break;
  }
  return a;
}

void add_attributes(otlp::Attributes& out, std::span<const Attribute> attrs) {
  for (const auto& a : attrs) out.push_back({std::string(a.key), any(a.value)});
}

otlp::Span convert(const SpanView& s) {
  otlp::Span o;
  o.trace_id = s.trace_id;
  o.span_id = s.span_id;
  o.parent_span_id = s.parent_span_id;
  o.trace_state.assign(s.trace_state);
  o.flags = s.flags | 0x100u | (s.parent_remote ? 0x200u : 0u);
  o.name.assign(s.name);
  o.kind = static_cast<std::int32_t>(s.kind) + 1;  // OTLP: 1 internal .. 5 consumer
  o.start_time_unix_nano = s.start_unix_nano;
  o.end_time_unix_nano = s.end_unix_nano;
  CoreAttributes core = core_attributes(s);
  o.attributes.reserve(core.size + s.attributes.size());
  add_attributes(o.attributes, core.view());
  add_attributes(o.attributes, s.attributes);
  o.dropped_attributes_count = s.dropped_attributes;
  for (const auto& e : s.events) {
    otlp::Event ev;
    ev.name.assign(e.name);
    ev.time_unix_nano = e.time_unix_nano;
    add_attributes(ev.attributes, e.attributes);
    o.events.push_back(std::move(ev));
  }
  o.dropped_events_count = s.dropped_events;
  for (const auto& l : s.links) {
    otlp::Link ln;
    ln.trace_id = l.trace_id;
    ln.span_id = l.span_id;
    ln.trace_state = std::string(l.trace_state);
    ln.flags = l.flags | 0x100u | (l.remote ? 0x200u : 0u);
    add_attributes(ln.attributes, l.attributes);
    o.links.push_back(std::move(ln));
  }
  o.dropped_links_count = s.dropped_links;
  o.status.code = static_cast<std::int32_t>(s.status);
  o.status.message.assign(s.status_message);
  return o;
}

class StoreExporter final : public Exporter {
 public:
  explicit StoreExporter(std::unique_ptr<store::Store> st) : store_(std::move(st)) {}

  ExportResult export_spans(std::span<const SpanView> batch) noexcept override {
    if (batch.empty()) return ExportResult::success;
    try {
      otlp::TracesRequest req;
      std::unordered_map<const Resource*, std::size_t> by_resource;
      for (const auto& s : batch) {
        auto [it, fresh] = by_resource.try_emplace(s.resource, req.resource_spans.size());
        if (fresh) {
          auto& rs = req.resource_spans.emplace_back();
          if (s.resource != nullptr)
            for (const auto& [k, v] : s.resource->attributes) {
              otlp::AnyValue a;
              a.type = otlp::AnyValue::Type::string;
              a.string_value = v;
              rs.resource.attributes.push_back({k, std::move(a)});
            }
          auto& ss = rs.scope_spans.emplace_back();
          ss.scope.name = "skein";
          ss.scope.version = "0.1.0";
        }
        req.resource_spans[it->second].scope_spans[0].spans.push_back(convert(s));
      }
      auto r = store_->write(req);
      return r.ok ? ExportResult::success : ExportResult::failure;
    } catch (...) {
      return ExportResult::failure;
    }
  }

 private:
  std::unique_ptr<store::Store> store_;
};

}  // namespace

std::string default_store_path() {
  return store::default_store_path();
}

std::shared_ptr<Exporter> make_store_exporter(const std::string& path, std::string* error) {
  std::string why;
  auto st = store::Store::open(path.empty() ? store::default_store_path() : path,
                               store::Store::Mode::read_write, why);
  if (!st) {
    if (error != nullptr) *error = why;
    return nullptr;
  }
  return std::make_shared<StoreExporter>(std::move(st));
}

}  // namespace skein
