"""End-to-end: large reads against MariaDB + Redis.

A read of 10,000 ids (the default read limit is 11,056: the most whose answer
surely fits in Lambda's 6 MB response) is one cache lookup (several scripts,
pipelined), database queries of at most 4,096 ids (the MySQL store's
statement size; MySQL allows 65,535 placeholders) for the misses, and one
pipelined fill; the second read is all hits. Writes keep the smaller
--max-batch (1000). Also against the Redis Cluster when there is one.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rowcache_e2e import Checks, Redis, Server, args, entry_key, mariadb, require_servers, unique  # noqa: E402

N = 10_000
DEFAULT_READ_LIMIT = 11_056


def metric(srv, name):
    return srv.metric(name) or 0.0


def read(srv, ids, use_cache="True"):
    t0 = time.time()
    code, doc = srv.post({"USE_CACHE": use_cache, "REQUEST": "read", "SQLS": ids})
    return code, doc, time.time() - t0


def suite(c, binary, mysql_url, redis_url, tag, inspector):
    p = f"[{tag}] "
    table = unique("e2e_large")
    prefix = table + ":"
    srv = Server(binary, "--db", f"{mysql_url}?table={table}", "--cache", redis_url, "--key-prefix", prefix)
    try:
        # 10,000 rows in one statement (MariaDB's sequence engine).
        mariadb(f"INSERT INTO {table} (hero, power, name, xp, color) "
                f"SELECT 'yes', 'fly', CONCAT('n', seq), seq, 'black' FROM seq_1_to_{N}")
        ids = [int(x) for x in mariadb(f"SELECT id FROM {table} ORDER BY id").split()]
        c.check(p + f"({N} rows in the table)", len(ids) == N, f"{len(ids)}")
        ids.reverse()  # asked in an order of our own
        want = [{"id": i, "hero": "yes", "power": "fly", "name": f"n{i - ids[-1] + 1}", "xp": i - ids[-1] + 1,
                 "color": "black"} for i in ids]

        q0, h0 = metric(srv, "rowcache_db_queries_total"), metric(srv, "rowcache_cache_hits_total")
        code, doc, t_miss = read(srv, ids)
        c.check(p + f"a read of {N} ids, none cached: 200, every row right, in the order asked ({t_miss:.2f} s)",
                code == 200 and doc["body"] == want, f"{code} {str(doc)[:300]}")
        q1 = metric(srv, "rowcache_db_queries_total")
        c.check(p + "... the misses read in 3 queries of at most 4,096 ids", q1 - q0 == 3, f"{q1 - q0}")
        c.check(p + "... and filled into the cache",
                inspector.cmd("EXISTS", entry_key(prefix, ids[0])) == 1
                and inspector.cmd("EXISTS", entry_key(prefix, ids[-1])) == 1,
                f"cache errors {metric(srv, 'rowcache_cache_errors_total')}, fills "
                f"{metric(srv, 'rowcache_cache_fills_total')}, "
                f"refused {metric(srv, 'rowcache_cache_fills_refused_total')}")
        code, doc, t_hit = read(srv, ids)
        h1, q2 = metric(srv, "rowcache_cache_hits_total"), metric(srv, "rowcache_db_queries_total")
        c.check(p + f"the same read again: all {N} from the cache, no query ({t_hit:.2f} s)",
                code == 200 and doc["body"] == want and h1 - h0 == N and q2 == q1, f"{code} hits {h1 - h0} "
                f"queries {q2 - q1}")
        code, doc, t_db = read(srv, ids, use_cache="False")
        c.check(p + f"USE_CACHE False: {N} ids from the database ({t_db:.2f} s)", code == 200 and doc["body"] == want,
                f"{code}")

        top = ids[0]
        many = ids + [top + k for k in range(1, DEFAULT_READ_LIMIT - N + 1)]  # exactly the limit; the rest unknown
        code, doc, _ = read(srv, many)
        c.check(p + f"{DEFAULT_READ_LIMIT} ids (the default read limit): 200, unknown ids null",
                code == 200 and len(doc["body"]) == DEFAULT_READ_LIMIT and doc["body"][-1] is None
                and doc["body"][0] == want[0], f"{code}")
        code, doc, _ = read(srv, many + [1])
        c.check(p + f"{DEFAULT_READ_LIMIT + 1} ids: 413 naming the read limit", code == 413
                and "more than the limit of 11056 for a read" in doc["body"]["error"], f"{code} {doc}")
        row = {"hero": "a", "power": "b", "name": "c", "xp": 1, "color": "d"}
        code, doc = srv.post({"REQUEST": "write", "SQLS": [row] * 1001})
        c.check(p + "a write of 1001 rows: 413 (writes keep --max-batch 1000)", code == 413, f"{code} {doc}")
    finally:
        srv.stop()
        mariadb(f"DROP TABLE IF EXISTS {table}")
    err = srv.proc.stderr.read()
    c.check(p + "nothing logged but the stop", err.strip() == "rowcache: stopped", err[-1000:])


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if servers is None:
        c.skip("large reads", "ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set")
        c.finish()
    mysql_url, redis_url = servers
    suite(c, a.binary, mysql_url, redis_url, "mariadb+redis", Redis.from_url(redis_url))
    cluster = os.environ.get("ROWCACHE_TEST_REDIS_CLUSTER")
    if cluster:
        suite(c, a.binary, mysql_url, cluster, "mariadb+redis cluster", Redis.from_url(cluster))
    else:
        c.skip("the Redis Cluster", "ROWCACHE_TEST_REDIS_CLUSTER not set")
    c.finish()


if __name__ == "__main__":
    main()
