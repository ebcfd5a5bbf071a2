// Streaming CSV (RFC 4180): quoted fields with commas, doubled quotes and
// newlines; LF or CRLF line ends; blank lines skipped; a UTF-8 byte-order
// mark at the very start is dropped. Fed in chunks of any size, it keeps only
// the record in progress, and that record stops growing at its bounds (bytes
// and fields), so memory stays bounded whatever the input.
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
  // Longest record accepted (bytes, line ends inside quotes included) and
  // most fields in one; a record past either bound is an error for its line:
  // from the byte that crosses it nothing of the record is kept (no
  // characters, no further fields) until its end.
  explicit CsvParser(size_t max_record_bytes = kDefaultMaxRecordBytes, size_t max_fields = kDefaultMaxFields)
      : max_record_bytes_(max_record_bytes), max_fields_(max_fields) {}
  static constexpr size_t kDefaultMaxRecordBytes = 64 * 1024;
  static constexpr size_t kDefaultMaxFields = 64;

  // Appends the records completed by data to *out; an error (a record too
  // long or with too many fields) is returned as a record-level problem in
  // *errors and parsing goes on.
  void Feed(std::string_view data, std::vector<CsvRecord>* out, std::vector<std::string>* errors);
  // End of input: completes the last record (with or without a final newline).
  void Finish(std::vector<CsvRecord>* out, std::vector<std::string>* errors);

  // Fields held for the record in progress (at most max_fields); for tests.
  size_t BufferedFieldsForTest() const { return fields_.size(); }

 private:
  void Consume(std::string_view data, std::vector<CsvRecord>* out, std::vector<std::string>* errors);
  void EndField();
  void EndRecord(std::vector<CsvRecord>* out, std::vector<std::string>* errors);

  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  State state_ = State::kFieldStart;
  size_t max_record_bytes_;
  size_t max_fields_;
  size_t record_bytes_ = 0;
  bool too_long_ = false;  // past max_record_bytes_: nothing more is kept
  bool too_many_fields_ = false;
  bool in_record_ = false;  // a byte of the current record has been seen
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  bool at_start_ = true;    // no byte after a possible byte-order mark seen yet
  size_t bom_matched_ = 0;  // bytes of the byte-order mark seen so far
  bool quoted_any_ = false;
  int64_t line_ = 1;         // current physical line
  int64_t record_line_ = 1;  // line where the current record began
  std::string field_;
  std::vector<std::string> fields_;
};

// Highest id the loader accepts: kMaxId - 1 (INT). A row with id kMaxId
// would leave the table's AUTO_INCREMENT nowhere to go, so every later write
// of a new row would fail; such rows are bad rows.
inline constexpr int64_t kMaxLoadedId = kMaxId - 1;

// The row in a record of id,hero,power,name,xp,color, or InvalidArgument
// "line N: <field>: <problem>". The message is printable text whatever the
// record holds: the bytes of a field it quotes pass through EscapeBytes.
Result<Row> RowFromRecord(CsvRecord rec);

// s as printable text for a terminal or a log: printable ASCII and valid
// UTF-8 as they are, a backslash as \\, every other byte (control bytes, C1
// controls, DEL, bytes of invalid UTF-8) as \xNN. At most max_bytes of s
// are shown (cut at a character boundary), then "..." if s was longer.
std::string EscapeBytes(std::string_view s, size_t max_bytes);

// Whether a record is the optional header row.
bool IsHeader(const CsvRecord& rec);

}  // namespace rowcache
