// The SQLite store; see store.hpp.
#include "store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "env.hpp"
#include "json_writer.hpp"
#include "wal_batch.hpp"

namespace skein::store {

using otlp::AnyValue;
using otlp::Attributes;

std::string default_store_path() {
  using detail::EnvVar;
  if (auto p = detail::env(EnvVar::skein_store_path)) return *p;
  if (auto home = detail::env(EnvVar::home)) return *home + "/.skein/skein.db";
  return "skein.db";
}

#define SKEIN_BETTER_ROOT "(excluded.root_rank<root_rank OR excluded.root_span_id=root_parent_id)"

namespace {

// 3: the spans' attributes column holds, for each attribute in order, either kAttrRef, the
// value's type ('s', 'i', 'b') and the decimal id of its `attr_values` row (key and value as
// text: the indexed attributes), or kAttrJson and the member `"key":value` in JSON. JSON text has
// no control characters, so the markers delimit the entries, and LIKE still finds the JSON
// members. Schema 2 rows hold JSON objects (starting with '{'), which readers return unchanged.
// 4: spans are a rowid table (their number, `id`) with a unique index on (trace_pk, span id),
// trace_pk being their trace's number in `traces`, instead of keyed by (trace id, span id). Trace
// ids are random: a key that starts with them scatters every commit's rows over the whole b-tree
// (a page written per trace), where numbers grow, so new rows are appended (and a rowid table
// appends without rebalancing its last pages). Trace numbers are never reused (a counter), so
// that the attribute index can keep the bits of deleted traces.
// The attribute index is `trace_attr_bits`: for each value and block of 32 trace numbers, a
// bitmap of the traces that have it (bit 62 always set, so that SQLite stores every bitmap in
// 8 bytes and overwrites it in place). Rows keyed by (value, trace) went in at the end of each
// value's range, in the middle of the b-tree, where SQLite rebalances a page every few inserts:
// 30 % of the writer's work for 13 indexed values per span. Writers migrate files of schema 2
// and 3 when they open them; readers read them as they are (see span_select).
// 5: a span's number (`id`, the rowid) is its trace's number shifted left by kSpanBits plus its
// ordinal in the trace (0, 1, 2... in arrival order), and there is no unique index on (trace
// number, span id) any more: a trace's spans are the rowid range of its number, and new traces
// are appended to the table's b-tree (SQLite's quick balance), where the index, a second b-tree,
// was rebalanced in full every ~25 entries (12 % of the writer's instructions). The writer keeps
// a span once per (trace, span id) itself: the span ids of the traces a transaction writes to
// are kept in memory for the transaction, those already stored read once (a range scan of their
// trace). Events and links refer to these numbers. Writers migrate files of schema 2 to 4.
constexpr int kSchemaVersion = 5;
// Bits of a span's number that hold its ordinal in its trace: at most 2^24 spans per trace.
constexpr int kSpanBits = 24;
constexpr std::int64_t kSpanOrdinalMask = (std::int64_t{1} << kSpanBits) - 1;
constexpr char kAttrRef = '\x01', kAttrJson = '\x02';
// Attribute values longer than this are not put in the search index (inputs, outputs, prompts).
constexpr std::size_t kMaxIndexedValue = 128;
// Attributes indexed per span, at most (the first ones).
constexpr std::int64_t kAttrSlots = 64;
// Traces per row of `trace_attr_bits` (bits 0-31), and the bit that fixes its size.
constexpr int kBitsShift = 5;
constexpr std::int64_t kBitsMarker = std::int64_t{1} << 62;

// The spans table of schema 4, for the migration of files of schema 2 and 3 (to 4, then 5).
#define SKEIN_SPANS_TABLE_4                                                                        \
  "(id INTEGER PRIMARY KEY, trace_pk INTEGER NOT NULL, span_id BLOB NOT NULL, parent_span_id "     \
  "BLOB, name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER "    \
  "NOT NULL, status INTEGER NOT NULL, status_message TEXT, service TEXT, session_id TEXT, "        \
  "user_id TEXT, event_type TEXT, resource_id INTEGER, scope_name TEXT, scope_version TEXT, "      \
  "flags INTEGER, trace_state TEXT, attributes TEXT NOT NULL, n_events INTEGER NOT NULL, n_links " \
  "INTEGER NOT NULL, dropped_attributes INTEGER, dropped_events INTEGER, dropped_links INTEGER)"
// The spans table (schema 5): `id` is trace number << kSpanBits | ordinal in the trace.
#define SKEIN_SPANS_TABLE                                                                          \
  "(id INTEGER PRIMARY KEY, span_id BLOB NOT NULL, parent_span_id "                                \
  "BLOB, name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER "    \
  "NOT NULL, status INTEGER NOT NULL, status_message TEXT, service TEXT, session_id TEXT, "        \
  "user_id TEXT, event_type TEXT, resource_id INTEGER, scope_name TEXT, scope_version TEXT, "      \
  "flags INTEGER, trace_state TEXT, attributes TEXT NOT NULL, n_events INTEGER NOT NULL, n_links " \
  "INTEGER NOT NULL, dropped_attributes INTEGER, dropped_events INTEGER, dropped_links INTEGER)"
// Its index (made after the spans of older files are copied in).
#define SKEIN_SPANS_INDEXES                                                                      \
  "CREATE INDEX IF NOT EXISTS spans_by_session ON spans(session_id, start_ns) WHERE session_id " \
  "IS NOT NULL;"

// Events and links, keyed by their span's number (`span_pk`) and their place in it.
#define SKEIN_EVENTS_TABLE                                                                    \
  "(span_pk INTEGER NOT NULL, seq INTEGER NOT NULL, time_ns INTEGER NOT NULL, name TEXT NOT " \
  "NULL, attributes TEXT NOT NULL, PRIMARY KEY(span_pk, seq)) WITHOUT ROWID"
#define SKEIN_LINKS_TABLE                                                                        \
  "(span_pk INTEGER NOT NULL, seq INTEGER NOT NULL, trace_id BLOB NOT NULL, span_id BLOB NOT "   \
  "NULL, trace_state TEXT, flags INTEGER, attributes TEXT NOT NULL, PRIMARY KEY(span_pk, seq)) " \
  "WITHOUT ROWID"

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS resources("
    "id INTEGER PRIMARY KEY, attributes TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS spans" SKEIN_SPANS_TABLE
    ";"
    "CREATE TABLE IF NOT EXISTS events" SKEIN_EVENTS_TABLE
    ";"
    "CREATE TABLE IF NOT EXISTS links" SKEIN_LINKS_TABLE
    ";"
    R"sql(
CREATE TABLE IF NOT EXISTS attr_values(
  id INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL, UNIQUE(key, value));
CREATE TABLE IF NOT EXISTS trace_attr_bits(attr_id INTEGER NOT NULL, block INTEGER NOT NULL,
  bits INTEGER NOT NULL, PRIMARY KEY(attr_id, block)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS traces(
  pk INTEGER PRIMARY KEY, trace_id BLOB NOT NULL UNIQUE, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
  span_count INTEGER NOT NULL, error_count INTEGER NOT NULL, root_rank INTEGER NOT NULL,
  root_span_id BLOB, root_parent_id BLOB, root_name TEXT, service TEXT, session_id TEXT,
  user_id TEXT);
CREATE INDEX IF NOT EXISTS traces_by_start ON traces(start_ns);
CREATE INDEX IF NOT EXISTS traces_by_service ON traces(service, start_ns);
CREATE INDEX IF NOT EXISTS traces_by_session ON traces(session_id, start_ns)
  WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS traces_by_user ON traces(user_id, start_ns) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS sessions(
  session_id TEXT PRIMARY KEY, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
  span_count INTEGER NOT NULL, error_count INTEGER NOT NULL, service TEXT, user_id TEXT);
CREATE INDEX IF NOT EXISTS sessions_by_end ON sessions(end_ns);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
)sql";

// A prepared statement, reset after each use.
class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, const char* sql, std::string& error) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr) != SQLITE_OK) {
      error = std::string(sqlite3_errmsg(db)) + " in: " + sql;
      s_ = nullptr;
    }
  }
  Stmt(Stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  explicit operator bool() const noexcept { return s_ != nullptr; }
  sqlite3_stmt* get() const noexcept { return s_; }

  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind_u(int i, std::uint64_t v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind_text(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& bind_text_or_null(int i, std::string_view v) {
    if (v.empty()) {
      sqlite3_bind_null(s_, i);
      return *this;
    }
    return bind_text(i, v);
  }
  Stmt& bind_blob(int i, const void* p, std::size_t n) {
    sqlite3_bind_blob(s_, i, p, static_cast<int>(n), SQLITE_STATIC);
    return *this;
  }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  /// Runs to completion and resets; true on success.
  bool run() {
    int rc = sqlite3_step(s_);
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    return rc == SQLITE_DONE || rc == SQLITE_ROW;
  }
  /// As run, for a statement whose parameters are all bound again before each run.
  bool run_keeping_bindings() {
    int rc = sqlite3_step(s_);
    sqlite3_reset(s_);
    return rc == SQLITE_DONE || rc == SQLITE_ROW;
  }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

std::string column_text(sqlite3_stmt* st, int i) {
  const auto* p = sqlite3_column_text(st, i);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(st, i)))
           : std::string();
}
std::string column_hex(sqlite3_stmt* st, int i) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(st, i));
  int n = sqlite3_column_bytes(st, i);
  std::string out;
  out.reserve(static_cast<std::size_t>(n) * 2);
  for (int k = 0; k < n; ++k) {
    out += kHex[p[k] >> 4];
    out += kHex[p[k] & 15];
  }
  return out;
}
std::uint64_t column_u(sqlite3_stmt* st, int i) {
  return static_cast<std::uint64_t>(sqlite3_column_int64(st, i));
}

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Big-endian bytes of an id, as stored.
struct IdBytes {
  unsigned char b[16];
  std::size_t n;
  const void* data() const noexcept { return b; }
};
void put64(unsigned char* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}
IdBytes bytes_of(const TraceId& t) {
  IdBytes r{{}, 16};
  put64(r.b, t.hi);
  put64(r.b + 8, t.lo);
  return r;
}
IdBytes bytes_of(const SpanId& s) {
  IdBytes r{{}, 8};
  put64(r.b, s.value);
  return r;
}

const AnyValue* find_attr(const Attributes& attrs, std::string_view key) {
  // Last value wins, as in the JSON object.
  for (auto it = attrs.rbegin(); it != attrs.rend(); ++it)
    if (it->key == key) return &it->value;
  return nullptr;
}

// A string for a derived column (session id, user id...) from the first key present.
std::string pick(const Attributes& attrs, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    const AnyValue* v = find_attr(attrs, k);
    if (!v) continue;
    if (v->type == AnyValue::Type::string && !v->string_value.empty()) return v->string_value;
    if (v->type == AnyValue::Type::int64) return std::to_string(v->int_value);
  }
  return {};
}

// The span attributes the derived columns come from, found in one pass: for each key, its last
// value (as find_attr).
constexpr std::string_view kDerivedKeys[] = {"honeyhive.session_id",
                                             "session.id",
                                             "honeyhive_session_id",
                                             "honeyhive_user_properties.user_id",
                                             "user.id",
                                             "enduser.id",
                                             "honeyhive_event_type",
                                             "openinference.span.kind"};
static_assert(
    [] {
      for (auto k : kDerivedKeys)
        if (k.size() < 7 || k.size() > 33 || (k.back() != 'd' && k.back() != 'e')) return false;
      return true;
    }(),
    "Derived's quick filter must let every derived key through");
struct Derived {
  const AnyValue* v[std::size(kDerivedKeys)] = {};
  explicit Derived(const Attributes& attrs) {
    for (const auto& kv : attrs) {
      // Most keys are none of these: the length and the last character rule them out cheaply.
      const std::size_t n = kv.key.size();
      if (n < 7 || n > 33) continue;
      const char last = kv.key[n - 1];
      if (last != 'd' && last != 'e') continue;
      for (std::size_t i = 0; i < std::size(kDerivedKeys); ++i)
        if (n == kDerivedKeys[i].size() &&
            std::memcmp(kv.key.data(), kDerivedKeys[i].data(), n) == 0)
          v[i] = &kv.value;
    }
  }
  // As pick() over keys [from, to).
  [[nodiscard]] std::string pick(std::size_t from, std::size_t to) const {
    for (std::size_t i = from; i < to; ++i) {
      const AnyValue* a = v[i];
      if (!a) continue;
      if (a->type == AnyValue::Type::string && !a->string_value.empty()) return a->string_value;
      if (a->type == AnyValue::Type::int64) return std::to_string(a->int_value);
    }
    return {};
  }
};

const std::initializer_list<std::string_view> kSessionKeys = {"honeyhive.session_id", "session.id",
                                                              "honeyhive_session_id"};
const std::initializer_list<std::string_view> kUserKeys = {"honeyhive_user_properties.user_id",
                                                           "user.id", "enduser.id"};

// The text an attribute is indexed under, when it is short and scalar.
bool index_text(const AnyValue& v, std::string& out) {
  switch (v.type) {
    case AnyValue::Type::string:
      if (v.string_value.size() > kMaxIndexedValue) return false;
      out = v.string_value;
      return true;
    case AnyValue::Type::int64: out = std::to_string(v.int_value); return true;
    case AnyValue::Type::boolean: out = v.bool_value ? "true" : "false"; return true;
    default: return false;
  }
}

// Whether two values of an indexed type (string, integer, boolean) are the same value.
bool same_scalar(const AnyValue& a, const AnyValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case AnyValue::Type::string: return a.string_value == b.string_value;
    case AnyValue::Type::int64: return a.int_value == b.int_value;
    case AnyValue::Type::boolean: return a.bool_value == b.bool_value;
    default: return false;
  }
}

struct SessionAgg {
  std::uint64_t start = UINT64_MAX, end = 0, count = 0, errors = 0;
  std::string service, user;
};

struct IdHash {
  std::size_t operator()(const TraceId& t) const noexcept {
    return static_cast<std::size_t>(t.lo ^ (t.hi * 0x9E3779B97F4A7C15ULL));
  }
};

}  // namespace

struct Store::TraceAgg {
  std::int64_t pk = 0;           ///< its number in `traces`
  Store::TxTrace* tx = nullptr;  ///< the transaction's entry
  std::uint64_t start = UINT64_MAX, end = 0, count = 0, errors = 0;
  std::int64_t root_rank = INT64_MAX;
  SpanId root_span{}, root_parent{};
  std::string root_name, service, session, user;
  std::vector<std::int64_t> attr_ids;  ///< indexed values of its spans in this batch
  std::size_t last_ids = 0;            ///< where the last span's values start in attr_ids
};

constexpr std::size_t kSpansPerInsert = 16;

// Values of a span row bound per row, and after them (shared by the rows of a statement, which
// all come from one scope of one resource) its resource, service and scope.
constexpr int kRowParams = 20, kSharedParams = 4;

// The integers bound to a statement's parameters, so that a value equal to the one bound last
// time (most of a span's integers: its kind, status, flags, counts) is not bound again. SQLite
// keeps a statement's bindings across runs (they are never cleared for these statements).
// Fixed arrays (parameters are numbered from 1), so that the check inlines: with vectors that
// grew on demand it cost ~65 instructions a call.
class BoundInts {
 public:
  void bind(Stmt& st, int i, std::int64_t v) {
    const auto idx = static_cast<std::size_t>(i);
    if (set_[idx] && v_[idx] == v) return;
    st.bind(i, v);
    v_[idx] = v;
    set_[idx] = true;
  }

 private:
  static constexpr std::size_t kParams =
      kSpansPerInsert * std::size_t{kRowParams} + std::size_t{kSharedParams} + 1;
  std::array<std::int64_t, kParams> v_{};
  std::array<bool, kParams> set_{};
};

struct Store::Statements {
  Stmt insert_spans[kSpansPerInsert];            ///< [n-1]: n spans, made when first used
  BoundInts insert_spans_ints[kSpansPerInsert];  ///< what each has bound (see BoundInts)
  Stmt trace_spans, trace_pk, insert_trace, next_trace_pk;
  Stmt set_next_trace_pk, upsert_bits;
  Stmt insert_event, insert_link, upsert_trace, upsert_session, add_counter, resource_lookup,
      resource_insert, attr_lookup, attr_insert;
};

std::unique_ptr<Store> Store::open(const std::string& path, Mode mode, std::string& error) {
  // No global allocation statistics: they take a process-wide mutex on every sqlite malloc.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  std::unique_ptr<Store> s(new Store());
  s->path_ = path;
  int flags = SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::read_only) {
    flags |= SQLITE_OPEN_READONLY;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      error = "no store at " + path +
              " (start `skein serve`, or run a program traced with skein, to create it)";
      return nullptr;
    }
  } else {
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  // A writer's commits write their WAL frames in one system call (see wal_batch.hpp).
  const char* vfs = mode == Mode::read_write ? wal_batch_vfs() : nullptr;
  if (sqlite3_open_v2(path.c_str(), &s->db_, flags, vfs) != SQLITE_OK) {
    error = "cannot open " + path + ": " + (s->db_ ? sqlite3_errmsg(s->db_) : "out of memory");
    return nullptr;
  }
  sqlite3_busy_timeout(s->db_, 10000);
  s->exec("PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;",
          nullptr);
  if (mode == Mode::read_write && !s->init_schema(error)) return nullptr;
  return s;
}

Store::~Store() {
  st_.reset();
  sqlite3_finalize(attr_by_id_);
  if (db_) sqlite3_close_v2(db_);
}

bool Store::exec(const char* sql, std::string* error) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    if (error) *error = msg ? msg : "sqlite error";
    sqlite3_free(msg);
    return false;
  }
  return true;
}

bool Store::init_schema(std::string& error) {
  // auto_vacuum must be chosen before the first table exists; it lets retention shrink the file.
  if (!exec("PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            " PRAGMA journal_size_limit=67108864; PRAGMA wal_autocheckpoint=8192;",
            &error))
    return false;
  if (!exec("BEGIN IMMEDIATE", &error)) return false;
  bool old_spans = false, spans_4 = false;
  {
    std::string err;
    Stmt v(db_, "PRAGMA user_version", err);
    const int version = v && v.step() == SQLITE_ROW ? sqlite3_column_int(v.get(), 0) : 0;
    if (version != 0 && (version < 2 || version > kSchemaVersion)) {
      exec("ROLLBACK", nullptr);
      error = path_ + " has store schema " + std::to_string(version) +
              "; this skein reads schemas 2 to " + std::to_string(kSchemaVersion) +
              " (move the file away to start afresh)";
      return false;
    }
    old_spans = version == 2 || version == 3;
    spans_4 = version == 4;
  }
  // 2 and 3 to 4, then 4 to 5.
  if (!exec(kSchema, &error) || (old_spans && !migrate_spans(error)) ||
      ((old_spans || spans_4) && !migrate_span_numbers(error)) ||
      !exec(SKEIN_SPANS_INDEXES, &error) || !migrate_attr_index(error)) {
    exec("ROLLBACK", nullptr);
    return false;
  }
  exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str(), nullptr);
  if (!exec("COMMIT", &error)) return false;

  st_ = std::make_unique<Statements>();
  auto& t = *st_;
  t.insert_event = Stmt(db_,
                        "INSERT OR REPLACE INTO events(span_pk,seq,time_ns,name,attributes) "
                        "VALUES(?1,?2,?3,?4,?5)",
                        error);
  t.insert_link =
      Stmt(db_,
           "INSERT OR REPLACE INTO links(span_pk,seq,trace_id,span_id,trace_state,flags,"
           "attributes) VALUES(?1,?2,?3,?4,?5,?6,?7)",
           error);
  t.upsert_bits = Stmt(db_,
                       "INSERT INTO trace_attr_bits(attr_id,block,bits) VALUES(?1,?2,?3) ON "
                       "CONFLICT(attr_id,block) DO UPDATE SET bits=bits|excluded.bits",
                       error);
  t.attr_lookup = Stmt(db_, "SELECT id FROM attr_values WHERE key=?1 AND value=?2", error);
  t.attr_insert = Stmt(db_, "INSERT INTO attr_values(key,value) VALUES(?1,?2)", error);
  t.upsert_trace = Stmt(
      db_,
      "INSERT INTO traces(trace_id,start_ns,end_ns,span_count,error_count,root_rank,root_span_id,"
      "root_name,service,session_id,user_id,root_parent_id) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,"
      "?11,?12) ON CONFLICT(trace_id) DO UPDATE SET start_ns=min(start_ns,excluded.start_ns),"
      "end_ns=max(end_ns,excluded.end_ns),span_count=span_count+excluded.span_count,"
      "error_count=error_count+excluded.error_count,"
      // The batch's root candidate wins when it is earlier in rank, or the parent of the root so
      // far.
      "root_span_id=CASE WHEN " SKEIN_BETTER_ROOT
      " THEN excluded.root_span_id ELSE root_span_id END,"
      "root_parent_id=CASE WHEN " SKEIN_BETTER_ROOT
      " THEN excluded.root_parent_id ELSE "
      "root_parent_id END,"
      "root_name=CASE WHEN " SKEIN_BETTER_ROOT
      " THEN excluded.root_name ELSE root_name END,"
      "service=CASE WHEN " SKEIN_BETTER_ROOT
      " THEN excluded.service ELSE service END,"
      "root_rank=CASE WHEN " SKEIN_BETTER_ROOT
      " THEN excluded.root_rank ELSE root_rank END,"
      "session_id=coalesce(session_id,excluded.session_id),"
      "user_id=coalesce(user_id,excluded.user_id)",
      error);
  t.trace_pk = Stmt(db_, "SELECT pk FROM traces WHERE trace_id=?1", error);
  t.insert_trace = Stmt(db_,
                        "INSERT INTO traces(trace_id,start_ns,end_ns,span_count,error_count,"
                        "root_rank,root_span_id,root_name,service,session_id,user_id,"
                        "root_parent_id,pk) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                        error);
  // New traces are numbered before their spans are stored (the spans are keyed by it).
  // Kept in `counters`, so that a number is never used twice (see trace_attr_bits).
  t.next_trace_pk = Stmt(db_,
                         "SELECT coalesce((SELECT value FROM counters WHERE name='next_trace_pk'),"
                         "(SELECT max(pk) FROM traces)+1,1)",
                         error);
  t.set_next_trace_pk = Stmt(db_,
                             "INSERT INTO counters(name,value) VALUES('next_trace_pk',?1) ON "
                             "CONFLICT(name) DO UPDATE SET value=excluded.value",
                             error);
  t.upsert_session = Stmt(
      db_,
      "INSERT INTO sessions(session_id,start_ns,end_ns,span_count,error_count,service,user_id) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(session_id) DO UPDATE SET "
      "start_ns=min(start_ns,excluded.start_ns),end_ns=max(end_ns,excluded.end_ns),"
      "span_count=span_count+excluded.span_count,error_count=error_count+excluded.error_count,"
      "service=coalesce(service,excluded.service),user_id=coalesce(user_id,excluded.user_id)",
      error);
  t.add_counter = Stmt(db_,
                       "INSERT INTO counters(name,value) VALUES(?1,?2) ON CONFLICT(name) DO UPDATE "
                       "SET value=value+excluded.value",
                       error);
  // The spans a trace already has (its range of span numbers).
  t.trace_spans = Stmt(db_, "SELECT id,span_id FROM spans WHERE id BETWEEN ?1 AND ?2", error);
  t.resource_lookup = Stmt(db_, "SELECT id FROM resources WHERE attributes=?1", error);
  t.resource_insert = Stmt(db_, "INSERT INTO resources(attributes) VALUES(?1)", error);
  return error.empty();
}

bool Store::migrate_spans(std::string& error) {
  // Schema 2 and 3 spans (keyed by trace id and span id, in a rowid table with a unique index or
  // WITHOUT ROWID) move to a table keyed by their trace's number, in key order (so that the copy
  // appends). A trace without its `traces` row (none should be) gets one, so that no span is left
  // behind. The span numbers (`id`, which events and links refer to) stay.
  return exec(
      "ALTER TABLE spans RENAME TO spans_old;"
      "DROP INDEX IF EXISTS spans_by_session; DROP INDEX IF EXISTS spans_by_trace;"
      "INSERT INTO traces(trace_id,start_ns,end_ns,span_count,error_count,root_rank,"
      "root_span_id,root_parent_id,root_name,service,session_id,user_id) "
      "SELECT s.trace_id,a.start_ns,a.end_ns,a.n,a.errors,a.rank,s.span_id,s.parent_span_id,"
      "s.name,s.service,a.session_id,a.user_id FROM (SELECT trace_id,min(start_ns) AS start_ns,"
      "max(end_ns) AS end_ns,count(*) AS n,sum(status=2) AS errors,"
      "min(((parent_span_id IS NOT NULL)<<60)+(start_ns>>3)) AS rank,"
      "max(session_id) AS session_id,max(user_id) AS user_id FROM spans_old "
      "WHERE trace_id NOT IN (SELECT trace_id FROM traces) GROUP BY trace_id) a "
      "JOIN spans_old s ON s.trace_id=a.trace_id AND "
      "((s.parent_span_id IS NOT NULL)<<60)+(s.start_ns>>3)=a.rank GROUP BY s.trace_id;"
      "CREATE TABLE spans" SKEIN_SPANS_TABLE_4
      ";"
      "INSERT INTO spans(trace_pk,span_id,id,parent_span_id,name,kind,start_ns,end_ns,status,"
      "status_message,service,session_id,user_id,event_type,resource_id,scope_name,"
      "scope_version,flags,trace_state,attributes,n_events,n_links,dropped_attributes,"
      "dropped_events,dropped_links) SELECT t.pk,s.span_id,s.id,s.parent_span_id,s.name,s.kind,"
      "s.start_ns,s.end_ns,s.status,s.status_message,s.service,s.session_id,s.user_id,"
      "s.event_type,s.resource_id,s.scope_name,s.scope_version,s.flags,s.trace_state,"
      "s.attributes,s.n_events,s.n_links,s.dropped_attributes,s.dropped_events,s.dropped_links "
      "FROM spans_old s JOIN traces t ON t.trace_id=s.trace_id ORDER BY s.id;"
      // The next span number, past every one used (schema 2 files have no counter).
      "INSERT INTO counters(name,value) SELECT 'next_span_pk',coalesce(max(id),0)+1 FROM "
      "spans_old WHERE true ON CONFLICT(name) DO UPDATE SET value=max(value,excluded.value);"
      "DROP TABLE spans_old;",
      &error);
}

bool Store::migrate_span_numbers(std::string& error) {
  // A trace's spans are numbered (its number << kSpanBits) + 0, 1, 2... in the order of their
  // schema 4 numbers, and their events and links follow them. Refused when a trace has more
  // spans than an ordinal holds (the file stays as it is).
  {
    std::string err;
    Stmt big(db_,
             ("SELECT trace_pk FROM spans GROUP BY trace_pk HAVING count(*)>" +
              std::to_string(kSpanOrdinalMask) + " LIMIT 1")
                 .c_str(),
             err);
    if (!big) {
      error = err;
      return false;
    }
    if (big.step() == SQLITE_ROW) {
      error = path_ + ": trace number " + std::to_string(sqlite3_column_int64(big.get(), 0)) +
              " has more than " + std::to_string(kSpanOrdinalMask + 1) +
              " spans, more than this skein's store numbers";
      return false;
    }
  }
  const std::string bits = std::to_string(kSpanBits);
  return exec(("DROP INDEX IF EXISTS spans_by_session; DROP INDEX IF EXISTS spans_by_trace;"
               "ALTER TABLE spans RENAME TO spans_old;"
               "CREATE TEMP TABLE span_numbers(old INTEGER PRIMARY KEY, new INTEGER NOT NULL);"
               "INSERT INTO span_numbers SELECT id,(trace_pk<<" +
               bits +
               ")+row_number() OVER (PARTITION BY trace_pk ORDER BY id)-1 FROM spans_old;"
               "CREATE TABLE spans" SKEIN_SPANS_TABLE ";"
               "INSERT INTO spans(id,span_id,parent_span_id,name,kind,start_ns,end_ns,status,"
               "status_message,service,session_id,user_id,event_type,resource_id,scope_name,"
               "scope_version,flags,trace_state,attributes,n_events,n_links,dropped_attributes,"
               "dropped_events,dropped_links) SELECT n.new,s.span_id,s.parent_span_id,s.name,"
               "s.kind,s.start_ns,s.end_ns,s.status,s.status_message,s.service,s.session_id,"
               "s.user_id,s.event_type,s.resource_id,s.scope_name,s.scope_version,s.flags,"
               "s.trace_state,s.attributes,s.n_events,s.n_links,s.dropped_attributes,"
               "s.dropped_events,s.dropped_links FROM spans_old s JOIN span_numbers n ON "
               "n.old=s.id ORDER BY n.new;"
               "CREATE TABLE events_new" SKEIN_EVENTS_TABLE ";"
               "INSERT INTO events_new SELECT n.new,e.seq,e.time_ns,e.name,e.attributes FROM "
               "events e JOIN span_numbers n ON n.old=e.span_pk ORDER BY 1,2;"
               "DROP TABLE events; ALTER TABLE events_new RENAME TO events;"
               "CREATE TABLE links_new" SKEIN_LINKS_TABLE ";"
               "INSERT INTO links_new SELECT n.new,l.seq,l.trace_id,l.span_id,l.trace_state,"
               "l.flags,l.attributes FROM links l JOIN span_numbers n ON n.old=l.span_pk "
               "ORDER BY 1,2;"
               "DROP TABLE links; ALTER TABLE links_new RENAME TO links;"
               "DROP TABLE spans_old; DROP TABLE span_numbers;"
               "DELETE FROM counters WHERE name='next_span_pk';")
                  .c_str(),
              &error);
}

bool Store::migrate_attr_index(std::string& error) {
  // Schema 3's (value, trace) rows, as bitmaps: one row per value and block of trace numbers,
  // the sum of distinct bits being their OR.
  std::string err;
  Stmt q(db_, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name='trace_attrs'", err);
  if (!q || q.step() != SQLITE_ROW) return true;
  q.reset();
  const std::string sql =
      "INSERT INTO trace_attr_bits(attr_id,block,bits) SELECT attr_id,trace_pk>>" +
      std::to_string(kBitsShift) + "," + std::to_string(kBitsMarker) + "+sum(1<<(trace_pk&" +
      std::to_string((1 << kBitsShift) - 1) +
      ")) FROM trace_attrs WHERE true GROUP BY 1,2 ON CONFLICT(attr_id,block) DO UPDATE SET "
      "bits=bits|excluded.bits; DROP TABLE trace_attrs;";
  return exec(sql.c_str(), &error);
}

std::int64_t Store::resource_id(std::string_view json) {
  for (const auto& [k, id] : resource_cache_)
    if (k == json) return id;
  std::int64_t id = 0;
  auto& look = st_->resource_lookup;
  look.bind_text(1, json);
  if (look.step() == SQLITE_ROW) id = sqlite3_column_int64(look.get(), 0);
  look.reset();
  if (id == 0) {
    st_->resource_insert.bind_text(1, json).run();
    id = sqlite3_last_insert_rowid(db_);
  }
  if (resource_cache_.size() >= 64) resource_cache_.erase(resource_cache_.begin());
  resource_cache_.emplace_back(json, id);
  return id;
}

Store::TxTrace* Store::tx_trace(const TraceId& id) {
  auto [it, added] = tx_traces_.try_emplace(id);
  TxTrace& tx = it->second;
  if (!added) return &tx;
  const auto tid = bytes_of(id);
  auto& q = st_->trace_pk;
  q.bind_blob(1, tid.data(), 16);
  if (q.step() == SQLITE_ROW) tx.pk = sqlite3_column_int64(q.get(), 0);
  q.reset();
  if (tx.pk == 0) {
    tx.pk = tx_next_trace_pk_++;
    return &tx;
  }
  // A stored trace: the spans it has (their ids, so that none is stored twice) and its next
  // ordinal, read once per transaction.
  tx.has_row = true;
  auto& spans = st_->trace_spans;
  spans.bind(1, tx.pk << kSpanBits).bind(2, tx.pk << kSpanBits | kSpanOrdinalMask);
  int rc;
  while ((rc = spans.step()) == SQLITE_ROW) {
    const auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(spans.get(), 1));
    std::uint64_t span = 0;
    if (sqlite3_column_bytes(spans.get(), 1) == 8)
      for (int i = 0; i < 8; ++i) span = span << 8 | b[i];
    tx_spans_.insert(tx.pk, span);
    tx.next_ordinal = (sqlite3_column_int64(spans.get(), 0) & kSpanOrdinalMask) + 1;
  }
  spans.reset();
  if (rc != SQLITE_DONE) {
    tx_traces_.erase(it);
    return nullptr;
  }
  return &tx;
}

bool Store::SpanKeys::insert(std::int64_t trace, std::uint64_t span) {
  if (2 * (size_ + 1) > slots_.size()) {
    std::vector<Key> old(std::max<std::size_t>(1024, 2 * slots_.size()));
    old.swap(slots_);
    size_ = 0;
    for (const Key& k : old)
      if (k.trace != 0) insert(k.trace, k.span);
  }
  const std::size_t mask = slots_.size() - 1;
  std::uint64_t h =
      span * 0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(trace) * 0xC2B2AE3D27D4EB4FULL;
  for (std::size_t i = (h ^ h >> 29) & mask;; i = (i + 1) & mask) {
    Key& k = slots_[i];
    if (k.trace == 0) {
      k = {trace, span};
      ++size_;
      return true;
    }
    if (k.trace == trace && k.span == span) return false;
  }
}

void Store::SpanKeys::clear() {
  if (size_ == 0) return;
  // A large transaction's table is not kept (clearing it would cost every next one).
  if (slots_.size() > (std::size_t{1} << 16))
    slots_ = {};
  else
    std::fill(slots_.begin(), slots_.end(), Key{});
  size_ = 0;
}

std::int64_t Store::attr_id(std::string_view key_value, std::size_t hash) {
  if (auto it = attr_cache_.find(HashedKey{key_value, hash}); it != attr_cache_.end())
    return it->second;
  const auto nul = key_value.find('\0');
  const std::string_view key = key_value.substr(0, nul), value = key_value.substr(nul + 1);
  std::int64_t id = 0;
  auto& look = st_->attr_lookup;
  look.bind_text(1, key).bind_text(2, value);
  if (look.step() == SQLITE_ROW) id = sqlite3_column_int64(look.get(), 0);
  look.reset();
  if (id == 0) {
    if (!st_->attr_insert.bind_text(1, key).bind_text(2, value).run()) return 0;
    id = sqlite3_last_insert_rowid(db_);
  }
  // The ids of committed rows never change (retention keeps `attr_values`); a rollback clears
  // the cache. Bounded for stores with many distinct values.
  if (attr_cache_.size() >= 100000) attr_cache_.clear();
  attr_cache_.emplace(std::string(key_value), id);
  return id;
}

void Store::disable_autocheckpoint() {
  // Replaces the hook that sqlite3_wal_autocheckpoint installs.
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3*, const char*, int frames) {
        static_cast<Store*>(self)->wal_frames_.store(frames, std::memory_order_relaxed);
        return SQLITE_OK;
      },
      this);
}

bool Store::checkpoint(std::string* error) {
  int log = 0, done = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    if (error) *error = sqlite3_errmsg(db_);
    return false;
  }
  return true;
}

namespace {

bool add_counters_stmt(Stmt& add, const Counters& c) {
  const std::pair<const char*, std::uint64_t> items[] = {
      {"requests", c.requests},
      {"requests_failed", c.requests_failed},
      {"spans_accepted", c.spans_accepted},
      {"spans_rejected", c.spans_rejected},
      {"bytes_received", c.bytes_received},
      {"spans_deleted", c.spans_deleted},
  };
  for (const auto& [name, v] : items) {
    if (v == 0) continue;
    if (!add.bind_text(1, name).bind_u(2, v).run()) return false;
  }
  return true;
}

}  // namespace

bool Store::add_counters(const Counters& extra, std::string* error) {
  if (!st_) {
    if (error) *error = "store is read-only";
    return false;
  }
  if (!add_counters_stmt(st_->add_counter, extra)) {
    if (error) *error = sqlite3_errmsg(db_);
    return false;
  }
  return true;
}

WriteResult Store::write(const otlp::TracesRequest& batch, const Counters& extra) {
  WriteResult res;
  if (!st_) {
    res.error = "store is read-only";
    return res;
  }
  if (!begin_tx(&res.error)) return res;
  if (!write_rows(batch, extra, res) || !exec("COMMIT", &res.error)) {
    exec("ROLLBACK", nullptr);
    forget_uncommitted();
    res.accepted = 0;
    return res;
  }
  res.ok = true;
  return res;
}

std::vector<WriteResult> Store::write_group(const std::vector<const otlp::TracesRequest*>& batches,
                                            const std::vector<Counters>& extras) {
  std::vector<WriteResult> out(batches.size());
  auto one_by_one = [&] {
    for (std::size_t i = 0; i < batches.size(); ++i) out[i] = write(*batches[i], extras[i]);
    return out;
  };
  if (batches.size() <= 1 || !st_) return one_by_one();
  std::string err;
  if (!begin_tx(&err)) return one_by_one();
  for (std::size_t i = 0; i < batches.size(); ++i) {
    if (!write_rows(*batches[i], extras[i], out[i])) {
      // One batch failed: the others must not fail with it.
      exec("ROLLBACK", nullptr);
      forget_uncommitted();
      out.assign(batches.size(), WriteResult{});
      return one_by_one();
    }
  }
  if (!exec("COMMIT", &err)) {
    exec("ROLLBACK", nullptr);
    forget_uncommitted();
    out.assign(batches.size(), WriteResult{});
    return one_by_one();
  }
  for (auto& r : out) r.ok = true;
  return out;
}

bool Store::begin(std::string* error) {
  if (!st_) {
    if (error) *error = "store is read-only";
    return false;
  }
  return begin_tx(error);
}

bool Store::begin_tx(std::string* error) {
  forget_transaction();
  return exec("BEGIN IMMEDIATE", error);
}

void Store::forget_transaction() {
  tx_traces_.clear();
  tx_spans_.clear();
  tx_next_trace_pk_ = tx_saved_trace_pk_ = 0;
}

bool Store::append(const otlp::TracesRequest& part, const Counters& extra, WriteResult& res,
                   const std::vector<std::uint64_t>* request_span_ids,
                   const PreparedBatch* prepared) {
  return write_rows(part, extra, res, request_span_ids, prepared);
}

bool Store::commit(std::string* error) {
  if (exec("COMMIT", error)) return true;
  rollback();
  return false;
}

void Store::rollback() {
  exec("ROLLBACK", nullptr);
  forget_uncommitted();
}

void Store::prepare(const otlp::TracesRequest& batch, PreparedBatch& out) {
  out.text.clear();
  out.resources.clear();
  out.spans.clear();
  out.index.clear();
  out.pieces.clear();
  auto& text = out.text;
  auto here = [&] { return text.size(); };
  auto add = [&](std::string_view v) {
    const std::size_t b = here();
    text.append(v);
    return PreparedBatch::Range{b, here()};
  };
  std::string index_value;
  std::unordered_map<std::size_t, std::size_t> first_entry;  // hash -> its first index entry
  const Attributes* prev_attrs = nullptr;  // the previous span's, and its first piece
  std::size_t prev_pieces = 0;
  for (const auto& rs : batch.resource_spans) {
    const Attributes& rattrs = rs.resource.attributes;
    PreparedBatch::Resource pr;
    const std::size_t jb = here();
    json_attributes(text, rattrs);
    pr.json = {jb, here()};
    pr.service = add(pick(rattrs, {"service.name"}));
    out.resources.push_back(pr);
    const std::string res_session = pick(rattrs, kSessionKeys);
    const std::string res_user = pick(rattrs, kUserKeys);
    for (const auto& ss : rs.scope_spans) {
      for (const auto& sp : ss.spans) {
        PreparedBatch::Span ps;
        const Derived derived(sp.attributes);
        std::string v = derived.pick(0, 3);
        ps.session = add(v.empty() ? res_session : v);
        v = derived.pick(3, 6);
        ps.user = add(v.empty() ? res_user : v);
        v = derived.pick(6, 7);
        if (v.empty()) {
          v = derived.pick(7, 8);
          std::transform(v.begin(), v.end(), v.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        }
        ps.event_type = add(v);
        ps.pieces_begin = out.pieces.size();
        std::int64_t slot = 0;
        for (std::size_t j = 0; j < sp.attributes.size(); ++j) {
          const auto& kv = sp.attributes[j];
          // Spans mostly carry the same attributes in the same order: the previous span's
          // entry for an equal attribute at the same place is this one's (no text, no hash).
          if (slot < kAttrSlots && prev_attrs != nullptr && j < prev_attrs->size()) {
            const PreparedBatch::Piece& before = out.pieces[prev_pieces + j];
            const auto& pkv = (*prev_attrs)[j];
            if (before.type != 0 && same_scalar(pkv.value, kv.value) && pkv.key == kv.key) {
              ++slot;
              out.pieces.push_back(before);
              continue;
            }
          }
          PreparedBatch::Piece piece;
          if (slot < kAttrSlots && index_text(kv.value, index_value)) {
            ++slot;
            const std::size_t kb = here();
            text.append(kv.key);
            text += '\0';
            text.append(index_value);
            const PreparedBatch::Range r{kb, here()};
            piece.type = kv.value.type == AnyValue::Type::string  ? 's'
                         : kv.value.type == AnyValue::Type::int64 ? 'i'
                                                                  : 'b';
            // The spans of a part mostly share their values: each distinct one is one entry,
            // so that the writer looks it up once per part.
            const std::size_t hash = std::hash<std::string_view>{}(out.view(r));
            auto [it, added] = first_entry.try_emplace(hash, out.index.size());
            if (!added && out.view(out.index[it->second].key_value) == out.view(r)) {
              text.resize(kb);
              piece.index = it->second;
            } else {
              piece.index = out.index.size();
              out.index.push_back({r, hash});
            }
          } else {
            const std::size_t jb2 = here();
            json_string(text, kv.key);
            text += ':';
            json_value(text, kv.value);
            piece.json = {jb2, here()};
          }
          out.pieces.push_back(piece);
        }
        ps.pieces_end = out.pieces.size();
        out.spans.push_back(ps);
        prev_attrs = &sp.attributes;
        prev_pieces = ps.pieces_begin;
      }
    }
  }
}

bool Store::write_rows(const otlp::TracesRequest& batch, const Counters& extra, WriteResult& res,
                       const std::vector<std::uint64_t>* request_span_ids,
                       const PreparedBatch* prepared) {
  if (prepared == nullptr) {
    prepare(batch, prepared_);
    prepared = &prepared_;
  }
  const PreparedBatch& prep = *prepared;
  auto fail = [&](const char* what) {
    res.error = std::string(what) + ": " + sqlite3_errmsg(db_);
    return false;
  };

  std::unordered_map<TraceId, TraceAgg, IdHash> traces;
  // The span ids of the request (any trace: collisions are harmless), sorted.
  if (request_span_ids == nullptr) {
    span_ids_.clear();
    for (const auto& rs : batch.resource_spans)
      for (const auto& ss : rs.scope_spans)
        for (const auto& sp : ss.spans) span_ids_.push_back(sp.span_id.value);
    std::sort(span_ids_.begin(), span_ids_.end());
    request_span_ids = &span_ids_;
  }
  auto in_request = [&](std::uint64_t id) {
    return std::binary_search(request_span_ids->begin(), request_span_ids->end(), id);
  };
  const std::uint64_t accepted_before = res.accepted, rejected_before = res.rejected;
  // Read once per transaction: another process may have added traces since the last one.
  if (tx_next_trace_pk_ == 0) {
    auto& q = st_->next_trace_pk;
    if (q.step() == SQLITE_ROW) tx_next_trace_pk_ = sqlite3_column_int64(q.get(), 0);
    q.reset();
    if (tx_next_trace_pk_ <= 0) {
      tx_next_trace_pk_ = 0;
      return fail("next trace number");
    }
    tx_saved_trace_pk_ = tx_next_trace_pk_;
  }
  std::unordered_map<std::string, SessionAgg> sessions;
  std::string scratch;
  auto& t = *st_;
  // A span just stored: its events and links, and its share of its trace and session.
  auto add_stored = [&](const PendingSpan& p) -> bool {
    const otlp::Span& sp = *p.span;
    const std::int64_t pk = p.pk;
    auto& tr = traces[sp.trace_id];
    // A span with the same indexed values as the trace's last one adds nothing to the index.
    const auto ids_begin = span_attr_ids_.begin() + static_cast<std::ptrdiff_t>(p.ids_begin),
               ids_end = span_attr_ids_.begin() + static_cast<std::ptrdiff_t>(p.ids_end);
    if (!std::equal(tr.attr_ids.begin() + static_cast<std::ptrdiff_t>(tr.last_ids),
                    tr.attr_ids.end(), ids_begin, ids_end)) {
      if (tr.attr_ids.empty()) tr.attr_ids.reserve(4 * (p.ids_end - p.ids_begin));
      tr.last_ids = tr.attr_ids.size();
      tr.attr_ids.insert(tr.attr_ids.end(), ids_begin, ids_end);
    }
    std::int64_t seq = 0;
    for (const auto& ev : sp.events) {
      scratch.clear();
      json_attributes(scratch, ev.attributes);
      if (!t.insert_event.bind(1, pk)
               .bind(2, seq++)
               .bind_u(3, ev.time_unix_nano)
               .bind_text(4, ev.name)
               .bind_text(5, scratch)
               .run())
        return fail("insert event");
    }
    seq = 0;
    for (const auto& ln : sp.links) {
      scratch.clear();
      json_attributes(scratch, ln.attributes);
      const auto ltid = bytes_of(ln.trace_id), lsid = bytes_of(ln.span_id);
      if (!t.insert_link.bind(1, pk)
               .bind(2, seq++)
               .bind_blob(3, ltid.data(), 16)
               .bind_blob(4, lsid.data(), 8)
               .bind_text_or_null(5, ln.trace_state)
               .bind(6, ln.flags)
               .bind_text(7, scratch)
               .run())
        return fail("insert link");
    }
    const std::uint64_t start = p.start, end = p.end;
    const bool root = !sp.parent_span_id.valid();
    tr.start = std::min(tr.start, start);
    tr.end = std::max(tr.end, end);
    ++tr.count;
    if (sp.status.code == 2) ++tr.errors;
    // Root candidates: a span without parent, then one whose parent is not in this batch,
    // then the rest; earliest first.
    const std::int64_t cls = root ? 0 : in_request(sp.parent_span_id.value) ? 2 : 1;
    const std::int64_t rank = (cls << 60) + static_cast<std::int64_t>(start >> 3);
    if (rank < tr.root_rank) {
      tr.root_rank = rank;
      tr.root_span = sp.span_id;
      tr.root_parent = sp.parent_span_id;
      tr.root_name = sp.name;
      tr.service = p.service;
    }
    if (tr.session.empty()) tr.session = p.session;
    if (tr.user.empty()) tr.user = p.user;
    if (!p.session.empty()) {
      auto& se = sessions[std::string(p.session)];
      se.start = std::min(se.start, start);
      se.end = std::max(se.end, end);
      ++se.count;
      if (sp.status.code == 2) ++se.errors;
      if (se.service.empty()) se.service = p.service;
      if (se.user.empty()) se.user = p.user;
    }
    return true;
  };
  std::size_t span_index = res.accepted + res.rejected;  // in the request, across parts
  std::size_t resource_ordinal = 0, span_ordinal = 0;    // in this part, as in `prep`

  // Spans go kSpansPerInsert to a statement (the statement's own cost was as large as a row's),
  // then each stored one is added to its trace and session and gets its events and links.
  pending_.clear();
  attrs_column_.clear();
  span_attr_ids_.clear();
  entry_ids_.assign(prep.index.size(), 0);  // the attr_values id of each index entry, once found
  auto flush = [&]() -> bool {
    if (pending_.empty()) return true;
    const std::size_t n = pending_.size();
    Stmt& ins = t.insert_spans[n - 1];
    BoundInts& ints = t.insert_spans_ints[n - 1];
    const int shared = static_cast<int>(n) * kRowParams;  // the shared parameters follow
    if (!ins) {
      // INSERT OR IGNORE: a span already stored (a client's retry) is skipped, as with ON
      // CONFLICT DO NOTHING, and no constraint can abort the statement halfway (so that SQLite
      // needs no statement journal for it).
      std::string sql =
          "INSERT OR IGNORE INTO spans(span_id,parent_span_id,name,kind,start_ns,end_ns,"
          "status,status_message,session_id,user_id,event_type,flags,trace_state,attributes,"
          "n_events,n_links,dropped_attributes,dropped_events,dropped_links,id,"
          "resource_id,service,scope_name,scope_version) VALUES";
      auto param = [&](int i, char after) {
        sql += '?';
        sql += std::to_string(i);
        sql += after;
      };
      for (std::size_t k = 0; k < n; ++k) {
        sql += k ? ",(" : "(";
        for (int i = 1; i <= kRowParams; ++i) param(static_cast<int>(k) * kRowParams + i, ',');
        for (int i = 1; i <= kSharedParams; ++i) param(shared + i, i < kSharedParams ? ',' : ')');
      }
      std::string err;
      ins = Stmt(db_, sql.c_str(), err);
      if (!ins) return fail("insert span");
    }
    // The pending spans share their scope (flush runs when it changes), so its resource too.
    const PendingSpan& first = pending_.front();
    ints.bind(ins, shared + 1, first.resource);
    ins.bind_text_or_null(shared + 2, first.service)
        .bind_text_or_null(shared + 3, first.scope->scope.name)
        .bind_text_or_null(shared + 4, first.scope->scope.version);
    for (std::size_t k = 0; k < n; ++k) {
      const PendingSpan& p = pending_[k];
      const otlp::Span& sp = *p.span;
      const int b = static_cast<int>(k) * kRowParams;
      // The ids' bytes are in pending_, which stays as it is until the statement has run.
      put64(pending_[k].id_bytes, sp.span_id.value);
      ins.bind_blob(b + 1, pending_[k].id_bytes, 8);
      if (sp.parent_span_id.valid()) {
        put64(pending_[k].id_bytes + 8, sp.parent_span_id.value);
        ins.bind_blob(b + 2, pending_[k].id_bytes + 8, 8);
      } else {
        ins.bind_null(b + 2);
      }
      ins.bind_text(b + 3, sp.name);
      ints.bind(ins, b + 4, sp.kind);
      ins.bind_u(b + 5, p.start).bind_u(b + 6, p.end);
      ints.bind(ins, b + 7, sp.status.code);
      ins.bind_text_or_null(b + 8, sp.status.message)
          .bind_text_or_null(b + 9, p.session)
          .bind_text_or_null(b + 10, p.user)
          .bind_text_or_null(b + 11, p.event_type);
      ints.bind(ins, b + 12, sp.flags);
      ins.bind_text_or_null(b + 13, sp.trace_state)
          .bind_text(
              b + 14,
              std::string_view(attrs_column_).substr(p.attrs_begin, p.attrs_end - p.attrs_begin));
      ints.bind(ins, b + 15, static_cast<std::int64_t>(sp.events.size()));
      ints.bind(ins, b + 16, static_cast<std::int64_t>(sp.links.size()));
      ints.bind(ins, b + 17, sp.dropped_attributes_count);
      ints.bind(ins, b + 18, sp.dropped_events_count);
      ints.bind(ins, b + 19, sp.dropped_links_count);
      ins.bind(b + 20, p.pk);
    }
    if (!ins.run_keeping_bindings()) return fail("insert span");
    // Every parameter is bound again before the next run; the statement keeps its bindings
    // (clearing 25 * n of them costs more than it saves).
    // Spans already stored were left out (tx_spans_), and numbers are never used twice: a row
    // not stored is a bug, not a retry.
    if (static_cast<std::size_t>(sqlite3_changes(db_)) != n) {
      res.error = "insert span: a span number was in use";
      return false;
    }
    for (const PendingSpan& p : pending_)
      if (!add_stored(p)) return false;
    pending_.clear();
    attrs_column_.clear();
    span_attr_ids_.clear();
    return true;
  };

  for (const auto& rs : batch.resource_spans) {
    const auto& pr = prep.resources[resource_ordinal++];
    const std::int64_t rid = resource_id(prep.view(pr.json));
    const std::string_view service = prep.view(pr.service);
    for (const auto& ss : rs.scope_spans) {
      for (const auto& sp : ss.spans) {
        ++span_index;
        const auto& ps = prep.spans[span_ordinal++];
        if (!sp.trace_id.valid() || !sp.span_id.valid()) {
          if (res.rejected++ == 0)
            res.reject_message = "span " + std::to_string(span_index) + " (\"" + sp.name +
                                 "\"): trace_id and span_id must be non-zero";
          continue;
        }
        // One statement's spans share their scope and resource (bound once: see flush). Before
        // anything of this span is added to the pending columns, which flush clears.
        if (!pending_.empty() && pending_.front().scope != &ss && !flush()) return false;
        PendingSpan p;
        p.span = &sp;
        p.scope = &ss;
        p.service = service;
        p.session = prep.view(ps.session);
        p.user = prep.view(ps.user);
        p.event_type = prep.view(ps.event_type);
        p.resource = rid;
        p.start = sp.start_time_unix_nano;
        p.end = std::max(sp.end_time_unix_nano, p.start);
        // Its trace's number: the stored trace's, else the next one (the trace row is written
        // after its spans, with the batch's summary of them).
        auto found = traces.try_emplace(sp.trace_id);
        TraceAgg& tr = found.first->second;
        if (found.second) {
          tr.tx = tx_trace(sp.trace_id);
          if (tr.tx == nullptr) return fail("read trace");
          tr.pk = tr.tx->pk;
        }
        // Its number: the trace's, then its place in the trace. A span the trace holds already
        // (a client's retry, or twice in a request) is accepted and not stored again.
        if (tr.tx->next_ordinal > kSpanOrdinalMask) {
          if (res.rejected++ == 0)
            res.reject_message = "span " + std::to_string(span_index) + " (\"" + sp.name +
                                 "\"): its trace has " + std::to_string(kSpanOrdinalMask + 1) +
                                 " spans, the most a trace can have";
          continue;
        }
        if (!tx_spans_.insert(tr.pk, sp.span_id.value)) {
          ++res.accepted;
          continue;
        }
        p.pk = tr.pk << kSpanBits | tr.tx->next_ordinal++;
        // The attributes column: indexed values by reference (their id), the others as JSON.
        p.attrs_begin = attrs_column_.size();
        p.ids_begin = span_attr_ids_.size();
        for (std::size_t i = ps.pieces_begin; i < ps.pieces_end; ++i) {
          const auto& piece = prep.pieces[i];
          if (piece.type == 0) {
            attrs_column_ += kAttrJson;
            attrs_column_.append(prep.view(piece.json));
            continue;
          }
          std::int64_t& aid = entry_ids_[piece.index];
          if (aid == 0) {
            const auto& e = prep.index[piece.index];
            aid = attr_id(prep.view(e.key_value), e.hash);
            if (aid == 0) return fail("insert attribute");
          }
          span_attr_ids_.push_back(aid);
          attrs_column_ += kAttrRef;
          attrs_column_ += piece.type;
          json_int(attrs_column_, aid);
        }
        p.attrs_end = attrs_column_.size();
        p.ids_end = span_attr_ids_.size();
        ++res.accepted;
        pending_.push_back(p);
        if (pending_.size() == kSpansPerInsert && !flush()) return false;
      }
    }
  }
  if (!flush()) return false;

  // Named references rather than a structured binding: the lambda below captures them, which
  // clang before 16 does not allow for bindings (the fuzz and sanitizer builds use clang).
  for (auto& entry : traces) {
    const auto& id = entry.first;
    auto& tr = entry.second;
    if (tr.count == 0) continue;  // all its spans were stored before (a retry)
    const auto tid = bytes_of(id), rid = bytes_of(tr.root_span), ppid = bytes_of(tr.root_parent);
    auto bind_trace = [&](Stmt& q) {
      q.bind_blob(1, tid.data(), 16)
          .bind_u(2, tr.start)
          .bind_u(3, tr.end)
          .bind_u(4, tr.count)
          .bind_u(5, tr.errors)
          .bind(6, tr.root_rank)
          .bind_blob(7, rid.data(), 8)
          .bind_text(8, tr.root_name)
          .bind_text_or_null(9, tr.service)
          .bind_text_or_null(10, tr.session)
          .bind_text_or_null(11, tr.user)
          .bind_blob(12, ppid.data(), 8);
    };
    // A new trace (the common case) is a plain INSERT, with the number its spans refer to.
    const std::int64_t trace_pk = tr.pk;
    const bool is_new = !tr.tx->has_row;
    Stmt& write_trace = is_new ? t.insert_trace : t.upsert_trace;
    bind_trace(write_trace);
    if (is_new) write_trace.bind(13, trace_pk);
    if (!write_trace.run_keeping_bindings()) return fail(is_new ? "insert trace" : "update trace");
    tr.tx->has_row = true;
    // The attribute index: the trace's bit in each of its values' bitmaps.
    for (const std::int64_t attr : tr.attr_ids)
      bits_.push_back({attr, trace_pk >> kBitsShift,
                       kBitsMarker | std::int64_t{1} << (trace_pk & ((1 << kBitsShift) - 1))});
  }
  // Each bitmap once (the batch's traces mostly share their blocks), in key order.
  std::sort(bits_.begin(), bits_.end(), [](const AttrBits& x, const AttrBits& y) {
    return x.attr != y.attr ? x.attr < y.attr : x.block < y.block;
  });
  for (std::size_t i = 0; i < bits_.size();) {
    AttrBits b = bits_[i];
    for (++i; i < bits_.size() && bits_[i].attr == b.attr && bits_[i].block == b.block; ++i)
      b.bits |= bits_[i].bits;
    if (!t.upsert_bits.bind(1, b.attr).bind(2, b.block).bind(3, b.bits).run_keeping_bindings())
      return fail("insert attribute");
  }
  bits_.clear();
  for (const auto& [id, se] : sessions) {
    if (!t.upsert_session.bind_text(1, id)
             .bind_u(2, se.start)
             .bind_u(3, se.end)
             .bind_u(4, se.count)
             .bind_u(5, se.errors)
             .bind_text_or_null(6, se.service)
             .bind_text_or_null(7, se.user)
             .run())
      return fail("update session");
  }
  if (tx_next_trace_pk_ != tx_saved_trace_pk_) {
    if (!t.set_next_trace_pk.bind(1, tx_next_trace_pk_).run())
      return fail("update next trace number");
    tx_saved_trace_pk_ = tx_next_trace_pk_;
  }
  Counters c = extra;
  c.spans_accepted += res.accepted - accepted_before;
  c.spans_rejected += res.rejected - rejected_before;
  if (!add_counters_stmt(t.add_counter, c)) return fail("update counters");
  return true;
}

bool Store::delete_trace_ids(const std::vector<std::string>& blobs, std::uint64_t& spans_deleted) {
  std::string err;
  // A writer's file is at schema 5 (init_schema migrates older ones): a trace's spans, and their
  // events and links, are the range of its span numbers.
  Stmt trace_pk(db_, "SELECT pk FROM traces WHERE trace_id=?1", err);
  Stmt del_events(db_, "DELETE FROM events WHERE span_pk BETWEEN ?1 AND ?2", err);
  Stmt del_links(db_, "DELETE FROM links WHERE span_pk BETWEEN ?1 AND ?2", err);
  Stmt del_spans(db_, "DELETE FROM spans WHERE id BETWEEN ?1 AND ?2", err);
  Stmt del_trace(db_, "DELETE FROM traces WHERE pk=?1", err);
  if (!err.empty()) return false;
  for (const auto& b : blobs) {
    trace_pk.bind_blob(1, b.data(), b.size());
    const std::int64_t pk =
        trace_pk.step() == SQLITE_ROW ? sqlite3_column_int64(trace_pk.get(), 0) : 0;
    trace_pk.reset();
    if (pk == 0) continue;
    const std::int64_t lo = pk << kSpanBits, hi = lo | kSpanOrdinalMask;
    if (!del_events.bind(1, lo).bind(2, hi).run() || !del_links.bind(1, lo).bind(2, hi).run() ||
        !del_spans.bind(1, lo).bind(2, hi).run())
      return false;
    spans_deleted += static_cast<std::uint64_t>(sqlite3_changes(db_));
    if (!del_trace.bind(1, pk).run()) return false;
  }
  return true;
}

std::uint64_t Store::apply_retention(const Retention& r, std::string* error) {
  if (!st_) return 0;
  std::uint64_t deleted = 0;
  std::string err;
  auto oldest = [&](std::uint64_t cutoff, std::vector<std::string>& out) {
    out.clear();
    Stmt q(db_,
           cutoff ? "SELECT trace_id FROM traces WHERE start_ns<?1 ORDER BY start_ns LIMIT 500"
                  : "SELECT trace_id FROM traces ORDER BY start_ns LIMIT 200",
           err);
    if (!q) return;
    if (cutoff) q.bind_u(1, cutoff);
    while (q.step() == SQLITE_ROW) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(q.get(), 0));
      out.emplace_back(p, static_cast<std::size_t>(sqlite3_column_bytes(q.get(), 0)));
    }
  };
  auto used_bytes = [&]() -> std::uint64_t {
    Stmt q(db_,
           "SELECT (SELECT page_count FROM pragma_page_count())-(SELECT freelist_count FROM "
           "pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())",
           err);
    if (!q || q.step() != SQLITE_ROW) return 0;
    return column_u(q.get(), 0) * column_u(q.get(), 1);
  };
  std::vector<std::string> ids;
  auto delete_batch = [&]() {
    if (!exec("BEGIN IMMEDIATE", &err)) return false;
    std::uint64_t n = 0;
    bool ok = delete_trace_ids(ids, n);
    Counters c;
    c.spans_deleted = n;
    ok = ok && add_counters_stmt(st_->add_counter, c);
    if (!ok || !exec("COMMIT", &err)) {
      exec("ROLLBACK", nullptr);
      return false;
    }
    deleted += n;
    return true;
  };
  if (r.max_age_days > 0) {
    const std::uint64_t cutoff =
        now_ns() - std::uint64_t{r.max_age_days} * 86400ULL * 1000000000ULL;
    for (oldest(cutoff, ids); !ids.empty(); oldest(cutoff, ids))
      if (!delete_batch()) break;
    exec(("DELETE FROM sessions WHERE end_ns<" + std::to_string(cutoff)).c_str(), nullptr);
  }
  if (r.max_bytes > 0 && used_bytes() > r.max_bytes) {
    // Down to 90% so that retention does not run at every batch.
    const std::uint64_t target = r.max_bytes / 10 * 9;
    for (int guard = 0; guard < 100000 && used_bytes() > target; ++guard) {
      oldest(0, ids);
      if (ids.empty() || !delete_batch()) break;
    }
    exec(
        "DELETE FROM sessions WHERE NOT EXISTS (SELECT 1 FROM spans WHERE "
        "spans.session_id=sessions.session_id)",
        nullptr);
  }
  if (deleted > 0) {
    // Bitmaps of deleted traces only (numbers are not reused: the bits of deleted traces in the
    // others match no trace).
    exec(("DELETE FROM trace_attr_bits WHERE block<(SELECT coalesce(min(pk),9e18) FROM traces)>>" +
          std::to_string(kBitsShift))
             .c_str(),
         nullptr);
    exec("PRAGMA incremental_vacuum", nullptr);
    exec("PRAGMA wal_checkpoint(TRUNCATE)", nullptr);
  }
  if (error && !err.empty()) *error = err;
  return deleted;
}

// ---- reading
// -----------------------------------------------------------------------------------

namespace {
// The numbers of a trace's bits in its `trace_attr_bits` row: 0 .. 31, as a table of column n.
const std::string& bit_numbers() {
  static const std::string sql = [] {
    std::string s = "VALUES(0)";
    for (int i = 1; i < (1 << kBitsShift); ++i) s += ",(" + std::to_string(i) + ")";
    return "SELECT column1 AS n FROM (" + s + ")";
  }();
  return sql;
}
}  // namespace

std::vector<TraceSummary> Store::list_traces(const TraceFilter& f, std::string* error) {
  std::string sql =
      "SELECT trace_id,root_span_id,root_name,service,session_id,user_id,start_ns,end_ns,"
      "span_count,error_count,root_rank FROM traces t WHERE 1";
  std::vector<std::pair<int, std::string>> texts;  // bind index -> text
  std::vector<std::pair<int, std::int64_t>> ints;
  int n = 0;
  auto text = [&](std::string v) {
    texts.emplace_back(++n, std::move(v));
    return "?" + std::to_string(n);
  };
  auto num = [&](std::uint64_t v) {
    ints.emplace_back(++n, static_cast<std::int64_t>(v));
    return "?" + std::to_string(n);
  };
  if (!f.service.empty()) sql += " AND service=" + text(f.service);
  if (!f.session.empty()) sql += " AND session_id=" + text(f.session);
  if (!f.user.empty()) sql += " AND user_id=" + text(f.user);
  if (f.status == "error") sql += " AND error_count>0";
  if (f.status == "ok" || f.status == "unset") sql += " AND error_count=0";
  if (f.min_duration_ns) sql += " AND end_ns-start_ns>=" + num(f.min_duration_ns);
  if (f.since_ns) sql += " AND start_ns>=" + num(f.since_ns);
  if (f.until_ns) sql += " AND start_ns<" + num(f.until_ns);
  if (f.before_ns) sql += " AND start_ns<" + num(f.before_ns);
  if (!f.search.empty()) {
    const int version = schema();
    // The traces (numbers) having one of the values `values` selects (their attr_values ids).
    auto having = [&](const std::string& values) -> std::string {
      if (version < 4) return "SELECT trace_pk FROM trace_attrs WHERE attr_id IN (" + values + ")";
      return "SELECT (b.block<<" + std::to_string(kBitsShift) +
             ")+i.n FROM trace_attr_bits b JOIN (" + bit_numbers() + ") i WHERE b.attr_id IN (" +
             values + ") AND (b.bits>>i.n)&1";
    };
    auto eq = f.search.find('=');
    if (eq != std::string::npos && eq > 0) {
      sql += " AND t.pk IN (" +
             having("SELECT id FROM attr_values WHERE key=" + text(f.search.substr(0, eq)) +
                    " AND value=" + text(f.search.substr(eq + 1))) +
             ")";
    } else {
      std::string like = "%";
      for (char c : f.search) {
        if (c == '%' || c == '_' || c == '\\') like += '\\';
        like += c;
      }
      like += '%';
      const std::string p = text(like);
      sql += " AND (root_name LIKE " + p + " ESCAPE '\\' OR service LIKE " + p +
             " ESCAPE '\\' OR session_id LIKE " + p + " ESCAPE '\\' OR user_id LIKE " + p +
             " ESCAPE '\\' OR hex(trace_id) LIKE upper(" + p +
             ") ESCAPE '\\' OR EXISTS (SELECT 1 FROM spans s WHERE " +
             (version >= 5 ? "s.id BETWEEN t.pk<<" + std::to_string(kSpanBits) + " AND t.pk<<" +
                                 std::to_string(kSpanBits) + "|" + std::to_string(kSpanOrdinalMask)
              : version == 4 ? "s.trace_pk=t.pk"
                             : "s.trace_id=t.trace_id") +
             " AND "
             "(s.name LIKE " +
             p + " ESCAPE '\\' OR s.attributes LIKE " + p + " ESCAPE '\\')) OR t.pk IN (" +
             having("SELECT id FROM attr_values WHERE key LIKE " + p +
                    " ESCAPE '\\' OR value LIKE " + p + " ESCAPE '\\'") +
             "))";
    }
  }
  sql += " ORDER BY start_ns DESC LIMIT " +
         std::to_string(std::clamp<std::uint32_t>(f.limit, 1, 10000));
  std::string err;
  Stmt q(db_, sql.c_str(), err);
  std::vector<TraceSummary> out;
  if (!q) {
    if (error) *error = err;
    return out;
  }
  for (const auto& [i, v] : texts)
    sqlite3_bind_text(q.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  for (const auto& [i, v] : ints) q.bind(i, v);
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    auto* st = q.get();
    TraceSummary t;
    t.trace_id = column_hex(st, 0);
    t.root_span_id = column_hex(st, 1);
    t.root_name = column_text(st, 2);
    t.service = column_text(st, 3);
    t.session_id = column_text(st, 4);
    t.user_id = column_text(st, 5);
    t.start_ns = column_u(st, 6);
    t.end_ns = column_u(st, 7);
    t.span_count = column_u(st, 8);
    t.error_count = column_u(st, 9);
    t.has_true_root = sqlite3_column_int64(st, 10) < (std::int64_t{1} << 60);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE && error) *error = sqlite3_errmsg(db_);
  return out;
}

namespace {
// What read_spans reads, for a file of `schema`: spans of schema 5 are numbered by their trace's
// number, of 4 have it in a column, of 2 and 3 have their trace id.
std::string span_select(int schema) {
  std::string sql = "SELECT s.id,";
  sql += schema >= 4 ? "t.trace_id" : "s.trace_id";
  sql +=
      ",s.span_id,s.parent_span_id,s.name,s.kind,s.start_ns,s.end_ns,s.status,"
      "s.status_message,s.service,s.session_id,s.user_id,s.event_type,s.scope_name,"
      "s.scope_version,s.flags,s.trace_state,s.attributes,s.n_events,s.n_links,"
      "s.dropped_attributes,s.dropped_events,s.dropped_links,r.attributes FROM spans s ";
  if (schema >= 5) sql += "JOIN traces t ON t.pk=s.id>>" + std::to_string(kSpanBits) + " ";
  if (schema == 4) sql += "JOIN traces t ON t.pk=s.trace_pk ";
  sql += "LEFT JOIN resources r ON r.id=s.resource_id ";
  return sql;
}
}  // namespace

int Store::schema() {
  int version = 0;
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &q, nullptr) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    version = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  return version;
}

std::vector<StoredSpan> Store::read_spans(sqlite3_stmt* st) {
  std::vector<StoredSpan> out;
  std::string err;
  Stmt events(db_, "SELECT time_ns,name,attributes FROM events WHERE span_pk=?1 ORDER BY seq", err);
  Stmt links(db_,
             "SELECT trace_id,span_id,trace_state,flags,attributes FROM links WHERE span_pk=?1 "
             "ORDER BY seq",
             err);
  while (sqlite3_step(st) == SQLITE_ROW) {
    StoredSpan s;
    const std::int64_t pk = sqlite3_column_int64(st, 0);
    s.trace_id = column_hex(st, 1);
    s.span_id = column_hex(st, 2);
    s.parent_span_id = column_hex(st, 3);
    s.name = column_text(st, 4);
    s.kind = sqlite3_column_int(st, 5);
    s.start_ns = column_u(st, 6);
    s.end_ns = column_u(st, 7);
    s.status = sqlite3_column_int(st, 8);
    s.status_message = column_text(st, 9);
    s.service = column_text(st, 10);
    s.session_id = column_text(st, 11);
    s.user_id = column_text(st, 12);
    s.event_type = column_text(st, 13);
    s.scope_name = column_text(st, 14);
    s.scope_version = column_text(st, 15);
    s.flags = static_cast<std::uint32_t>(sqlite3_column_int64(st, 16));
    s.trace_state = column_text(st, 17);
    {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, 18));
      expand_attributes(
          p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st, 18)))
            : std::string_view(),
          s.attributes_json);
    }
    const auto n_events = sqlite3_column_int64(st, 19);
    const auto n_links = sqlite3_column_int64(st, 20);
    s.dropped_attributes = static_cast<std::uint32_t>(sqlite3_column_int64(st, 21));
    s.dropped_events = static_cast<std::uint32_t>(sqlite3_column_int64(st, 22));
    s.dropped_links = static_cast<std::uint32_t>(sqlite3_column_int64(st, 23));
    s.resource_json = column_text(st, 24);
    if (n_events > 0 && events) {
      events.bind(1, pk);
      while (events.step() == SQLITE_ROW)
        s.events.push_back({column_text(events.get(), 1), column_text(events.get(), 2),
                            column_u(events.get(), 0)});
      events.reset();
    }
    if (n_links > 0 && links) {
      links.bind(1, pk);
      while (links.step() == SQLITE_ROW) {
        StoredLink l;
        l.trace_id = column_hex(links.get(), 0);
        l.span_id = column_hex(links.get(), 1);
        l.trace_state = column_text(links.get(), 2);
        l.flags = static_cast<std::uint32_t>(sqlite3_column_int64(links.get(), 3));
        l.attributes_json = column_text(links.get(), 4);
        s.links.push_back(std::move(l));
      }
      links.reset();
    }
    out.push_back(std::move(s));
  }
  return out;
}

void Store::expand_attributes(std::string_view column, std::string& out) {
  if (column.empty() || (column[0] != kAttrRef && column[0] != kAttrJson)) {
    out.assign(column.empty() ? std::string_view("{}") : column);  // schema 2: a JSON object
    return;
  }
  if (attr_by_id_ == nullptr &&
      sqlite3_prepare_v3(db_, "SELECT key,value FROM attr_values WHERE id=?1", -1,
                         SQLITE_PREPARE_PERSISTENT, &attr_by_id_, nullptr) != SQLITE_OK)
    attr_by_id_ = nullptr;
  out = "{";
  for (std::size_t i = 0; i < column.size();) {
    const char marker = column[i++];
    std::size_t j = i;
    while (j < column.size() && column[j] != kAttrRef && column[j] != kAttrJson) ++j;
    const std::string_view entry = column.substr(i, j - i);
    i = j;
    if (out.size() > 1) out += ',';
    if (marker == kAttrJson || entry.empty()) {
      out.append(entry);
      continue;
    }
    const char type = entry[0];
    std::int64_t id = 0;
    std::from_chars(entry.data() + 1, entry.data() + entry.size(), id);
    auto it = attr_text_.find(id);
    if (it == attr_text_.end() && attr_by_id_ != nullptr) {
      sqlite3_bind_int64(attr_by_id_, 1, id);
      if (sqlite3_step(attr_by_id_) == SQLITE_ROW) {
        if (attr_text_.size() >= 100000) attr_text_.clear();
        it = attr_text_
                 .emplace(id, std::pair{column_text(attr_by_id_, 0), column_text(attr_by_id_, 1)})
                 .first;
      }
      sqlite3_reset(attr_by_id_);
    }
    if (it == attr_text_.end()) {
      out += "\"(attribute " + std::to_string(id) + " missing)\":null";
      continue;
    }
    const auto& [key, value] = it->second;
    json_string(out, key);
    out += ':';
    if (type == 's') {
      json_string(out, value);
    } else if (type == 'i') {
      std::int64_t v = 0;
      std::from_chars(value.data(), value.data() + value.size(), v);
      // As json_value: beyond 2^53 as a string, so that JavaScript keeps every digit.
      const bool quoted = v > (std::int64_t{1} << 53) || v < -(std::int64_t{1} << 53);
      if (quoted) out += '"';
      json_int(out, v);
      if (quoted) out += '"';
    } else {
      out += value == "true" ? "true" : "false";
    }
  }
  out += '}';
}

std::vector<StoredSpan> Store::get_trace(std::string_view id, std::string* error) {
  std::string err;
  std::string blob;
  if (TraceId full = TraceId::from_hex(id); full.valid()) {
    auto bytes = bytes_of(full);
    blob.assign(reinterpret_cast<const char*>(bytes.b), 16);
  } else {
    // A unique prefix (even number of hex digits, at least 8).
    unsigned char lo[16] = {}, hi[16];
    std::memset(hi, 0xff, sizeof hi);
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    bool ok = id.size() >= 8 && id.size() % 2 == 0 && id.size() < 32;
    for (std::size_t i = 0; ok && i < id.size() / 2; ++i) {
      int h = nib(id[2 * i]), l = nib(id[2 * i + 1]);
      ok = h >= 0 && l >= 0;
      lo[i] = hi[i] = static_cast<unsigned char>(h << 4 | l);
    }
    if (!ok) {
      if (error) *error = "not a trace id: " + std::string(id);
      return {};
    }
    Stmt q(db_, "SELECT trace_id FROM traces WHERE trace_id BETWEEN ?1 AND ?2 LIMIT 2", err);
    q.bind_blob(1, lo, 16).bind_blob(2, hi, 16);
    int found = 0;
    while (q.step() == SQLITE_ROW) {
      ++found;
      blob.assign(static_cast<const char*>(sqlite3_column_blob(q.get(), 0)), 16);
    }
    if (found != 1) {
      if (error)
        *error =
            found ? "ambiguous trace id prefix: " + std::string(id) : "no trace " + std::string(id);
      return {};
    }
  }
  const int version = schema();
  // Schema 5: the range of the trace's span numbers.
  const std::string trace_pk =
      "(SELECT pk FROM traces WHERE trace_id=?1)<<" + std::to_string(kSpanBits);
  Stmt q(db_,
         (span_select(version) +
          (version >= 5 ? "WHERE s.id BETWEEN " + trace_pk + " AND " + trace_pk + "|" +
                              std::to_string(kSpanOrdinalMask)
           : version == 4 ? "WHERE s.trace_pk=(SELECT pk FROM traces WHERE trace_id=?1)"
                          : "WHERE s.trace_id=?1") +
          " ORDER BY s.start_ns, s.id")
             .c_str(),
         err);
  if (!q) {
    if (error) *error = err;
    return {};
  }
  q.bind_blob(1, blob.data(), blob.size());
  auto spans = read_spans(q.get());
  if (spans.empty() && error) *error = "no trace " + std::string(id);
  return spans;
}

std::optional<std::string> Store::last_trace_id() {
  std::string err;
  Stmt q(db_, "SELECT trace_id FROM traces ORDER BY start_ns DESC LIMIT 1", err);
  if (q && q.step() == SQLITE_ROW) return column_hex(q.get(), 0);
  return std::nullopt;
}

std::vector<SessionSummary> Store::list_sessions(std::uint32_t limit, std::uint64_t before_ns,
                                                 std::string* error) {
  std::string err;
  Stmt q(db_,
         "SELECT session_id,service,user_id,start_ns,end_ns,span_count,error_count,"
         "(SELECT count(*) FROM traces t WHERE t.session_id=s.session_id) FROM sessions s "
         "WHERE ?1=0 OR end_ns<?1 ORDER BY end_ns DESC LIMIT ?2",
         err);
  std::vector<SessionSummary> out;
  if (!q) {
    if (error) *error = err;
    return out;
  }
  q.bind_u(1, before_ns).bind(2, std::clamp<std::uint32_t>(limit, 1, 10000));
  while (q.step() == SQLITE_ROW) {
    auto* st = q.get();
    out.push_back({column_text(st, 0), column_text(st, 1), column_text(st, 2), column_u(st, 3),
                   column_u(st, 4), column_u(st, 5), column_u(st, 6), column_u(st, 7)});
  }
  return out;
}

std::vector<StoredSpan> Store::get_session(std::string_view session_id, std::uint32_t limit,
                                           std::string* error) {
  std::string err;
  Stmt q(
      db_,
      (span_select(schema()) + "WHERE s.session_id=?1 ORDER BY s.start_ns, s.id LIMIT ?2").c_str(),
      err);
  if (!q) {
    if (error) *error = err;
    return {};
  }
  q.bind_text(1, session_id).bind(2, limit);
  return read_spans(q.get());
}

std::vector<std::string> Store::services() {
  std::string err;
  std::vector<std::string> out;
  Stmt q(db_, "SELECT DISTINCT service FROM traces WHERE service IS NOT NULL ORDER BY 1 LIMIT 500",
         err);
  while (q && q.step() == SQLITE_ROW) out.push_back(column_text(q.get(), 0));
  return out;
}

StoreStats Store::stats() {
  StoreStats s;
  s.path = path_;
  std::string err;
  {
    Stmt q(db_, "SELECT name,value FROM counters", err);
    while (q && q.step() == SQLITE_ROW) {
      auto name = column_text(q.get(), 0);
      auto v = column_u(q.get(), 1);
      auto& c = s.counters;
      if (name == "requests")
        c.requests = v;
      else if (name == "requests_failed")
        c.requests_failed = v;
      else if (name == "spans_accepted")
        c.spans_accepted = v;
      else if (name == "spans_rejected")
        c.spans_rejected = v;
      else if (name == "bytes_received")
        c.bytes_received = v;
      else if (name == "spans_deleted")
        c.spans_deleted = v;
    }
  }
  {
    Stmt q(db_,
           "SELECT (SELECT count(*) FROM spans),(SELECT count(*) FROM traces),(SELECT count(*) "
           "FROM sessions),(SELECT page_count FROM pragma_page_count()),(SELECT freelist_count "
           "FROM pragma_freelist_count()),(SELECT page_size FROM pragma_page_size())",
           err);
    if (q && q.step() == SQLITE_ROW) {
      auto* st = q.get();
      s.spans_stored = column_u(st, 0);
      s.traces_stored = column_u(st, 1);
      s.sessions_stored = column_u(st, 2);
      s.used_bytes = (column_u(st, 3) - column_u(st, 4)) * column_u(st, 5);
    }
  }
  std::error_code ec;
  s.file_bytes = std::filesystem::file_size(path_, ec);
  auto wal = std::filesystem::file_size(path_ + "-wal", ec);
  if (!ec) s.file_bytes += wal;
  return s;
}

}  // namespace skein::store
