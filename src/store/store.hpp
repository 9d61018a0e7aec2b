// The local trace store: one SQLite file in WAL mode, written by `skein serve` and by the SDK's
// store exporter, read by every `skein` command and by the web page.
//
// Threading: a `Store` is one SQLite connection and is used by one thread at a time. Writers
// (the collector's writer thread, an SDK pipeline thread) each hold their own `Store`; SQLite's
// WAL lets readers run while one writer commits, and a busy timeout serialises writers from
// different processes. Each `write` is one transaction; it returns after the commit, so a caller
// that acknowledges after `write` never acknowledges a span that a crash could lose
// (synchronous=NORMAL in WAL mode survives the death of the process; only a power loss can undo
// the last commits).
//
// Schema (version 5): `spans` (one row per span, numbered by its trace's number in `traces` and
// its place in the trace: ids are random, numbers grow, so new traces' rows are appended, and a
// trace's spans are one range of numbers; its attributes in order, each a reference to its
// `attr_values` row when indexed, else its JSON text: see store.cpp), `events`, `links`,
// `resources` (deduplicated resource attributes), `traces` (one row per trace id, numbered, never
// reusing a number; with the summaries kept up to date by every write, for the lists) and
// `sessions`, `attr_values` (each distinct short attribute key and value, once),
// `trace_attr_bits` (value id, block of 32 trace numbers, bitmap: for attribute search) and
// `counters`. A writer migrates files of schema 2, 3 (spans keyed by trace id and span id, one
// attribute index row per value and trace) and 4 (spans numbered in arrival order, with a unique
// index on trace number and span id) when it opens them; readers read them as they are.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "otlp/model.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace skein::store {

/// The file `skein` and the SDK's store exporter use when none is given: SKEIN_STORE_PATH, else
/// $HOME/.skein/skein.db, else ./skein.db.
std::string default_store_path();

/// What one `write` did.
struct WriteResult {
  bool ok = false;             ///< committed
  std::string error;           ///< when not ok
  std::uint64_t accepted = 0;  ///< spans stored
  std::uint64_t rejected = 0;  ///< spans refused (invalid ids)
  std::string reject_message;  ///< why, for the first refused span
};

/// Counters kept in the store (added to by writes and by the collector).
struct Counters {
  std::uint64_t requests = 0, requests_failed = 0, spans_accepted = 0, spans_rejected = 0,
                bytes_received = 0, spans_deleted = 0;
};

struct Retention {
  std::uint32_t max_age_days = 0;  ///< 0 = keep forever
  std::uint64_t max_bytes = 0;     ///< 0 = no size cap
};

struct TraceFilter {
  std::string service{}, session{}, user{};
  std::string status{};  ///< "", "error", "ok", "unset"
  std::uint64_t min_duration_ns = 0;
  std::uint64_t since_ns = 0, until_ns = 0;  ///< on the trace start; 0 = open
  std::string search{};                      ///< "key=value" (attribute index) or text (names, ids)
  std::uint64_t before_ns = 0;               ///< paging: traces that started strictly before
  std::uint32_t limit = 50;
};

struct TraceSummary {
  std::string trace_id, root_span_id, root_name, service, session_id, user_id;
  std::uint64_t start_ns = 0, end_ns = 0, span_count = 0, error_count = 0;
  bool has_true_root = false;  ///< false when the earliest span has a (remote or missing) parent
};

struct StoredEvent {
  std::string name, attributes_json;
  std::uint64_t time_ns = 0;
};
struct StoredLink {
  std::string trace_id, span_id, trace_state, attributes_json;
  std::uint32_t flags = 0;
};
struct StoredSpan {
  std::string trace_id, span_id, parent_span_id, name, status_message, service, session_id, user_id,
      event_type, scope_name, scope_version, trace_state, attributes_json, resource_json;
  std::int32_t kind = 0, status = 0;
  std::uint32_t flags = 0;
  std::uint64_t start_ns = 0, end_ns = 0;
  std::uint32_t dropped_attributes = 0, dropped_events = 0, dropped_links = 0;
  std::vector<StoredEvent> events;
  std::vector<StoredLink> links;
};

struct SessionSummary {
  std::string session_id, service, user_id;
  std::uint64_t start_ns = 0, end_ns = 0, span_count = 0, error_count = 0, trace_count = 0;
};

struct StoreStats {
  Counters counters;
  std::uint64_t spans_stored = 0, traces_stored = 0, sessions_stored = 0;
  std::uint64_t file_bytes = 0, used_bytes = 0;
  std::string path;
};

/// The text a batch's rows are made of, derived from its spans without the database: the
/// attributes (JSON members and index entries), session / user / event type. `Store::prepare`
/// fills it on any thread, so that a request thread can do that work while the writer stores
/// the previous part of the request. Offsets are into `text`.
struct PreparedBatch {
  struct Range {
    std::size_t begin = 0, end = 0;
  };
  struct Span {
    Range session, user, event_type;
    std::size_t pieces_begin = 0, pieces_end = 0;  ///< into `pieces`: its attributes, in order
  };
  struct IndexEntry {
    Range key_value;  ///< "key\0value"
    std::size_t hash = 0;
  };
  /// One attribute: an indexed value (stored as a reference to its `attr_values` row) or a
  /// JSON member `"key":value` (stored as text).
  struct Piece {
    char type = 0;  ///< 's', 'i', 'b': index entry `index` of that AnyValue type; 0: `json`
    std::size_t index = 0;
    Range json;
  };
  struct Resource {
    Range json, service;
  };
  std::string text;
  std::vector<Resource> resources;  ///< one per resource_spans
  std::vector<Span> spans;          ///< every span, in message order
  std::vector<IndexEntry> index;    ///< each distinct indexed value of the batch once
  std::vector<Piece> pieces;
  [[nodiscard]] std::string_view view(Range r) const noexcept {
    return std::string_view(text).substr(r.begin, r.end - r.begin);
  }
};

class Store {
 public:
  /// See PreparedBatch; `out` is overwritten (its buffers are reused).
  static void prepare(const otlp::TracesRequest& batch, PreparedBatch& out);

  enum class Mode : std::uint8_t { read_write, read_only };
  /// Opens (creating when writable) the store at `path`; null with `error` set on failure.
  static std::unique_ptr<Store> open(const std::string& path, Mode mode, std::string& error);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- writing (one thread) ----
  /// Stores a batch in one transaction, with `extra` added to the counters.
  WriteResult write(const otlp::TracesRequest& batch, const Counters& extra = {});
  /// Several batches in one transaction (group commit), one result each: all committed, or (when
  /// one fails) each batch retried in its own transaction.
  std::vector<WriteResult> write_group(const std::vector<const otlp::TracesRequest*>& batches,
                                       const std::vector<Counters>& extras);
  /// A request written in parts (as it is decoded), in the caller's transaction: `begin`, then
  /// `append` for each part with the same `res` (its counts, and the span numbers in its
  /// message, run across the parts) and the sorted span ids of the whole request (a span whose
  /// parent is elsewhere in the request is not a root candidate; null: the part is the whole
  /// request) and, optionally, the part already prepared (see PreparedBatch), then `commit` or
  /// `rollback`.
  /// Any number of requests may share the transaction. A failed `append` or `commit` leaves
  /// nothing written: the caller rolls back (commit does it itself).
  bool begin(std::string* error = nullptr);
  bool append(const otlp::TracesRequest& part, const Counters& extra, WriteResult& res,
              const std::vector<std::uint64_t>* request_span_ids = nullptr,
              const PreparedBatch* prepared = nullptr);
  bool commit(std::string* error = nullptr);
  void rollback();
  /// Adds to the counters only.
  bool add_counters(const Counters& extra, std::string* error = nullptr);
  /// Deletes whole traces, oldest first, older than the age limit or past the size cap.
  /// Returns the number of spans deleted.
  std::uint64_t apply_retention(const Retention& r, std::string* error = nullptr);

  /// Leaves checkpoints to another connection (see `checkpoint`): commits on this one only append
  /// to the WAL. `wal_frames` then reports the WAL's length after the last commit.
  void disable_autocheckpoint();
  [[nodiscard]] int wal_frames() const noexcept {
    return wal_frames_.load(std::memory_order_relaxed);
  }
  /// Copies committed WAL frames into the database without blocking writers (PASSIVE).
  bool checkpoint(std::string* error = nullptr);

  // ---- reading ----
  std::vector<TraceSummary> list_traces(const TraceFilter& f, std::string* error = nullptr);
  /// Every span of a trace (by hex id or unique prefix of at least 8 digits), ordered by start.
  std::vector<StoredSpan> get_trace(std::string_view trace_id, std::string* error = nullptr);
  /// The trace that started last.
  std::optional<std::string> last_trace_id();
  std::vector<SessionSummary> list_sessions(std::uint32_t limit, std::uint64_t before_ns = 0,
                                            std::string* error = nullptr);
  /// The spans of a session, ordered by start.
  std::vector<StoredSpan> get_session(std::string_view session_id, std::uint32_t limit = 10000,
                                      std::string* error = nullptr);
  /// Distinct values for filter menus.
  std::vector<std::string> services();
  StoreStats stats();

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  Store() = default;
  struct Statements;
  bool exec(const char* sql, std::string* error);
  /// The rows of one batch, inside the caller's transaction; false (with res.error) on failure.
  bool write_rows(const otlp::TracesRequest& batch, const Counters& extra, WriteResult& res,
                  const std::vector<std::uint64_t>* request_span_ids = nullptr,
                  const PreparedBatch* prepared = nullptr);
  bool init_schema(std::string& error);
  /// Schema 2 and 3 spans into the schema 4 table, in the open transaction.
  bool migrate_spans(std::string& error);
  /// Schema 4 spans into the schema 5 table (numbered by trace), with their events and links.
  bool migrate_span_numbers(std::string& error);
  /// Schema 3's attribute index (`trace_attrs`) into `trace_attr_bits`, when there is one.
  bool migrate_attr_index(std::string& error);
  /// The file's schema version, read again by each reader call: another connection may have
  /// migrated it since this one opened.
  int schema();
  std::int64_t resource_id(std::string_view json);
  /// BEGIN IMMEDIATE, with the last transaction's state forgotten.
  bool begin_tx(std::string* error);
  void forget_transaction();
  /// What the open transaction knows of a trace it writes to: its number (`pk`, a new one when
  /// it is not stored), whether its `traces` row exists, and the ordinal its next span takes
  /// (span numbers: see kSpanBits in store.cpp). The first call for a stored trace reads its
  /// spans' ids into tx_spans_. Null on error.
  struct TxTrace {
    std::int64_t pk = 0, next_ordinal = 0;
    bool has_row = false;
  };
  TxTrace* tx_trace(const TraceId& id);
  /// A part's summary of a trace (store.cpp).
  struct TraceAgg;
  /// The id of an indexed "key\0value" (hash: std::hash of it) in `attr_values`, added when new;
  /// 0 on error.
  std::int64_t attr_id(std::string_view key_value, std::size_t hash);
  /// After a rollback: ids cached from the rolled-back transaction are gone.
  void forget_uncommitted() {
    resource_cache_.clear();
    attr_cache_.clear();
    forget_transaction();
  }
  bool delete_trace_ids(const std::vector<std::string>& blobs, std::uint64_t& spans_deleted);
  std::vector<StoredSpan> read_spans(sqlite3_stmt* st);
  /// The JSON object of a span's `attributes` column (see store.cpp: kAttrRef).
  void expand_attributes(std::string_view column, std::string& out);

  sqlite3* db_ = nullptr;
  std::string path_;
  std::unique_ptr<Statements> st_;
  std::vector<std::pair<std::string, std::int64_t>> resource_cache_;
  /// A "key\0value" found with its hash computed beforehand (by `prepare`, on another thread).
  struct HashedKey {
    std::string_view text;
    std::size_t hash;
  };
  struct AttrHash {
    using is_transparent = void;
    std::size_t operator()(const std::string& s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
    std::size_t operator()(const HashedKey& k) const noexcept { return k.hash; }
  };
  struct AttrEq {
    using is_transparent = void;
    bool operator()(const std::string& a, const std::string& b) const noexcept { return a == b; }
    bool operator()(const HashedKey& a, const std::string& b) const noexcept { return a.text == b; }
    bool operator()(const std::string& a, const HashedKey& b) const noexcept { return a == b.text; }
  };
  std::unordered_map<std::string, std::int64_t, AttrHash, AttrEq>
      attr_cache_;          ///< "key\0value" -> attr_values.id
  PreparedBatch prepared_;  ///< scratch: the batch being written, when not prepared by the caller
  std::vector<std::uint64_t> span_ids_;      ///< scratch: a batch's sorted span ids
  std::string attrs_column_;                 ///< scratch: the pending spans' `attributes` columns
  std::vector<std::int64_t> span_attr_ids_;  ///< scratch: the pending spans' indexed values
  /// A span waiting for its INSERT (several go in one statement); views into the batch and
  /// its PreparedBatch, ranges into attrs_column_ and span_attr_ids_.
  struct PendingSpan {
    const otlp::Span* span = nullptr;
    const otlp::ScopeSpans* scope = nullptr;
    std::string_view service, session, user, event_type;
    std::int64_t resource = 0, pk = 0;
    std::uint64_t start = 0, end = 0;
    std::size_t attrs_begin = 0, attrs_end = 0, ids_begin = 0, ids_end = 0;
    unsigned char id_bytes[16];  ///< its span id and parent span id as stored (big-endian)
  };
  std::vector<PendingSpan> pending_;
  std::vector<std::int64_t> entry_ids_;  ///< scratch: attr_values ids of PreparedBatch::index
  struct AttrBits {
    std::int64_t attr, block, bits;
  };
  std::vector<AttrBits> bits_;          ///< scratch: the batch's rows of `trace_attr_bits`
  sqlite3_stmt* attr_by_id_ = nullptr;  ///< reading: key and value of an `attr_values` id
  std::unordered_map<std::int64_t, std::pair<std::string, std::string>> attr_text_;
  std::atomic<int> wal_frames_{0};

  // The open transaction's traces and spans (see TxTrace), forgotten at the next BEGIN.
  struct TxTraceHash {
    std::size_t operator()(const TraceId& t) const noexcept {
      return static_cast<std::size_t>(t.lo ^ (t.hi * 0x9E3779B97F4A7C15ULL));
    }
  };
  std::unordered_map<TraceId, TxTrace, TxTraceHash> tx_traces_;
  /// (trace number, span id) of every span the transaction's traces hold: an open-addressing
  /// set (trace numbers are never 0).
  class SpanKeys {
   public:
    /// False when the pair is in the set already.
    bool insert(std::int64_t trace, std::uint64_t span);
    void clear();

   private:
    struct Key {
      std::int64_t trace = 0;
      std::uint64_t span = 0;
    };
    std::vector<Key> slots_;
    std::size_t size_ = 0;
  };
  SpanKeys tx_spans_;
  std::int64_t tx_next_trace_pk_ = 0;   ///< the next new trace's number; 0: not read yet
  std::int64_t tx_saved_trace_pk_ = 0;  ///< what `counters` holds of it
};

}  // namespace skein::store
