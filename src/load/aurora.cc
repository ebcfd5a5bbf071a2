#include "load/aurora.h"

#include <algorithm>

#include "load/csv.h"
#include "rowcache/url.h"

namespace rowcache {

namespace {

bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  return true;
}

bool ValidRegion(std::string_view r) {
  if (r.empty() || r.size() > 32) return false;
  for (char c : r) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// A MySQL single-quoted string literal.
std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace

Result<std::string> BuildAuroraLoadSql(const AuroraLoadSpec& spec) {
  if (spec.s3_url.rfind("s3://", 0) != 0) {
    return Status::InvalidArgument("--aurora-native: --from must be s3://bucket/key, got '" +
                                   RedactUrlText(spec.s3_url) + "'");
  }
  std::string rest = spec.s3_url.substr(5);
  auto slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 == rest.size()) {
    return Status::InvalidArgument("--aurora-native: '" + RedactUrlText(spec.s3_url) +
                                   "': expected s3://bucket/key");
  }
  std::string bucket = rest.substr(0, slash), key = rest.substr(slash + 1);
  if (!ValidBucket(bucket)) {
    return Status::InvalidArgument("--aurora-native: '" + RedactUrlText(spec.s3_url) +
                                   "': not a bucket name");
  }
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("--aurora-native: the object key has a control character");
    }
  }
  if (!ValidRegion(spec.region))
    return Status::InvalidArgument("--region: '" + spec.region + "' is not a region");
  if (!IsValidTableName(spec.table)) {
    return Status::InvalidArgument("table '" + spec.table + "' is not a valid name (letters, digits, _)");
  }
  if (spec.skip_lines < 0) return Status::InvalidArgument("--skip-lines: must be 0 or more");
  std::string sql = "LOAD DATA FROM S3 " + Quote("s3-" + spec.region + "://" + bucket + "/" + key);
  sql += spec.mode == LoadMode::kReplace ? " REPLACE" : " IGNORE";
  sql += " INTO TABLE `" + spec.table + "` CHARACTER SET utf8mb4";
  sql += " FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''";
  sql += " LINES TERMINATED BY '\\n'";
  if (spec.skip_lines > 0) sql += " IGNORE " + std::to_string(spec.skip_lines) + " LINES";
  // A CRLF file leaves '\r' at the end of the last field: strip it.
  sql += " (id, hero, power, name, xp, @color) SET color = TRIM(TRAILING '\\r' FROM @color)";
  return sql;
}

int LeadingLinesToSkip(std::string_view head) {
  // Only complete lines count: cut the head at its last newline.
  auto last = head.rfind('\n');
  if (last == std::string_view::npos) return 0;
  CsvParser parser;
  std::vector<CsvRecord> recs;
  std::vector<std::string> errors;
  parser.Feed(head.substr(0, last + 1), &recs, &errors);
  if (recs.empty()) return static_cast<int>(std::count(head.begin(), head.begin() + last + 1, '\n'));
  int blank = static_cast<int>(recs[0].line - 1);  // blank lines before the first record
  return blank + (IsHeader(recs[0]) ? 1 : 0);
}

}  // namespace rowcache
