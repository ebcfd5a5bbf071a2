// Bearer-token authentication for the HTTP front door
// (ServerOptions::auth_token): with a token, POST / (any method on /) and
// GET /metrics (unless metrics_public) need "Authorization: Bearer <token>";
// /healthz and every other path stay open. Only the token's SHA-256 is kept
// (the token itself is wiped), and digests are compared in constant time, so
// the time taken says nothing about the token. No I/O.
#pragma once

#include <openssl/sha.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace rowcache {

class BearerAuth {
 public:
  // No token: every request is allowed.
  BearerAuth() = default;
  // *token is wiped and cleared once its digest is taken. Empty: no token.
  BearerAuth(std::string* token, bool metrics_public);

  bool enabled() const { return enabled_; }

  // Whether a request for `path` (the target without its query) carrying
  // this Authorization header value (nullopt: none) may be answered. The
  // scheme is case-insensitive; spaces around the token are ignored.
  bool Allows(std::string_view path, std::optional<std::string_view> authorization) const;

 private:
  using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;
  bool enabled_ = false;
  bool metrics_public_ = false;
  Digest digest_{};
};

}  // namespace rowcache
