#include "http/metrics_page.h"

#include "rowcache/prometheus.h"

namespace rowcache {

namespace {

void RenderServerStats(PrometheusText& out, const ServerStats& stats, size_t max_connections) {
  out.Counter("rowcache_http_connections_accepted_total", "TCP connections accepted.",
              stats.connections_accepted.load());
  out.Gauge("rowcache_http_connections_open", "TCP connections open.", stats.connections_open.load());
  out.Family("rowcache_http_responses_total", "counter", "HTTP responses by status class.");
  out.Sample("rowcache_http_responses_total", "class=\"2xx\"", stats.responses_2xx.load());
  out.Sample("rowcache_http_responses_total", "class=\"4xx\"", stats.responses_4xx.load());
  out.Sample("rowcache_http_responses_total", "class=\"5xx\"", stats.responses_5xx.load());
  out.Counter("rowcache_http_bodies_too_large_total", "Requests refused for their body size (413).",
              stats.bodies_too_large.load());
  out.Counter("rowcache_http_bad_requests_total", "Malformed HTTP requests (400).",
              stats.bad_requests.load());
  out.Counter("rowcache_http_heads_too_large_total",
              "Requests refused for a request line, header or trailer over the limit (431).",
              stats.heads_too_large.load());
  out.Counter("rowcache_http_unauthorized_total",
              "Requests refused for a missing or wrong bearer token (401).", stats.unauthorized.load());
  out.Counter("rowcache_http_connections_rejected_total",
              "Connections closed at once: max connections were open.", stats.connections_rejected.load());
  out.Gauge("rowcache_http_max_connections", "The connection limit.", max_connections);
  out.Counter("rowcache_http_accept_errors_total", "Failed accepts (e.g. out of descriptors).",
              stats.accept_errors.load());
  out.Counter("rowcache_http_queue_full_total", "Requests answered 503 at once: the worker queue was full.",
              stats.queue_full.load());
  out.Gauge("rowcache_http_worker_requests", "Requests handed to workers, waiting or running.",
            stats.worker_requests.load());
}

void RenderCacheHealth(PrometheusText& out, const Cache& cache) {
  CacheHealth h = cache.Health();
  if (!h.errors_by_class.empty()) {
    out.Family("rowcache_cache_errors_by_class_total", "counter", "Failed cache calls by error class.");
    for (const auto& [cls, n] : h.errors_by_class) {
      out.Sample("rowcache_cache_errors_by_class_total", "class=\"" + cls + "\"", n);
    }
  }
  out.Gauge("rowcache_cache_degraded", "1 if a cache call failed in the last 10 s.", h.degraded ? 1 : 0);
}

void RenderNearCache(PrometheusText& out, const NearCache& near) {
  auto n = near.stats();
  out.Gauge("rowcache_near_cache_serving", "1 while the near cache is coherent and serving.",
            near.serving() ? 1 : 0);
  out.Counter("rowcache_near_cache_hits_total", "Keys answered by the near cache.", n.hits);
  out.Counter("rowcache_near_cache_misses_total", "Keys looked up in the near cache and not found.",
              n.misses);
  out.Counter("rowcache_near_cache_stored_total", "Entries stored in the near cache.", n.stored);
  out.Counter("rowcache_near_cache_refused_total",
              "Near-cache fills refused: an invalidation or flush came after their Redis read began.",
              n.refused);
  out.Counter("rowcache_near_cache_invalidated_total", "Near entries dropped by invalidation.",
              n.invalidated);
  out.Counter("rowcache_near_cache_flushes_total",
              "Near-cache flushes (tracking lost or re-established, FLUSHALL).", n.flushes);
  out.Counter("rowcache_near_cache_evicted_total", "Near entries evicted (LRU by bytes).", n.evicted);
  out.Gauge("rowcache_near_cache_entries", "Entries in the near cache.", n.entries);
  out.Gauge("rowcache_near_cache_bytes", "Bytes held by the near cache.", n.bytes);
}

}  // namespace

std::string RenderMetricsPage(const Metrics& core, const ServerStats& stats, size_t max_connections,
                              const Cache* cache, const NearCache* near) {
  PrometheusText out;
  out.text().reserve(12288);
  core.Render(out);
  RenderServerStats(out, stats, max_connections);
  if (cache) RenderCacheHealth(out, *cache);
  if (near) RenderNearCache(out, *near);
  return std::move(out.text());
}

}  // namespace rowcache
