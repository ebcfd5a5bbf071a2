// libFuzzer target: any bytes as cache entries read back from Redis (which
// anyone with access to it can write) for a read of ids 1..n, answered by
// the core's cached-read path (Service::AnswerFromEntries). Checked: an
// answer is a 200 whose body is a JSON object with a row or null per id
// asked; otherwise the read falls back (nullopt); nothing crashes.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "rowcache/service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* w = new rowcache::fuzz::World({}, 100);
  // Entries separated by NUL bytes (an empty one: a missing entry), at most 8.
  std::vector<std::optional<std::string>> entries;
  std::string cur;
  for (size_t i = 0; i <= size && entries.size() < 8; ++i) {
    if (i == size || data[i] == 0) {
      if (cur.empty()) {
        entries.emplace_back(std::nullopt);
      } else {
        entries.emplace_back(cur);
      }
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  std::string event = R"({"REQUEST": "read", "SQLS": [)";
  for (size_t i = 0; i < entries.size(); ++i) event += (i ? ", " : "") + std::to_string(i + 1);
  event += "]}";
  auto req = rowcache::ParseRequest(event, w->service->options());
  if (!req.ok()) std::abort();
  auto answer = w->service->AnswerFromEntries(*req, entries, w->service->NowNanos());
  if (!answer) return 0;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(answer->body, ec);
  bool ok = answer->status == 200 && !ec && v.is_object() && v.as_object().contains("body") &&
            v.as_object().at("body").is_array() &&
            v.as_object().at("body").as_array().size() == entries.size();
  if (!ok) {
    std::fprintf(stderr, "bad answer %d: %s\n", answer->status, answer->body.c_str());
    std::abort();
  }
  return 0;
}
