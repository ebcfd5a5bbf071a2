// RESP2: request encoding, and helpers for replies (parsed by hiredis's
// redisReader, which works standalone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;
struct redisReader;

namespace rowcache {

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
// One parsed reply; owns the tree.
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// What one reply from a peer may declare, checked as its bytes arrive and
// before hiredis allocates anything for them (hiredis 0.14 would allocate an
// array of any declared size at once, and buffer any declared bulk length).
// rowcache's own replies are far smaller: a row is at most kMaxRowJsonBytes,
// a script answers at most 2 x 256 ids, an MGET of the fast path 64 keys.
inline constexpr int64_t kMaxBulkBytes = 16 << 20;      // one bulk string
inline constexpr int64_t kMaxReplyElements = 1 << 20;   // every array of one reply together
inline constexpr int kMaxReplyDepth = 5;                // arrays within arrays
inline constexpr int64_t kMaxReplyBytes = 64 << 20;     // one reply, all its bytes
inline constexpr size_t kMaxReplyLineBytes = 64 << 10;  // a status, error, integer or length line

// The reply parser of a connection: hiredis's redisReader behind a scanner
// that holds the peer to the bounds above. Past a bound (or on bytes that
// are not RESP2) it fails for good -- the connection must be dropped -- with
// an error() naming the bound. Not thread-safe.
class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Takes n bytes read from the peer. False once failed.
  bool Feed(const char* data, size_t n);
  // The next complete reply (null if more bytes are needed), or false with
  // error() set.
  bool Next(Reply* out);
  // "protocol error: ..." (a bound: "protocol error: reply past its bounds: ...").
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }

 private:
  bool Scan(const char* data, size_t n);
  bool Line();
  void EndValue();
  bool Fail(std::string why);

  redisReader* reader_;
  std::string line_;           // the header line so far (up to its CR LF)
  int64_t body_left_ = 0;      // bulk bytes (and CR LF) still to come
  std::vector<int64_t> open_;  // elements still to come in each open array
  int64_t reply_bytes_ = 0, reply_elements_ = 0;
  std::string error_;
};

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
