// Transport: a byte stream to a server with deadlines on every operation.
// Plain TCP (blocking socket with SO_RCVTIMEO/SO_SNDTIMEO) or TLS (OpenSSL
// over a non-blocking socket + poll). Used by the Redis client and the HTTPS
// client; small on purpose. Also the TLS settings an asynchronous client
// (redis::AsyncClient: OpenSSL over memory BIOs on an asio socket) shares, so
// that every TLS connection verifies the same way.
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
  // The socket, for poll(2) over several transports; and whether bytes are
  // already decrypted and buffered (TLS), which poll(2) cannot see.
  virtual int fd() const = 0;
  virtual bool Buffered() const { return false; }
};

struct TlsOptions {
  bool enabled = false;
  bool verify = true;   // verify the server certificate and host name
  std::string ca_file;  // empty: the system's CA store
  std::string sni;      // host name to send and verify; default the host
};

// The system's trusted CA certificates: where verification looks when no CA
// file is given (here, and for MySQL's ssl-mode=VERIFY_*). Each half is
// chosen on its own:
//   file: $SSL_CERT_FILE if set; else OpenSSL's compiled-in default file
//         (X509_get_default_cert_file(), /usr/lib/ssl/cert.pem for Debian's
//         OpenSSL) if it exists; else the first that exists of
//         kCaBundleFallbacks (Amazon Linux 2023 keeps its bundle at
//         /etc/pki/tls/certs/ca-bundle.crt, where the static Lambda package's
//         Debian-built OpenSSL would not look);
//   dir:  $SSL_CERT_DIR if set; else OpenSSL's default directory
//         (/usr/lib/ssl/certs) if it exists.
// Either may be empty; both empty means no CA store was found.
struct CaLocations {
  std::string file;
  std::string dir;
};
CaLocations SystemCaLocations();
// Where SystemCaLocations looks for a bundle when OpenSSL's default file is
// missing, in order (the list Go's crypto/x509 uses on Linux).
extern const char* const kCaBundleFallbacks[];
// "file F, dir D" or "no CA certificates found (looked at ...)": for messages.
std::string DescribeCaLocations(const CaLocations& ca);

// A client TLS context for o (verification on unless o.verify is false; CA
// from o.ca_file or SystemCaLocations(); TLS 1.2 or newer). The caller owns
// one reference (SSL_CTX_free). Null with *err set on failure (a CA file that
// cannot be read; verification on and no CA store found).
SSL_CTX* NewTlsClientContext(const TlsOptions& o, std::string* err);
// Sets SNI (for a host name) and the name or IP address the certificate must
// match on ssl, for a connection to host.
void ConfigureTlsPeer(SSL* ssl, const std::string& host, const TlsOptions& o);

// Connects to host:port before the deadline. `what` names the peer in errors.
Result<std::unique_ptr<Transport>> ConnectTransport(const std::string& host, int port, const TlsOptions& tls,
                                                    Deadline deadline);

}  // namespace rowcache
