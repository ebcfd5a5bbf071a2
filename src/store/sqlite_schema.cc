// Schema discovery on SQLite: pragma_table_xinfo, pragma_index_list and
// pragma_foreign_key_list as table-valued functions of the bound table name.
#include "store/sqlite_schema.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <string>

namespace rowcache {

namespace {

std::string Text(sqlite3_stmt* st, int col) {
  const unsigned char* p = sqlite3_column_text(st, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st, col)) : std::string();
}

// Runs sql with ?1 bound to table, calling row for each result row.
Status EachRow(sqlite3* db, const char* sql, std::string_view table,
               const std::function<Status(sqlite3_stmt*)>& row) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    return Status::Internal("describing table " + std::string(table) + ": " + sqlite3_errmsg(db));
  }
  sqlite3_bind_text(st, 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
  Status s;
  int rc = SQLITE_DONE;
  while (s.ok() && (rc = sqlite3_step(st)) == SQLITE_ROW) s = row(st);
  if (s.ok() && rc != SQLITE_DONE) {
    s = Status::Internal("describing table " + std::string(table) + ": " + sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ChangesChildRows(const std::string& rule) {
  std::string r = Lower(rule);
  return r == "cascade" || r == "set null" || r == "set default";
}

}  // namespace

Result<TableSchema> DescribeSqliteTable(sqlite3* db, std::string_view table) {
  if (!IsValidTableName(table)) {
    return Status::InvalidArgument("table '" + std::string(table) +
                                   "' is not a valid name (letters, digits, _)");
  }
  TableSchema t;
  t.name = std::string(table);
  std::vector<std::pair<int, size_t>> pk;  // (position in the key, column index)
  Status s = EachRow(
      db, "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)", table,
      [&](sqlite3_stmt* st) {
        int hidden = sqlite3_column_int(st, 5);
        if (hidden == 1) return Status::OK();
        Column c;
        c.name = Text(st, 0);
        Status p = ParseColumnType(Text(st, 1), c, /*sqlite=*/true);
        if (!p.ok()) {
          return Status::InvalidArgument("table " + t.name + ": column " + c.name + ": " + p.message());
        }
        c.nullable = sqlite3_column_int(st, 2) == 0;
        c.generated = hidden == 2 || hidden == 3;
        c.has_default = sqlite3_column_type(st, 3) != SQLITE_NULL || c.nullable || c.generated;
        if (c.kind == ColumnKind::kString) c.charset = "utf8mb4";
        if (int k = sqlite3_column_int(st, 4); k > 0) pk.emplace_back(k, t.columns.size());
        t.columns.push_back(std::move(c));
        return Status::OK();
      });
  if (!s.ok()) return s;
  if (t.columns.empty()) return Status::NotFound("table " + t.name + " does not exist");
  std::sort(pk.begin(), pk.end());
  for (const auto& [pos, index] : pk) t.key.push_back(index);

  for (Column& c : t.columns) {
    const char* collation = nullptr;
    if (c.kind == ColumnKind::kString &&
        sqlite3_table_column_metadata(db, "main", t.name.c_str(), c.name.c_str(), nullptr, &collation,
                                      nullptr, nullptr, nullptr) == SQLITE_OK &&
        collation) {
      c.collation = Lower(collation);
    }
  }

  // The rowid alias: a one-column INTEGER key with no index behind it (a
  // WITHOUT ROWID table, PRIMARY KEY DESC and any other key have one, of origin "pk").
  bool pk_index = false;
  s = EachRow(db, "SELECT 1 FROM pragma_index_list(?1) WHERE origin = 'pk'", table, [&](sqlite3_stmt*) {
    pk_index = true;
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (t.key.size() == 1 && !pk_index && Lower(t.columns[t.key[0]].sql_type) == "integer") {
    Column& id = t.columns[t.key[0]];
    id.auto_increment = true;
    id.nullable = false;
    id.has_default = true;
  }

  s = EachRow(db, "SELECT \"table\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id",
              table, [&](sqlite3_stmt* st) {
                if (!t.cascade_child && (ChangesChildRows(Text(st, 1)) || ChangesChildRows(Text(st, 2)))) {
                  t.cascade_child = true;
                  t.cascade_parent = Text(st, 0);
                }
                return Status::OK();
              });
  if (!s.ok()) return s;
  return t;
}

}  // namespace rowcache
