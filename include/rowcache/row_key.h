// Row keys: the one encoder of a row's primary key, for the Redis key of its
// entry and guard, for requests, answers and (later) the binlog follower.
//
// A key is the canonical text (row_codec.h) of each key column, in key order.
// Its encoding, the part between the braces of the Redis key:
//   each value with '%', '{', '}' and ',' written as %25, %7B, %7D and %2C,
//   the values joined by ','.
// So one key has one encoding ("7", "1,A-5"), the hash tag {...} holds the
// whole key and nothing else (a value cannot close it early), and an entry
// and its guard (entry key + guard suffix) share one cluster slot.
//   entry:  prefix + "{" + encoding + "}"          rowcache:heroes:{7}
//   guard:  entry + guard_suffix                    rowcache:heroes:{7}:gen
// heroes' keys are byte for byte those of earlier versions.
//
// Contract:
// - FromJson accepts, for a one-column key, the column's JSON value (7, "7"
//   and 7.0 alike for an integer key); for a composite key an object naming
//   every key column and nothing else, or an array of the values in key
//   order. Errors are messages without the field name.
// - Encode(FromJson(x)) is the same for every spelling of one key; Encode of
//   the key columns of a row read from the database gives the same bytes as
//   Encode of that row's key as a client spells it, for every type a key may
//   have (not FLOAT/DOUBLE/JSON: CheckServable refuses those).
#pragma once

#include <boost/json/value.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rowcache/row_codec.h"
#include "rowcache/schema.h"
#include "rowcache/status.h"

namespace rowcache {

// The canonical values of the key columns, in key order.
using KeyValues = std::vector<std::string>;

class KeyCodec {
 public:
  // codec (and its schema) must outlive this.
  explicit KeyCodec(const RowCodec& codec);

  Result<KeyValues> FromJson(const boost::json::value& v) const;
  // The key columns of a full row (none may be NULL: a primary key is NOT NULL).
  KeyValues Of(const RowValues& row) const;

  void AppendEncoding(std::string& out, std::span<const std::string> key) const;
  std::string Encode(std::span<const std::string> key) const;
  // prefix + "{" + Encode(key) + "}"
  std::string EntryKey(std::string_view prefix, std::span<const std::string> key) const;
  // {"tenant": 1, "code": "A-5"}: the key as an object in key-column order.
  void AppendKeyObject(std::string& out, std::span<const std::string> key) const;
  // For a one-column key, the key as the JSON value a client sends (7).
  void AppendKeyScalar(std::string& out, std::span<const std::string> key) const;

  size_t size() const { return key_.size(); }

 private:
  const RowCodec* codec_;
  std::vector<size_t> key_;  // column indexes
};

// The table's own part of the Redis keys: "rowcache:" + table + ":". Two
// tables' prefixes never overlap (neither is a prefix of the other: a table
// name holds no ':'), as CLIENT TRACKING's BCAST prefixes must not.
std::string DefaultKeyPrefix(std::string_view table);

}  // namespace rowcache
