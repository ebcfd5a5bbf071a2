// libFuzzer target: any bytes as a CSV file for the loader's parser. The
// first byte picks the chunk size the input is fed in; the records (and
// errors) must be the same as when it is fed whole, no record may exceed the
// parser's bounds, and every bad-row message must be printable text (no
// control byte, valid UTF-8, bounded) whatever the input held.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "load/csv.h"

namespace {

constexpr size_t kMaxRecord = 512;  // small bounds so that inputs reach them
constexpr size_t kMaxFields = 8;

void Parse(std::string_view in, size_t chunk, std::vector<rowcache::CsvRecord>* out,
           std::vector<std::string>* errors) {
  rowcache::CsvParser p(kMaxRecord, kMaxFields);
  for (size_t i = 0; i < in.size(); i += chunk) {
    p.Feed(in.substr(i, chunk), out, errors);
    if (p.BufferedFieldsForTest() > kMaxFields) {
      std::fprintf(stderr, "%zu fields held, bound %zu\n", p.BufferedFieldsForTest(), kMaxFields);
      std::abort();
    }
  }
  p.Finish(out, errors);
}

void CheckPrintable(const std::string& msg, size_t max_bytes) {
  bool ok = rowcache::Utf8Length(msg) >= 0 && msg.size() <= max_bytes;
  for (char ch : msg) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) ok = false;
  }
  // C1 controls (U+0080 to U+009F) are escapes on some terminals too.
  for (size_t i = 0; i + 1 < msg.size(); ++i) {
    if (static_cast<unsigned char>(msg[i]) == 0xC2 && static_cast<unsigned char>(msg[i + 1]) < 0xA0)
      ok = false;
  }
  if (!ok) {
    std::fprintf(stderr, "message not printable or too long: %zu bytes\n", msg.size());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<rowcache::CsvRecord> whole, chunked;
  std::vector<std::string> whole_errors, chunked_errors;
  Parse(in, in.size() + 1, &whole, &whole_errors);
  Parse(in, chunk, &chunked, &chunked_errors);
  if (whole_errors != chunked_errors || whole.size() != chunked.size()) {
    std::fprintf(stderr, "chunk %zu: %zu records %zu errors, whole: %zu records %zu errors\n", chunk,
                 chunked.size(), chunked_errors.size(), whole.size(), whole_errors.size());
    std::abort();
  }
  for (size_t i = 0; i < whole.size(); ++i) {
    if (whole[i].fields != chunked[i].fields || whole[i].line != chunked[i].line) {
      std::fprintf(stderr, "chunk %zu: record %zu differs\n", chunk, i);
      std::abort();
    }
    size_t bytes = 0;
    for (const auto& f : whole[i].fields) bytes += f.size();
    if (whole[i].fields.size() > kMaxFields || bytes > kMaxRecord) {
      std::fprintf(stderr, "record %zu: %zu fields, %zu bytes, past the bounds\n", i, whole[i].fields.size(),
                   bytes);
      std::abort();
    }
    auto row = rowcache::RowFromRecord(whole[i]);
    if (!row.ok()) {
      CheckPrintable(row.status().message(), 300);
    } else if (row->id < 1 || row->id > rowcache::kMaxLoadedId) {
      std::fprintf(stderr, "record %zu: id %lld accepted\n", i, static_cast<long long>(row->id));
      std::abort();
    }
  }
  for (const auto& e : whole_errors) CheckPrintable(e, 300);
  // 100 bytes of input shown as at most 4 characters each, then "...".
  CheckPrintable(rowcache::EscapeBytes(in, 100), 4 * 100 + 3);
  return 0;
}
