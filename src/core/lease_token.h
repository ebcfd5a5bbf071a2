// Lease tokens: what a reader (on a miss) or a writer (before its commit)
// sets in a row's guard key, and a fill must still find there to land.
//
// Contract: 32 lower-case hex digits from two draws of rand (128 bits), so a
// token is unique among every reader and writer of the cache as long as rand
// is a good source of randomness (the service's default: a per-thread
// mt19937_64 seeded from std::random_device).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace rowcache {

std::string LeaseToken(const std::function<uint64_t()>& rand);

}  // namespace rowcache
