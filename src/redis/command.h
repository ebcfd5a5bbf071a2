// Command planning: a command on the wire with the slot that routes it, and
// how a multi-key read is split so that no command spans two cluster slots.
// No I/O; shared by the blocking and the asynchronous client.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rowcache::redis {

// One command on the wire and the slot that routes it (-1: any node).
struct Command {
  std::string wire;
  int slot = -1;
};
// Encodes args as a command routed by key's slot.
Command MakeCommand(std::initializer_list<std::string_view> args, std::string_view key);

// How a multi-key MGET is split so that no command spans two slots: in a
// standalone server one MGET, in a cluster one MGET per slot. Shared by the
// blocking and the asynchronous client.
struct MGetPlan {
  struct Part {
    int slot = -1;
    std::vector<uint32_t> positions;  // indices into the keys, in command order
    std::string wire;
  };
  std::vector<Part> parts;
};
// with_ttl: each part is instead a script returning, per key, the value and
// its PTTL (2 elements per key), for a near cache that must not outlive
// Redis's entry.
MGetPlan PlanMGet(std::span<const std::string> keys, bool cluster, bool with_ttl = false);

}  // namespace rowcache::redis
