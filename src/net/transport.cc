#include "net/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace rowcache {

namespace {

int MillisLeft(Deadline d) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(d - std::chrono::steady_clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Waits for events on fd until the deadline. False on timeout.
bool WaitFor(int fd, short events, Deadline d) {
  for (;;) {
    pollfd p{fd, events, 0};
    int ms = MillisLeft(d);
    int rc = ::poll(&p, 1, ms);
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

class TcpTransport : public Transport {
 public:
  explicit TcpTransport(int fd) : fd_(fd) {}
  ~TcpTransport() override { ::close(fd_); }

  // Plain TCP goes blocking after connect, with SO_RCVTIMEO/SO_SNDTIMEO as
  // the deadline: a round trip is then send + recv, two syscalls, instead of
  // send + recv (EAGAIN) + poll + recv. (TLS keeps the non-blocking socket.)
  Status MakeBlocking() {
    int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) < 0)
      return Status::Unavailable(Errno("fcntl"));
    blocking_ = true;
    return Status::OK();
  }

  Status WriteAll(const char* buf, size_t len, Deadline d) override {
    while (len > 0) {
      if (blocking_ && !ArmTimeout(SO_SNDTIMEO, &snd_ms_, d)) return Status::Unavailable("write timed out");
      ssize_t n = ::send(fd_, buf, len, MSG_NOSIGNAL);
      if (n > 0) {
        buf += n;
        len -= static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (blocking_ || !WaitFor(fd_, POLLOUT, d)) return Status::Unavailable("write timed out");
        continue;
      }
      return Status::Unavailable(Errno("write"));
    }
    return Status::OK();
  }

  Result<size_t> ReadSome(char* buf, size_t cap, Deadline d) override {
    for (;;) {
      if (blocking_ && !ArmTimeout(SO_RCVTIMEO, &rcv_ms_, d)) return Status::Unavailable("read timed out");
      ssize_t n = ::recv(fd_, buf, cap, 0);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) return Status::Unavailable("connection closed by the server");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (blocking_ || !WaitFor(fd_, POLLIN, d)) return Status::Unavailable("read timed out");
        continue;
      }
      return Status::Unavailable(Errno("read"));
    }
  }

  int fd() const override { return fd_; }
  bool IdleAndOpen() const override {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, 0);
    return rc == 0;  // readable, hung up or in error: the server closed it
  }

 private:
  // Sets the socket timeout `opt` to the time left before d, unless the one
  // already set is within 10% (or 2 ms) of it: usually no syscall at all.
  // False if the deadline has passed.
  bool ArmTimeout(int opt, int* current_ms, Deadline d) {
    int left = MillisLeft(d);
    if (left <= 0) return false;
    int slack = std::max(2, *current_ms / 10);
    if (*current_ms > 0 && left <= *current_ms + slack && left >= *current_ms - slack) return true;
    timeval tv{left / 1000, (left % 1000) * 1000};
    if (::setsockopt(fd_, SOL_SOCKET, opt, &tv, sizeof tv) != 0) return false;
    *current_ms = left;
    return true;
  }

  int fd_;
  bool blocking_ = false;
  int rcv_ms_ = 0, snd_ms_ = 0;
};

std::string SslError(const char* what) {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string(what) + ": " + (e ? buf : "TLS error");
}

class TlsTransport : public Transport {
 public:
  TlsTransport(std::unique_ptr<TcpTransport> tcp, SSL_CTX* ctx, SSL* ssl)
      : tcp_(std::move(tcp)), ctx_(ctx), ssl_(ssl) {}
  ~TlsTransport() override {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  bool IdleAndOpen() const override { return SSL_pending(ssl_) == 0 && tcp_->IdleAndOpen(); }
  int fd() const override { return tcp_->fd(); }
  bool Buffered() const override { return SSL_pending(ssl_) > 0; }

  // Runs an SSL call until it completes, waiting on the socket as it asks.
  template <class F>
  Result<int> Drive(F&& f, Deadline d, const char* what) {
    for (;;) {
      ERR_clear_error();
      int rc = f();
      if (rc > 0) return rc;
      int e = SSL_get_error(ssl_, rc);
      if (e == SSL_ERROR_WANT_READ) {
        if (!WaitFor(tcp_->fd(), POLLIN, d)) return Status::Unavailable(std::string(what) + " timed out");
      } else if (e == SSL_ERROR_WANT_WRITE) {
        if (!WaitFor(tcp_->fd(), POLLOUT, d)) return Status::Unavailable(std::string(what) + " timed out");
      } else if (e == SSL_ERROR_ZERO_RETURN) {
        return Status::Unavailable("connection closed by the server");
      } else {
        return Status::Unavailable(SslError(what));
      }
    }
  }

  Status Handshake(Deadline d) {
    auto r = Drive([&] { return SSL_connect(ssl_); }, d, "TLS handshake");
    if (r.ok()) return Status::OK();
    long v = SSL_get_verify_result(ssl_);
    if (v != X509_V_OK) {
      return Status::Unavailable(std::string("TLS handshake: certificate verification failed: ") +
                                 X509_verify_cert_error_string(v));
    }
    return r.status();
  }

  Status WriteAll(const char* buf, size_t len, Deadline d) override {
    while (len > 0) {
      auto n = Drive([&] { return SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(len, 1 << 30))); },
                     d, "TLS write");
      if (!n.ok()) return n.status();
      buf += *n;
      len -= static_cast<size_t>(*n);
    }
    return Status::OK();
  }

  Result<size_t> ReadSome(char* buf, size_t cap, Deadline d) override {
    auto n = Drive([&] { return SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(cap, 1 << 30))); }, d,
                   "TLS read");
    if (!n.ok()) return n.status();
    return static_cast<size_t>(*n);
  }

 private:
  std::unique_ptr<TcpTransport> tcp_;
  SSL_CTX* ctx_;
  SSL* ssl_;
};

}  // namespace

const char* const kCaBundleFallbacks[] = {
    "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Gentoo, Arch, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",                   // Amazon Linux 2023 / 2, Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",                             // openSUSE
    "/etc/pki/tls/cacert.pem",                            // OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // CentOS, RHEL 7+
    "/etc/ssl/cert.pem",                                  // Alpine, the BSDs, macOS
    nullptr,
};

namespace {

bool IsFile(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool IsDir(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// An environment variable as OpenSSL reads it (ignored in set-uid programs).
std::string Env(const char* name) {
  const char* v = ::secure_getenv(name);
  return v ? v : "";
}

}  // namespace

CaLocations SystemCaLocations() {
  CaLocations ca;
  // The same variables SSL_CTX_set_default_verify_paths reads.
  ca.file = Env(X509_get_default_cert_file_env());  // SSL_CERT_FILE
  ca.dir = Env(X509_get_default_cert_dir_env());    // SSL_CERT_DIR
  if (ca.file.empty()) {
    if (IsFile(X509_get_default_cert_file())) {
      ca.file = X509_get_default_cert_file();
    } else {
      for (const char* const* p = kCaBundleFallbacks; *p; ++p) {
        if (IsFile(*p)) {
          ca.file = *p;
          break;
        }
      }
    }
  }
  if (ca.dir.empty() && IsDir(X509_get_default_cert_dir())) ca.dir = X509_get_default_cert_dir();
  return ca;
}

std::string DescribeCaLocations(const CaLocations& ca) {
  if (!ca.file.empty() || !ca.dir.empty()) {
    std::string d;
    if (!ca.file.empty()) d = "CA file " + ca.file;
    if (!ca.dir.empty()) d += (d.empty() ? "CA directory " : ", CA directory ") + ca.dir;
    return d;
  }
  std::string looked =
      std::string("no CA certificates found (SSL_CERT_FILE and SSL_CERT_DIR unset; looked at ") +
      X509_get_default_cert_file() + ", " + X509_get_default_cert_dir();
  for (const char* const* p = kCaBundleFallbacks; *p; ++p) looked += std::string(", ") + *p;
  return looked + ")";
}

SSL_CTX* NewTlsClientContext(const TlsOptions& o, std::string* err) {
  // One context per (verify, ca_file) pair: loading a CA store is costly and
  // every connection of a process verifies the same way.
  // Never destroyed: connections may outlive static destruction at exit, and
  // the contexts stay reachable (no leak report) for as long as the process.
  static std::mutex mu;
  static auto* contexts = new std::map<std::pair<bool, std::string>, SSL_CTX*>;
  std::lock_guard l(mu);
  SSL_CTX*& slot = (*contexts)[{o.verify, o.ca_file}];
  if (!slot) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
      *err = "TLS: cannot create a context";
      return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Not SSL_CTX_set_default_verify_paths: it knows only OpenSSL's
    // compiled-in paths, which a static build made on Debian carries to
    // systems that keep their CA bundle elsewhere (Amazon Linux 2023).
    CaLocations ca;
    if (!o.ca_file.empty()) {
      ca.file = o.ca_file;
    } else if (o.verify) {
      ca = SystemCaLocations();
      if (ca.file.empty() && ca.dir.empty()) {
        *err = "TLS: " + DescribeCaLocations(ca) + "; set SSL_CERT_FILE or give a CA file";
        SSL_CTX_free(ctx);
        return nullptr;
      }
    }
    if (!ca.file.empty() && SSL_CTX_load_verify_locations(ctx, ca.file.c_str(), nullptr) != 1) {
      *err = "TLS: cannot load CA file " + ca.file;
      ERR_clear_error();
      SSL_CTX_free(ctx);
      return nullptr;
    }
    if (!ca.dir.empty() && SSL_CTX_load_verify_locations(ctx, nullptr, ca.dir.c_str()) != 1) {
      *err = "TLS: cannot use CA directory " + ca.dir;
      ERR_clear_error();
      SSL_CTX_free(ctx);
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, o.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    slot = ctx;
  }
  SSL_CTX_up_ref(slot);
  return slot;
}

void ConfigureTlsPeer(SSL* ssl, const std::string& host, const TlsOptions& o) {
  const std::string& name = o.sni.empty() ? host : o.sni;
  in6_addr a6;
  in_addr a4;
  bool ip = inet_pton(AF_INET, name.c_str(), &a4) == 1 || inet_pton(AF_INET6, name.c_str(), &a6) == 1;
  if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());  // SNI carries host names only
  if (!o.verify) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, name.c_str());
  }
}

Result<std::unique_ptr<Transport>> ConnectTransport(const std::string& host, int port, const TlsOptions& tls,
                                                    Deadline deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int gai = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (gai != 0) return Status::Unavailable("cannot resolve " + host + ": " + gai_strerror(gai));
  std::string last = "no address";
  std::unique_ptr<TcpTransport> tcp;
  for (addrinfo* ai = res; ai && !tcp; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = Errno("socket");
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      if (!WaitFor(fd, POLLOUT, deadline)) {
        last = "connect timed out";
        ::close(fd);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc != 0) {
      last = Errno("connect");
      ::close(fd);
      continue;
    }
    tcp = std::make_unique<TcpTransport>(fd);
  }
  ::freeaddrinfo(res);
  if (!tcp) return Status::Unavailable(last);
  if (!tls.enabled) {
    Status b = tcp->MakeBlocking();
    if (!b.ok()) return b;
    return std::unique_ptr<Transport>(std::move(tcp));
  }

  std::string err;
  SSL_CTX* ctx = NewTlsClientContext(tls, &err);
  if (!ctx) return Status::Unavailable(err);
  SSL* ssl = SSL_new(ctx);
  if (!ssl) {
    SSL_CTX_free(ctx);
    return Status::Unavailable(SslError("SSL_new"));
  }
  SSL_set_fd(ssl, tcp->fd());
  ConfigureTlsPeer(ssl, host, tls);
  auto t = std::make_unique<TlsTransport>(std::move(tcp), ctx, ssl);
  Status s = t->Handshake(deadline);
  if (!s.ok()) return s;
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace rowcache
