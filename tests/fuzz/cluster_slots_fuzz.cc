// libFuzzer target: any bytes as a Redis server's RESP reply to CLUSTER
// SLOTS, read by hiredis's reader as the client reads it and turned into a
// slot map (TopologyFromClusterSlots, src/redis/slots.h). Checked: a map
// that is accepted names a node or no owner for each of the 16,384 slots,
// every node has a port in 1..65535, and nothing crashes (ASan/UBSan).
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_support.h"
#include "redis/slots.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  redisReader* reader = redisReaderCreate();
  reader->maxbuf = 0;
  if (redisReaderFeed(reader, reinterpret_cast<const char*>(data), size) == REDIS_OK) {
    void* r = nullptr;
    if (redisReaderGetReply(reader, &r) == REDIS_OK && r) {
      rowcache::redis::NodeAddress seed{"127.0.0.1", 7000};
      auto t = rowcache::redis::TopologyFromClusterSlots(static_cast<redisReply*>(r), seed);
      if (t.ok()) {
        rowcache::fuzz::Check(t->owner.size() == 16384, "a owner per slot");
        for (int slot = 0; slot < 16384; ++slot) {
          uint16_t o = t->owner[slot];
          rowcache::fuzz::Check(o == rowcache::redis::Topology::kNoOwner || o < t->nodes.size(),
                                "owners index the nodes");
          const auto* n = t->NodeFor(slot);
          rowcache::fuzz::Check(!n || (n->port > 0 && n->port <= 65535), "node ports in range");
        }
      }
      freeReplyObject(r);
    }
  }
  redisReaderFree(reader);
  return 0;
}
