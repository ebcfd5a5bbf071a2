#include "redis/command.h"

#include "redis/resp.h"
#include "redis/slots.h"

namespace rowcache::redis {

Command MakeCommand(std::initializer_list<std::string_view> args, std::string_view key) {
  Command c;
  AppendCommand(c.wire, args);
  c.slot = KeySlot(key);
  return c;
}

namespace {
constexpr std::string_view kGetWithTtlScript =
    "local r = {} for i, k in ipairs(KEYS) do r[2 * i - 1] = redis.call('GET', k) "
    "r[2 * i] = redis.call('PTTL', k) end return r";

void AppendGetWithTtl(std::string& out, std::span<const std::string> keys,
                      std::span<const uint32_t> positions) {
  AppendArrayHeader(out, positions.size() + 3);
  AppendBulk(out, "EVAL");
  AppendBulk(out, kGetWithTtlScript);
  AppendBulk(out, std::to_string(positions.size()));
  for (uint32_t pos : positions) AppendBulk(out, keys[pos]);
}
}  // namespace

MGetPlan PlanMGet(std::span<const std::string> keys, bool cluster, bool with_ttl) {
  MGetPlan plan;
  if (keys.empty()) return plan;
  if (!cluster) {
    MGetPlan::Part p;
    p.positions.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) p.positions[i] = static_cast<uint32_t>(i);
    if (with_ttl) {
      AppendGetWithTtl(p.wire, keys, p.positions);
    } else {
      AppendMGet(p.wire, keys);
    }
    plan.parts.push_back(std::move(p));
    return plan;
  }
  // Group by slot, in first-seen order (a handful of keys: linear search).
  for (size_t i = 0; i < keys.size(); ++i) {
    int slot = KeySlot(keys[i]);
    size_t j = 0;
    while (j < plan.parts.size() && plan.parts[j].slot != slot) ++j;
    if (j == plan.parts.size()) plan.parts.push_back(MGetPlan::Part{slot, {}, {}});
    plan.parts[j].positions.push_back(static_cast<uint32_t>(i));
  }
  for (auto& p : plan.parts) {
    if (with_ttl) {
      AppendGetWithTtl(p.wire, keys, p.positions);
      continue;
    }
    AppendArrayHeader(p.wire, p.positions.size() + 1);
    AppendBulk(p.wire, "MGET");
    for (uint32_t pos : p.positions) AppendBulk(p.wire, keys[pos]);
  }
  return plan;
}

}  // namespace rowcache::redis
