// AWS Signature Version 4 for S3 requests (header-based), small and testable.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace rowcache {

struct AwsCredentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty unless temporary credentials (e.g. a Lambda role)
};

// Credentials from the standard environment variables (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN): what a Lambda role provides.
AwsCredentials CredentialsFromEnvironment();
// The current UTC time as "YYYYMMDDTHHMMSSZ".
std::string AmzDateNow();

std::string Sha256Hex(std::string_view data);
// RFC 3986 encoding as SigV4 wants it: unreserved characters kept, the rest %XX
// (upper case); '/' kept when encode_slash is false (object key paths).
std::string UriEncode(std::string_view s, bool encode_slash);

// The Authorization header value for a request. headers: lower-case names to
// values, and must include "host", "x-amz-date" and "x-amz-content-sha256"
// (and "x-amz-security-token" for temporary credentials). canonical_uri is
// already encoded; canonical_query is the sorted, encoded query ("" for none).
// amz_date is "YYYYMMDDTHHMMSSZ".
std::string SignV4(const AwsCredentials& creds, const std::string& region, const std::string& service,
                   const std::string& method, const std::string& canonical_uri,
                   const std::string& canonical_query, const std::map<std::string, std::string>& headers,
                   const std::string& payload_hash, const std::string& amz_date);

}  // namespace rowcache
