// RESP2 request encoding (replies are parsed by hiredis's redisReader).
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace rowcache {

// Appends "*<n>\r\n" then each argument as "$<len>\r\n<bytes>\r\n". Binary safe.
void AppendArrayHeader(std::string& out, size_t n);
void AppendBulk(std::string& out, std::string_view arg);
void AppendCommand(std::string& out, std::initializer_list<std::string_view> args);

}  // namespace rowcache
