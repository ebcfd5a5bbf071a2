#include "bench/http_parse.h"

#include <cctype>
#include <cstdint>

namespace rowcache::bench {

namespace {
bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}
std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
HttpResponse Error(std::string_view why) {
  HttpResponse r;
  r.state = HttpResponse::State::kError;
  r.error = why;
  return r;
}
}  // namespace

HttpResponse ParseHttpResponse(std::string_view buf) {
  HttpResponse r;
  size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (buf.size() > 64 * 1024) return Error("response head longer than 64 KiB");
    if (buf.size() >= 5 && buf.substr(0, 5) != "HTTP/") return Error("not an HTTP response");
    return r;
  }
  std::string_view head = buf.substr(0, head_end);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ') {
    return Error("bad status line");
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(status_line[i]))) return Error("bad status code");
    status = status * 10 + (status_line[i] - '0');
  }
  r.status = status;
  bool has_length = false;
  uint64_t length = 0;
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string_view::npos) next = head.size();
    std::string_view line = head.substr(pos, next - pos);
    pos = next + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Error("header line without a colon");
    std::string_view name = line.substr(0, colon);
    std::string_view value = Trim(line.substr(colon + 1));
    if (IEquals(name, "content-length")) {
      if (value.empty()) return Error("empty Content-Length");
      uint64_t v = 0;
      for (char c : value) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return Error("bad Content-Length");
        v = v * 10 + static_cast<uint64_t>(c - '0');
        if (v > (uint64_t{1} << 32)) return Error("Content-Length too large");
      }
      if (has_length && v != length) return Error("conflicting Content-Length");
      has_length = true;
      length = v;
    } else if (IEquals(name, "transfer-encoding")) {
      return Error("Transfer-Encoding is not supported");
    } else if (IEquals(name, "connection")) {
      r.close = IEquals(value, "close");
    }
  }
  if (!has_length) {
    // 1xx, 204 and 304 have no body by definition.
    if (status / 100 == 1 || status == 204 || status == 304)
      length = 0;
    else
      return Error("response without Content-Length");
  }
  size_t body_start = head_end + 4;
  if (buf.size() - body_start < length) return r;  // incomplete
  r.state = HttpResponse::State::kComplete;
  r.body = buf.substr(body_start, length);
  r.consumed = body_start + length;
  return r;
}

int BodyStatusCode(std::string_view body) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
  };
  skip_ws();
  if (i >= body.size() || body[i] != '{') return -1;
  ++i;
  skip_ws();
  constexpr std::string_view kKey = "\"statusCode\"";
  if (body.substr(i, kKey.size()) != kKey) return -1;
  i += kKey.size();
  skip_ws();
  if (i >= body.size() || body[i] != ':') return -1;
  ++i;
  skip_ws();
  int v = 0;
  size_t digits = 0;
  while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i])) && digits < 4) {
    v = v * 10 + (body[i] - '0');
    ++i;
    ++digits;
  }
  return digits ? v : -1;
}

}  // namespace rowcache::bench
