// The viewer's files (web/), compiled into the binary by cmake/embed_assets.cmake.
#pragma once

#include <string_view>

namespace skein::collector {

struct Asset {
  std::string_view path;  ///< "/index.html", "/app.js", ...
  std::string_view content_type;
  std::string_view body;
};

/// The asset served at `path` ("/" is "/index.html"), or null.
const Asset* find_asset(std::string_view path) noexcept;

}  // namespace skein::collector
