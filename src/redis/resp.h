// RESP2: request encoding, and helpers for replies (parsed by hiredis's
// redisReader, which works standalone).
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;

namespace rowcache {

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
// One parsed reply; owns the tree.
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// The text of an error reply, or "" if r is not one.
std::string_view ReplyError(const redisReply* r);

// Appends "*<n>\r\n" then each argument as "$<len>\r\n<bytes>\r\n". Binary safe.
void AppendArrayHeader(std::string& out, size_t n);
void AppendBulk(std::string& out, std::string_view arg);
void AppendCommand(std::string& out, std::initializer_list<std::string_view> args);

// MGET: the command for keys, and the values of its reply (nullopt for a
// missing key); false if the reply is not an array of keys.size() elements.
void AppendMGet(std::string& out, std::span<const std::string> keys);
bool MGetValues(const redisReply* reply, size_t n, std::vector<std::optional<std::string>>* out);

}  // namespace rowcache
