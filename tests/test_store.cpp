// The store exporter: spans of a real tracer written into the SQLite store and read back as
// `skein` reads them (the embedded default).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "skein/skein.hpp"
#include "skein/store.hpp"
#include "store/json_writer.hpp"
#include "store/store.hpp"
#include "store/wal_batch.hpp"

namespace {

class StoreExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("skein-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    db_ = (dir_ / "nested" / "store.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string db_;
};

TEST_F(StoreExporterTest, WritesSpansSessionsAndUsers) {
  std::string trace_id;
  {
    auto tracer = skein::Tracer::init({.project = "store-test",
                                       .session_id = "sess-1",
                                       .exporter = skein::ExporterKind::store,
                                       .store_path = db_,
                                       .make_default = false});
    ASSERT_FALSE(tracer.error()) << tracer.error().message;
    auto root = tracer.span("agent", {.type = skein::EventType::chain});
    trace_id = root.context().trace_id().to_hex();
    {
      auto child = tracer.span("tool call", {.type = skein::EventType::tool});
      child.set("honeyhive_inputs.query", "what is <b>up</b>?");
      child.set("honeyhive_user_properties.user_id", "u-9");
      child.add_event("retry", {{"attempt", 2}});
      child.set_status(skein::StatusCode::error, "boom");
    }
    root.end();
    ASSERT_TRUE(tracer.shutdown(std::chrono::milliseconds(5000)));
  }
  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_only, err);
  ASSERT_TRUE(st) << err;
  auto spans = st->get_trace(trace_id, &err);
  ASSERT_EQ(spans.size(), 2u) << err;
  const auto& root = spans[0].name == "agent" ? spans[0] : spans[1];
  const auto& child = spans[0].name == "agent" ? spans[1] : spans[0];
  EXPECT_EQ(child.parent_span_id, root.span_id);
  EXPECT_TRUE(root.parent_span_id.empty());
  EXPECT_EQ(root.service, "store-test");
  EXPECT_EQ(root.session_id, "sess-1");
  EXPECT_EQ(child.user_id, "u-9");
  EXPECT_EQ(child.event_type, "tool");
  EXPECT_EQ(child.status, 2);
  EXPECT_EQ(child.status_message, "boom");
  EXPECT_NE(child.attributes_json.find("honeyhive_inputs.query"), std::string::npos);
  ASSERT_EQ(child.events.size(), 1u);
  EXPECT_EQ(child.events[0].name, "retry");
  auto sessions = st->list_sessions(10);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].session_id, "sess-1");
  EXPECT_EQ(sessions[0].span_count, 2u);
  auto traces = st->list_traces({.user = "u-9"});
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_EQ(traces[0].root_name, "agent");
  EXPECT_TRUE(traces[0].has_true_root);
}

TEST_F(StoreExporterTest, AutomaticMeansTheStore) {
  {
    auto tracer =
        skein::Tracer::init({.project = "auto", .store_path = db_, .make_default = false});
    ASSERT_FALSE(tracer.error()) << tracer.error().message;
    tracer.span("one").end();
    ASSERT_TRUE(tracer.shutdown(std::chrono::milliseconds(5000)));
  }
  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_only, err);
  ASSERT_TRUE(st) << err;
  EXPECT_EQ(st->stats().spans_stored, 1u);
}

TEST_F(StoreExporterTest, RetentionBySizeDeletesOldestTraces) {
  {
    auto tracer = skein::Tracer::init({.project = "ret",
                                       .exporter = skein::ExporterKind::store,
                                       .store_path = db_,
                                       .make_default = false});
    const std::string big(2000, 'x');
    for (int i = 0; i < 2000; ++i) tracer.span("t").set("payload", std::string_view(big)).end();
    ASSERT_TRUE(tracer.shutdown(std::chrono::milliseconds(10000)));
  }
  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_write, err);
  ASSERT_TRUE(st) << err;
  const auto before = st->stats();
  ASSERT_EQ(before.spans_stored, 2000u);
  const auto deleted = st->apply_retention({.max_bytes = before.used_bytes / 2}, &err);
  EXPECT_TRUE(err.empty()) << err;
  const auto after = st->stats();
  EXPECT_GT(deleted, 0u);
  EXPECT_EQ(after.spans_stored, 2000u - deleted);
  EXPECT_LE(after.used_bytes, before.used_bytes / 2);
  // Age: everything is fresh, nothing goes.
  EXPECT_EQ(st->apply_retention({.max_age_days = 1}), 0u);
}

TEST_F(StoreExporterTest, AttributeSearchFindsTracesAcrossBatchesAndRetries) {
  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_write, err);
  ASSERT_TRUE(st) << err;
  using skein::otlp::AnyValue;
  auto str = [](std::string v) {
    AnyValue a;
    a.type = AnyValue::Type::string;
    a.string_value = std::move(v);
    return a;
  };
  auto num = [](std::int64_t v) {
    AnyValue a;
    a.type = AnyValue::Type::int64;
    a.int_value = v;
    return a;
  };
  AnyValue yes;
  yes.type = AnyValue::Type::boolean;
  yes.bool_value = true;
  auto span = [&](std::uint64_t trace, std::uint64_t id, std::uint64_t parent, const char* model,
                  std::int64_t tokens) {
    skein::otlp::Span s;
    s.trace_id = skein::TraceId{7, trace};
    s.span_id = skein::SpanId{id};
    s.parent_span_id = skein::SpanId{parent};
    s.name = "call";
    s.start_time_unix_nano = 1000 + id;
    s.end_time_unix_nano = 2000 + id;
    s.attributes = {{"llm.model", str(model)},
                    {"llm.tokens", num(tokens)},
                    {"ok", yes},
                    {"prompt", str(std::string(200, 'p'))}};
    return s;
  };
  auto batch = [&](std::vector<skein::otlp::Span> spans) {
    skein::otlp::TracesRequest r;
    r.resource_spans.emplace_back();
    r.resource_spans[0].resource.attributes = {{"service.name", str("svc")}};
    r.resource_spans[0].scope_spans.emplace_back();
    r.resource_spans[0].scope_spans[0].spans = std::move(spans);
    return r;
  };
  ASSERT_TRUE(st->write(batch({span(1, 1, 0, "gpt", 10), span(1, 2, 1, "gpt", 12),
                               span(2, 3, 0, "claude", 10)}))
                  .ok);
  // A later batch adds a span to trace 2, a retry repeats one of trace 1.
  ASSERT_TRUE(st->write(batch({span(2, 4, 3, "gpt", 99), span(1, 2, 1, "gpt", 12)})).ok);
  auto ids = [&](const std::string& q) {
    std::vector<std::string> out;
    for (const auto& t : st->list_traces({.search = q})) out.push_back(t.trace_id);
    std::sort(out.begin(), out.end());
    return out;
  };
  const std::string t1 = skein::TraceId{7, 1}.to_hex(), t2 = skein::TraceId{7, 2}.to_hex();
  EXPECT_EQ(ids("llm.model=gpt"), (std::vector<std::string>{t1, t2}));
  EXPECT_EQ(ids("llm.model=claude"), (std::vector<std::string>{t2}));
  EXPECT_EQ(ids("llm.tokens=99"), (std::vector<std::string>{t2}));
  EXPECT_EQ(ids("llm.tokens=12"), (std::vector<std::string>{t1}));
  EXPECT_EQ(ids("ok=true"), (std::vector<std::string>{t1, t2}));
  EXPECT_TRUE(ids("prompt=" + std::string(200, 'p')).empty());  // too long to index
  EXPECT_TRUE(ids("llm.model=none").empty());
  EXPECT_EQ(st->list_traces({.service = "svc", .search = "llm.model=claude"}).size(), 1u);
  auto t = st->list_traces({.search = "llm.model=claude"});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].span_count, 2u);
  // Group commit: two batches in one transaction, one result each; a retry stores nothing twice.
  auto b1 = batch({span(3, 5, 0, "gpt", 1)}), b2 = batch({span(3, 6, 5, "mistral", 2)});
  b2.resource_spans[0].scope_spans[0].spans.push_back(span(3, 5, 0, "gpt", 1));
  auto results = st->write_group({&b1, &b2}, {{.requests = 1}, {.requests = 1}});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok && results[1].ok);
  EXPECT_EQ(results[0].accepted, 1u);
  EXPECT_EQ(results[1].accepted, 2u);
  const std::string t3 = skein::TraceId{7, 3}.to_hex();
  EXPECT_EQ(ids("llm.model=mistral"), (std::vector<std::string>{t3}));
  EXPECT_EQ(st->get_trace(t3).size(), 2u);
  EXPECT_EQ(st->stats().counters.requests, 2u);
  // Spans go several to an INSERT: a statement holding stored spans, a span twice and new ones
  // stores each new span once and counts only those in their traces.
  std::vector<skein::otlp::Span> mixed;
  for (std::uint64_t id = 10; id < 50; ++id) mixed.push_back(span(4, id, 10, "gpt", 5));
  mixed.push_back(span(4, 20, 10, "gpt", 5));
  mixed.push_back(span(1, 1, 0, "gpt", 10));
  ASSERT_TRUE(st->write(batch(mixed)).ok);
  ASSERT_TRUE(st->write(batch(mixed)).ok);
  const std::string t4 = skein::TraceId{7, 4}.to_hex();
  EXPECT_EQ(st->get_trace(t4).size(), 40u);
  EXPECT_EQ(st->get_trace(t1).size(), 2u);
  auto t14 = st->list_traces({.search = "llm.tokens=5"});
  ASSERT_EQ(t14.size(), 1u);
  EXPECT_EQ(t14[0].span_count, 40u);
  EXPECT_EQ(st->list_traces({.search = "llm.tokens=12"}).at(0).span_count, 2u);
}

}  // namespace

namespace {

skein::otlp::AnyValue value_of(skein::otlp::AnyValue::Type type) {
  skein::otlp::AnyValue v;
  v.type = type;
  return v;
}
skein::otlp::AnyValue text(std::string s) {
  auto v = value_of(skein::otlp::AnyValue::Type::string);
  v.string_value = std::move(s);
  return v;
}
skein::otlp::AnyValue integer(std::int64_t i) {
  auto v = value_of(skein::otlp::AnyValue::Type::int64);
  v.int_value = i;
  return v;
}

// A request of one span of trace {1, 2}, for the store to write.
skein::otlp::TracesRequest one_span(skein::SpanId span, std::string name) {
  skein::otlp::TracesRequest req;
  req.resource_spans.emplace_back();
  req.resource_spans[0].scope_spans.emplace_back();
  auto& s = req.resource_spans[0].scope_spans[0].spans.emplace_back();
  s.trace_id = skein::TraceId{1, 2};
  s.span_id = span;
  s.name = std::move(name);
  return req;
}

// one_span() as the child of `parent`, started at `start`, with one string attribute, followed by
// a copy of it with the id `second` (a retry of a stored span, or a new one the caller adjusts).
skein::otlp::TracesRequest child_and_copy(skein::SpanId span, std::string name,
                                          skein::SpanId parent, std::uint64_t start,
                                          std::string key, std::string value,
                                          skein::SpanId second) {
  auto req = one_span(span, std::move(name));
  auto& spans = req.resource_spans[0].scope_spans[0].spans;
  spans[0].parent_span_id = parent;
  spans[0].start_time_unix_nano = start;
  spans[0].attributes.push_back({std::move(key), text(std::move(value))});
  spans.push_back(spans[0]);
  spans[1].span_id = second;
  return req;
}

}  // namespace

// Indexed attributes are stored as references to their values and the others as JSON: what a
// reader gets back is exactly the JSON object of all of them, in order, as before.
TEST_F(StoreExporterTest, AttributesReadBackAsTheirJsonObject) {
  using skein::otlp::AnyValue;
  skein::otlp::Attributes attrs;
  attrs.push_back({"s", text("plain")});
  attrs.push_back({"escaped", text("<b>\"q\"</b> & \\ \n \xc3\xa9 \xff")});
  attrs.push_back({"empty", text("")});
  attrs.push_back({"long", text(std::string(300, 'y'))});  // not indexed
  attrs.push_back({"small", integer(-42)});
  attrs.push_back({"big", integer(9007199254740993)});  // beyond 2^53: a string
  auto b = value_of(AnyValue::Type::boolean);
  b.bool_value = true;
  attrs.push_back({"flag", b});
  auto f = value_of(AnyValue::Type::boolean);
  attrs.push_back({"off", f});
  auto d = value_of(AnyValue::Type::float64);
  d.double_value = 0.25;
  attrs.push_back({"ratio", d});
  auto arr = value_of(AnyValue::Type::array);
  arr.array_value = {text("a"), integer(1)};
  attrs.push_back({"list", arr});
  auto kv = value_of(AnyValue::Type::kvlist);
  kv.kvlist_value.push_back({"k", text("v")});
  attrs.push_back({"map", kv});
  auto bytes = value_of(AnyValue::Type::bytes);
  bytes.string_value = "\x01\xfe";
  attrs.push_back({"raw", bytes});
  attrs.push_back({"nothing", value_of(AnyValue::Type::empty)});
  attrs.push_back({"s", text("again")});  // a repeated key stays repeated
  for (int i = 0; i < 70; ++i) attrs.push_back({"n" + std::to_string(i), integer(i)});  // > 64

  auto req = one_span(skein::SpanId{3}, "attrs");
  auto& spans = req.resource_spans[0].scope_spans[0].spans;
  spans[0].attributes = attrs;
  spans.push_back(spans[0]);
  spans[1].span_id = skein::SpanId{4};
  spans[1].attributes.clear();
  // Spans whose attributes repeat the previous span's (prepare reuses its entries): the same,
  // then after one without any, then with a value changed, and one of another type.
  spans.push_back(spans[0]);
  spans[2].span_id = skein::SpanId{5};
  spans.push_back(spans[0]);
  spans[3].span_id = skein::SpanId{6};
  spans.push_back(spans[0]);
  spans[4].span_id = skein::SpanId{7};
  spans[4].attributes[0].value = text("changed");
  spans[4].attributes[4].value = text("-42");  // was the integer -42: the same index text
  spans[4].attributes[20].value = integer(-1);

  std::string err;
  {
    auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_write, err);
    ASSERT_TRUE(st) << err;
    ASSERT_TRUE(st->write(req).ok);
  }
  std::string expected;
  skein::store::json_attributes(expected, attrs);
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_only, err);
  ASSERT_TRUE(st) << err;
  auto got = st->get_trace(skein::TraceId{1, 2}.to_hex(), &err);
  ASSERT_EQ(got.size(), 5u) << err;
  for (const auto& span : got) {
    std::uint64_t id = 0;
    for (const auto& sent : spans)
      if (sent.span_id.to_hex() == span.span_id) id = sent.span_id.value;
    ASSERT_NE(id, 0u);
    std::string want;
    skein::store::json_attributes(want, spans[id - 3].attributes);
    EXPECT_EQ(span.attributes_json, want) << "span " << id;
  }
  for (const auto& span : got) {
    if (span.span_id == skein::SpanId{3}.to_hex()) {
      EXPECT_EQ(span.attributes_json, expected);
    }
    if (span.span_id == skein::SpanId{4}.to_hex()) {
      EXPECT_EQ(span.attributes_json, "{}");
    }
  }
  // Text search finds indexed values (by reference) and JSON ones alike.
  for (const char* q : {"plain", "again", "yyyy", "0.25", "<b>"}) {
    skein::store::TraceFilter filter;
    filter.search = q;
    EXPECT_EQ(st->list_traces(filter, &err).size(), 1u) << q << err;
  }
  skein::store::TraceFilter filter;
  filter.search = "nowhere";
  EXPECT_TRUE(st->list_traces(filter, &err).empty());
}

// A schema 2 file (spans in a rowid table with a unique index, attributes as JSON objects)
// opens, reads as it is, and takes new spans.
TEST_F(StoreExporterTest, SchemaTwoFilesStillOpen) {
  std::filesystem::create_directories(std::filesystem::path(db_).parent_path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(
                db,
                "PRAGMA journal_mode=WAL; PRAGMA user_version=2;"
                "CREATE TABLE spans(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, span_id BLOB "
                "NOT NULL, parent_span_id BLOB, name TEXT NOT NULL, kind INTEGER NOT NULL, "
                "start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, status INTEGER NOT NULL, "
                "status_message TEXT, service TEXT, session_id TEXT, user_id TEXT, event_type "
                "TEXT, resource_id INTEGER, scope_name TEXT, scope_version TEXT, flags INTEGER, "
                "trace_state TEXT, attributes TEXT NOT NULL, n_events INTEGER NOT NULL, n_links "
                "INTEGER NOT NULL, dropped_attributes INTEGER, dropped_events INTEGER, "
                "dropped_links INTEGER);"
                "CREATE UNIQUE INDEX spans_by_trace ON spans(trace_id, span_id);"
                "INSERT INTO spans(id,trace_id,span_id,name,kind,start_ns,end_ns,status,"
                "attributes,n_events,n_links) VALUES(7,x'00000000000000010000000000000002',"
                "x'0000000000000003','old',1,1,2,0,'{\"a\":\"b\"}',0,0);",
                nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_write, err);
  ASSERT_TRUE(st) << err;
  // The second span has the id of the one already stored: not stored twice.
  auto req =
      child_and_copy(skein::SpanId{4}, "new", skein::SpanId{3}, 3, "c", "d", skein::SpanId{3});
  ASSERT_TRUE(st->write(req).ok);
  auto got = st->get_trace(skein::TraceId{1, 2}.to_hex(), &err);
  ASSERT_EQ(got.size(), 2u) << err;
  EXPECT_EQ(got[0].name, "old");
  EXPECT_EQ(got[0].attributes_json, R"({"a":"b"})");
  EXPECT_EQ(got[1].name, "new");
  EXPECT_EQ(got[1].attributes_json, R"({"c":"d"})");
}

// A schema 3 file (spans keyed by trace id and span id, WITHOUT ROWID) reads as it is; a writer
// migrates it (through schema 4) to schema 5 (spans numbered by their trace's number, attribute
// index as bitmaps) when it opens it, keeping every span, attribute and event; a reader opened
// before the migration reads on.
TEST_F(StoreExporterTest, SchemaThreeFilesMigrateToFive) {
  std::filesystem::create_directories(std::filesystem::path(db_).parent_path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  // Trace {1, 2} (number 5): a root (attributes: llm.model=gpt by reference, then "n":1 as JSON)
  // and a child with an event, in session sess-9; the next span number is 12.
  ASSERT_EQ(
      sqlite3_exec(
          db,
          "PRAGMA journal_mode=WAL; PRAGMA user_version=3;"
          "CREATE TABLE spans(id INTEGER NOT NULL, trace_id BLOB NOT NULL, span_id BLOB NOT NULL, "
          "parent_span_id BLOB, name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT "
          "NULL, end_ns INTEGER NOT NULL, status INTEGER NOT NULL, status_message TEXT, service "
          "TEXT, session_id TEXT, user_id TEXT, event_type TEXT, resource_id INTEGER, scope_name "
          "TEXT, scope_version TEXT, flags INTEGER, trace_state TEXT, attributes TEXT NOT NULL, "
          "n_events INTEGER NOT NULL, n_links INTEGER NOT NULL, dropped_attributes INTEGER, "
          "dropped_events INTEGER, dropped_links INTEGER, PRIMARY KEY(trace_id, span_id)) "
          "WITHOUT ROWID;"
          "CREATE INDEX spans_by_session ON spans(session_id, start_ns) WHERE session_id IS NOT "
          "NULL;"
          "CREATE TABLE events(span_pk INTEGER NOT NULL, seq INTEGER NOT NULL, time_ns INTEGER "
          "NOT NULL, name TEXT NOT NULL, attributes TEXT NOT NULL, PRIMARY KEY(span_pk, seq)) "
          "WITHOUT ROWID;"
          "CREATE TABLE attr_values(id INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT "
          "NULL, UNIQUE(key, value));"
          "CREATE TABLE trace_attrs(attr_id INTEGER NOT NULL, trace_pk INTEGER NOT NULL, PRIMARY "
          "KEY(attr_id, trace_pk)) WITHOUT ROWID;"
          "CREATE TABLE traces(pk INTEGER PRIMARY KEY, trace_id BLOB NOT NULL UNIQUE, start_ns "
          "INTEGER NOT NULL, end_ns INTEGER NOT NULL, span_count INTEGER NOT NULL, error_count "
          "INTEGER NOT NULL, root_rank INTEGER NOT NULL, root_span_id BLOB, root_parent_id BLOB, "
          "root_name TEXT, service TEXT, session_id TEXT, user_id TEXT);"
          "CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
          "CREATE TABLE resources(id INTEGER PRIMARY KEY, attributes TEXT NOT NULL UNIQUE);"
          "INSERT INTO attr_values VALUES(1,'llm.model','gpt');"
          "INSERT INTO trace_attrs VALUES(1,5);"
          "INSERT INTO traces VALUES(5,x'00000000000000010000000000000002',10,40,2,0,1,"
          "x'000000000000000a',x'0000000000000000','root','svc','sess-9',NULL);"
          "INSERT INTO spans(id,trace_id,span_id,name,kind,start_ns,end_ns,status,service,"
          "session_id,attributes,n_events,n_links) VALUES(10,x'00000000000000010000000000000002',"
          "x'000000000000000a','root',2,10,40,0,'svc','sess-9',char(1)||'s1'||char(2)||'\"n\":1',"
          "0,0),(11,x'00000000000000010000000000000002',x'000000000000000b','child',3,20,30,0,"
          "'svc','sess-9','',1,0);"
          "UPDATE spans SET parent_span_id=x'000000000000000a' WHERE id=11;"
          "INSERT INTO events VALUES(11,0,25,'retry','{\"attempt\":2}');"
          "INSERT INTO counters VALUES('next_span_pk',12);",
          nullptr, nullptr, nullptr),
      SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  const std::string trace = skein::TraceId{1, 2}.to_hex();
  auto check = [&](skein::store::Store& st, std::size_t spans) {
    std::string err;
    auto got = st.get_trace(trace, &err);
    ASSERT_EQ(got.size(), spans) << err;
    EXPECT_EQ(got[0].trace_id, trace);
    EXPECT_EQ(got[0].name, "root");
    EXPECT_EQ(got[0].attributes_json, R"({"llm.model":"gpt","n":1})");
    EXPECT_EQ(got[1].name, "child");
    EXPECT_EQ(got[1].parent_span_id, got[0].span_id);
    EXPECT_EQ(got[1].attributes_json, "{}");
    ASSERT_EQ(got[1].events.size(), 1u);
    EXPECT_EQ(got[1].events[0].name, "retry");
    EXPECT_EQ(st.get_session("sess-9").size(), spans);
    auto found = st.list_traces({.search = "llm.model=gpt"});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].span_count, spans);
    EXPECT_EQ(st.list_traces({.search = "child"}).size(), 1u);  // span names (EXISTS on spans)
  };
  std::string err;
  auto reader = skein::store::Store::open(db_, skein::store::Store::Mode::read_only, err);
  ASSERT_TRUE(reader) << err;
  check(*reader, 2);  // schema 3, as it is

  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_write, err);
  ASSERT_TRUE(st) << err;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  std::string layout;
  ASSERT_EQ(sqlite3_exec(
                db,
                "SELECT (SELECT user_version FROM pragma_user_version)||' '||(SELECT "
                "group_concat(id) FROM spans)||' '||(SELECT group_concat(span_pk) FROM events)||"
                "' '||(SELECT count(*) FROM sqlite_schema WHERE name='spans_by_trace')",
                [](void* out, int, char** v, char**) {
                  *static_cast<std::string*>(out) = v[0] ? v[0] : "";
                  return 0;
                },
                &layout, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  // Trace 5's spans are numbered 5 << 24 and 5 << 24 | 1; the event follows the child.
  EXPECT_EQ(layout, "5 83886080,83886081 83886081 0");
  check(*st, 2);
  check(*reader, 2);  // opened before the migration, it reads the new layout

  // New spans join the migrated trace: a retry of the child is not stored twice, and a new span's
  // number follows the old ones (its event is its own, the child keeps its one).
  auto req = child_and_copy(skein::SpanId{0xb}, "child", skein::SpanId{0xa}, 20, "session.id",
                            "sess-9", skein::SpanId{0xc});
  auto& spans = req.resource_spans[0].scope_spans[0].spans;
  spans[1].name = "later";
  spans[1].start_time_unix_nano = 50;
  spans[1].attributes.push_back({"llm.model", text("gpt")});
  spans[1].events.push_back({});
  spans[1].events[0].name = "done";
  auto w = st->write(req);
  ASSERT_TRUE(w.ok) << w.error;
  EXPECT_EQ(w.accepted, 2u);  // accepted, but only one of them new
  check(*st, 3);
  auto got = st->get_trace(trace, &err);
  ASSERT_EQ(got.size(), 3u) << err;
  EXPECT_EQ(got[2].name, "later");
  ASSERT_EQ(got[2].events.size(), 1u);
  EXPECT_EQ(got[2].events[0].name, "done");
}

// A schema 4 file (spans numbered in arrival order, with a unique index on trace number and span
// id) reads as it is; a writer migrates it to schema 5 (a trace's spans numbered by its number
// and their order) keeping every span, event and link with its span, and dropping the index; a
// reader opened before the migration reads on; retries are still stored once, new spans follow
// their trace's, and retention deletes a trace with its events and links.
TEST_F(StoreExporterTest, SchemaFourFilesMigrateToFive) {
  std::filesystem::create_directories(std::filesystem::path(db_).parent_path());
  const auto now =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  const std::string a_start = std::to_string(now);  // trace A is recent, B is old
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  // Traces A {1, 2} (number 3) and B {1, 3} (number 4), their spans numbered in arrival order
  // across the two: A's root 10 and child 12 (an event and a link), B's root 11 and child 13 (an
  // event), both in session sess-b; A has k=v in the attribute index.
  const std::string sql =
      "PRAGMA journal_mode=WAL; PRAGMA user_version=4;"
      "CREATE TABLE resources(id INTEGER PRIMARY KEY, attributes TEXT NOT NULL UNIQUE);"
      "CREATE TABLE spans(id INTEGER PRIMARY KEY, trace_pk INTEGER NOT NULL, span_id BLOB NOT "
      "NULL, parent_span_id BLOB, name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT "
      "NULL, end_ns INTEGER NOT NULL, status INTEGER NOT NULL, status_message TEXT, service TEXT, "
      "session_id TEXT, user_id TEXT, event_type TEXT, resource_id INTEGER, scope_name TEXT, "
      "scope_version TEXT, flags INTEGER, trace_state TEXT, attributes TEXT NOT NULL, n_events "
      "INTEGER NOT NULL, n_links INTEGER NOT NULL, dropped_attributes INTEGER, dropped_events "
      "INTEGER, dropped_links INTEGER);"
      "CREATE UNIQUE INDEX spans_by_trace ON spans(trace_pk, span_id);"
      "CREATE INDEX spans_by_session ON spans(session_id, start_ns) WHERE session_id IS NOT NULL;"
      "CREATE TABLE events(span_pk INTEGER NOT NULL, seq INTEGER NOT NULL, time_ns INTEGER NOT "
      "NULL, name TEXT NOT NULL, attributes TEXT NOT NULL, PRIMARY KEY(span_pk, seq)) WITHOUT "
      "ROWID;"
      "CREATE TABLE links(span_pk INTEGER NOT NULL, seq INTEGER NOT NULL, trace_id BLOB NOT NULL, "
      "span_id BLOB NOT NULL, trace_state TEXT, flags INTEGER, attributes TEXT NOT NULL, PRIMARY "
      "KEY(span_pk, seq)) WITHOUT ROWID;"
      "CREATE TABLE attr_values(id INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL, "
      "UNIQUE(key, value));"
      "CREATE TABLE trace_attr_bits(attr_id INTEGER NOT NULL, block INTEGER NOT NULL, bits "
      "INTEGER NOT NULL, PRIMARY KEY(attr_id, block)) WITHOUT ROWID;"
      "CREATE TABLE traces(pk INTEGER PRIMARY KEY, trace_id BLOB NOT NULL UNIQUE, start_ns "
      "INTEGER NOT NULL, end_ns INTEGER NOT NULL, span_count INTEGER NOT NULL, error_count "
      "INTEGER NOT NULL, root_rank INTEGER NOT NULL, root_span_id BLOB, root_parent_id BLOB, "
      "root_name TEXT, service TEXT, session_id TEXT, user_id TEXT);"
      "CREATE TABLE sessions(session_id TEXT PRIMARY KEY, start_ns INTEGER NOT NULL, end_ns "
      "INTEGER NOT NULL, span_count INTEGER NOT NULL, error_count INTEGER NOT NULL, service TEXT, "
      "user_id TEXT);"
      "CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
      "INSERT INTO attr_values VALUES(1,'k','v');"
      "INSERT INTO trace_attr_bits VALUES(1,0,(1<<62)|(1<<3));"
      "INSERT INTO traces VALUES(3,x'00000000000000010000000000000002'," +
      a_start + "," + a_start +
      "+9,2,0,0,x'00000000000000a1',x'0000000000000000','a-root','svc',NULL,NULL),"
      "(4,x'00000000000000010000000000000003',10,40,2,0,0,x'00000000000000b1',"
      "x'0000000000000000','b-root','svc','sess-b',NULL);"
      "INSERT INTO spans(id,trace_pk,span_id,parent_span_id,name,kind,start_ns,end_ns,status,"
      "service,session_id,attributes,n_events,n_links) VALUES"
      "(10,3,x'00000000000000a1',NULL,'a-root',2," +
      a_start + "," + a_start + "+9,0,'svc',NULL,char(1)||'s1',0,0)," +
      "(11,4,x'00000000000000b1',NULL,'b-root',2,10,40,0,'svc','sess-b','',0,0),"
      "(12,3,x'00000000000000a2',x'00000000000000a1','a-child',3," +
      a_start + "+1," + a_start +
      "+2,0,'svc',NULL,'',1,1),"
      "(13,4,x'00000000000000b2',x'00000000000000b1','b-child',3,20,30,0,'svc','sess-b','',1,0);"
      "INSERT INTO events VALUES(12,0,5,'a-event','{}'),(13,0,25,'b-event','{}');"
      "INSERT INTO links VALUES(12,0,x'00000000000000090000000000000009',x'0000000000000009',"
      "NULL,0,'{}');"
      "INSERT INTO counters VALUES('next_span_pk',14),('next_trace_pk',5);";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  const std::string a = skein::TraceId{1, 2}.to_hex(), b = skein::TraceId{1, 3}.to_hex();
  auto check = [&](skein::store::Store& st, std::size_t a_spans, bool with_b = true) {
    std::string err;
    auto got = st.get_trace(a, &err);
    ASSERT_EQ(got.size(), a_spans) << err;
    EXPECT_EQ(got[0].trace_id, a);
    EXPECT_EQ(got[0].name, "a-root");
    EXPECT_EQ(got[0].attributes_json, R"({"k":"v"})");
    EXPECT_EQ(got[1].name, "a-child");
    EXPECT_EQ(got[1].parent_span_id, got[0].span_id);
    ASSERT_EQ(got[1].events.size(), 1u);
    EXPECT_EQ(got[1].events[0].name, "a-event");
    ASSERT_EQ(got[1].links.size(), 1u);
    EXPECT_EQ(got[1].links[0].span_id, skein::SpanId{9}.to_hex());
    EXPECT_TRUE(got[0].events.empty());
    auto found = st.list_traces({.search = "k=v"});
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].trace_id, a);
    if (!with_b) return;
    got = st.get_trace(b, &err);
    ASSERT_EQ(got.size(), 2u) << err;
    EXPECT_EQ(got[0].name, "b-root");
    EXPECT_EQ(got[1].name, "b-child");
    ASSERT_EQ(got[1].events.size(), 1u);
    EXPECT_EQ(got[1].events[0].name, "b-event");
    EXPECT_TRUE(got[1].links.empty());
    auto session = st.get_session("sess-b");
    ASSERT_EQ(session.size(), 2u);
    EXPECT_EQ(session[1].trace_id, b);
    found = st.list_traces({.search = "b-child"});  // span names (EXISTS on the trace's spans)
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].trace_id, b);
  };
  auto layout = [&] {
    std::string out;
    EXPECT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(
                  db,
                  "SELECT (SELECT user_version FROM pragma_user_version)||' '||(SELECT "
                  "group_concat(id) FROM (SELECT id FROM spans ORDER BY id))||' '||(SELECT "
                  "group_concat(span_pk) FROM events)||' '||(SELECT group_concat(span_pk) FROM "
                  "links)||' '||(SELECT count(*) FROM sqlite_schema WHERE name='spans_by_trace')"
                  "||' '||(SELECT count(*) FROM counters WHERE name='next_span_pk')",
                  [](void* o, int, char** v, char**) {
                    *static_cast<std::string*>(o) = v[0] ? v[0] : "";
                    return 0;
                  },
                  &out, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    return out;
  };
  std::string err;
  auto reader = skein::store::Store::open(db_, skein::store::Store::Mode::read_only, err);
  ASSERT_TRUE(reader) << err;
  check(*reader, 2);  // schema 4, as it is

  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_write, err);
  ASSERT_TRUE(st) << err;
  // 3 << 24 = 50331648, 4 << 24 = 67108864.
  EXPECT_EQ(layout(), "5 50331648,50331649,67108864,67108865 50331649,67108865 50331649 0 0");
  check(*st, 2);
  check(*reader, 2);  // opened before the migration, it reads the new layout

  // A retry of A's child is not stored again; a new span of A takes the next number of A's; a
  // new trace takes the next trace number.
  auto req = child_and_copy(skein::SpanId{0xa2}, "a-child", skein::SpanId{0xa1}, now + 1, "x", "y",
                            skein::SpanId{0xa3});
  auto& spans = req.resource_spans[0].scope_spans[0].spans;
  spans[1].name = "a-later";
  spans[1].start_time_unix_nano = now + 5;
  spans.push_back(spans[1]);
  spans[2].trace_id = skein::TraceId{1, 4};
  spans[2].name = "c-root";
  spans[2].parent_span_id = {};
  auto w = st->write(req);
  ASSERT_TRUE(w.ok) << w.error;
  EXPECT_EQ(w.accepted, 3u);
  check(*st, 3);
  auto got = st->get_trace(a, &err);
  ASSERT_EQ(got.size(), 3u) << err;
  EXPECT_EQ(got[2].name, "a-later");
  EXPECT_TRUE(got[2].events.empty());
  auto listed = st->list_traces({});
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(
      layout(),
      "5 50331648,50331649,50331650,67108864,67108865,83886080 50331649,67108865 50331649 0 0");

  // Retention deletes the old trace B, its events with it; A keeps its event and link.
  EXPECT_EQ(st->apply_retention({.max_age_days = 1}), 2u);
  EXPECT_EQ(layout(), "5 50331648,50331649,50331650,83886080 50331649 50331649 0 0");
  EXPECT_TRUE(st->get_trace(b, &err).empty());
  check(*reader, 3, false);
}

// The attribute index keeps the bits of deleted traces (bitmaps by trace number): a trace stored
// after retention deleted the one with the highest number must not take its number, or it would
// be found by the deleted trace's values.
TEST_F(StoreExporterTest, RetentionDoesNotLetANewTraceInheritADeletedOnesValues) {
  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_write, err);
  ASSERT_TRUE(st) << err;
  const auto now =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  auto trace = [&](std::uint64_t lo, std::uint64_t start, const char* value) {
    auto req = one_span(skein::SpanId{lo}, "op");
    auto& s = req.resource_spans[0].scope_spans[0].spans[0];
    s.trace_id = skein::TraceId{9, lo};
    s.start_time_unix_nano = start;
    s.end_time_unix_nano = start + 1;
    s.attributes.push_back({"k", text(value)});
    return req;
  };
  ASSERT_TRUE(st->write(trace(1, now, "a")).ok);
  ASSERT_TRUE(st->write(trace(2, 1000, "old")).ok);  // the last numbered, and the oldest
  EXPECT_EQ(st->apply_retention({.max_age_days = 1}), 1u);
  ASSERT_TRUE(st->write(trace(3, now, "c")).ok);
  auto found = [&](const char* q) {
    std::vector<std::string> out;
    for (const auto& t : st->list_traces({.search = q})) out.push_back(t.trace_id);
    return out;
  };
  EXPECT_TRUE(found("k=old").empty());
  EXPECT_EQ(found("k=c"), (std::vector<std::string>{skein::TraceId{9, 3}.to_hex()}));
  EXPECT_EQ(found("k=a"), (std::vector<std::string>{skein::TraceId{9, 1}.to_hex()}));
}

// A span row's resource, service and scope are bound once per INSERT of several spans, and its
// integers only when they change from the last span the statement stored: spans of several
// resources and scopes in one request, and integers that change, change back and repeat across
// statements and requests, each read back as it was sent.
TEST_F(StoreExporterTest, EverySpanKeepsItsOwnScopeResourceAndIntegers) {
  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_write, err);
  ASSERT_TRUE(st) << err;
  struct Scope {
    const char *service, *name, *version;
    int spans;
  };
  const Scope scopes[] = {{"alpha", "s1", "1.0", 3},
                          {"alpha", "s2", "", 20},
                          {"beta", "s1", "2.0", 1},
                          {"gamma", "", "", 17},
                          {"alpha", "s3", "3.0", 5}};
  std::vector<skein::otlp::Span> sent;
  std::vector<const Scope*> scope_of;
  std::uint64_t n = 0;
  for (int request = 0; request < 2; ++request) {
    skein::otlp::TracesRequest req;
    for (const Scope& sc : scopes) {
      // A new resource_spans whenever the service changes; scopes of one service share one.
      if (req.resource_spans.empty() || scope_of.back()->service != std::string_view(sc.service) ||
          sent.size() % 2 == 1) {
        auto& rs = req.resource_spans.emplace_back();
        rs.resource.attributes.push_back({"service.name", text(sc.service)});
      }
      auto& ss = req.resource_spans.back().scope_spans.emplace_back();
      ss.scope.name = sc.name;
      ss.scope.version = sc.version;
      for (int i = 0; i < sc.spans; ++i, ++n) {
        auto& s = ss.spans.emplace_back();
        s.trace_id = skein::TraceId{7, 1 + n / 6};
        s.span_id = skein::SpanId{100 + n};
        s.name = "op" + std::to_string(n);
        s.kind = static_cast<std::int32_t>(n % 7 < 4 ? 1 : n % 3 + 2);
        s.status.code = n % 5 == 0 ? 2 : n % 11 == 0 ? 1 : 0;
        s.flags = n % 4 == 0 ? 0x301 : 1;
        s.start_time_unix_nano = 1'700'000'000'000'000'000ULL + n * 1000;
        s.end_time_unix_nano = s.start_time_unix_nano + 500;
        s.dropped_attributes_count = static_cast<std::uint32_t>(n % 9 == 0 ? 3 : 0);
        s.dropped_events_count = static_cast<std::uint32_t>(n % 13 == 0 ? 1 : 0);
        s.dropped_links_count = static_cast<std::uint32_t>(n % 17 == 0 ? 2 : 0);
        if (n % 8 == 0) s.events.push_back({s.start_time_unix_nano, "e", {}, 0});
        sent.push_back(s);
        scope_of.push_back(&sc);
      }
    }
    auto w = st->write(req);
    ASSERT_TRUE(w.ok) << w.error;
    EXPECT_EQ(w.accepted, 46u);
  }
  std::size_t checked = 0;
  for (std::uint64_t t = 1; t <= (n + 5) / 6; ++t) {
    for (const auto& got : st->get_trace(skein::TraceId{7, t}.to_hex(), &err)) {
      const auto id = std::strtoull(got.span_id.c_str(), nullptr, 16);
      ASSERT_GE(id, 100u);
      ASSERT_LT(id - 100, sent.size());
      const auto& s = sent[id - 100];
      const Scope& sc = *scope_of[id - 100];
      SCOPED_TRACE(s.name);
      EXPECT_EQ(got.name, s.name);
      EXPECT_EQ(got.service, sc.service);
      EXPECT_NE(got.resource_json.find(sc.service), std::string::npos) << got.resource_json;
      EXPECT_EQ(got.scope_name, sc.name);
      EXPECT_EQ(got.scope_version, sc.version);
      EXPECT_EQ(got.kind, s.kind);
      EXPECT_EQ(got.status, s.status.code);
      EXPECT_EQ(got.flags, s.flags);
      EXPECT_EQ(got.start_ns, s.start_time_unix_nano);
      EXPECT_EQ(got.end_ns, s.end_time_unix_nano);
      EXPECT_EQ(got.dropped_attributes, s.dropped_attributes_count);
      EXPECT_EQ(got.dropped_events, s.dropped_events_count);
      EXPECT_EQ(got.dropped_links, s.dropped_links_count);
      EXPECT_EQ(got.events.size(), s.events.size());
      ++checked;
    }
  }
  EXPECT_EQ(checked, sent.size()) << err;
}

// A writer's WAL frames are gathered and written together (store/wal_batch.hpp): once a write
// returns, its commit is in the WAL file, whole, for any other connection or process: a copy of
// the files taken then (as if the process had been killed) recovers every committed span. Also
// for a transaction larger than what is gathered at once (4 MiB) and than one write (128 KiB).
TEST_F(StoreExporterTest, CommittedSpansAreInTheWalFileWhenTheWriteReturns) {
  std::string err;
  auto st = skein::store::Store::open(db_, skein::store::Store::Mode::read_write, err);
  ASSERT_TRUE(st) << err;
  std::uint64_t spans = 0;
  for (int batch = 0; batch < 4; ++batch) {
    const int n = batch == 2 ? 3000 : 7;  // batch 2: ~6 MiB of WAL in one commit
    skein::otlp::TracesRequest req;
    auto& ss = req.resource_spans.emplace_back().scope_spans.emplace_back();
    for (int i = 0; i < n; ++i) {
      auto& s = ss.spans.emplace_back();
      s.trace_id = skein::TraceId{9, static_cast<std::uint64_t>(batch * 10000 + i / 10 + 1)};
      s.span_id = skein::SpanId{spans + static_cast<std::uint64_t>(i) + 1};
      s.name = "op";
      s.attributes.push_back({"payload", text(std::string(2000, static_cast<char>('a' + i % 26)))});
    }
    auto w = st->write(req);
    ASSERT_TRUE(w.ok) << w.error;
    spans += static_cast<std::uint64_t>(n);

    // The files as they are now, the writer still open.
    const auto copy = dir_ / ("copy" + std::to_string(batch) + ".db");
    std::filesystem::copy_file(db_, copy);
    std::filesystem::copy_file(db_ + "-wal", copy.string() + "-wal");
    auto recovered =
        skein::store::Store::open(copy.string(), skein::store::Store::Mode::read_write, err);
    ASSERT_TRUE(recovered) << err;
    EXPECT_EQ(recovered->stats().spans_stored, spans) << "after batch " << batch;
  }
}

// A transaction larger than the page cache spills pages into the WAL before its commit; SQLite
// then writes the pages it changes again in place, and at the commit rewrites the checksums of
// the frames from there on (reading each frame first). With the gathered WAL writes, all of it
// is in the file when COMMIT returns: a copy taken then recovers the transaction whole.
TEST_F(StoreExporterTest, WalFramesWrittenAgainInPlaceAreInTheFileAtCommit) {
  std::filesystem::create_directories(dir_);
  const std::string path = (dir_ / "raw.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            skein::store::wal_batch_vfs()),
            SQLITE_OK);
  auto exec = [](sqlite3* d, const char* sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(d, sql, nullptr, nullptr, &msg);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (msg ? msg : "");
    sqlite3_free(msg);
  };
  exec(db,
       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=20;"
       "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);"
       "BEGIN; WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k+1 FROM n WHERE k<2000)"
       " INSERT INTO t SELECT k, zeroblob(500) FROM n;"
       "UPDATE t SET v = zeroblob(600) WHERE k % 7 = 0; COMMIT;");
  const std::filesystem::path copy = dir_ / "copy.db";
  std::filesystem::copy_file(path, copy);
  std::filesystem::copy_file(path + "-wal", copy.string() + "-wal");
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open_v2(copy.c_str(), &other, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(other, "SELECT count(*), sum(length(v)) FROM t", -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(q, 0), 2000);
  EXPECT_EQ(sqlite3_column_int64(q, 1), 285 * 600 + (2000 - 285) * 500);
  sqlite3_finalize(q);
  sqlite3_close(other);
  sqlite3_close(db);
}
