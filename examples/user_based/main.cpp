// Trace only some users: beta users and the one user being debugged always, everyone else at 1 %.
// The rule sees the attributes given when the span starts.
//
//     build/bin/user_based
#include <skein/skein.hpp>

#include <cstdio>
#include <string>

int main() {
  auto sampler = skein::rules(
      {
          {.name = "debugged user",
           .attribute = "user.id",
           .values = {"u-1337"},
           .sampler = skein::always_on()},
          {.name = "beta users",
           .attribute = "user.tier",
           .values = {"beta"},
           .sampler = skein::always_on()},
          {.name = "health checks", .span_name = "health*", .sampler = skein::always_off()},
      },
      skein::probability(0.01));
  auto tracer = skein::Tracer::init({.project = "user-based-example",
                                     .exporter = skein::ExporterKind::console,
                                     .sampler = sampler});

  auto handle = [&](const std::string& user, const char* tier) {
    auto span = tracer.span("checkout", {.type = skein::EventType::chain,
                                         .attributes = {{"user.id", user}, {"user.tier", tier}}});
    auto pay = tracer.span("charge_card", {.type = skein::EventType::tool});
    pay.set("amount_cents", 4200);
  };
  handle("u-1337", "free");                                                     // debugged: traced
  handle("u-7", "beta");                                                        // beta: traced
  for (int i = 0; i < 50; ++i) handle("u-" + std::to_string(100 + i), "free");  // ~1 %
  { auto h = tracer.span("health.check", {.attributes = {{"user.id", "u-1337"}}}); }  // rule 1 wins

  tracer.force_flush();
  for (const auto& s : tracer.stats().samplers) {
    std::printf("%-28s seen %4llu  sampled %4llu\n", s.name.c_str(),
                static_cast<unsigned long long>(s.seen),
                static_cast<unsigned long long>(s.sampled));
  }
  return 0;
}
