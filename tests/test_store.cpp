// The store exporter: spans of a real tracer written into the SQLite store and read back as
// `skein` reads them (the embedded default).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "skein/skein.hpp"
#include "skein/store.hpp"
#include "store/store.hpp"

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
}

}  // namespace
