// MysqlStore against a real MariaDB (ROWCACHE_TEST_MYSQL).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <thread>

#include "rowcache/store.h"
#include "rowcache/url.h"
#include "store/mysql/store.h"
#include "support/listen.h"
#include "support/test_env.h"

namespace rowcache {
namespace {

std::string UniqueTable() {
  std::random_device rd;
  return "t_" + std::to_string(rd() % 1000000000);
}

class MysqlStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ROWCACHE_REQUIRE_URL("ROWCACHE_TEST_MYSQL", base_);
    table_ = UniqueTable();
    url_ = base_ + "?table=" + table_;
    auto s = OpenStore(url_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
    ASSERT_TRUE(store_->EnsureSchema().ok());
  }
  void TearDown() override {
    if (store_) Exec("DROP TABLE IF EXISTS " + table_);
  }
  // A raw SQL statement through a second store's connection is not exposed;
  // use the mariadb client instead.
  static void Exec(const std::string& sql) {
    const char* port = std::getenv("ROWCACHE_TEST_MYSQL_PORT");
    std::string cmd = "mariadb -h127.0.0.1 -P" + std::string(port ? port : "13306") +
                      " -urowcache -prowcache rowcache -e \"" + sql + "\" >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << sql;
  }

  std::string base_, table_, url_;
  std::unique_ptr<Store> store_;
};

TEST_F(MysqlStoreTest, InsertGetInOrderAndVerbatim) {
  std::string emoji20;
  for (int i = 0; i < 20; ++i) emoji20 += "\xF0\x9F\x98\x80";
  std::vector<Row> rows{{0, "yes", "fly", "batman", 100, "black"},
                        {0, emoji20, "'; DROP TABLE t; --", "q\"\\\n", -2147483648LL, ""},
                        {0, "\xC3\xA9t\xC3\xA9", "a", "b", 2147483647, "c"}};
  auto ids = store_->Insert(rows);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_LT((*ids)[0], (*ids)[1]);
  EXPECT_LT((*ids)[1], (*ids)[2]);
  std::vector<int64_t> ask{(*ids)[2], 999999, (*ids)[0], (*ids)[1]};
  auto got = store_->Get(ask);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 3u);
  for (const Row& r : *got) {
    size_t i = std::find(ids->begin(), ids->end(), r.id) - ids->begin();
    ASSERT_LT(i, 3u);
    Row want = rows[i];
    want.id = r.id;
    EXPECT_EQ(r, want);
  }
  ASSERT_TRUE(store_->EnsureSchema().ok());  // idempotent
}

TEST_F(MysqlStoreTest, ManyIdsInOneQuery) {
  std::vector<Row> rows(1500, Row{0, "h", "p", "n", 1, "c"});
  auto ids = store_->Insert(rows);
  ASSERT_TRUE(ids.ok());
  for (size_t n : {1u, 3u, 5u, 1000u, 1500u}) {
    std::vector<int64_t> ask(ids->begin(), ids->begin() + n);
    auto got = store_->Get(ask);
    ASSERT_TRUE(got.ok()) << n << ": " << got.status().ToString();
    EXPECT_EQ(got->size(), n);
  }
}

TEST_F(MysqlStoreTest, BatchIsAllOrNothing) {
  // The third row is too long for VARCHAR(20): strict mode rejects it and the
  // first two must not survive.
  std::vector<Row> rows{
      {0, "a", "a", "a", 1, "a"}, {0, "b", "b", "b", 2, "b"}, {0, std::string(21, 'x'), "c", "c", 3, "c"}};
  auto ids = store_->Insert(rows);
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), Code::kInvalidArgument) << ids.status().ToString();
  // Names the field, not the server or the schema (the answer goes to the client).
  EXPECT_EQ(ids.status().message(), "field 'hero': too long for the column");
  auto next = store_->Insert(std::vector<Row>{{0, "d", "d", "d", 4, "d"}});
  ASSERT_TRUE(next.ok());
  std::vector<int64_t> all;
  for (int64_t i = 1; i <= (*next)[0]; ++i) all.push_back(i);
  auto got = store_->Get(all);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].hero, "d");
}

TEST_F(MysqlStoreTest, UpdateDeleteAndLoad) {
  auto ids = store_->Insert(std::vector<Row>{{0, "a", "a", "a", 1, "a"}, {0, "b", "b", "b", 2, "b"}});
  ASSERT_TRUE(ids.ok());
  RowUpdate u;
  u.id = (*ids)[0];
  u.xp = 50;
  ASSERT_TRUE(store_->Update(std::vector<RowUpdate>{u}).ok());
  ASSERT_TRUE(store_->Update(std::vector<RowUpdate>{u}).ok());  // same value again still "found"
  RowUpdate missing;
  missing.id = 888888;
  missing.hero = "zz";
  RowUpdate second = u;
  second.id = (*ids)[1];
  second.hero = "changed";
  Status s = store_->Update(std::vector<RowUpdate>{second, missing});
  EXPECT_EQ(s.code(), Code::kNotFound);
  auto got = store_->Get(std::vector<int64_t>{(*ids)[0], (*ids)[1]});
  ASSERT_TRUE(got.ok());
  for (const Row& r : *got) {
    if (r.id == (*ids)[0]) {
      EXPECT_EQ(r.xp, 50);
    } else {
      EXPECT_EQ(r.hero, "b");  // rolled back
    }
  }
  auto del = store_->Delete(std::vector<int64_t>{(*ids)[1], 777777});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(*del, std::vector<int64_t>{(*ids)[1]});

  std::vector<Row> load{{(*ids)[0], "x", "x", "x", 0, "x"}, {5000, "y", "y", "y", 0, "y"}};
  auto skip = store_->Load(load, LoadMode::kSkipExisting);
  ASSERT_TRUE(skip.ok()) << skip.status().ToString();
  EXPECT_EQ(skip->inserted, 1);
  EXPECT_EQ(skip->skipped, 1);
  auto again = store_->Load(load, LoadMode::kSkipExisting);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->inserted, 0);
  EXPECT_EQ(again->skipped, 2);
  auto rep = store_->Load(load, LoadMode::kReplace);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->replaced, 2);
  auto after = store_->Get(std::vector<int64_t>{(*ids)[0]});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)[0].hero, "x");
  // New ids continue after the loaded ones.
  auto next = store_->Insert(std::vector<Row>{{0, "n", "n", "n", 0, "n"}});
  ASSERT_TRUE(next.ok());
  EXPECT_GT((*next)[0], 5000);
}

// Bulk loads of 64 rows or more go through LOAD DATA LOCAL INFILE fed from
// memory (on the loader's own connection); ?local_infile=0 forces multi-row INSERTs. Both must store every
// byte verbatim and count inserted/skipped/replaced rows the same way.
TEST_F(MysqlStoreTest, BulkLoadPathsAreVerbatimAndCountAlike) {
  const std::vector<std::string> tricky = {
      "tab\there", "new\nline",         "cr\rx",     "back\\slash",
      "\\N",       "quote'\"",          "emoji 😀 ü", std::string("nul\0x", 5),
      "",          "; DROP TABLE x; --"};
  std::vector<Row> rows;
  for (int i = 1; i <= 300; ++i) {
    const std::string& t = tricky[i % tricky.size()];
    rows.push_back(Row{i, t, "p" + std::to_string(i), t, i * 7 - 1000, "c"});
  }
  // local_infile=1: LOAD DATA LOCAL or an error (no quiet switch to INSERTs),
  // so the bulk path is known to have run.
  for (const char* query : {"&local_infile=1", "&local_infile=0"}) {
    SCOPED_TRACE(std::string("url suffix '") + query + "'");
    Exec("DELETE FROM " + table_);
    auto st = OpenStore(url_ + query);
    ASSERT_TRUE(st.ok());
    Store& s = **st;
    auto first = s.Load(std::span<const Row>(rows).subspan(0, 200), LoadMode::kSkipExisting);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(first->inserted, 200);
    auto second = s.Load(rows, LoadMode::kSkipExisting);  // 200 exist, 100 new
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ(second->inserted, 100);
    EXPECT_EQ(second->skipped, 200);
    std::vector<Row> changed = rows;
    for (Row& r : changed) r.color = "new";
    auto third = s.Load(changed, LoadMode::kReplace);
    ASSERT_TRUE(third.ok()) << third.status().ToString();
    EXPECT_EQ(third->replaced, 300);
    EXPECT_EQ(third->inserted, 0);
    std::vector<int64_t> ids;
    for (const Row& r : rows) ids.push_back(r.id);
    auto got = s.Get(ids);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), rows.size());
    std::map<int64_t, Row> by_id;
    for (const Row& r : *got) by_id[r.id] = r;
    for (const Row& want : changed) {
      ASSERT_EQ(by_id.count(want.id), 1u);
      EXPECT_EQ(by_id[want.id], want) << "id " << want.id;
    }
  }
}

TEST_F(MysqlStoreTest, ReconnectsAfterTheServerDropsTheConnection) {
  // This test's store connects as a second user (scripts/servers.sh creates
  // rowcache_b) and kills only that user's connections, so tests running
  // beside it keep theirs.
  std::string url = url_;
  auto at = url.find("rowcache:rowcache@");
  ASSERT_NE(at, std::string::npos) << url;
  url.replace(at, std::string("rowcache:rowcache@").size(), "rowcache_b:rowcache@");
  auto st = OpenStore(url);
  ASSERT_TRUE(st.ok());
  Store& store = **st;
  auto ids = store.Insert(std::vector<Row>{{0, "a", "a", "a", 1, "a"}});
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  const char* port = std::getenv("ROWCACHE_TEST_MYSQL_PORT");
  std::string client =
      "mariadb -h127.0.0.1 -P" + std::string(port ? port : "13306") + " -urowcache_b -prowcache";
  std::string kill = client +
                     " -N -e \"SELECT CONCAT('KILL ', id, ';') FROM information_schema.processlist "
                     "WHERE user='rowcache_b' AND id <> CONNECTION_ID()\" | " +
                     client + " >/dev/null 2>&1";
  std::system(kill.c_str());
  auto got = store.Get(*ids);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), 1u);
  std::system(kill.c_str());
  auto more = store.Insert(std::vector<Row>{{0, "b", "b", "b", 1, "b"}});
  ASSERT_TRUE(more.ok()) << more.status().ToString();
}

TEST_F(MysqlStoreTest, UnreachableServerIsUnavailableNotAHang) {
  StoreOptions o;
  o.timeout_seconds = 2;
  auto s = OpenStore("mysql://rowcache:rowcache@127.0.0.1:1/rowcache", o);
  ASSERT_TRUE(s.ok());
  auto start = std::chrono::steady_clock::now();
  Status e = (*s)->EnsureSchema();
  EXPECT_EQ(e.code(), Code::kUnavailable) << e.ToString();
  EXPECT_NE(e.message().find("127.0.0.1:1"), std::string::npos);
  auto got = (*s)->Get(std::vector<int64_t>{1});
  EXPECT_EQ(got.status().code(), Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  auto bad = OpenStore(base_ + "?table=bad;name");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  auto wrongpw =
      OpenStore("mysql://rowcache:wrong@127.0.0.1:" +
                std::string(std::getenv("ROWCACHE_TEST_MYSQL_PORT") ? std::getenv("ROWCACHE_TEST_MYSQL_PORT")
                                                                    : "13306") +
                "/rowcache");
  ASSERT_TRUE(wrongpw.ok());
  EXPECT_EQ((*wrongpw)->Ping().code(), Code::kUnavailable);
}

TEST_F(MysqlStoreTest, ConcurrentInsertsGetDistinctIds) {
  std::mutex mu;
  std::set<int64_t> all;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto ids = store_->Insert(std::vector<Row>{{0, "t" + std::to_string(t), "p", "n", i, "c"},
                                                   {0, "u" + std::to_string(t), "p", "n", i, "c"}});
        if (!ids.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard l(mu);
        all.insert(ids->begin(), ids->end());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(all.size(), 8u * 20 * 2);
  std::vector<int64_t> ask(all.begin(), all.end());
  auto got = store_->Get(ask);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), all.size());
}

// A serving (pooled) connection neither announces nor answers LOAD DATA
// LOCAL: a LOCAL INFILE statement sent on one is refused and reads no file.
// (tests/e2e/test_mysql_local_infile.py checks the client's side against a
// server that asks for a file unprompted.)
TEST_F(MysqlStoreTest, ServingConnectionsHaveLocalInfileOff) {
  auto url = ParseUrl(url_);
  ASSERT_TRUE(url.ok());
  char path[] = "/tmp/rowcache-infile-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string line = "424242\tleak\tleak\tleak\t1\tleak\n";
  ASSERT_EQ(write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  close(fd);
  auto r = MysqlExecute(*url, StoreOptions{},
                        std::string("LOAD DATA LOCAL INFILE '") + path + "' INTO TABLE " + table_ +
                            " (id, hero, power, name, xp, color)");
  unlink(path);
  EXPECT_FALSE(r.ok());
  auto got = store_->Get(std::vector<int64_t>{424242});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty()) << "the file's row was loaded through a serving connection";
}

// --- TLS: ssl-mode against the real MariaDB (scripts/servers.sh: TLS offered,
// certificate for DNS:localhost and IP:127.0.0.1 from the test CA; the user
// rowcache_tls is admitted only over TLS).

// Relays TCP connections from listen_ip (an ephemeral port) to 127.0.0.1:to_port:
// the same server under an address its certificate does not name.
class Forwarder {
 public:
  Forwarder(const char* listen_ip, int to_port) : to_port_(to_port) {
    lfd_ = testing::ListenLoopback(&port_, listen_ip);
    if (lfd_ < 0) return;
    accept_ = std::thread([this] { Run(); });
  }
  ~Forwarder() {
    ::shutdown(lfd_, SHUT_RDWR);
    if (accept_.joinable()) accept_.join();
    {
      std::lock_guard l(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : relays_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(lfd_);
  }
  int port() const { return port_; }

 private:
  void Run() {
    for (;;) {
      int c = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR) continue;
        return;
      }
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(to_port_));
      inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(c);
        ::close(s);
        continue;
      }
      std::lock_guard l(mu_);
      fds_.push_back(c);
      fds_.push_back(s);
      relays_.emplace_back([c, s] { Relay(c, s); });
    }
  }
  static void Relay(int a, int b) {
    char buf[16384];
    for (;;) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, 30000) <= 0) break;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        if (n <= 0) goto done;
        for (ssize_t off = 0; off < n;) {
          ssize_t w = ::write(p[1 - i].fd, buf + off, static_cast<size_t>(n - off));
          if (w <= 0) goto done;
          off += w;
        }
      }
    }
  done:
    ::shutdown(a, SHUT_RDWR);
    ::shutdown(b, SHUT_RDWR);
  }

  int to_port_;
  int lfd_ = -1;
  int port_ = 0;
  std::thread accept_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> relays_;
};

class MysqlTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tls_url;
    ROWCACHE_REQUIRE_URL("ROWCACHE_TEST_MYSQL_TLS", tls_url);
    ROWCACHE_REQUIRE_URL("ROWCACHE_TEST_MYSQL_CA", ca_);
    const char* port = std::getenv("ROWCACHE_TEST_MYSQL_PORT");
    port_ = std::atoi(port ? port : "13306");
    table_ = UniqueTable();
    tmp_ = std::filesystem::temp_directory_path() / ("rowcache-tls-" + table_);
    std::filesystem::create_directories(tmp_);
    // A CA that signed nothing the server has.
    other_ca_ = (tmp_ / "other-ca.crt").string();
    std::string cmd =
        "openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 "
        "-subj '/CN=rowcache other CA' -keyout '" +
        (tmp_ / "other-ca.key").string() + "' -out '" + other_ca_ + "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    if (const char* v = std::getenv("SSL_CERT_FILE")) saved_cert_file_ = v;
    if (const char* v = std::getenv("SSL_CERT_DIR")) saved_cert_dir_ = v;
  }
  void TearDown() override {
    Restore("SSL_CERT_FILE", saved_cert_file_);
    Restore("SSL_CERT_DIR", saved_cert_dir_);
    if (!table_.empty() && port_) {
      std::string cmd = "mariadb -h127.0.0.1 -P" + std::to_string(port_) +
                        " -urowcache -prowcache rowcache -e 'DROP TABLE IF EXISTS " + table_ +
                        "' >/dev/null 2>&1";
      std::system(cmd.c_str());
    }
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }
  static void Restore(const char* name, const std::optional<std::string>& v) {
    if (v) {
      setenv(name, v->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  // mysql://USER:rowcache@HOST:PORT/rowcache?table=T&QUERY
  std::string Url(const std::string& query, const std::string& user = "rowcache",
                  const std::string& host = "127.0.0.1", int port = 0) const {
    return "mysql://" + user + ":rowcache@" + host + ":" + std::to_string(port ? port : port_) +
           "/rowcache?table=" + table_ + (query.empty() ? "" : "&" + query);
  }
  // Opens a store on url and round-trips a row; the first failure.
  static Status Works(const std::string& url) {
    StoreOptions o;
    o.timeout_seconds = 5;
    auto st = OpenStore(url, o);
    if (!st.ok()) return st.status();
    Status s = (*st)->EnsureSchema();
    if (!s.ok()) return s;
    auto ids = (*st)->Insert(std::vector<Row>{{0, "tls", "p", "n", 1, "c"}});
    if (!ids.ok()) return ids.status();
    auto got = (*st)->Get(*ids);
    if (!got.ok()) return got.status();
    if (got->size() != 1) return Status::Internal("row not read back");
    return Status::OK();
  }

  std::string ca_, other_ca_, table_;
  int port_ = 0;
  std::filesystem::path tmp_;
  std::optional<std::string> saved_cert_file_, saved_cert_dir_;
};

TEST_F(MysqlTlsTest, VerifyIdentityWithTheRightCaWorksAndEncrypts) {
  EXPECT_TRUE(Works(Url("ssl-mode=VERIFY_IDENTITY&ssl-ca=" + ca_)).ok());
  // The server admits rowcache_tls only over TLS.
  Status s = Works(Url("ssl-mode=VERIFY_IDENTITY&ssl-ca=" + ca_, "rowcache_tls"));
  EXPECT_TRUE(s.ok()) << s.ToString();
  // The env's own URL (scripts/servers.sh) too, spelled in lower case.
  s = Works(Url("ssl-mode=verify-identity&ssl-ca=" + ca_));
  EXPECT_TRUE(s.ok()) << s.ToString();
  // The bulk loader's connection is verified TLS as well (LOAD DATA LOCAL over it).
  auto st = OpenStore(Url("ssl-mode=VERIFY_IDENTITY&local_infile=1&ssl-ca=" + ca_, "rowcache_tls"));
  ASSERT_TRUE(st.ok());
  std::vector<Row> rows;
  for (int i = 1; i <= 100; ++i) rows.push_back(Row{100000 + i, "h", "p", "n", i, "c"});
  auto r = (*st)->Load(rows, LoadMode::kSkipExisting);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inserted, 100);
  EXPECT_NE((*st)->Describe().find("ssl-mode=VERIFY_IDENTITY"), std::string::npos) << (*st)->Describe();
}

TEST_F(MysqlTlsTest, VerifyIdentityRefusesANameTheCertificateLacks) {
  Forwarder fwd("127.0.0.2", port_);  // the certificate names 127.0.0.1 and localhost only
  ASSERT_NE(fwd.port(), 0);
  Status s = Works(Url("ssl-mode=VERIFY_IDENTITY&ssl-ca=" + ca_, "rowcache", "127.0.0.2", fwd.port()));
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("TLS/SSL"), std::string::npos) << s.ToString();
  // ssl-ca alone (the older spelling) means VERIFY_IDENTITY.
  s = Works(Url("ssl-ca=" + ca_, "rowcache", "127.0.0.2", fwd.port()));
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  // The same address is fine when only the chain is checked: the name is what failed.
  s = Works(Url("ssl-mode=VERIFY_CA&ssl-ca=" + ca_, "rowcache_tls", "127.0.0.2", fwd.port()));
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(MysqlTlsTest, VerifyCaRefusesAWrongCa) {
  Status s = Works(Url("ssl-mode=VERIFY_CA&ssl-ca=" + ca_, "rowcache_tls"));
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = Works(Url("ssl-mode=VERIFY_CA&ssl-ca=" + other_ca_));
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("TLS/SSL"), std::string::npos) << s.ToString();
  s = Works(Url("ssl-mode=VERIFY_IDENTITY&ssl-ca=" + other_ca_));
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
}

TEST_F(MysqlTlsTest, RequiredEncryptsWithoutCheckingAndDisabledDoesNot) {
  Status s = Works(Url("ssl-mode=REQUIRED", "rowcache_tls"));
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = Works(Url("ssl=1", "rowcache_tls"));  // the older spelling
  EXPECT_TRUE(s.ok()) << s.ToString();
  {
    Forwarder fwd("127.0.0.2", port_);
    s = Works(Url("ssl-mode=REQUIRED", "rowcache_tls", "127.0.0.2", fwd.port()));
    EXPECT_TRUE(s.ok()) << "REQUIRED does not check the name: " << s.ToString();
  }
  s = Works(Url("ssl-mode=DISABLED"));
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = Works(Url(""));  // the default: as DISABLED
  EXPECT_TRUE(s.ok()) << s.ToString();
  // Without TLS the server refuses rowcache_tls: DISABLED really is plain text.
  s = Works(Url("ssl-mode=DISABLED", "rowcache_tls"));
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("Access denied"), std::string::npos) << s.ToString();
}

// No ssl-ca: the system's store, as SystemCaLocations finds it; SSL_CERT_FILE
// is honoured.
TEST_F(MysqlTlsTest, WithoutSslCaTheSystemStoreIsUsed) {
  unsetenv("SSL_CERT_DIR");
  setenv("SSL_CERT_FILE", ca_.c_str(), 1);
  Status s = Works(Url("ssl-mode=VERIFY_IDENTITY", "rowcache_tls"));
  EXPECT_TRUE(s.ok()) << s.ToString();
  setenv("SSL_CERT_FILE", other_ca_.c_str(), 1);
  s = Works(Url("ssl-mode=VERIFY_IDENTITY"));
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
}

TEST_F(MysqlTlsTest, BadTlsSettingsAreConfigurationErrors) {
  for (const std::string& q :
       {std::string("ssl-mode=PREFERRED"), std::string("ssl-mode=REQUIRED&ssl-ca=") + ca_,
        std::string("ssl-mode=DISABLED&ssl-ca=") + ca_,
        std::string("ssl-mode=VERIFY_IDENTITY&ssl-ca=/nonexistent/ca.pem"), std::string("ssl-ca="),
        // VERIFY_CA needs its CA: the system's store would accept any publicly signed
        // certificate, whoever it was issued to.
        std::string("ssl-mode=VERIFY_CA"),
        // The password itself only after the server is verified.
        std::string("enable-cleartext-plugin=1"), std::string("ssl-mode=REQUIRED&enable-cleartext-plugin=1"),
        std::string("ssl-mode=VERIFY_CA&ssl-ca=") + ca_ + "&enable-cleartext-plugin=1",
        std::string("server-public-key=/nonexistent/key.pem")}) {
    auto st = OpenStore(Url(q));
    EXPECT_EQ(st.status().code(), Code::kInvalidArgument) << q << ": " << st.status().ToString();
  }
}

}  // namespace
}  // namespace rowcache
