// The exporter objects a finalized configuration asks for.
#include "skein/config.hpp"
#include "skein/exporter.hpp"
#if SKEIN_HAS_OTLP
#include "skein/otlp.hpp"
#endif
#if SKEIN_HAS_STORE
#include "skein/store.hpp"
#endif

namespace skein::detail {

std::vector<std::shared_ptr<Exporter>> make_builtin_exporters(const FinalizedOptions& o, Error& e) {
  std::vector<std::shared_ptr<Exporter>> out;
  switch (o.exporter) {
    case ExporterKind::automatic:
      // With exporter objects given, automatic adds nothing; otherwise the local store that
      // `skein` reads, or the console when there is no store (no SQLite, or the file can't open).
      if (o.exporters.empty()) {
#if SKEIN_HAS_STORE
        if (auto s = make_store_exporter(o.store_path)) {
          out.push_back(std::move(s));
          break;
        }
#endif
        out.push_back(make_console_exporter());
      }
      break;
    case ExporterKind::store: {
#if SKEIN_HAS_STORE
      std::string why;
      auto s = make_store_exporter(o.store_path, &why);
      if (!s) {
        e = Error{ErrorCode::exporter_unavailable, "store exporter: " + why};
        return {};
      }
      out.push_back(std::move(s));
#else
      e = Error{ErrorCode::exporter_unavailable,
                "store exporter: skein was built without SQLite (SKEIN_WITH_STORE=OFF)"};
      return {};
#endif
      break;
    }
    case ExporterKind::console: out.push_back(make_console_exporter()); break;
    case ExporterKind::file: {
      std::string why;
      auto f = make_file_exporter(o.file_path, &why);
      if (!f) {
        e = Error{ErrorCode::exporter_unavailable, "file exporter: " + why};
        return {};
      }
      out.push_back(std::move(f));
      break;
    }
    case ExporterKind::otlp: {
#if SKEIN_HAS_OTLP
      auto x = make_otlp_exporter(o.otlp, &e);
      if (!x) return {};
      out.push_back(std::move(x));
#else
      e = Error{ErrorCode::exporter_unavailable,
                "otlp exporter: skein was built without OTLP support (SKEIN_WITH_OTLP=OFF)"};
      return {};
#endif
      break;
    }
    case ExporterKind::none: break;
  }
  out.insert(out.end(), o.exporters.begin(), o.exporters.end());
  return out;
}

}  // namespace skein::detail
