// Transport: a byte stream to a server with deadlines on every operation.
// Plain TCP (blocking socket with SO_RCVTIMEO/SO_SNDTIMEO) or TLS (OpenSSL
// over a non-blocking socket + poll). Used by the Redis client and the HTTPS
// client; small on purpose. Also the TLS settings an asynchronous client
// (Boost.Asio's ssl::stream) shares, so that every TLS connection verifies
// the same way.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>

#include "rowcache/status.h"

namespace rowcache {

using Deadline = std::chrono::steady_clock::time_point;

class Transport {
 public:
  virtual ~Transport() = default;
  // Writes all of buf before the deadline, or Unavailable.
  virtual Status WriteAll(const char* buf, size_t len, Deadline deadline) = 0;
  // Reads at least one byte before the deadline; Unavailable on timeout,
  // error or end of stream.
  virtual Result<size_t> ReadSome(char* buf, size_t cap, Deadline deadline) = 0;
  // For a connection that sat idle with no request outstanding: false if the
  // peer closed or reset it meanwhile (anything readable on an idle
  // connection means it is unusable). Costs one poll(2), no round trip.
  virtual bool IdleAndOpen() const = 0;
};

struct TlsOptions {
  bool enabled = false;
  bool verify = true;   // verify the server certificate and host name
  std::string ca_file;  // empty: the system's CA store
  std::string sni;      // host name to send and verify; default the host
};

// A client TLS context for o (verification on unless o.verify is false; CA
// from o.ca_file or the system store; TLS 1.2 or newer). The caller owns one
// reference (SSL_CTX_free). Null with *err set on failure.
SSL_CTX* NewTlsClientContext(const TlsOptions& o, std::string* err);
// Sets SNI (for a host name) and the name or IP address the certificate must
// match on ssl, for a connection to host.
void ConfigureTlsPeer(SSL* ssl, const std::string& host, const TlsOptions& o);

// Connects to host:port before the deadline. `what` names the peer in errors.
Result<std::unique_ptr<Transport>> ConnectTransport(const std::string& host, int port, const TlsOptions& tls,
                                                    Deadline deadline);

}  // namespace rowcache
