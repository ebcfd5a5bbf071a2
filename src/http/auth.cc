#include "http/auth.h"

#include <openssl/crypto.h>

#include <cctype>

namespace rowcache {

namespace {

std::array<unsigned char, SHA256_DIGEST_LENGTH> Sha256Of(std::string_view s) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

}  // namespace

BearerAuth::BearerAuth(std::string* token, bool metrics_public) : metrics_public_(metrics_public) {
  if (token->empty()) return;
  enabled_ = true;
  digest_ = Sha256Of(*token);
  OPENSSL_cleanse(token->data(), token->size());
  token->clear();
}

bool BearerAuth::Allows(std::string_view path, std::optional<std::string_view> authorization) const {
  if (!enabled_) return true;
  if (path != "/" && !(path == "/metrics" && !metrics_public_)) return true;
  if (!authorization) return false;
  std::string_view v = *authorization;
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() <= kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i]) return false;
  }
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  Digest got = Sha256Of(v);
  return CRYPTO_memcmp(got.data(), digest_.data(), got.size()) == 0;
}

}  // namespace rowcache
