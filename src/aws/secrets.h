// The database password and the cache's AUTH token from AWS Secrets Manager,
// for the Lambda front door: one signed GetSecretValue call (aws/client.h)
// per secret at start-up, with the function role's credentials from the
// environment, and the database secret again when the database refuses the
// password (a rotated secret). Also the shapes a secret string takes and how
// they go into a database or cache URL.
#pragma once

#include <string>

#include "aws/sigv4.h"
#include "rowcache/credentials.h"
#include "rowcache/status.h"

namespace rowcache {

struct SecretsOptions {
  // https://secretsmanager.REGION.amazonaws.com unless set (tests point it at a
  // local http:// server). ROWCACHE_SECRETS_ENDPOINT.
  std::string endpoint;
  // The secret ARN's region, else AWS_REGION, else us-east-1.
  std::string region;
  AwsCredentials creds;
  int timeout_ms = 5000;
};

// The region named by a Secrets Manager ARN (arn:aws:secretsmanager:REGION:...), or "".
std::string RegionOfArn(const std::string& arn);

// GetSecretValue(secret_id).SecretString. Unavailable on network failure,
// PermissionDenied-like failures as Unavailable with AWS's message.
Result<std::string> GetSecretString(const std::string& secret_id, const SecretsOptions& opts);

// The credentials in a secret string (user empty if the secret names none):
// a JSON object with "password" (and optionally "username") or a plain string
// that is the password.
//
// A database secret's credentials (ROWCACHE_DB_SECRET_ARN), in the shapes
// ApplyDbSecret takes; read again after the database refused the password.
Result<Credentials> ParseDbSecret(const std::string& secret_string);
// A cache secret's credentials (ROWCACHE_CACHE_SECRET_ARN), in the shapes
// ApplyCacheSecret takes; read again after the cache refused the password.
// InvalidArgument for an empty password too.
Result<Credentials> ParseCacheSecret(const std::string& secret_string);

// db_url with the password (and, if present, the user name) taken from a
// secret: a JSON object with "password" (and optionally "username"), as RDS
// and Aurora store them, or a plain string that is the password itself.
Result<std::string> ApplyDbSecret(const std::string& db_url, const std::string& secret_string);

// cache_url (redis:// or rediss://) with the AUTH credentials taken from a
// secret, the same two shapes: a plain string that is the password (an
// ElastiCache AUTH token: the client sends AUTH <password>), or a JSON object
// with "password" and optionally "username" (an RBAC user: AUTH <username>
// <password>). They go into the URL's user info, percent-encoded: the password
// replaces any in the URL, and so does a username from the secret (without
// one the URL's user, usually none, stays). InvalidArgument for an empty password or a URL without a server
// ("memory://", "none").
Result<std::string> ApplyCacheSecret(const std::string& cache_url, const std::string& secret_string);

}  // namespace rowcache
