// rowcache bench: load generator and measurement tool (src/bench), plus two
// helpers for benchmarks: a delaying TCP proxy and a trivial HTTP server.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "bench/load.h"
#include "bench/proxy.h"
#include "bench/report.h"
#include "exe/commands.h"
#include "exe/config.h"
#include "net/address.h"
#include "rowcache/clock.h"

namespace rowcache {

namespace {

constexpr const char* kHelp = R"(usage: rowcache bench [--target http://HOST:PORT/ | inproc] [flags]
       rowcache bench proxy --listen HOST:PORT --to HOST:PORT --delay-us N [--threads N]
       rowcache bench trivial-server --listen HOST:PORT [--threads N]

Drives the service with a workload and reports throughput, latency percentiles
(log-linear histogram, <1% error), errors by kind, and the cache hit ratio and
database queries per request from the service's GET /metrics.

target:
  --target URL|inproc       http://HOST:PORT/ (a running rowcache serve) or inproc: the core in this
                            process, from --db URL --cache URL (and the other serve backend flags)
workload:
  --mix R:W                 percent reads : writes (default 100:0); writes insert --batch random rows
  --batch N                 ids per read / rows per write (default 3)
  --keys uniform|zipf       key distribution over ids 1..hot-set (default uniform); --zipf-s S (default 0.99)
  --hot-set N               ids read are 1..N (default 1000); before the run, missing ones are written
                            (--no-prepare skips that)
  --use-cache true|false|both   (default true; both runs the workload cached, then uncached, and reports ratios)
  --get PATH                send GET PATH instead of the workload (e.g. against trivial-server)
  --scenario autograder     write --rows K random rows, read them back uncached and cached (--passes P,
                            default 5), report the speed-up; reads use --batch ids on one connection
load:
  --connections N           keep-alive connections (default 16; inproc: client threads)
  --threads T               client threads (default 2)
  --rate R                  open loop: R requests/s, latency from the scheduled send (default: closed loop)
  --rates R1,R2,...         open-loop sweep (one run per rate and cache setting)
  --duration S              measured seconds per run (default 10); --warmup S excluded (default 2)
  --timeout S               per-request timeout (default 10); --seed N (default 1)
  --auth-token TOKEN        send "Authorization: Bearer TOKEN" (a serve --auth-token server); or
  --auth-token-file PATH    from a file; env ROWCACHE_AUTH_TOKEN / ROWCACHE_AUTH_TOKEN_FILE (never in reports)
output:
  --name NAME               name of the report and prefix of the files (default bench)
  --json FILE, --csv FILE   write the results; --plot DIR: PNG plots with gnuplot
  --quiet                   no progress line (default: on stderr; one line every 5 s when not a tty)
)";

struct Target {
  bool inproc = false;
  std::string host;
  uint16_t port = 0;
  std::string path = "/";
  std::string extra_headers;  // Authorization, with --auth-token
  // inproc
  Metrics metrics;
  Backends backends;
  std::unique_ptr<Service> service;

  // (status, body) of one request; nullopt with *err on transport failure.
  std::optional<std::pair<int, std::string>> Post(const std::string& body, std::string* err) {
    if (inproc) {
      Response r = service->Handle(body);
      return std::make_pair(r.status, r.body);
    }
    if (!client) client = std::make_unique<bench::SimpleHttp>(host, port, extra_headers);
    return client->Request("POST", path, body, err);
  }
  std::optional<std::map<std::string, double>> Scrape() {
    if (inproc) return bench::ParseMetrics(service->metrics().Render());
    bench::SimpleHttp c(host, port, extra_headers);
    std::string err;
    auto r = c.Request("GET", "/metrics", "", &err);
    if (!r || r->first != 200) return std::nullopt;
    auto m = bench::ParseMetrics(r->second);
    if (m.find("rowcache_requests_total") == m.end()) return std::nullopt;
    return m;
  }
  std::unique_ptr<bench::SimpleHttp> client;
};

int ProxyMain(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {"listen", "to", "delay-us", "threads"}, {"help"});
  if (!flags.ok() || flags->Bool("help")) {
    std::fprintf(flags.ok() ? stdout : stderr, "%s%s",
                 flags.ok() ? "" : (flags.status().message() + "\n\n").c_str(), kHelp);
    return flags.ok() ? 0 : 2;
  }
  bench::ProxyOptions o;
  Status s =
      ParseHostPort("--listen", flags->Get("listen", nullptr, "127.0.0.1:0"), &o.listen_host, &o.listen_port);
  if (s.ok()) s = ParseHostPort("--to", flags->Get("to"), &o.to_host, &o.to_port);
  auto d = ParseIntFlag("delay-us", flags->Get("delay-us", nullptr, "0"), 0, 10'000'000);
  auto t = ParseIntFlag("threads", flags->Get("threads", nullptr, "1"), 1, 64);
  for (const Status& x : {d.status(), t.status()}) {
    if (s.ok() && !x.ok()) s = x;
  }
  if (!s.ok()) {
    std::fprintf(stderr, "rowcache bench proxy: %s\n", s.message().c_str());
    return 2;
  }
  o.delay_us = *d;
  o.threads = static_cast<int>(*t);
  s = bench::RunProxy(o);
  if (!s.ok()) {
    std::fprintf(stderr, "rowcache bench proxy: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

int TrivialMain(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {"listen", "threads"}, {"help"});
  if (!flags.ok()) {
    std::fprintf(stderr, "rowcache bench trivial-server: %s\n", flags.status().message().c_str());
    return 2;
  }
  std::string host;
  uint16_t port = 0;
  Status s = ParseHostPort("--listen", flags->Get("listen", nullptr, "127.0.0.1:0"), &host, &port);
  auto t = ParseIntFlag("threads", flags->Get("threads", nullptr, "1"), 1, 64);
  if (s.ok()) s = t.status();
  if (s.ok()) s = bench::RunTrivialServer(host, port, static_cast<int>(*t));
  if (!s.ok()) {
    std::fprintf(stderr, "rowcache bench trivial-server: %s\n", s.message().c_str());
    return s.IsInvalidArgument() ? 2 : 1;
  }
  return 0;
}

// Makes sure ids 1..n have rows: reads them (uncached), writes as many rows as
// are missing, and checks again (ids never come back once deleted, so gaps can
// remain; they are reported).
Status PrepareHotSet(Target& t, int64_t n, std::string* note) {
  bench::Workload w;
  bench::RequestGen gen(w, bench::MakeKeys(w), 42);
  auto count_missing = [&](int64_t* missing) -> Status {
    *missing = 0;
    for (int64_t lo = 1; lo <= n; lo += 1000) {
      std::vector<int64_t> ids;
      for (int64_t i = lo; i < std::min(n + 1, lo + 1000); ++i) ids.push_back(i);
      std::string err;
      auto r = t.Post(gen.ReadEvent(ids, false), &err);
      if (!r) return Status::Unavailable("prepare: " + err);
      if (r->first != 200) return Status::Unavailable("prepare: read answered " + r->second.substr(0, 200));
      for (size_t pos = 0; (pos = r->second.find("null", pos)) != std::string::npos; pos += 4) ++*missing;
    }
    return Status::OK();
  };
  int64_t missing = 0;
  Status s = count_missing(&missing);
  if (!s.ok()) return s;
  int64_t written = 0;
  for (int round = 0; round < 3 && missing > 0; ++round) {
    for (int64_t left = missing; left > 0; left -= 1000) {
      std::string err;
      auto r = t.Post(gen.WriteEvent(static_cast<int>(std::min<int64_t>(left, 1000)), true), &err);
      if (!r) return Status::Unavailable("prepare: " + err);
      if (r->first != 200) return Status::Unavailable("prepare: write answered " + r->second.substr(0, 200));
      written += std::min<int64_t>(left, 1000);
    }
    int64_t before = missing;
    s = count_missing(&missing);
    if (!s.ok()) return s;
    if (missing == before) break;  // gaps from deleted ids: writing more does not fill them
  }
  *note = "ids 1.." + std::to_string(n) + ": wrote " + std::to_string(written) + " rows; " +
          std::to_string(missing) + " ids without a row (read as null)";
  return Status::OK();
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The assignment's autograder, as a scenario: write K random rows, read them
// all back without the cache, then with it, P passes each, one connection.
Status Autograder(Target& t, const bench::Workload& w, int64_t rows, int passes, uint64_t seed,
                  bench::Report* rep) {
  bench::RequestGen gen(w, bench::MakeKeys(w), seed);
  std::vector<int64_t> ids;
  int64_t write_ns = 0;
  for (int64_t left = rows; left > 0; left -= w.batch) {
    int n = static_cast<int>(std::min<int64_t>(left, w.batch));
    std::string err;
    int64_t t0 = SteadyNanos();
    auto r = t.Post(gen.WriteEvent(n, true), &err);
    write_ns += SteadyNanos() - t0;
    if (!r) return Status::Unavailable("autograder write: " + err);
    if (r->first != 200) return Status::Unavailable("autograder write: " + r->second.substr(0, 200));
    auto ids_at = r->second.find("\"ids\"");
    if (ids_at == std::string::npos) return Status::Internal("autograder write: no ids in " + r->second);
    const char* p = r->second.c_str() + r->second.find('[', ids_at) + 1;
    while (*p && *p != ']') {
      char* end = nullptr;
      long long id = std::strtoll(p, &end, 10);
      if (end == p) break;
      ids.push_back(id);
      p = end;
      while (*p == ',' || *p == ' ') ++p;
    }
  }
  std::vector<std::string> bodies[2];
  double pass_ms[2][64] = {};
  bench::RunReport runs[2];
  uint64_t mismatches = 0;
  passes = std::min(passes, 64);
  for (int pass = 0; pass < passes; ++pass) {
    for (int cached = 0; cached < 2; ++cached) {
      auto before = t.Scrape();
      int64_t start = SteadyNanos();
      size_t k = 0;
      for (size_t i = 0; i < ids.size(); i += static_cast<size_t>(w.batch), ++k) {
        std::vector<int64_t> chunk(
            ids.begin() + static_cast<long>(i),
            ids.begin() + static_cast<long>(std::min(ids.size(), i + static_cast<size_t>(w.batch))));
        std::string err;
        int64_t t0 = SteadyNanos();
        auto r = t.Post(gen.ReadEvent(chunk, cached == 1), &err);
        int64_t t1 = SteadyNanos();
        runs[cached].result.latency.Record(t1 - t0);
        ++runs[cached].result.requests;
        ++runs[cached].result.reads;
        if (!r) {
          ++runs[cached].result.errors.io;
          continue;
        }
        if (r->first >= 500)
          ++runs[cached].result.errors.http_5xx;
        else if (r->first >= 400)
          ++runs[cached].result.errors.http_4xx;
        if (r->second.find("null") != std::string::npos) ++mismatches;  // a written row not found
        if (pass == 0) {
          if (cached == 0)
            bodies[0].push_back(r->second);
          else if (k < bodies[0].size() && bodies[0][k] != r->second)
            ++mismatches;
        }
      }
      int64_t elapsed = SteadyNanos() - start;
      pass_ms[cached][pass] = static_cast<double>(elapsed) / 1e6;
      runs[cached].result.seconds += static_cast<double>(elapsed) / 1e9;
      auto after = t.Scrape();
      if (before && after) {
        if (!runs[cached].metrics_delta) runs[cached].metrics_delta.emplace();
        for (auto& [name, v] : *after) (*runs[cached].metrics_delta)[name] += v - (*before)[name];
      }
    }
  }
  auto median = [&](int c) {
    std::vector<double> v(pass_ms[c], pass_ms[c] + passes);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  for (int c = 0; c < 2; ++c) {
    runs[c].name = c ? "autograder cached" : "autograder uncached";
    runs[c].use_cache = c == 1;
    runs[c].connections = 1;
    rep->runs.push_back(std::move(runs[c]));
  }
  double u = median(0), c = median(1);
  rep->notes.push_back({"autograder", "wrote " + std::to_string(ids.size()) + " random rows (" +
                                          std::to_string(write_ns / 1000000) +
                                          " ms); read back in requests of " + std::to_string(w.batch) +
                                          " ids, " + std::to_string(passes) +
                                          " passes each; median pass: uncached " + std::to_string(u) +
                                          " ms, cached " + std::to_string(c) + " ms"});
  rep->notes.push_back(
      {"autograder check", mismatches ? std::to_string(mismatches) + " answers differed or missed a row"
                                      : "every cached answer equals the uncached one"});
  rep->ratios.push_back({"autograder speed-up (uncached / cached median pass time)", c > 0 ? u / c : 0});
  const auto& rr = rep->runs;
  double p50u = static_cast<double>(rr[rr.size() - 2].result.latency.Percentile(50));
  double p50c = static_cast<double>(rr.back().result.latency.Percentile(50));
  rep->ratios.push_back({"autograder p50 ratio (uncached / cached)", p50c > 0 ? p50u / p50c : 0});
  if (mismatches) return Status::Internal("autograder: " + std::to_string(mismatches) + " answers differed");
  return Status::OK();
}

}  // namespace

int BenchMain(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "proxy") return ProxyMain({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "trivial-server") return TrivialMain({args.begin() + 1, args.end()});
  std::set<std::string> value_flags = ServiceFlagNames();
  value_flags.insert({"target",   "mix",         "batch",   "keys",       "zipf-s",
                      "hot-set",  "use-cache",   "get",     "scenario",   "rows",
                      "passes",   "connections", "threads", "rate",       "rates",
                      "duration", "warmup",      "timeout", "seed",       "name",
                      "json",     "csv",         "plot",    "auth-token", "auth-token-file"});
  auto flags = Flags::Parse(args, value_flags, {"help", "quiet", "no-prepare"});
  if (!flags.ok()) {
    std::fprintf(stderr, "rowcache bench: %s\n\n%s", flags.status().message().c_str(), kHelp);
    return 2;
  }
  if (flags->Bool("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "rowcache bench: %s\n", s.message().c_str());
    return s.IsInvalidArgument() ? 2 : 1;
  };
  const Flags& f = *flags;
  bench::Workload w;
  bench::LoadOptions lo;
  std::string mix = f.Get("mix", nullptr, "100:0");
  {
    auto parts = Split(mix, ':');
    if (parts.size() != 2) return fail(Status::InvalidArgument("--mix: expected READ:WRITE, e.g. 90:10"));
    auto r = ParseIntFlag("mix", parts[0], 0, 1000000), wr = ParseIntFlag("mix", parts[1], 0, 1000000);
    if (!r.ok() || !wr.ok() || *r + *wr == 0)
      return fail(Status::InvalidArgument("--mix: expected READ:WRITE, e.g. 90:10"));
    w.read_percent =
        static_cast<int>(std::lround(100.0 * static_cast<double>(*r) / static_cast<double>(*r + *wr)));
  }
  auto batch = ParseIntFlag("batch", f.Get("batch", nullptr, "3"), 1, 1000);
  if (!batch.ok()) return fail(batch.status());
  w.batch = static_cast<int>(*batch);
  std::string keys = f.Get("keys", nullptr, "uniform");
  if (keys != "uniform" && keys != "zipf") return fail(Status::InvalidArgument("--keys: uniform or zipf"));
  w.zipf = keys == "zipf";
  auto zs = ParseDoubleFlag("zipf-s", f.Get("zipf-s", nullptr, "0.99"), 0.0, 10.0);
  if (!zs.ok()) return fail(zs.status());
  w.zipf_s = *zs;
  auto hot = ParseIntFlag("hot-set", f.Get("hot-set", nullptr, "1000"), 1, 100'000'000);
  if (!hot.ok()) return fail(hot.status());
  w.hot_set = *hot;
  w.get_path = f.Get("get");
  std::string uc = f.Get("use-cache", nullptr, "true");
  std::vector<bool> cache_settings;
  if (uc == "true")
    cache_settings = {true};
  else if (uc == "false")
    cache_settings = {false};
  else if (uc == "both")
    cache_settings = {true, false};
  else
    return fail(Status::InvalidArgument("--use-cache: true, false or both"));

  auto conns = ParseIntFlag("connections", f.Get("connections", nullptr, "16"), 1, 100000);
  auto threads = ParseIntFlag("threads", f.Get("threads", nullptr, "2"), 1, 1024);
  auto rate = ParseDoubleFlag("rate", f.Get("rate", nullptr, "0"), 0, 1e8);
  auto dur = ParseDoubleFlag("duration", f.Get("duration", nullptr, "10"), 0.1, 1e6);
  auto warm = ParseDoubleFlag("warmup", f.Get("warmup", nullptr, "2"), 0, 1e6);
  auto tmo = ParseDoubleFlag("timeout", f.Get("timeout", nullptr, "10"), 0.001, 3600);
  auto seed = ParseIntFlag("seed", f.Get("seed", nullptr, "1"), 0, 1LL << 62);
  for (const Status& s : {conns.status(), threads.status(), rate.status(), dur.status(), warm.status(),
                          tmo.status(), seed.status()}) {
    if (!s.ok()) return fail(s);
  }
  lo.connections = static_cast<int>(*conns);
  lo.threads = static_cast<int>(*threads);
  lo.duration_s = *dur;
  lo.warmup_s = *warm;
  lo.timeout_s = *tmo;
  lo.seed = static_cast<uint64_t>(*seed);
  lo.progress = !f.Bool("quiet");
  std::vector<double> rates;
  if (f.Has("rates")) {
    for (const auto& r : Split(f.Get("rates"), ',')) {
      auto v = ParseDoubleFlag("rates", r, 1, 1e8);
      if (!v.ok()) return fail(v.status());
      rates.push_back(*v);
    }
  } else {
    rates.push_back(*rate);
  }

  Target t;
  std::string target = f.Get("target", nullptr, "http://127.0.0.1:8080/");
  if (target == "inproc") {
    t.inproc = true;
    auto cfg = ServiceConfigFromFlags(f);
    if (!cfg.ok()) return fail(cfg.status());
    auto b = OpenBackends(*cfg, true, &t.metrics);
    if (!b.ok()) return fail(b.status());
    t.backends = std::move(b.value());
    t.service =
        std::make_unique<Service>(t.backends.store.get(), t.backends.cache.get(), cfg->service, &t.metrics);
    target = "inproc (db=" + t.backends.store->Describe() +
             ", cache=" + (t.backends.cache ? t.backends.cache->Describe() : std::string("none")) + ")";
  } else {
    if (target.rfind("http://", 0) != 0) {
      return fail(Status::InvalidArgument("--target: http://HOST:PORT/ or inproc, got '" + target + "'"));
    }
    std::string rest = target.substr(7);
    auto slash = rest.find('/');
    t.path = slash == std::string::npos ? "/" : rest.substr(slash);
    Status s = ParseHostPort("--target", rest.substr(0, slash), &t.host, &t.port);
    if (!s.ok()) return fail(s);
    lo.host = t.host;
    lo.port = t.port;
    lo.path = t.path;
    auto token = AuthTokenFromFlags(f, "rowcache bench");
    if (!token.ok()) return fail(token.status());
    if (!token->empty()) t.extra_headers = lo.extra_headers = "Authorization: Bearer " + *token + "\r\n";
  }

  bench::Report rep;
  rep.name = f.Get("name", nullptr, "bench");
  rep.target = target;
  {
    std::string cmd = "rowcache bench";
    bool secret = false;  // the token never goes into a report
    for (const auto& a : args) {
      cmd += " " + (secret ? std::string("***") : a.rfind("--auth-token=", 0) == 0 ? "--auth-token=***" : a);
      secret = a == "--auth-token";
    }
    rep.command = cmd;
  }
  std::string scenario = f.Get("scenario");
  if (!w.get_path.empty()) {
    rep.workload = "GET " + w.get_path;
  } else if (scenario == "autograder") {
    rep.workload = "autograder: write " + f.Get("rows", nullptr, "1000") + " random rows, read back " +
                   std::to_string(w.batch) + " ids per request, uncached then cached, 1 connection";
  } else {
    std::ostringstream d;
    d << "read:write " << w.read_percent << ":" << 100 - w.read_percent << ", batch " << w.batch << ", "
      << (w.zipf ? "zipf s=" + std::to_string(w.zipf_s).substr(0, 4) : std::string("uniform"))
      << " over ids 1.." << w.hot_set << ", " << (rates[0] > 0 ? "open loop" : "closed loop") << ", "
      << lo.duration_s << " s (+" << lo.warmup_s << " s warm-up)";
    rep.workload = d.str();
  }

  if (!scenario.empty() && scenario != "autograder") {
    return fail(Status::InvalidArgument("--scenario: only 'autograder' is known"));
  }
  if (scenario == "autograder") {
    auto rows = ParseIntFlag("rows", f.Get("rows", nullptr, "1000"), 1, 10'000'000);
    auto passes = ParseIntFlag("passes", f.Get("passes", nullptr, "5"), 1, 64);
    if (!rows.ok()) return fail(rows.status());
    if (!passes.ok()) return fail(passes.status());
    Status s = Autograder(t, w, *rows, static_cast<int>(*passes), lo.seed, &rep);
    if (!s.ok() && rep.runs.empty()) return fail(s);
    if (!s.ok()) std::fprintf(stderr, "rowcache bench: %s\n", s.message().c_str());
  } else {
    if (w.get_path.empty() && !f.Bool("no-prepare")) {
      std::string note;
      Status s = PrepareHotSet(t, w.hot_set, &note);
      if (!s.ok()) return fail(s);
      rep.notes.push_back({"prepare", note});
    }
    for (double r : rates) {
      for (bool cache : cache_settings) {
        bench::Workload wr = w;
        wr.use_cache = cache;
        bench::LoadOptions o = lo;
        o.rate = r;
        bench::RunReport run;
        run.open_loop = r > 0;
        run.rate = r;
        run.use_cache = cache;
        run.connections = lo.connections;
        run.name = w.get_path.empty() ? (cache ? "cached" : "uncached") : "GET " + w.get_path;
        if (r > 0) {
          char buf[64];
          std::snprintf(buf, sizeof buf, " @ %.0f/s", r);
          run.name += buf;
        }
        o.label = run.name;
        std::optional<std::map<std::string, double>> m0, m1;
        if (w.get_path.empty()) {
          o.on_measure_start = [&] { m0 = t.Scrape(); };
          o.on_measure_end = [&] { m1 = t.Scrape(); };
        }
        run.result = t.inproc ? bench::RunInproc(*t.service, o, wr) : bench::RunHttp(o, wr);
        if (m0 && m1) {
          std::map<std::string, double> d;
          for (auto& [k, v] : *m1) d[k] = v - (*m0)[k];
          run.metrics_delta = std::move(d);
        }
        rep.runs.push_back(std::move(run));
      }
      if (cache_settings.size() == 2) {
        const auto& c = rep.runs[rep.runs.size() - 2];
        const auto& u = rep.runs.back();
        std::string at = r > 0 ? c.name.substr(6) : "";
        auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
        rep.ratios.push_back(
            {"throughput cached / uncached" + at, ratio(c.result.throughput(), u.result.throughput())});
        rep.ratios.push_back(
            {"p50 uncached / cached" + at, ratio(static_cast<double>(u.result.latency.Percentile(50)),
                                                 static_cast<double>(c.result.latency.Percentile(50)))});
        rep.ratios.push_back(
            {"p99 uncached / cached" + at, ratio(static_cast<double>(u.result.latency.Percentile(99)),
                                                 static_cast<double>(c.result.latency.Percentile(99)))});
        auto qc = c.DbQueriesPerRequest(), qu = u.DbQueriesPerRequest();
        if (qc && qu && *qu > 0)
          rep.ratios.push_back({"db queries per request, reduction by the cache" + at, 1.0 - *qc / *qu});
      }
    }
  }

  bench::PrintTable(rep, stdout);
  if (f.Has("json")) {
    std::ofstream(f.Get("json")) << bench::ToJson(rep);
  }
  if (f.Has("csv")) {
    std::ofstream(f.Get("csv")) << bench::ToCsv(rep);
  }
  if (f.Has("plot")) {
    std::vector<std::string> written;
    Status s = bench::WritePlots(rep, f.Get("plot"), &written);
    if (!s.ok()) return fail(s);
    for (const auto& p : written) std::fprintf(stderr, "plot: %s\n", p.c_str());
  }
  return 0;
}

}  // namespace rowcache
