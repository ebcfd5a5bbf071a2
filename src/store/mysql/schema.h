// Schema discovery on MySQL / MariaDB / Aurora MySQL: a table's TableSchema
// (rowcache/schema.h) from information_schema.
//
// Contract of DescribeMysqlTable(conn, table):
// - Reads the table of the connection's current database (DATABASE()) named
//   exactly table (byte for byte, whatever lower_case_table_names says about
//   the SQL the stores send later). The name is bound as a parameter.
// - Fills name, columns (in ORDINAL_POSITION order), key (the PRIMARY index
//   in SEQ_IN_INDEX order; empty when the table has none), cascade_child and
//   cascade_parent. The fingerprint is the caller's (Fingerprint()).
// - Per column, besides what ParseColumnType reads from COLUMN_TYPE:
//   charset/collation (CHARACTER_SET_NAME, COLLATION_NAME; "" when NULL),
//   nullable (IS_NULLABLE), auto_increment and generated (EXTRA: VIRTUAL /
//   STORED / PERSISTENT [GENERATED], or a GENERATION_EXPRESSION),
//   prefix_indexed (a key part with a SUB_PART), and has_default: true when
//   an INSERT may leave the column out -- a DEFAULT (MariaDB reports the
//   text 'NULL' for DEFAULT NULL, MySQL an SQL NULL), a nullable column, an
//   AUTO_INCREMENT or a generated column.
// - MariaDB's JSON alias (LONGTEXT with CHECK (json_valid(`c`)), found in
//   information_schema.CHECK_CONSTRAINTS) is kind kJson; MySQL's JSON is
//   its own COLUMN_TYPE.
// - cascade_child: a foreign key of this table (the child) whose UPDATE_RULE
//   or DELETE_RULE is CASCADE, SET NULL or SET DEFAULT (each changes child
//   rows without a statement naming them); cascade_parent is the parent of
//   the first such key by name ("db.parent" when in another database).
// - Errors: NotFound "table T does not exist"; InvalidArgument for a name
//   IsValidTableName refuses and for a column whose type ParseColumnType
//   refuses ("table T: column c: type ... is not one rowcache can serve");
//   Unavailable when the connection failed (a client-side error: the caller
//   should drop the connection) or the table changed between the queries;
//   Internal for any other server error.
// - Needs no grant beyond some privilege on the table: information_schema
//   shows a user only the tables it can use.
#pragma once

#include <mysql.h>

#include <string_view>

#include "rowcache/schema.h"
#include "rowcache/status.h"

namespace rowcache {

Result<TableSchema> DescribeMysqlTable(MYSQL* conn, std::string_view table);

}  // namespace rowcache
