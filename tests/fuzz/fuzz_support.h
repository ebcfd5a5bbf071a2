// What the fuzz targets share: a fatal check, inputs that can reach past
// the bounds, and the core over embedded backends.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cache/memory_cache.h"
#include "rowcache/service.h"

namespace rowcache::fuzz {

inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "violated: %s\n", what);
    std::abort();
  }
}

// The input's bytes, then its last 64 bytes repeated repeat * 64 times, so
// that lines longer than a bound (16 or 64 KiB) are reachable from inputs of
// a few KiB.
inline std::string WithRepeatedTail(const uint8_t* data, size_t size, uint8_t repeat) {
  std::string in(reinterpret_cast<const char*>(data), size);
  std::string tail = in.substr(in.size() > 64 ? in.size() - 64 : 0);
  for (int i = 0; i < repeat * 64 && !tail.empty(); ++i) in += tail;
  return in;
}

// The core over SQLite in memory and the memory cache.
struct World {
  std::unique_ptr<Store> store;
  std::unique_ptr<Cache> cache;
  Metrics metrics;
  std::unique_ptr<Service> service;
  explicit World(ServiceOptions o = {}, size_t cache_entries = 10000) {
    store = std::move(OpenStore("sqlite::memory:").value());
    if (!store->EnsureSchema().ok()) std::abort();
    cache = NewMemoryCache(cache_entries);
    service = std::make_unique<Service>(store.get(), cache.get(), o, &metrics);
  }
};

}  // namespace rowcache::fuzz
