// Schema: what rowcache knows of a table -- its columns, their types, and its
// primary key -- as the database itself describes it.
//
// A TableSchema is read once per table when rowcache starts (and again when
// it changes: see the fingerprint), by the store (Store::DescribeTable: from
// information_schema on MySQL/MariaDB/Aurora, PRAGMA table_info on SQLite).
// Everything else that depends on a table's shape -- the row codec
// (row_codec.h), the cache keys (row_key.h), the stores' SQL, the request
// validation -- is derived from it, so one code path serves every table.
//
// Contract:
// - ParseColumnType understands the type text MySQL and MariaDB put in
//   information_schema.COLUMNS.COLUMN_TYPE ("int(10) unsigned", "varchar(20)",
//   "decimal(12,2)", "datetime(3)", "enum('a','b')", ...) and the declared
//   types of SQLite; anything else is InvalidArgument naming the type.
// - CheckServable says why a table cannot be served (no primary key, a
//   prefix-indexed or floating-point key column, ...), naming table and column.
// - Fingerprint is a pure function of the names, types, nullability and key
//   of the columns (not of defaults or comments): equal schemas, equal
//   fingerprints, on every instance and in every process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rowcache/status.h"

namespace rowcache {

// The types rowcache serves, grouped by how their values travel.
enum class ColumnKind {
  kInteger,    // TINYINT..BIGINT, signed or UNSIGNED; BOOLEAN = TINYINT(1)
  kYear,       // YEAR: 1901..2155, or 0
  kDecimal,    // DECIMAL(p,s) / NUMERIC
  kFloat,      // FLOAT (single precision)
  kDouble,     // DOUBLE / REAL
  kString,     // CHAR(n), VARCHAR(n), TINYTEXT..LONGTEXT
  kBinary,     // BINARY(n), VARBINARY(n), TINYBLOB..LONGBLOB
  kDate,       // DATE
  kDateTime,   // DATETIME(fsp)
  kTimestamp,  // TIMESTAMP(fsp), read and written in UTC
  kTime,       // TIME(fsp)
  kBit,        // BIT(n)
  kEnum,       // ENUM('a', ...)
  kSet,        // SET('a', ...)
  kJson,       // JSON (MySQL) and MariaDB's JSON alias (LONGTEXT with a json_valid check)
};

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kString;
  // The type as the database spelled it (COLUMN_TYPE, lower case), for messages.
  std::string sql_type;

  // kInteger: the storage size in bytes (1, 2, 3, 4 or 8) and sign.
  int int_bytes = 4;
  bool is_unsigned = false;
  // kString: the most characters (CHAR/VARCHAR) or bytes (TEXT types);
  // kBinary: the most bytes; kBit: the number of bits.
  uint64_t length = 0;
  bool length_in_chars = false;  // kString: CHAR/VARCHAR (true) or TEXT (bytes)
  bool fixed_length = false;     // CHAR(n) (trailing spaces removed) / BINARY(n) (zero padded)
  // kString: the character set ("utf8mb4", "utf8mb3", "latin1", "ascii", "binary"; "" unknown).
  std::string charset;
  // kString: the collation ("utf8mb4_general_ci", ...; "" unknown).
  std::string collation;
  // kDecimal: digits in all, and after the point.
  int precision = 10, scale = 0;
  // kDateTime, kTimestamp, kTime: digits of fractional seconds (0..6).
  int fsp = 0;
  // kEnum, kSet: the members in definition order.
  std::vector<std::string> members;

  bool nullable = false;
  bool has_default = false;     // a DEFAULT (a constant, CURRENT_TIMESTAMP, an expression)
  bool auto_increment = false;  // AUTO_INCREMENT (SQLite: INTEGER PRIMARY KEY)
  bool generated = false;       // GENERATED ALWAYS AS (virtual or stored): never written
  // The key is indexed on a prefix of this column only (KEY (c(10))).
  bool prefix_indexed = false;
};

struct TableSchema {
  std::string name;
  std::vector<Column> columns;  // in table order
  std::vector<size_t> key;      // indexes into columns, in primary-key order
  bool cascade_child = false;   // the child of an ON UPDATE/DELETE CASCADE foreign key
  std::string cascade_parent;   // then the parent table ("" otherwise)

  // The one auto-increment key column, if the key is exactly that (heroes' id).
  // Such a table's rows may be written without their key.
  bool HasAutoIncrementKey() const { return key.size() == 1 && columns[key[0]].auto_increment; }
  // Index of the column named name, or columns.size().
  size_t ColumnIndex(std::string_view name) const;
};

// Parses a COLUMN_TYPE (MySQL/MariaDB, any case) or a SQLite declared type
// into kind and the type's parameters of column (the other fields are left
// as they are). sqlite: use SQLite's rules for what the database can hold.
Status ParseColumnType(std::string_view type_text, Column& column, bool sqlite = false);

// OK if rowcache can serve the table; otherwise InvalidArgument with one line
// naming table and column, e.g. "table orders: column price: a FLOAT or
// DOUBLE column cannot be part of the primary key". A cascade child is
// refused unless allow_cascade_children.
Status CheckServable(const TableSchema& t, bool allow_cascade_children);

// 64-bit FNV-1a over the table's name and, per column, name, kind, type
// parameters, nullability, generated-ness and key position.
uint64_t Fingerprint(const TableSchema& t);

// The heroes table of the assignment, as rowcache creates it when it is
// missing: id INT AUTO_INCREMENT PRIMARY KEY, hero/power/name/color
// VARCHAR(20) NOT NULL, xp INT NOT NULL (utf8mb4). Named name.
TableSchema HeroesSchema(std::string_view name = "heroes");

// Table names are validated (letters, digits, underscore, at most 64) because
// they cannot be bound as parameters. Column names: the same, and at most 64.
bool IsValidTableName(std::string_view name);
bool IsValidColumnName(std::string_view name);

}  // namespace rowcache
