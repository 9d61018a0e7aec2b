#include "collector/cli.hpp"

#include <unistd.h>

#include <simdjson.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>

#include "collector/api.hpp"
#include "collector/server.hpp"
#include "env.hpp"
#include "otlp/decode.hpp"
#include "store/store.hpp"

namespace skein::collector {
namespace {

// ---- terminal output ---------------------------------------------------------------------------

struct Style {
  bool on = false;
  const char* c(const char* code) const { return on ? code : ""; }
  const char* reset() const { return on ? "\033[0m" : ""; }
  const char* dim() const { return c("\033[2m"); }
  const char* bold() const { return c("\033[1m"); }
  const char* red() const { return c("\033[31m"); }
  const char* green() const { return c("\033[32m"); }
  const char* yellow() const { return c("\033[33m"); }
  const char* cyan() const { return c("\033[36m"); }
};

Style style_for(std::FILE* f, bool no_color) {
  Style s;
  s.on = !no_color && isatty(fileno(f)) && !detail::env(detail::EnvVar::no_color);
  return s;
}

std::string fmt_duration(std::uint64_t ns) {
  char buf[32];
  double v = static_cast<double>(ns);
  if (v < 1e3)
    std::snprintf(buf, sizeof buf, "%.0f ns", v);
  else if (v < 1e6)
    std::snprintf(buf, sizeof buf, "%.1f µs", v / 1e3);
  else if (v < 1e9)
    std::snprintf(buf, sizeof buf, "%.2f ms", v / 1e6);
  else if (v < 60e9)
    std::snprintf(buf, sizeof buf, "%.2f s", v / 1e9);
  else
    std::snprintf(buf, sizeof buf, "%.1f min", v / 60e9);
  return buf;
}

std::string fmt_time(std::uint64_t ns, bool with_date = true) {
  std::time_t t = static_cast<std::time_t>(ns / 1000000000ULL);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[48];
  std::strftime(buf, sizeof buf, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03u", buf, static_cast<unsigned>((ns / 1000000) % 1000));
  return out;
}

// Control characters in stored text must not drive the terminal.
std::string safe(std::string_view s, std::size_t max = 0) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c < 0x20 || c == 0x7f)
      out += '?';
    else
      out += static_cast<char>(c);
  }
  if (max && out.size() > max) {
    out.resize(max);
    out += "…";
  }
  return out;
}

const char* kind_name(int k) {
  static const char* names[] = {"unspecified", "internal", "server",
                                "client",      "producer", "consumer"};
  return k >= 0 && k <= 5 ? names[k] : "?";
}

// Flattened attributes (key, display text) of a stored JSON object.
std::vector<std::pair<std::string, std::string>> parse_attributes(const std::string& json) {
  std::vector<std::pair<std::string, std::string>> out;
  static thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (json.empty() || parser.parse(json).get(doc)) return out;
  simdjson::dom::object obj;
  if (doc.get(obj)) return out;
  for (auto field : obj) {
    std::string text;
    std::string_view sv;
    if (field.value.is_string() && !field.value.get(sv))
      text.assign(sv);
    else
      text = simdjson::minify(field.value);
    out.emplace_back(std::string(field.key), std::move(text));
  }
  return out;
}

bool is_core_key(std::string_view k) {
  return k.rfind("honeyhive.", 0) == 0 || k == "honeyhive_event_type" ||
         k == "honeyhive_event_name" || k == "honeyhive_duration_ms" || k == "session.id" ||
         k == "openinference.span.kind" || k.rfind("honeyhive_inputs.", 0) == 0 ||
         k.rfind("honeyhive_outputs.", 0) == 0;
}

void print_tree(const std::vector<store::StoredSpan>& spans, const Style& st) {
  if (spans.empty()) return;
  std::map<std::string, std::vector<std::size_t>> children;
  std::map<std::string, std::size_t> by_id;
  for (std::size_t i = 0; i < spans.size(); ++i) by_id[spans[i].span_id] = i;
  std::vector<std::size_t> roots;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const auto& p = spans[i].parent_span_id;
    if (p.empty() || !by_id.count(p))
      roots.push_back(i);
    else
      children[p].push_back(i);
  }
  std::uint64_t t0 = UINT64_MAX, t1 = 0;
  for (const auto& s : spans) {
    t0 = std::min(t0, s.start_ns);
    t1 = std::max(t1, s.end_ns);
  }
  std::size_t errors = 0;
  for (const auto& s : spans) errors += s.status == 2;
  std::printf(
      "%strace %s%s  %s  %s%zu spans%s  %s%s%s\n", st.bold(), spans[0].trace_id.c_str(), st.reset(),
      fmt_time(t0).c_str(), st.dim(), spans.size(), st.reset(), fmt_duration(t1 - t0).c_str(),
      errors ? (std::string("  ") + st.red() + std::to_string(errors) + " error(s)" + st.reset())
                   .c_str()
             : "",
      "");
  if (!spans[0].service.empty())
    std::printf(
        "%sservice %s%s%s%s\n", st.dim(), safe(spans[0].service).c_str(),
        spans[0].session_id.empty() ? "" : ("  session " + safe(spans[0].session_id)).c_str(),
        spans[0].user_id.empty() ? "" : ("  user " + safe(spans[0].user_id)).c_str(), st.reset());
  const double span_total = static_cast<double>(std::max<std::uint64_t>(t1 - t0, 1));
  std::function<void(std::size_t, const std::string&, bool, bool)> walk =
      [&](std::size_t i, const std::string& prefix, bool last, bool top) {
        const auto& s = spans[i];
        std::string line = prefix;
        if (!top) line += last ? "└─ " : "├─ ";
        // A 20-column bar: where the span sits in the trace.
        const int width = 20;
        int a = static_cast<int>((static_cast<double>(s.start_ns - t0) / span_total) * width);
        int b = static_cast<int>((static_cast<double>(s.end_ns - t0) / span_total) * width + 0.999);
        a = std::clamp(a, 0, width - 1);
        b = std::clamp(b, a + 1, width);
        std::string bar(static_cast<std::size_t>(a), ' ');
        for (int k = a; k < b; ++k) bar += "▇";
        bar += std::string(static_cast<std::size_t>(width - b), ' ');
        const char* colour = s.status == 2 ? st.red() : s.status == 1 ? st.green() : "";
        std::string type = s.event_type.empty() ? kind_name(s.kind) : s.event_type;
        std::printf("%s%s%s%s%s %s%s%s  %s%9s%s  %s%s%s", st.cyan(), bar.c_str(), st.reset(), " ",
                    line.c_str(), st.bold(), safe(s.name, 80).c_str(), st.reset(), st.dim(),
                    fmt_duration(s.end_ns - s.start_ns).c_str(), st.reset(), st.dim(), type.c_str(),
                    st.reset());
        if (s.status == 2)
          std::printf("  %sERROR%s%s%s", colour, s.status_message.empty() ? "" : ": ",
                      safe(s.status_message, 80).c_str(), st.reset());
        std::printf("\n");
        std::string pad = prefix + (top ? "" : (last ? "   " : "│  "));
        std::string attr_pad(static_cast<std::size_t>(width + 1), ' ');
        int shown = 0;
        for (const auto& [k, v] : parse_attributes(s.attributes_json)) {
          if (is_core_key(k) || shown >= 6) continue;
          std::printf("%s%s%s   %s%s = %s%s\n", attr_pad.c_str(), pad.c_str(),
                      children[s.span_id].empty() ? "" : "│", st.dim(), safe(k, 48).c_str(),
                      safe(v, 80).c_str(), st.reset());
          ++shown;
        }
        for (const auto& e : s.events)
          std::printf("%s%s%s   %s• %s +%s%s\n", attr_pad.c_str(), pad.c_str(),
                      children[s.span_id].empty() ? "" : "│", st.yellow(), safe(e.name, 60).c_str(),
                      fmt_duration(e.time_ns > s.start_ns ? e.time_ns - s.start_ns : 0).c_str(),
                      st.reset());
        auto& kids = children[s.span_id];
        for (std::size_t k = 0; k < kids.size(); ++k)
          walk(kids[k], pad, k + 1 == kids.size(), false);
      };
  for (std::size_t r = 0; r < roots.size(); ++r) walk(roots[r], "", r + 1 == roots.size(), true);
}

void print_transcript(const std::string& id, const std::vector<store::StoredSpan>& spans,
                      const Style& st) {
  std::printf("%ssession %s%s  %zu operations\n\n", st.bold(), safe(id).c_str(), st.reset(),
              spans.size());
  std::size_t n = 0;
  for (const auto& s : spans) {
    ++n;
    std::string type = s.event_type.empty() ? kind_name(s.kind) : s.event_type;
    std::printf(
        "%s%s%s  %s#%zu %s%s  %s(%s, %s)%s%s\n", st.dim(), fmt_time(s.start_ns, false).c_str(),
        st.reset(), st.bold(), n, safe(s.name, 80).c_str(), st.reset(), st.dim(), type.c_str(),
        fmt_duration(s.end_ns - s.start_ns).c_str(), st.reset(),
        s.status == 2
            ? (std::string("  ") + st.red() + "ERROR " + safe(s.status_message, 80) + st.reset())
                  .c_str()
            : "");
    for (const auto& [k, v] : parse_attributes(s.attributes_json)) {
      std::string label;
      const char* colour = "";
      if (k.rfind("honeyhive_inputs.", 0) == 0) {
        label = "› " + k.substr(17);
        colour = st.cyan();
      } else if (k == "input.value" || k.rfind("gen_ai.prompt", 0) == 0) {
        label = "› " + k;
        colour = st.cyan();
      } else if (k.rfind("honeyhive_outputs.", 0) == 0) {
        label = "‹ " + k.substr(18);
        colour = st.green();
      } else if (k == "output.value" || k.rfind("gen_ai.completion", 0) == 0) {
        label = "‹ " + k;
        colour = st.green();
      } else {
        continue;
      }
      std::printf("    %s%s:%s %s\n", colour, safe(label, 60).c_str(), st.reset(),
                  safe(v, 400).c_str());
    }
  }
}

void print_trace_list(const std::vector<store::TraceSummary>& traces, const Style& st) {
  if (traces.empty()) {
    std::printf("no traces\n");
    return;
  }
  std::printf("%s%-32s  %-23s  %10s  %5s  %-20s  %s%s\n", st.dim(), "TRACE", "START", "DURATION",
              "SPANS", "SERVICE", "ROOT", st.reset());
  for (const auto& t : traces) {
    std::printf("%s  %s  %10s  %5llu  %-20s  %s%s%s%s\n", t.trace_id.c_str(),
                fmt_time(t.start_ns).c_str(), fmt_duration(t.end_ns - t.start_ns).c_str(),
                static_cast<unsigned long long>(t.span_count), safe(t.service, 20).c_str(),
                t.error_count ? st.red() : "", safe(t.root_name, 60).c_str(),
                t.error_count ? " ✗" : "", t.error_count ? st.reset() : "");
  }
}

// ---- commands ----------------------------------------------------------------------------------

std::unique_ptr<store::Store> open_read(const std::string& db) {
  std::string err;
  auto st = store::Store::open(db, store::Store::Mode::read_only, err);
  if (!st) std::fprintf(stderr, "skein: %s\n", err.c_str());
  return st;
}

int cmd_import(const std::string& db, const std::string& file, bool quiet) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "skein import: cannot open %s\n", file.c_str());
    return 1;
  }
  in.seekg(0, std::ios::end);
  const auto total = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  std::string err;
  auto st = store::Store::open(db, store::Store::Mode::read_write, err);
  if (!st) {
    std::fprintf(stderr, "skein import: %s\n", err.c_str());
    return 1;
  }
  const bool progress = !quiet && total > (1u << 20) && isatty(fileno(stderr));
  std::string line;
  std::uint64_t line_no = 0, spans = 0, rejected = 0, bad_lines = 0, done = 0;
  int last_pct = -1;
  otlp::TracesRequest pending;
  std::size_t pending_spans = 0;
  auto flush = [&]() -> bool {
    if (pending.resource_spans.empty()) return true;
    auto r = st->write(pending);
    if (!r.ok) {
      std::fprintf(stderr, "\nskein import: store write failed: %s\n", r.error.c_str());
      return false;
    }
    spans += r.accepted;
    rejected += r.rejected;
    pending = {};
    pending_spans = 0;
    return true;
  };
  while (std::getline(in, line)) {
    ++line_no;
    done += line.size() + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    otlp::TracesRequest req;
    if (auto e = otlp::decode_json(line, req)) {
      ++bad_lines;
      if (!quiet)
        std::fprintf(stderr, "%sskein import: %s:%llu: %s\n", progress ? "\n" : "", file.c_str(),
                     static_cast<unsigned long long>(line_no), e.message.c_str());
      continue;
    }
    pending_spans += req.span_count();
    for (auto& rs : req.resource_spans) pending.resource_spans.push_back(std::move(rs));
    if (pending_spans >= 4096 && !flush()) return 1;
    if (progress) {
      int pct = static_cast<int>(done * 100 / std::max<std::uint64_t>(total, 1));
      if (pct != last_pct) {
        last_pct = pct;
        std::string bar(static_cast<std::size_t>(pct / 4), '#');
        bar.resize(25, '.');
        std::fprintf(stderr, "\rimporting [%s] %3d%%  %llu spans", bar.c_str(), pct,
                     static_cast<unsigned long long>(spans + pending_spans));
      }
    }
  }
  if (!flush()) return 1;
  if (progress) std::fprintf(stderr, "\n");
  std::printf("imported %llu spans from %llu lines into %s", static_cast<unsigned long long>(spans),
              static_cast<unsigned long long>(line_no), db.c_str());
  if (rejected) std::printf(" (%llu spans rejected)", static_cast<unsigned long long>(rejected));
  if (bad_lines)
    std::printf(" (%llu lines not OTLP JSON)", static_cast<unsigned long long>(bad_lines));
  std::printf("\n");
  return bad_lines && !spans ? 1 : 0;
}

std::string human_bytes(std::uint64_t b) {
  char buf[32];
  if (b < 1024)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else if (b < (1u << 20))
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
  else if (b < (1u << 30))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / 1048576);
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(b) / 1073741824.0);
  return buf;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"skein: local OpenTelemetry collector, trace store and viewer"};
  app.require_subcommand(1);
  std::string db = store::default_store_path();
  bool json = false, no_color = false;
  auto add_db = [&](CLI::App* c) {
    c->add_option("--db", db, "store file (SKEIN_STORE_PATH, default ~/.skein/skein.db)")
        ->capture_default_str();
  };

  ServeOptions so;
  double max_db_mb = 0, max_body_mb = 32;
  auto* serve = app.add_subcommand("serve", "receive OTLP/HTTP traces and serve the viewer");
  add_db(serve);
  serve->add_option("--bind", so.bind, "address to listen on")->capture_default_str();
  serve->add_option("--port", so.port, "port (0: any free port)")->capture_default_str();
  serve->add_option("--token", so.token,
                    "require Authorization: Bearer TOKEN (needed beyond loopback)");
  serve->add_option("--retention-days", so.retention.max_age_days,
                    "delete traces older than this (0: keep)");
  serve->add_option("--max-db-mb", max_db_mb, "delete oldest traces beyond this size (0: no cap)");
  serve->add_option("--max-body-mb", max_body_mb, "largest request body, after decompression")
      ->capture_default_str();
  serve->add_flag("--quiet", so.quiet, "no messages on stop");

  store::TraceFilter tf;
  std::string since, until, min_duration;
  auto* traces = app.add_subcommand("traces", "list traces, newest first");
  add_db(traces);
  traces->add_option("--service", tf.service, "only this service");
  traces->add_option("--session", tf.session, "only this session id");
  traces->add_option("--user", tf.user, "only this user id");
  traces->add_option("--status", tf.status, "error | ok")
      ->check(CLI::IsMember({"error", "ok", "unset"}));
  traces->add_option("--min-duration", min_duration, "e.g. 250ms, 2s");
  traces->add_option("--since", since,
                     "start time: 15m, 2h, 7d ago, unix seconds or 2024-05-01T12:00:00");
  traces->add_option("--until", until, "end of the time range, same forms");
  traces->add_option("-q,--search", tf.search, "key=value (attribute) or text in names");
  traces->add_option("-n,--limit", tf.limit, "how many")->capture_default_str();
  traces->add_flag("--json", json, "JSON output");
  traces->add_flag("--no-color", no_color, "no colours");

  std::string trace_id;
  bool last = false;
  auto* show = app.add_subcommand("show", "one trace as a tree");
  add_db(show);
  show->add_option("trace_id", trace_id, "trace id (or a unique prefix of 8+ hex digits)");
  show->add_flag("--last", last, "the trace that started last");
  show->add_flag("--json", json, "JSON output");
  show->add_flag("--no-color", no_color, "no colours");

  std::uint32_t limit = 50;
  auto* sessions = app.add_subcommand("sessions", "list sessions, most recent first");
  add_db(sessions);
  sessions->add_option("-n,--limit", limit, "how many")->capture_default_str();
  sessions->add_flag("--json", json, "JSON output");

  std::string session_id;
  auto* session = app.add_subcommand("session", "a session's operations in order, as a transcript");
  add_db(session);
  session->add_option("session_id", session_id, "session id")->required();
  session->add_flag("--json", json, "JSON output");
  session->add_flag("--no-color", no_color, "no colours");

  auto* stats = app.add_subcommand("stats", "ingest counters and store size");
  add_db(stats);
  stats->add_flag("--json", json, "JSON output");

  std::string file;
  bool quiet = false;
  auto* import =
      app.add_subcommand("import", "load OTLP JSON lines (the SDK's file exporter output)");
  add_db(import);
  import->add_option("file", file, "file of OTLP JSON lines")->required()->check(CLI::ExistingFile);
  import->add_flag("--quiet", quiet, "no progress bar or per-line errors");

  CLI11_PARSE(app, argc, argv);
  const Style st = style_for(stdout, no_color);

  if (*serve) {
    so.db = db;
    so.retention.max_bytes = static_cast<std::uint64_t>(max_db_mb * 1048576.0);
    so.max_body_bytes = static_cast<std::size_t>(max_body_mb * 1048576.0);
    return serve_main(so);
  }
  if (*import) return cmd_import(db, file, quiet);

  auto store = open_read(db);
  if (!store) return 1;
  std::string err;
  if (*traces) {
    const auto now = now_ns();
    if (!since.empty() && !(tf.since_ns = parse_time_ns(since, now))) {
      std::fprintf(stderr, "skein traces: cannot read --since %s\n", since.c_str());
      return 2;
    }
    if (!until.empty() && !(tf.until_ns = parse_time_ns(until, now))) {
      std::fprintf(stderr, "skein traces: cannot read --until %s\n", until.c_str());
      return 2;
    }
    if (!min_duration.empty()) {
      auto d = parse_duration_ns(min_duration);
      if (d < 0) {
        std::fprintf(stderr, "skein traces: cannot read --min-duration %s\n", min_duration.c_str());
        return 2;
      }
      tf.min_duration_ns = static_cast<std::uint64_t>(d);
    }
    auto list = store->list_traces(tf, &err);
    if (!err.empty()) {
      std::fprintf(stderr, "skein traces: %s\n", err.c_str());
      return 1;
    }
    if (json)
      std::printf("%s\n", traces_json(list).c_str());
    else
      print_trace_list(list, st);
    return 0;
  }
  if (*show) {
    if (last) {
      auto id = store->last_trace_id();
      if (!id) {
        std::fprintf(stderr, "skein show: the store is empty\n");
        return 1;
      }
      trace_id = *id;
    } else if (trace_id.empty()) {
      std::fprintf(stderr, "skein show: give a trace id or --last\n");
      return 2;
    }
    auto spans = store->get_trace(trace_id, &err);
    if (spans.empty()) {
      std::fprintf(stderr, "skein show: %s\n", err.empty() ? "no such trace" : err.c_str());
      return 1;
    }
    if (json)
      std::printf("%s\n", trace_json(spans).c_str());
    else
      print_tree(spans, st);
    return 0;
  }
  if (*sessions) {
    auto list = store->list_sessions(limit, 0, &err);
    if (json) {
      std::printf("%s\n", sessions_json(list).c_str());
      return 0;
    }
    if (list.empty())
      std::printf("no sessions\n");
    else
      std::printf("%s%-38s  %-23s  %10s  %6s  %5s  %-16s  %s%s\n", st.dim(), "SESSION", "START",
                  "DURATION", "TRACES", "SPANS", "SERVICE", "USER", st.reset());
    for (const auto& s : list)
      std::printf("%-38s  %-23s  %10s  %6llu  %5llu  %-16s  %s\n", safe(s.session_id, 38).c_str(),
                  fmt_time(s.start_ns).c_str(), fmt_duration(s.end_ns - s.start_ns).c_str(),
                  static_cast<unsigned long long>(s.trace_count),
                  static_cast<unsigned long long>(s.span_count), safe(s.service, 16).c_str(),
                  safe(s.user_id, 30).c_str());
    return 0;
  }
  if (*session) {
    auto spans = store->get_session(session_id, 10000, &err);
    if (spans.empty()) {
      std::fprintf(stderr, "skein session: no session %s\n", session_id.c_str());
      return 1;
    }
    if (json)
      std::printf("%s\n", session_json(session_id, spans).c_str());
    else
      print_transcript(session_id, spans, st);
    return 0;
  }
  if (*stats) {
    auto s = store->stats();
    if (json) {
      std::printf("%s\n", stats_json(s).c_str());
      return 0;
    }
    const auto& c = s.counters;
    std::printf("store            %s\n", s.path.c_str());
    std::printf("size             %s on disk (%s in use)\n", human_bytes(s.file_bytes).c_str(),
                human_bytes(s.used_bytes).c_str());
    std::printf("stored           %llu spans, %llu traces, %llu sessions\n",
                static_cast<unsigned long long>(s.spans_stored),
                static_cast<unsigned long long>(s.traces_stored),
                static_cast<unsigned long long>(s.sessions_stored));
    std::printf("ingested         %llu spans in %llu requests (%s)\n",
                static_cast<unsigned long long>(c.spans_accepted),
                static_cast<unsigned long long>(c.requests), human_bytes(c.bytes_received).c_str());
    std::printf("rejected         %llu spans; %llu requests failed\n",
                static_cast<unsigned long long>(c.spans_rejected),
                static_cast<unsigned long long>(c.requests_failed));
    std::printf("deleted          %llu spans by retention\n",
                static_cast<unsigned long long>(c.spans_deleted));
    return 0;
  }
  return 0;
}

}  // namespace skein::collector
