#include "rowcache/schema.h"

#include <gtest/gtest.h>

namespace rowcache {
namespace {

Column Parsed(std::string_view type, bool sqlite = false) {
  Column c;
  c.name = "c";
  Status s = ParseColumnType(type, c, sqlite);
  EXPECT_TRUE(s.ok()) << type << ": " << s.message();
  return c;
}

TEST(Schema, IntegersBySizeAndSign) {
  Column c = Parsed("int(10) unsigned");
  EXPECT_EQ(c.kind, ColumnKind::kInteger);
  EXPECT_EQ(c.int_bytes, 4);
  EXPECT_TRUE(c.is_unsigned);
  EXPECT_EQ(c.sql_type, "int(10) unsigned");
  c = Parsed("BIGINT UNSIGNED");
  EXPECT_EQ(c.int_bytes, 8);
  EXPECT_TRUE(c.is_unsigned);
  c = Parsed("tinyint(1)");
  EXPECT_EQ(c.int_bytes, 1);
  EXPECT_FALSE(c.is_unsigned);
  EXPECT_EQ(Parsed("mediumint(9)").int_bytes, 3);
  EXPECT_EQ(Parsed("smallint").int_bytes, 2);
  EXPECT_EQ(Parsed("boolean").int_bytes, 1);
  EXPECT_EQ(Parsed("year(4)").kind, ColumnKind::kYear);
  // SQLite's INTEGER reads as MySQL's INT, so heroes answers the same on both.
  EXPECT_EQ(Parsed("INTEGER", true).int_bytes, 4);
  Column big;
  EXPECT_FALSE(ParseColumnType("bigint unsigned", big, /*sqlite=*/true).ok());
}

TEST(Schema, DecimalsFloatsAndStrings) {
  Column c = Parsed("decimal(12,2)");
  EXPECT_EQ(c.kind, ColumnKind::kDecimal);
  EXPECT_EQ(c.precision, 12);
  EXPECT_EQ(c.scale, 2);
  c = Parsed("decimal");
  EXPECT_EQ(c.precision, 10);
  EXPECT_EQ(c.scale, 0);
  EXPECT_EQ(Parsed("decimal(65,30)").scale, 30);
  EXPECT_EQ(Parsed("float").kind, ColumnKind::kFloat);
  EXPECT_EQ(Parsed("float(7,3)").kind, ColumnKind::kFloat);
  EXPECT_EQ(Parsed("float(30)").kind, ColumnKind::kDouble);
  EXPECT_EQ(Parsed("double").kind, ColumnKind::kDouble);
  c = Parsed("char(5)");
  EXPECT_EQ(c.kind, ColumnKind::kString);
  EXPECT_TRUE(c.fixed_length);
  EXPECT_TRUE(c.length_in_chars);
  EXPECT_EQ(c.length, 5u);
  c = Parsed("varchar(20)");
  EXPECT_FALSE(c.fixed_length);
  EXPECT_EQ(c.length, 20u);
  c = Parsed("mediumtext");
  EXPECT_FALSE(c.length_in_chars);
  EXPECT_EQ(c.length, 16777215u);
  c = Parsed("binary(4)");
  EXPECT_EQ(c.kind, ColumnKind::kBinary);
  EXPECT_TRUE(c.fixed_length);
  EXPECT_EQ(c.length, 4u);
  EXPECT_EQ(Parsed("blob").length, 65535u);
}

TEST(Schema, TemporalBitEnumSetJson) {
  EXPECT_EQ(Parsed("date").kind, ColumnKind::kDate);
  Column c = Parsed("datetime(3)");
  EXPECT_EQ(c.kind, ColumnKind::kDateTime);
  EXPECT_EQ(c.fsp, 3);
  EXPECT_EQ(Parsed("timestamp(6)").fsp, 6);
  EXPECT_EQ(Parsed("time(2)").kind, ColumnKind::kTime);
  EXPECT_EQ(Parsed("datetime").fsp, 0);
  c = Parsed("bit(12)");
  EXPECT_EQ(c.kind, ColumnKind::kBit);
  EXPECT_EQ(c.length, 12u);
  c = Parsed("enum('a','it''s','x,y','(p)')");
  EXPECT_EQ(c.kind, ColumnKind::kEnum);
  EXPECT_EQ(c.members, (std::vector<std::string>{"a", "it's", "x,y", "(p)"}));
  c = Parsed("set('red','green')");
  EXPECT_EQ(c.kind, ColumnKind::kSet);
  EXPECT_EQ(c.members.size(), 2u);
  EXPECT_EQ(Parsed("json").kind, ColumnKind::kJson);
}

TEST(Schema, UnknownTypesAreRefusedByName) {
  for (const char* t : {"geometry", "point", "uuid", "inet6", "datetime(7)", "decimal(70,2)", "enum()",
                        "varchar", "bit(65)", ""}) {
    Column c;
    Status s = ParseColumnType(t, c);
    EXPECT_FALSE(s.ok()) << t;
    if (*t) {
      EXPECT_NE(s.message().find(t), std::string::npos) << s.message();
    }
  }
}

TEST(Schema, ServableTablesAndWhyNot) {
  TableSchema heroes = HeroesSchema();
  EXPECT_TRUE(CheckServable(heroes, false).ok());
  EXPECT_TRUE(heroes.HasAutoIncrementKey());
  EXPECT_EQ(heroes.ColumnIndex("xp"), 4u);
  EXPECT_EQ(heroes.ColumnIndex("nope"), heroes.columns.size());

  auto refused = [](TableSchema t, std::string_view want) {
    Status s = CheckServable(t, false);
    EXPECT_FALSE(s.ok()) << want;
    EXPECT_NE(s.message().find(want), std::string::npos) << s.message();
  };
  TableSchema t = heroes;
  t.key.clear();
  refused(t, "table heroes: no primary key");
  t = heroes;
  t.columns[0].kind = ColumnKind::kDouble;
  refused(t, "column id: a FLOAT or DOUBLE column");
  t = heroes;
  t.columns[0].prefix_indexed = true;
  refused(t, "column id: the primary key holds only a prefix");
  t = heroes;
  t.columns[2].name = "bad`name";
  refused(t, "column bad`name");
  t = heroes;
  t.columns[0].nullable = true;
  refused(t, "column id: a key column that may be NULL");
  t = heroes;
  t.cascade_child = true;
  t.cascade_parent = "teams";
  refused(t, "CASCADE from table teams");
  EXPECT_TRUE(CheckServable(t, /*allow_cascade_children=*/true).ok());
}

TEST(Schema, FingerprintFollowsShapeOnly) {
  TableSchema a = HeroesSchema();
  TableSchema b = HeroesSchema();
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
  b.columns[1].has_default = true;  // defaults are not part of the shape
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
  b = a;
  b.columns[1].length = 21;
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
  b = a;
  b.columns.push_back(b.columns[1]);
  b.columns.back().name = "extra";
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
  b = a;
  b.columns[4].nullable = true;
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
  b = a;
  b.columns[1].collation = "utf8mb4_general_ci";
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
  b = a;
  b.key = {0, 1};
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
  EXPECT_NE(Fingerprint(HeroesSchema("other")), Fingerprint(a));
}

TEST(Schema, Names) {
  EXPECT_TRUE(IsValidTableName("heroes_2"));
  EXPECT_FALSE(IsValidTableName("a-b"));
  EXPECT_FALSE(IsValidTableName(std::string(65, 'a')));
  EXPECT_TRUE(IsValidColumnName("price$"));
  EXPECT_FALSE(IsValidColumnName("a b"));
  EXPECT_FALSE(IsValidColumnName(""));
}

}  // namespace
}  // namespace rowcache
