// Streaming CSV (RFC 4180): quoted fields with commas, doubled quotes and
// newlines; LF or CRLF line ends; blank lines skipped. Fed in chunks of any
// size, it keeps only the record in progress, so memory stays bounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rowcache/row.h"
#include "rowcache/status.h"

namespace rowcache {

struct CsvRecord {
  int64_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

class CsvParser {
 public:
  // Longest record accepted; a longer one is an error for its line.
  explicit CsvParser(size_t max_record_bytes = 64 * 1024) : max_record_bytes_(max_record_bytes) {}

  // Appends the records completed by data to *out; an error (a record too
  // long) is returned as a record-level problem in *errors and parsing goes on.
  void Feed(std::string_view data, std::vector<CsvRecord>* out, std::vector<std::string>* errors);
  // End of input: completes the last record (with or without a final newline).
  void Finish(std::vector<CsvRecord>* out, std::vector<std::string>* errors);

 private:
  void EndField();
  void EndRecord(std::vector<CsvRecord>* out, std::vector<std::string>* errors);

  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  State state_ = State::kFieldStart;
  size_t max_record_bytes_;
  size_t record_bytes_ = 0;
  bool too_long_ = false;
  bool quoted_any_ = false;
  int64_t line_ = 1;          // current physical line
  int64_t record_line_ = 1;   // line where the current record began
  std::string field_;
  std::vector<std::string> fields_;
};

// The row in a record of id,hero,power,name,xp,color, or InvalidArgument
// "line N: <field>: <problem>".
Result<Row> RowFromRecord(CsvRecord rec);

// Whether a record is the optional header row.
bool IsHeader(const CsvRecord& rec);

}  // namespace rowcache
