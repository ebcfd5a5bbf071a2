#include "load/csv.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace rowcache {

void CsvParser::EndField() {
  fields_.push_back(std::move(field_));
  field_.clear();
}

void CsvParser::EndRecord(std::vector<CsvRecord>* out, std::vector<std::string>* errors) {
  EndField();
  bool blank = fields_.size() == 1 && fields_[0].empty() && !quoted_any_;
  if (too_long_) {
    errors->push_back("line " + std::to_string(record_line_) + ": record longer than " +
                      std::to_string(max_record_bytes_) + " bytes");
  } else if (!blank) {
    // A CR before the LF belongs to the line end, not to the last field.
    out->push_back(CsvRecord{record_line_, std::move(fields_)});
  }
  fields_.clear();
  record_bytes_ = 0;
  too_long_ = false;
  quoted_any_ = false;
  state_ = State::kFieldStart;
}

void CsvParser::Feed(std::string_view data, std::vector<CsvRecord>* out, std::vector<std::string>* errors) {
  const char* p = data.data();
  const size_t n = data.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: a run of ordinary characters inside a field is appended at
    // once (the byte-by-byte state machine below handles the rest).
    if ((state_ == State::kUnquoted || state_ == State::kQuoted) && !too_long_) {
      const char stop = state_ == State::kUnquoted ? ',' : '"';
      size_t j = i;
      while (j < n && p[j] != stop && p[j] != '\n') ++j;
      size_t run = j - i;
      if (run > 0 && record_bytes_ + run <= max_record_bytes_) {
        field_.append(p + i, run);
        record_bytes_ += run;
        i = j;
        if (i == n) break;
      }
    }
    char ch = p[i++];
    if (state_ == State::kFieldStart && fields_.empty() && field_.empty()) record_line_ = line_;
    if (++record_bytes_ > max_record_bytes_) {
      too_long_ = true;
      field_.clear();
    }
    switch (state_) {
      case State::kFieldStart:
        if (ch == '"') {
          state_ = State::kQuoted;
          quoted_any_ = true;
          continue;
        }
        state_ = State::kUnquoted;
        [[fallthrough]];
      case State::kUnquoted:
        if (ch == ',') {
          EndField();
          state_ = State::kFieldStart;
        } else if (ch == '\n') {
          if (!field_.empty() && field_.back() == '\r') field_.pop_back();
          EndRecord(out, errors);
          ++line_;
        } else if (!too_long_) {
          field_.push_back(ch);
        }
        break;
      case State::kQuoted:
        if (ch == '"') {
          state_ = State::kQuoteInQuoted;
        } else {
          if (ch == '\n') ++line_;
          if (!too_long_) field_.push_back(ch);
        }
        break;
      case State::kQuoteInQuoted:
        if (ch == '"') {  // doubled quote: a literal quote
          if (!too_long_) field_.push_back('"');
          state_ = State::kQuoted;
        } else if (ch == ',') {
          EndField();
          state_ = State::kFieldStart;
        } else if (ch == '\n') {
          EndRecord(out, errors);
          ++line_;
        } else if (ch == '\r') {
          // CR of a CRLF after a closing quote
        } else {
          // Text after a closing quote: keep it (lenient), as most readers do.
          if (!too_long_) field_.push_back(ch);
          state_ = State::kUnquoted;
        }
        break;
    }
  }
}

void CsvParser::Finish(std::vector<CsvRecord>* out, std::vector<std::string>* errors) {
  if (state_ == State::kQuoted) {
    errors->push_back("line " + std::to_string(record_line_) + ": unterminated quoted field");
    fields_.clear();
    field_.clear();
    state_ = State::kFieldStart;
    return;
  }
  if (state_ != State::kFieldStart || !fields_.empty() || !field_.empty()) {
    if (!field_.empty() && field_.back() == '\r') field_.pop_back();
    EndRecord(out, errors);
  }
}

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) --b;
  return s.substr(a, b - a);
}

bool ParseInt(const std::string& text, int64_t lo, int64_t hi, int64_t* out) {
  std::string t = Trim(text);
  if (t.empty()) return false;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

bool IsHeader(const CsvRecord& rec) {
  static const char* kNames[] = {"id", "hero", "power", "name", "xp", "color"};
  if (rec.fields.size() != 6) return false;
  for (size_t i = 0; i < 6; ++i) {
    if (Lower(Trim(rec.fields[i])) != kNames[i]) return false;
  }
  return true;
}

Result<Row> RowFromRecord(CsvRecord rec) {
  auto where = [&] { return "line " + std::to_string(rec.line) + ": "; };
  if (rec.fields.size() != 6) {
    return Status::InvalidArgument(where() + "expected 6 columns (id,hero,power,name,xp,color), got " +
                                   std::to_string(rec.fields.size()));
  }
  Row r;
  if (!ParseInt(rec.fields[0], 1, kMaxId, &r.id)) {
    return Status::InvalidArgument(where() + "id: '" + rec.fields[0].substr(0, 40) + "' is not an id (1 to " +
                                   std::to_string(kMaxId) + ")");
  }
  if (!ParseInt(rec.fields[4], kMinXp, kMaxXp, &r.xp)) {
    return Status::InvalidArgument(where() + "xp: '" + rec.fields[4].substr(0, 40) +
                                   "' is not an integer in INT range");
  }
  const char* names[] = {"hero", "power", "name", "color"};
  std::string* dst[] = {&r.hero, &r.power, &r.name, &r.color};
  std::string* src[] = {&rec.fields[1], &rec.fields[2], &rec.fields[3], &rec.fields[5]};
  for (int i = 0; i < 4; ++i) {
    int64_t n = Utf8Length(*src[i]);
    if (n < 0) return Status::InvalidArgument(where() + names[i] + ": not valid UTF-8");
    if (n > kMaxFieldChars) {
      return Status::InvalidArgument(where() + names[i] + ": " + std::to_string(n) + " characters, more than " +
                                     std::to_string(kMaxFieldChars));
    }
    *dst[i] = std::move(*src[i]);
  }
  return r;
}

}  // namespace rowcache
