// RedisCache: each operation is one Client::Run, routed by key slot.
#include "cache/redis_cache.h"

#include <hiredis/hiredis.h>

namespace rowcache {

namespace {

// For each (entry, guard) pair in KEYS, two elements: the entry and its PTTL
// if present; else 1 if the guard was absent and now holds ARGV[1] for
// ARGV[2] ms (a lease), else 0, and -2.
constexpr std::string_view kGetOrLeaseScript =
    "local out = {} "
    "for i = 1, #KEYS, 2 do "
    "local v = redis.call('GET', KEYS[i]) "
    "if v then out[#out + 1] = v out[#out + 1] = redis.call('PTTL', KEYS[i]) "
    "elseif redis.call('SET', KEYS[i + 1], ARGV[1], 'NX', 'PX', ARGV[2]) then out[#out + 1] = 1 out[#out + "
    "1] = -2 "
    "else out[#out + 1] = 0 out[#out + 1] = -2 end "
    "end return out";

// Stores the entry only if the guard still holds the lease ARGV[3], and uses
// the lease up. KEYS[1] and KEYS[2] share a hash tag.
constexpr std::string_view kFillScript =
    "if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) redis.call('DEL', KEYS[2]) return 1";

// Most ids one get-or-lease script looks up (a read of more is split).
constexpr size_t kMaxIdsPerScript = 256;

// kFillScript for many entries: KEYS are (entry, guard) pairs, ARGV (value,
// ttl, lease) triples; answers how many were stored.
constexpr std::string_view kFillManyScript =
    "local n = 0 "
    "for i = 1, #KEYS, 2 do "
    "local j = (i - 1) / 2 * 3 "
    "if redis.call('GET', KEYS[i + 1]) == ARGV[j + 3] then "
    "redis.call('SET', KEYS[i], ARGV[j + 1], 'EX', ARGV[j + 2]) redis.call('DEL', KEYS[i + 1]) n = n + 1 end "
    "end return n";

// Deletes each guard in KEYS that still holds the lease ARGV[1] (and no
// other); answers how many were deleted.
constexpr std::string_view kReleaseScript =
    "local n = 0 "
    "for i = 1, #KEYS do "
    "if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) n = n + 1 end "
    "end return n";

// The start of "EVAL script 2n entry1 guard1 ... entryn guardn" over
// items[first, last) (each with .key and .guard_key), routed by the first
// entry's slot, with room in the array header for extra_args arguments that
// the caller appends.
template <class T>
redis::Command EvalOverPairs(std::string_view script, std::span<const T> items, size_t first, size_t last,
                             size_t extra_args) {
  redis::Command c;
  AppendArrayHeader(c.wire, 3 + 2 * (last - first) + extra_args);
  AppendBulk(c.wire, "EVAL");
  AppendBulk(c.wire, script);
  AppendBulk(c.wire, std::to_string(2 * (last - first)));
  for (size_t i = first; i < last; ++i) {
    AppendBulk(c.wire, items[i].key);
    AppendBulk(c.wire, items[i].guard_key);
  }
  c.slot = redis::KeySlot(items[first].key);
  return c;
}

class RedisCache final : public Cache {
 public:
  RedisCache(std::shared_ptr<redis::Client> client, bool lookups_need_ttl)
      : client_(std::move(client)), lookups_need_ttl_(lookups_need_ttl) {}

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

  Result<std::vector<LeasedLookup>> GetOrLease(std::span<const KeyAndGuard> keys, std::string_view token,
                                               int lease_ms) override {
    if (!lookups_need_ttl_ && keys.size() > kMgetFirstKeys) {
      // A large read: the entries by MGET (cheap per key), then the script for
      // the misses only. An entry filled between the two is the script's hit;
      // one invalidated between them was read before its invalidation, as the
      // script alone could have. If the MGET fails, the script path decides.
      std::vector<std::string> entry_keys;
      entry_keys.reserve(keys.size());
      for (const auto& k : keys) entry_keys.push_back(k.key);
      auto got = client_->MGet(entry_keys);
      if (got.ok() && got->size() == keys.size()) {
        std::vector<LeasedLookup> out(keys.size());
        std::vector<KeyAndGuard> rest;
        std::vector<size_t> at;
        for (size_t i = 0; i < keys.size(); ++i) {
          if ((*got)[i]) {
            out[i].value = std::move((*got)[i]);
          } else {
            rest.push_back(keys[i]);
            at.push_back(i);
          }
        }
        if (rest.empty()) return out;
        auto more = ScriptGetOrLease(rest, token, lease_ms);
        if (!more.ok()) return more.status();
        for (size_t k = 0; k < rest.size(); ++k) out[at[k]] = std::move((*more)[k]);
        return out;
      }
    }
    return ScriptGetOrLease(keys, token, lease_ms);
  }

 private:
  Result<std::vector<LeasedLookup>> ScriptGetOrLease(std::span<const KeyAndGuard> keys,
                                                     std::string_view token, int lease_ms) {
    std::vector<LeasedLookup> out(keys.size());
    if (keys.empty()) return out;
    std::string ms = std::to_string(lease_ms);
    // One script per slot: the whole batch on a standalone server (in
    // scripts of kMaxIdsPerScript); in a cluster each id has its own hash
    // tag, so one script per id, pipelined.
    auto topo = client_->LearnTopology();
    if (!topo.ok()) return topo.status();
    bool cluster = (*topo)->cluster;
    std::vector<redis::Command> cmds;
    std::vector<std::pair<size_t, size_t>> ranges;  // [first, last) of keys per command
    // A large read is several scripts, pipelined (still one round trip), so
    // that no one script holds the server for long: Redis runs one at a time.
    size_t step = cluster ? 1 : std::min(keys.size(), kMaxIdsPerScript);
    for (size_t first = 0; first < keys.size(); first += step) {
      size_t last = std::min(keys.size(), first + step);
      redis::Command c = EvalOverPairs(kGetOrLeaseScript, keys, first, last, 2);
      AppendBulk(c.wire, token);
      AppendBulk(c.wire, ms);
      cmds.push_back(std::move(c));
      ranges.emplace_back(first, last);
    }
    // A node that fails leaves its ids as misses without a lease: they are
    // read from the database and not filled, while the other nodes' ids are
    // still served (a cluster during a failover).
    auto replies = client_->Run(cmds, redis::Client::Partial::kAllowed);
    if (!replies.ok()) return replies.status();
    for (size_t k = 0; k < cmds.size(); ++k) {
      const redisReply* r = (*replies)[k].get();
      if (!r) continue;
      auto [first, last] = ranges[k];
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * (last - first)) return Bad("EVAL", r);
      for (size_t i = first; i < last; ++i) {
        const redisReply* e = r->element[2 * (i - first)];
        const redisReply* ttl = r->element[2 * (i - first) + 1];
        if (ttl->type != REDIS_REPLY_INTEGER) return Bad("EVAL", r);
        if (e->type == REDIS_REPLY_STRING) {
          out[i].value.emplace(e->str, e->len);
          out[i].ttl_ms = ttl->integer;
        } else if (e->type == REDIS_REPLY_INTEGER) {
          out[i].leased = e->integer == 1;
        } else {
          return Bad("EVAL", r);
        }
      }
    }
    return out;
  }

 public:
  Status Lease(std::span<const std::string> guard_keys, std::string_view token, int lease_ms) override {
    std::string ms = std::to_string(lease_ms);
    std::vector<redis::Command> cmds;
    cmds.reserve(guard_keys.size());
    for (const auto& g : guard_keys) cmds.push_back(redis::MakeCommand({"SET", g, token, "PX", ms}, g));
    return Check(client_->Run(cmds), "SET", nullptr);
  }

  Result<size_t> SetIfLeaseHeld(std::span<const LeasedEntry> entries) override {
    std::vector<redis::Command> cmds;
    auto topo = client_->LearnTopology();
    if (!topo.ok()) return topo.status();
    if ((*topo)->cluster || entries.size() == 1) {
      // One script per entry: in a cluster each id has a slot of its own.
      cmds.reserve(entries.size());
      for (const auto& e : entries) {
        cmds.push_back(redis::MakeCommand(
            {"EVAL", kFillScript, "2", e.key, e.guard_key, e.value, std::to_string(e.ttl_seconds), e.lease},
            e.key));
      }
    } else {
      // A standalone server: scripts of up to kMaxIdsPerScript entries,
      // pipelined (a large read's fill would otherwise be one script per id).
      for (size_t first = 0; first < entries.size(); first += kMaxIdsPerScript) {
        size_t last = std::min(entries.size(), first + kMaxIdsPerScript);
        redis::Command c = EvalOverPairs(kFillManyScript, entries, first, last, 3 * (last - first));
        for (size_t i = first; i < last; ++i) {
          AppendBulk(c.wire, entries[i].value);
          AppendBulk(c.wire, std::to_string(entries[i].ttl_seconds));
          AppendBulk(c.wire, entries[i].lease);
        }
        cmds.push_back(std::move(c));
      }
    }
    size_t stored = 0;
    Status s = Check(client_->Run(cmds), "EVAL", &stored);
    if (!s.ok()) return s;
    return stored;
  }

  Result<size_t> ReleaseLeases(std::span<const std::string> guard_keys, std::string_view token) override {
    if (guard_keys.empty()) return size_t{0};
    auto topo = client_->LearnTopology();
    if (!topo.ok()) return topo.status();
    // As for GetOrLease: in a cluster one script per guard (routed by its
    // own slot, the one its entry shares), else scripts of kMaxIdsPerScript.
    size_t step = (*topo)->cluster ? 1 : kMaxIdsPerScript;
    std::vector<redis::Command> cmds;
    for (size_t first = 0; first < guard_keys.size(); first += step) {
      size_t last = std::min(guard_keys.size(), first + step);
      redis::Command c;
      AppendArrayHeader(c.wire, 4 + (last - first));
      AppendBulk(c.wire, "EVAL");
      AppendBulk(c.wire, kReleaseScript);
      AppendBulk(c.wire, std::to_string(last - first));
      for (size_t i = first; i < last; ++i) AppendBulk(c.wire, guard_keys[i]);
      AppendBulk(c.wire, token);
      c.slot = redis::KeySlot(guard_keys[first]);
      cmds.push_back(std::move(c));
    }
    size_t released = 0;
    Status s = Check(client_->Run(cmds), "EVAL", &released);
    if (!s.ok()) return s;
    return released;
  }

  Status Invalidate(std::span<const KeyAndGuard> keys) override {
    std::vector<redis::Command> cmds;
    cmds.reserve(keys.size());
    // One DEL of both keys: they share a hash tag, so it is one slot.
    for (const auto& k : keys) cmds.push_back(redis::MakeCommand({"DEL", k.key, k.guard_key}, k.key));
    return Check(client_->Run(cmds), "DEL", nullptr);
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
    auto s = client_->health().Get(SteadyNanos());
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
  Status Bad(const char* cmd, const redisReply* r) {
    std::string_view err = ReplyError(r);
    client_->health().Failure(err.empty() ? redis::ErrorClass::kProtocol : redis::ClassifyReplyError(err),
                              SteadyNanos());
    return Status::Unavailable(client_->Describe() + ": " + cmd + ": " +
                               (err.empty() ? std::string("unexpected reply") : std::string(err)));
  }

  // Every reply must be a success; with `stored`, integer replies are summed
  // (the counts the fill and release scripts answer).
  Status Check(Result<std::vector<Reply>> replies, const char* cmd, size_t* stored) {
    if (!replies.ok()) return replies.status();
    for (auto& r : *replies) {
      std::string_view err = ReplyError(r.get());
      if (!err.empty()) {
        client_->health().Failure(redis::ClassifyReplyError(err), SteadyNanos());
        return Status::Unavailable(client_->Describe() + ": " + cmd + ": " + std::string(err));
      }
      if (stored) {
        if (r->type != REDIS_REPLY_INTEGER) {
          client_->health().Failure(redis::ErrorClass::kProtocol, SteadyNanos());
          return Status::Unavailable(client_->Describe() + ": " + cmd + ": unexpected reply type");
        }
        *stored += r->integer > 0 ? static_cast<size_t>(r->integer) : 0;  // a script's count
      }
    }
    return Status::OK();
  }

  std::shared_ptr<redis::Client> client_;
  bool lookups_need_ttl_;
};

}  // namespace

std::unique_ptr<Cache> NewRedisCache(std::shared_ptr<redis::Client> client, bool lookups_need_ttl) {
  return std::make_unique<RedisCache>(std::move(client), lookups_need_ttl);
}

}  // namespace rowcache
