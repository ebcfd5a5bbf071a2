#include "cache/resp.h"

#include <charconv>

namespace rowcache {

static void AppendLen(std::string& out, char tag, size_t n) {
  char buf[24];
  buf[0] = tag;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof buf - 2, n);
  *end++ = '\r';
  *end++ = '\n';
  out.append(buf, end);
}

void AppendArrayHeader(std::string& out, size_t n) { AppendLen(out, '*', n); }

void AppendBulk(std::string& out, std::string_view arg) {
  AppendLen(out, '$', arg.size());
  out.append(arg);
  out += "\r\n";
}

void AppendCommand(std::string& out, std::initializer_list<std::string_view> args) {
  AppendArrayHeader(out, args.size());
  for (auto a : args) AppendBulk(out, a);
}

}  // namespace rowcache
