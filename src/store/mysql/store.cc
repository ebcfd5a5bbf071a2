// MysqlStore: MySQL / MariaDB / Aurora MySQL through MariaDB Connector/C.
//
// A pool of connections, each with its own prepared statements. Every value is
// a bound parameter; only the (validated) table name is part of the SQL text.
// Connection-level failures discard the connection; a read is retried once on
// a fresh one, a transaction only if it failed before anything was sent.
//
// Authentication: mysql_native_password is built into the library;
// caching_sha2_password (MySQL 8 / Aurora v3 default) is a plugin loaded from
// the library's plugin directory (libmariadb3 ships it), or from
// ?plugin_dir=PATH. Only the plugins that cannot hand the password to
// whoever answers are permitted (MARIADB_OPT_RESTRICTED_AUTH, see
// AllowedAuthPlugins): a server or anyone in the path cannot switch the
// login to one that sends it.
//
// TLS: ?ssl-mode=DISABLED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY (see TlsMode
// below for what MariaDB Connector/C 3.3 does with each).
//
// LOAD DATA LOCAL INFILE: only the bulk loader's own connection announces
// local-infile support, and it lets the client answer a file request only
// while its own LOAD DATA statement runs, through a handler that serves the
// batch from memory under the one name it asked for and refuses any other.
// Every other connection has it off: a server asking for a file gets nothing.
#include "store/mysql/store.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <span>

#include "net/transport.h"
#include "store/mysql/errors.h"
#include "store/mysql/local_infile.h"
#include "store/mysql/schema.h"
#include "store/mysql/tls.h"

namespace rowcache {

namespace {

// Get: placeholders are rounded up to a power of two, up to this, so a few
// prepared statements per connection serve every read; larger reads are split
// by the service (MaxIdsPerQuery). The protocol allows 65,535 placeholders.
constexpr size_t kMaxStatementIds = 4096;
constexpr size_t kLoadChunk = 500;       // rows per multi-row statement in Load
constexpr size_t kLoadDataMinRows = 64;  // batches from this size go through LOAD DATA LOCAL INFILE

struct Conn {
  MYSQL* m = nullptr;
  InfileState infile;
  std::map<size_t, MYSQL_STMT*> get;  // by placeholder count
  MYSQL_STMT* insert = nullptr;
  MYSQL_STMT* update = nullptr;
  MYSQL_STMT* del = nullptr;
  bool broken = false;

  ~Conn() {
    for (auto& [n, s] : get) mysql_stmt_close(s);
    for (MYSQL_STMT* s : {insert, update, del}) {
      if (s) mysql_stmt_close(s);
    }
    if (m) mysql_close(m);
  }
};

// "Records: 3  Deleted: 1  Skipped: 0  Warnings: 0" -> the number after key.
int64_t InfoField(const char* info, const char* key) {
  if (!info) return 0;
  const char* p = std::strstr(info, key);
  return p ? std::strtoll(p + std::strlen(key), nullptr, 10) : 0;
}

// Binds a string as a parameter (the buffer must outlive the execute).
void BindText(MYSQL_BIND& b, const std::string& s) {
  std::memset(&b, 0, sizeof b);
  b.buffer_type = MYSQL_TYPE_STRING;
  b.buffer = const_cast<char*>(s.data());
  b.buffer_length = s.size();
}

void BindInt(MYSQL_BIND& b, const long long* v) {
  std::memset(&b, 0, sizeof b);
  b.buffer_type = MYSQL_TYPE_LONGLONG;
  b.buffer = const_cast<long long*>(v);
}

void BindNull(MYSQL_BIND& b) {
  std::memset(&b, 0, sizeof b);
  b.buffer_type = MYSQL_TYPE_NULL;
}

class MysqlStore final : public Store {
 public:
  MysqlStore(Url url, std::string table, StoreOptions opts, MysqlTls tls)
      : url_(std::move(url)),
        table_(std::move(table)),
        opts_(std::move(opts)),
        tls_(std::move(tls)),
        auth_plugins_(AllowedAuthPlugins(tls_)) {
    if (!url_.port) url_.port = 3306;
    describe_ = "mysql://" + (url_.user.empty() ? "" : url_.user + "@") + url_.host + ":" +
                std::to_string(url_.port) + "/" + url_.path + " table=" + table_;
    if (tls_.mode != TlsMode::kDisabled) describe_ += std::string(" ssl-mode=") + TlsModeName(tls_.mode);
    where_ = "mysql " + url_.host + ":" + std::to_string(url_.port);
    // ?local_infile=0: bulk loads use multi-row INSERTs, never LOAD DATA LOCAL;
    // ?local_infile=1: always LOAD DATA LOCAL, an error rather than the switch
    // to INSERTs when the server refuses it.
    if (auto it = url_.query.find("local_infile"); it != url_.query.end()) {
      if (it->second == "0") local_infile_refused_ = true;
      if (it->second == "1") local_infile_required_ = true;
    }
  }

  ~MysqlStore() override = default;

  Status EnsureSchema() override {
    return WithConn(/*retry=*/true, [&](Conn& c) {
      return Query(c, "CREATE TABLE IF NOT EXISTS `" + table_ +
                          "` (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
                          " hero VARCHAR(20) NOT NULL, power VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL,"
                          " xp INT NOT NULL, color VARCHAR(20) NOT NULL)"
                          " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    });
  }

  Result<std::vector<Row>> Get(std::span<const int64_t> ids) override {
    std::vector<Row> rows;
    if (ids.empty()) return rows;
    Status s = WithConn(/*retry=*/true, [&](Conn& c) {
      rows.clear();
      return GetOn(c, ids, &rows);
    });
    if (!s.ok()) return s;
    return rows;
  }

  size_t MaxIdsPerQuery() const override { return kMaxStatementIds; }

  Result<std::vector<int64_t>> Insert(std::span<const Row> rows, const BeforeCommit& before_commit) override {
    std::vector<int64_t> ids;
    Status s = Transaction(/*loader=*/false, [&](Conn& c) -> Status {
      ids.clear();
      Status p = Prepare(
          c, &c.insert, "INSERT INTO `" + table_ + "` (hero, power, name, xp, color) VALUES (?, ?, ?, ?, ?)");
      if (!p.ok()) return p;
      // One statement per row: with innodb_autoinc_lock_mode=2 (the MySQL 8 /
      // Aurora v3 default) the ids of a multi-row INSERT need not be
      // consecutive, so they could not be reported in order.
      for (const Row& r : rows) {
        long long xp = r.xp;
        MYSQL_BIND b[5];
        BindText(b[0], r.hero);
        BindText(b[1], r.power);
        BindText(b[2], r.name);
        BindInt(b[3], &xp);
        BindText(b[4], r.color);
        if (mysql_stmt_bind_param(c.insert, b) || mysql_stmt_execute(c.insert)) return StmtError(c, c.insert);
        ids.push_back(static_cast<int64_t>(mysql_stmt_insert_id(c.insert)));
      }
      if (before_commit) before_commit(ids);
      return Status::OK();
    });
    if (!s.ok()) return s;
    return ids;
  }

  Status Update(std::span<const RowUpdate> updates) override {
    return Transaction(/*loader=*/false, [&](Conn& c) -> Status {
      Status p =
          Prepare(c, &c.update,
                  "UPDATE `" + table_ +
                      "` SET hero = COALESCE(?, hero), power = COALESCE(?, power), name = COALESCE(?, name),"
                      " xp = COALESCE(?, xp), color = COALESCE(?, color) WHERE id = ?");
      if (!p.ok()) return p;
      for (const RowUpdate& u : updates) {
        MYSQL_BIND b[6];
        long long xp = u.xp.value_or(0), id = u.id;
        auto text = [&](MYSQL_BIND& bind, const std::optional<std::string>& v) {
          if (v) {
            BindText(bind, *v);
          } else {
            BindNull(bind);
          }
        };
        text(b[0], u.hero);
        text(b[1], u.power);
        text(b[2], u.name);
        if (u.xp) {
          BindInt(b[3], &xp);
        } else {
          BindNull(b[3]);
        }
        text(b[4], u.color);
        BindInt(b[5], &id);
        if (mysql_stmt_bind_param(c.update, b) || mysql_stmt_execute(c.update)) return StmtError(c, c.update);
        // CLIENT_FOUND_ROWS: affected rows count matched rows, changed or not.
        if (mysql_stmt_affected_rows(c.update) == 0)
          return Status::NotFound("no row with id " + std::to_string(u.id));
      }
      return Status::OK();
    });
  }

  Result<std::vector<int64_t>> Delete(std::span<const int64_t> ids) override {
    std::vector<int64_t> deleted;
    Status s = Transaction(/*loader=*/false, [&](Conn& c) -> Status {
      deleted.clear();
      Status p = Prepare(c, &c.del, "DELETE FROM `" + table_ + "` WHERE id = ?");
      if (!p.ok()) return p;
      for (int64_t id : ids) {
        long long v = id;
        MYSQL_BIND b[1];
        BindInt(b[0], &v);
        if (mysql_stmt_bind_param(c.del, b) || mysql_stmt_execute(c.del)) return StmtError(c, c.del);
        if (mysql_stmt_affected_rows(c.del) > 0) deleted.push_back(id);
      }
      return Status::OK();
    });
    if (!s.ok()) return s;
    return deleted;
  }

  Result<LoadResult> Load(std::span<const Row> rows, LoadMode mode) override {
    if (rows.size() >= kLoadDataMinRows && !local_infile_refused_.load()) {
      auto r = LoadData(rows, mode);
      if (r.ok() || !r.status().IsInvalidArgument()) return r;
      if (local_infile_required_) return Status::Unavailable(r.status().message());
      // The server refuses LOAD DATA LOCAL (local_infile off): remember, and
      // use multi-row INSERTs from now on.
      local_infile_refused_ = true;
    }
    return LoadInsert(rows, mode);
  }

  // The bulk path: one LOAD DATA LOCAL INFILE ... IGNORE|REPLACE statement
  // for the whole batch, in a transaction. The counts come from mysql_info().
  // InvalidArgument when the server does not allow LOAD DATA LOCAL.
  Result<LoadResult> LoadData(std::span<const Row> rows, LoadMode mode) {
    InfileBuffer buf;
    buf.rows = rows;
    std::string sql = "LOAD DATA LOCAL INFILE 'rowcache-batch' ";
    sql += mode == LoadMode::kReplace ? "REPLACE" : "IGNORE";
    sql += " INTO TABLE `" + table_ +
           "` CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
           "LINES TERMINATED BY '\\n' (id, hero, power, name, xp, color)";
    LoadResult res;
    bool refused = false;
    Status s = Transaction(/*loader=*/true, [&](Conn& c) -> Status {
      buf.next = 0;
      buf.pos = 0;
      buf.pending.clear();
      // Answerable only for this statement, and only with this batch.
      c.infile.active = &buf;
      SetLocalInfile(c.m, true);
      int rc = mysql_real_query(c.m, sql.data(), sql.size());
      SetLocalInfile(c.m, false);
      c.infile.active = nullptr;
      if (rc != 0) {
        unsigned err = mysql_errno(c.m);
        // 1148 ER_NOT_ALLOWED_COMMAND, 3948 local infile disabled (MySQL 8),
        // 4166 (MariaDB 10.6+) / 2068 (client) likewise.
        if (err == 1148 || err == 3948 || err == 4166 || err == 2068) refused = true;
        return ConnError(c);
      }
      const char* info = mysql_info(c.m);
      int64_t records = InfoField(info, "Records:");
      int64_t deleted = InfoField(info, "Deleted:");
      int64_t skipped = InfoField(info, "Skipped:");
      if (MYSQL_RES* r = mysql_store_result(c.m)) mysql_free_result(r);
      if (records != static_cast<int64_t>(rows.size())) {
        return Status::Internal(where_ + ": LOAD DATA read " + std::to_string(records) + " of " +
                                std::to_string(rows.size()) + " rows");
      }
      res.replaced = mode == LoadMode::kReplace ? deleted : 0;
      res.skipped = mode == LoadMode::kReplace ? 0 : skipped;
      res.inserted = records - res.replaced - res.skipped;
      return Status::OK();
    });
    if (refused) return Status::InvalidArgument(s.message());
    if (!s.ok()) return s;
    return res;
  }

  // The portable path: multi-row INSERTs of kLoadChunk rows, after a locking
  // read of which ids exist.
  Result<LoadResult> LoadInsert(std::span<const Row> rows, LoadMode mode) {
    LoadResult res;
    Status s = Transaction(/*loader=*/false, [&](Conn& c) -> Status {
      res = LoadResult{};
      for (size_t off = 0; off < rows.size(); off += kLoadChunk) {
        auto chunk = rows.subspan(off, std::min(kLoadChunk, rows.size() - off));
        // Which ids exist already (locked until the commit).
        std::vector<int64_t> ids;
        for (const Row& r : chunk) ids.push_back(r.id);
        std::vector<Row> existing_rows;
        Status g = GetOn(c, ids, &existing_rows, /*for_update=*/true);
        if (!g.ok()) return g;
        std::vector<bool> exists(chunk.size(), false);
        for (const Row& e : existing_rows) {
          for (size_t i = 0; i < chunk.size(); ++i) {
            if (chunk[i].id == e.id) exists[i] = true;
          }
        }
        std::vector<const Row*> todo;
        for (size_t i = 0; i < chunk.size(); ++i) {
          if (exists[i] && mode == LoadMode::kSkipExisting) {
            ++res.skipped;
            continue;
          }
          (exists[i] ? res.replaced : res.inserted) += 1;
          todo.push_back(&chunk[i]);
        }
        if (todo.empty()) continue;
        std::string sql = "INSERT INTO `" + table_ + "` (id, hero, power, name, xp, color) VALUES ";
        for (size_t i = 0; i < todo.size(); ++i) sql += i ? ", (?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?)";
        if (mode == LoadMode::kReplace) {
          sql +=
              " ON DUPLICATE KEY UPDATE hero = VALUES(hero), power = VALUES(power), name = VALUES(name),"
              " xp = VALUES(xp), color = VALUES(color)";
        }
        MYSQL_STMT* st = nullptr;
        Status p = Prepare(c, &st, sql);
        if (!p.ok()) return p;
        std::vector<MYSQL_BIND> b(todo.size() * 6);
        std::vector<long long> nums(todo.size() * 2);
        for (size_t i = 0; i < todo.size(); ++i) {
          nums[2 * i] = todo[i]->id;
          nums[2 * i + 1] = todo[i]->xp;
          BindInt(b[6 * i], &nums[2 * i]);
          BindText(b[6 * i + 1], todo[i]->hero);
          BindText(b[6 * i + 2], todo[i]->power);
          BindText(b[6 * i + 3], todo[i]->name);
          BindInt(b[6 * i + 4], &nums[2 * i + 1]);
          BindText(b[6 * i + 5], todo[i]->color);
        }
        Status e;
        if (mysql_stmt_bind_param(st, b.data()) || mysql_stmt_execute(st)) e = StmtError(c, st);
        mysql_stmt_close(st);
        if (!e.ok()) return e;
      }
      return Status::OK();
    });
    if (!s.ok()) return s;
    return res;
  }

  Result<TableSchema> DescribeTable(std::string_view table) override {
    Result<TableSchema> schema = Status::Internal("not described");
    Status s = WithConn(/*retry=*/true, [&](Conn& c) -> Status {
      schema = DescribeMysqlTable(c.m, table);
      if (schema.status().IsUnavailable()) c.broken = true;
      return schema.status();
    });
    if (!s.ok()) return s;
    return schema;
  }

  Status Ping() override {
    return WithConn(/*retry=*/true, [&](Conn& c) -> Status {
      if (mysql_ping(c.m) != 0) return ConnError(c);
      return Status::OK();
    });
  }

  std::string Describe() const override { return describe_; }
  std::string TableName() const override { return table_; }

  // One statement on a pooled connection; mysql_info() (or "") on success.
  Result<std::string> ExecuteRaw(const std::string& sql) {
    std::string info;
    Status s = WithConn(/*retry=*/false, [&](Conn& c) -> Status {
      if (mysql_real_query(c.m, sql.data(), sql.size()) != 0) return ConnError(c);
      if (const char* i = mysql_info(c.m)) info = i;
      if (MYSQL_RES* r = mysql_store_result(c.m)) mysql_free_result(r);
      return Status::OK();
    });
    if (!s.ok()) return s;
    return info;
  }

 private:
  // Connection pool ---------------------------------------------------------

  // loader: the bulk loader's own connection (local infile announced), kept
  // apart from the pool; one is kept idle between batches.
  Result<std::unique_ptr<Conn>> Acquire(bool loader = false) {
    if (loader) {
      {
        std::lock_guard l(mu_);
        if (loader_idle_) return std::move(loader_idle_);
      }
      return ConnectRefreshing(/*loader=*/true);
    }
    {
      std::unique_lock l(mu_);
      bool ok = cv_.wait_for(l, std::chrono::seconds(opts_.timeout_seconds),
                             [&] { return !idle_.empty() || open_ < opts_.max_connections; });
      if (!ok)
        return Status::Unavailable(where_ + ": all " + std::to_string(opts_.max_connections) +
                                   " connections busy");
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
      ++open_;
    }
    auto c = ConnectRefreshing();
    if (!c.ok()) {
      std::lock_guard l(mu_);
      --open_;
      cv_.notify_one();
    }
    return c;
  }

  void Release(std::unique_ptr<Conn> c, bool loader = false) {
    std::vector<std::unique_ptr<Conn>> dropped;  // closed after the lock is released
    if (loader) {
      std::lock_guard l(mu_);
      if (!c->broken && !loader_idle_) loader_idle_ = std::move(c);
      dropped.push_back(std::move(c));
      return;
    }
    {
      std::lock_guard l(mu_);
      if (c->broken) {
        --open_;
        dropped.push_back(std::move(c));
        // One dropped connection usually means the others idle beside it were
        // dropped too (a server restart, a failover, a Lambda environment
        // frozen past the server's wait_timeout): let the retry open a new
        // one instead of drawing another dead one.
        open_ -= static_cast<int>(idle_.size());
        for (auto& i : idle_) dropped.push_back(std::move(i));
        idle_.clear();
      } else {
        idle_.push_back(std::move(c));
      }
      cv_.notify_all();
    }
  }

  // Connect(), and once more if the server refused the credentials
  // (ER_ACCESS_DENIED_ERROR) and opts_.refresh_credentials hands over other
  // ones (a rotated password): only the connection that saw the refusal waits
  // for them, and they are kept for the connections after it.
  Result<std::unique_ptr<Conn>> ConnectRefreshing(bool loader = false) {
    Credentials used;
    bool denied = false;
    auto c = Connect(loader, &denied, &used);
    if (c.ok() || !denied || !opts_.refresh_credentials) return c;
    std::optional<Credentials> fresh = opts_.refresh_credentials();
    if (!fresh) return c;
    if (fresh->user.empty()) fresh->user = used.user;
    if (fresh->user == used.user && fresh->password == used.password) return c;  // the refused ones again
    {
      std::lock_guard l(cred_mu_);
      url_.user = fresh->user;
      url_.password = fresh->password;
    }
    return Connect(loader);
  }

  // access_denied (if set): whether the server refused the credentials; used
  // (if set): the credentials tried.
  Result<std::unique_ptr<Conn>> Connect(bool loader = false, bool* access_denied = nullptr,
                                        Credentials* used = nullptr) {
    auto c = std::make_unique<Conn>();
    c->m = mysql_init(nullptr);
    if (!c->m) return Status::Internal(where_ + ": out of memory");
    unsigned timeout = static_cast<unsigned>(opts_.timeout_seconds);
    mysql_options(c->m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(c->m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_options(c->m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_options(c->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    // Local infile: announced (CLIENT_LOCAL_FILES, without which the server
    // refuses LOAD DATA LOCAL) only by the loader's connection, and answered
    // only while its LOAD DATA runs; on every connection the handler is ours,
    // which never opens a file.
    SetLocalInfile(c->m, loader);
    mysql_set_local_infile_handler(c->m, InfileInit, InfileRead, InfileEnd, InfileError, &c->infile);
    if (auto it = url_.query.find("plugin_dir"); it != url_.query.end()) {
      mysql_options(c->m, MYSQL_PLUGIN_DIR, it->second.c_str());
    }
    mysql_optionsv(c->m, MARIADB_OPT_RESTRICTED_AUTH, auth_plugins_.c_str());
    if (!tls_.server_public_key.empty()) {
      mysql_optionsv(c->m, MYSQL_SERVER_PUBLIC_KEY, tls_.server_public_key.c_str());
    }
    if (tls_.cleartext) {
      my_bool on = 1;
      mysql_optionsv(c->m, MYSQL_ENABLE_CLEARTEXT_PLUGIN, &on);
    }
    if (tls_.mode != TlsMode::kDisabled) {
      my_bool enforce = 1;
      mysql_optionsv(c->m, MYSQL_OPT_SSL_ENFORCE, &enforce);
      if (!tls_.ca_file.empty()) mysql_optionsv(c->m, MYSQL_OPT_SSL_CA, tls_.ca_file.c_str());
      if (!tls_.ca_dir.empty()) mysql_optionsv(c->m, MYSQL_OPT_SSL_CAPATH, tls_.ca_dir.c_str());
      my_bool verify = tls_.mode == TlsMode::kVerifyIdentity;
      mysql_optionsv(c->m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    std::string host = url_.host.empty() ? "127.0.0.1" : url_.host;
    Credentials creds;
    {
      std::lock_guard l(cred_mu_);
      creds = {url_.user, url_.password};
    }
    if (used) *used = creds;
    if (!mysql_real_connect(c->m, host.c_str(), creds.user.c_str(), creds.password.c_str(), url_.path.c_str(),
                            static_cast<unsigned>(url_.port), nullptr, CLIENT_FOUND_ROWS)) {
      if (access_denied) *access_denied = mysql_errno(c->m) == ER_ACCESS_DENIED_ERROR;
      if (mysql_errno(c->m) == CR_PLUGIN_NOT_ALLOWED) {
        // (Connector/C 3.3.20's own message misnames the plugin.)
        return Status::Unavailable(
            where_ +
            ": the server asked for an authentication method not permitted on this "
            "connection, which could send the password to whoever answers (permitted: " +
            auth_plugins_ +
            "; caching_sha2_password needs ssl-mode=VERIFY_IDENTITY or server-public-key=FILE, "
            "mysql_clear_password also enable-cleartext-plugin=1)");
      }
      // Wrong credentials or database are configuration errors, not outages,
      // but both mean the database cannot serve: 503 either way.
      return Status::Unavailable(where_ + ": " + mysql_error(c->m));
    }
    if (tls_.mode != TlsMode::kDisabled && mysql_get_ssl_cipher(c->m) == nullptr) {
      // Connector/C 3.3 falls back to plain text when the server offers no
      // TLS (unless it verifies the host name); nothing is sent on it.
      return Status::Unavailable(where_ + ": the server did not use TLS (ssl-mode=" + TlsModeName(tls_.mode) +
                                 ")");
    }
    if (loader) SetLocalInfile(c->m, false);  // until our own LOAD DATA statement
    Status s =
        Query(*c, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'");
    if (!s.ok()) return s;
    return c;
  }

  // Runs fn on a pooled connection. With retry, a connection-level failure is
  // retried once on a fresh connection (a stale pooled connection is the
  // usual cause).
  template <class F>
  Status WithConn(bool retry, F&& fn) {
    for (int attempt = 0;; ++attempt) {
      auto c = Acquire();
      if (!c.ok()) return c.status();
      Status s = fn(**c);
      bool broken = (*c)->broken;
      Release(std::move(c.value()));
      if (s.ok() || !broken || !retry || attempt > 0) return s;
    }
  }

  // START TRANSACTION; fn; COMMIT -- or ROLLBACK on any failure. Retried on a
  // fresh connection only if START TRANSACTION itself failed on a dead
  // connection (then nothing was sent that could have committed).
  // On the loader's own connection when loader is set.
  template <class F>
  Status Transaction(bool loader, F&& fn) {
    for (int attempt = 0;; ++attempt) {
      auto c = Acquire(loader);
      if (!c.ok()) return c.status();
      Conn& conn = **c;
      Status s = Query(conn, "START TRANSACTION");
      if (!s.ok()) {
        bool broken = conn.broken;
        Release(std::move(c.value()), loader);
        if (broken && attempt == 0) continue;
        return s;
      }
      s = fn(conn);
      if (s.ok()) {
        s = Query(conn, "COMMIT");
      }
      if (!s.ok() && !conn.broken) {
        Query(conn, "ROLLBACK");
      }
      Release(std::move(c.value()), loader);
      return s;
    }
  }

  // Helpers -------------------------------------------------------------------

  Status Query(Conn& c, const std::string& sql) {
    if (mysql_real_query(c.m, sql.data(), sql.size()) != 0) return ConnError(c);
    if (MYSQL_RES* r = mysql_store_result(c.m)) mysql_free_result(r);
    return Status::OK();
  }

  Status Classify(Conn& c, unsigned err, const std::string& msg) {
    switch (ClassOf(err)) {
      case MysqlErrorClass::kConnection:
        c.broken = true;
        return Status::Unavailable(where_ + ": " + msg);
      case MysqlErrorClass::kData:
        // The client's data: an answer naming the field, without the server's
        // address or the schema (the server's message may name both).
        return Status::InvalidArgument(DataErrorMessage(err, msg));
      case MysqlErrorClass::kTransient:
        return Status::Unavailable(where_ + ": " + msg);
      case MysqlErrorClass::kOther:
        break;
    }
    return Status::Internal(where_ + ": " + msg);
  }

  Status ConnError(Conn& c) { return Classify(c, mysql_errno(c.m), mysql_error(c.m)); }

  Status StmtError(Conn& c, MYSQL_STMT* st) {
    return Classify(c, mysql_stmt_errno(st), mysql_stmt_error(st));
  }

  Status Prepare(Conn& c, MYSQL_STMT** st, const std::string& sql) {
    if (*st) return Status::OK();
    *st = mysql_stmt_init(c.m);
    if (!*st) return ConnError(c);
    if (mysql_stmt_prepare(*st, sql.data(), sql.size()) != 0) {
      Status s = StmtError(c, *st);
      mysql_stmt_close(*st);
      *st = nullptr;
      return s;
    }
    return Status::OK();
  }

  Status GetOn(Conn& c, std::span<const int64_t> ids, std::vector<Row>* out, bool for_update = false) {
    size_t n = 1;
    while (n < ids.size()) n <<= 1;
    if (n > kMaxStatementIds) n = ids.size();
    bool cached = n <= kMaxStatementIds && !for_update;
    MYSQL_STMT* st = nullptr;
    if (cached) {
      if (auto it = c.get.find(n); it != c.get.end()) st = it->second;
    }
    std::string sql = "SELECT id, hero, power, name, xp, color FROM `" + table_ + "` WHERE id IN (";
    for (size_t i = 0; i < n; ++i) sql += i ? ", ?" : "?";
    sql += for_update ? ") FOR UPDATE" : ")";
    Status p = Prepare(c, &st, sql);
    if (!p.ok()) return p;
    if (cached) c.get[n] = st;
    // Unused placeholders repeat the last id.
    std::vector<long long> vals(n);
    std::vector<MYSQL_BIND> b(n);
    for (size_t i = 0; i < n; ++i) {
      vals[i] = ids[std::min(i, ids.size() - 1)];
      BindInt(b[i], &vals[i]);
    }
    Status s = Fetch(c, st, b.data(), out);
    if (!cached) mysql_stmt_close(st);
    return s;
  }

  Status Fetch(Conn& c, MYSQL_STMT* st, MYSQL_BIND* params, std::vector<Row>* out) {
    if (mysql_stmt_bind_param(st, params) || mysql_stmt_execute(st)) return StmtError(c, st);
    long long id = 0, xp = 0;
    char text[4][256];
    unsigned long len[6] = {};
    my_bool is_null[6] = {}, error[6] = {};
    MYSQL_BIND r[6];
    std::memset(r, 0, sizeof r);
    r[0].buffer_type = MYSQL_TYPE_LONGLONG;
    r[0].buffer = &id;
    r[4].buffer_type = MYSQL_TYPE_LONGLONG;
    r[4].buffer = &xp;
    int t = 0;
    for (int col : {1, 2, 3, 5}) {
      r[col].buffer_type = MYSQL_TYPE_STRING;
      r[col].buffer = text[t++];
      r[col].buffer_length = sizeof text[0];
    }
    for (int i = 0; i < 6; ++i) {
      r[i].length = &len[i];
      r[i].is_null = &is_null[i];
      r[i].error = &error[i];
    }
    if (mysql_stmt_bind_result(st, r)) {
      Status s = StmtError(c, st);
      mysql_stmt_free_result(st);
      return s;
    }
    Status s;
    for (;;) {
      int rc = mysql_stmt_fetch(st);
      if (rc == MYSQL_NO_DATA) break;
      if (rc == 1) {
        s = StmtError(c, st);
        break;
      }
      Row row;
      row.id = id;
      row.xp = xp;
      std::string* dst[4] = {&row.hero, &row.power, &row.name, &row.color};
      t = 0;
      for (int col : {1, 2, 3, 5}) {
        std::string& d = *dst[t];
        if (len[col] <= sizeof text[0]) {
          d.assign(text[t], len[col]);
        } else {  // longer than the buffer (a wider column than ours): fetch it whole
          d.resize(len[col]);
          MYSQL_BIND big;
          std::memset(&big, 0, sizeof big);
          big.buffer_type = MYSQL_TYPE_STRING;
          big.buffer = d.data();
          big.buffer_length = d.size();
          mysql_stmt_fetch_column(st, &big, static_cast<unsigned>(col), 0);
        }
        ++t;
      }
      out->push_back(std::move(row));
    }
    mysql_stmt_free_result(st);
    return s;
  }

  Url url_;
  std::string table_;
  StoreOptions opts_;
  MysqlTls tls_;
  std::string auth_plugins_;  // MARIADB_OPT_RESTRICTED_AUTH
  std::string describe_;
  std::string where_;
  std::mutex cred_mu_;  // guards url_.user and url_.password (ConnectRefreshing replaces them)
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  std::unique_ptr<Conn> loader_idle_;  // the loader's connection between batches (under mu_)
  std::atomic<bool> local_infile_refused_{false};
  bool local_infile_required_ = false;
  int open_ = 0;
};

}  // namespace

Result<std::string> MysqlExecute(const Url& url, const StoreOptions& opts, const std::string& sql) {
  auto store = NewMysqlStore(url, opts);
  if (!store.ok()) return store.status();
  return static_cast<MysqlStore&>(**store).ExecuteRaw(sql);
}

Result<std::unique_ptr<Store>> NewMysqlStore(const Url& url, const StoreOptions& opts) {
  std::string table = "heroes";
  if (auto it = url.query.find("table"); it != url.query.end()) table = it->second;
  if (!IsValidTableName(table)) {
    return Status::InvalidArgument("database URL: table '" + table +
                                   "' is not a valid name (letters, digits, _)");
  }
  if (url.path.empty())
    return Status::InvalidArgument("database URL '" + url.Redacted() + "': missing /database");
  if (url.host.empty()) return Status::InvalidArgument("database URL '" + url.Redacted() + "': missing host");
  auto tls = ParseMysqlTls(url);
  if (!tls.ok()) return tls.status();
  static std::once_flag init;
  std::call_once(init, [] { mysql_library_init(0, nullptr, nullptr); });
  return std::unique_ptr<Store>(std::make_unique<MysqlStore>(url, table, opts, std::move(tls.value())));
}

}  // namespace rowcache
