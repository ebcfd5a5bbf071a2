#include "exe/config.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cache/cache_stack.h"
#include "rowcache/url.h"

namespace rowcache {

const std::set<std::string>& ServiceFlagNames() {
  static const std::set<std::string> names = {"db",
                                              "cache",
                                              "key-prefix",
                                              "ttl",
                                              "ttl-jitter",
                                              "max-batch",
                                              "db-timeout",
                                              "db-pool",
                                              "max-read-batch",
                                              "cache-timeout-ms",
                                              "cache-pool",
                                              "cache-breaker-failures",
                                              "cache-breaker-open-ms",
                                              "near-cache-entries",
                                              "near-cache-bytes",
                                              "near-cache-max-lag-ms",
                                              "db-password-file",
                                              "cache-password-file"};
  return names;
}

Status ApplyPasswordFiles(const Flags& f, std::string* db_url, std::string* cache_url) {
  // Passwords from files, so that none is on a command line (/proc/*/cmdline)
  // or in the environment; a password in the file wins over one in the URL.
  for (auto [flag, env, url, schemes] :
       {std::tuple<const char*, const char*, std::string*, const char*>{
            "db-password-file", "ROWCACHE_DB_PASSWORD_FILE", db_url, "mysql://"},
        {"cache-password-file", "ROWCACHE_CACHE_PASSWORD_FILE", cache_url, "redis:// or rediss://"}}) {
    std::string path = f.Get(flag, env);
    if (path.empty()) continue;
    std::string what = std::string("--") + flag;
    if (!url) return Status::InvalidArgument(what + ": this command has no such backend");
    auto parsed = ParseUrl(*url);
    bool fits = parsed.ok() && (url == db_url ? parsed->scheme == "mysql"
                                              : parsed->scheme == "redis" || parsed->scheme == "rediss");
    if (!fits) return Status::InvalidArgument(what + ": only for a " + schemes + " URL");
    auto password = ReadSecretFile(what, path, "rowcache");
    if (!password.ok()) return password.status();
    if (password->empty()) return Status::InvalidArgument(what + " " + path + ": empty");
    parsed->password = std::move(*password);
    *url = parsed->ToString();
  }
  return Status::OK();
}

Result<ServiceConfig> ServiceConfigFromFlags(const Flags& f) {
  ServiceConfig c;
  c.db_url = f.Get("db", "ROWCACHE_DB", c.db_url);
  c.cache_url = f.Get("cache", "ROWCACHE_CACHE", c.cache_url);
  if (Status pw = ApplyPasswordFiles(f, &c.db_url, &c.cache_url); !pw.ok()) return pw;
  c.service.key_prefix = f.Get("key-prefix", "ROWCACHE_KEY_PREFIX", c.service.key_prefix);
  if (c.service.key_prefix.size() > 200)
    return Status::InvalidArgument("--key-prefix: longer than 200 bytes");

  auto ttl = ParseIntFlag("ttl", f.Get("ttl", "ROWCACHE_TTL", std::to_string(c.service.ttl_seconds)), 1,
                          365LL * 24 * 3600);
  if (!ttl.ok()) return ttl.status();
  c.service.ttl_seconds = static_cast<int>(*ttl);
  auto jitter = ParseDoubleFlag("ttl-jitter", f.Get("ttl-jitter", "ROWCACHE_TTL_JITTER", "0.1"), 0.0, 0.9);
  if (!jitter.ok()) return jitter.status();
  c.service.ttl_jitter = *jitter;
  auto batch = ParseIntFlag("max-batch", f.Get("max-batch", "ROWCACHE_MAX_BATCH", "1000"), 1, 100000);
  if (!batch.ok()) return batch.status();
  c.service.max_batch = static_cast<size_t>(*batch);
  auto read_batch = ParseIntFlag(
      "max-read-batch",
      f.Get("max-read-batch", "ROWCACHE_MAX_READ_BATCH", std::to_string(kDefaultMaxReadBatch)), 1, 1'000'000);
  if (!read_batch.ok()) return read_batch.status();
  c.service.max_read_batch = static_cast<size_t>(*read_batch);

  auto dbt = ParseIntFlag("db-timeout", f.Get("db-timeout", "ROWCACHE_DB_TIMEOUT", "5"), 1, 3600);
  if (!dbt.ok()) return dbt.status();
  c.store.timeout_seconds = static_cast<int>(*dbt);
  // A lease must outlive a database read or commit (Connector/C may take up
  // to three read timeouts); a write with an unknown outcome is surely
  // finished by the database two timeouts after we gave up on it.
  c.service.lease_ms = std::max(15'000, static_cast<int>(*dbt) * 3000 + 1000);
  c.service.unknown_outcome_delay_nanos = (2 * *dbt + 2) * 1'000'000'000LL;
  if (const char* m = std::getenv("ROWCACHE_TEST_MUTATION"); m && *m) {
#ifdef ROWCACHE_TEST_MUTATIONS
    auto mut = TestMutationNamed(m);
    if (!mut) {
      return Status::InvalidArgument(
          "ROWCACHE_TEST_MUTATION: expected insert-guard, fill-guard, unknown-outcome or lease-release");
    }
    c.service.test_mutation = *mut;
#else
    return Status::InvalidArgument(
        "ROWCACHE_TEST_MUTATION is set, but this build has no test mutations (cmake "
        "-DROWCACHE_TEST_MUTATIONS=ON)");
#endif
  }
  auto dbp = ParseIntFlag("db-pool", f.Get("db-pool", "ROWCACHE_DB_POOL", "16"), 1, 1024);
  if (!dbp.ok()) return dbp.status();
  c.store.max_connections = static_cast<int>(*dbp);
  auto ct = ParseIntFlag("cache-timeout-ms", f.Get("cache-timeout-ms", "ROWCACHE_CACHE_TIMEOUT_MS", "250"), 1,
                         600000);
  if (!ct.ok()) return ct.status();
  c.cache.timeout = std::chrono::milliseconds(*ct);
  auto cp = ParseIntFlag("cache-pool", f.Get("cache-pool", "ROWCACHE_CACHE_POOL", "32"), 1, 1024);
  if (!cp.ok()) return cp.status();
  c.cache.max_connections = static_cast<int>(*cp);
  auto bf = ParseIntFlag("cache-breaker-failures",
                         f.Get("cache-breaker-failures", "ROWCACHE_CACHE_BREAKER_FAILURES", "3"), 0, 1000);
  if (!bf.ok()) return bf.status();
  c.breaker.failures_to_open = static_cast<int>(*bf);
  auto bo =
      ParseIntFlag("cache-breaker-open-ms",
                   f.Get("cache-breaker-open-ms", "ROWCACHE_CACHE_BREAKER_OPEN_MS", "1000"), 1, 3600000);
  if (!bo.ok()) return bo.status();
  c.breaker.open_for = std::chrono::milliseconds(*bo);
  const char* near_env = std::getenv("ROWCACHE_NEAR_CACHE");
  std::string near_on = near_env ? near_env : "";
  c.near_cache = f.Bool("near-cache") || near_on == "1" || near_on == "true";
  // Without a near cache nothing needs an entry's remaining TTL: large reads
  // look entries up by MGET first.
  c.cache.lookups_need_ttl = c.near_cache;
  const char* cascade_env = std::getenv("ROWCACHE_ALLOW_CASCADE_CHILDREN");
  std::string cascade_on = cascade_env ? cascade_env : "";
  c.allow_cascade_children = f.Bool("allow-cascade-children") || cascade_on == "1" || cascade_on == "true";
  auto ne =
      ParseIntFlag("near-cache-entries", f.Get("near-cache-entries", "ROWCACHE_NEAR_CACHE_ENTRIES", "100000"),
                   1, 100'000'000);
  if (!ne.ok()) return ne.status();
  c.near.max_entries = static_cast<size_t>(*ne);
  auto nb =
      ParseIntFlag("near-cache-bytes", f.Get("near-cache-bytes", "ROWCACHE_NEAR_CACHE_BYTES", "67108864"),
                   1 << 16, 1LL << 40);
  if (!nb.ok()) return nb.status();
  c.near.max_bytes = static_cast<size_t>(*nb);
  auto nl = ParseIntFlag("near-cache-max-lag-ms",
                         f.Get("near-cache-max-lag-ms", "ROWCACHE_NEAR_CACHE_MAX_LAG_MS", "300"), 10, 60'000);
  if (!nl.ok()) return nl.status();
  c.near.max_lag_ms = *nl;
  bool redis_url = c.cache_url.rfind("redis://", 0) == 0 || c.cache_url.rfind("rediss://", 0) == 0;
  if (c.near_cache && !redis_url) {
    return Status::InvalidArgument(
        "--near-cache needs a redis:// or rediss:// cache (it is kept coherent by Redis)");
  }
  return c;
}

Status CheckBatchLimits(const ServiceOptions& opts, const Store& store, bool lambda) {
  if (opts.max_batch > store.MaxBatch()) {
    return Status::InvalidArgument("--max-batch " + std::to_string(opts.max_batch) + ": more rows than " +
                                   store.Describe() + " takes in one transaction (" +
                                   std::to_string(store.MaxBatch()) + ")");
  }
  if (lambda && opts.max_read_batch > kDefaultMaxReadBatch) {
    return Status::InvalidArgument("ROWCACHE_MAX_READ_BATCH " + std::to_string(opts.max_read_batch) +
                                   ": the answer to a read of that many ids " +
                                   "can exceed Lambda's 6 MB response limit (at most " +
                                   std::to_string(kDefaultMaxReadBatch) + " ids of " +
                                   std::to_string(kMaxRowJsonBytes) + "-byte rows fit)");
  }
  return Status::OK();
}

Result<Backends> OpenBackends(const ServiceConfig& cfg, bool ensure_schema, Metrics* metrics) {
  Backends b;
  auto store = OpenStore(cfg.db_url, cfg.store);
  if (!store.ok()) return store.status();
  b.store = std::move(store.value());
  if (ensure_schema) {
    Status s = b.store->EnsureSchema();
    if (!s.ok()) return s;
  }
  // The table as the database describes it, checked before anything is
  // served. Not when the caller does not contact the database at start (a
  // Lambda with ROWCACHE_CREATE_TABLE=0: its first invocation does).
  if (ensure_schema) {
    auto schema = ServedTableSchema(*b.store, cfg.allow_cascade_children);
    if (!schema.ok()) return schema.status();
    b.schema = std::move(*schema);
  }
  CacheStackOptions stack_opts;
  stack_opts.url = cfg.cache_url;
  stack_opts.cache = cfg.cache;
  stack_opts.breaker = cfg.breaker;
  stack_opts.near_cache = cfg.near_cache;
  stack_opts.near = cfg.near;
  stack_opts.key_prefix = cfg.service.key_prefix;
  auto stack = OpenCacheStack(stack_opts, metrics);
  if (!stack.ok()) return stack.status();
  b.cache = std::move(stack->cache);
  b.redis = std::move(stack->redis);
  b.cache_warning = std::move(stack->warning);
  b.near = std::move(stack->near);
  b.tracker = std::move(stack->tracker);
  return b;
}

Result<std::string> ReadSecretFile(const std::string& what, const std::string& path, const char* who) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::InvalidArgument(what + " " + path + ": " + std::strerror(errno));
  char buf[4097];
  size_t n = std::fread(buf, 1, sizeof buf, f);
  bool err = std::ferror(f) != 0;
  struct stat st;
  bool open_to_others = fstat(fileno(f), &st) == 0 && (st.st_mode & 0077) != 0;
  std::fclose(f);
  if (err) return Status::InvalidArgument(what + " " + path + ": cannot be read");
  if (n == sizeof buf) return Status::InvalidArgument(what + " " + path + ": longer than 4096 bytes");
  std::string secret(buf, n);
  OPENSSL_cleanse(buf, sizeof buf);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (open_to_others) {
    std::fprintf(stderr, "%s: warning: %s %s can be read by other users (chmod 600)\n", who, what.c_str(),
                 path.c_str());
  }
  return secret;
}

Result<std::string> AuthTokenFromFlags(const Flags& flags, const char* who) {
  std::string token, file;
  bool flag_token = flags.Has("auth-token"), flag_file = flags.Has("auth-token-file");
  if (flag_token && flag_file) {
    return Status::InvalidArgument("--auth-token and --auth-token-file: give one of them");
  }
  if (flag_token || flag_file) {
    token = flags.Get("auth-token");
    file = flags.Get("auth-token-file");
  } else {
    token = flags.Get("auth-token", "ROWCACHE_AUTH_TOKEN");
    file = flags.Get("auth-token-file", "ROWCACHE_AUTH_TOKEN_FILE");
    if (!token.empty() && !file.empty()) {
      return Status::InvalidArgument(
          "ROWCACHE_AUTH_TOKEN and ROWCACHE_AUTH_TOKEN_FILE are both set: set one of them");
    }
  }
  const char* what = "--auth-token";
  if (!file.empty() || flag_file) {
    what = "--auth-token-file";
    auto read = ReadSecretFile(what, file, who);
    if (!read.ok()) return read.status();
    token = std::move(*read);
  } else if (flag_token && token.empty()) {
    return Status::InvalidArgument("--auth-token: empty");
  }
  if (token.empty() && (flag_file || !file.empty())) {
    return Status::InvalidArgument(std::string(what) + ": empty token");
  }
  if (token.size() > 4096) return Status::InvalidArgument(std::string(what) + ": longer than 4096 bytes");
  for (char ch : token) {
    if (ch < 0x21 || ch > 0x7e) {
      return Status::InvalidArgument(
          std::string(what) +
          ": the token may hold only visible ASCII characters (no spaces or line breaks)");
    }
  }
  return token;
}

}  // namespace rowcache
