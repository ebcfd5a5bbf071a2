// Redis Cluster key slots and the slot map.
//
// A key's slot is CRC16(key) mod 16384, where only the part between the first
// '{' and the next '}' counts when that part is non-empty (a hash tag): keys
// "p{7}" and "p{7}:gen" share a slot, so one script can touch both.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rowcache/status.h"

struct redisReply;

namespace rowcache::redis {

inline constexpr int kSlots = 16384;

// CRC16-CCITT (XModem), as the Redis Cluster specification defines it.
uint16_t Crc16(std::string_view data);
// The slot of key, honouring hash tags.
int KeySlot(std::string_view key);

struct NodeAddress {
  std::string host;
  int port = 0;
  std::string Id() const { return host + ":" + std::to_string(port); }
  bool operator==(const NodeAddress&) const = default;
};

// Which master serves each slot. For a standalone server: one node, every slot.
struct Topology {
  bool cluster = false;
  std::vector<NodeAddress> nodes;  // masters
  std::vector<uint16_t> owner;     // kSlots entries: index into nodes, or kNoOwner
  static constexpr uint16_t kNoOwner = 0xFFFF;

  // The master for slot, or nullptr when no node serves it.
  const NodeAddress* NodeFor(int slot) const;
};

// A standalone server's topology: seed serves every slot.
Topology StandaloneTopology(const NodeAddress& seed);

// The topology from a CLUSTER SLOTS reply. A node announced with an empty
// host or "?" is reached at the seed's host (what Redis means by it).
// InvalidArgument if the reply is not the documented shape.
Result<Topology> TopologyFromClusterSlots(const redisReply* reply, const NodeAddress& seed);

}  // namespace rowcache::redis
