#include "redis/slots.h"

#include <hiredis/hiredis.h>

#include <array>

namespace rowcache::redis {

namespace {

constexpr std::array<uint16_t, 256> MakeCrcTable() {
  std::array<uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    uint16_t crc = static_cast<uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) crc = static_cast<uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    t[static_cast<size_t>(i)] = crc;
  }
  return t;
}
constexpr std::array<uint16_t, 256> kCrcTable = MakeCrcTable();

}  // namespace

uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char ch : data) crc = static_cast<uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ ch) & 0xFF]);
  return crc;
}

int KeySlot(std::string_view key) {
  size_t open = key.find('{');
  if (open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return Crc16(key) & (kSlots - 1);
}

const NodeAddress* Topology::NodeFor(int slot) const {
  if (slot < 0 || static_cast<size_t>(slot) >= owner.size()) return nodes.empty() ? nullptr : &nodes[0];
  uint16_t i = owner[static_cast<size_t>(slot)];
  return i == kNoOwner ? nullptr : &nodes[i];
}

Topology StandaloneTopology(const NodeAddress& seed) {
  Topology t;
  t.nodes.push_back(seed);
  t.owner.assign(kSlots, 0);
  return t;
}

Result<Topology> TopologyFromClusterSlots(const redisReply* r, const NodeAddress& seed) {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("CLUSTER SLOTS: " + why); };
  if (!r || r->type != REDIS_REPLY_ARRAY) return bad("not an array");
  Topology t;
  t.cluster = true;
  t.owner.assign(kSlots, Topology::kNoOwner);
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* range = r->element[i];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) return bad("bad slot range");
    const redisReply* lo = range->element[0];
    const redisReply* hi = range->element[1];
    const redisReply* master = range->element[2];
    if (lo->type != REDIS_REPLY_INTEGER || hi->type != REDIS_REPLY_INTEGER || lo->integer < 0 ||
        hi->integer >= kSlots || lo->integer > hi->integer) {
      return bad("bad slot numbers");
    }
    if (master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0]->type != REDIS_REPLY_STRING || master->element[1]->type != REDIS_REPLY_INTEGER) {
      return bad("bad node");
    }
    NodeAddress a{std::string(master->element[0]->str, master->element[0]->len),
                  static_cast<int>(master->element[1]->integer)};
    if (a.host.empty() || a.host == "?") a.host = seed.host;
    if (a.port <= 0 || a.port > 65535) return bad("bad port");
    size_t index = 0;
    while (index < t.nodes.size() && !(t.nodes[index] == a)) ++index;
    if (index == t.nodes.size()) t.nodes.push_back(a);
    for (long long s = lo->integer; s <= hi->integer; ++s)
      t.owner[static_cast<size_t>(s)] = static_cast<uint16_t>(index);
  }
  if (t.nodes.empty()) return bad("no slots are served");
  return t;
}

}  // namespace rowcache::redis
