// libFuzzer target: any bytes as an event into the core over the embedded
// backends. Every answer must be a JSON object whose statusCode equals the
// HTTP status, which must be 200 or a 4xx; nothing may crash (ASan/UBSan).
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_support.h"
#include "rowcache/service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* w = new rowcache::fuzz::World([] {
    rowcache::ServiceOptions o;
    o.max_batch = 64;
    o.max_read_batch = 64;
    return o;
  }());
  std::string_view in(reinterpret_cast<const char*>(data), size);
  rowcache::Response r = w->service->Handle(in);
  bool allowed = r.status == 200 || (r.status >= 400 && r.status < 500);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  bool shaped = !ec && v.is_object() && v.as_object().contains("statusCode") &&
                v.as_object().at("statusCode").is_int64() &&
                v.as_object().at("statusCode").as_int64() == r.status && v.as_object().contains("body");
  if (!allowed || !shaped) {
    std::fprintf(stderr, "bad answer %d: %s\n", r.status, r.body.c_str());
    std::abort();
  }
  // Cached values and row JSON must round-trip whatever the input held.
  if (auto row = rowcache::RowFromJson(in)) {
    auto again = rowcache::RowFromJson(rowcache::RowToJson(*row));
    if (!again || !(*again == *row)) std::abort();
  }
  return 0;
}
