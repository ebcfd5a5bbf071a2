// --aurora-native: Aurora MySQL reads the CSV from S3 itself
// (LOAD DATA FROM S3), so the rows never pass through the loader. The cluster
// needs an IAM role allowed s3:GetObject (and s3:ListBucket) on the bucket,
// named in the cluster parameter aws_default_s3_role (or
// aurora_load_from_s3_role) and associated with the cluster, and the user
// needs the AWS_LOAD_S3_ACCESS role (Aurora MySQL 3) or LOAD FROM S3
// privilege (Aurora MySQL 2). See docs/loading.md.
#pragma once

#include <string>
#include <string_view>

#include "rowcache/status.h"
#include "rowcache/store.h"

namespace rowcache {

struct AuroraLoadSpec {
  std::string s3_url;                // s3://bucket/key
  std::string region = "us-east-1";  // written into the URI as s3-REGION://
  std::string table = "heroes";
  LoadMode mode = LoadMode::kSkipExisting;  // IGNORE, or REPLACE
  int skip_lines = 0;                       // leading lines to skip (blank lines, a header)
};

// The statement, e.g.
//   LOAD DATA FROM S3 's3-us-east-1://bucket/mp6input.csv' IGNORE INTO TABLE `heroes`
//   CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY ''
//   LINES TERMINATED BY '\n' IGNORE 1 LINES (id, hero, power, name, xp, @xp_raw...)
// InvalidArgument for a malformed URL, bucket, region or table name.
Result<std::string> BuildAuroraLoadSql(const AuroraLoadSpec& spec);

// How many lines at the start of a CSV are not data: blank lines, then one
// header row (id,hero,power,name,xp,color). head: the first bytes of the file.
int LeadingLinesToSkip(std::string_view head);

}  // namespace rowcache
