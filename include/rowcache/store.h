// Store: the relational table behind the cache.
//
// Implementations: SqliteStore ("sqlite:PATH", embedded, the default) and
// MysqlStore ("mysql://user:pass@host:port/db?table=heroes", MariaDB
// Connector/C). Chosen by OpenStore(url).
//
// Contract:
// - All methods are safe to call from many threads at once (implementations
//   pool or serialise connections internally).
// - A backend that cannot be reached, drops the connection or times out
//   answers Status::Unavailable; the next call tries to reconnect. For a
//   write, Unavailable or Internal may mean the outcome is unknown (the
//   connection was lost after COMMIT was sent): the caller must treat the
//   write as possibly committed.
// - Values are bound as parameters, never spliced into SQL text.
// - Callers validate rows (lengths, ranges) before calling; a store may still
//   reject a value with InvalidArgument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rowcache/credentials.h"
#include "rowcache/row.h"
#include "rowcache/schema.h"
#include "rowcache/status.h"

namespace rowcache {

enum class LoadMode {
  kSkipExisting,  // INSERT IGNORE semantics: an id already present keeps its row
  kReplace,       // an id already present is overwritten
};

// A partial update of one row: fields left empty keep their value.
struct RowUpdate {
  int64_t id = 0;
  std::optional<std::string> hero, power, name, color;
  std::optional<int64_t> xp;
  bool operator==(const RowUpdate&) const = default;
};

struct LoadResult {
  int64_t inserted = 0;  // new ids
  int64_t replaced = 0;  // existing ids overwritten (kReplace)
  int64_t skipped = 0;   // existing ids left alone (kSkipExisting)
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates the table if it does not exist. Idempotent.
  virtual Status EnsureSchema() = 0;

  // Rows for the given ids (callers pass distinct ids, at most
  // MaxIdsPerQuery() of them) in ONE query. Ids with no row are simply absent
  // from the result; order is unspecified.
  virtual Result<std::vector<Row>> Get(std::span<const int64_t> ids) = 0;

  // The most ids one Get binds: its statement's placeholder limit (the
  // service splits larger reads into several Gets).
  virtual size_t MaxIdsPerQuery() const { return 1000; }

  // The most rows or ids one call to Insert, Update or Delete accepts (one
  // transaction: it cannot be split), and hence the largest --max-batch;
  // serve and the Lambda runtime refuse to start with a larger one.
  // Default: no limit (the built-in stores run one statement per row).
  virtual size_t MaxBatch() const { return SIZE_MAX; }

  // Inserts rows (their id fields are ignored) in the given order in ONE
  // transaction: all or nothing. Returns the ids the database assigned, in
  // the same order. before_commit, if set, is called with those ids after
  // the rows are inserted and before COMMIT (while no other transaction can
  // see or change them): the service takes its cache leases there.
  using BeforeCommit = std::function<void(std::span<const int64_t> ids)>;
  virtual Result<std::vector<int64_t>> Insert(std::span<const Row> rows,
                                              const BeforeCommit& before_commit = {}) = 0;

  // Applies the updates in order in ONE transaction. If any id has no row,
  // nothing changes and the result is NotFound naming the first such id.
  virtual Status Update(std::span<const RowUpdate> updates) = 0;

  // Deletes the rows in ONE transaction; returns the ids that had a row (in
  // the order given). Deleting a missing id is not an error.
  virtual Result<std::vector<int64_t>> Delete(std::span<const int64_t> ids) = 0;

  // Bulk load with explicit ids (the CSV loader), in one transaction per call.
  virtual Result<LoadResult> Load(std::span<const Row> rows, LoadMode mode) = 0;

  // The schema of table as the database describes it (information_schema on
  // MySQL/MariaDB/Aurora, the table's pragmas on SQLite): columns in table
  // order, the primary key (empty when there is none), the cascade flags;
  // see store/mysql_schema.h and store/sqlite_schema.h for what each field
  // is read from. Any table of the store's database, not only the one the
  // store serves. Not fingerprinted (Fingerprint() is the caller's), not
  // checked (CheckServable is the caller's). NotFound "table T does not
  // exist"; InvalidArgument for an invalid name or a column type rowcache
  // cannot represent, naming table and column; Unavailable as for any call.
  virtual Result<TableSchema> DescribeTable(std::string_view table) = 0;

  // The table this store serves (the URL's ?table=, default heroes).
  virtual std::string TableName() const = 0;

  // Cheap liveness check (SELECT 1 / reconnect).
  virtual Status Ping() = 0;

  // "mysql://rowcache@127.0.0.1:3306/rowcache table=heroes" (no password).
  virtual std::string Describe() const = 0;
};

struct StoreOptions {
  // Seconds for connect/read/write on network stores. Default: 5.
  int timeout_seconds = 5;
  // Most connections a network store keeps open. Default: 16.
  int max_connections = 16;
  // Called by a network store when the server refuses its credentials while
  // it opens a connection (MySQL error 1045, access denied: e.g. a password
  // rotated in Secrets Manager). It returns the current credentials, or
  // nullopt if they cannot be had. If they differ from the store's, the store
  // keeps them and tries that connection once more with them; otherwise the
  // connection fails as before (and the next one calls this again). Unset:
  // no second try. May be called from any thread that opens a connection.
  std::function<std::optional<Credentials>()> refresh_credentials;
};

// The schema of the table store serves, read from the database and checked
// at start: InvalidArgument with one line naming table and column when
// rowcache cannot serve it (CheckServable; allow_cascade_children lets the
// child of an ON UPDATE/DELETE CASCADE foreign key through), or -- until
// the service serves any table -- when its columns are not heroes' (id,
// hero, power, name, xp, color: integers and strings in that order; on
// SQLite any string type). NotFound if the table does not exist.
Result<TableSchema> ServedTableSchema(Store& store, bool allow_cascade_children = false);

// "sqlite:PATH" | "sqlite::memory:" | "mysql://user:pass@host:port/db[?table=T]".
// Opens (and for mysql, connects lazily). InvalidArgument for a bad URL.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const StoreOptions& opts = {});

}  // namespace rowcache
