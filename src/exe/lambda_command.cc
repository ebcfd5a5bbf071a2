// rowcache lambda (also run as "bootstrap"): the AWS Lambda front door.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "aws/secrets.h"
#include "exe/commands.h"
#include "exe/config.h"
#include "lambda/runtime.h"

namespace rowcache {

namespace {

constexpr const char* kHelp = R"(usage: rowcache lambda   (or an executable named "bootstrap")

Serves AWS Lambda invocations through the Runtime API (AWS_LAMBDA_RUNTIME_API).
The event is the request document ({"USE_CACHE": ..., "REQUEST": ..., "SQLS": ...});
the result is the response document, as API Gateway's non-proxy integration expects.

Configuration comes from the environment (the serve flags are accepted too):
  ROWCACHE_DB               database URL (default sqlite:/tmp/rowcache.db)
  ROWCACHE_DB_SECRET_ARN    Secrets Manager secret with the database password: a JSON
                            object with "password" (and optionally "username"), or a
                            plain string; read at start-up with the function role, and
                            again when the database refuses the password (rotation)
  ROWCACHE_TABLE            table name (default heroes)
  ROWCACHE_CREATE_TABLE     1 (default): CREATE TABLE IF NOT EXISTS at start-up; 0: not (for a
                            database user that may only read and write the table)
  ROWCACHE_CACHE            cache URL: redis://, rediss:// (TLS), memory://, none (default memory://)
  ROWCACHE_CACHE_SECRET_ARN Secrets Manager secret with the cache's AUTH token: a plain
                            string, or a JSON object with "password" (and optionally
                            "username", an RBAC user); read once at start-up and put
                            into ROWCACHE_CACHE as user:password before it is opened
  ROWCACHE_NEAR_CACHE=1     an in-process near cache, coherent through CLIENT TRACKING; pending
                            invalidations are taken in at the start of each invocation
                            (ROWCACHE_NEAR_CACHE_ENTRIES, ROWCACHE_NEAR_CACHE_BYTES)
  ROWCACHE_KEY_PREFIX, ROWCACHE_TTL, ROWCACHE_TTL_JITTER, ROWCACHE_MAX_BATCH,
  ROWCACHE_MAX_READ_BATCH, ROWCACHE_DB_TIMEOUT, ROWCACHE_CACHE_TIMEOUT_MS    as for rowcache serve
                            (ROWCACHE_MAX_READ_BATCH at most its default, 11056: the most ids
                            whose answer surely fits in Lambda's 6 MB response)
  ROWCACHE_SECRETS_ENDPOINT override of https://secretsmanager.REGION.amazonaws.com
)";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string WithTable(const std::string& url, const std::string& table) {
  if (table.empty() || url.find("table=") != std::string::npos) return url;
  return url + (url.find('?') == std::string::npos ? "?table=" : "&table=") + table;
}

}  // namespace

int LambdaMain(const std::vector<std::string>& args) {
  auto start = std::chrono::steady_clock::now();
  auto flags = Flags::Parse(args, ServiceFlagNames(), {"help"});
  if (!flags.ok()) {
    std::fprintf(stderr, "rowcache lambda: %s\n\n%s", flags.status().message().c_str(), kHelp);
    return 2;
  }
  if (flags->Bool("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  std::string api = Env("AWS_LAMBDA_RUNTIME_API");
  if (api.empty()) {
    std::fprintf(stderr,
                 "rowcache lambda: AWS_LAMBDA_RUNTIME_API is not set: this command runs inside AWS Lambda "
                 "(use \"rowcache serve\" to serve HTTP locally)\n");
    return 2;
  }
  auto client = RuntimeClient::Open(api);
  if (!client.ok()) {
    std::fprintf(stderr, "rowcache lambda: %s\n", client.status().message().c_str());
    return 2;
  }
  auto init_fail = [&](const std::string& type, const std::string& msg) {
    std::fprintf(stderr, "rowcache lambda: %s\n", msg.c_str());
    Status s = client->InitFail(type, msg);
    if (!s.ok()) std::fprintf(stderr, "rowcache lambda: %s\n", s.message().c_str());
    return 1;
  };

  // The function's code directory is read-only; /tmp is the writable place
  // for the embedded database of an unconfigured function.
  if (Env("ROWCACHE_DB").empty()) ::setenv("ROWCACHE_DB", "sqlite:/tmp/rowcache.db", 1);
  auto cfg = ServiceConfigFromFlags(*flags);
  if (!cfg.ok()) return init_fail("Runtime.ConfigInvalid", cfg.status().message());
  cfg->db_url = WithTable(cfg->db_url, Env("ROWCACHE_TABLE"));
  // GetSecretValue with the function role's credentials; the region is the ARN's.
  auto read_secret = [](const std::string& arn, int timeout_ms = 5000) {
    SecretsOptions so;
    so.timeout_ms = timeout_ms;
    so.endpoint = Env("ROWCACHE_SECRETS_ENDPOINT");
    so.region = RegionOfArn(arn);
    if (so.region.empty()) so.region = Env("AWS_REGION");
    so.creds = CredentialsFromEnvironment();
    return GetSecretString(arn, so);
  };
  // A rotated password: the secret `env` names read again (2 s at most) after
  // `what` refused the credentials; logged either way, never the password.
  auto read_again = [read_secret](
                        const std::string& arn, const char* what, const char* env,
                        Result<Credentials> (*parse)(const std::string&)) -> std::optional<Credentials> {
    auto fresh = read_secret(arn, 2000);
    auto creds = fresh.ok() ? parse(*fresh) : Result<Credentials>(fresh.status());
    if (!creds.ok()) {
      std::fprintf(stderr, "rowcache lambda: the %s refused the password; %s: %s\n", what, env,
                   creds.status().message().c_str());
      return std::nullopt;
    }
    std::fprintf(stderr, "rowcache lambda: the %s refused the password; read %s again\n", what, env);
    return *creds;
  };
  if (std::string arn = Env("ROWCACHE_DB_SECRET_ARN"); !arn.empty()) {
    auto secret = read_secret(arn);
    if (!secret.ok()) {
      return init_fail("Runtime.SecretUnavailable", "ROWCACHE_DB_SECRET_ARN: " + secret.status().message());
    }
    auto url = ApplyDbSecret(cfg->db_url, *secret);
    if (!url.ok()) return init_fail("Runtime.ConfigInvalid", url.status().message());
    cfg->db_url = *url;
    // A rotated password: when the database refuses the one read above, the
    // connection being opened reads the secret again (2 s at most, within the
    // request's 3 s database timeout budget) and retries once with what it
    // finds. Only that request waits; none fails if the secret already holds
    // the new password, and the request after it uses the new one.
    cfg->store.refresh_credentials = [arn, read_again] {
      return read_again(arn, "database", "ROWCACHE_DB_SECRET_ARN", ParseDbSecret);
    };
  }
  if (std::string arn = Env("ROWCACHE_CACHE_SECRET_ARN"); !arn.empty()) {
    auto secret = read_secret(arn);
    if (!secret.ok()) {
      return init_fail("Runtime.SecretUnavailable",
                       "ROWCACHE_CACHE_SECRET_ARN: " + secret.status().message());
    }
    auto url = ApplyCacheSecret(cfg->cache_url, *secret);
    if (!url.ok()) return init_fail("Runtime.ConfigInvalid", url.status().message());
    cfg->cache_url = *url;
    // A rotated AUTH token or RBAC password, as for the database: a new cache
    // connection the server refuses reads the secret again (2 s at most) and
    // retries once; meanwhile reads fall back to the database as on any cache
    // failure.
    cfg->cache.refresh_credentials = [arn, read_again] {
      return read_again(arn, "cache", "ROWCACHE_CACHE_SECRET_ARN", ParseCacheSecret);
    };
  }

  Metrics metrics;
  // ROWCACHE_CREATE_TABLE=0: the table is not created at init (the deployed
  // function's database user may only read and write it; the database is then
  // first contacted by the first invocation).
  std::string create_table = Env("ROWCACHE_CREATE_TABLE");
  if (!create_table.empty() && create_table != "0" && create_table != "1" && create_table != "false" &&
      create_table != "true") {
    return init_fail("Runtime.ConfigInvalid",
                     "ROWCACHE_CREATE_TABLE: expected 1 or 0, got '" + create_table + "'");
  }
  bool ensure_schema = create_table != "0" && create_table != "false";
  auto backends = OpenBackends(*cfg, ensure_schema, &metrics);
  if (!backends.ok()) {
    return init_fail(
        backends.status().IsInvalidArgument() ? "Runtime.ConfigInvalid" : "Runtime.BackendUnavailable",
        backends.status().ToString());
  }
  if (Status lim = CheckBatchLimits(cfg->service, *backends->store, /*lambda=*/true); !lim.ok()) {
    return init_fail("Runtime.ConfigInvalid", lim.message());
  }
  Service service(backends->store.get(), backends->cache.get(), cfg->service, &metrics);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "rowcache lambda: ready in %lld ms (db=%s, cache=%s)\n", static_cast<long long>(ms),
               backends->store->Describe().c_str(),
               backends->cache ? backends->cache->Describe().c_str() : "none");

  LoopOptions lo;
  if (std::string n = Env("ROWCACHE_LAMBDA_MAX_INVOCATIONS"); !n.empty()) {
    lo.max_invocations = std::strtoull(n.c_str(), nullptr, 10);
  }
  Status s =
      RunInvocationLoop(*client, std::function<std::string(const Invocation&)>([&](const Invocation& inv) {
        // The near cache: take in the invalidations that arrived while this
        // environment was frozen (or find the channel lost, and flush)
        // before answering, without waiting for more.
        if (backends->tracker) backends->tracker->Poll(std::chrono::milliseconds(0));
        // A 5xx answer carries Lambda's request id; its details go to the
        // log (CloudWatch) under that id, never into the answer.
        Response r = service.Handle(inv.event, inv.request_id);
        if (std::string line = ErrorLogLine(r); !line.empty()) {
          std::fwrite(line.data(), 1, line.size(), stderr);
          std::fflush(stderr);
        }
        return std::move(r.body);
      }),
                        lo);
  if (!s.ok()) {
    std::fprintf(stderr, "rowcache lambda: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace rowcache
