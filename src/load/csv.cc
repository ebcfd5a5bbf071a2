#include "load/csv.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace rowcache {

void CsvParser::EndField() {
  if (too_long_ || too_many_fields_) {
    field_.clear();
    return;
  }
  if (fields_.size() >= max_fields_) {
    // One field too many: the record is bad; what it has stays (bounded) so
    // that its line is still known, and nothing more is added.
    too_many_fields_ = true;
    field_.clear();
    return;
  }
  fields_.push_back(std::move(field_));
  field_.clear();
}

void CsvParser::EndRecord(std::vector<CsvRecord>* out, std::vector<std::string>* errors) {
  EndField();
  bool blank = fields_.size() == 1 && fields_[0].empty() && !quoted_any_;
  if (too_long_) {
    errors->push_back("line " + std::to_string(record_line_) + ": record longer than " +
                      std::to_string(max_record_bytes_) + " bytes");
  } else if (too_many_fields_) {
    errors->push_back("line " + std::to_string(record_line_) + ": more than " + std::to_string(max_fields_) +
                      " fields");
  } else if (!blank) {
    // A CR before the LF belongs to the line end, not to the last field.
    out->push_back(CsvRecord{record_line_, std::move(fields_)});
  }
  fields_.clear();
  record_bytes_ = 0;
  too_long_ = false;
  too_many_fields_ = false;
  quoted_any_ = false;
  in_record_ = false;
  state_ = State::kFieldStart;
}

void CsvParser::Feed(std::string_view data, std::vector<CsvRecord>* out, std::vector<std::string>* errors) {
  if (at_start_) {
    // A UTF-8 byte-order mark, possibly split across chunks, is dropped; bytes
    // that only began like one are parsed as they are.
    size_t i = 0;
    while (i < data.size() && bom_matched_ < kBom.size() && data[i] == kBom[bom_matched_]) {
      ++i;
      ++bom_matched_;
    }
    if (bom_matched_ < kBom.size() && i == data.size()) return;  // all of it may still be the mark
    at_start_ = false;
    if (bom_matched_ < kBom.size()) Consume(kBom.substr(0, bom_matched_), out, errors);
    data.remove_prefix(i);
  }
  Consume(data, out, errors);
}

void CsvParser::Consume(std::string_view data, std::vector<CsvRecord>* out,
                        std::vector<std::string>* errors) {
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
    if (!in_record_) {
      in_record_ = true;
      record_line_ = line_;
    }
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
  if (at_start_) {
    at_start_ = false;
    if (bom_matched_ < kBom.size()) Consume(kBom.substr(0, bom_matched_), out, errors);
  }
  if (state_ == State::kQuoted) {
    errors->push_back("line " + std::to_string(record_line_) + ": unterminated quoted field");
    fields_.clear();
    field_.clear();
    record_bytes_ = 0;
    too_long_ = too_many_fields_ = quoted_any_ = in_record_ = false;
    state_ = State::kFieldStart;
    return;
  }
  if (in_record_) {
    if (!field_.empty() && field_.back() == '\r') field_.pop_back();
    EndRecord(out, errors);
  }
}

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
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

// How much of a bad field a bad-row message quotes.
constexpr size_t kQuotedBytes = 40;

// Length of the UTF-8 sequence at the start of s if it is a valid one, else 0.
size_t Utf8SequenceAt(std::string_view s) {
  unsigned char c = static_cast<unsigned char>(s[0]);
  size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || len > s.size() || Utf8Length(s.substr(0, len)) != 1) return 0;
  return len;
}

}  // namespace

std::string EscapeBytes(std::string_view s, size_t max_bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t len = Utf8SequenceAt(s.substr(i));
    if (i + std::max<size_t>(len, 1) > max_bytes) break;
    auto c = static_cast<unsigned char>(s[i]);
    // C1 controls (U+0080 to U+009F, C2 80 to C2 9F) act as escapes on some terminals.
    bool c1 = len == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0;
    if (c == '\\') {
      out += "\\\\";
    } else if (len > 1 && !c1) {
      out.append(s.substr(i, len));
    } else if (len == 1 && c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      size_t n = len > 1 ? len : 1;
      for (size_t k = 0; k < n; ++k) {
        auto b = static_cast<unsigned char>(s[i + k]);
        out += "\\x";
        out.push_back(kHex[b >> 4]);
        out.push_back(kHex[b & 0xF]);
      }
    }
    i += std::max<size_t>(len, 1);
  }
  if (i < s.size()) out += "...";
  return out;
}

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
    return Status::InvalidArgument(where() + "id: '" + EscapeBytes(rec.fields[0], kQuotedBytes) +
                                   "' is not an id (1 to " + std::to_string(kMaxLoadedId) + ")");
  }
  if (r.id > kMaxLoadedId) {
    return Status::InvalidArgument(where() + "id: " + std::to_string(r.id) +
                                   " leaves no room for the ids the database assigns to new rows (at most " +
                                   std::to_string(kMaxLoadedId) + ")");
  }
  if (!ParseInt(rec.fields[4], kMinXp, kMaxXp, &r.xp)) {
    return Status::InvalidArgument(where() + "xp: '" + EscapeBytes(rec.fields[4], kQuotedBytes) +
                                   "' is not an integer in INT range");
  }
  const char* names[] = {"hero", "power", "name", "color"};
  std::string* dst[] = {&r.hero, &r.power, &r.name, &r.color};
  std::string* src[] = {&rec.fields[1], &rec.fields[2], &rec.fields[3], &rec.fields[5]};
  for (int i = 0; i < 4; ++i) {
    int64_t n = Utf8Length(*src[i]);
    if (n < 0) return Status::InvalidArgument(where() + names[i] + ": not valid UTF-8");
    if (n > kMaxFieldChars) {
      return Status::InvalidArgument(where() + names[i] + ": " + std::to_string(n) +
                                     " characters, more than " + std::to_string(kMaxFieldChars));
    }
    *dst[i] = std::move(*src[i]);
  }
  return r;
}

}  // namespace rowcache
