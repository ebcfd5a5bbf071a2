// Schema discovery (Store::DescribeTable, store/mysql/schema.cc) against a
// real MariaDB (ROWCACHE_TEST_MYSQL): the any-table test schema
// (tests/support/any_table_schema.sql) and the tables CheckServable refuses,
// each test in a database of its own.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "rowcache/schema.h"
#include "rowcache/store.h"
#include "rowcache/url.h"
#include "support/schema_expect.h"
#include "support/test_env.h"

namespace rowcache {
namespace {

using testing::ExpectCascadeChild;
using testing::ExpectServable;

class SchemaDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ROWCACHE_REQUIRE_URL("ROWCACHE_TEST_MYSQL", base_);
    auto url = ParseUrl(base_);
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    url_ = *url;
    std::random_device rd;
    db_ = "rowcache_sd_" + std::to_string(rd() % 1000000000);
    Sql(url_.path, "CREATE DATABASE " + db_);
    Url here = url_;
    here.path = db_;
    auto s = OpenStore(here.ToString());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  void TearDown() override {
    store_.reset();
    if (!db_.empty()) Sql(url_.path, "DROP DATABASE IF EXISTS " + db_);
  }

  // Runs the mariadb client on database db: with the statements sql, or
  // (file) with the file at that path.
  void Run(const std::string& db, const std::string& input, bool file) {
    std::string cmd = "mariadb -h" + url_.host + " -P" + std::to_string(url_.port ? url_.port : 3306) +
                      " -u" + url_.user + " -p" + url_.password + " " + db;
    cmd += file ? " < '" + input + "'" : " -e \"" + input + "\"";
    ASSERT_EQ(std::system((cmd + " 2>&1").c_str()), 0) << input;
  }
  void Sql(const std::string& db, const std::string& sql) { Run(db, sql, /*file=*/false); }
  void Sql(const std::string& sql) { Run(db_, sql, /*file=*/false); }
  void LoadAnyTableSchema() {
    Run(db_, std::string(ROWCACHE_SOURCE_DIR) + "/tests/support/any_table_schema.sql", true);
  }

  TableSchema Describe(const std::string& table) {
    auto t = store_->DescribeTable(table);
    EXPECT_TRUE(t.ok()) << table << ": " << t.status().ToString();
    return t.ok() ? *t : TableSchema{};
  }

  std::string base_, db_;
  Url url_;
  std::unique_ptr<Store> store_;
};

TEST_F(SchemaDiscoveryTest, EveryTypeOfTheAutoIncrementTable) {
  LoadAnyTableSchema();
  TableSchema t = Describe("types_auto");
  EXPECT_EQ(t.name, "types_auto");
  std::vector<std::string> want{
      "id int(11) integer bytes=4 signed | not-null default auto",
      "i8 tinyint(4) integer bytes=1 signed | not-null default",
      "u8 tinyint(3) unsigned integer bytes=1 unsigned | null default",
      "flag tinyint(1) integer bytes=1 signed | not-null default",
      "i16 smallint(6) integer bytes=2 signed | null default",
      "i24 mediumint(9) integer bytes=3 signed | null default",
      "i32 int(11) integer bytes=4 signed | null default",
      "u32 int(10) unsigned integer bytes=4 unsigned | null default",
      "i64 bigint(20) integer bytes=8 signed | not-null",
      "u64 bigint(20) unsigned integer bytes=8 unsigned | null default",
      "yr year(4) year | null default",
      "price decimal(12,2) decimal 12,2 | not-null default",
      "wide decimal(65,30) decimal 65,30 | null default",
      "f32 float float | null default",
      "f64 double double | null default",
      "code char(5) string len=5 chars fixed utf8mb4/utf8mb4_bin | not-null default",
      "label varchar(20) string len=20 chars utf8mb4/utf8mb4_bin | null default",
      "body text string len=65535 bytes utf8mb4/utf8mb4_bin | null default",
      "essay mediumtext string len=16777215 bytes utf8mb4/utf8mb4_bin | null default",
      "bin4 binary(4) binary len=4 fixed | null default",
      "vbin varbinary(16) binary len=16 | null default",
      "blob_col blob binary len=65535 | null default",
      "day date date | null default",
      "dt datetime datetime fsp=0 | null default",
      "dt3 datetime(3) datetime fsp=3 | null default",
      "tm2 time(2) time fsp=2 | null default",
      "ts6 timestamp(6) timestamp fsp=6 | not-null default",
      "bit1 bit(1) bit bits=1 | null default",
      "bit12 bit(12) bit bits=12 | null default",
      "mood enum('happy','sad','it''s complicated') enum [happy,sad,it's complicated] utf8mb4/utf8mb4_bin | "
      "not-null default",
      "tags set('red','green','blue') set [red,green,blue] utf8mb4/utf8mb4_bin | null default",
      // MariaDB's JSON: LONGTEXT with CHECK (json_valid(`doc`)).
      "doc longtext json utf8mb4/utf8mb4_bin | null default",
      "legacy varchar(10) string len=10 chars latin1/latin1_swedish_ci | null default",
      "price_x2 decimal(13,2) decimal 13,2 | null default generated",
      "label_len int(11) integer bytes=4 signed | null default generated",
  };
  ExpectServable(t, want, {0}, /*auto_increment_key=*/true);
  // Discovery is deterministic: a second read has the same fingerprint.
  EXPECT_EQ(Fingerprint(Describe("types_auto")), Fingerprint(t));
}

TEST_F(SchemaDiscoveryTest, CompositeKeyTable) {
  LoadAnyTableSchema();
  TableSchema t = Describe("orders");
  std::vector<std::string> want{
      "tenant int(11) integer bytes=4 signed | not-null",
      "code varchar(16) string len=16 chars utf8mb4/utf8mb4_general_ci | not-null",
      "total decimal(12,2) decimal 12,2 | not-null",
      "placed datetime(3) datetime fsp=3 | null default",
  };
  ExpectServable(t, want, {0, 1}, /*auto_increment_key=*/false);
  EXPECT_NE(Fingerprint(t), Fingerprint(Describe("types_auto")));
}

TEST_F(SchemaDiscoveryTest, KeyInIndexOrderAndTheHeroesTable) {
  Sql("CREATE TABLE backwards (a INT NOT NULL, b VARCHAR(4) NOT NULL, c INT, PRIMARY KEY (c, a))");
  TableSchema t = Describe("backwards");
  EXPECT_EQ(t.key, (std::vector<size_t>{2, 0}));
  // A key column is NOT NULL even where the CREATE did not say so.
  EXPECT_FALSE(t.columns[2].nullable);

  // The table EnsureSchema creates is the shape HeroesSchema describes.
  ASSERT_TRUE(store_->EnsureSchema().ok());
  TableSchema h = Describe("heroes");
  ExpectServable(h,
                 {
                     "id int(11) integer bytes=4 signed | not-null default auto",
                     "hero varchar(20) string len=20 chars utf8mb4/utf8mb4_bin | not-null",
                     "power varchar(20) string len=20 chars utf8mb4/utf8mb4_bin | not-null",
                     "name varchar(20) string len=20 chars utf8mb4/utf8mb4_bin | not-null",
                     "xp int(11) integer bytes=4 signed | not-null",
                     "color varchar(20) string len=20 chars utf8mb4/utf8mb4_bin | not-null",
                 },
                 {0}, /*auto_increment_key=*/true);
  EXPECT_EQ(Fingerprint(h), Fingerprint(HeroesSchema("heroes")));
}

TEST_F(SchemaDiscoveryTest, DefaultsAsMariaDbReportsThem) {
  // MariaDB's COLUMN_DEFAULT: SQL NULL for no default, the text 'NULL' for
  // DEFAULT NULL, the quoted text for a string that says NULL.
  Sql("CREATE TABLE defs (id INT NOT NULL PRIMARY KEY, a INT NULL DEFAULT NULL, b INT NOT NULL,"
      " c VARCHAR(5) NOT NULL DEFAULT 'NULL', d DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,"
      " e INT NOT NULL DEFAULT (1 + 1), f TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
      " ON UPDATE CURRENT_TIMESTAMP(3))");
  TableSchema t = Describe("defs");
  ASSERT_EQ(t.columns.size(), 7u);
  std::vector<bool> defaults, nullable;
  for (const Column& c : t.columns) {
    defaults.push_back(c.has_default);
    nullable.push_back(c.nullable);
    EXPECT_FALSE(c.auto_increment) << c.name;
    EXPECT_FALSE(c.generated) << c.name;
  }
  EXPECT_EQ(defaults, (std::vector<bool>{false, true, false, true, true, true, true}));
  EXPECT_EQ(nullable, (std::vector<bool>{false, true, false, false, false, false, false}));
}

TEST_F(SchemaDiscoveryTest, OnlyMariaDbsJsonAliasIsJson) {
  Sql("CREATE TABLE texts (id INT PRIMARY KEY, plain LONGTEXT, checked TEXT CHECK (json_valid(checked)),"
      " other LONGTEXT CHECK (other <> ''), j JSON, j2 JSON NOT NULL)");
  TableSchema t = Describe("texts");
  ASSERT_EQ(t.columns.size(), 6u);
  EXPECT_EQ(t.columns[1].kind, ColumnKind::kString);  // no check
  EXPECT_EQ(t.columns[2].kind, ColumnKind::kString);  // a check, but not the alias's LONGTEXT
  EXPECT_EQ(t.columns[3].kind, ColumnKind::kString);  // another check
  EXPECT_EQ(t.columns[4].kind, ColumnKind::kJson);
  EXPECT_EQ(t.columns[5].kind, ColumnKind::kJson);
  EXPECT_FALSE(t.columns[5].nullable);
}

TEST_F(SchemaDiscoveryTest, ALongEnumIsReadWhole) {
  std::string members;
  for (int i = 0; i < 60; ++i) members += std::string(i ? "," : "") + "'member_" + std::to_string(i) + "'";
  Sql("CREATE TABLE long_enum (id INT PRIMARY KEY, e ENUM(" + members + "))");
  TableSchema t = Describe("long_enum");
  ASSERT_EQ(t.columns.size(), 2u);
  ASSERT_EQ(t.columns[1].members.size(), 60u);
  EXPECT_EQ(t.columns[1].members[59], "member_59");
  EXPECT_GT(t.columns[1].sql_type.size(), 256u);
}

TEST_F(SchemaDiscoveryTest, TablesCheckServableRefuses) {
  Sql("CREATE TABLE nopk (a INT NOT NULL, b INT, UNIQUE KEY (a));"
      " CREATE TABLE prefix_key (c VARCHAR(100) NOT NULL, d INT, PRIMARY KEY (c(10)));"
      " CREATE TABLE float_key (f FLOAT NOT NULL PRIMARY KEY, v INT);"
      " CREATE TABLE parent (id INT PRIMARY KEY);"
      " CREATE TABLE delete_child (id INT PRIMARY KEY, pid INT,"
      "   FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE);"
      " CREATE TABLE setnull_child (id INT PRIMARY KEY, pid INT,"
      "   FOREIGN KEY (pid) REFERENCES parent (id) ON UPDATE SET NULL);"
      " CREATE TABLE restrict_child (id INT PRIMARY KEY, pid INT,"
      "   FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE RESTRICT ON UPDATE NO ACTION)");

  TableSchema nopk = Describe("nopk");
  EXPECT_EQ(nopk.columns.size(), 2u);
  EXPECT_TRUE(nopk.key.empty());  // a UNIQUE NOT NULL key is not the primary key
  EXPECT_NE(CheckServable(nopk, true).message().find("no primary key"), std::string::npos);

  TableSchema prefix = Describe("prefix_key");
  ASSERT_EQ(prefix.key, std::vector<size_t>{0});
  EXPECT_TRUE(prefix.columns[0].prefix_indexed);
  EXPECT_FALSE(prefix.columns[1].prefix_indexed);
  EXPECT_NE(CheckServable(prefix, true).message().find("column c: the primary key holds only a prefix"),
            std::string::npos)
      << CheckServable(prefix, true).ToString();

  TableSchema fl = Describe("float_key");
  ASSERT_EQ(fl.key, std::vector<size_t>{0});
  EXPECT_EQ(fl.columns[0].kind, ColumnKind::kFloat);
  EXPECT_NE(CheckServable(fl, true).message().find("column f: a FLOAT or DOUBLE"), std::string::npos);

  for (const char* name : {"delete_child", "setnull_child"}) {
    ExpectCascadeChild(Describe(name), "parent");
  }
  ExpectServable(
      Describe("restrict_child"),
      {"id int(11) integer bytes=4 signed | not-null", "pid int(11) integer bytes=4 signed | null default"},
      {0}, /*auto_increment_key=*/false);
  // The parent of a cascade is not a child: its rows change only by statements naming them.
  EXPECT_FALSE(Describe("parent").cascade_child);
}

TEST_F(SchemaDiscoveryTest, ACascadeFromAnotherDatabaseNamesIt) {
  std::string other = db_ + "_p";
  Sql(url_.path, "CREATE DATABASE " + other + "; CREATE TABLE " + other + ".up (id INT PRIMARY KEY)");
  Sql("CREATE TABLE down (id INT PRIMARY KEY, up_id INT, FOREIGN KEY (up_id) REFERENCES " + other +
      ".up (id) ON DELETE CASCADE)");
  ExpectCascadeChild(Describe("down"), other + ".up");
  Sql(url_.path, "DROP TABLE " + db_ + ".down; DROP DATABASE " + other);
}

TEST_F(SchemaDiscoveryTest, MissingInvalidAndUnservableTables) {
  LoadAnyTableSchema();
  auto missing = store_->DescribeTable("nosuch");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_EQ(missing.status().message(), "table nosuch does not exist");
  // Names are matched byte for byte (lower_case_table_names=0 here).
  EXPECT_TRUE(store_->DescribeTable("ORDERS").status().IsNotFound());
  EXPECT_TRUE(store_->DescribeTable("orders").ok());
  // Only the store's own database.
  auto base = OpenStore(base_);
  ASSERT_TRUE(base.ok());
  Sql("CREATE TABLE only_here (id INT PRIMARY KEY)");
  EXPECT_TRUE((*base)->DescribeTable("only_here").status().IsNotFound());

  EXPECT_TRUE(store_->DescribeTable("a-b").status().IsInvalidArgument());
  EXPECT_TRUE(store_->DescribeTable("").status().IsInvalidArgument());

  Sql("CREATE TABLE addresses (id INT PRIMARY KEY, a INET6)");
  auto inet = store_->DescribeTable("addresses");
  ASSERT_FALSE(inet.ok());
  EXPECT_TRUE(inet.status().IsInvalidArgument());
  EXPECT_EQ(inet.status().message().rfind("table addresses: column a: type inet6", 0), 0u)
      << inet.status().ToString();
}

}  // namespace
}  // namespace rowcache
