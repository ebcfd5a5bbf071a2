#include "net/address.h"

#include <cerrno>
#include <cstdlib>

namespace rowcache {

Status ParseHostPort(const std::string& what, const std::string& text, std::string* host, uint16_t* port,
                     int min_port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument(what + ": expected HOST:PORT, got '" + text + "'");
  }
  std::string h = text.substr(0, colon);
  if (h.size() > 1 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string digits = text.substr(colon + 1);
  errno = 0;
  char* end = nullptr;
  long long p = std::strtoll(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0' || errno == ERANGE || p < min_port || p > 65535) {
    return Status::InvalidArgument(what + ": expected HOST:PORT with a port from " +
                                   std::to_string(min_port) + " to 65535, got '" + text + "'");
  }
  *host = h;
  *port = static_cast<uint16_t>(p);
  return Status::OK();
}

}  // namespace rowcache
