// Schema discovery on SQLite: a table's TableSchema (rowcache/schema.h) from
// the table-valued pragmas, the table name bound as a parameter.
//
// Contract of DescribeSqliteTable(db, table):
// - Reads table of the main database: pragma_table_xinfo (columns in table
//   order; hidden 2/3 = a VIRTUAL/STORED generated column; hidden 1, a
//   virtual table's hidden column, is left out), the pk column (key order),
//   pragma_index_list, pragma_foreign_key_list and sqlite3_table_column_metadata
//   (the collation).
// - Declared types go through ParseColumnType(type, column, /*sqlite=*/true);
//   text columns have charset "utf8mb4" (SQLite stores any Unicode text) and
//   the collation SQLite names, lower case ("binary", "nocase", "rtrim").
// - An INTEGER PRIMARY KEY that is the rowid alias (a rowid table, not
//   PRIMARY KEY DESC: no index of origin "pk") is auto_increment and NOT NULL.
//   A table without a PRIMARY KEY has an empty key: its rowid is not a key
//   rowcache serves.
// - has_default: the column may be left out of an INSERT (a DEFAULT, a
//   nullable column, the rowid alias, a generated column).
// - cascade_child: a foreign key whose on_update or on_delete is CASCADE,
//   SET NULL or SET DEFAULT (whether or not PRAGMA foreign_keys enforces it
//   on this connection); cascade_parent: the parent of the first such key.
// - Errors: NotFound "table T does not exist"; InvalidArgument for a name
//   IsValidTableName refuses or a declared type ParseColumnType refuses
//   ("table T: column c: ..."); Internal for SQLite's errors.
#pragma once

#include <sqlite3.h>

#include <string_view>

#include "rowcache/schema.h"
#include "rowcache/status.h"

namespace rowcache {

Result<TableSchema> DescribeSqliteTable(sqlite3* db, std::string_view table);

}  // namespace rowcache
