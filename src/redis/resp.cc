#include "redis/resp.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

namespace rowcache {

void ReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

ReplyReader::ReplyReader() : reader_(redisReaderCreate()) {}
ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

bool ReplyReader::Fail(std::string why) {
  error_ = "protocol error: " + std::move(why);
  return false;
}

bool ReplyReader::Feed(const char* data, size_t n) {
  if (failed()) return false;
  if (!reader_) return Fail("out of memory");
  // Scanned first: hiredis sees only bytes within the bounds.
  if (!Scan(data, n)) return false;
  if (redisReaderFeed(reader_, data, n) != REDIS_OK) return Fail(reader_->errstr);
  return true;
}

bool ReplyReader::Next(Reply* out) {
  out->reset();
  if (failed()) return false;
  void* r = nullptr;
  if (redisReaderGetReply(reader_, &r) != REDIS_OK) return Fail(reader_->errstr);
  out->reset(static_cast<redisReply*>(r));
  return true;
}

bool ReplyReader::Scan(const char* data, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (body_left_ > 0) {
      size_t take = static_cast<size_t>(std::min<int64_t>(body_left_, static_cast<int64_t>(n - i)));
      i += take;
      body_left_ -= static_cast<int64_t>(take);
      if (body_left_ == 0) EndValue();
      continue;
    }
    // A line ends at its first CR LF (as hiredis reads it).
    char c = data[i++];
    if (c == '\n' && !line_.empty() && line_.back() == '\r') {
      line_.pop_back();
      if (!Line()) return false;
      line_.clear();
      continue;
    }
    if (line_.size() >= kMaxReplyLineBytes) {
      return Fail("reply past its bounds: a line longer than " + std::to_string(kMaxReplyLineBytes) +
                  " bytes");
    }
    line_ += c;
  }
  return true;
}

bool ReplyReader::Line() {
  reply_bytes_ += static_cast<int64_t>(line_.size()) + 2;
  if (line_.empty()) return Fail("an empty line");
  char type = line_[0];
  if (type == '+' || type == '-' || type == ':') {
    EndValue();
  } else if (type == '$' || type == '*') {
    int64_t len = 0;
    const char* begin = line_.data() + 1;
    const char* end = line_.data() + line_.size();
    auto [p, ec] = std::from_chars(begin, end, len);
    if (ec != std::errc() || p != end || begin == end) return Fail("a bad length line");
    if (len < -1) return Fail("a negative length");
    if (len == -1) {
      EndValue();
    } else if (type == '$') {
      if (len > kMaxBulkBytes) {
        return Fail("reply past its bounds: a bulk string of " + std::to_string(len) + " bytes (most " +
                    std::to_string(kMaxBulkBytes) + ")");
      }
      reply_bytes_ += len + 2;
      body_left_ = len + 2;
    } else {
      if (len > kMaxReplyElements - reply_elements_) {
        return Fail("reply past its bounds: arrays of " + std::to_string(reply_elements_ + len) +
                    " elements in one reply (most " + std::to_string(kMaxReplyElements) + ")");
      }
      reply_elements_ += len;
      if (open_.size() >= static_cast<size_t>(kMaxReplyDepth)) {  // an empty array is an array too
        return Fail("reply past its bounds: arrays nested deeper than " + std::to_string(kMaxReplyDepth));
      }
      if (len == 0) {
        EndValue();
      } else {
        open_.push_back(len);
      }
    }
  } else {
    return Fail("an unknown reply type");
  }
  if (reply_bytes_ > kMaxReplyBytes) {
    return Fail("reply past its bounds: more than " + std::to_string(kMaxReplyBytes) + " bytes in one reply");
  }
  return true;
}

// One value complete: it fills a slot of the innermost open array (closing
// those it completes), or it was a whole reply.
void ReplyReader::EndValue() {
  while (!open_.empty()) {
    if (--open_.back() > 0) return;
    open_.pop_back();
  }
  reply_bytes_ = 0;
  reply_elements_ = 0;
}

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
