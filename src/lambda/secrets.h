// The database password from AWS Secrets Manager, for the Lambda front door:
// one signed GetSecretValue call at start-up (SigV4 over HTTPS, with the
// function role's credentials from the environment).
#pragma once

#include <string>

#include "load/sigv4.h"
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

// db_url with the password (and, if present, the user name) taken from a
// secret: a JSON object with "password" (and optionally "username"), as RDS
// and Aurora store them, or a plain string that is the password itself.
Result<std::string> ApplyDbSecret(const std::string& db_url, const std::string& secret_string);

}  // namespace rowcache
