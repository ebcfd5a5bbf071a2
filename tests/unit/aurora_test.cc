// The statement --aurora-native sends (it cannot run here: LOAD DATA FROM S3
// is Aurora's), and the detection of leading non-data lines.
#include "load/aurora.h"

#include <gtest/gtest.h>

namespace rowcache {
namespace {

TEST(AuroraLoadSql, TheAssignmentFile) {
  AuroraLoadSpec spec;
  spec.s3_url = "s3://my-bucket/mp6input.csv";
  spec.skip_lines = 1;
  auto sql = BuildAuroraLoadSql(spec);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  EXPECT_EQ(*sql,
            "LOAD DATA FROM S3 's3-us-east-1://my-bucket/mp6input.csv' IGNORE INTO TABLE `heroes` "
            "CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
            "LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, hero, power, name, xp, @color) "
            "SET color = TRIM(TRAILING '\\r' FROM @color)");
}

TEST(AuroraLoadSql, ReplaceRegionTableAndNoSkippedLines) {
  AuroraLoadSpec spec;
  spec.s3_url = "s3://b.example-1/dir/rows 2024.csv";
  spec.region = "eu-west-3";
  spec.table = "Heroes_2";
  spec.mode = LoadMode::kReplace;
  auto sql = BuildAuroraLoadSql(spec);
  ASSERT_TRUE(sql.ok());
  EXPECT_NE(sql->find("FROM S3 's3-eu-west-3://b.example-1/dir/rows 2024.csv' REPLACE INTO TABLE `Heroes_2`"),
            std::string::npos)
      << *sql;
  EXPECT_EQ(sql->find("IGNORE"), std::string::npos) << *sql;
}

TEST(AuroraLoadSql, QuotesInTheKeyCannotEndTheLiteral) {
  AuroraLoadSpec spec;
  spec.s3_url = "s3://bucket/it's\\here'; DROP TABLE heroes; --";
  auto sql = BuildAuroraLoadSql(spec);
  ASSERT_TRUE(sql.ok());
  EXPECT_NE(sql->find("'s3-us-east-1://bucket/it\\'s\\\\here\\'; DROP TABLE heroes; --' IGNORE"),
            std::string::npos)
      << *sql;
}

TEST(AuroraLoadSql, BadInputsAreNamed) {
  auto bad = [](AuroraLoadSpec spec) {
    auto r = BuildAuroraLoadSql(spec);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  };
  AuroraLoadSpec s;
  s.s3_url = "/tmp/file.csv";
  EXPECT_NE(bad(s).find("s3://"), std::string::npos);
  s.s3_url = "s3://bucket";
  EXPECT_NE(bad(s).find("s3://bucket/key"), std::string::npos);
  s.s3_url = "s3://Bad_Bucket/k";
  EXPECT_NE(bad(s).find("bucket name"), std::string::npos);
  s.s3_url = "s3://bucket/k";
  s.region = "us-east-1'; --";
  EXPECT_NE(bad(s).find("--region"), std::string::npos);
  s.region = "us-east-1";
  s.table = "heroes; DROP";
  EXPECT_NE(bad(s).find("table"), std::string::npos);
  s.table = "heroes";
  s.s3_url = "s3://bucket/line\nbreak";
  EXPECT_NE(bad(s).find("control character"), std::string::npos);
}

TEST(LeadingLinesToSkip, BlankLinesAndAHeader) {
  EXPECT_EQ(LeadingLinesToSkip("\n1,yes,fly,batman,100,black\n2,yes,run,superman,10,red\n"), 1);
  EXPECT_EQ(LeadingLinesToSkip("id,hero,power,name,xp,color\n1,yes,fly,batman,100,black\n"), 1);
  EXPECT_EQ(LeadingLinesToSkip("\n\r\n\nID, Hero ,power,name,xp,color\r\n1,a,b,c,1,d\r\n"), 4);
  EXPECT_EQ(LeadingLinesToSkip("1,yes,fly,batman,100,black\n"), 0);
  EXPECT_EQ(LeadingLinesToSkip(""), 0);
  // A head cut in the middle of a line counts only complete lines.
  EXPECT_EQ(LeadingLinesToSkip("\nid,hero,pow"), 1);
}

}  // namespace
}  // namespace rowcache
