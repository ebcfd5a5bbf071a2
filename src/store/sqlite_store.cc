// SqliteStore: one connection behind a mutex, WAL journal, prepared statements.
#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <mutex>

#include "store/sqlite_schema.h"

namespace rowcache {

namespace {

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, std::string table) : path_(std::move(path)), table_(std::move(table)) {}
  ~SqliteStore() override {
    for (auto* s : {&get_, &insert_, &update_, &delete_, &exists_, &load_skip_, &load_replace_})
      sqlite3_finalize(*s);
    if (db_) sqlite3_close(db_);
  }

  Status Open() {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      return Status::Unavailable("sqlite " + path_ + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
    }
    sqlite3_busy_timeout(db_, 5000);
    Status s = Exec("PRAGMA journal_mode=WAL");
    if (!s.ok()) return s;
    return Exec("PRAGMA synchronous=NORMAL");
  }

  Status EnsureSchema() override {
    std::lock_guard lock(mu_);
    // AUTOINCREMENT: ids are never reused, even after deletes, so a cached row
    // can never be mistaken for a newer row with the same id.
    std::string t = "\"" + table_ + "\"";
    return Exec("CREATE TABLE IF NOT EXISTS " + t +
                " (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " hero TEXT NOT NULL, power TEXT NOT NULL, name TEXT NOT NULL,"
                " xp INTEGER NOT NULL, color TEXT NOT NULL)");
  }

  Result<std::vector<Row>> Get(std::span<const int64_t> ids) override {
    std::vector<Row> rows;
    if (ids.empty()) return rows;
    // One statement for any number of ids: the id list is bound as one JSON array.
    std::string list = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) list += ',';
      list += std::to_string(ids[i]);
    }
    list += ']';
    std::lock_guard lock(mu_);
    Status s = Prepare(&get_, "SELECT id, hero, power, name, xp, color FROM \"" + table_ +
                                  "\" WHERE id IN (SELECT value FROM json_each(?1))");
    if (!s.ok()) return s;
    sqlite3_bind_text(get_, 1, list.data(), static_cast<int>(list.size()), SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(get_)) == SQLITE_ROW) rows.push_back(ReadRow(get_));
    sqlite3_reset(get_);
    sqlite3_clear_bindings(get_);
    if (rc != SQLITE_DONE) return Error("select");
    return rows;
  }

  // Get binds the ids as ONE text parameter (a JSON array read by json_each),
  // so the placeholder limit (SQLITE_LIMIT_VARIABLE_NUMBER: 32,766 by
  // default, 999 before 3.32, 250,000 in Debian's build) does not apply; the
  // text's length limit does: at most 12 bytes an id.
  size_t MaxIdsPerQuery() const override {
    return static_cast<size_t>(sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, -1)) / 12;
  }

  Result<std::vector<int64_t>> Insert(std::span<const Row> rows, const BeforeCommit& before_commit) override {
    std::vector<int64_t> ids;
    ids.reserve(rows.size());
    std::lock_guard lock(mu_);
    Status s = Prepare(&insert_, "INSERT INTO \"" + table_ +
                                     "\" (hero, power, name, xp, color) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s.ok()) return s;
    s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    for (const Row& r : rows) {
      BindFields(insert_, r, 1);
      int rc = sqlite3_step(insert_);
      sqlite3_reset(insert_);
      if (rc != SQLITE_DONE) {
        Status err = Error("insert");
        Exec("ROLLBACK");
        return err;
      }
      ids.push_back(sqlite3_last_insert_rowid(db_));
    }
    if (before_commit) before_commit(ids);
    s = Exec("COMMIT");
    if (!s.ok()) {
      Exec("ROLLBACK");
      return s;
    }
    return ids;
  }

  Status Update(std::span<const RowUpdate> updates) override {
    std::lock_guard lock(mu_);
    Status s =
        Prepare(&update_, "UPDATE \"" + table_ +
                              "\" SET hero = COALESCE(?1, hero), power = COALESCE(?2, power),"
                              " name = COALESCE(?3, name), xp = COALESCE(?4, xp), color = COALESCE(?5, color)"
                              " WHERE id = ?6");
    if (!s.ok()) return s;
    s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    for (const RowUpdate& u : updates) {
      auto text = [&](int i, const std::optional<std::string>& v) {
        if (v) {
          sqlite3_bind_text(update_, i, v->data(), static_cast<int>(v->size()), SQLITE_STATIC);
        } else {
          sqlite3_bind_null(update_, i);
        }
      };
      text(1, u.hero);
      text(2, u.power);
      text(3, u.name);
      if (u.xp) {
        sqlite3_bind_int64(update_, 4, *u.xp);
      } else {
        sqlite3_bind_null(update_, 4);
      }
      text(5, u.color);
      sqlite3_bind_int64(update_, 6, u.id);
      int rc = sqlite3_step(update_);
      int changes = sqlite3_changes(db_);
      sqlite3_reset(update_);
      if (rc != SQLITE_DONE) {
        Status err = Error("update");
        Exec("ROLLBACK");
        return err;
      }
      if (changes == 0) {
        Exec("ROLLBACK");
        return Status::NotFound("no row with id " + std::to_string(u.id));
      }
    }
    s = Exec("COMMIT");
    if (!s.ok()) Exec("ROLLBACK");
    return s;
  }

  Result<std::vector<int64_t>> Delete(std::span<const int64_t> ids) override {
    std::vector<int64_t> deleted;
    std::lock_guard lock(mu_);
    Status s = Prepare(&delete_, "DELETE FROM \"" + table_ + "\" WHERE id = ?1");
    if (!s.ok()) return s;
    s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    for (int64_t id : ids) {
      sqlite3_bind_int64(delete_, 1, id);
      int rc = sqlite3_step(delete_);
      int changes = sqlite3_changes(db_);
      sqlite3_reset(delete_);
      if (rc != SQLITE_DONE) {
        Status err = Error("delete");
        Exec("ROLLBACK");
        return err;
      }
      if (changes > 0) deleted.push_back(id);
    }
    s = Exec("COMMIT");
    if (!s.ok()) {
      Exec("ROLLBACK");
      return s;
    }
    return deleted;
  }

  Result<LoadResult> Load(std::span<const Row> rows, LoadMode mode) override {
    LoadResult res;
    std::lock_guard lock(mu_);
    std::string t = "\"" + table_ + "\"";
    Status s = Prepare(&exists_, "SELECT 1 FROM " + t + " WHERE id = ?1");
    if (s.ok()) {
      s = Prepare(&load_skip_, "INSERT INTO " + t +
                                   " (id, hero, power, name, xp, color) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                                   " ON CONFLICT(id) DO NOTHING");
    }
    if (s.ok()) {
      s = Prepare(&load_replace_,
                  "INSERT INTO " + t +
                      " (id, hero, power, name, xp, color) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                      " ON CONFLICT(id) DO UPDATE SET hero = excluded.hero, power = excluded.power,"
                      " name = excluded.name, xp = excluded.xp, color = excluded.color");
    }
    if (!s.ok()) return s;
    s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    for (const Row& r : rows) {
      bool existed = false;
      if (mode == LoadMode::kReplace) {
        sqlite3_bind_int64(exists_, 1, r.id);
        int rc = sqlite3_step(exists_);
        existed = rc == SQLITE_ROW;
        sqlite3_reset(exists_);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
          Status err = Error("load");
          Exec("ROLLBACK");
          return err;
        }
      }
      sqlite3_stmt* st = mode == LoadMode::kReplace ? load_replace_ : load_skip_;
      sqlite3_bind_int64(st, 1, r.id);
      BindFields(st, r, 2);
      int rc = sqlite3_step(st);
      int changes = sqlite3_changes(db_);
      sqlite3_reset(st);
      if (rc != SQLITE_DONE) {
        Status err = Error("load");
        Exec("ROLLBACK");
        return err;
      }
      if (mode == LoadMode::kReplace) {
        (existed ? res.replaced : res.inserted) += 1;
      } else {
        (changes > 0 ? res.inserted : res.skipped) += 1;
      }
    }
    s = Exec("COMMIT");
    if (!s.ok()) {
      Exec("ROLLBACK");
      return s;
    }
    return res;
  }

  Result<TableSchema> DescribeTable(std::string_view table) override {
    std::lock_guard lock(mu_);
    return DescribeSqliteTable(db_, table);
  }

  Status Ping() override {
    std::lock_guard lock(mu_);
    return Exec("SELECT 1");
  }

  std::string Describe() const override { return "sqlite:" + path_ + " table=" + table_; }
  std::string TableName() const override { return table_; }

 private:
  Status Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      return Status::Unavailable("sqlite " + path_ + ": " + msg);
    }
    return Status::OK();
  }

  Status Prepare(sqlite3_stmt** st, const std::string& sql) {
    if (*st) return Status::OK();
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, st, nullptr) != SQLITE_OK) {
      return Error("prepare");
    }
    return Status::OK();
  }

  Status Error(const char* what) {
    int rc = sqlite3_errcode(db_);
    std::string msg = "sqlite " + path_ + ": " + what + ": " + sqlite3_errmsg(db_);
    if (rc == SQLITE_CONSTRAINT || rc == SQLITE_MISMATCH || rc == SQLITE_TOOBIG) {
      return Status::InvalidArgument(msg);
    }
    return Status::Unavailable(msg);
  }

  static void BindFields(sqlite3_stmt* st, const Row& r, int first) {
    sqlite3_bind_text(st, first, r.hero.data(), static_cast<int>(r.hero.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, first + 1, r.power.data(), static_cast<int>(r.power.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, first + 2, r.name.data(), static_cast<int>(r.name.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, first + 3, r.xp);
    sqlite3_bind_text(st, first + 4, r.color.data(), static_cast<int>(r.color.size()), SQLITE_STATIC);
  }

  static std::string Text(sqlite3_stmt* st, int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, col))) : std::string();
  }

  static Row ReadRow(sqlite3_stmt* st) {
    Row r;
    r.id = sqlite3_column_int64(st, 0);
    r.hero = Text(st, 1);
    r.power = Text(st, 2);
    r.name = Text(st, 3);
    r.xp = sqlite3_column_int64(st, 4);
    r.color = Text(st, 5);
    return r;
  }

  const std::string path_;
  const std::string table_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  sqlite3_stmt* exists_ = nullptr;
  sqlite3_stmt* load_skip_ = nullptr;
  sqlite3_stmt* load_replace_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Store>> NewSqliteStore(const std::string& path, const std::string& table,
                                              const StoreOptions& opts) {
  auto store = std::make_unique<SqliteStore>(path, table);
  Status s = store->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace rowcache
