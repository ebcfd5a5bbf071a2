// Row codec: a table's rows between the database's values and JSON, chosen per
// column once, when the schema is read (no per-row dispatch on type names).
//
// A value travels in one canonical text form, the one MySQL's text protocol
// gives for the column (what a store reads back), with two exceptions:
//   integers, YEAR     decimal digits ("-12", "18446744073709551615")
//   DECIMAL(p,s)       exactly s decimals, no '+', no leading zeros ("12.50", "-0.01", "0.00")
//   FLOAT / DOUBLE     the shortest text that round-trips as float / double ("0.1", "1e+20")
//   strings            the bytes (utf8mb4 unless the column says otherwise); CHAR without trailing spaces
//   binary             the bytes; BINARY(n) zero-padded to n
//   DATE               "2026-12-06"
//   DATETIME(fsp)      "2026-12-06 20:43:05.123" (exactly fsp fraction digits)
//   TIMESTAMP(fsp)     the same, in UTC (the stores pin the session time zone to UTC)
//   TIME(fsp)          "-838:59:59", "12:00:00.50"
//   BIT(n)             decimal digits of the value (the text protocol's raw bytes are converted)
//   ENUM / SET         the member / the members in definition order joined by ","
//   JSON               the JSON text (any valid JSON)
// and a NULL is no value (std::nullopt).
//
// Contract:
// - FromJson validates a client's JSON value for a column (ranges, lengths in
//   characters or bytes, UTF-8 and the column's character set, dates, members,
//   base64, NULL for a NOT NULL column) and gives its canonical text; an error
//   is a message without the field name (the caller prefixes "SQLS[i].col: ").
//   Equal values give equal text: 7, "7" and 7.0 for an integer column; "12.5"
//   and 12.5 for DECIMAL(4,2); "2026-12-06T20:43:05" and "2026-12-06 20:43:05".
// - AppendJson writes a canonical value as JSON (the table in docs/design.md:
//   DECIMAL as a string, binary as padded base64, DATETIME with 'T',
//   TIMESTAMP with 'Z', BIT(1) as true/false, JSON nested). It trusts its input
//   (values come from the database or from FromJson); it never fails.
// - AppendRowJson writes {"col": value, ...} in column order, with ", " and
//   ": " as separators (heroes: byte for byte the answer of earlier versions).
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rowcache/schema.h"
#include "rowcache/status.h"

namespace rowcache {

// One row of any table: a value per column, in column order.
using RowValues = std::vector<std::optional<std::string>>;

class ColumnCodec {
 public:
  explicit ColumnCodec(const Column& c);

  Status FromJson(const boost::json::value& v, std::optional<std::string>& out) const;
  void AppendJson(std::string& out, const std::optional<std::string>& value) const;
  // The length of the value AppendJson could have written at the start of
  // text (null only for a nullable column), or 0 if there is none there.
  size_t MatchJson(std::string_view text) const;
  // The most bytes AppendJson can write for one value of this column (for
  // the read limit); SIZE_MAX when only the answer-size check bounds it.
  size_t MaxJsonBytes() const;
  const Column& column() const { return *col_; }

 private:
  using FromFn = Status (*)(const Column&, const boost::json::value&, std::string&);
  using AppendFn = void (*)(const Column&, std::string&, std::string_view);
  using MatchFn = size_t (*)(const Column&, std::string_view);
  const Column* col_;
  FromFn from_;
  AppendFn append_;
  MatchFn match_;
};

class RowCodec {
 public:
  // schema must outlive the codec.
  explicit RowCodec(const TableSchema& schema);

  const TableSchema& schema() const { return *schema_; }
  const ColumnCodec& column(size_t i) const { return columns_[i]; }
  size_t size() const { return columns_.size(); }

  void AppendRowJson(std::string& out, const RowValues& row) const;
  std::string RowJson(const RowValues& row) const;
  // Whether text is exactly what AppendRowJson writes for some row of this
  // table whose key columns are written as key_json (one JSON text per key
  // column, as ColumnCodec::AppendJson writes them; empty: any key). A check
  // of shape, not of every bound: each value has its column's JSON form
  // (integers in range, DECIMAL at its scale, strings in the escapes
  // AppendJsonString uses and valid UTF-8, base64, ...). It allocates nothing
  // (a JSON column's value is parsed), so a cache entry that passes is
  // spliced into an answer as it is: a cached row costs about a copy.
  bool MatchesRowJson(std::string_view text, std::span<const std::string_view> key_json = {}) const;
  // The most bytes one row's JSON can take; SIZE_MAX if a column is unbounded
  // in practice (TEXT beyond 64 KiB, BLOB, JSON).
  size_t MaxRowJsonBytes() const;

 private:
  const TableSchema* schema_;
  std::vector<ColumnCodec> columns_;
  std::vector<std::string> names_;  // "\"col\": ", JSON-escaped once
};

// RFC 4648 base64, standard alphabet, padded.
void AppendBase64(std::string& out, std::string_view bytes);
// Padded or unpadded; nullopt if s is not base64.
std::optional<std::string> DecodeBase64(std::string_view s);

}  // namespace rowcache
