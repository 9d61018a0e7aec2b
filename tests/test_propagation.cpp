// W3C Trace Context (level 2) and W3C Baggage: parsers, formatters, inject/extract over every
// carrier kind, and spans started from extracted contexts. Vectors come from the specification
// texts and from the W3C trace-context test harness.
#include <gtest/gtest.h>

#include <list>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fakes/collecting.hpp"
#include "skein/propagation.hpp"
#include "skein/skein.hpp"

namespace {

using skein::Baggage;
using skein::Context;
using skein::TraceState;

constexpr const char* kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// ---- traceparent -------------------------------------------------------------------------------

TEST(Traceparent, ParsesTheSpecExamples) {
  auto tp = skein::parse_traceparent(kValid);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(tp->parent_id.to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(tp->flags, 0x01);
  auto unsampled =
      skein::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled);
  EXPECT_EQ(unsampled->flags, 0x00);
}

TEST(Traceparent, KeepsSampledAndRandomFlagsOnly) {
  auto tp = skein::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->flags, skein::trace_flags::sampled | skein::trace_flags::random);
  auto all = skein::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->flags, 0x03);  // unknown flags are not propagated
  auto nine = skein::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  ASSERT_TRUE(nine);
  EXPECT_EQ(nine->flags, skein::trace_flags::sampled);  // a bit field, not a number
}

TEST(Traceparent, IgnoresSurroundingWhitespace) {
  for (const char* v : {" 00-12345678901234567890123456789012-1234567890123456-01",
                        "\t00-12345678901234567890123456789012-1234567890123456-01",
                        "00-12345678901234567890123456789012-1234567890123456-01 ",
                        "00-12345678901234567890123456789012-1234567890123456-01\t",
                        "\t 00-12345678901234567890123456789012-1234567890123456-01 \t"}) {
    auto tp = skein::parse_traceparent(v);
    ASSERT_TRUE(tp) << v;
    EXPECT_EQ(tp->trace_id.to_hex(), "12345678901234567890123456789012");
  }
}

TEST(Traceparent, RejectsEveryMalformedInputOfTheHarness) {
  const char* invalid[] = {
      "",
      "00-12345678901234567890123456789012-1234567890123456-01.",  // version 00: exactly 55
      "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
      "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
      "ff-12345678901234567890123456789012-1234567890123456-01",  // version ff is forbidden
      ".0-12345678901234567890123456789012-1234567890123456-01",
      "0.-12345678901234567890123456789012-1234567890123456-01",
      "000-12345678901234567890123456789012-1234567890123456-01",
      "0000-12345678901234567890123456789012-1234567890123456-01",
      "0-12345678901234567890123456789012-1234567890123456-01",
      "00-00000000000000000000000000000000-1234567890123456-01",  // all-zero trace id
      "00-.2345678901234567890123456789012-1234567890123456-01",
      "00-1234567890123456789012345678901.-1234567890123456-01",
      "00-123456789012345678901234567890123-1234567890123456-01",
      "00-1234567890123456789012345678901-1234567890123456-01",
      "00-12345678901234567890123456789012-0000000000000000-01",  // all-zero parent id
      "00-12345678901234567890123456789012-.234567890123456-01",
      "00-12345678901234567890123456789012-123456789012345.-01",
      "00-12345678901234567890123456789012-12345678901234567-01",
      "00-12345678901234567890123456789012-123456789012345-01",
      "00-12345678901234567890123456789012-1234567890123456-.0",
      "00-12345678901234567890123456789012-1234567890123456-0.",
      "00-12345678901234567890123456789012-1234567890123456-001",
      "00-12345678901234567890123456789012-1234567890123456-1",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  // uppercase hex
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 x",
      "cc-12345678901234567890123456789012-1234567890123456",  // shorter than 55
  };
  for (const char* v : invalid) EXPECT_FALSE(skein::parse_traceparent(v)) << '"' << v << '"';
}

// Every byte value at every digit of the ids: accepted exactly when it is a lowercase hex digit,
// and then the parsed ids hold that digit's value in that place (the id parsers work on 16 digits
// at once).
TEST(Traceparent, EveryByteAtEveryIdDigitIsParsedOrRejectedExactly) {
  const std::string base = "00-0123456789abcdeffedcba9876543210-00f067aa0ba902b7-01";
  const auto good = skein::parse_traceparent(base);
  ASSERT_TRUE(good);
  for (int pos = 3; pos < 52; ++pos) {
    if (pos == 35) continue;  // the dash between the ids
    const bool in_trace = pos < 35;
    const int digit = in_trace ? pos - 3 : pos - 36;  // 0 = most significant
    for (int b = 0; b < 256; ++b) {
      std::string v = base;
      v[static_cast<std::size_t>(pos)] = static_cast<char>(b);
      const auto tp = skein::parse_traceparent(v);
      const bool hex = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f');
      ASSERT_EQ(static_cast<bool>(tp), hex) << pos << " " << b;
      if (!tp) continue;
      const std::uint64_t value = static_cast<std::uint64_t>(b <= '9' ? b - '0' : b - 'a' + 10);
      std::uint64_t want_hi = good->trace_id.hi, want_lo = good->trace_id.lo,
                    want_span = good->parent_id.value;
      std::uint64_t& word = in_trace ? (digit < 16 ? want_hi : want_lo) : want_span;
      const int shift = 4 * (15 - digit % 16);
      word = (word & ~(std::uint64_t{0xf} << shift)) | (value << shift);
      EXPECT_EQ(tp->trace_id.hi, want_hi) << pos << " " << b;
      EXPECT_EQ(tp->trace_id.lo, want_lo) << pos << " " << b;
      EXPECT_EQ(tp->parent_id.value, want_span) << pos << " " << b;
    }
  }
}

// Formatting and parsing are inverse for ids with every nibble value in every place.
TEST(Traceparent, FormatAndParseRoundTripEveryNibble) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    skein::TraceId t{rng(), rng()};
    skein::SpanId sp{rng()};
    if (i < 16 * 16) {  // first, each nibble value at each of the 16 places of every word
      const std::uint64_t v = static_cast<std::uint64_t>(i % 16) << (4 * (i / 16));
      t = skein::TraceId{v | 1, v};
      sp = skein::SpanId{v | 1};
    }
    if (!t.valid() || !sp.valid()) continue;
    char buf[skein::kTraceparentLength];
    skein::format_traceparent(t, sp, 1, buf);
    const std::string s(buf, sizeof buf);
    EXPECT_EQ(s.substr(3, 32), t.to_hex());
    EXPECT_EQ(s.substr(36, 16), sp.to_hex());
    const auto tp = skein::parse_traceparent(s);
    ASSERT_TRUE(tp) << s;
    EXPECT_EQ(tp->trace_id, t);
    EXPECT_EQ(tp->parent_id, sp);
  }
}

TEST(Traceparent, ParsesFutureVersionsByTheirFirstFourFields) {
  for (const char* v :
       {"cc-12345678901234567890123456789012-1234567890123456-01",
        "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        "01-12345678901234567890123456789012-1234567890123456-01-"}) {
    auto tp = skein::parse_traceparent(v);
    ASSERT_TRUE(tp) << v;
    EXPECT_EQ(tp->trace_id.to_hex(), "12345678901234567890123456789012");
    EXPECT_EQ(tp->parent_id.to_hex(), "1234567890123456");
    EXPECT_EQ(tp->flags, 1);
  }
}

TEST(Traceparent, FormatsVersion00AndClearsUnknownFlags) {
  auto tp = skein::parse_traceparent(kValid);
  char buf[skein::kTraceparentLength];
  skein::format_traceparent(tp->trace_id, tp->parent_id, 0xff, buf);
  EXPECT_EQ(std::string(buf, sizeof buf),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  Context ctx(tp->trace_id, tp->parent_id, 1, true);
  EXPECT_EQ(skein::format_traceparent(ctx), kValid);
  EXPECT_EQ(skein::format_traceparent(Context()), "");
}

// ---- tracestate --------------------------------------------------------------------------------

TEST(Tracestate, ParsesTheSpecExamplesAndNormalizesWhitespace) {
  auto ts = TraceState::parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->size(), 2u);
  EXPECT_EQ(ts->get("rojo"), "00f067aa0ba902b7");
  EXPECT_EQ(ts->get("congo"), "t61rcWkgMzE");
  auto ows = TraceState::parse("foo=1 \t , \t bar=2, \t baz=3");
  ASSERT_TRUE(ows);
  EXPECT_EQ(ows->header(), "foo=1,bar=2,baz=3");
  auto tabs = TraceState::parse("\t foo=1 \t");
  ASSERT_TRUE(tabs);
  EXPECT_EQ(tabs->get("foo"), "1");
}

TEST(Tracestate, AcceptsEmptyMembersAndEmptyHeaders) {
  auto empty = TraceState::parse("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto gaps = TraceState::parse(" , foo=1,, ,bar=2 ,");
  ASSERT_TRUE(gaps);
  EXPECT_EQ(gaps->header(), "foo=1,bar=2");
}

TEST(Tracestate, AcceptsEveryAllowedCharacter) {
  std::string key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
  std::string value;
  for (int c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') value.push_back(static_cast<char>(c));
  }
  auto ts = TraceState::parse(key + "=" + value);
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->get(key), value);
  std::string tenant_key = key + "@a-z0-9_-*/";
  auto mt = TraceState::parse(tenant_key + "=" + value);
  ASSERT_TRUE(mt);
  EXPECT_EQ(mt->get(tenant_key), value);
  // Leading spaces belong to the value.
  auto lead = TraceState::parse("foo=  bar");
  ASSERT_TRUE(lead);
  EXPECT_EQ(lead->get("foo"), "  bar");
}

TEST(Tracestate, KeyLengthLimits) {
  EXPECT_TRUE(TraceState::parse(std::string(256, 'z') + "=1"));
  EXPECT_FALSE(TraceState::parse(std::string(257, 'z') + "=1"));
  EXPECT_TRUE(TraceState::parse(std::string(241, 't') + "@" + std::string(14, 'v') + "=1"));
  EXPECT_FALSE(TraceState::parse(std::string(242, 't') + "@v=1"));
  EXPECT_FALSE(TraceState::parse("t@" + std::string(15, 'v') + "=1"));
  EXPECT_TRUE(TraceState::parse("0tenant@vendor=1"));  // a tenant may start with a digit
  EXPECT_FALSE(TraceState::parse("0simple=1"));        // a simple key may not
  EXPECT_FALSE(TraceState::parse("t@0vendor=1"));
}

TEST(Tracestate, ValueLengthLimit) {
  EXPECT_TRUE(TraceState::parse("foo=" + std::string(256, 'v')));
  EXPECT_FALSE(TraceState::parse("foo=" + std::string(257, 'v')));
}

TEST(Tracestate, AnyInvalidMemberDiscardsTheWholeHeader) {
  const char* invalid[] = {
      "foo =1",
      "FOO=1",
      "foo.bar=1",
      "foo@=1,bar=2",
      "@foo=1,bar=2",
      "foo@@bar=1,bar=2",
      "foo@bar@baz=1,bar=2",
      "foo=bar=baz",
      "foo=,bar=3",
      "foo=1,foo=1",
      "foo=1,foo=2",
      "foo",
      "=1",
      "foo=a\tb",
      "foo=\x7f",
      "foo=caf\xc3\xa9",
  };
  for (const char* v : invalid) EXPECT_FALSE(TraceState::parse(v)) << '"' << v << '"';
}

TEST(Tracestate, ThirtyTwoMembersAtMost) {
  std::string h;
  for (int i = 1; i <= 32; ++i) {
    char m[16];
    std::snprintf(m, sizeof m, "%sbar%02d=%02d", i > 1 ? "," : "", i, i);
    h += m;
  }
  auto ts = TraceState::parse(h);
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->size(), 32u);
  EXPECT_FALSE(TraceState::parse(h + ",bar33=33"));
}

TEST(Tracestate, TruncatesLongHeadersByWholeEntriesLargeOnesFirst) {
  // 4 entries of 140 chars (over 128) and small ones: the large ones go first, last first.
  std::string big = std::string(135, 'v');
  std::string h = "a=1,b1=" + big + ",c=3,b2=" + big + ",d=4,b3=" + big + ",e=5,b4=" + big;
  auto ts = TraceState::parse(h);
  ASSERT_TRUE(ts);
  EXPECT_LE(ts->header().size(), TraceState::kMaxLength);
  EXPECT_EQ(ts->get("a"), "1");
  EXPECT_EQ(ts->get("e"), "5");
  EXPECT_TRUE(ts->get("b1"));  // only as many large entries as needed are removed
  EXPECT_FALSE(ts->get("b4"));
  // Without large entries, entries are removed from the end.
  std::string small;
  for (int i = 0; i < 32; ++i)
    small += (i ? "," : "") + std::string("k") + std::to_string(i) + "=" + std::string(20, 'x');
  auto cut = TraceState::parse(small);
  ASSERT_TRUE(cut);
  EXPECT_LE(cut->header().size(), TraceState::kMaxLength);
  EXPECT_TRUE(cut->get("k0"));
  EXPECT_FALSE(cut->get("k31"));
}

TEST(Tracestate, SetMovesTheEntryToTheFront) {
  auto ts = TraceState::parse("congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
  ASSERT_TRUE(ts);
  EXPECT_TRUE(ts->set("rojo", "00f067aa0ba902b8"));
  EXPECT_EQ(ts->header(), "rojo=00f067aa0ba902b8,congo=ucfJifl5GOE");
  EXPECT_TRUE(ts->set("skein", "x"));
  EXPECT_EQ(ts->header(), "skein=x,rojo=00f067aa0ba902b8,congo=ucfJifl5GOE");
  EXPECT_FALSE(ts->set("Bad", "x"));
  EXPECT_FALSE(ts->set("ok", "a,b"));
  EXPECT_TRUE(ts->remove("rojo"));
  EXPECT_FALSE(ts->remove("rojo"));
  EXPECT_EQ(ts->header(), "skein=x,congo=ucfJifl5GOE");
}

// ---- baggage -----------------------------------------------------------------------------------

TEST(Baggage, ParsesTheSpecExample) {
  auto b = Baggage::parse(
      "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.get("key1"), "value1");
  EXPECT_EQ(b.find("key1")->properties, ";property1;property2");
  EXPECT_EQ(b.get("key2"), "value2");
  EXPECT_EQ(b.find("key3")->properties, ";propertyKey=propertyValue");
  EXPECT_EQ(b.to_header(),
            "key1=value1;property1;property2,key2=value2,key3=value3;propertyKey=propertyValue");
}

TEST(Baggage, DecodesAndEncodesPercentEscapes) {
  auto b = Baggage::parse("userId=alice,serverNode=DF%2028,isProduction=false");
  EXPECT_EQ(b.get("serverNode"), "DF 28");
  EXPECT_EQ(b.to_header(), "userId=alice,serverNode=DF%2028,isProduction=false");
  Baggage u;
  EXPECT_TRUE(u.set("q", "a b,c;d\"e\\f%g+h=i\xc3\xa9"));
  EXPECT_EQ(u.to_header(), "q=a%20b%2Cc%3Bd%22e%5Cf%25g%2Bh=i%C3%A9");
  EXPECT_EQ(Baggage::parse(u.to_header()).get("q"), "a b,c;d\"e\\f%g+h=i\xc3\xa9");
  EXPECT_EQ(Baggage::parse("k=a=b").get("k"), "a=b");  // '=' may appear in values
  EXPECT_EQ(Baggage::parse("k=").get("k"), "");        // empty values are allowed
  EXPECT_EQ(Baggage::parse("k=%e2%82%ac").get("k"), "\xe2\x82\xac");
}

TEST(Baggage, DropsMalformedMembersOneByOne) {
  auto b = Baggage::parse(
      "good=1,=novalue,bad key=2,noeq,k=bad value,k2=%zz,k3=%c3,ok=2,k4=\"q\",k5=a;,"
      "k6=v;bad prop=1,k7=v;p=bad\\v, ,last=3");
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(b.get("good"), "1");
  EXPECT_EQ(b.get("ok"), "2");
  EXPECT_EQ(b.get("last"), "3");
}

TEST(Baggage, DuplicateKeysKeepTheLastValue) {
  auto b = Baggage::parse("a=1,b=2,a=3");
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.get("a"), "3");
  EXPECT_EQ(b.to_header(), "a=3,b=2");
}

TEST(Baggage, EnforcesTheEntryLimit) {
  std::string h;
  for (int i = 0; i < 250; ++i) h += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  auto b = Baggage::parse(h);
  EXPECT_EQ(b.size(), Baggage::kMaxEntries);
  EXPECT_GE(b.size(), 64u);  // the spec's minimum
  EXPECT_TRUE(b.get("k0"));
  EXPECT_FALSE(b.get("k200"));
}

TEST(Baggage, EnforcesTheByteLimit) {
  std::string h;
  for (int i = 0; i < 100; ++i)
    h += (i ? "," : "") + std::string("k") + std::to_string(i) + "=" + std::string(100, 'v');
  auto b = Baggage::parse(h);
  EXPECT_LE(b.to_header().size(), Baggage::kMaxBytes);
  EXPECT_GE(b.to_header().size(), Baggage::kMaxBytes - 110);
  // One member larger than the whole budget is dropped, the others are kept.
  auto big = Baggage::parse("a=1,huge=" + std::string(9000, 'x') + ",b=2");
  EXPECT_EQ(big.size(), 2u);
  Baggage s;
  EXPECT_FALSE(s.set("huge", std::string(9000, 'x')));
  EXPECT_TRUE(s.empty());
}

TEST(Baggage, SetRemoveRetainAndIterate) {
  Baggage b{{"request.id", "r-42"}, {"user", "alice"}};
  EXPECT_EQ(b.size(), 2u);
  EXPECT_FALSE(b.set("bad key", "x"));
  EXPECT_FALSE(b.set("k", "v", "noleadingsemicolon"));
  EXPECT_TRUE(b.set("k", "v", "; ttl = 30 ;secret"));
  EXPECT_EQ(b.find("k")->properties, ";ttl=30;secret");
  EXPECT_TRUE(b.set("user", "bob"));
  EXPECT_EQ(b.get("user"), "bob");
  EXPECT_TRUE(b.remove("k"));
  EXPECT_FALSE(b.remove("k"));
  std::vector<std::string> keys;
  for (const auto& e : b) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"request.id", "user"}));
  // On a temporary, get() returns an owning string (a view would dangle).
  auto owned = Baggage::parse("k=v").get("k");
  static_assert(std::is_same_v<decltype(owned), std::optional<std::string>>);
  EXPECT_EQ(owned, "v");
  static_assert(std::is_same_v<decltype(b.get("k")), std::optional<std::string_view>>);
  auto ts_owned = TraceState::of(Context()).get("x");
  static_assert(std::is_same_v<decltype(ts_owned), std::optional<std::string>>);
  b.retain({"user"});
  EXPECT_EQ(b.to_header(), "user=bob");
  EXPECT_EQ(Baggage::parse(b.to_header()), b);
}

// ---- inject / extract --------------------------------------------------------------------------

template <class C>
C headers(std::initializer_list<std::pair<std::string, std::string>> kv) {
  C c;
  for (const auto& [k, v] : kv) {
    if constexpr (requires { c.emplace_back(k, v); })
      c.emplace_back(k, v);
    else
      c.emplace(k, v);
  }
  return c;
}

template <class C>
class Carriers : public ::testing::Test {};
using CarrierTypes = ::testing::Types<
    std::map<std::string, std::string>, std::unordered_map<std::string, std::string>,
    std::multimap<std::string, std::string>, std::vector<std::pair<std::string, std::string>>>;
TYPED_TEST_SUITE(Carriers, CarrierTypes);

TYPED_TEST(Carriers, ExtractMatchesNamesCaseInsensitively) {
  auto c = headers<TypeParam>({{"TraceParent", kValid},
                               {"TRACESTATE", "congo=t61rcWkgMzE"},
                               {"Baggage", "request.id=r-1"},
                               {"content-type", "x"}});
  Context ctx = skein::extract(c);
  ASSERT_TRUE(ctx.valid());
  EXPECT_TRUE(ctx.remote());
  EXPECT_TRUE(ctx.sampled());
  EXPECT_EQ(ctx.trace_id().to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ctx.span_id().to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(ctx.trace_state(), "congo=t61rcWkgMzE");
  EXPECT_EQ(Baggage::of(ctx).get("request.id"), "r-1");
}

TYPED_TEST(Carriers, InjectWritesLowercaseAndReplacesEveryOtherSpelling) {
  auto tp = skein::parse_traceparent(kValid);
  auto extras = std::make_shared<const skein::ContextExtras>(
      skein::ContextExtras{"congo=t61rcWkgMzE", "k=v"});
  Context ctx(tp->trace_id, tp->parent_id, 1, true, extras);
  auto c = headers<TypeParam>(
      {{"TraceParent", "garbage"}, {"TRACESTATE", "bad state"}, {"x-other", "keep"}});
  skein::inject(ctx, c);
  std::map<std::string, std::string> seen;
  for (const auto& [k, v] : c) {
    EXPECT_FALSE(seen.count(k)) << "duplicate " << k;
    seen[k] = v;
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen["traceparent"], kValid);
  EXPECT_EQ(seen["tracestate"], "congo=t61rcWkgMzE");
  EXPECT_EQ(seen["baggage"], "k=v");
  EXPECT_EQ(seen["x-other"], "keep");
  // Injecting a context without trace state or baggage removes stale ones.
  skein::inject(Context(tp->trace_id, tp->parent_id, 0), c);
  seen.clear();
  for (const auto& [k, v] : c) seen[k] = v;
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  // And an invalid context removes everything.
  skein::inject(Context(), c);
  EXPECT_EQ(c.size(), 1u);
}

TYPED_TEST(Carriers, RoundTrip) {
  auto tp = skein::parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03");
  auto extras = std::make_shared<const skein::ContextExtras>(
      skein::ContextExtras{"rojo=00f067aa0ba902b7", "a=1;p,b=%20"});
  Context in(tp->trace_id, tp->parent_id, tp->flags, false, extras);
  TypeParam c;
  skein::inject(in, c);
  Context out = skein::extract(c);
  EXPECT_EQ(out.trace_id(), in.trace_id());
  EXPECT_EQ(out.span_id(), in.span_id());
  EXPECT_EQ(out.flags(), in.flags());
  EXPECT_EQ(out.trace_state(), in.trace_state());
  EXPECT_EQ(out.baggage(), in.baggage());
}

TEST(Extract, InvalidTraceparentRestartsTheTraceAndIgnoresTracestate) {
  std::map<std::string, std::string> c{
      {"traceparent", "00-00000000000000000000000000000000-1234567890123456-01"},
      {"tracestate", "foo=1"},
      {"baggage", "k=v"}};
  Context ctx = skein::extract(c);
  EXPECT_FALSE(ctx.valid());
  EXPECT_EQ(ctx.trace_state(), "");
  EXPECT_EQ(ctx.baggage(), "k=v");  // baggage is independent of trace context
}

TEST(Extract, TwoTraceparentHeadersAreInvalid) {
  std::vector<std::pair<std::string, std::string>> c{
      {"traceparent", "00-12345678901234567890123456789011-1234567890123456-01"},
      {"traceparent", "00-12345678901234567890123456789012-1234567890123456-01"}};
  EXPECT_FALSE(skein::extract(c).valid());
}

TEST(Extract, CombinesSeveralTracestateHeadersInOrder) {
  std::vector<std::pair<std::string, std::string>> c{
      {"traceparent", "00-12345678901234567890123456789012-1234567890123456-00"},
      {"tracestate", "foo=1,bar=2"},
      {"tracestate", ""},
      {"TraceState", "rojo=1,congo=2"},
      {"tracestate", "baz=3"}};
  Context ctx = skein::extract(c);
  EXPECT_EQ(ctx.trace_state(), "foo=1,bar=2,rojo=1,congo=2,baz=3");
  EXPECT_FALSE(ctx.sampled());
}

TEST(Extract, DuplicateKeysAcrossTracestateHeadersDiscardIt) {
  std::vector<std::pair<std::string, std::string>> c{
      {"traceparent", "00-12345678901234567890123456789012-1234567890123456-00"},
      {"tracestate", "foo=1"},
      {"tracestate", "foo=2"}};
  Context ctx = skein::extract(c);
  EXPECT_TRUE(ctx.valid());
  EXPECT_EQ(ctx.trace_state(), "");
}

TEST(Extract, ThirtyThreeMembersAcrossHeadersDiscardIt) {
  std::vector<std::pair<std::string, std::string>> c{
      {"traceparent", "00-12345678901234567890123456789012-1234567890123456-00"}};
  for (int i = 0; i < 33; ++i) c.emplace_back("tracestate", "k" + std::to_string(i) + "=v");
  EXPECT_EQ(skein::extract(c).trace_state(), "");
  c.pop_back();
  EXPECT_NE(skein::extract(c).trace_state(), "");
}

TEST(Extract, CombinesBaggageHeaders) {
  std::vector<std::pair<std::string, std::string>> c{
      {"baggage", "userId=alice"}, {"baggage", "serverNode=DF%2028,isProduction=false"}};
  auto b = Baggage::of(skein::extract(c));
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(b.get("serverNode"), "DF 28");
}

TEST(Extract, TrustBoundaryOptions) {
  std::map<std::string, std::string> c{{"traceparent", kValid},
                                       {"tracestate", "congo=1"},
                                       {"baggage", "request.id=r-1,user=alice,secret=x"}};
  Context no_bag = skein::extract(c, {.baggage = false});
  EXPECT_TRUE(no_bag.valid());
  EXPECT_EQ(no_bag.baggage(), "");
  EXPECT_EQ(no_bag.trace_state(), "congo=1");
  Context allow = skein::extract(c, {.baggage_keys = {"request.id", "user"}});
  EXPECT_EQ(allow.baggage(), "request.id=r-1,user=alice");
  Context restart = skein::extract(c, {.trace_context = false});
  EXPECT_FALSE(restart.valid());
  EXPECT_EQ(restart.trace_state(), "");
  EXPECT_EQ(Baggage::of(restart).size(), 3u);
}

TEST(Extract, GetterCarrier) {
  std::map<std::string, std::string> store{{"traceparent", kValid}, {"baggage", "k=v"}};
  Context a = skein::extract([&](std::string_view name) -> const char* {
    auto it = store.find(std::string(name));
    return it == store.end() ? nullptr : it->second.c_str();
  });
  EXPECT_TRUE(a.valid());
  EXPECT_EQ(a.baggage(), "k=v");
  // A getter returning strings by value (the extractor copies what it keeps).
  Context b = skein::extract([&](std::string_view name) -> std::optional<std::string> {
    auto it = store.find(std::string(name));
    if (it == store.end()) return std::nullopt;
    return it->second;
  });
  EXPECT_EQ(b.trace_id(), a.trace_id());
}

TEST(Inject, SetterCarrier) {
  auto tp = skein::parse_traceparent(kValid);
  std::vector<std::string> lines;
  skein::inject(Context(tp->trace_id, tp->parent_id, 1),
                [&](std::string_view k, std::string_view v) {
                  lines.push_back(std::string(k) + ": " + std::string(v));
                });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], std::string("traceparent: ") + kValid);
}

TEST(Extract, HugeHeadersDoNotGrowMemory) {
  // 1 MB of tracestate whitespace and 1 MB of baggage garbage: parsed in bounded memory.
  std::string ws(1 << 20, ' ');
  std::string junk;
  for (int i = 0; i < 40000; ++i) junk += "k" + std::to_string(i) + "=vvvvvvvvvvvvvvvvvvvv,";
  std::map<std::string, std::string> c{
      {"traceparent", kValid}, {"tracestate", ws + "a=1" + ws}, {"baggage", junk}};
  Context ctx = skein::extract(c);
  EXPECT_EQ(ctx.trace_state(), "a=1");
  EXPECT_LE(ctx.baggage().size(), Baggage::kMaxBytes);
}

// ---- with a tracer -----------------------------------------------------------------------------

TEST(Propagation, ServerSpanContinuesTheRemoteTrace) {
  skein::fakes::Collecting c;
  std::map<std::string, std::string> in{{"traceparent", kValid},
                                        {"tracestate", "congo=t61rcWkgMzE"}};
  Context parent = skein::extract(in);
  std::map<std::string, std::string> out;
  {
    auto span = c.tracer.span("handle", {.kind = skein::SpanKind::server, .parent = &parent});
    skein::inject(out);
  }
  auto s = c.only();
  EXPECT_EQ(s.trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s.parent_span_id.to_hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(s.parent_remote);
  EXPECT_EQ(s.trace_state, "congo=t61rcWkgMzE");
  auto sent = skein::parse_traceparent(out["traceparent"]);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->trace_id, s.trace_id);
  EXPECT_EQ(sent->parent_id, s.span_id);  // a new parent id: this span
  EXPECT_EQ(out["tracestate"], "congo=t61rcWkgMzE");
}

TEST(Propagation, UnsampledRemoteParentPropagatesWithoutRecording) {
  skein::fakes::Collecting c;
  std::map<std::string, std::string> in{
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}};
  Context parent = skein::extract(in);
  std::map<std::string, std::string> out;
  {
    auto span = c.tracer.span("handle", {.parent = &parent});
    EXPECT_FALSE(span.recording());
    skein::inject(out);
  }
  auto sent = skein::parse_traceparent(out["traceparent"]);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(sent->parent_id.to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(sent->flags & skein::trace_flags::sampled, 0);
  EXPECT_TRUE(c.spans().empty());
}

TEST(Propagation, RootsSetTheRandomFlag) {
  skein::fakes::Collecting c;
  std::map<std::string, std::string> out;
  {
    auto span = c.tracer.span("root");
    skein::inject(out);
  }
  auto sent = skein::parse_traceparent(out["traceparent"]);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->flags, skein::trace_flags::sampled | skein::trace_flags::random);
}

TEST(Propagation, BaggageScopeFlowsIntoChildrenAndHeaders) {
  skein::fakes::Collecting c;
  std::map<std::string, std::string> out;
  {
    auto root = c.tracer.span("root");
    {
      skein::BaggageScope bag(Baggage{{"request.id", "r-7"}});
      EXPECT_EQ(Baggage::current().get("request.id"), "r-7");
      EXPECT_TRUE(skein::enrich_span({{"still", "root"}}));  // the span stays current
      auto child = c.tracer.span("child");
      skein::inject(out);
    }
    EXPECT_TRUE(Baggage::current().empty());
  }
  EXPECT_EQ(out["baggage"], "request.id=r-7");
  auto spans = c.spans();
  EXPECT_TRUE(skein::fakes::by_name(spans, "root").string_attribute("honeyhive_metadata.still"));
}

TEST(Propagation, BaggageWithoutTraceparentReachesTheNewTrace) {
  skein::fakes::Collecting c;
  std::map<std::string, std::string> in{{"baggage", "request.id=r-9"}};
  Context parent = skein::extract(in);
  EXPECT_FALSE(parent.valid());
  std::map<std::string, std::string> out;
  {
    auto span = c.tracer.span("root", {.parent = &parent});
    skein::inject(out);
    auto child = c.tracer.span("child");
    EXPECT_EQ(Baggage::current().get("request.id"), "r-9");
  }
  EXPECT_EQ(out["baggage"], "request.id=r-9");
  EXPECT_EQ(c.spans().size(), 2u);
}

TEST(Propagation, BaggageAttributesAreCopiedOntoEverySpan) {
  skein::fakes::Collecting c({.baggage_attributes = {"request.id", "session.key"}});
  {
    auto root = c.tracer.span("root");
    skein::BaggageScope bag(Baggage{{"request.id", "r 1"}, {"session.key", "s-2"}, {"other", "x"}});
    auto child = c.tracer.span("child");
    auto grandchild = c.tracer.span("grandchild", {.attributes = {{"request.id", "override"}}});
  }
  auto spans = c.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_FALSE(skein::fakes::by_name(spans, "root").attribute("request.id"));  // started before
  const auto& child = skein::fakes::by_name(spans, "child");
  EXPECT_EQ(child.string_attribute("request.id"), "r 1");
  EXPECT_EQ(child.string_attribute("session.key"), "s-2");
  EXPECT_FALSE(child.attribute("other"));
  EXPECT_EQ(skein::fakes::by_name(spans, "grandchild").string_attribute("request.id"), "override");
}

TEST(Propagation, BaggageAttributesFromTheEnvironment) {
  ::setenv("SKEIN_BAGGAGE_ATTRIBUTES", " request.id , ,user ", 1);
  skein::Error err;
  auto f = skein::finalize({}, err);
  ::unsetenv("SKEIN_BAGGAGE_ATTRIBUTES");
  EXPECT_FALSE(err);
  EXPECT_EQ(f.baggage_attributes, (std::vector<std::string>{"request.id", "user"}));
}

}  // namespace
