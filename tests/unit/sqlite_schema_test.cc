// Schema discovery on SQLite (store/sqlite_schema.cc, SqliteStore::DescribeTable)
// on in-memory databases: the any-table test schema
// (tests/support/any_table_schema_sqlite.sql) and the tables CheckServable refuses.
#include "store/sqlite_schema.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rowcache/schema.h"
#include "rowcache/store.h"
#include "support/schema_expect.h"

namespace rowcache {
namespace {

using testing::ExpectCascadeChild;
using testing::ExpectServable;

class SqliteSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK); }
  void TearDown() override { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    ASSERT_EQ(rc, SQLITE_OK) << (err ? err : "") << "\n" << sql;
  }
  void LoadAnyTableSchema() {
    std::ifstream f(std::filesystem::path(ROWCACHE_SOURCE_DIR) / "tests" / "support" /
                    "any_table_schema_sqlite.sql");
    ASSERT_TRUE(f.good());
    std::stringstream text;
    text << f.rdbuf();
    Exec(text.str());
  }
  TableSchema Describe(const std::string& table) {
    auto t = DescribeSqliteTable(db_, table);
    EXPECT_TRUE(t.ok()) << table << ": " << t.status().ToString();
    return t.ok() ? *t : TableSchema{};
  }

  sqlite3* db_ = nullptr;
};

// What SQLite's declared types read as: MySQL's names and parameters, text
// without a length limit of its own, every text column Unicode ("utf8mb4")
// with SQLite's collation.
TEST_F(SqliteSchemaTest, EveryDeclaredTypeOfTheAutoIncrementTable) {
  LoadAnyTableSchema();
  TableSchema t = Describe("types_auto");
  EXPECT_EQ(t.name, "types_auto");
  std::vector<std::string> want{
      // The rowid alias: NOT NULL and auto-increment, though the pragma says nullable.
      "id integer integer bytes=4 signed | not-null default auto",
      "i8 tinyint integer bytes=1 signed | not-null default",
      "u8 tinyint unsigned integer bytes=1 unsigned | null default",
      "flag tinyint(1) integer bytes=1 signed | not-null default",
      "i16 smallint integer bytes=2 signed | null default",
      "i24 mediumint integer bytes=3 signed | null default",
      "i32 int integer bytes=4 signed | null default",
      "u32 int unsigned integer bytes=4 unsigned | null default",
      "i64 bigint integer bytes=8 signed | not-null",
      "yr year year | null default",
      "price decimal(12,2) decimal 12,2 | not-null default",
      "wide decimal(65,30) decimal 65,30 | null default",
      "f32 float float | null default",
      "f64 double double | null default",
      "code char(5) string len=5 chars fixed utf8mb4/binary | not-null default",
      "label varchar(20) string len=20 chars utf8mb4/binary | null default",
      "body text string len=4294967295 bytes utf8mb4/binary | null default",
      "essay mediumtext string len=4294967295 bytes utf8mb4/binary | null default",
      "bin4 binary(4) binary len=4 fixed | null default",
      "vbin varbinary(16) binary len=16 | null default",
      "blob_col blob binary len=4294967295 | null default",
      "day date date | null default",
      "dt datetime datetime fsp=0 | null default",
      "dt3 datetime(3) datetime fsp=3 | null default",
      "tm2 time(2) time fsp=2 | null default",
      "ts6 timestamp(6) timestamp fsp=6 | not-null default",
      "bit1 bit(1) bit bits=1 | null default",
      "bit12 bit(12) bit bits=12 | null default",
      "doc json json | null default",
      "price_x2 decimal(13,2) decimal 13,2 | null default generated",
      "label_len int integer bytes=4 signed | null default generated",
  };
  ExpectServable(t, want, {0}, /*auto_increment_key=*/true);
  EXPECT_EQ(Fingerprint(Describe("types_auto")), Fingerprint(t));
}

TEST_F(SqliteSchemaTest, CompositeKeyTable) {
  LoadAnyTableSchema();
  TableSchema t = Describe("orders");
  std::vector<std::string> want{
      "tenant int integer bytes=4 signed | not-null",
      "code varchar(16) string len=16 chars utf8mb4/binary | not-null",
      "total decimal(12,2) decimal 12,2 | not-null",
      "placed datetime(3) datetime fsp=3 | null default",
  };
  ExpectServable(t, want, {0, 1}, /*auto_increment_key=*/false);
}

TEST_F(SqliteSchemaTest, TheRowidAliasOnlyIsAutoIncrement) {
  Exec(
      "CREATE TABLE alias (id INTEGER PRIMARY KEY, v TEXT);"
      "CREATE TABLE desc_key (id INTEGER PRIMARY KEY DESC, v TEXT);"
      "CREATE TABLE int_key (id INT PRIMARY KEY, v TEXT);"
      "CREATE TABLE no_rowid (id INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID;"
      "CREATE TABLE two (a INTEGER, b INTEGER, PRIMARY KEY (b, a));");
  EXPECT_TRUE(Describe("alias").HasAutoIncrementKey());
  for (const char* name : {"desc_key", "int_key", "no_rowid"}) {
    TableSchema t = Describe(name);
    ASSERT_EQ(t.key, std::vector<size_t>{0}) << name;
    EXPECT_FALSE(t.columns[0].auto_increment) << name;
  }
  TableSchema two = Describe("two");
  EXPECT_EQ(two.key, (std::vector<size_t>{1, 0}));
  EXPECT_FALSE(two.columns[0].auto_increment);
  EXPECT_FALSE(two.columns[1].auto_increment);
}

TEST_F(SqliteSchemaTest, DefaultsCollationsAndHiddenColumns) {
  Exec(
      "CREATE TABLE defs (id INTEGER PRIMARY KEY, a INT NOT NULL, b INT NOT NULL DEFAULT 3,"
      " c TEXT NOT NULL COLLATE NOCASE DEFAULT 'x', d TEXT, e TEXT NOT NULL DEFAULT (lower('A')));");
  TableSchema t = Describe("defs");
  ASSERT_EQ(t.columns.size(), 6u);
  std::vector<bool> defaults;
  for (const Column& c : t.columns) defaults.push_back(c.has_default);
  EXPECT_EQ(defaults, (std::vector<bool>{true, false, true, true, true, true}));
  EXPECT_EQ(t.columns[3].collation, "nocase");
  EXPECT_EQ(t.columns[4].collation, "binary");
  EXPECT_EQ(t.columns[1].collation, "");  // not text
}

TEST_F(SqliteSchemaTest, TablesCheckServableRefuses) {
  Exec(
      "CREATE TABLE nopk (a INT NOT NULL UNIQUE, b TEXT);"
      "CREATE TABLE float_key (f REAL NOT NULL PRIMARY KEY, v INT);"
      "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
      "CREATE TABLE delete_child (id INTEGER PRIMARY KEY, pid INT REFERENCES parent (id) ON DELETE CASCADE);"
      "CREATE TABLE setdefault_child (id INTEGER PRIMARY KEY, pid INT DEFAULT 0,"
      "  FOREIGN KEY (pid) REFERENCES parent (id) ON UPDATE SET DEFAULT);"
      "CREATE TABLE restrict_child (id INTEGER PRIMARY KEY, pid INT REFERENCES parent (id) ON DELETE "
      "RESTRICT);");
  TableSchema nopk = Describe("nopk");
  EXPECT_EQ(nopk.columns.size(), 2u);
  EXPECT_TRUE(nopk.key.empty());  // the rowid is not a key rowcache serves
  EXPECT_NE(CheckServable(nopk, true).message().find("no primary key"), std::string::npos);

  TableSchema fl = Describe("float_key");
  EXPECT_EQ(fl.columns[0].kind, ColumnKind::kDouble);
  EXPECT_NE(CheckServable(fl, true).message().find("column f: a FLOAT or DOUBLE"), std::string::npos);

  for (const char* name : {"delete_child", "setdefault_child"}) {
    ExpectCascadeChild(Describe(name), "parent");
  }
  ExpectServable(Describe("restrict_child"),
                 {"id integer integer bytes=4 signed | not-null default auto",
                  "pid int integer bytes=4 signed | null default"},
                 {0}, /*auto_increment_key=*/true);
  EXPECT_FALSE(Describe("parent").cascade_child);
}

TEST_F(SqliteSchemaTest, MissingInvalidAndUnservableTables) {
  LoadAnyTableSchema();
  auto missing = DescribeSqliteTable(db_, "nosuch");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_EQ(missing.status().message(), "table nosuch does not exist");
  EXPECT_TRUE(DescribeSqliteTable(db_, "a-b").status().IsInvalidArgument());
  EXPECT_TRUE(DescribeSqliteTable(db_, "x'); DROP TABLE orders; --").status().IsInvalidArgument());
  EXPECT_TRUE(DescribeSqliteTable(db_, "orders").ok());

  Exec("CREATE TABLE huge (id INTEGER PRIMARY KEY, n BIGINT UNSIGNED)");
  auto huge = DescribeSqliteTable(db_, "huge");
  ASSERT_FALSE(huge.ok());
  EXPECT_TRUE(huge.status().IsInvalidArgument());
  EXPECT_EQ(huge.status().message().rfind("table huge: column n: type BIGINT UNSIGNED", 0), 0u)
      << huge.status().ToString();
  // A column without a declared type (SQLite's BLOB affinity) is not one rowcache can serve.
  Exec("CREATE TABLE untyped (id INTEGER PRIMARY KEY, v)");
  auto untyped = DescribeSqliteTable(db_, "untyped");
  EXPECT_TRUE(untyped.status().IsInvalidArgument());
  EXPECT_EQ(untyped.status().message().rfind("table untyped: column v: ", 0), 0u)
      << untyped.status().ToString();
}

// The store's DescribeTable reads its own database: the heroes table
// EnsureSchema creates (TEXT columns, the rowid alias key).
TEST(SqliteStoreSchema, DescribesTheHeroesTableItCreates) {
  auto store = OpenStore("sqlite::memory:");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->DescribeTable("heroes").status().IsNotFound());
  ASSERT_TRUE((*store)->EnsureSchema().ok());
  auto t = (*store)->DescribeTable("heroes");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ExpectServable(*t,
                 {
                     "id integer integer bytes=4 signed | not-null default auto",
                     "hero text string len=4294967295 bytes utf8mb4/binary | not-null",
                     "power text string len=4294967295 bytes utf8mb4/binary | not-null",
                     "name text string len=4294967295 bytes utf8mb4/binary | not-null",
                     "xp integer integer bytes=4 signed | not-null",
                     "color text string len=4294967295 bytes utf8mb4/binary | not-null",
                 },
                 {0}, /*auto_increment_key=*/true);
}

}  // namespace
}  // namespace rowcache
