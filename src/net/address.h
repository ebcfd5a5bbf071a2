// "HOST:PORT" parsing, shared by every front door that takes an address.
#pragma once

#include <cstdint>
#include <string>

#include "rowcache/status.h"

namespace rowcache {

// "HOST:PORT" or "[v6]:PORT" with a port from min_port to 65535 (brackets
// removed from the host). `what` names the source in errors, e.g. "--listen"
// or "AWS_LAMBDA_RUNTIME_API".
Status ParseHostPort(const std::string& what, const std::string& text, std::string* host, uint16_t* port,
                     int min_port = 0);

}  // namespace rowcache
