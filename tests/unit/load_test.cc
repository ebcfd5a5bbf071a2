// CSV parsing at every chunk boundary, row validation, and loading into the
// embedded store with cache invalidation.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cache/memory_cache.h"
#include "load/csv.h"
#include "load/loader.h"

namespace rowcache {
namespace {

std::vector<CsvRecord> ParseChunked(const std::string& text, size_t chunk, std::vector<std::string>* errors) {
  CsvParser p;
  std::vector<CsvRecord> out;
  for (size_t i = 0; i < text.size(); i += chunk)
    p.Feed(std::string_view(text).substr(i, chunk), &out, errors);
  p.Finish(&out, errors);
  return out;
}

TEST(Csv, SameRecordsWhateverTheChunking) {
  const std::string text =
      "\r\nid,hero,power,name,xp,color\r\n1,yes,fly,batman,100,black\n\n"
      "2,\"a,b\",\"say \"\"hi\"\"\",\"multi\nline\",7,\"\"\n3,x,y,z,-4,w";
  std::vector<std::string> errs0;
  auto want = ParseChunked(text, text.size(), &errs0);
  ASSERT_TRUE(errs0.empty());
  ASSERT_EQ(want.size(), 4u);
  EXPECT_TRUE(IsHeader(want[0]));
  EXPECT_EQ(want[0].line, 2);
  EXPECT_EQ(want[1].line, 3);
  EXPECT_EQ(want[1].fields, (std::vector<std::string>{"1", "yes", "fly", "batman", "100", "black"}));
  EXPECT_EQ(want[2].line, 5);
  EXPECT_EQ(want[2].fields, (std::vector<std::string>{"2", "a,b", "say \"hi\"", "multi\nline", "7", ""}));
  EXPECT_EQ(want[3].line, 7);
  EXPECT_EQ(want[3].fields.back(), "w");
  for (size_t chunk = 1; chunk < text.size(); ++chunk) {
    std::vector<std::string> errs;
    auto got = ParseChunked(text, chunk, &errs);
    ASSERT_TRUE(errs.empty()) << chunk;
    ASSERT_EQ(got.size(), want.size()) << chunk;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].fields, want[i].fields) << "chunk " << chunk << " record " << i;
      EXPECT_EQ(got[i].line, want[i].line) << "chunk " << chunk << " record " << i;
    }
  }
}

TEST(Csv, RowValidationNamesLineAndField) {
  auto check = [](const std::string& line, const std::string& needle) {
    std::vector<std::string> errs;
    auto recs = ParseChunked("\n" + line + "\n", 1000, &errs);
    ASSERT_EQ(recs.size(), 1u) << line;
    auto r = RowFromRecord(recs[0]);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  check("1,a,b,c,d", "line 2: expected 6 columns");
  check("x,a,b,c,1,d", "line 2: id: 'x'");
  check("0,a,b,c,1,d", "line 2: id: '0'");
  check("1,a,b,c,1.5,d", "line 2: xp: '1.5'");
  check("1,a,b,c,99999999999,d", "line 2: xp:");
  check("1,aaaaaaaaaaaaaaaaaaaaa,b,c,1,d", "line 2: hero: 21 characters");
  check("1,a,b,c,1,\xff", "line 2: color: not valid UTF-8");
  std::vector<std::string> errs;
  auto ok = ParseChunked("5, a ,b,c, 12 ,d", 3, &errs);
  auto r = RowFromRecord(ok[0]);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hero, " a ");  // strings are kept verbatim; numbers may be padded
  EXPECT_EQ(r->xp, 12);
  std::vector<std::string> errs2;
  ParseChunked("1,\"open", 4, &errs2);
  ASSERT_EQ(errs2.size(), 1u);
  EXPECT_NE(errs2[0].find("line 1: unterminated"), std::string::npos);
}

TEST(Csv, ARecordPastItsBoundsStopsGrowingAndIsReportedOnce) {
  // A record of commas only: past the byte bound no field is added (each
  // comma used to append an empty one), and the record is one error.
  CsvParser p(/*max_record_bytes=*/1000, /*max_fields=*/64);
  std::vector<CsvRecord> out;
  std::vector<std::string> errs;
  p.Feed("1,a,b,c,1,d\n", &out, &errs);
  const std::string commas(100000, ',');
  for (int i = 0; i < 10; ++i) p.Feed(commas, &out, &errs);
  EXPECT_LE(p.BufferedFieldsForTest(), 64u);
  p.Feed("\n2,a,b,c,2,d\n", &out, &errs);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].line, 3);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "line 2: record longer than 1000 bytes");

  // Within the byte bound, more fields than allowed: an error, nothing kept past the bound.
  CsvParser q(/*max_record_bytes=*/1 << 20, /*max_fields=*/8);
  out.clear();
  errs.clear();
  q.Feed(std::string(500, ','), &out, &errs);
  EXPECT_LE(q.BufferedFieldsForTest(), 8u);
  q.Feed("\n\"x\ny\",1,2,3,4,5,6,7,8,9\n1,a,b,c,1,d", &out, &errs);
  q.Finish(&out, &errs);
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0], "line 1: more than 8 fields");
  EXPECT_EQ(errs[1], "line 2: more than 8 fields");  // the line where the record began
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].line, 4);

  // A long record without a line end, at the end of the input.
  CsvParser r(/*max_record_bytes=*/100);
  out.clear();
  errs.clear();
  r.Feed(std::string(5000, 'x'), &out, &errs);
  r.Finish(&out, &errs);
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "line 1: record longer than 100 bytes");
}

TEST(Csv, AByteOrderMarkAtTheStartIsDropped) {
  const std::string bom = "\xEF\xBB\xBF";
  for (const std::string& body :
       {std::string("id,hero,power,name,xp,color\n1,a,b,c,1,d\n"), std::string("1,a,b,c,1,d\n")}) {
    for (size_t chunk = 1; chunk <= 5; ++chunk) {
      std::vector<std::string> errs;
      auto recs = ParseChunked(bom + body, chunk, &errs);
      ASSERT_TRUE(errs.empty()) << chunk;
      ASSERT_FALSE(recs.empty());
      if (recs.size() == 2) EXPECT_TRUE(IsHeader(recs[0])) << chunk;
      EXPECT_TRUE(RowFromRecord(recs.back()).ok()) << chunk;
    }
  }
  // Only at the very start, and bytes that merely begin like one are kept.
  std::vector<std::string> errs;
  auto recs = ParseChunked("1,a,b,c,1,d\n" + bom + "2,a,b,c,1,d\n\xEF\xBBx", 1, &errs);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].fields[0], bom + "2");
  recs = ParseChunked("\xEF\xBB", 1, &errs);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].fields[0], "\xEF\xBB");
}

TEST(Csv, BadRowMessagesAreEscapedAndBounded) {
  EXPECT_EQ(EscapeBytes("plain caf\xC3\xA9 \xF0\x9F\x98\x80", 100), "plain caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(EscapeBytes("\x1b[2J\x07\x7f\\", 100), "\\x1b[2J\\x07\\x7f\\\\");
  const std::string c1 = std::string("\xC2\x9B") + "31m \xff\xC3";  // CSI as a C1 control, bad UTF-8
  EXPECT_EQ(EscapeBytes(c1, 100), "\\xc2\\x9b31m \\xff\\xc3");
  EXPECT_EQ(EscapeBytes("abcdef", 4), "abcd...");
  EXPECT_EQ(EscapeBytes("abc\xC3\xA9", 4), "abc...");  // never half a character
  std::vector<std::string> errs;
  auto recs = ParseChunked("\x1b]0;owned\x07" + std::string(1000, 'A') + ",a,b,c,\x1b[31m,d\n", 1000, &errs);
  ASSERT_EQ(recs.size(), 1u);
  auto r = RowFromRecord(recs[0]);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("id: '\\x1b]0;owned\\x07AAA"), std::string::npos) << m;
  EXPECT_LT(m.size(), 200u) << m;
  for (char ch : m) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << m;
  recs[0].fields[0] = "7";
  r = RowFromRecord(recs[0]);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("xp: '\\x1b[31m'"), std::string::npos) << r.status().message();
}

TEST(Csv, IdsLeaveRoomForTheNextAutoIncrement) {
  auto row = [](const std::string& id) { return RowFromRecord(CsvRecord{1, {id, "a", "b", "c", "1", "d"}}); };
  ASSERT_TRUE(row("2147483646").ok());
  EXPECT_EQ(row("2147483646")->id, kMaxLoadedId);
  auto at_max = row("2147483647");
  ASSERT_FALSE(at_max.ok());
  EXPECT_NE(at_max.status().message().find("line 1: id: 2147483647 leaves no room"), std::string::npos)
      << at_max.status().message();
  auto past = row("2147483648");
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find("is not an id (1 to 2147483646)"), std::string::npos)
      << past.status().message();
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = OpenStore("sqlite::memory:");
    ASSERT_TRUE(s.ok());
    store_ = std::move(s.value());
    ASSERT_TRUE(store_->EnsureSchema().ok());
    path_ = std::filesystem::temp_directory_path() / ("rowcache_load_" + std::to_string(::getpid()) + ".csv");
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::unique_ptr<ByteSource> Write(const std::string& text) {
    std::ofstream(path_) << text;
    return std::move(OpenSource(path_.string()).value());
  }
  std::string HeroOf(int64_t id) {
    auto rows = store_->Get(std::vector<int64_t>{id});
    return rows.ok() && !rows->empty() ? (*rows)[0].hero : "<none>";
  }
  std::unique_ptr<Store> store_;
  std::filesystem::path path_;
};

TEST_F(LoaderTest, ReRunningDoesNotDuplicateAndReplaceOverwrites) {
  const std::string csv = "\n1,yes,fly,batman,100,black\n2,yes,run,superman,10,red\n";
  LoadOptions o;
  o.batch_rows = 1;
  auto r1 = LoadCsv(*Write(csv), *store_, o);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->inserted, 2);
  auto r2 = LoadCsv(*Write(csv), *store_, o);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->inserted, 0);
  EXPECT_EQ(r2->skipped, 2);
  auto r3 = LoadCsv(*Write("1,changed,fly,batman,100,black\n"), *store_, o);
  EXPECT_EQ(HeroOf(1), "yes");
  o.mode = LoadMode::kReplace;
  auto r4 = LoadCsv(*Write("1,changed,fly,batman,100,black\n"), *store_, o);
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ(r4->replaced, 1);
  EXPECT_EQ(HeroOf(1), "changed");
}

TEST_F(LoaderTest, BadRowsAreSkippedOrStopAStrictLoad) {
  const std::string csv = "1,a,b,c,1,d\n2,a,b,c,oops,d\n3,a,b,c,3,d\n";
  LoadOptions strict;
  strict.strict = true;
  auto s = LoadCsv(*Write(csv), *store_, strict);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("line 2: xp"), std::string::npos) << s.status().message();
  EXPECT_EQ(HeroOf(1), "<none>");  // nothing loaded
  LoadOptions lenient;
  auto l = LoadCsv(*Write(csv), *store_, lenient);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->inserted, 2);
  EXPECT_EQ(l->bad, 1);
  ASSERT_EQ(l->bad_rows.size(), 1u);
  EXPECT_NE(l->bad_rows[0].find("line 2"), std::string::npos);
}

TEST_F(LoaderTest, InvalidatesTheLoadedIdsInACache) {
  auto cache = NewMemoryCache(100);
  ASSERT_TRUE(
      cache->SetMany(std::vector<CacheEntry>{{"rowcache:heroes:{1}", "old", 100}, {"other:1", "x", 100}})
          .ok());
  LoadOptions o;
  o.mode = LoadMode::kReplace;
  o.cache = cache.get();
  auto r = LoadCsv(*Write("1,new,b,c,1,d\n"), *store_, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->invalidated, 1);
  auto v = cache->MGet(std::vector<std::string>{"rowcache:heroes:{1}", "rowcache:heroes:{1}:gen", "other:1"});
  EXPECT_FALSE((*v)[0]);
  EXPECT_FALSE((*v)[1]);  // guard deleted: a fill under a lease from before the load cannot land
  EXPECT_EQ((*v)[2], "x");
}

TEST_F(LoaderTest, TheSampleFileLoads) {
  std::filesystem::path sample = std::filesystem::path(ROWCACHE_SOURCE_DIR) / "data" / "mp6input.csv";
  auto src = OpenSource(sample.string());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  auto r = LoadCsv(**src, *store_, LoadOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->inserted, 25);
  EXPECT_EQ(r->bad, 0);
  EXPECT_EQ(HeroOf(1), "yes");
  auto row = store_->Get(std::vector<int64_t>{1});
  EXPECT_EQ((*row)[0], (Row{1, "yes", "fly", "batman", 100, "black"}));
}

}  // namespace
}  // namespace rowcache
