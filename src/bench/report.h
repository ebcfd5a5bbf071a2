// Results of a bench invocation: one row per run (a load level and a cache
// setting), the metrics the service reported about it, ratios between runs,
// printed as a table, written as JSON / CSV, and plotted with gnuplot.
#pragma once

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/load.h"
#include "rowcache/status.h"

namespace rowcache::bench {

// Prometheus text -> metric name -> value, summed over label sets.
std::map<std::string, double> ParseMetrics(const std::string& text);

struct RunReport {
  std::string name;  // e.g. "cached", "uncached @ 2000/s"
  bool open_loop = false;
  bool use_cache = true;
  int connections = 0;
  double rate = 0;  // open loop target
  RunResult result;
  // Differences of the service's counters over the measurement window.
  std::optional<std::map<std::string, double>> metrics_delta;
  std::optional<double> HitRatio() const;
  std::optional<double> DbQueriesPerRequest() const;
};

struct Report {
  std::string name = "bench";  // file name prefix
  std::string target;
  std::string workload;  // one-line description
  std::string command;   // the command line, for reproduction
  std::vector<RunReport> runs;
  std::vector<std::pair<std::string, double>> ratios;
  std::vector<std::pair<std::string, std::string>> notes;  // extra facts (autograder scenario, prepare)
};

void PrintTable(const Report& r, std::FILE* out);
std::string ToJson(const Report& r);
std::string ToCsv(const Report& r);
// PNGs into dir: NAME-latency.png (percentile distribution of every run) and,
// with several open-loop rates, NAME-throughput-latency.png. Needs gnuplot.
Status WritePlots(const Report& r, const std::string& dir, std::vector<std::string>* written);

}  // namespace rowcache::bench
