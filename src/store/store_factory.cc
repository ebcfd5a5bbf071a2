#include "rowcache/store.h"
#include "rowcache/url.h"
#include "store/mysql/store.h"
#include "store/sqlite_store.h"

namespace rowcache {

Result<TableSchema> ServedTableSchema(Store& store, bool allow_cascade_children) {
  auto t = store.DescribeTable(store.TableName());
  if (!t.ok()) return t.status();
  Status s = CheckServable(*t, allow_cascade_children);
  if (!s.ok()) return s;
  // Until the service serves any table: the columns must be heroes'.
  TableSchema heroes = HeroesSchema(t->name);
  std::string shape =
      "this version serves only tables shaped as heroes (id INT AUTO_INCREMENT PRIMARY KEY, "
      "hero, power, name VARCHAR(20), xp INT, color VARCHAR(20))";
  if (t->columns.size() != heroes.columns.size()) {
    return Status::InvalidArgument("table " + t->name + ": " + std::to_string(t->columns.size()) +
                                   " columns; " + shape);
  }
  for (size_t i = 0; i < heroes.columns.size(); ++i) {
    const Column& want = heroes.columns[i];
    const Column& got = t->columns[i];
    bool same = got.name == want.name && got.kind == want.kind &&
                (got.kind != ColumnKind::kInteger || (got.int_bytes >= 4 && !got.is_unsigned)) &&
                (got.kind != ColumnKind::kString || got.length >= want.length);
    if (!same) {
      return Status::InvalidArgument("table " + t->name + ": column " + got.name + " " + got.sql_type +
                                     " where heroes has " + want.name + " " + want.sql_type + "; " + shape);
    }
  }
  if (t->key != heroes.key || !t->HasAutoIncrementKey()) {
    return Status::InvalidArgument("table " + t->name + ": the key is not id AUTO_INCREMENT; " + shape);
  }
  return t;
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const StoreOptions& opts) {
  if (url.rfind("sqlite:", 0) == 0) {
    // sqlite:PATH[?table=T]; sqlite::memory: for a private in-memory database.
    std::string rest = url.substr(7);
    std::string table = "heroes";
    if (auto q = rest.find("?table="); q != std::string::npos) {
      table = rest.substr(q + 7);
      rest = rest.substr(0, q);
    }
    if (rest.rfind("//", 0) == 0) rest = rest.substr(2);  // sqlite://PATH also accepted
    if (rest.empty()) return Status::InvalidArgument("database URL 'sqlite:': missing file path");
    if (!IsValidTableName(table)) {
      return Status::InvalidArgument("database URL: table '" + table +
                                     "' is not a valid name (letters, digits, _)");
    }
    return NewSqliteStore(rest, table, opts);
  }
  auto u = ParseUrl(url);
  if (!u.ok()) return Status::InvalidArgument("database URL: " + u.status().message());
  if (u->scheme == "mysql" || u->scheme == "mariadb") return NewMysqlStore(u.value(), opts);
  return Status::InvalidArgument("database URL '" + u->Redacted() +
                                 "': unknown scheme (expected mysql://... or sqlite:PATH)");
}

}  // namespace rowcache
