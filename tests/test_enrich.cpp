// enrich_span: the eight HoneyHive namespaces, flattening of nested maps and lists to dotted keys
// with their types kept, user types through the skein_value customization point, standard
// containers and optionals, and the counted no-op without a current span.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "fakes/collecting.hpp"
#include "skein/skein.hpp"

namespace shop {

struct Item {
  std::string sku;
  int quantity = 0;
};
void skein_value(skein::ValueWriter& w, const Item& item) {
  w.field("sku", item.sku);
  w.field("quantity", item.quantity);
}

struct Order {
  std::string id;
  double total = 0;
  bool paid = false;
  std::vector<int> codes;
  std::vector<Item> items;
  std::optional<std::string> coupon;
};
void skein_value(skein::ValueWriter& w, const Order& o) {
  w.field("id", o.id);
  w.field("total", o.total);
  w.field("paid", o.paid);
  w.field("codes", o.codes);
  w.field("items", o.items);
  w.field("coupon", o.coupon);
}

// A list-like user type: writes elements rather than fields.
struct Tags {
  std::vector<std::string> names;
};
void skein_value(skein::ValueWriter& w, const Tags& t) {
  for (const auto& n : t.names) w.element(n);
}

}  // namespace shop

namespace {

using skein::fakes::Collecting;
using skein::fakes::has_prefix;

class EnrichTest : public ::testing::Test {
 protected:
  void SetUp() override { skein::detail::current_state() = {}; }
  void TearDown() override { skein::detail::current_state() = {}; }
  Collecting c;
};

TEST_F(EnrichTest, AllNamespacesUseHoneyHiveAttributeNames) {
  {
    auto s = c.tracer.span("s");
    EXPECT_TRUE(skein::enrich_span({.metadata = {{"m", "meta"}},
                                    .metrics = {{"score", 0.93}},
                                    .feedback = {{"rating", 5}},
                                    .inputs = {{"question", "why?"}},
                                    .outputs = {{"answer", "because"}},
                                    .config = {{"model", "gpt-4o"}},
                                    .user_properties = {{"user_id", "u-42"}},
                                    .error = "it failed"}));
  }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.m"), "meta");
  EXPECT_EQ(d.double_attribute("honeyhive_metrics.score"), 0.93);
  EXPECT_EQ(d.int_attribute("honeyhive_feedback.rating"), 5);
  EXPECT_EQ(d.string_attribute("honeyhive_inputs.question"), "why?");
  EXPECT_EQ(d.string_attribute("honeyhive_outputs.answer"), "because");
  EXPECT_EQ(d.string_attribute("honeyhive_config.model"), "gpt-4o");
  EXPECT_EQ(d.string_attribute("honeyhive_user_properties.user_id"), "u-42");
  EXPECT_EQ(d.string_attribute("honeyhive_error"), "it failed");
  EXPECT_EQ(d.status, skein::StatusCode::error);
  EXPECT_EQ(d.status_message, "it failed");
}

TEST_F(EnrichTest, PrefixNames) {
  using skein::Namespace;
  EXPECT_EQ(skein::prefix(Namespace::metadata), "honeyhive_metadata");
  EXPECT_EQ(skein::prefix(Namespace::metrics), "honeyhive_metrics");
  EXPECT_EQ(skein::prefix(Namespace::feedback), "honeyhive_feedback");
  EXPECT_EQ(skein::prefix(Namespace::inputs), "honeyhive_inputs");
  EXPECT_EQ(skein::prefix(Namespace::outputs), "honeyhive_outputs");
  EXPECT_EQ(skein::prefix(Namespace::config), "honeyhive_config");
  EXPECT_EQ(skein::prefix(Namespace::user_properties), "honeyhive_user_properties");
}

TEST_F(EnrichTest, ShorthandGoesToMetadataAndSingleValueForm) {
  {
    auto s = c.tracer.span("s");
    EXPECT_TRUE(skein::enrich_span({{"a", 1}, {"b", "two"}}));
    EXPECT_TRUE(skein::enrich_span(skein::Namespace::metrics, "latency", 12.5));
    EXPECT_TRUE(skein::enrich_span(skein::Namespace::config, "nested",
                                   skein::Map{{"x", 1}, {"y", skein::List{true, false}}}));
  }
  auto d = c.only();
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.a"), 1);
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.b"), "two");
  EXPECT_EQ(d.double_attribute("honeyhive_metrics.latency"), 12.5);
  EXPECT_EQ(d.int_attribute("honeyhive_config.nested.x"), 1);
  EXPECT_EQ(d.bool_attribute("honeyhive_config.nested.y.0"), true);
  EXPECT_EQ(d.bool_attribute("honeyhive_config.nested.y.1"), false);
}

TEST_F(EnrichTest, NestedMapsFlattenToDottedKeysAndKeepTypes) {
  {
    auto s = c.tracer.span("s");
    skein::enrich_span(
        {.metadata = {{"request",
                       skein::Map{{"id", "r-1"},
                                  {"retries", 3},
                                  {"ratio", 0.5},
                                  {"cached", true},
                                  {"big", std::int64_t{1} << 40},
                                  {"deep", skein::Map{{"deeper", skein::Map{{"leaf", "x"}}}}}}}}});
  }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.request.id"), "r-1");
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.request.retries"), 3);
  EXPECT_EQ(d.double_attribute("honeyhive_metadata.request.ratio"), 0.5);
  EXPECT_EQ(d.bool_attribute("honeyhive_metadata.request.cached"), true);
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.request.big"), std::int64_t{1} << 40);
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.request.deep.deeper.leaf"), "x");
  // Nothing is stored under the intermediate keys.
  EXPECT_EQ(d.attribute("honeyhive_metadata.request"), nullptr);
  EXPECT_EQ(d.attribute("honeyhive_metadata.request.deep"), nullptr);
}

TEST_F(EnrichTest, ListsFlattenToIndexedKeys) {
  {
    auto s = c.tracer.span("s");
    skein::enrich_span(
        {.inputs = {{"numbers", skein::List{10, 20, 30}},
                    {"mixed", skein::List{1, "two", 3.5, false}},
                    {"nested", skein::List{skein::List{1, 2}, skein::Map{{"k", "v"}}}},
                    {"empty", skein::List{}}}});
  }
  auto d = c.only();
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.numbers.0"), 10);
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.numbers.1"), 20);
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.numbers.2"), 30);
  EXPECT_EQ(d.attribute("honeyhive_inputs.numbers.3"), nullptr);
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.mixed.0"), 1);
  EXPECT_EQ(d.string_attribute("honeyhive_inputs.mixed.1"), "two");
  EXPECT_EQ(d.double_attribute("honeyhive_inputs.mixed.2"), 3.5);
  EXPECT_EQ(d.bool_attribute("honeyhive_inputs.mixed.3"), false);
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.nested.0.0"), 1);
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.nested.0.1"), 2);
  EXPECT_EQ(d.string_attribute("honeyhive_inputs.nested.1.k"), "v");
  EXPECT_FALSE(has_prefix(d, "honeyhive_inputs.empty"));
}

TEST_F(EnrichTest, StandardContainers) {
  std::vector<std::string> docs{"a", "b"};
  std::map<std::string, int> counts{{"x", 1}, {"y", 2}};
  std::unordered_map<std::string, double> weights{{"w", 0.25}};
  std::map<std::string, std::vector<int>> groups{{"g", {7, 8}}};
  std::vector<std::map<std::string, std::string>> rows{{{"name", "r0"}}, {{"name", "r1"}}};
  std::array<bool, 2> flags{true, false};
  std::list<double> scores{1.5};
  std::set<int> ids{5, 3};
  {
    auto s = c.tracer.span("s");
    skein::enrich_span({.metadata = {{"docs", docs},
                                     {"counts", counts},
                                     {"weights", weights},
                                     {"groups", groups},
                                     {"rows", rows},
                                     {"flags", flags},
                                     {"scores", scores},
                                     {"ids", ids}}});
    // A map-like value can stand for a whole namespace.
    skein::enrich_span({.metrics = counts});
  }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.docs.0"), "a");
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.docs.1"), "b");
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.counts.x"), 1);
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.counts.y"), 2);
  EXPECT_EQ(d.double_attribute("honeyhive_metadata.weights.w"), 0.25);
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.groups.g.0"), 7);
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.groups.g.1"), 8);
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.rows.0.name"), "r0");
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.rows.1.name"), "r1");
  EXPECT_EQ(d.bool_attribute("honeyhive_metadata.flags.0"), true);
  EXPECT_EQ(d.bool_attribute("honeyhive_metadata.flags.1"), false);
  EXPECT_EQ(d.double_attribute("honeyhive_metadata.scores.0"), 1.5);
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.ids.0"), 3);  // set order
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.ids.1"), 5);
  EXPECT_EQ(d.int_attribute("honeyhive_metrics.x"), 1);
  EXPECT_EQ(d.int_attribute("honeyhive_metrics.y"), 2);
}

TEST_F(EnrichTest, Optionals) {
  std::optional<int> some = 4;
  std::optional<int> none;
  std::optional<std::string> text = "t";
  {
    auto s = c.tracer.span("s");
    skein::enrich_span({.metadata = {{"some", some}, {"none", none}, {"text", text}}});
  }
  auto d = c.only();
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.some"), 4);
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.text"), "t");
  // An empty optional is a null: never a value of another type.
  const skein::OwnedValue* n = d.attribute("honeyhive_metadata.none");
  if (n != nullptr) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(*n));
  }
}

TEST_F(EnrichTest, UserTypesThroughSkeinValue) {
  shop::Order order{.id = "o-1",
                    .total = 99.5,
                    .paid = true,
                    .codes = {4, 2},
                    .items = {{"sku-a", 1}, {"sku-b", 3}},
                    .coupon = std::nullopt};
  {
    auto s = c.tracer.span("s");
    skein::enrich_span({.inputs = {{"order", order}}, .outputs = order});
    skein::enrich_span({.metadata = {{"tags", shop::Tags{{"red", "blue"}}}}});
  }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("honeyhive_inputs.order.id"), "o-1");
  EXPECT_EQ(d.double_attribute("honeyhive_inputs.order.total"), 99.5);
  EXPECT_EQ(d.bool_attribute("honeyhive_inputs.order.paid"), true);
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.order.codes.0"), 4);
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.order.codes.1"), 2);
  EXPECT_EQ(d.string_attribute("honeyhive_inputs.order.items.0.sku"), "sku-a");
  EXPECT_EQ(d.int_attribute("honeyhive_inputs.order.items.1.quantity"), 3);
  // An opted-in type can be a whole namespace.
  EXPECT_EQ(d.string_attribute("honeyhive_outputs.id"), "o-1");
  EXPECT_EQ(d.string_attribute("honeyhive_outputs.items.1.sku"), "sku-b");
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.tags.0"), "red");
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.tags.1"), "blue");
}

TEST_F(EnrichTest, SpanSetKeepsHomogeneousListsAsArrays) {
  shop::Order order{.id = "o-2", .codes = {1, 2, 3}, .items = {{"s", 1}}, .coupon = "c"};
  {
    auto s = c.tracer.span("s");
    s.set("order", order);
  }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("order.id"), "o-2");
  ASSERT_NE(d.attribute("order.codes"), nullptr);
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(*d.attribute("order.codes")),
            (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(d.string_attribute("order.items.0.sku"), "s");
}

TEST_F(EnrichTest, LaterValuesReplaceEarlierOnes) {
  {
    auto s = c.tracer.span("s");
    skein::enrich_span({{"k", 1}});
    skein::enrich_span({{"k", "two"}});
  }
  auto d = c.only();
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.k"), "two");
  EXPECT_EQ(skein::fakes::count_key(d, "honeyhive_metadata.k"), 1u);
}

TEST_F(EnrichTest, GoesToTheInnermostCurrentSpan) {
  {
    auto outer = c.tracer.span("outer");
    {
      auto inner = c.tracer.span("inner");
      skein::enrich_span({{"where", "inner"}});
    }
    skein::enrich_span({{"where", "outer"}});
  }
  auto spans = c.spans();
  EXPECT_EQ(skein::fakes::by_name(spans, "inner").string_attribute("honeyhive_metadata.where"),
            "inner");
  EXPECT_EQ(skein::fakes::by_name(spans, "outer").string_attribute("honeyhive_metadata.where"),
            "outer");
}

TEST_F(EnrichTest, ExplicitSpanForm) {
  {
    auto outer = c.tracer.span("outer");
    auto inner = c.tracer.span("inner");
    EXPECT_TRUE(skein::enrich_span(outer, {.feedback = {{"ok", true}}}));
  }
  auto spans = c.spans();
  EXPECT_EQ(skein::fakes::by_name(spans, "outer").bool_attribute("honeyhive_feedback.ok"), true);
  EXPECT_FALSE(has_prefix(skein::fakes::by_name(spans, "inner"), "honeyhive_feedback"));

  skein::Span noop;
  EXPECT_FALSE(skein::enrich_span(noop, {.feedback = {{"ok", true}}}));
}

TEST_F(EnrichTest, WithoutCurrentSpanIsACountedNoOp) {
  const auto before = c.tracer.stats().enrich_without_span;
  EXPECT_FALSE(skein::enrich_span({{"k", 1}}));
  EXPECT_FALSE(skein::enrich_span({.metrics = {{"m", 1}}}));
  EXPECT_FALSE(skein::enrich_span(skein::Namespace::metrics, "m", 1));
  EXPECT_EQ(c.tracer.stats().enrich_without_span, before + 3);
  { auto s = c.tracer.span("after"); }
  auto d = c.only();
  EXPECT_FALSE(has_prefix(d, "honeyhive_metadata"));
  EXPECT_FALSE(has_prefix(d, "honeyhive_metrics"));
}

TEST_F(EnrichTest, InsideAnUnsampledSpanIsACountedNoOp) {
  Collecting off({.sampler = skein::always_off()});
  const auto before = off.tracer.stats().enrich_without_span;
  {
    auto s = off.tracer.span("unsampled");
    EXPECT_FALSE(skein::enrich_span({{"k", 1}}));
  }
  EXPECT_EQ(off.tracer.stats().enrich_without_span, before + 1);
  EXPECT_TRUE(off.spans().empty());
}

// enrich_span writes flat scalars under `prefix.key` inline when key and value are at most 32
// bytes, and through the general path otherwise; a namespace may mix both, and nested values.
TEST_F(EnrichTest, InlineAndGeneralPathsRecordTheSame) {
  const std::string long_key(33, 'k'), long_value(33, 'v'), key32(32, 'q'), value32(32, 'w');
  {
    auto s = c.tracer.span("s");
    skein::enrich_span({.metadata = {{"a", 1},
                                     {long_key, "x"},
                                     {"b", long_value},
                                     {key32, value32},
                                     {"nested", skein::List{1, "two"}},
                                     {"", "empty key"},
                                     {"c", nullptr}},
                        .user_properties = {{"plan", "pro"}}});
    for (int i = 0; i < 40; ++i) {  // past the attribute list's first capacity and arena block
      skein::enrich_span(skein::Namespace::metrics, "m" + std::to_string(i), long_value + "!");
    }
  }
  auto d = c.only();
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.a"), 1);
  EXPECT_EQ(d.string_attribute("honeyhive_metadata." + long_key), "x");
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.b"), long_value);
  EXPECT_EQ(d.string_attribute("honeyhive_metadata." + key32), value32);
  EXPECT_EQ(d.int_attribute("honeyhive_metadata.nested.0"), 1);
  EXPECT_EQ(d.string_attribute("honeyhive_metadata.nested.1"), "two");
  EXPECT_EQ(d.string_attribute("honeyhive_metadata."), "empty key");
  EXPECT_NE(d.attribute("honeyhive_metadata.c"), nullptr);
  EXPECT_EQ(d.string_attribute("honeyhive_user_properties.plan"), "pro");
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(d.string_attribute("honeyhive_metrics.m" + std::to_string(i)), long_value + "!");
  }
}

// Scalars of every type, added inline both while the span's attributes are packed and once they
// are listed (more than the record packs), come out with their types and values.
TEST_F(EnrichTest, EveryScalarTypeSurvivesPackedAndListedInlinePaths) {
  constexpr int kRounds = 12;  // 60 attributes: the first few packed, the rest listed
  {
    auto s = c.tracer.span("s");
    for (int i = 0; i < kRounds; ++i) {
      const std::string n = std::to_string(i);
      skein::enrich_span({.metadata = {{"t" + n, true}, {"f" + n, false}, {"s" + n, "v" + n}},
                          .metrics = {{"i" + n, std::int64_t{-1} - i}, {"d" + n, 0.25 * i - 3.5}},
                          .config = {{"z" + n, nullptr}}});
    }
  }
  auto d = c.only();
  for (int i = 0; i < kRounds; ++i) {
    const std::string n = std::to_string(i);
    SCOPED_TRACE(i);
    EXPECT_EQ(d.bool_attribute("honeyhive_metadata.t" + n), true);
    EXPECT_EQ(d.bool_attribute("honeyhive_metadata.f" + n), false);
    EXPECT_EQ(d.string_attribute("honeyhive_metadata.s" + n), "v" + n);
    EXPECT_EQ(d.int_attribute("honeyhive_metrics.i" + n), -1 - i);
    EXPECT_EQ(d.double_attribute("honeyhive_metrics.d" + n), 0.25 * i - 3.5);
    const skein::OwnedValue* z = d.attribute("honeyhive_config.z" + n);
    ASSERT_NE(z, nullptr);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(*z));
  }
}

TEST_F(EnrichTest, EmptyNamespacesAddNothing) {
  {
    auto s = c.tracer.span("s");
    EXPECT_TRUE(skein::enrich_span(skein::Enrichment{}));
  }
  auto d = c.only();
  EXPECT_FALSE(has_prefix(d, "honeyhive_metadata"));
  EXPECT_EQ(d.attribute("honeyhive_error"), nullptr);
  EXPECT_EQ(d.status, skein::StatusCode::unset);
}

}  // namespace
