// rowcache load: a CSV file into the database (and, optionally, invalidate the
// loaded ids in a running service's cache).
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "aws/s3_source.h"
#include "exe/commands.h"
#include "exe/config.h"
#include "load/aurora.h"
#include "load/loader.h"
#include "rowcache/url.h"
#include "store/mysql/store.h"

namespace rowcache {

namespace {

constexpr const char* kHelp = R"(usage: rowcache load --db URL --from FILE.csv [flags]

  --db URL           mysql://user:pass@host:port/db[?table=T] | sqlite:PATH (env ROWCACHE_DB)
  --db-password-file PATH, --cache-password-file PATH
                     the database's / cache's password from a file, in place of the URL's, so it is on no
                     command line (env ROWCACHE_DB_PASSWORD_FILE, ROWCACHE_CACHE_PASSWORD_FILE)
  --from FILE|s3://bucket/key
                     CSV of id,hero,power,name,xp,color; blank lines and a header row are fine; - for stdin.
                     S3 credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional)
  --region R         S3 region (default us-east-1; env AWS_REGION)
  --s3-endpoint URL  an S3-compatible endpoint, e.g. http://127.0.0.1:4569 (path-style requests)
  --replace          overwrite rows whose id exists (default: keep them, so re-running adds nothing)
  --strict           check every row first and load nothing if any is bad (default: skip and report bad rows)
  --cache URL        also invalidate the loaded ids in this cache (redis://..., the service's --cache)
  --key-prefix P     the service's cache key prefix (default rowcache:heroes:)
  --batch-rows N     rows per transaction (default 50000)
  --aurora-native    have Aurora MySQL read the object itself (LOAD DATA FROM S3): --from s3://... and a
                     mysql:// --db; the cluster needs an S3 role (docs/loading.md). Rows are not checked
                     by rowcache; --strict and --cache do not apply.
  --skip-lines N     with --aurora-native: leading lines to skip (default: detected from the object's first
                     bytes, blank lines and a header; needs S3 credentials here)
  --print-sql        with --aurora-native: print the statement and exit
  --quiet            only the summary

Exit status: 0 loaded (bad rows, if any, were skipped and listed); 1 nothing or not all
was loaded (strict with bad rows, source or database error); 2 usage.
)";

int AuroraNativeLoad(const Flags& flags, const std::string& db, const std::string& from,
                     const S3Options& s3) {
  auto fail = [](int code, const std::string& msg) {
    std::fprintf(stderr, "rowcache load: %s\n", msg.c_str());
    return code;
  };
  if (flags.Bool("strict") || flags.Has("cache")) {
    return fail(
        2,
        "--aurora-native: rows go from S3 to Aurora without passing through rowcache, so --strict "
        "and --cache do not apply (load without --aurora-native to check rows and invalidate the cache)");
  }
  auto url = ParseUrl(db);
  if (!url.ok() || (url->scheme != "mysql" && url->scheme != "mariadb")) {
    return fail(2, "--aurora-native needs a mysql:// --db (Aurora MySQL), got '" + RedactUrlText(db) + "'");
  }
  AuroraLoadSpec spec;
  spec.s3_url = from;
  spec.region = s3.region;
  if (auto it = url->query.find("table"); it != url->query.end()) spec.table = it->second;
  spec.mode = flags.Bool("replace") ? LoadMode::kReplace : LoadMode::kSkipExisting;
  if (flags.Has("skip-lines")) {
    auto n = ParseIntFlag("skip-lines", flags.Get("skip-lines"), 0, 1000000);
    if (!n.ok()) return fail(2, n.status().message());
    spec.skip_lines = static_cast<int>(*n);
  } else {
    // Look at the object's first bytes for blank lines and a header.
    S3Options head_opts = s3;
    head_opts.buffer_bytes = 1 << 16;
    auto src = OpenSource(from, &head_opts);
    if (!src.ok()) {
      return fail(2, "--aurora-native: cannot look at the start of " + from + " (" + src.status().message() +
                         "); pass --skip-lines N (1 for a blank first line or a header, 0 for none)");
    }
    std::string head(1 << 16, '\0');
    size_t got = 0;
    while (got < head.size()) {
      auto n = (*src)->Read(head.data() + got, head.size() - got);
      if (!n.ok())
        return fail(1, "--aurora-native: reading the start of " + from + ": " + n.status().message());
      if (*n == 0) break;
      got += *n;
    }
    head.resize(got);
    spec.skip_lines = LeadingLinesToSkip(head);
  }
  auto sql = BuildAuroraLoadSql(spec);
  if (!sql.ok()) return fail(2, sql.status().message());
  if (flags.Bool("print-sql")) {
    std::printf("%s;\n", sql->c_str());
    return 0;
  }
  auto store = OpenStore(db);
  if (!store.ok()) return fail(2, store.status().message());
  Status s = (*store)->EnsureSchema();
  if (!s.ok()) return fail(1, s.ToString());
  if (auto schema = ServedTableSchema(**store); !schema.ok()) {
    return fail(schema.status().IsInvalidArgument() ? 2 : 1, schema.status().message());
  }
  StoreOptions long_running;
  long_running.timeout_seconds = 3600;  // the server reads the whole object before answering
  auto t0 = std::chrono::steady_clock::now();
  auto info = MysqlExecute(*url, long_running, *sql);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!info.ok()) {
    return fail(
        1, "LOAD DATA FROM S3 failed: " + info.status().message() +
               " (it runs only on Aurora MySQL, whose cluster needs an IAM role for S3: docs/loading.md)");
  }
  std::printf("Aurora loaded %s from %s in %.2f s (%s)\n", spec.table.c_str(), from.c_str(), secs,
              info->empty() ? "no counts reported" : info->c_str());
  return 0;
}

}  // namespace

int LoadMain(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args,
                            {"db", "from", "cache", "key-prefix", "batch-rows", "region", "s3-endpoint",
                             "skip-lines", "db-password-file", "cache-password-file"},
                            {"replace", "strict", "quiet", "help", "aurora-native", "print-sql"});
  if (!flags.ok()) {
    std::fprintf(stderr, "rowcache load: %s\n\n%s", flags.status().message().c_str(), kHelp);
    return 2;
  }
  if (flags->Bool("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  std::string db = flags->Get("db", "ROWCACHE_DB", "sqlite:rowcache.db");
  std::string cache_url = flags->Get("cache");
  if (Status pw = ApplyPasswordFiles(*flags, &db, &cache_url); !pw.ok()) {
    std::fprintf(stderr, "rowcache load: %s\n", pw.message().c_str());
    return 2;
  }
  std::string from = flags->Get("from");
  if (from.empty()) {
    std::fprintf(stderr, "rowcache load: --from FILE is required\n\n%s", kHelp);
    return 2;
  }
  auto batch = ParseIntFlag("batch-rows", flags->Get("batch-rows", nullptr, "50000"), 1, 1000000);
  if (!batch.ok()) {
    std::fprintf(stderr, "rowcache load: %s\n", batch.status().message().c_str());
    return 2;
  }
  LoadOptions opts;
  opts.mode = flags->Bool("replace") ? LoadMode::kReplace : LoadMode::kSkipExisting;
  opts.strict = flags->Bool("strict");
  opts.batch_rows = static_cast<size_t>(*batch);
  opts.key_prefix = flags->Get("key-prefix", "ROWCACHE_KEY_PREFIX", opts.key_prefix);

  S3Options s3;
  s3.region = flags->Get("region", "AWS_REGION", "us-east-1");
  s3.endpoint = flags->Get("s3-endpoint");
  s3.creds = CredentialsFromEnvironment();
  if (flags->Bool("aurora-native")) return AuroraNativeLoad(*flags, db, from, s3);
  auto src = OpenSource(from, &s3);
  if (!src.ok()) {
    std::fprintf(stderr, "rowcache load: %s\n", src.status().message().c_str());
    return src.status().IsInvalidArgument() ? 2 : 1;
  }
  auto store = OpenStore(db);
  if (!store.ok()) {
    std::fprintf(stderr, "rowcache load: %s\n", store.status().message().c_str());
    return 2;
  }
  Status s = (*store)->EnsureSchema();
  if (!s.ok()) {
    std::fprintf(stderr, "rowcache load: %s\n", s.ToString().c_str());
    return 1;
  }
  // The table the rows go to, checked as serve checks it (heroes' shape, a key).
  if (auto schema = ServedTableSchema(**store); !schema.ok()) {
    std::fprintf(stderr, "rowcache load: %s\n", schema.status().message().c_str());
    return schema.status().IsInvalidArgument() ? 2 : 1;
  }
  std::unique_ptr<Cache> cache;
  if (flags->Has("cache")) {
    auto c = OpenCache(cache_url);
    if (!c.ok()) {
      std::fprintf(stderr, "rowcache load: %s\n", c.status().message().c_str());
      return 2;
    }
    cache = std::move(c.value());
    opts.cache = cache.get();
  }
  bool tty = ::isatty(STDERR_FILENO) && !flags->Bool("quiet");
  bool quiet = flags->Bool("quiet");
  double last_log = 0;
  opts.progress = [&](const LoadProgress& p) {
    double mb = static_cast<double>(p.bytes) / 1e6;
    double rate = p.seconds > 0 ? static_cast<double>(p.rows) / p.seconds : 0;
    if (tty) {
      std::string pct = p.total_bytes && *p.total_bytes
                            ? std::to_string(static_cast<int>(100.0 * static_cast<double>(p.bytes) /
                                                              static_cast<double>(*p.total_bytes))) +
                                  "% "
                            : "";
      std::fprintf(stderr, "\r%s%lld rows, %.1f MB, %.0f rows/s, %lld bad   ", pct.c_str(),
                   static_cast<long long>(p.rows), mb, rate, static_cast<long long>(p.bad));
    } else if (!quiet && p.seconds - last_log >= 5) {
      last_log = p.seconds;
      std::fprintf(stderr, "load: %lld rows, %.1f MB, %.0f rows/s\n", static_cast<long long>(p.rows), mb,
                   rate);
    }
  };

  LoadReport rep;
  auto r = LoadCsv(**src, **store, opts, &rep);
  if (tty) std::fputs("\n", stderr);
  for (const auto& b : rep.bad_rows) std::fprintf(stderr, "bad row: %s\n", b.c_str());
  if (rep.bad > static_cast<int64_t>(rep.bad_rows.size())) {
    std::fprintf(stderr, "... and %lld more bad rows\n",
                 static_cast<long long>(rep.bad - rep.bad_rows.size()));
  }
  int64_t total = rep.inserted + rep.replaced + rep.skipped;
  double rate = rep.seconds > 0 ? static_cast<double>(total) / rep.seconds : 0;
  if (!r.ok()) {
    std::fprintf(stderr, "rowcache load: %s\n", r.status().message().c_str());
    if (total > 0) {
      std::fprintf(stderr,
                   "rowcache load: %lld rows were committed before the failure (batches of %zu rows are "
                   "all-or-nothing); re-run the same command to finish\n",
                   static_cast<long long>(total), opts.batch_rows);
    }
    return 1;
  }
  std::printf(
      "loaded %lld rows from %s (%lld new, %lld replaced, %lld kept as they were), %lld bad rows "
      "skipped, %.2f s, %.0f rows/s%s\n",
      static_cast<long long>(total), (*src)->Describe().c_str(), static_cast<long long>(rep.inserted),
      static_cast<long long>(rep.replaced), static_cast<long long>(rep.skipped),
      static_cast<long long>(rep.bad), rep.seconds, rate,
      opts.cache ? (", " + std::to_string(rep.invalidated) + " cache entries invalidated").c_str() : "");
  return 0;
}

}  // namespace rowcache
