// The bench client's HTTP/1.1 response parser: status line, headers up to the
// blank line, a body of exactly Content-Length bytes (the service always sends
// one; a response without it is an error here, as is chunked encoding).
// Works on whatever has arrived so far: Incomplete until the whole response
// is in the buffer. Extra bytes after it are left for the next response.
#pragma once

#include <cstddef>
#include <string_view>

namespace rowcache::bench {

struct HttpResponse {
  enum class State { kIncomplete, kComplete, kError } state = State::kIncomplete;
  int status = 0;
  bool close = false;      // "Connection: close"
  size_t consumed = 0;     // bytes of this response (head + body) when complete
  std::string_view body;   // points into the parsed buffer
  std::string_view error;  // what was wrong, when kError
};

HttpResponse ParseHttpResponse(std::string_view buf);

// The "statusCode" of a service response body ({"statusCode": 200, ...}); -1
// when the body does not start with one (e.g. a trivial server's body).
int BodyStatusCode(std::string_view body);

}  // namespace rowcache::bench
