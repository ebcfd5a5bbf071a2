// For the RESP fuzz targets: the input as a Redis peer's bytes, arriving in
// pieces of 1 + data[0] % 64 bytes, through the bounded reply reader; f runs
// on each complete reply; the reader tells afterwards whether it failed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "redis/resp.h"

template <class F>
void ForEachReply(const uint8_t* data, size_t size, rowcache::ReplyReader& reader, F&& f) {
  if (size == 0) return;
  size_t step = 1 + data[0] % 64;
  const char* in = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  for (size_t i = 0; i < n; i += step) {
    if (!reader.Feed(in + i, std::min(step, n - i))) return;
    rowcache::Reply r;
    while (reader.Next(&r) && r) f(r.get());
  }
}
