// The one row type rowcache stores: a "hero".
//
// Table: id INT AUTO_INCREMENT PRIMARY KEY, hero/power/name/color VARCHAR(20)
// NOT NULL, xp INT NOT NULL (utf8mb4). On the wire (and in the cache) a row is
// the JSON object {"id":1,"hero":"yes","power":"fly","name":"batman","xp":100,
// "color":"black"} with id and xp as integers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rowcache {

inline constexpr int kMaxFieldChars = 20;      // VARCHAR(20): characters (code points), not bytes
inline constexpr int64_t kMaxId = 2147483647;  // INT
inline constexpr int64_t kMinXp = -2147483648LL;
inline constexpr int64_t kMaxXp = 2147483647LL;

// The longest JSON a valid row can have (AppendRowJson): an id of 10 digits,
// an xp of 11 (-2147483648), and four strings of kMaxFieldChars characters
// that each take 6 bytes escaped (a control character: \u001f; a 4-byte
// UTF-8 character stays 4 bytes), plus quotes: 58 + 21 + 4 x 122 = 567.
inline constexpr size_t kMaxRowJsonBytes =
    sizeof("{\"id\": , \"hero\": , \"power\": , \"name\": , \"xp\": , \"color\": }") - 1 + 10 + 11 +
    4 * (2 + 6 * kMaxFieldChars);

struct Row {
  int64_t id = 0;  // 0 for a row not yet written: the database assigns ids
  std::string hero;
  std::string power;
  std::string name;
  int64_t xp = 0;
  std::string color;

  bool operator==(const Row&) const = default;
};

// Compact JSON of a row, fields in the order id, hero, power, name, xp, color.
std::string RowToJson(const Row& r);
void AppendRowJson(std::string& out, const Row& r);
// Parses what RowToJson produced (any field order, no extra fields). nullopt
// if the text is not such an object or a value is out of range.
std::optional<Row> RowFromJson(std::string_view json);

// Appends s as a JSON string literal (quotes included), escaping what JSON requires.
void AppendJsonString(std::string& out, std::string_view s);

// Number of UTF-8 code points in s, or -1 if s is not valid UTF-8.
int64_t Utf8Length(std::string_view s);

}  // namespace rowcache
