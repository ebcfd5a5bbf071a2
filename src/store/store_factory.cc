#include "rowcache/store.h"
#include "rowcache/url.h"
#include "store/mysql_store.h"
#include "store/sqlite_store.h"

namespace rowcache {

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
