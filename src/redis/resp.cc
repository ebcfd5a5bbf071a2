#include "redis/resp.h"

#include <hiredis/hiredis.h>

#include <charconv>

namespace rowcache {

void ReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

std::string_view ReplyError(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ERROR) return {};
  return std::string_view(r->str, r->len);
}

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

void AppendMGet(std::string& out, std::span<const std::string> keys) {
  AppendArrayHeader(out, keys.size() + 1);
  AppendBulk(out, "MGET");
  for (const auto& k : keys) AppendBulk(out, k);
}

bool MGetValues(const redisReply* r, size_t n, std::vector<std::optional<std::string>>* out) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != n) return false;
  out->assign(n, std::nullopt);
  for (size_t i = 0; i < n; ++i) {
    const redisReply* e = r->element[i];
    if (e->type == REDIS_REPLY_STRING) (*out)[i].emplace(e->str, e->len);
  }
  return true;
}

}  // namespace rowcache
