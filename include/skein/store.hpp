// skein/store.hpp — the local store: spans written straight into the SQLite file `skein` reads.
//
// The embedded default: a program with no exporter configured (`ExporterKind::automatic` and no
// OTLP endpoint) writes its spans into the store at `Options::store_path` (SKEIN_STORE_PATH, else
// ~/.skein/skein.db), and `skein traces`, `skein show --last` or the page of `skein serve` show
// them at once. No server is needed; several programs and a running `skein serve` can write the
// same file (SQLite WAL; writers take turns).
//
// The exporter writes each batch it is given in one transaction, on the tracer's pipeline thread;
// application threads never touch the file. Available when skein was built with SQLite
// (SKEIN_WITH_STORE, on by default); otherwise `make_store_exporter` returns null and says why.
#pragma once

#include <memory>
#include <string>

#include "skein/exporter.hpp"

namespace skein {

/// SKEIN_STORE_PATH, else $HOME/.skein/skein.db, else ./skein.db.
std::string default_store_path();

/// An exporter writing into the store at `path` (the default path when empty), creating the file
/// and its directory when needed. Null, with `error` set, when the file cannot be opened.
std::shared_ptr<Exporter> make_store_exporter(const std::string& path = {},
                                              std::string* error = nullptr);

}  // namespace skein
