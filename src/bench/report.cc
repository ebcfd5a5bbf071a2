#include "bench/report.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace rowcache::bench {

namespace json = boost::json;

std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string::npos) continue;
    size_t value_start = line.rfind(' ');
    if (value_start == std::string::npos) continue;
    try {
      out[line.substr(0, name_end)] += std::stod(line.substr(value_start + 1));
    } catch (...) {
    }
  }
  return out;
}

namespace {
double Get(const std::map<std::string, double>& m, const char* k) {
  auto it = m.find(k);
  return it == m.end() ? 0.0 : it->second;
}
double Us(int64_t ns) { return static_cast<double>(ns) / 1000.0; }
}  // namespace

std::optional<double> RunReport::HitRatio() const {
  if (!metrics_delta) return std::nullopt;
  double h = Get(*metrics_delta, "rowcache_cache_hits_total"),
         m = Get(*metrics_delta, "rowcache_cache_misses_total");
  if (h + m <= 0) return std::nullopt;
  return h / (h + m);
}

std::optional<double> RunReport::DbQueriesPerRequest() const {
  if (!metrics_delta) return std::nullopt;
  double req = Get(*metrics_delta, "rowcache_requests_total");
  if (req <= 0) return std::nullopt;
  return Get(*metrics_delta, "rowcache_db_queries_total") / req;
}

void PrintTable(const Report& r, std::FILE* out) {
  std::fprintf(out, "target: %s\nworkload: %s\n", r.target.c_str(), r.workload.c_str());
  for (auto& [k, v] : r.notes) std::fprintf(out, "%s: %s\n", k.c_str(), v.c_str());
  std::fprintf(out, "\n%-26s %6s %9s %10s %9s %9s %9s %9s %10s %7s %6s %7s\n", "run", "conns", "requests",
               "req/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "errors", "hit%", "dbq/req");
  for (const auto& run : r.runs) {
    const auto& h = run.result.latency;
    auto hit = run.HitRatio();
    auto dbq = run.DbQueriesPerRequest();
    char hit_s[16] = "-", dbq_s[16] = "-";
    if (hit) std::snprintf(hit_s, sizeof hit_s, "%.1f", *hit * 100);
    if (dbq) std::snprintf(dbq_s, sizeof dbq_s, "%.3f", *dbq);
    std::fprintf(out, "%-26s %6d %9llu %10.0f %9.1f %9.1f %9.1f %9.1f %10.1f %7llu %6s %7s\n",
                 run.name.c_str(), run.connections, static_cast<unsigned long long>(run.result.requests),
                 run.result.throughput(), Us(h.Percentile(50)), Us(h.Percentile(90)), Us(h.Percentile(99)),
                 Us(h.Percentile(99.9)), Us(h.max()),
                 static_cast<unsigned long long>(run.result.errors.total()), hit_s, dbq_s);
    const Errors& e = run.result.errors;
    if (e.total()) {
      std::fprintf(out,
                   "%-26s errors: connect %llu, timeout %llu, io %llu, http 4xx %llu, http 5xx %llu, "
                   "statusCode %llu\n",
                   "", static_cast<unsigned long long>(e.connect), static_cast<unsigned long long>(e.timeout),
                   static_cast<unsigned long long>(e.io), static_cast<unsigned long long>(e.http_4xx),
                   static_cast<unsigned long long>(e.http_5xx),
                   static_cast<unsigned long long>(e.status_code));
    }
    if (run.open_loop && run.result.unfinished) {
      std::fprintf(out,
                   "%-26s %llu requests due or in flight when the window closed (not in the latencies)\n", "",
                   static_cast<unsigned long long>(run.result.unfinished));
    }
  }
  if (!r.ratios.empty()) std::fprintf(out, "\n");
  for (auto& [k, v] : r.ratios) std::fprintf(out, "%-58s %10.3f\n", k.c_str(), v);
  std::fflush(out);
}

std::string ToJson(const Report& r) {
  json::object doc;
  doc["tool"] = "rowcache bench";
  doc["name"] = r.name;
  doc["target"] = r.target;
  doc["workload"] = r.workload;
  doc["command"] = r.command;
  json::array runs;
  for (const auto& run : r.runs) {
    const auto& h = run.result.latency;
    json::object o;
    o["name"] = run.name;
    o["mode"] = run.open_loop ? "open" : "closed";
    o["use_cache"] = run.use_cache;
    o["connections"] = run.connections;
    if (run.open_loop) o["rate"] = run.rate;
    o["seconds"] = run.result.seconds;
    o["requests"] = run.result.requests;
    o["reads"] = run.result.reads;
    o["writes"] = run.result.writes;
    o["throughput"] = run.result.throughput();
    o["unfinished"] = run.result.unfinished;
    json::object lat;
    lat["p50"] = Us(h.Percentile(50));
    lat["p90"] = Us(h.Percentile(90));
    lat["p99"] = Us(h.Percentile(99));
    lat["p99_9"] = Us(h.Percentile(99.9));
    lat["max"] = Us(h.max());
    lat["min"] = Us(h.min());
    lat["mean"] = h.mean() / 1000.0;
    o["latency_us"] = lat;
    const Errors& e = run.result.errors;
    o["errors"] = {
        {"total", e.total()},     {"connect", e.connect},   {"timeout", e.timeout},        {"io", e.io},
        {"http_4xx", e.http_4xx}, {"http_5xx", e.http_5xx}, {"status_code", e.status_code}};
    if (auto hr = run.HitRatio()) o["cache_hit_ratio"] = *hr;
    if (auto q = run.DbQueriesPerRequest()) o["db_queries_per_request"] = *q;
    if (run.metrics_delta) {
      json::object m;
      for (auto& [k, v] : *run.metrics_delta) {
        if (k.find("_bucket") == std::string::npos && v != 0) m[k] = v;
      }
      o["metrics_delta"] = m;
    }
    runs.push_back(o);
  }
  doc["runs"] = runs;
  json::object ratios;
  for (auto& [k, v] : r.ratios) ratios[k] = v;
  doc["ratios"] = ratios;
  json::object notes;
  for (auto& [k, v] : r.notes) notes[k] = v;
  doc["notes"] = notes;
  return json::serialize(doc) + "\n";
}

std::string ToCsv(const Report& r) {
  std::ostringstream o;
  o << "name,mode,use_cache,connections,rate,seconds,requests,throughput,p50_us,p90_us,p99_us,p99_9_us,max_"
       "us,mean_us,"
       "errors,cache_hit_ratio,db_queries_per_request\n";
  for (const auto& run : r.runs) {
    const auto& h = run.result.latency;
    auto hr = run.HitRatio();
    auto q = run.DbQueriesPerRequest();
    o << '"' << run.name << "\"," << (run.open_loop ? "open" : "closed") << ','
      << (run.use_cache ? "true" : "false") << ',' << run.connections << ',' << run.rate << ','
      << run.result.seconds << ',' << run.result.requests << ',' << run.result.throughput() << ','
      << Us(h.Percentile(50)) << ',' << Us(h.Percentile(90)) << ',' << Us(h.Percentile(99)) << ','
      << Us(h.Percentile(99.9)) << ',' << Us(h.max()) << ',' << h.mean() / 1000.0 << ','
      << run.result.errors.total() << ',' << (hr ? std::to_string(*hr) : "") << ','
      << (q ? std::to_string(*q) : "") << '\n';
  }
  return o.str();
}

namespace {
std::string Quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) {
    if (c == '\'')
      o += "''";
    else
      o += c;
  }
  return o + "'";
}
std::string FileSafe(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return s;
}
}  // namespace

Status WritePlots(const Report& r, const std::string& dir, std::vector<std::string>* written) {
  mkdir(dir.c_str(), 0755);
  std::string base = dir + "/" + FileSafe(r.name);
  std::string script = "set terminal pngcairo size 720,440 font ',9'\nset grid\nset key top left\n";
  // 1. Percentile distribution of every run (HdrHistogram-style x axis).
  std::string dat = base + "-latency.dat";
  {
    std::ofstream f(dat);
    for (const auto& run : r.runs) {
      f << "# " << run.name << "\n";
      for (auto [p, v] : run.result.latency.Distribution()) {
        if (p >= 100.0) continue;
        f << p << ' ' << 1.0 / (1.0 - p / 100.0) << ' ' << Us(v) << '\n';
      }
      f << "\n\n";
    }
  }
  std::string png1 = base + "-latency.png";
  script +=
      "set output " + Quote(png1) + "\nset title " + Quote(r.name + ": latency by percentile") +
      " noenhanced\nset logscale x\nset logscale y\nset xlabel 'percentile'\nset ylabel 'latency (us)'\n"
      "set xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' "
      "100000)\n"
      "plot ";
  for (size_t i = 0; i < r.runs.size(); ++i) {
    if (i) script += ", ";
    script += Quote(dat) + " index " + std::to_string(i) + " using 2:3 with steps lw 2 title " +
              Quote(r.runs[i].name) + " noenhanced";
  }
  script += "\n";
  written->push_back(png1);
  // 2. Throughput vs latency when open-loop rates were swept.
  std::set<double> rates;
  for (const auto& run : r.runs) {
    if (run.open_loop) rates.insert(run.rate);
  }
  if (rates.size() >= 2) {
    std::string dat2 = base + "-throughput-latency.dat";
    std::ofstream f(dat2);
    std::vector<std::string> series;
    for (bool cache : {true, false}) {
      bool any = false;
      for (const auto& run : r.runs) {
        if (!run.open_loop || run.use_cache != cache) continue;
        const auto& h = run.result.latency;
        f << run.rate << ' ' << run.result.throughput() << ' ' << Us(h.Percentile(50)) << ' '
          << Us(h.Percentile(99)) << '\n';
        any = true;
      }
      if (any) {
        f << "\n\n";
        series.push_back(cache ? "cached" : "uncached");
      }
    }
    f.close();
    std::string png2 = base + "-throughput-latency.png";
    script +=
        "set output " + Quote(png2) + "\nset title " +
        Quote(r.name + ": latency vs achieved throughput (open loop)") +
        " noenhanced\nunset logscale x\nset logscale y\nset xtics auto\nset xlabel 'achieved requests/s'\n"
        "set ylabel 'latency from scheduled send (us)'\nplot ";
    for (size_t i = 0; i < series.size(); ++i) {
      if (i) script += ", ";
      script += Quote(dat2) + " index " + std::to_string(i) + " using 2:3 with linespoints lw 2 title " +
                Quote(series[i] + " p50") + ", " + Quote(dat2) + " index " + std::to_string(i) +
                " using 2:4 with linespoints lw 2 dt 2 title " + Quote(series[i] + " p99");
    }
    script += "\n";
    written->push_back(png2);
  }
  std::string gp = base + ".gnuplot";
  {
    std::ofstream f(gp);
    f << script;
  }
  std::string cmd = "gnuplot " + Quote(gp) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return Status::Unavailable("cannot run gnuplot");
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) {
    return Status::Unavailable("gnuplot failed (is gnuplot-nox installed? scripts/deps.sh bench): " + output);
  }
  return Status::OK();
}

}  // namespace rowcache::bench
