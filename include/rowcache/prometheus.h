// PrometheusText: the one writer of the Prometheus text exposition format
// (version 0.0.4) -- the core's metrics (rowcache/metrics.h) and the HTTP
// server's own (src/http/metrics_page.h) are written through it. Appends to a
// string; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rowcache {

class PrometheusText {
 public:
  // "# HELP <name> <help>\n# TYPE <name> <type>\n": the samples follow.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // "<name> <value>\n", or "<name>{<labels>} <value>\n" when labels is not
  // empty (labels: `k="v",k2="v2"`, already escaped).
  template <class Integer>
  void Sample(std::string_view name, std::string_view labels, Integer value) {
    SampleText(name, labels, std::to_string(value));
  }
  void SampleDouble(std::string_view name, std::string_view labels, double value);
  // A family of one unlabelled sample.
  template <class Integer>
  void Counter(std::string_view name, std::string_view help, Integer value) {
    Family(name, "counter", help);
    Sample(name, {}, value);
  }
  template <class Integer>
  void Gauge(std::string_view name, std::string_view help, Integer value) {
    Family(name, "gauge", help);
    Sample(name, {}, value);
  }
  // A double as the format writes it ("%.9g").
  static std::string FormatDouble(double value);

  std::string& text() { return out_; }

 private:
  void SampleText(std::string_view name, std::string_view labels, std::string_view value);
  std::string out_;
};

}  // namespace rowcache
