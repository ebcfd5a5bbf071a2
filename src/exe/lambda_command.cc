// rowcache lambda (also run as "bootstrap"): the AWS Lambda front door.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "exe/commands.h"
#include "exe/config.h"
#include "lambda/runtime.h"
#include "lambda/secrets.h"

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
                            plain string; read once at start-up with the function role
  ROWCACHE_TABLE            table name (default heroes)
  ROWCACHE_CACHE            cache URL: redis://, rediss:// (TLS), memory://, none (default memory://)
  ROWCACHE_CACHE_SECRET_ARN Secrets Manager secret with the cache's AUTH token: a plain
                            string, or a JSON object with "password" (and optionally
                            "username", an RBAC user); read once at start-up and put
                            into ROWCACHE_CACHE as user:password before it is opened
  ROWCACHE_KEY_PREFIX, ROWCACHE_TTL, ROWCACHE_TTL_JITTER, ROWCACHE_MAX_BATCH,
  ROWCACHE_DB_TIMEOUT, ROWCACHE_CACHE_TIMEOUT_MS    as for rowcache serve
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
  auto read_secret = [](const std::string& arn) {
    SecretsOptions so;
    so.endpoint = Env("ROWCACHE_SECRETS_ENDPOINT");
    so.region = RegionOfArn(arn);
    if (so.region.empty()) so.region = Env("AWS_REGION");
    so.creds = CredentialsFromEnvironment();
    return GetSecretString(arn, so);
  };
  if (std::string arn = Env("ROWCACHE_DB_SECRET_ARN"); !arn.empty()) {
    auto secret = read_secret(arn);
    if (!secret.ok()) {
      return init_fail("Runtime.SecretUnavailable", "ROWCACHE_DB_SECRET_ARN: " + secret.status().message());
    }
    auto url = ApplyDbSecret(cfg->db_url, *secret);
    if (!url.ok()) return init_fail("Runtime.ConfigInvalid", url.status().message());
    cfg->db_url = *url;
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
  }

  Metrics metrics;
  auto backends = OpenBackends(*cfg, /*ensure_schema=*/true, &metrics);
  if (!backends.ok()) {
    return init_fail(backends.status().IsInvalidArgument() ? "Runtime.ConfigInvalid" : "Runtime.BackendUnavailable",
                     backends.status().ToString());
  }
  Service service(backends->store.get(), backends->cache.get(), cfg->service, &metrics);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "rowcache lambda: ready in %lld ms (db=%s, cache=%s)\n", static_cast<long long>(ms),
               backends->store->Describe().c_str(),
               backends->cache ? backends->cache->Describe().c_str() : "none");

  LoopOptions lo;
  if (std::string n = Env("ROWCACHE_LAMBDA_MAX_INVOCATIONS"); !n.empty()) {
    lo.max_invocations = std::strtoull(n.c_str(), nullptr, 10);
  }
  Status s = RunInvocationLoop(
      *client, [&](const std::string& event) { return service.Handle(event).body; }, lo);
  if (!s.ok()) {
    std::fprintf(stderr, "rowcache lambda: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace rowcache
