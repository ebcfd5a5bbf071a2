// Transport: a byte stream to a server with deadlines on every operation.
// Plain TCP (non-blocking socket + poll) or TLS (OpenSSL over the same socket).
// Used by the Redis cache; small on purpose.
#pragma once

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

// Connects to host:port before the deadline. `what` names the peer in errors.
Result<std::unique_ptr<Transport>> ConnectTransport(const std::string& host, int port, const TlsOptions& tls,
                                                    Deadline deadline);

}  // namespace rowcache
