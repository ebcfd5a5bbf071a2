// rowcache load: a CSV file into the database (and, optionally, invalidate the
// loaded ids in a running service's cache).
#include <unistd.h>

#include <cstdio>

#include "exe/commands.h"
#include "exe/config.h"
#include "load/loader.h"
#include "load/s3_source.h"

namespace rowcache {

namespace {

constexpr const char* kHelp = R"(usage: rowcache load --db URL --from FILE.csv [flags]

  --db URL           mysql://user:pass@host:port/db[?table=T] | sqlite:PATH (env ROWCACHE_DB)
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
  --quiet            only the summary

Exit status: 0 loaded (bad rows, if any, were skipped and listed); 1 nothing or not all
was loaded (strict with bad rows, source or database error); 2 usage.
)";

}  // namespace

int LoadMain(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {"db", "from", "cache", "key-prefix", "batch-rows", "region", "s3-endpoint"},
                            {"replace", "strict", "quiet", "help"});
  if (!flags.ok()) {
    std::fprintf(stderr, "rowcache load: %s\n\n%s", flags.status().message().c_str(), kHelp);
    return 2;
  }
  if (flags->Bool("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  std::string db = flags->Get("db", "ROWCACHE_DB", "sqlite:rowcache.db");
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
  std::unique_ptr<Cache> cache;
  if (flags->Has("cache")) {
    auto c = OpenCache(flags->Get("cache"));
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
                                                              static_cast<double>(*p.total_bytes))) + "% "
                            : "";
      std::fprintf(stderr, "\r%s%lld rows, %.1f MB, %.0f rows/s, %lld bad   ", pct.c_str(),
                   static_cast<long long>(p.rows), mb, rate, static_cast<long long>(p.bad));
    } else if (!quiet && p.seconds - last_log >= 5) {
      last_log = p.seconds;
      std::fprintf(stderr, "load: %lld rows, %.1f MB, %.0f rows/s\n", static_cast<long long>(p.rows), mb, rate);
    }
  };

  LoadReport rep;
  auto r = LoadCsv(**src, **store, opts, &rep);
  if (tty) std::fputs("\n", stderr);
  for (const auto& b : rep.bad_rows) std::fprintf(stderr, "bad row: %s\n", b.c_str());
  if (rep.bad > static_cast<int64_t>(rep.bad_rows.size())) {
    std::fprintf(stderr, "... and %lld more bad rows\n", static_cast<long long>(rep.bad - rep.bad_rows.size()));
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
  std::printf("loaded %lld rows from %s (%lld new, %lld replaced, %lld kept as they were), %lld bad rows "
              "skipped, %.2f s, %.0f rows/s%s\n",
              static_cast<long long>(total), (*src)->Describe().c_str(), static_cast<long long>(rep.inserted),
              static_cast<long long>(rep.replaced), static_cast<long long>(rep.skipped),
              static_cast<long long>(rep.bad), rep.seconds, rate,
              opts.cache ? (", " + std::to_string(rep.invalidated) + " cache entries invalidated").c_str() : "");
  return 0;
}

}  // namespace rowcache
