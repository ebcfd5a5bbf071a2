// GET /metrics's page, all of it Prometheus text written through
// rowcache/prometheus.h: the core's metrics, then the HTTP server's own
// (connections, responses by status class, refusals, the worker queue), the
// cache's health (failed calls by error class, degraded) and the near
// cache's counters. No I/O.
#pragma once

#include <cstddef>
#include <string>

#include "cache/near_cache.h"
#include "http/server.h"
#include "rowcache/cache.h"
#include "rowcache/metrics.h"

namespace rowcache {

// cache, near: null for none. max_connections: the limit in force.
std::string RenderMetricsPage(const Metrics& core, const ServerStats& stats, size_t max_connections,
                              const Cache* cache, const NearCache* near);

}  // namespace rowcache
