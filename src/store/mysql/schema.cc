// Schema discovery on MySQL / MariaDB: four information_schema queries
// (COLUMNS, STATISTICS, on MariaDB CHECK_CONSTRAINTS, REFERENTIAL_CONSTRAINTS),
// each on the text protocol with the (validated, escaped) table name as a literal.
#include "store/mysql/schema.h"

#include <errmsg.h>
#include <mysqld_error.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace rowcache {

namespace {

// One result row: each column's text, or nullopt for SQL NULL.
using SqlRow = std::vector<std::optional<std::string>>;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A client-side error (the connection is gone or out of step) or a killed
// connection: Unavailable, so that the caller drops the connection.
Status QueryError(std::string_view table, unsigned err, const char* msg) {
  std::string text = "describing table " + std::string(table) + ": " + msg;
  if ((err >= CR_MIN_ERROR && err <= CR_MAX_ERROR) || err == ER_CONNECTION_KILLED) {
    return Status::Unavailable(text);
  }
  return Status::Internal(text);
}

// Runs sql with every '?' replaced by table as a quoted literal (table is a
// validated name: letters, digits and '_'; escaped all the same), on the text
// protocol, and returns all its rows as text.
Result<std::vector<SqlRow>> QueryByTable(MYSQL* conn, const char* sql, std::string_view table) {
  std::string literal(table.size() * 2 + 1, '\0');
  literal.resize(
      mysql_real_escape_string(conn, literal.data(), table.data(), static_cast<unsigned long>(table.size())));
  std::string query;
  for (const char* p = sql; *p; ++p) {
    if (*p == '?') {
      query += "'" + literal + "'";
    } else {
      query.push_back(*p);
    }
  }
  if (mysql_real_query(conn, query.data(), static_cast<unsigned long>(query.size())) != 0) {
    return QueryError(table, mysql_errno(conn), mysql_error(conn));
  }
  MYSQL_RES* res = mysql_store_result(conn);
  if (!res) {
    unsigned err = mysql_errno(conn);
    return QueryError(table, err ? err : CR_UNKNOWN_ERROR, err ? mysql_error(conn) : "no result set");
  }
  unsigned ncols = mysql_num_fields(res);
  std::vector<SqlRow> rows;
  while (MYSQL_ROW r = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    SqlRow row(ncols);
    for (unsigned i = 0; i < ncols; ++i) {
      if (r[i]) row[i].emplace(r[i], lengths[i]);
    }
    rows.push_back(std::move(row));
  }
  mysql_free_result(res);
  return rows;
}

// EXTRA's words: "auto_increment", "VIRTUAL GENERATED", "STORED GENERATED",
// MariaDB's older "VIRTUAL" / "PERSISTENT", "on update current_timestamp()",
// MySQL's "DEFAULT_GENERATED" (an expression default: not a generated column).
bool HasWord(const std::string& extra, std::string_view word) {
  std::string lower = Lower(extra);
  size_t at = 0;
  while ((at = lower.find(word, at)) != std::string::npos) {
    bool starts = at == 0 || lower[at - 1] == ' ';
    size_t end = at + word.size();
    if (starts && (end == lower.size() || lower[end] == ' ')) return true;
    at = end;
  }
  return false;
}

bool IsMariaDb(MYSQL* conn) {
  const char* v = mysql_get_server_info(conn);
  return v && Lower(v).find("mariadb") != std::string::npos;
}

// A MariaDB CHECK clause "json_valid(`doc`)" (spaces ignored) on column name.
bool IsJsonValidCheck(std::string_view clause, std::string_view column) {
  std::string c;
  for (char ch : clause) {
    if (ch != ' ') c.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  }
  return c == "json_valid(`" + Lower(column) + "`)";
}

constexpr const char* kColumnsSql =
    "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME,"
    " COLLATION_NAME, GENERATION_EXPRESSION, TABLE_NAME FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";
constexpr const char* kKeySql =
    "SELECT COLUMN_NAME, SUB_PART, TABLE_NAME FROM information_schema.STATISTICS"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY'"
    " ORDER BY SEQ_IN_INDEX";
// MariaDB only (MySQL's CHECK_CONSTRAINTS has no TABLE_NAME, and a JSON type of its own).
constexpr const char* kChecksSql =
    "SELECT CHECK_CLAUSE, TABLE_NAME FROM information_schema.CHECK_CONSTRAINTS"
    " WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?";
constexpr const char* kCascadeSql =
    "SELECT IF(UNIQUE_CONSTRAINT_SCHEMA = CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME,"
    " CONCAT(UNIQUE_CONSTRAINT_SCHEMA, '.', REFERENCED_TABLE_NAME)), TABLE_NAME"
    " FROM information_schema.REFERENTIAL_CONSTRAINTS"
    " WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?"
    " AND (UPDATE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT')"
    " OR DELETE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT'))"
    " ORDER BY CONSTRAINT_NAME";

// The rows of sql for table whose last column (TABLE_NAME) is table byte for
// byte: information_schema may compare names case-insensitively
// (lower_case_table_names), the stores' SQL later need not.
Result<std::vector<SqlRow>> RowsOf(MYSQL* conn, const char* sql, std::string_view table) {
  auto rows = QueryByTable(conn, sql, table);
  if (!rows.ok()) return rows;
  std::erase_if(*rows, [&](const SqlRow& r) { return r.empty() || r.back() != table; });
  return rows;
}

}  // namespace

Result<TableSchema> DescribeMysqlTable(MYSQL* conn, std::string_view table) {
  if (!IsValidTableName(table)) {
    return Status::InvalidArgument("table '" + std::string(table) +
                                   "' is not a valid name (letters, digits, _)");
  }
  TableSchema t;
  t.name = std::string(table);
  auto columns = RowsOf(conn, kColumnsSql, table);
  if (!columns.ok()) return columns.status();
  if (columns->empty()) return Status::NotFound("table " + t.name + " does not exist");
  bool has_longtext = false;
  for (const SqlRow& r : *columns) {
    Column c;
    c.name = r[0].value_or("");
    const std::string type = r[1].value_or("");
    Status s = ParseColumnType(type, c);
    if (!s.ok())
      return Status::InvalidArgument("table " + t.name + ": column " + c.name + ": " + s.message());
    const std::string extra = r[4].value_or("");
    c.nullable = r[2] == "YES";
    c.auto_increment = HasWord(extra, "auto_increment");
    c.generated = HasWord(extra, "virtual") || HasWord(extra, "stored") || HasWord(extra, "persistent") ||
                  !r[7].value_or("").empty();
    // MariaDB: 'NULL' (text) for DEFAULT NULL, SQL NULL for no default;
    // MySQL: SQL NULL for both (a nullable column then defaults to NULL).
    c.has_default = r[3].has_value() || c.nullable || c.auto_increment || c.generated;
    c.charset = r[5].value_or("");
    c.collation = r[6].value_or("");
    has_longtext = has_longtext || Lower(type) == "longtext";
    t.columns.push_back(std::move(c));
  }

  auto key = RowsOf(conn, kKeySql, table);
  if (!key.ok()) return key.status();
  for (const SqlRow& r : *key) {
    size_t i = t.ColumnIndex(r[0].value_or(""));
    if (i == t.columns.size()) {
      return Status::Unavailable("table " + t.name + " changed while its schema was read; try again");
    }
    t.columns[i].prefix_indexed = r[1].has_value();
    t.key.push_back(i);
  }

  if (has_longtext && IsMariaDb(conn)) {
    auto checks = RowsOf(conn, kChecksSql, table);
    if (!checks.ok()) return checks.status();
    for (Column& c : t.columns) {
      if (c.kind != ColumnKind::kString || c.sql_type != "longtext") continue;
      bool json = std::any_of(checks->begin(), checks->end(),
                              [&](const SqlRow& r) { return IsJsonValidCheck(r[0].value_or(""), c.name); });
      if (json) c.kind = ColumnKind::kJson;
    }
  }

  auto cascades = RowsOf(conn, kCascadeSql, table);
  if (!cascades.ok()) return cascades.status();
  if (!cascades->empty()) {
    t.cascade_child = true;
    t.cascade_parent = cascades->front()[0].value_or("");
  }
  return t;
}

}  // namespace rowcache
