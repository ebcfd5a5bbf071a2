// RedisCache: each operation is one Client::Run, routed by key slot.
#include "cache/redis_cache.h"

#include <hiredis/hiredis.h>

namespace rowcache {

namespace {

// Stores the entry only if the guard holds the expected value (ARGV[4] = '1')
// or is absent (ARGV[4] = '0'). KEYS[1] and KEYS[2] share a hash tag.
constexpr std::string_view kFillScript =
    "local g = redis.call('GET', KEYS[2]) "
    "if ARGV[4] == '0' then if g then return 0 end elseif g ~= ARGV[3] then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1";

// Deletes the entry and bumps its guard, atomically.
constexpr std::string_view kInvalidateScript =
    "redis.call('DEL', KEYS[1]) redis.call('INCR', KEYS[2]) redis.call('EXPIRE', KEYS[2], ARGV[1]) return 1";

class RedisCache final : public Cache {
 public:
  explicit RedisCache(std::shared_ptr<redis::Client> client) : client_(std::move(client)) {}

  Result<std::vector<std::optional<std::string>>> MGet(std::span<const std::string> keys) override {
    return client_->MGet(keys);
  }

  Status SetMany(std::span<const CacheEntry> entries) override {
    std::vector<redis::Command> cmds;
    cmds.reserve(entries.size());
    for (const auto& e : entries) {
      cmds.push_back(redis::MakeCommand({"SET", e.key, e.value, "EX", std::to_string(e.ttl_seconds)}, e.key));
    }
    return Check(client_->Run(cmds), "SET", nullptr);
  }

  Status Del(std::span<const std::string> keys) override {
    std::vector<redis::Command> cmds;
    cmds.reserve(keys.size());
    for (const auto& k : keys) cmds.push_back(redis::MakeCommand({"DEL", k}, k));
    return Check(client_->Run(cmds), "DEL", nullptr);
  }

  Result<size_t> SetIfGuardUnchanged(std::span<const GuardedEntry> entries) override {
    std::vector<redis::Command> cmds;
    cmds.reserve(entries.size());
    for (const auto& e : entries) {
      cmds.push_back(redis::MakeCommand(
          {"EVAL", kFillScript, "2", e.key, e.guard_key, e.value, std::to_string(e.ttl_seconds),
           e.expected_guard ? std::string_view(*e.expected_guard) : std::string_view(), e.expected_guard ? "1" : "0"},
          e.key));
    }
    size_t stored = 0;
    Status s = Check(client_->Run(cmds), "EVAL", &stored);
    if (!s.ok()) return s;
    return stored;
  }

  Status Invalidate(std::span<const std::pair<std::string, std::string>> key_and_guard, int guard_ttl) override {
    std::string ttl = std::to_string(guard_ttl);
    std::vector<redis::Command> cmds;
    cmds.reserve(key_and_guard.size());
    for (const auto& [k, g] : key_and_guard) cmds.push_back(redis::MakeCommand({"EVAL", kInvalidateScript, "2", k, g, ttl}, k));
    return Check(client_->Run(cmds), "EVAL", nullptr);
  }

  Status Ping() override {
    redis::Command ping;
    AppendCommand(ping.wire, {"PING"});
    return Check(client_->Run(std::span(&ping, 1)), "PING", nullptr);
  }

  std::string Describe() const override {
    auto t = client_->topology();
    std::string d = client_->Describe();
    if (t && t->cluster) d += " (cluster, " + std::to_string(t->nodes.size()) + " masters)";
    return d;
  }

  CacheHealth Health() const override {
    auto s = client_->health().Get(redis::SteadyNanos());
    CacheHealth h;
    h.degraded = s.degraded;
    h.last_error_class = s.last_error_class;
    h.window_calls = s.window_calls;
    h.window_failures = s.window_failures;
    for (size_t i = 0; i < s.totals.size(); ++i) {
      h.errors_by_class.emplace_back(redis::ErrorClassName(static_cast<redis::ErrorClass>(i)), s.totals[i]);
    }
    return h;
  }

 private:
  // Every reply must be a success; with `stored`, integer replies are summed
  // as 0/1 results of the fill script.
  Status Check(Result<std::vector<Reply>> replies, const char* cmd, size_t* stored) {
    if (!replies.ok()) return replies.status();
    for (auto& r : *replies) {
      std::string_view err = ReplyError(r.get());
      if (!err.empty()) {
        client_->health().Failure(redis::ClassifyReplyError(err), redis::SteadyNanos());
        return Status::Unavailable(client_->Describe() + ": " + cmd + ": " + std::string(err));
      }
      if (stored) {
        if (r->type != REDIS_REPLY_INTEGER) {
          client_->health().Failure(redis::ErrorClass::kProtocol, redis::SteadyNanos());
          return Status::Unavailable(client_->Describe() + ": " + cmd + ": unexpected reply type");
        }
        *stored += r->integer == 1 ? 1 : 0;
      }
    }
    return Status::OK();
  }

  std::shared_ptr<redis::Client> client_;
};

}  // namespace

std::unique_ptr<Cache> NewRedisCache(std::shared_ptr<redis::Client> client) {
  return std::make_unique<RedisCache>(std::move(client));
}

}  // namespace rowcache
