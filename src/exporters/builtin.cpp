// The exporter objects a finalized configuration asks for.
#include "skein/config.hpp"
#include "skein/exporter.hpp"

namespace skein::detail {

std::vector<std::shared_ptr<Exporter>> make_builtin_exporters(const FinalizedOptions& o, Error& e) {
  std::vector<std::shared_ptr<Exporter>> out;
  switch (o.exporter) {
    case ExporterKind::automatic:
      // With exporter objects given, automatic adds nothing; otherwise the console.
      if (o.exporters.empty()) out.push_back(make_console_exporter());
      break;
    case ExporterKind::console:
      out.push_back(make_console_exporter());
      break;
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
    case ExporterKind::none:
      break;
  }
  out.insert(out.end(), o.exporters.begin(), o.exporters.end());
  return out;
}

}  // namespace skein::detail
