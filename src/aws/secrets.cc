#include "aws/secrets.h"

#include <boost/json.hpp>

#include "aws/client.h"
#include "rowcache/url.h"

namespace rowcache {

namespace json = boost::json;

std::string RegionOfArn(const std::string& arn) {
  // arn:partition:service:region:account:resource
  size_t pos = 0;
  for (int field = 0; field < 3; ++field) {
    pos = arn.find(':', pos);
    if (pos == std::string::npos) return "";
    ++pos;
  }
  if (arn.rfind("arn:", 0) != 0) return "";
  size_t end = arn.find(':', pos);
  return end == std::string::npos ? "" : arn.substr(pos, end - pos);
}

Result<std::string> GetSecretString(const std::string& secret_id, const SecretsOptions& opts) {
  if (opts.creds.access_key.empty() || opts.creds.secret_key.empty()) {
    return Status::InvalidArgument("no AWS credentials in the environment to read secret " + secret_id);
  }
  std::string region = opts.region.empty() ? "us-east-1" : opts.region;
  std::string endpoint =
      opts.endpoint.empty() ? "https://secretsmanager." + region + ".amazonaws.com" : opts.endpoint;
  auto client = AwsClient::Open(endpoint, "secretsmanager", region, opts.creds);
  if (!client.ok()) return Status::InvalidArgument("secrets endpoint: " + client.status().message());
  AwsRequest req;
  req.method = "POST";
  req.headers = {{"content-type", "application/x-amz-json-1.1"},
                 {"x-amz-target", "secretsmanager.GetSecretValue"}};
  req.body = json::serialize(json::object{{"SecretId", secret_id}});
  auto resp =
      (*client)->Call(req, std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.timeout_ms));
  if (!resp.ok()) return Status::Unavailable("Secrets Manager: " + resp.status().message());
  json::value doc;
  try {
    doc = json::parse(resp->body);
  } catch (const std::exception&) {
    return Status::Unavailable("Secrets Manager: HTTP " + std::to_string(resp->status) + ", not JSON");
  }
  if (resp->status != 200) {
    std::string type, message;
    if (auto* o = doc.if_object()) {
      if (auto* t = o->if_contains("__type"); t && t->is_string()) type = std::string(t->get_string());
      for (const char* k : {"message", "Message"}) {
        if (auto* m = o->if_contains(k); m && m->is_string()) message = std::string(m->get_string());
      }
    }
    return Status::Unavailable("Secrets Manager: HTTP " + std::to_string(resp->status) + " " + type +
                               (message.empty() ? "" : ": " + message) + " (secret " + secret_id + ")");
  }
  auto* o = doc.if_object();
  auto* s = o ? o->if_contains("SecretString") : nullptr;
  if (!s || !s->is_string()) {
    return Status::Unavailable("Secrets Manager: secret " + secret_id + " has no SecretString");
  }
  return std::string(s->get_string());
}

namespace {

// A secret string as a password: a JSON object with "password" (and optionally
// "username"), or the plain string itself. `what` names the secret in errors.
Result<Credentials> ParseSecret(const std::string& secret_string, const std::string& what) {
  Credentials c;
  c.password = secret_string;
  if (secret_string.empty() || secret_string.front() != '{') return c;
  json::value doc;
  try {
    doc = json::parse(secret_string);
  } catch (const std::exception&) {
    return Status::InvalidArgument(what + ": looks like JSON but does not parse");
  }
  auto* o = doc.if_object();
  auto* p = o ? o->if_contains("password") : nullptr;
  if (!p || !p->is_string()) return Status::InvalidArgument(what + ": no \"password\" string");
  c.password = std::string(p->get_string());
  if (auto* u = o->if_contains("username"); u && u->is_string()) c.user = std::string(u->get_string());
  return c;
}

}  // namespace

Result<Credentials> ParseDbSecret(const std::string& secret_string) {
  return ParseSecret(secret_string, "database secret");
}

Result<Credentials> ParseCacheSecret(const std::string& secret_string) {
  auto creds = ParseSecret(secret_string, "cache secret");
  if (creds.ok() && creds->password.empty())
    return Status::InvalidArgument("cache secret: the password is empty");
  return creds;
}

Result<std::string> ApplyDbSecret(const std::string& db_url, const std::string& secret_string) {
  auto url = ParseUrl(db_url);
  if (!url.ok()) return url.status();
  auto creds = ParseSecret(secret_string, "database secret");
  if (!creds.ok()) return creds.status();
  if (!creds->user.empty()) url->user = creds->user;
  url->password = creds->password;
  return url->ToString();
}

Result<std::string> ApplyCacheSecret(const std::string& cache_url, const std::string& secret_string) {
  auto url = ParseUrl(cache_url);
  if (!url.ok() || url->host.empty()) {
    return Status::InvalidArgument("cache secret: the cache URL '" +
                                   (url.ok() ? url->Redacted() : RedactUrlText(cache_url)) +
                                   "' names no server to authenticate to (expected redis:// or rediss://)");
  }
  auto creds = ParseCacheSecret(secret_string);
  if (!creds.ok()) return creds.status();
  if (!creds->user.empty()) url->user = creds->user;
  url->password = creds->password;
  return url->ToString();
}

}  // namespace rowcache
