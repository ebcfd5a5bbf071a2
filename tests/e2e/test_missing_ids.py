"""End-to-end: a read of ids that have no row leaves nothing behind in the cache.

A read takes a lease (the guard key `<prefix>{id}:gen`) for each id it misses; for an id the database has
no row for, the read releases it again (compare-and-delete of its own token), and no negative entry is
written. Reproduces issue 19's measurement -- ten reads of 11,056 fresh ids used to leave 110,560 keys in
Redis -- against the real binary, with MariaDB and each Redis shape (single, cluster), and with the memory
cache, where the guards used to evict real entries.

A Redis mode whose URL variable is unset is skipped, and is a failure when ROWCACHE_REQUIRE_SERVERS=1.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rowcache_e2e import Checks, Redis, Server, args, each_redis_mode, mariadb, require_servers, unique  # noqa: E402

READ_LIMIT = 11_056  # the default most ids a read may ask for
ROW = {"hero": "kept", "power": "p", "name": "n", "xp": 1, "color": "c"}


def metric(srv, name):
    return srv.metric(name) or 0.0


def write_one(c, srv, p):
    code, doc = srv.post({"REQUEST": "write", "SQLS": [ROW]})
    ok = c.check(p + "a row written", code == 200, f"{code} {doc}")
    return doc["ids"][0] if ok else None


def fresh_reads(srv, first, reads, n):
    """`reads` reads of n ids from `first` on that have no row; the answers' status codes."""
    codes = []
    for r in range(reads):
        ids = list(range(first + r * n, first + (r + 1) * n))
        code, doc = srv.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": ids})
        codes.append(code if code != 200 or all(x is None for x in doc["body"]) else "rows?")
    return codes


def redis_suite(c, binary, mysql_url, tag, url):
    p = f"[{tag}] "
    table = unique("e2e_missing")
    prefix = table + ":"
    inspector = Redis.from_url(url)
    srv = Server(binary, "--db", f"{mysql_url}?table={table}", "--cache", url, "--key-prefix", prefix)
    try:
        row_id = write_one(c, srv, p)
        before = inspector.keys_matching(prefix + "*")
        c.check(p + "the written row's entry is the only key under the prefix",
                before == [f"{prefix}{{{row_id}}}"], f"{before}")
        codes = fresh_reads(srv, row_id + 1_000_000, 10, READ_LIMIT)
        c.check(p + f"ten reads of {READ_LIMIT} fresh ids: 200, every id null", codes == [200] * 10, f"{codes}")
        after = inspector.keys_matching(prefix + "*")
        c.check(p + "... and the keys under the prefix are unchanged (no guard, no negative entry)",
                after == before, f"{len(after)} keys, e.g. {after[:3]}")
        released = metric(srv, "rowcache_cache_leases_released_total")
        c.check(p + f"... every lease released ({10 * READ_LIMIT})", released == 10 * READ_LIMIT, f"{released}")
        c.check(p + "... no cache error", metric(srv, "rowcache_cache_errors_total") == 0,
                f"{metric(srv, 'rowcache_cache_errors_total')}")
    finally:
        srv.stop()
        inspector.close()
        mariadb(f"DROP TABLE IF EXISTS {table}")


def memory_suite(c, binary, mysql_url):
    p = "[memory] "
    table = unique("e2e_missing")
    srv = Server(binary, "--db", f"{mysql_url}?table={table}", "--cache", "memory://?max_entries=2000")
    try:
        row_id = write_one(c, srv, p)  # written through: in the cache
        # Each read holds its 1,000 leases only while it runs; kept, ten would fill the 2,000 entries.
        codes = fresh_reads(srv, row_id + 1_000_000, 10, 1000)
        c.check(p + "ten reads of 1,000 fresh ids: 200, every id null", codes == [200] * 10, f"{codes}")
        hits, queries = metric(srv, "rowcache_cache_hits_total"), metric(srv, "rowcache_db_queries_total")
        code, doc = srv.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [row_id]})
        c.check(p + "the written row is still a cache hit (the leases evicted nothing)",
                code == 200 and doc["body"][0]["hero"] == "kept"
                and metric(srv, "rowcache_cache_hits_total") == hits + 1
                and metric(srv, "rowcache_db_queries_total") == queries,
                f"{code} {doc} hits +{metric(srv, 'rowcache_cache_hits_total') - hits}")
        c.check(p + "every lease released", metric(srv, "rowcache_cache_leases_released_total") == 10_000,
                f"{metric(srv, 'rowcache_cache_leases_released_total')}")
    finally:
        srv.stop()
        mariadb(f"DROP TABLE IF EXISTS {table}")


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if servers is None:
        c.skip("missing ids", "ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set")
        c.finish()
    mysql_url = servers[0]
    memory_suite(c, a.binary, mysql_url)
    for tag, url in each_redis_mode(c, ("single", "cluster")):  # TLS changes nothing here
        redis_suite(c, a.binary, mysql_url, tag, url)
    c.finish()


if __name__ == "__main__":
    main()
