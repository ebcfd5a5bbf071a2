#include "rowcache/prometheus.h"

#include <cstdio>

namespace rowcache {

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusText::SampleText(std::string_view name, std::string_view labels, std::string_view value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    out_ += labels;
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void PrometheusText::SampleDouble(std::string_view name, std::string_view labels, double value) {
  SampleText(name, labels, FormatDouble(value));
}

std::string PrometheusText::FormatDouble(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", value);
  return buf;
}

}  // namespace rowcache
